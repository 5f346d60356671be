//! Names shared by more people than a search scores: the mirror scores its newest 100
//! candidates of a pass and Parchi's own patients their newest 300, so a patient whose name is
//! spelt exactly as typed must not be lost behind newer namesakes who only sound the same.

mod support;

use parchi_core::central::birth_from_year;
use parchi_core::names;
use parchi_core::patient::{Mobile, Name, Sex};
use parchi_core::{CentralPatient, Uhid};
use support::{NOW_MS, Rng, new_store, reg, with_stamping};

fn central(n: usize, name: &str) -> CentralPatient {
    CentralPatient {
        uhid: Uhid::parse(&format!("DHP{n:09}")).expect("uhid"),
        name: Name::parse("name", name).expect("name"),
        sex: Some(Sex::Male),
        birth: birth_from_year(1970 + (n % 40) as i32),
        guardian_relation: None,
        guardian_name: None,
        mobile: Mobile::parse(&format!("98{:08}", n)).ok(),
        address: None,
        district: None,
        state: None,
        pincode: None,
        abha_number: None,
        seen: None,
    }
}

/// The premise of each case: the namesakes sound exactly like the one spelt as typed.
fn sounds_alike(a: &str, b: &str) {
    assert_ne!(a, b);
    assert_eq!(names::pair_terms(a), names::pair_terms(b), "{a} / {b}");
}

#[test]
fn a_mirror_record_spelt_as_typed_is_found_behind_400_newer_soundalikes() {
    let (exact, alike) = ("Ramesh Yadev", "Ramesh Yadav");
    sounds_alike(exact, alike);
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = new_store(dir.path(), "A", 11);
    // The one spelt as typed is the oldest record: every other has a higher rowid.
    let mut records = vec![central(1, exact)];
    records.extend((2..=401).map(|n| central(n, alike)));
    let w = s.mirror_write(&records, 1).expect("mirror");
    assert_eq!(w.inserted, 401);

    let (_, hits) = s.search_with_mirror(exact, 10).expect("search");
    assert_eq!(hits.len(), 10);
    assert_eq!(
        hits[0].record.uhid.as_str(),
        "DHP000000001",
        "{:?}",
        hits[0].record.name
    );
    assert!(hits[1..].iter().all(|h| h.record.name.as_str() == alike));
    // The namesakes' own spelling still finds them, newest first.
    let (_, hits) = s.search_with_mirror(alike, 10).expect("search");
    assert_eq!(hits[0].record.uhid.as_str(), "DHP000000401");
    assert!(hits.iter().all(|h| h.record.name.as_str() == alike));
}

#[test]
fn an_own_patient_spelt_as_typed_is_found_behind_400_newer_soundalikes() {
    let (exact, alike) = ("Mohammad Rafiq", "Mohammed Rafik");
    sounds_alike(exact, alike);
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = new_store(dir.path(), "A", 12);
    let mut rng = Rng(12);
    let first = with_stamping(&mut rng, NOW_MS, |st| {
        s.register(&reg(exact, "9811100000"), st)
    })
    .expect("register");
    let batch: Vec<_> = (1..=400)
        .map(|i| reg(alike, &format!("98222{i:05}")))
        .collect();
    with_stamping(&mut rng, NOW_MS + 60_000, |st| s.register_many(&batch, st))
        .expect("register namesakes");

    let hits = s.search(exact, 10).expect("search");
    assert_eq!(hits.len(), 10);
    assert_eq!(
        hits[0].patient.id, first.patient,
        "{:?}",
        hits[0].patient.fields.name
    );
    assert!(
        hits[1..]
            .iter()
            .all(|h| h.patient.fields.name.as_str() == alike)
    );
}
