//! Returning patients and the hospital's index, in process on a real SQLite file with a fixed
//! clock: cards at registration, mirror hits in search, visits from the mirror, the link after
//! the outage with its review, and what the export sends.

mod support;

use std::path::Path;

use parchi_app::{Counter, FixedEnv, Found, RegisterRequest};
use parchi_core::central::birth_from_year;
use parchi_core::patient::{Mobile, Name, Pincode, Sex};
use parchi_core::{CentralPatient, Uhid};

const NOW_MS: u64 = 1_780_300_800_000; // 2026-06-01, a Monday

fn counter(dir: &Path) -> Counter {
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hospital.toml");
    Counter::init(dir, &cfg, "A", Box::new(FixedEnv::new(NOW_MS, 3))).expect("init")
}

fn central(uhid: &str, name: &str, sex: Sex, year: i32, mobile: &str) -> CentralPatient {
    CentralPatient {
        uhid: Uhid::parse(uhid).expect("uhid"),
        name: Name::parse("name", name).expect("name"),
        sex: Some(sex),
        birth: birth_from_year(year),
        guardian_relation: None,
        guardian_name: None,
        mobile: Mobile::parse(mobile).ok(),
        address: None,
        district: None,
        state: None,
        pincode: Pincode::parse("800001").ok(),
        abha_number: None,
        seen: None,
    }
}

fn index() -> Vec<CentralPatient> {
    vec![
        central(
            "DHP000000001",
            "Sunita Devi",
            Sex::Female,
            1980,
            "9876500001",
        ),
        central(
            "DHP000000002",
            "Ramesh Kumar Yadav",
            Sex::Male,
            1975,
            "9876500002",
        ),
        central(
            "DHP000000003",
            "Mohd Irfan Ansari",
            Sex::Male,
            1966,
            "9876500003",
        ),
        central(
            "DHP000000004",
            "Asha Kumari",
            Sex::Female,
            2001,
            "9876500004",
        ),
    ]
}

fn request(name: &str, sex: &str, age: &str, mobile: &str, uhid: &str) -> RegisterRequest {
    RegisterRequest {
        uhid: uhid.into(),
        ..support::request(name, sex, age, mobile)
    }
}

fn with_index() -> (tempfile::TempDir, Counter) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = counter(dir.path());
    c.mirror_load(&index(), 1).expect("mirror");
    (dir, c)
}

#[test]
fn a_card_links_the_visit_warns_on_a_relatives_card_and_keeps_unknown_uhids_as_claimed() {
    let (_d, mut c) = with_index();
    // The card's record fits: linked to it.
    let r = c
        .register(&request(
            "Sunita Devi",
            "F",
            "46",
            "9876500001",
            "dhp000000001",
        ))
        .expect("reg");
    assert!(
        r.warnings.iter().all(|w| w.field != "uhid"),
        "{:?}",
        r.warnings
    );
    let p = c.patient(&r.temp_id).expect("patient");
    assert_eq!(
        (p.uhid.as_deref(), p.link),
        (Some("DHP000000001"), Some("linked"))
    );
    // A man at the counter with a woman's card: warned, kept as claimed.
    let r = c
        .register(&request("Sunil Kumar", "M", "45", "", "DHP000000004"))
        .expect("reg");
    assert!(
        r.warnings.iter().any(|w| w.code == "card_mismatch"),
        "{:?}",
        r.warnings
    );
    assert_eq!(c.patient(&r.temp_id).expect("p").link, Some("claimed"));
    // Not in the index as of the copy: claimed, with the reason.
    let r = c
        .register(&request("Kavita Sharma", "F", "30", "", "DHP000009999"))
        .expect("reg");
    assert!(r.warnings.iter().any(|w| w.code == "not_in_index"));
    assert_eq!(
        c.patient("DHP000009999").expect("by uhid").link,
        Some("claimed")
    );
    // A UHID that breaks the hospital's format: refused with the field, nothing written.
    let before = c.counts().expect("counts");
    let e = c
        .register(&request("Kavita Sharma", "F", "30", "", "12-AB"))
        .expect_err("format");
    assert_eq!(e.fields().map(|f| f.0[0].field), Some("uhid"));
    assert_eq!(c.counts().expect("counts"), before);
    // The same card again: the visit goes to the patient who holds it.
    let again = c
        .register(&request("Sunita", "F", "46", "", "DHP000000001"))
        .expect("again");
    assert_eq!(again.warnings[0].code, "already_registered");
    assert_eq!(c.visits_of("DHP000000001").expect("visits").len(), 2);
    assert_eq!(c.counts().expect("counts").0, before.0);
}

