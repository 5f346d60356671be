//! The `parchi` command line contract that hospital IT scripts depend on.

use crate::util::{Site, example_config, sample_csv};

fn register(site: &Site, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "register",
        "--name",
        "Sunita Devi",
        "--sex",
        "F",
        "--age",
        "34",
        "--mobile",
        "+91 98765 43210",
        "--department",
        "MED",
    ];
    args.extend_from_slice(extra);
    site.json(&args)
}

#[test]
fn init_then_register_prints_token_and_temporary_id() {
    let site = Site::init("A");
    let r = register(
        &site,
        &[
            "--guardian-relation",
            "W/o",
            "--guardian-name",
            "Ramesh Kumar",
            "--pincode",
            "800001",
        ],
    );
    let token = r["token"].as_str().expect("token");
    assert!(token.starts_with("A-"), "{token}");
    let temp = r["temp_id"].as_str().expect("temp_id");
    assert!(temp.starts_with("A-") && temp.len() <= 16, "{temp}");
    assert!(r["patient_id"].as_str().is_some_and(|s| s.len() == 36));
    assert!(r["visit_id"].as_str().is_some_and(|s| s.len() == 36));
    assert_eq!(r["fee"], 10);
    // Text mode says the same to a person.
    let out = site.run(&[
        "register",
        "--name",
        "Ram Prasad",
        "--sex",
        "M",
        "--age",
        "60",
        "--department",
        "med",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("Token A-") && text.contains("Temporary ID A-"),
        "{text}"
    );
}

#[test]
fn bad_input_names_the_field_exits_2_and_writes_nothing() {
    let site = Site::init("B");
    let before = site.patient_count();
    let (code, e) = site.json_err(&[
        "register",
        "--name",
        "Sunita Devi",
        "--sex",
        "F",
        "--age",
        "300",
        "--mobile",
        "12345",
        "--department",
        "MED",
    ]);
    assert_eq!(code, 2);
    let fields: Vec<&str> = e["error"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert_eq!(fields, ["age", "mobile"]);
    let (code, e) = site.json_err(&[
        "register",
        "--name",
        "X Y",
        "--sex",
        "M",
        "--age",
        "3",
        "--department",
        "CARDIO",
    ]);
    assert_eq!(code, 2);
    let msg = e["error"]["message"].as_str().expect("message");
    assert!(msg.contains("CARDIO") && msg.contains("MED"), "{msg}");
    let (code, _) = site.json_err(&[
        "register",
        "--name",
        "Abha Test",
        "--sex",
        "F",
        "--age",
        "30",
        "--abha",
        "12-34",
        "--department",
        "MED",
    ]);
    assert_eq!(code, 2);
    let (code, _) = site.json_err(&[
        "register",
        "--name",
        "Dob Test",
        "--sex",
        "F",
        "--dob",
        "2099-01-01",
        "--department",
        "MED",
    ]);
    assert_eq!(code, 2);
    assert_eq!(
        site.patient_count(),
        before,
        "a refused registration must not write"
    );
}

#[test]
fn returning_patient_visit_cancel_reprint_and_history() {
    let site = Site::init("C");
    let r = register(&site, &[]);
    let temp = r["temp_id"].as_str().expect("temp");
    // A revisit by temporary ID, typed in lower case without hyphens.
    let keyed = temp.replace('-', "").to_lowercase();
    let v = site.json(&["visit", &keyed, "--department", "ENT"]);
    assert_eq!(v["patient_id"], r["patient_id"]);
    assert!(v["token"].as_str().is_some_and(|t| t.starts_with("C-")));
    let visit = v["visit_id"].as_str().expect("visit");
    let rp = site.json(&["reprint", visit]);
    assert_eq!(rp["reprints"], 1);
    let c = site.json(&["cancel", visit, "--reason", "wrong department"]);
    assert_eq!(c["cancelled"], true);
    let (code, _) = site.json_err(&["cancel", visit]);
    assert_eq!(code, 2, "cancelling twice is refused");
    let h = site.json(&["history", r["patient_id"].as_str().expect("id")]);
    let kinds: Vec<&str> = h
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "create_patient",
            "create_visit",
            "create_visit",
            "record_reprint",
            "cancel_visit"
        ]
    );
    let vh = site.json(&["history", visit]);
    assert_eq!(vh.as_array().map(|a| a.len()), Some(3));
    let report = site.json(&["report"]);
    assert_eq!(report["total"]["registrations"], 2);
    assert_eq!(report["total"]["cancellations"], 1);
    assert_eq!(report["total"]["fees"], 10);
    let by_dept: Vec<&str> = report["by_department"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert_eq!(by_dept, ["ENT", "MED"]);
    // A mistyped temporary ID is caught by its check character, with a clear message.
    let mut bad: Vec<char> = temp.chars().collect();
    let last = bad.len() - 2;
    bad[last] = if bad[last] == '7' { '8' } else { '7' };
    let bad: String = bad.into_iter().collect();
    let (code, e) = site.json_err(&["visit", &bad, "--department", "MED"]);
    assert_eq!(code, 2);
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("check character")),
        "{e}"
    );
}

