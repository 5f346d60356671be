//! Linking outage registrations to the central index: named cases, quality on synthetic sets
//! and on the labelled sample, and determinism.

use crate::common::{SAMPLE_YEAR, load_sample};
use parchi_dedup::link::{
    CardMismatch, LinkBasis, LinkConfig, LinkInput, LinkNote, LinkOutcome, LinkVerdict, Linker,
    card_check,
};
use parchi_dedup::synth_link::{
    LinkQuality, LinkSet, LinkSynthConfig, OutageKind, evaluate_links, generate_link_set,
};
use parchi_dedup::{GuardianRelation, Record, Sex};
use std::collections::HashMap;

const M: Sex = Sex::Male;
const F: Sex = Sex::Female;

/// A registration in Patna; `key` is the UHID for central records.
fn reg<K>(
    key: K,
    name: &str,
    sex: Sex,
    birth_year: i32,
    guardian: &str,
    mobile: &str,
) -> Record<K> {
    Record {
        key,
        name: name.into(),
        sex: Some(sex),
        birth_year: Some(birth_year),
        birth_approximate: true,
        guardian_relation: Some(match sex {
            Sex::Female => GuardianRelation::DaughterOf,
            _ => GuardianRelation::SonOf,
        }),
        guardian_name: (!guardian.is_empty()).then(|| guardian.into()),
        mobile: (!mobile.is_empty()).then(|| mobile.into()),
        address: Some("H.No. 12, Gandhi Nagar".into()),
        district: Some("Patna".into()),
        state: Some("Bihar".into()),
        pincode: Some("800020".into()),
        abha: None,
    }
}

fn patient(r: Record<u32>, claimed: Option<&str>) -> LinkInput<u32> {
    LinkInput {
        record: r,
        claimed: claimed.map(str::to_owned),
    }
}

/// Links `patients` against `central` offered in one batch.
fn link(patients: Vec<LinkInput<u32>>, central: &[Record<String>]) -> Vec<LinkVerdict<u32>> {
    let mut linker = Linker::new(patients, LinkConfig::default());
    linker.offer(central);
    linker.finish()
}

fn linked_to(v: &LinkVerdict<u32>) -> Option<&str> {
    (v.outcome == LinkOutcome::Linked).then(|| v.candidates[0].uhid.as_str())
}

fn father() -> Record<String> {
    reg(
        "DHP000100001".to_string(),
        "Ramesh Kumar Yadav",
        M,
        1965,
        "Shivnath Yadav",
        "9876543210",
    )
}

fn son() -> Record<u32> {
    reg(
        1,
        "Suresh Kumar Yadav",
        M,
        1991,
        "Ramesh Kumar Yadav",
        "9876543210",
    )
}

#[test]
fn a_son_sharing_his_fathers_phone_is_never_linked_to_the_father() {
    // Only the father is indexed: the son is new (or for review), never linked to him.
    let v = &link(vec![patient(son(), None)], &[father()])[0];
    assert_ne!(v.outcome, LinkOutcome::Linked, "{v:?}");
    // Both are indexed: the son is linked to his own record.
    let sons_record = reg(
        "DHP000100002".to_string(),
        "Suresh Yadav",
        M,
        1990,
        "Ramesh Kumar Yadav",
        "9876543210",
    );
    let v = &link(vec![patient(son(), None)], &[father(), sons_record])[0];
    assert_eq!(linked_to(v), Some("DHP000100002"), "{v:?}");
    // The son holding his father's card: the card fails its check, and he is not linked to the
    // father on it.
    let v = &link(vec![patient(son(), Some("DHP000100001"))], &[father()])[0];
    assert_eq!(v.outcome, LinkOutcome::Review, "{v:?}");
    assert!(v.notes.contains(&LinkNote::CardMismatch), "{v:?}");
    assert_eq!(v.candidates[0].basis, LinkBasis::Card);
    assert!(matches!(
        v.candidates[0].warnings[..],
        [CardMismatch::Age { years: 26 }]
    ));
}

