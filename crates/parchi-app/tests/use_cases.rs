//! The counter's use cases in process, on a real (encrypted) SQLite file with a fixed clock:
//! register, batch, visit, edit, cancel, print and reprint (through CUPS' PDF printer), the
//! duplicate review and merge, the sync worker against a real hub served in this process, and
//! the FHIR export. What the CLI and the desktop app do is these calls and nothing more.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use parchi_app::slips::SlipCopy;
use parchi_app::sync::SyncWorker;
use parchi_app::{AppError, Counter, FixedEnv, RegisterRequest, SystemEnv};
use parchi_core::patient::PatientInput;

use support::print::{barcodes, pdf_text, printed_after, spool};
use support::{Hub, config, request};

const NOW_MS: u64 = 1_780_300_800_000; // 2026-06-01, a Monday

fn counter(dir: &Path, code: &str, seed: u64) -> Counter {
    Counter::init(dir, &config(), code, Box::new(FixedEnv::new(NOW_MS, seed))).expect("init")
}

/// The Parchi patient a hit is, if it is one.
fn own_id(hit: &parchi_app::Found) -> Option<String> {
    match hit {
        parchi_app::Found::Parchi(p) => Some(p.patient_id.to_string()),
        parchi_app::Found::HospitalIndex(_) => None,
    }
}

fn invalid_fields(e: AppError) -> Vec<String> {
    match e {
        AppError::Validation(v) => v.0.into_iter().map(|f| f.field.to_string()).collect(),
        other => panic!("not a validation error: {other}"),
    }
}

#[test]
fn a_registration_is_found_revisited_corrected_and_cancelled() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = counter(dir.path(), "A", 1);
    let r = c
        .register(&request("Sunita Devi", "F", "34", "9876543210"))
        .expect("register");
    assert!(r.token.starts_with("A-"), "{}", r.token);
    assert!(r.temp_id.starts_with("A-"), "{}", r.temp_id);

    for query in ["suneeta devi", "9876543210", r.temp_id.as_str()] {
        let hits = c.search(query, 8).expect("search");
        assert!(
            hits.iter()
                .any(|h| own_id(h) == Some(r.patient_id.to_string())),
            "{query:?} does not find her"
        );
    }

    let v = c.new_visit(&r.temp_id, "ENT").expect("visit");
    assert_eq!(
        v.patient_id, r.patient_id,
        "the revisit is the same patient"
    );
    assert_eq!(v.department, "ENT");
    assert_ne!(v.visit_id, r.visit_id);
    assert_eq!(c.visits_of(&r.temp_id).expect("visits").len(), 2);

    let edit = PatientInput {
        mobile: "9123456789".into(),
        ..Default::default()
    };
    let changed = c.edit_patient(&r.temp_id, &edit).expect("edit");
    assert_eq!(changed, vec!["mobile".to_string()]);
    assert!(c.search("9876543210", 8).expect("search").is_empty());
    assert_eq!(c.search("9123456789", 8).expect("search").len(), 1);
    let history = c.history(&r.temp_id).expect("history");
    assert!(history.len() >= 3, "register, visit and edit are on record");

    let cancelled = c
        .cancel_visit(&v.visit_id.to_string(), "wrong department")
        .expect("cancel");
    assert!(cancelled.cancelled);
    let err = c
        .slip_pdf(&v.visit_id.to_string(), None, false)
        .expect_err("a cancelled visit has no slip");
    assert!(err.to_string().contains("cancelled"), "{err}");
    let report = c.day_report(None).expect("report");
    let json = serde_json::to_value(&report).expect("json");
    assert!(json.to_string().contains("\"cancellations\":1"), "{json}");
}

