//! A PostgreSQL hub's own backups through the real binaries: `parchi serve --database …
//! --backup-dir` on its schedule, nothing of the patients in the file, `parchi backup verify`,
//! `parchi restore --database` into a new database (refused a second time), and a hub on the
//! restored database that serves the patients to a new counter.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::at_rest::{assert_nothing_in_clear, register_all};
use crate::backup::{init, keys, verify};
use crate::sync::{Hub, pg_url};
use crate::util::PARCHI;

/// The test database's URL with another database name.
fn url_of(db: &str) -> String {
    let url = pg_url();
    let (base, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let (server, _) = base.rsplit_once('/').expect("a database in the URL");
    if query.is_empty() {
        format!("{server}/{db}")
    } else {
        format!("{server}/{db}?{query}")
    }
}

fn psql(sql: &str) {
    let out = Command::new("psql")
        .arg(pg_url())
        .args(["-X", "-q", "-c", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn enrol(site: &crate::util::Site, hub: &Hub) {
    let code = hub.admin(&["hub", "enroll-code"]);
    site.json(&[
        "enroll",
        "--hub",
        &hub.url,
        "--code",
        code["code"].as_str().expect("code"),
    ]);
}

#[test]
fn a_postgres_hub_backs_itself_up_and_is_restored_through_the_command_line() {
    let keys = keys();
    let schema = format!("e2e_pgbk_{}", std::process::id());
    let out = tempfile::tempdir().expect("backups");
    let out_dir = out.path().to_str().expect("utf8").to_owned();
    let hub = Hub::start_with(
        Some((&pg_url(), &schema)),
        &[
            "--backup-dir",
            &out_dir,
            "--backup-every",
            "1",
            "--backup-day-end",
            "off",
            "--backup-recipient",
            &keys.recipient,
        ],
    );
    let (a, _) = init(&keys, "A");
    enrol(&a, &hub);
    register_all(&a);
    a.json(&["sync"]);

    // The first scheduled backup comes a minute after the hub started.
    let started = Instant::now();
    let file: PathBuf = loop {
        let found = std::fs::read_dir(out.path())
            .expect("backup dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "pbak"));
        if let Some(f) = found {
            break f;
        }
        assert!(started.elapsed() < Duration::from_secs(150), "no backup");
        std::thread::sleep(Duration::from_millis(500));
    };
    drop(hub);
    assert_nothing_in_clear(out.path());
    let v = verify(&file, &keys.identity);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let report: serde_json::Value = serde_json::from_slice(&v.stdout).expect("json");
    assert_eq!(report["manifest"]["kind"], "hub-postgres");
    let ops = report["ops"].as_u64().expect("ops");
    assert!(ops >= 3, "{report}");

    let db = format!("parchi_e2e_restore_{}", std::process::id());
    psql(&format!("DROP DATABASE IF EXISTS {db}"));
    psql(&format!("CREATE DATABASE {db}"));
    let restore = || {
        Command::new(PARCHI)
            .args(["--json", "restore"])
            .arg(&file)
            .arg("--identity")
            .arg(&keys.identity)
            .args(["--database", &url_of(&db)])
            .output()
            .expect("restore")
    };
    // The database's TLS flags are serve's: a contradiction, or a CA without TLS, is refused
    // before anything runs; TLS to this server (which has none) fails. Each changes nothing:
    // the plain restore after them finds the database empty.
    let restore_with = |url: &str, flags: &[&str]| {
        Command::new(PARCHI)
            .args(["--json", "restore"])
            .arg(&file)
            .arg("--identity")
            .arg(&keys.identity)
            .args(["--database", url])
            .args(flags)
            .output()
            .expect("restore")
    };
    let url = url_of(&db);
    let sep = if url.contains('?') { '&' } else { '?' };
    let ca = out.path().join("hospital-ca.pem");
    std::fs::write(&ca, "not used").expect("ca");
    let ca = ca.to_str().expect("utf8");
    for (url, flags, says) in [
        (
            format!("{url}{sep}sslmode=disable"),
            vec!["--database-tls"],
            "contradicts sslmode=disable",
        ),
        (
            url.clone(),
            vec!["--database-ca", ca],
            "--database-ca needs TLS",
        ),
        (url.clone(), vec!["--database-tls"], "SSL"),
    ] {
        let r = restore_with(&url, &flags);
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(!r.status.success(), "{flags:?}: restored");
        assert!(err.contains(says), "{flags:?}: {err}");
    }
    let r = restore();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let again = restore();
    assert!(
        !again.status.success(),
        "restored twice over the same schema"
    );

    // A hub on the restored database gives a new counter the patients.
    let restored = Hub::start(Some((&url_of(&db), &schema)));
    let (b, _) = init(&keys, "B");
    enrol(&b, &restored);
    b.json(&["sync"]);
    let found = b.json(&["search", "Oraon"]);
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    drop(restored);
    psql(&format!("DROP DATABASE {db} WITH (FORCE)"));
}