#[test]
fn a_mistyped_card_never_links_the_wrong_person() {
    let right = reg(
        "DHP000123456".to_string(),
        "Anita Kumari",
        F,
        1988,
        "Mahesh Prasad",
        "9123456780",
    );
    let other = reg(
        "DHP000123465".to_string(),
        "Kavita Devi",
        F,
        1986,
        "Sunil Kumar",
        "7012345678",
    );
    let at_counter = reg(1, "Anita Kumari", F, 1988, "Mahesh Prasad", "9123456780");
    // Two digits swapped: the typed UHID is another real patient's.
    let v = &link(
        vec![patient(at_counter.clone(), Some("DHP000123465"))],
        &[right.clone(), other],
    )[0];
    assert_ne!(linked_to(v), Some("DHP000123465"), "{v:?}");
    assert!(
        linked_to(v) == Some("DHP000123456")
            || v.outcome == LinkOutcome::Review
                && v.candidates.iter().any(|c| c.uhid == "DHP000123456"),
        "{v:?}"
    );
    // A typed UHID that is nobody's: probability decides, and says so.
    let v = &link(vec![patient(at_counter, Some("DHP000923456"))], &[right])[0];
    assert_eq!(linked_to(v), Some("DHP000123456"), "{v:?}");
    assert_eq!(v.candidates[0].basis, LinkBasis::Probable);
    assert!(v.notes.contains(&LinkNote::ClaimedNotInIndex));
}

#[test]
fn a_relatives_card_is_not_linked_on() {
    // Two sisters two years apart, one phone, one father; the younger, not indexed, shows the
    // elder's card.
    let elder = reg(
        "DHP000200001".to_string(),
        "Sunita Kumari",
        F,
        1995,
        "Ramesh Prasad",
        "9988776655",
    );
    let younger = reg(1, "Anita Kumari", F, 1997, "Ramesh Prasad", "9988776655");
    let v = &link(vec![patient(younger, Some("DHP000200001"))], &[elder])[0];
    assert_eq!(v.outcome, LinkOutcome::Review, "{v:?}");
    assert!(v.notes.contains(&LinkNote::CardNameDiffers), "{v:?}");
    assert_eq!(v.candidates[0].basis, LinkBasis::Card);
}

#[test]
fn an_initial_that_fits_two_brothers_is_not_linked() {
    let rajesh = reg(
        "DHP000700001".to_string(),
        "Rajesh Arora",
        M,
        1975,
        "Vinod Arora",
        "9883681919",
    );
    let radheshyam = reg(
        "DHP000700002".to_string(),
        "Radheshyam Arora",
        M,
        1978,
        "Vinod Arora",
        "9883681919",
    );
    let typed = reg(1, "R. Arora", M, 1975, "Vinod Arora", "9883681919");
    let v = &link(
        vec![patient(typed.clone(), None)],
        &[rajesh.clone(), radheshyam],
    )[0];
    assert_eq!(v.outcome, LinkOutcome::Review, "{v:?}");
    assert!(v.notes.contains(&LinkNote::InitialFitsSeveral), "{v:?}");
    // With only Rajesh indexed, an initial and a birth year a year off do not tell him from a
    // brother who is not indexed.
    let off_by_one = Record {
        birth_year: Some(1976),
        ..typed
    };
    let v = &link(
        vec![patient(off_by_one.clone(), None)],
        std::slice::from_ref(&rajesh),
    )[0];
    assert_eq!(v.outcome, LinkOutcome::Review, "{v:?}");
    // A card fixes that, as long as the age vouches for it: a sister's card nine years off
    // with only an initial is not linked on.
    let v = &link(vec![patient(off_by_one, Some("DHP000700001"))], &[rajesh])[0];
    assert_eq!(v.outcome, LinkOutcome::Linked, "{v:?}");
    let shobha = reg(
        "DHP000700003".to_string(),
        "Shobha Pillai",
        F,
        1983,
        "Birendra Pillai",
        "",
    );
    let sister = reg(1, "S. Pillai", F, 1992, "Birendra Pillai", "");
    let v = &link(vec![patient(sister, Some("DHP000700003"))], &[shobha])[0];
    assert_eq!(v.outcome, LinkOutcome::Review, "{v:?}");
}