#[test]
fn search_shows_the_hospital_index_until_someone_is_registered_from_it() {
    let (_d, mut c) = with_index();
    let hits = c.search("Ramesh Kumar Yadv", 8).expect("search");
    let Some(Found::HospitalIndex(h)) = hits.first() else {
        panic!("a hospital-index hit first: {hits:?}")
    };
    assert_eq!(h.uhid, "DHP000000002");
    for q in ["DHP000000002", "9876500002", "DHP0000000"] {
        assert!(
            c.search(q, 8)
                .expect("search")
                .iter()
                .any(|f| matches!(f, Found::HospitalIndex(h) if h.uhid == "DHP000000002")),
            "{q}"
        );
    }
    // A visit from the hit registers the patient from the hospital's record, linked.
    let v = c.new_visit("DHP000000002", "MED").expect("visit");
    let p = c.patient(&v.temp_id).expect("p");
    assert_eq!(
        (p.name.as_str(), p.link),
        ("Ramesh Kumar Yadav", Some("linked"))
    );
    // Now the search shows the Parchi patient, not the hospital's record beside them.
    let hits = c.search("DHP000000002", 8).expect("search");
    assert_eq!(hits.len(), 1);
    assert!(matches!(&hits[0], Found::Parchi(p) if p.temp_id == v.temp_id));
    // A record missing what a patient needs cannot start a visit alone.
    let mut partial = central("DHP000000005", "Gita Devi", Sex::Female, 1990, "9876500005");
    partial.sex = None;
    c.mirror_load(&[partial], 2).expect("mirror");
    let e = c.new_visit("DHP000000005", "MED").expect_err("no sex");
    assert!(e.to_string().contains("no sex"), "{e}");
}

#[test]
fn the_link_verifies_claims_matches_the_rest_queues_the_unsure_and_decisions_stick() {
    let (_d, mut c) = with_index();
    // Irfan returns without his card; a new patient; a relative holding Sunita's card.
    let irfan = c
        .register(&request(
            "Mohammad Irfan Ansari",
            "M",
            "60",
            "9876500003",
            "",
        ))
        .expect("r");
    let new = c
        .register(&request("Zubair Khan", "M", "33", "9123456789", ""))
        .expect("r");
    let son = c
        .register(&request(
            "Raju Kumar",
            "M",
            "20",
            "9876500001",
            "DHP000000001",
        ))
        .expect("r");
    assert_eq!(c.patient(&son.temp_id).expect("p").link, Some("claimed"));
    let run = c.link(&mut |_, _| {}).expect("link");
    assert_eq!(run.patients, 3);
    let verdict = |t: &str| {
        run.rows
            .iter()
            .find(|r| r.patient.temp_id == t)
            .map(|r| r.verdict)
            .expect("row")
    };
    use parchi_dedup::link::LinkOutcome::{Linked, New};
    assert_eq!(verdict(&irfan.temp_id), Linked);
    assert_eq!(
        c.patient(&irfan.temp_id).expect("p").uhid.as_deref(),
        Some("DHP000000003")
    );
    assert_eq!(verdict(&new.temp_id), New);
    assert_ne!(
        verdict(&son.temp_id),
        Linked,
        "a relative's card is never linked alone"
    );
    // The admin rejects the card's record for the son: never proposed for him again.
    c.link_reject(&son.temp_id, "DHP000000001", "his mother's card")
        .expect("reject");
    let again = c.link(&mut |_, _| {}).expect("link");
    assert!(
        again
            .rows
            .iter()
            .all(|r| r.uhid.as_deref() != Some("DHP000000001")),
        "{:?}",
        again.rows
    );
    // Two patients accepted as one hospital record are one person.
    let twice = c
        .register(&request("Md Irfan Ansari", "M", "59", "", ""))
        .expect("r");
    c.link_accept(&twice.temp_id, "DHP000000003", &[])
        .expect("accept");
    let a = c.patient(&irfan.temp_id).expect("p");
    let b = c.patient(&twice.temp_id).expect("p");
    assert_eq!(a.patient_id, b.patient_id, "merged into one person");
    assert_eq!(c.visits_of(&twice.temp_id).expect("v").len(), 2);
}

#[test]
fn the_export_updates_linked_patients_and_holds_back_the_undecided() {
    let (_d, mut c) = with_index();
    c.register(&request(
        "Sunita Devi",
        "F",
        "46",
        "9876500001",
        "DHP000000001",
    ))
    .expect("r");
    let claimed = c
        .register(&request("Kavita Sharma", "F", "30", "", "DHP000009999"))
        .expect("r");
    let plan = c.fhir_plan().expect("plan");
    assert_eq!(plan.updates.len(), 1);
    assert_eq!(plan.updates[0].uhid, "DHP000000001");
    assert_eq!(plan.created, 0, "nobody new is decided yet");
    assert_eq!(plan.held.len(), 1);
    assert_eq!(plan.held[0].temp_id, claimed.temp_id);
    // Encounters of the linked patient refer to the hospital's Patient by UHID.
    let subject = plan.bundles[0]["entry"][0]["resource"]["subject"]["reference"]
        .as_str()
        .unwrap_or("");
    assert!(
        subject.starts_with("Patient?identifier=") && subject.ends_with("|DHP000000001"),
        "{subject}"
    );
}