#[test]
fn bad_input_names_every_field_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = counter(dir.path(), "A", 2);
    let before = c.counts().expect("counts");
    let mut bad = request("", "X", "300", "12345");
    bad.department = "MED".into();
    let mut fields = invalid_fields(c.register(&bad).expect_err("refused"));
    fields.sort();
    assert_eq!(fields, ["age", "mobile", "name", "sex"]);
    assert_eq!(c.counts().expect("counts"), before);
    let err = c
        .register(&RegisterRequest {
            department: "NOPE".into(),
            ..request("Asha", "F", "30", "")
        })
        .expect_err("unknown department");
    assert!(err.to_string().contains("NOPE"), "{err}");
    assert!(
        c.search("x", 0).is_err() && c.search("x", 51).is_err(),
        "limit 1 to 50"
    );
    assert!(Counter::parse_day(Some("28-11-2026")).is_err());
    assert_eq!(c.counts().expect("counts"), before);
}

#[test]
fn a_batch_commits_the_valid_rows_and_names_the_refused_ones() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = counter(dir.path(), "A", 3);
    let rows = [
        request("Ramesh Kumar", "M", "50", "9876500001"),
        request("", "M", "50", ""),
        request("Asha Kumari", "F", "25", "9876500002"),
    ];
    let out = c.register_batch(&rows).expect("batch");
    assert_eq!(out.len(), 3);
    assert!(out[0].is_ok() && out[2].is_ok());
    let refused = out.into_iter().nth(1).expect("row 2").expect_err("no name");
    assert_eq!(invalid_fields(refused), ["name"]);
    assert_eq!(c.counts().expect("counts").0, 2);
}

#[test]
fn one_original_then_recorded_duplicates() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = counter(dir.path(), "A", 4);
    let r = c
        .register(&request("Ram Prasad", "M", "60", "9876500003"))
        .expect("register");
    let visit = r.visit_id.to_string();
    assert_eq!(c.next_copy(&visit).expect("copy"), SlipCopy::Original);

    // A printer that does not exist: nothing recorded, the next print is still the original,
    // and the PDF is kept inside the store.
    let err = c
        .print_original(&visit, Some("NO_SUCH_PRINTER"))
        .expect_err("no printer");
    assert!(matches!(err, AppError::Print(_)), "{err}");
    assert_eq!(c.next_copy(&visit).expect("copy"), SlipCopy::Original);
    assert!(c.kept_slip_pdf(&visit).expect("kept").starts_with(b"%PDF"));

    let before = spool();
    let job = c.print_original(&visit, Some("PDF")).expect("print");
    assert_eq!(job.printer, "PDF");
    let printed = printed_after(&before).expect("the CUPS PDF printer wrote the slip");
    let temp = r.temp_id.replace('-', "");
    assert!(
        barcodes(&printed).contains(&format!("CODE-128:{temp}")),
        "the printed slip carries the patient's barcode"
    );
    let _ = std::fs::remove_file(&printed);
    let original = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(
        original.path(),
        c.slip_pdf(&visit, None, false).expect("pdf"),
    )
    .expect("write");
    assert!(!pdf_text(original.path()).contains("DUPLICATE"));

    assert_eq!(c.next_copy(&visit).expect("copy"), SlipCopy::Duplicate);
    let again = c
        .print_original(&visit, Some("PDF"))
        .expect_err("a second original");
    assert!(again.to_string().contains("reprint"), "{again}");
    assert_eq!(c.visit(&visit).expect("visit").reprints, 0);

    let before = spool();
    let re = c.reprint(&visit, Some("PDF"), true).expect("reprint");
    assert_eq!(re.visit.reprints, 1);
    assert!(matches!(re.printed, Some(Ok(_))), "{:?}", re.printed);
    let printed = printed_after(&before).expect("the duplicate printed");
    assert!(barcodes(&printed).contains(&format!("CODE-128:{temp}")));
    let _ = std::fs::remove_file(&printed);

    // A reprint whose printer fails stays recorded.
    let re = c
        .reprint(&visit, Some("NO_SUCH_PRINTER"), true)
        .expect("recorded");
    assert_eq!(re.visit.reprints, 2);
    assert!(matches!(re.printed, Some(Err(AppError::Print(_)))));
    // What it would have printed is kept, marked DUPLICATE.
    let kept = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(kept.path(), c.kept_slip_pdf(&visit).expect("kept")).expect("write");
    assert!(pdf_text(kept.path()).contains("DUPLICATE"));
}