#[test]
fn a_namesake_is_not_linked() {
    let indexed = reg(
        "DHP000800001".to_string(),
        "Rakesh Kumar",
        M,
        1980,
        "Ram Prasad",
        "9431012345",
    );
    let mut namesake = reg(1, "Rakesh Kumar", M, 1981, "Shyam Lal", "7870012345");
    namesake.address = Some("45, Boring Road".into());
    let v = &link(vec![patient(namesake, None)], &[indexed])[0];
    assert_ne!(v.outcome, LinkOutcome::Linked, "{v:?}");
}

#[test]
fn a_card_with_slips_in_the_name_still_links() {
    let record = reg(
        "DHP000300001".to_string(),
        "Tarun Roy",
        M,
        1987,
        "Ayaan Kumar Roy",
        "8231175455",
    );
    let typed = reg(1, "Taoon Roy", M, 1986, "Ayaan Kumar Roy", "");
    let v = &link(vec![patient(typed, Some("DHP000300001"))], &[record])[0];
    assert_eq!(linked_to(v), Some("DHP000300001"), "{v:?}");
    assert_eq!(v.candidates[0].basis, LinkBasis::Card);
}

#[test]
fn card_check_warns_on_sex_and_age() {
    let cfg = LinkConfig::default();
    let central = reg("DHP000400001".to_string(), "Kiran Kumari", F, 1990, "", "");
    let same = reg(1u32, "Kiran", F, 1985, "", "");
    assert!(card_check(&same, &central, &cfg).is_empty());
    let man = reg(1u32, "Kiran Kumar", M, 1990, "", "");
    assert_eq!(card_check(&man, &central, &cfg), vec![CardMismatch::Sex]);
    let mother = reg(1u32, "Kiran Devi", F, 1962, "", "");
    assert_eq!(
        card_check(&mother, &central, &cfg),
        vec![CardMismatch::Age { years: 28 }]
    );
    let unknown = Record {
        key: 1u32,
        name: "Kiran".into(),
        ..Record::default()
    };
    assert!(
        card_check(&unknown, &central, &cfg).is_empty(),
        "missing fields never warn"
    );
    // Serialised with a code, explained in English, nothing personal.
    let json = serde_json::to_value(CardMismatch::Age { years: 28 }).expect("json");
    assert_eq!(json, serde_json::json!({"code": "age", "years": 28}));
    assert_eq!(
        serde_json::to_value(CardMismatch::Sex).expect("json"),
        serde_json::json!({"code": "sex"})
    );
    assert_eq!(
        CardMismatch::Sex.to_string(),
        "the card's record is of a different sex"
    );
    // In the link: a card whose record is of the other sex is not linked on.
    let v = &link(vec![patient(man, Some("DHP000400001"))], &[central])[0];
    assert_ne!(v.outcome, LinkOutcome::Linked, "{v:?}");
    assert_eq!(v.candidates[0].warnings, vec![CardMismatch::Sex]);
}

#[test]
fn a_new_person_is_new() {
    let stranger = reg(
        1,
        "Imran Ansari",
        M,
        2001,
        "Mohd Irfan Ansari",
        "7070707070",
    );
    let v = &link(vec![patient(stranger, None)], &[father()])[0];
    assert_eq!(v.outcome, LinkOutcome::New, "{v:?}");
    assert!(v.candidates.is_empty());
    // Nobody offered at all.
    let v = &link(vec![patient(son(), Some("DHP000000001"))], &[])[0];
    assert_eq!(v.outcome, LinkOutcome::New, "{v:?}");
    assert_eq!(v.notes, vec![LinkNote::ClaimedNotInIndex]);
    assert!(link(Vec::new(), &[father()]).is_empty());
}

#[test]
fn the_same_abha_links() {
    let mut central = reg(
        "DHP000500001".to_string(),
        "Shabana Khatoon",
        F,
        1979,
        "Mohd Salim",
        "9000000001",
    );
    central.abha = Some("91-1234-5678-9012".into());
    // A new phone, a slip in the name, no guardian: the ABHA decides.
    let mut typed = reg(1, "Shabaana", F, 1981, "", "8000000002");
    typed.abha = Some("91123456789012".into());
    let v = &link(vec![patient(typed.clone(), None)], &[central.clone()])[0];
    assert_eq!(linked_to(v), Some("DHP000500001"), "{v:?}");
    assert_eq!(v.candidates[0].basis, LinkBasis::Abha);
    // The same ABHA on a man's record is a typing error to look at, not a link.
    typed.sex = Some(M);
    let v = &link(vec![patient(typed, None)], &[central])[0];
    assert_ne!(v.outcome, LinkOutcome::Linked, "{v:?}");
}

