//! One configuration for all counters, with the real binaries: the admin publishes at the
//! central hub, counters take it at their next sync and register for the new department the
//! same day; a counter publishes a change for tomorrow that the others announce; bad files and
//! dates are refused and publish nothing.

use crate::sync::Hub;
use crate::util::{Site, example_config};

/// The example hospital with Nephrology, open every day, at `fee`.
fn with_nephrology(dir: &std::path::Path, fee: u32) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(example_config()).expect("example");
    text.push_str(&format!(
        "\n[[departments]]\ncode = \"NEP\"\nname = \"Nephrology\"\nname_local = \"गुर्दा रोग\"\n\
         room = \"Room 21\"\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\n\
         fee = {fee}\n"
    ));
    let path = dir.join(format!("nephrology-{fee}.toml"));
    std::fs::write(&path, text).expect("write");
    path
}

/// Today and tomorrow in the example hospital's time zone (+05:30).
fn days() -> (String, String) {
    let off = chrono::FixedOffset::east_opt(5 * 3600 + 1800).expect("offset");
    let today = chrono::Utc::now().with_timezone(&off).date_naive();
    let tomorrow = today.succ_opt().expect("tomorrow");
    (today.to_string(), tomorrow.to_string())
}

/// A registration for Nephrology, which the example hospital does not have.
const NEPHROLOGY: [&str; 9] = [
    "register",
    "--name",
    "Sunita Devi",
    "--sex",
    "F",
    "--age",
    "40",
    "--department",
    "NEP",
];

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf8")
}

#[test]
fn a_configuration_published_at_the_hub_or_a_counter_reaches_every_counter() {
    let files = tempfile::tempdir().expect("files");
    let (today, tomorrow) = days();
    let hub = Hub::start(None);
    let a = Site::init("A");
    let b = Site::init("B");
    hub.enroll(&a);
    hub.enroll(&b);

    let first = with_nephrology(files.path(), 20);
    let published = hub.admin(&[
        "hub",
        "publish-config",
        path(&first),
        "--from",
        &today,
        "--note",
        "Nephrology opens",
    ]);
    assert_eq!(published["effective_from"], today.as_str());
    // Not before B has synced.
    let (code, err) = b.json_err(&NEPHROLOGY);
    assert_eq!(code, 2, "{err}");
    b.json(&["sync"]);
    let status = b.json(&["config", "status"]);
    assert_eq!(status["in_force"]["effective_from"], today.as_str());
    assert_eq!(status["changed_today"], true);
    assert_eq!(status["in_force"]["note"], "Nephrology opens");
    let changes = status["in_force"]["changes"].as_array().expect("changes");
    assert!(
        changes
            .iter()
            .any(|c| c["kind"] == "department_added" && c["code"] == "NEP"),
        "{status}"
    );
    assert_eq!(b.json(&NEPHROLOGY)["fee"], 20);

    // Counter A publishes a fee change for tomorrow; B announces it and keeps today's fee.
    a.json(&["sync"]);
    let raised = with_nephrology(files.path(), 30);
    a.json(&[
        "config",
        "publish",
        path(&raised),
        "--from",
        &tomorrow,
        "--note",
        "Nephrology Rs 30",
    ]);
    a.json(&["sync"]);
    b.json(&["sync"]);
    let status = b.json(&["config", "status"]);
    let upcoming = status["upcoming"].as_array().expect("upcoming");
    assert_eq!(upcoming.len(), 1, "{status}");
    assert_eq!(upcoming[0]["effective_from"], tomorrow.as_str());
    assert_eq!(upcoming[0]["here"], false);
    assert_eq!(
        upcoming[0]["changes"],
        serde_json::json!([{
            "kind": "fee", "code": "NEP", "name": "Nephrology", "before": "20", "after": "30"
        }])
    );
    assert_eq!(b.json(&NEPHROLOGY)["fee"], 20);
    let text = b.run(&["config", "status"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!("From {tomorrow}"))
            && text.contains("Nephrology (NEP): fee Rs 20 -> Rs 30"),
        "{text}"
    );

    // Refused, publishing nothing: a file the schema refuses, a date in the past, no date.
    let broken = files.path().join("broken.toml");
    let text = std::fs::read_to_string(&raised)
        .expect("read")
        .replace("fee = 30", "fee = -1");
    std::fs::write(&broken, text).expect("write");
    let said = hub.admin_refused(&["hub", "publish-config", path(&broken), "--from", &today]);
    assert!(said.contains("departments"), "{said}");
    let (_, err) = a.json_err(&["config", "publish", path(&first), "--from", "2001-01-01"]);
    assert!(err.to_string().contains("past"), "{err}");
    let said = hub.admin_refused(&[
        "hub",
        "publish-config",
        path(&first),
        "--from",
        "2001-01-01",
    ]);
    assert!(said.contains("past"), "{said}");
    let (_, err) = a.json_err(&["config", "publish", path(&first), "--from", "someday"]);
    assert!(err.to_string().contains("date"), "{err}");
    for s in [&a, &b] {
        s.json(&["sync"]);
    }
    assert_eq!(b.json(&["config", "status"]), status, "nothing new arrived");
}
