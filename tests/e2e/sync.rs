//! Counters and hubs as real processes: three counters register offline, sync through a hub on
//! SQLite and through one on PostgreSQL, and end with identical patients, visits and tokens.
//! Then the outage scenario of reconciliation: duplicates planted, merged by an admin at one
//! counter, relatives left apart, UHIDs assigned by the central hub, every printed ID resolving.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::util::{PARCHI, Site};

/// A `parchi serve` process on port 0.
pub struct Hub {
    child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl Hub {
    pub fn start(database: Option<(&str, &str)>) -> Hub {
        Self::start_with(database, &[])
    }

    /// A hub with more `serve` arguments.
    pub fn start_with(database: Option<(&str, &str)>, extra: &[&str]) -> Hub {
        let dir = tempfile::tempdir().expect("tmp");
        let mut cmd = Command::new(PARCHI);
        cmd.arg("--data")
            .arg(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"]);
        if let Some((url, schema)) = database {
            cmd.args(["--database", url, "--database-schema", schema]);
        }
        cmd.args(extra);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start hub");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("hub prints its address");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected: {line:?}"))
            .to_owned();
        Hub {
            child,
            url: format!("http://{addr}"),
            dir,
        }
    }

    fn admin_output(&self, args: &[&str]) -> std::process::Output {
        Command::new(PARCHI)
            .arg("--json")
            .args(args)
            .args(["--hub", &self.url, "--hub-data"])
            .arg(self.dir.path())
            .output()
            .expect("hub admin")
    }