#[test]
fn two_index_records_of_one_person_link_with_a_note() {
    let a = reg(
        "DHP000600001".to_string(),
        "Mohd Irfan Ansari",
        M,
        1975,
        "Abdul Karim Ansari",
        "9876501234",
    );
    let b = reg(
        "DHP000600002".to_string(),
        "Mohammad Irfan Ansari",
        M,
        1976,
        "Abdul Karim",
        "9876501234",
    );
    let typed = reg(
        1,
        "Md. Irfan Ansari",
        M,
        1975,
        "Abdul Karim Ansari",
        "9876501234",
    );
    let v = &link(vec![patient(typed, None)], &[a, b])[0];
    assert_eq!(v.outcome, LinkOutcome::Linked, "{v:?}");
    assert!(
        v.notes.contains(&LinkNote::SeveralRecordsOfOnePerson),
        "{v:?}"
    );
    assert_eq!(v.candidates.len(), 2);
}

#[test]
fn debug_prints_no_personal_data() {
    let input = patient(son(), Some("DHP000100001"));
    let v = &link(vec![input.clone()], &[father()])[0];
    let shown = format!("{input:?} {v:?}");
    for secret in ["Suresh", "Ramesh", "9876543210", "Gandhi", "800020", "1991"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
    // What the clerk typed is not shown either (the verdict names the index's own record).
    assert!(!format!("{input:?}").contains("DHP"), "{input:?}");
    // The verdict serialises with snake_case codes.
    let json = serde_json::to_value(v).expect("json");
    assert_eq!(json["outcome"], "review");
    assert_eq!(json["candidates"][0]["basis"], "card");
    assert_eq!(json["notes"][0]["code"], "card_mismatch");
}

/// Runs the linker over a set, offering the central records in `batch`-sized pieces.
fn run(
    set: &LinkSet,
    cfg: &LinkConfig,
    central: &[Record<String>],
    batch: usize,
) -> Vec<LinkVerdict<u64>> {
    let mut linker = Linker::new(set.outage.clone(), cfg.clone());
    for part in central.chunks(batch) {
        linker.offer(part);
    }
    linker.finish()
}

fn assert_targets(what: &str, q: &LinkQuality) {
    assert!(q.auto_precision >= 0.995, "{what}: {q:#?}");
    assert!(q.recall_with_review >= 0.95, "{what}: {q:#?}");
    assert!(q.review_share <= 0.10, "{what}: {q:#?}");
}

#[test]
fn synthetic_sets_meet_the_targets() {
    // Seeds never used for tuning (the defaults were tuned on seeds 1 to 8).
    for seed in [21, 22] {
        let set = generate_link_set(&LinkSynthConfig::new(20_000, 4_000, seed));
        let verdicts = run(&set, &LinkConfig::default(), &set.central, 10_000);
        let q = evaluate_links(&set, &verdicts);
        eprintln!(
            "link seed {seed}, {} central / {} outage: {q:?}",
            set.central.len(),
            set.outage.len()
        );
        assert_targets(&format!("seed {seed}"), &q);
        // Relatives and namesakes are the links that must not happen.
        let hard: usize = [
            OutageKind::Relative,
            OutageKind::RelativeWithCard,
            OutageKind::Namesake,
        ]
        .iter()
        .map(|k| q.wrong_links_by_kind.get(k).copied().unwrap_or(0))
        .sum();
        assert!(hard <= 1, "seed {seed}: {q:#?}");
        assert!(
            q.new_precision >= 0.95 && q.new_recall >= 0.9,
            "seed {seed}: {q:#?}"
        );
    }
}

#[test]
fn verdicts_do_not_depend_on_threads_batches_or_order() {
    let set = generate_link_set(&LinkSynthConfig::new(12_000, 2_500, 3));
    let cfg = LinkConfig::default();
    let base = run(&set, &cfg, &set.central, 10_000);
    let two = LinkConfig {
        threads: 2,
        ..cfg.clone()
    };
    assert_eq!(base, run(&set, &two, &set.central, 10_000), "threads");
    assert_eq!(base, run(&set, &cfg, &set.central, 777), "batches");
    let mut reversed = set.central.clone();
    reversed.reverse();
    assert_eq!(base, run(&set, &two, &reversed, 3_001), "reversed");
    // Interleaved: every third record first, then the rest.
    let mut shuffled: Vec<Record<String>> = set.central.iter().step_by(3).cloned().collect();
    shuffled.extend(
        set.central
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 0)
            .map(|(_, r)| r.clone()),
    );
    assert_eq!(base, run(&set, &cfg, &shuffled, 10_000), "shuffled");
}

