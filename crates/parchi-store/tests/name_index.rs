//! The name index caught up after the durable transaction: a name committed without its keys
//! (a crash between the two transactions, another connection's write, a pulled op) is found by
//! the next search and indexed at the next open.

use chrono::NaiveDate;
use parchi_core::op::FieldValue;
use parchi_core::patient::{Category, Name, PatientInput};
use parchi_core::{CounterCode, DeptCode, Hlc, PatientId};
use parchi_store::{DataKey, NewRegistration, NewVisitSpec, Stamping, Store};

fn key() -> DataKey {
    DataKey::from_bytes(&[9u8; 32]).expect("key")
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).expect("date")
}

/// 10:00 IST on `day()`.
const NOW_MS: u64 = 1_795_840_200_000;

/// Runs `f` with wall time `now_ms` and a seeded random source.
fn stamped<T>(seed: &mut u64, now_ms: u64, f: impl FnOnce(&mut Stamping<'_>) -> T) -> T {
    let mut fill = |b: &mut [u8]| {
        for x in b {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *x = (*seed >> 33) as u8;
        }
    };
    let local = chrono::DateTime::from_timestamp_millis(now_ms as i64)
        .expect("ts")
        .naive_utc()
        + chrono::Duration::minutes(330);
    let mut st = Stamping {
        now_ms,
        local,
        random: &mut fill,
    };
    f(&mut st)
}

fn new_store(dir: &std::path::Path, counter: &str, seed: u64) -> Store {
    let mut seed = seed;
    stamped(&mut seed, NOW_MS, |st| {
        let counter = CounterCode::parse(counter).expect("counter");
        Store::create(dir, &key(), counter, "{}", st).expect("create")
    })
}

fn reg(name: &str) -> NewRegistration {
    let input = PatientInput {
        name: name.into(),
        sex: "F".into(),
        age: "34".into(),
        ..Default::default()
    };
    NewRegistration {
        fields: input.validate(day()).expect("valid").fields,
        quick: false,
        visit: NewVisitSpec {
            department: DeptCode::parse("MED").expect("dept"),
            fee: 10,
            category: Category::General,
        },
        link: None,
    }
}

fn pending(s: &Store) -> i64 {
    s.names_waiting().expect("pending")
}

/// Two counters' stores, A and B, in directories of their own.
fn two_stores() -> ([tempfile::TempDir; 2], Store, Store) {
    let dirs = [
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    ];
    let a = new_store(dirs[0].path(), "A", 1);
    let b = new_store(dirs[1].path(), "B", 2);
    (dirs, a, b)
}

/// Commits a registration without its catch-up, as a crash between the two transactions
/// leaves it.
fn durable_only(s: &mut Store, seed: &mut u64, name: &str) -> parchi_store::Registered {
    stamped(seed, NOW_MS + 1_000, |st| {
        s.register_durable_for_bench(&reg(name), st)
    })
    .expect("commit")
}

/// The patients a name search finds, by ID.
fn found(s: &Store, query: &str) -> Vec<PatientId> {
    s.search(query, 10)
        .expect("search")
        .into_iter()
        .map(|h| h.patient.id)
        .collect()
}

/// Whether the name index holds terms for the patient's rowid (read straight from it).
fn indexed(s: &Store, patient: PatientId) -> bool {
    s.connection()
        .query_row(
            "SELECT count(*) FROM patient_fts WHERE rowid = (SELECT rowid FROM patients WHERE id = ?1)",
            [patient.as_bytes()],
            |r| r.get::<_, i64>(0),
        )
        .expect("fts")
        > 0
}

#[test]
fn a_search_right_after_register_finds_the_patient() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = new_store(dir.path(), "A", 1);
    let mut seed = 2;
    let r = stamped(&mut seed, NOW_MS + 1_000, |st| {
        s.register(&reg("Sunita Kumari Paswan"), st)
    })
    .expect("register");
    // Caught up by the register call itself, in its second transaction.
    assert_eq!(pending(&s), 0);
    assert!(indexed(&s, r.patient));
    assert_eq!(found(&s, "Sunita Paswan"), vec![r.patient]);
    assert_eq!(found(&s, "Suneeta Paswaan"), vec![r.patient], "misspelt");
}

#[test]
fn a_crash_between_the_transactions_loses_no_name() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut seed = 3;
    let r = {
        let mut s = new_store(dir.path(), "A", 1);
        // The durable transaction commits; the process dies before the catch-up.
        let r = durable_only(&mut s, &mut seed, "Mohd Irfan Ansari");
        assert_eq!(pending(&s), 1);
        assert!(!indexed(&s, r.patient), "the keys wait for the catch-up");
        r
    };
    let s = Store::open(dir.path(), &key()).expect("reopen");
    assert_eq!(pending(&s), 0, "the open caught up");
    assert!(indexed(&s, r.patient));
    assert_eq!(found(&s, "Muhammad Irfan Ansari"), vec![r.patient]);
}