#[test]
fn duplicates_are_reviewed_and_merged() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = counter(dir.path(), "A", 5);
    let a = c
        .register(&request("Mohd Irfan Ansari", "M", "58", "9876500004"))
        .expect("a");
    let b = c
        .register(&request("Md Irfan Ansari", "M", "58", "9876500004"))
        .expect("b");
    let pairs = c.duplicates().expect("duplicates");
    let pair = pairs
        .iter()
        .find(|p| {
            let ids = [p.a.as_str(), p.b.as_str()];
            ids.contains(&a.patient_id.to_string().as_str())
                && ids.contains(&b.patient_id.to_string().as_str())
        })
        .expect("the pair is proposed");
    assert!(!pair.reasons.is_empty());
    let merged = c
        .merge(&pair.a, &pair.b, "same person, same mobile")
        .expect("merge");
    assert_eq!(merged.records.len(), 2);
    assert!(
        c.duplicates()
            .expect("after")
            .iter()
            .all(|p| p.a != pair.a || p.b != pair.b),
        "a merged pair is not proposed again"
    );
    let hits = c.search("9876500004", 8).expect("search");
    assert_eq!(hits.len(), 1, "one person after the merge");
}

#[test]
fn the_fhir_export_creates_each_new_person_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = counter(dir.path(), "A", 6);
    c.register(&request("Asha Kumari", "F", "25", "9876500005"))
        .expect("register");
    c.register(&request("Ramesh Kumar", "M", "50", "9876500006"))
        .expect("register");
    let out = tempfile::tempdir().expect("out");
    let s = c.export_fhir(out.path()).expect("export");
    assert_eq!(
        s.patients + s.held.len(),
        2,
        "every person is exported or held with why"
    );
    assert!(!s.bundles.is_empty());
    // The files are sealed to the backup keys (here the recovery key made at init): no name
    // in clear on the disk, and the recovery key opens them.
    let key = parchi_keys::backup::BackupKey::from_recovery(
        &c.take_recovery_key().expect("recovery key made at init"),
    )
    .expect("key");
    for bundle in &s.bundles {
        let sealed = std::fs::read(bundle).expect("bundle");
        assert!(
            bundle.to_string_lossy().ends_with(".json.age"),
            "{bundle:?}"
        );
        assert!(
            !sealed.windows(5).any(|w| w == b"Asha " || w == b"98765"),
            "a name or mobile in clear in {bundle:?}"
        );
        let plain = parchi_app::backup::open_sealed(bundle, &key).expect("open");
        let json: serde_json::Value = serde_json::from_slice(&plain).expect("json");
        assert_eq!(json["resourceType"], "Bundle");
        assert_eq!(json["type"], "transaction");
        for entry in json["entry"].as_array().expect("entries") {
            assert!(entry["request"]["method"].is_string(), "{entry}");
        }
    }
}

#[test]
fn the_sync_worker_carries_a_registration_to_another_counter() {
    let hub = Hub::start();
    let (da, db) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let mut a = counter(da.path(), "A", 7);
    let mut b = counter(db.path(), "B", 8);
    a.enroll(&hub.url, &hub.code()).expect("enrol A");
    b.enroll(&hub.url, &hub.code()).expect("enrol B");
    let r = a
        .register(&request("Sunaina Oraon", "F", "29", "7004077889"))
        .expect("register");
    assert_eq!(
        a.sync_status().expect("status").pending,
        2,
        "patient and visit wait"
    );
    drop(a);

    let worker = SyncWorker::spawn(da.path().to_owned(), Duration::from_millis(200), || {
        Box::new(SystemEnv)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let s = worker.status.lock().ok().and_then(|s| s.clone());
        if let Some(s) = s.filter(|s| s.pending == 0 && s.online == Some(true)) {
            break s;
        }
        assert!(Instant::now() < deadline, "the worker never pushed");
        std::thread::sleep(Duration::from_millis(100));
    };
    worker.stop();
    assert!(status.last_success.is_some());

    b.sync_once(&mut |_| {}).expect("B syncs");
    let hits = b.search("7004077889", 8).expect("search at B");
    assert_eq!(
        hits.first().and_then(own_id),
        Some(r.patient_id.to_string()),
        "B finds A's patient"
    );
}