/// The labelled sample as a link set: the first registration of each person is the central
/// index; their later registrations are returning patients (every other one with their card);
/// one person in ten, and one side of every other labelled relative pair, is held out of the
/// index entirely, and some held-out relatives show an indexed relative's card.
fn sample_link_set() -> LinkSet {
    let s = load_sample();
    let mut order: Vec<&str> = Vec::new();
    let mut first_row: HashMap<&str, u32> = HashMap::new();
    for r in &s.records {
        let p = s.person[&r.key].as_str();
        if !first_row.contains_key(p) {
            first_row.insert(p, r.key);
            order.push(p);
        }
    }
    let mut held_out: HashMap<&str, Option<&str>> = order
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 10 == 3)
        .map(|(_, p)| (*p, None))
        .collect();
    for (i, (a, b, same)) in s.labelled.iter().enumerate() {
        let (pa, pb) = (s.person[a].as_str(), s.person[b].as_str());
        if !same && i % 2 == 0 && !held_out.contains_key(pa) {
            held_out.entry(pb).or_insert(Some(pa));
        }
    }
    let uhid: HashMap<&str, String> = order
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, format!("DHP{:09}", 100_001 + i)))
        .collect();
    let mut set = LinkSet {
        central: Vec::new(),
        outage: Vec::new(),
        truth: Vec::new(),
        kind: Vec::new(),
    };
    for r in &s.records {
        let p = s.person[&r.key].as_str();
        let held = held_out.get(p);
        if held.is_none() && first_row[p] == r.key {
            set.central.push(rekey(r, uhid[p].clone()));
            continue;
        }
        let pos = set.outage.len() as u64;
        let (claimed, kind, truth) = match held {
            Some(Some(kin)) if r.key % 3 == 0 && !held_out.contains_key(kin) => {
                (Some(uhid[kin].clone()), OutageKind::RelativeWithCard, None)
            }
            Some(Some(_)) => (None, OutageKind::Relative, None),
            Some(None) => (None, OutageKind::New, None),
            None if r.key % 2 == 0 => (
                Some(uhid[p].clone()),
                OutageKind::Card,
                Some(vec![uhid[p].clone()]),
            ),
            None => (None, OutageKind::NoCard, Some(vec![uhid[p].clone()])),
        };
        set.outage.push(LinkInput {
            record: rekey(r, pos),
            claimed,
        });
        set.kind.push(kind);
        set.truth.push(truth);
    }
    set
}

/// A sample record's fields under another key.
fn rekey<K>(r: &Record<u32>, key: K) -> Record<K> {
    Record {
        key,
        name: r.name.clone(),
        sex: r.sex,
        birth_year: r.birth_year,
        birth_approximate: r.birth_approximate,
        guardian_relation: r.guardian_relation,
        guardian_name: r.guardian_name.clone(),
        mobile: r.mobile.clone(),
        address: r.address.clone(),
        district: r.district.clone(),
        state: r.state.clone(),
        pincode: r.pincode.clone(),
        abha: r.abha.clone(),
    }
}

#[test]
fn the_sample_links_well() {
    let set = sample_link_set();
    assert!(
        set.outage.len() > 600 && set.central.len() > 2_500,
        "{set:?}"
    );
    let verdicts = run(&set, &LinkConfig::default(), &set.central, 1_000);
    let q = evaluate_links(&set, &verdicts);
    eprintln!(
        "sample ({} central, {} outage, ages from {SAMPLE_YEAR}): {q:#?}",
        set.central.len(),
        set.outage.len()
    );
    assert_targets("sample", &q);
    assert_eq!(q.wrong_links, 0, "{q:#?}");
    assert!(q.auto_recall >= 0.9, "{q:#?}");
}