    pub fn admin(&self, args: &[&str]) -> serde_json::Value {
        let out = self.admin_output(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    }

    /// Runs an admin command that must fail; returns what it said (stdout and stderr).
    pub fn admin_refused(&self, args: &[&str]) -> String {
        let out = self.admin_output(args);
        assert!(!out.status.success(), "{args:?} should have failed");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    pub fn enroll(&self, site: &Site) {
        let code = self.admin(&["hub", "enroll-code"]);
        site.json(&[
            "enroll",
            "--hub",
            &self.url,
            "--code",
            code["code"].as_str().expect("code"),
        ]);
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn pg_url() -> String {
    std::env::var("PARCHI_TEST_PG")
        .expect("PARCHI_TEST_PG must point at a PostgreSQL server: run `eval \"$(scripts/start-postgres.sh)\"` (scripts/test-all does)")
}

/// Everything a counter shows: patients (by temporary ID) with their fields, visits with tokens.
fn state(site: &Site, identity: &std::path::Path) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let out = site
        .cmd()
        .args(["--json", "export-fhir", "--out"])
        .arg(site.path().join("fhir"))
        .output()
        .expect("export");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut patients = BTreeMap::new();
    let mut visits = BTreeSet::new();
    for f in std::fs::read_dir(site.path().join("fhir")).expect("dir") {
        let b = crate::util::sealed_json(&f.expect("f").path(), identity, &[]);
        for e in b["entry"].as_array().expect("entries") {
            let r = &e["resource"];
            if r["resourceType"] == "Patient" {
                let mut r = r.clone();
                // The export's order of identifiers is stable; the whole resource is compared.
                patients.insert(
                    e["request"]["ifNoneExist"]
                        .as_str()
                        .expect("key")
                        .to_owned(),
                    r.take().to_string(),
                );
            } else {
                visits.insert(format!(
                    "{} {} {}",
                    r["identifier"][0]["value"], r["identifier"][1]["value"], r["status"]
                ));
            }
        }
    }
    (patients, visits)
}

fn register(
    site: &Site,
    name: &str,
    sex: &str,
    age: &str,
    mobile: &str,
    guardian: &str,
) -> serde_json::Value {
    let mut args = vec![
        "register",
        "--name",
        name,
        "--sex",
        sex,
        "--age",
        age,
        "--department",
        "MED",
    ];
    if !mobile.is_empty() {
        args.extend(["--mobile", mobile]);
    }
    if !guardian.is_empty() {
        args.extend(["--guardian-relation", "S/o", "--guardian-name", guardian]);
    }
    site.json(&args)
}

fn three_counters_converge(hub: &Hub) {
    // The counters' FHIR exports are sealed to this hospital's backup key.
    let keys = crate::backup::keys();
    let sites = ["A", "B", "C"].map(|c| crate::backup::init(&keys, c).0);
    for s in &sites {
        hub.enroll(s);
    }
    // Offline: each counter registers its own patients and corrects one field.
    let mut tokens = Vec::new();
    for (i, s) in sites.iter().enumerate() {
        for k in 0..15 {
            let r = register(
                s,
                &format!(
                    "Patient {} {}",
                    ["Asha", "Bina", "Chetan"][i],
                    ["Ek", "Do", "Teen", "Char", "Panch"][k % 5]
                ),
                "F",
                &format!("{}", 20 + k),
                "",
                "",
            );
            tokens.push(r["token"].as_str().expect("token").to_owned());
        }
        let first = register(s, "Shared Name", "M", "40", &format!("98765000{i:02}"), "");
        s.json(&[
            "edit",
            first["temp_id"].as_str().expect("t"),
            "--mobile",
            &format!("91234000{i:02}"),
        ]);
    }
    // Sync in an order that makes the early counters pull the late ones' work on a second round.
    for s in sites.iter().chain(sites.iter()) {
        s.json(&["sync"]);
    }
    let states: Vec<_> = sites.iter().map(|s| state(s, &keys.identity)).collect();
    assert_eq!(states[0].0.len(), 48, "every counter holds every patient");
    assert_eq!(states[0], states[1], "counters A and B differ after sync");
    assert_eq!(states[1], states[2], "counters B and C differ after sync");
    let unique: BTreeSet<&String> = tokens.iter().collect();
    assert_eq!(unique.len(), tokens.len(), "a token was issued twice");
    for s in &sites {
        let st = s.json(&["sync", "--status"]);
        assert_eq!(st["online"], true);
        assert_eq!(st["pending"], 0);
    }
    // Found by search at another counter.
    let hits = sites[2].json(&["search", "Asha Ek"]);
    assert!(
        hits.as_array().is_some_and(|h| !h.is_empty()),
        "A's patients are searchable at C"
    );
}

#[test]
fn three_counters_converge_through_a_sqlite_hub() {
    three_counters_converge(&Hub::start(None));
}

#[test]
fn three_counters_converge_through_a_postgresql_hub() {
    let schema = format!("e2e_{}", std::process::id());
    three_counters_converge(&Hub::start(Some((&pg_url(), &schema))));
}

#[test]
fn outage_reconciliation_merges_true_duplicates_keeps_relatives_apart_and_assigns_uhids() {
    let hub = Hub::start(None);
    // The counters' FHIR exports are sealed to this hospital's backup key.
    let keys = crate::backup::keys();
    let (a, _) = crate::backup::init(&keys, "A");
    let (b, _) = crate::backup::init(&keys, "B");
    hub.enroll(&a);
    hub.enroll(&b);
    // While offline, the same man registers at both counters with spellings that differ; his
    // son shares his phone; a woman is registered twice the same way.
    let father_a = register(
        &a,
        "Mohd Irfan Ansari",
        "M",
        "52",
        "9876501234",
        "Abdul Ansari",
    );
    let father_b = register(
        &b,
        "Mohammad Irfan Ansari",
        "M",
        "53",
        "9876501234",
        "Abdul Ansari",
    );
    let son = register(
        &b,
        "Imran Ansari",
        "M",
        "24",
        "9876501234",
        "Mohd Irfan Ansari",
    );
    let woman_a = register(
        &a,
        "Suneeta Kumari",
        "F",
        "31",
        "8765401234",
        "Ramesh Prasad",
    );
    let woman_b = register(
        &b,
        "Sunita Kumari",
        "F",
        "31",
        "8765401234",
        "Ramesh Prasad",
    );
    for s in [&a, &b, &a] {
        s.json(&["sync"]);
    }
    // The admin reviews the likely duplicates at counter A and accepts them.
    let dups = a.json(&["duplicates"]);
    let pairs: Vec<(String, String, String)> = dups
        .as_array()
        .expect("list")
        .iter()
        .map(|d| {
            (
                d["a"].as_str().unwrap_or("").into(),
                d["b"].as_str().unwrap_or("").into(),
                d["verdict"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    let id = |v: &serde_json::Value| v["patient_id"].as_str().expect("id").to_owned();
    let has = |x: &serde_json::Value, y: &serde_json::Value| {
        pairs.iter().any(|(p, q, v)| {
            v == "likely" && ((*p == id(x) && *q == id(y)) || (*p == id(y) && *q == id(x)))
        })
    };
    assert!(
        has(&father_a, &father_b),
        "the father registered twice is a likely duplicate: {dups}"
    );
    assert!(
        has(&woman_a, &woman_b),
        "the woman registered twice is a likely duplicate: {dups}"
    );
    assert!(
        !has(&father_a, &son) && !has(&father_b, &son),
        "father and son sharing a phone are not merged"
    );
    for (p, q, v) in &pairs {
        if v == "likely" {
            a.json(&["merge", p, q, "--reason", "same card seen"]);
        }
    }
    for (x, y) in [(&father_a, &son), (&father_b, &son)] {
        if pairs
            .iter()
            .any(|(p, q, _)| (*p == id(x) && *q == id(y)) || (*p == id(y) && *q == id(x)))
        {
            a.json(&[
                "not-duplicate",
                &id(x),
                &id(y),
                "--reason",
                "father and son",
            ]);
        }
    }
    a.json(&["sync"]);
    // The central hub assigns UHIDs; both counters learn them.
    let assigned = hub.admin(&["hub", "assign-uhids", "--prefix", "DHP"]);
    assert_eq!(
        assigned["assigned"].as_array().map(|v| v.len()),
        Some(3),
        "one UHID per person: father, son, woman"
    );
    for s in [&a, &b] {
        s.json(&["sync"]);
    }
    // Every printed temporary ID still resolves, at either counter, to its person with a UHID.
    for s in [&a, &b] {
        for (printed, person) in [
            (&father_a, &father_a),
            (&father_b, &father_a),
            (&son, &son),
            (&woman_a, &woman_a),
            (&woman_b, &woman_a),
        ] {
            let shown = s.json(&["show", printed["temp_id"].as_str().expect("t")]);
            let p = &shown["patient"];
            assert!(
                p["uhid"].as_str().is_some_and(|u| u.starts_with("DHP")),
                "{shown}"
            );
            let survivor = s.json(&["show", person["temp_id"].as_str().expect("t")]);
            assert_eq!(
                p["patient_id"], survivor["patient"]["patient_id"],
                "printed ID resolves to the merged person"
            );
            // And the UHID finds the same person.
            let by_uhid = s.json(&["search", p["uhid"].as_str().expect("u")]);
            assert_eq!(by_uhid[0]["patient_id"], p["patient_id"]);
        }
    }
    // The merged person keeps both visits; the son stays a separate person.
    let father = b.json(&["show", father_b["temp_id"].as_str().expect("t")]);
    assert_eq!(father["visits"].as_array().map(|v| v.len()), Some(2));
    let son_shown = b.json(&["show", son["temp_id"].as_str().expect("t")]);
    assert_ne!(
        son_shown["patient"]["patient_id"],
        father["patient"]["patient_id"]
    );
    // The history shows the merge.
    let h = b.json(&["history", father_b["temp_id"].as_str().expect("t")]);
    assert!(
        h.as_array()
            .expect("h")
            .iter()
            .any(|i| i["kind"] == "merge"),
        "{h}"
    );
    // Both counters agree on everything, the hub's UHIDs included.
    assert_eq!(state(&a, &keys.identity), state(&b, &keys.identity));
}

#[test]
fn concurrent_corrections_are_settled_and_listed_as_conflicts() {
    let hub = Hub::start(None);
    let a = Site::init("A");
    let b = Site::init("B");
    hub.enroll(&a);
    hub.enroll(&b);
    let p = register(&a, "Geeta Devi", "F", "45", "9876512345", "");
    a.json(&["sync"]);
    b.json(&["sync"]);
    let t = p["temp_id"].as_str().expect("t");
    // Both counters correct the mobile while offline, differently.
    a.json(&["edit", t, "--mobile", "9000000001"]);
    b.json(&["edit", t, "--mobile", "9000000002"]);
    for s in [&a, &b, &a] {
        s.json(&["sync"]);
    }
    let ma = a.json(&["show", t])["patient"]["mobile"].clone();
    let mb = b.json(&["show", t])["patient"]["mobile"].clone();
    assert_eq!(ma, mb, "last writer wins the same way everywhere");
    let conflicts = a.json(&["conflicts"]);
    let c = conflicts.as_array().expect("list");
    assert_eq!(c.len(), 1, "{conflicts}");
    assert_eq!(c[0]["field"], "mobile");
    let values: BTreeSet<String> = c[0]["writes"]
        .as_array()
        .expect("w")
        .iter()
        .map(|w| w["value"].to_string())
        .collect();
    assert_eq!(
        values,
        BTreeSet::from(["\"9000000001\"".to_string(), "\"9000000002\"".to_string()])
    );
    assert_eq!(
        c[0]["writes"]
            .as_array()
            .expect("w")
            .iter()
            .filter(|w| w["won"] == true)
            .count(),
        1
    );
    // When each was written, in the hospital's time (+05:30), not a raw 64-bit clock.
    let off = chrono::FixedOffset::east_opt(5 * 3600 + 1800).expect("offset");
    let today = chrono::Utc::now()
        .with_timezone(&off)
        .format("%Y-%m-%d ")
        .to_string();
    for w in c[0]["writes"].as_array().expect("w") {
        let at = w["at"].as_str().expect("at");
        assert!(at.starts_with(&today) && at.len() == 19, "{w}");
        assert!(w.get("hlc").is_none(), "{w}");
    }
}