#[test]
fn parchi_data_env_stands_for_the_flag() {
    let site = Site::init("C");
    let out = std::process::Command::new(crate::util::PARCHI)
        .env("PARCHI_DATA", site.path())
        .args(["--json", "status"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["counter"], "C");
}

#[test]
fn init_refuses_unknown_counter_and_bad_config() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = std::process::Command::new(crate::util::PARCHI)
        .args(["--data"])
        .arg(dir.path())
        .args(["init", "--config"])
        .arg(example_config())
        .args(["--counter", "Z"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("counters are: A, B, C"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(example_config())
            .expect("read")
            .replace("fee = 20", "fee = -5"),
    )
    .expect("write");
    let out = std::process::Command::new(crate::util::PARCHI)
        .args(["--data"])
        .arg(dir.path().join("x"))
        .args(["init", "--config"])
        .arg(&bad)
        .args(["--counter", "A"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("departments[9] (DEN).fee"), "{err}");
}

#[test]
fn importing_the_sample_registers_every_valid_row_and_misspelt_names_are_found() {
    let site = Site::init("A");
    let csv = sample_csv();
    let out = site
        .cmd()
        .args(["--json", "import"])
        .arg(&csv)
        .args(["--department", "MED"])
        .output()
        .expect("import");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let rows = std::fs::read_to_string(&csv).expect("csv").lines().count() - 1;
    assert_eq!(lines.len(), rows, "one JSON object per CSV line");
    let refused: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l.get("error").is_some()).collect();
    for r in &refused {
        // Only rows that are truly invalid may be refused, each with its line and reason.
        assert!(
            r["line"].as_u64().is_some_and(|l| l >= 2) && r["error"]["message"].as_str().is_some(),
            "{r}"
        );
    }
    assert!(refused.is_empty(), "sample rows refused: {refused:?}");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(site.patient_count() as usize, rows);

    // Misspell names from the file the way clerks do, and find the person in the top 3.
    let mut rdr = csv::Reader::from_path(&csv).expect("csv");
    let names: Vec<String> = rdr
        .records()
        .filter_map(|r| r.ok())
        .map(|r| r[2].to_string())
        .collect();
    let mut tried = 0;
    let mut found = 0;
    for name in names.iter().step_by(97).take(30) {
        let typo = misspell(name);
        let hits = site.json(&["search", &typo, "--limit", "3"]);
        tried += 1;
        let got = hits
            .as_array()
            .expect("list")
            .iter()
            .any(|h| h["name"].as_str() == Some(name.as_str()));
        if got {
            found += 1;
        } else {
            eprintln!("not in top 3: {typo:?} for {name:?}: {hits}");
        }
    }
    assert_eq!(
        found, tried,
        "every misspelt name should be found in the top 3"
    );
}

/// Drops the second vowel, doubles a consonant, or swaps ee/i — the common slips.
fn misspell(name: &str) -> String {
    let mut words: Vec<String> = name.split(' ').map(str::to_owned).collect();
    let w = words.iter_mut().max_by_key(|w| w.len()).expect("a word");
    let vowels: Vec<usize> = w
        .char_indices()
        .filter(|(i, c)| *i > 0 && "aeiou".contains(*c))
        .map(|(i, _)| i)
        .collect();
    if let Some(&i) = vowels.first() {
        if w[i..].starts_with('i') {
            w.replace_range(i..i + 1, "ee");
        } else {
            w.remove(i);
        }
    } else {
        let c = w.chars().last().unwrap_or('a');
        w.push(c);
    }
    words.join(" ")
}

#[test]
fn a_locked_database_gives_a_clear_error_not_a_hang_or_panic() {
    let site = Site::init("A");
    let conn = rusqlite_lock(site.path());
    let out = site.run(&[
        "register",
        "--name",
        "Ram",
        "--sex",
        "M",
        "--age",
        "40",
        "--department",
        "MED",
    ]);
    drop(conn);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("locked") && err.contains("nothing was saved"),
        "{err}"
    );
    assert_eq!(site.patient_count(), 0);
}

/// Another holder of the database's exclusive lock: this test process, through the counter's
/// own (keyed) connection; a plain sqlite3 client cannot even read the encrypted file.
fn rusqlite_lock(dir: &std::path::Path) -> parchi_app::Counter {
    let c = parchi_app::Counter::open(dir, Box::new(parchi_app::SystemEnv)).expect("open");
    c.hold_write_lock_for_tests().expect("lock");
    c
}

#[test]
fn a_corrupt_database_is_reported_and_nothing_panics() {
    let site = Site::init("A");
    std::fs::write(
        site.path().join("parchi.db"),
        b"this is not a database at all, just bytes".repeat(200),
    )
    .expect("write");
    let _ = std::fs::remove_file(site.path().join("parchi.db-wal"));
    let out = site.run(&["search", "Sunita"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("corrupt") && err.contains("backup"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// The mobile and the Aadhaar number never reach the process list: as flags they are refused
/// (nothing saved); on standard input they register, and while the process runs its
/// `/proc/PID/cmdline` and environment hold neither.
#[test]
fn mobile_and_aadhaar_stay_out_of_the_process_arguments() {
    use std::io::Write;
    let site = Site::init("A");
    for flag in ["--mobile", "--aadhaar"] {
        let out = site
            .cmd()
            .args(["--json", "register", "--name", "Sunita Devi", "--sex", "F"])
            .args(["--age", "34", "--department", "MED", flag, "9876543210"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{flag} accepted");
        let err = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--stdin"), "{flag}: {err}");
        assert!(
            !err.contains("9876543210"),
            "{flag}: the value is echoed: {err}"
        );
    }
    assert_eq!(site.patient_count(), 0, "a refused flag saved a patient");

    let mut child = site
        .cmd()
        .args([
            "--json",
            "register",
            "--stdin",
            "--name",
            "Sunita Devi",
            "--sex",
            "F",
        ])
        .args(["--age", "34", "--department", "MED"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    // The process is waiting on its standard input: read what every user of the machine can.
    let proc = std::path::PathBuf::from(format!("/proc/{}", child.id()));
    // Between fork and exec the child still shows this test's arguments: wait for the exec.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let cmdline = loop {
        let c = std::fs::read(proc.join("cmdline")).expect("cmdline");
        if String::from_utf8_lossy(&c).contains("--stdin") {
            break c;
        }
        assert!(std::time::Instant::now() < deadline, "parchi never started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let environ = std::fs::read(proc.join("environ")).unwrap_or_default();
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"mobile=98765 43210\naadhaar=2341 2341 2346\n")
        .expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for secret in ["98765", "9876543210", "2341", "2346"] {
        for (what, bytes) in [("cmdline", &cmdline), ("environ", &environ)] {
            assert!(
                !String::from_utf8_lossy(bytes).contains(secret),
                "{secret} in /proc/PID/{what}"
            );
        }
    }
    assert!(
        String::from_utf8_lossy(&cmdline).contains("--stdin"),
        "read the wrong process"
    );
    let hits = site.json(&["search", "9876543210"]);
    assert_eq!(
        hits.as_array().map(Vec::len),
        Some(1),
        "the mobile from stdin was not saved: {hits}"
    );
    // The Aadhaar line is read and checked like the field it stands for.
    let mut bad = site
        .cmd()
        .args([
            "--json", "register", "--stdin", "--name", "Asha", "--sex", "F",
        ])
        .args(["--age", "30", "--department", "MED"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run");
    bad.stdin
        .take()
        .expect("stdin")
        .write_all(b"aadhaar=1234 5678 9012\n")
        .expect("write");
    let out = bad.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("aadhaar"));
    assert_eq!(site.patient_count(), 1);
}