#[test]
fn a_search_catches_up_what_another_connection_committed() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut writer = new_store(dir.path(), "A", 1);
    let reader = Store::open(dir.path(), &key()).expect("second connection");
    let mut seed = 4;
    let r = stamped(&mut seed, NOW_MS + 1_000, |st| {
        writer.register_durable_for_bench(&reg("Lakshmi Devi Mandal"), st)
    })
    .expect("commit");
    assert_eq!(pending(&reader), 1);
    assert_eq!(found(&reader, "Lakshmi Mandal"), vec![r.patient]);
    assert_eq!(pending(&writer), 0);
    // Exact lookups never needed the index.
    assert_eq!(
        reader
            .search(&r.temp_id.to_string(), 10)
            .expect("by id")
            .len(),
        1
    );
}

#[test]
fn a_renamed_patient_is_found_by_the_new_name_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = new_store(dir.path(), "A", 1);
    let mut seed = 5;
    let r = stamped(&mut seed, NOW_MS + 1_000, |st| {
        s.register(&reg("Rekha Kumari Yadav"), st)
    })
    .expect("register");
    let name = Name::parse("name", "Rekha Kumari Gupta").expect("name");
    stamped(&mut seed, NOW_MS + 2_000, |st| {
        s.set_fields(r.patient, &[FieldValue::Name(name)], st)
    })
    .expect("rename");
    assert_eq!(pending(&s), 0);
    assert_eq!(found(&s, "Rekha Gupta"), vec![r.patient]);
    assert!(found(&s, "Rekha Yadav").is_empty(), "the old keys are gone");
}

#[test]
fn pulled_ops_are_indexed_and_a_rebuilt_record_keeps_one_entry() {
    let (_dirs, mut a, mut b) = two_stores();
    let mut seed = 6;
    let r = stamped(&mut seed, NOW_MS + 1_000, |st| {
        a.register(&reg("Shabana Khatoon Shaikh"), st)
    })
    .expect("register");
    let ops: Vec<_> = a
        .pending_ops(10)
        .expect("outbox")
        .into_iter()
        .map(|op| (op, None))
        .collect();
    assert_eq!(b.apply_remote(&ops, NOW_MS + 2_000).expect("pull"), 2);
    assert_eq!(pending(&b), 0, "caught up right after the pull");
    assert_eq!(found(&b, "Shabana Shaikh"), vec![r.patient]);

    // A pulled rename.
    let name = Name::parse("name", "Shabana Khatoon Ansari").expect("name");
    stamped(&mut seed, NOW_MS + 3_000, |st| {
        a.set_fields(r.patient, &[FieldValue::Name(name)], st)
    })
    .expect("rename");
    let rename: Vec<_> = a
        .pending_ops(10)
        .expect("outbox")
        .into_iter()
        .skip(2)
        .map(|op| (op, None))
        .collect();
    assert_eq!(rename.len(), 1);
    b.apply_remote(&rename, NOW_MS + 4_000)
        .expect("pull rename");
    assert_eq!(found(&b, "Shabana Ansari"), vec![r.patient]);
    assert!(found(&b, "Shabana Shaikh").is_empty());

    // The hub merges the creation at another time: the record is rebuilt from its ops
    // (deleted and inserted again), and the index follows it.
    let mut again = ops.clone();
    again[0].1 = Some(Hlc(again[0].0.hlc.0 + 1));
    b.apply_remote(&again, NOW_MS + 5_000)
        .expect("effective time");
    assert_eq!(pending(&b), 0);
    assert_eq!(found(&b, "Shabana Ansari"), vec![r.patient]);
    // `n<token>` is each token's own term: one record, one entry.
    let entries: i64 = b
        .connection()
        .query_row(
            "SELECT count(*) FROM patient_fts WHERE patient_fts MATCH 'nshabana'",
            [],
            |r| r.get(0),
        )
        .expect("entries");
    assert_eq!(entries, 1, "index entries for one record");
}

/// One patient committed without the catch-up, then `change` made to the store's file, then
/// the store reopened.
fn reopened_after(
    name: &str,
    seed: u64,
    change: impl FnOnce(&Store, &parchi_store::Registered),
) -> (tempfile::TempDir, Store, PatientId) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut seed = seed;
    let r = {
        let mut s = new_store(dir.path(), "A", 1);
        let r = durable_only(&mut s, &mut seed, name);
        change(&s, &r);
        r
    };
    let s = Store::open(dir.path(), &key()).expect("reopen");
    (dir, s, r.patient)
}

#[test]
fn a_reindex_leaves_nothing_waiting() {
    let (_dir, s, patient) = reopened_after("Geeta Rani Das", 7, |s, _| {
        // An index built by older name keys: the open rebuilds it whole.
        s.connection()
            .execute(
                "UPDATE meta SET value = '0' WHERE key = 'index_version'",
                [],
            )
            .expect("stale");
    });
    assert_eq!(pending(&s), 0);
    assert_eq!(found(&s, "Geeta Das"), vec![patient]);
}

