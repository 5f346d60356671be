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
    s.connection()
        .query_row("SELECT count(*) FROM fts_pending", [], |r| r.get(0))
        .expect("pending")
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
        let r = stamped(&mut seed, NOW_MS + 1_000, |st| {
            s.register_durable_for_bench(&reg("Mohd Irfan Ansari"), st)
        })
        .expect("commit");
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
    let (a_dir, b_dir) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let mut a = new_store(a_dir.path(), "A", 1);
    let mut b = new_store(b_dir.path(), "B", 2);
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

#[test]
fn a_reindex_clears_the_marks() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut seed = 7;
    let r = {
        let mut s = new_store(dir.path(), "A", 1);
        let r = stamped(&mut seed, NOW_MS + 1_000, |st| {
            s.register_durable_for_bench(&reg("Geeta Rani Das"), st)
        })
        .expect("commit");
        // An index built by older name keys: the open rebuilds it whole.
        s.connection()
            .execute(
                "UPDATE meta SET value = '0' WHERE key = 'index_version'",
                [],
            )
            .expect("stale");
        r
    };
    let s = Store::open(dir.path(), &key()).expect("reopen");
    assert_eq!(pending(&s), 0);
    assert_eq!(found(&s, "Geeta Das"), vec![r.patient]);
}