/// A made-up name, different for each `n` (its surname spells `n` in syllables).
fn name_for(n: u64) -> String {
    const SYL: [&str; 10] = ["ka", "ri", "mo", "tu", "la", "pe", "su", "vi", "na", "do"];
    let first = ["Sunita", "Irfan", "Lakshmi", "Geeta", "Rekha", "Shabana"][(n % 6) as usize];
    let mut surname = String::from("Ba");
    let mut k = n;
    loop {
        surname.push_str(SYL[(k % 10) as usize]);
        k /= 10;
        if k == 0 {
            break;
        }
    }
    format!("{first} {surname}")
}

/// Every patient found by their current name, nothing waiting, and one index entry per patient.
fn check(s: &Store, names: &[(PatientId, String)], when: &str) {
    for (id, name) in names {
        assert!(found(s, name).contains(id), "{when}: {name} not found");
    }
    assert_eq!(pending(s), 0, "{when}: the search caught up");
    let count = |sql: &str| -> i64 {
        s.connection()
            .query_row(sql, [], |r| r.get(0))
            .expect("count")
    };
    assert_eq!(
        count("SELECT count(*) FROM patient_fts_docsize"),
        count("SELECT count(*) FROM patients"),
        "{when}: one index entry per patient"
    );
}

#[test]
fn every_patient_keeps_one_entry_through_renames_rebuilds_crashes_and_reopens() {
    // A registers and renames, some writes committing without their catch-up (as a crash
    // between the two transactions leaves them); B pulls A's ops; both are told later
    // effective times for creations (records rebuilt under new rowids); both are reopened.
    let ([a_dir, b_dir], mut a, mut b) = two_stores();
    let mut names: Vec<(PatientId, String)> = Vec::new();
    let (mut seed, mut x, mut now) = (13u64, 0x2545_f491_4f6c_dd1du64, NOW_MS + 1_000);
    let mut rebuilt = 0;
    for step in 0..150u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        now += 1_000;
        let pick = (x >> 8) as usize % names.len().max(1);
        match x % 7 {
            0..=2 => {
                let name = name_for(step);
                let r = if x % 2 == 0 {
                    stamped(&mut seed, now, |st| a.register(&reg(&name), st))
                } else {
                    stamped(&mut seed, now, |st| {
                        a.register_durable_for_bench(&reg(&name), st)
                    })
                }
                .expect("register");
                names.push((r.patient, name));
            }
            3 if !names.is_empty() => {
                let name = name_for(1_000 + step);
                let field = FieldValue::Name(Name::parse("name", &name).expect("name"));
                stamped(&mut seed, now, |st| {
                    a.set_fields(names[pick].0, &[field], st)
                })
                .expect("rename");
                names[pick].1 = name;
            }
            4 => {
                let ops: Vec<_> = a.pending_ops(100_000).expect("outbox");
                let ops: Vec<_> = ops.into_iter().map(|op| (op, None)).collect();
                b.apply_remote(&ops, now).expect("pull");
            }
            5 if !names.is_empty() => {
                // The hub merged this patient's creation at another time: rebuilt in both.
                let creation = a
                    .pending_ops(100_000)
                    .expect("outbox")
                    .into_iter()
                    .find(|op| op.entity() == *names[pick].0.as_bytes())
                    .expect("creation");
                let later = Some(Hlc(creation.hlc.0 + 1 + step));
                a.apply_remote(&[(creation.clone(), later)], now)
                    .expect("rebuild");
                b.apply_remote(&[(creation, later)], now).expect("rebuild");
                rebuilt += 1;
            }
            _ => {
                drop(a);
                a = Store::open(a_dir.path(), &key()).expect("reopen");
            }
        }
        if step % 10 == 9 {
            check(&a, &names, &format!("A after step {step}"));
        }
    }
    assert!(
        rebuilt > 5 && names.len() > 50,
        "the mix covered rebuilds and registrations"
    );
    let ops: Vec<_> = a.pending_ops(100_000).expect("outbox");
    let ops: Vec<_> = ops.into_iter().map(|op| (op, None)).collect();
    b.apply_remote(&ops, now + 1_000).expect("pull");
    drop((a, b));
    let a = Store::open(a_dir.path(), &key()).expect("reopen");
    let b = Store::open(b_dir.path(), &key()).expect("reopen");
    check(&a, &names, "A at the end");
    check(&b, &names, "B at the end");
}

#[test]
fn a_mark_an_earlier_version_left_for_a_new_patient_is_indexed_once() {
    let (_dir, s, patient) = reopened_after("Anjali Kumari Sah", 8, |s, r| {
        // Earlier versions marked every new patient (`indexed` = 0) in the durable transaction.
        s.connection()
            .execute(
                "INSERT INTO fts_pending (rowid, indexed)
                 SELECT rowid, 0 FROM patients WHERE id = ?1",
                [r.patient.as_bytes()],
            )
            .expect("old mark");
        assert_eq!(
            pending(s),
            1,
            "one patient waits, marked and above the mark"
        );
    });
    assert_eq!(pending(&s), 0);
    check(
        &s,
        &[(patient, "Anjali Kumari Sah".into())],
        "after the open",
    );
}
