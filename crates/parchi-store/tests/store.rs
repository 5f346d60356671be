//! The store against real SQLite files.

mod support;

use parchi_core::op::FieldValue;
use parchi_core::{CounterCode, TempId};
use parchi_store::{MatchKind, Stamping, Store, StoreError};

use support::{NOW_MS, Rng, day, key, local, new_store, reg, with_stamping};

#[test]
fn registration_is_durable_and_readable_after_reopen() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut rng = Rng(7);
    let r = {
        let mut s = new_store(dir.path(), "A", 1);
        with_stamping(&mut rng, NOW_MS + 1000, |st| {
            s.register(&reg("Sunita Devi", "9876543210"), st)
        })
        .expect("register")
    };
    let s = Store::open(dir.path(), &key()).expect("reopen");
    let p = s.patient(r.patient).expect("read").expect("present");
    assert_eq!(p.fields.name.as_str(), "Sunita Devi");
    assert_eq!(p.temp_id, r.temp_id);
    assert_eq!(r.token.counter.as_str(), "A");
    let v = s.visit(r.visit).expect("read").expect("visit");
    assert_eq!(v.token, r.token);
    assert_eq!(s.pending_ops(10).expect("outbox").len(), 2);
    assert_eq!(
        s.resolve_patient(&r.temp_id.to_string())
            .expect("by temp id")
            .id,
        r.patient
    );
}

#[test]
fn the_clock_resumes_past_every_local_operation_after_reopen() {
    // A local write leaves the clock's state in its newest operation rather than in `meta`.
    // Reopened with the wall clock a minute back, the next operations are still later.
    let dir = tempfile::tempdir().expect("tmp");
    let mut rng = Rng(11);
    {
        let mut s = new_store(dir.path(), "A", 1);
        for i in 0..3 {
            with_stamping(&mut rng, NOW_MS + 1000 + i, |st| {
                s.register(&reg("Sunita Devi", ""), st)
            })
            .expect("register");
        }
    }
    let mut s = Store::open(dir.path(), &key()).expect("reopen");
    let saved: u64 = s
        .meta("hlc")
        .expect("meta")
        .expect("hlc row")
        .parse()
        .expect("number");
    let before = s.pending_ops(100).expect("ops");
    assert!(
        saved < before[5].hlc.0,
        "the registrations left the meta row alone, so reopening read the operations"
    );
    with_stamping(&mut rng, NOW_MS - 60_000, |st| {
        s.register(&reg("Ravi Kumar", ""), st)
    })
    .expect("register");
    let ops = s.pending_ops(100).expect("ops");
    assert_eq!(ops.len(), 8);
    assert!(
        ops.windows(2).all(|w| w[0].hlc < w[1].hlc),
        "every operation is later than the one before"
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    drop(new_store(dir.path(), "A", 1));
    let conn = rusqlite::Connection::open(dir.path().join(parchi_store::DB_FILE)).expect("open");
    parchi_keys::sqlcipher::key_connection(&conn, &key(), None).expect("key");
    conn.pragma_update(None, "user_version", 99).expect("bump");
    drop(conn);
    assert!(matches!(
        Store::open(dir.path(), &key()),
        Err(StoreError::SchemaTooNew { found: 99, .. })
    ));
}

#[test]
fn a_store_of_the_previous_schema_migrates_and_keeps_its_data() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut rng = Rng(3);
    let r = {
        let mut s = new_store(dir.path(), "A", 1);
        let r = with_stamping(&mut rng, NOW_MS, |st| {
            s.register(&reg("Sunita Devi", ""), st)
        })
        .expect("reg");
        // Back to the schema before published configurations (migration 9), before the index
        // of visits by day was dropped (migration 10) and before the outbox's mark (11).
        s.roll_back_schema_for_tests()
            .expect("the schema of version 8");
        r
    };

    let mut s = Store::open(dir.path(), &key()).expect("open migrates");
    let p = s.patient(r.patient).expect("read").expect("kept");
    assert_eq!(p.fields.name.as_str(), "Sunita Devi");
    assert!(s.published_configs().expect("the new table").is_empty());
    let id = with_stamping(&mut rng, NOW_MS + 1, |st| {
        s.publish_config(day(), serde_json::json!({ "departments": [] }), "", st)
    })
    .expect("publish");
    assert_eq!(s.published_configs().expect("read")[0].config, id);
    let version: u32 = s
        .connection()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("version");
    assert_eq!(version, 11, "every migration ran");
    assert_eq!(
        s.outbox_counts().expect("outbox"),
        (3, 0),
        "the registration's two ops and the publication wait, from the mark the migration set"
    );
    let mut day_index = s
        .connection()
        .prepare("SELECT name FROM sqlite_schema WHERE name = 'visits_day'")
        .expect("schema");
    assert!(
        !day_index.exists([]).expect("schema"),
        "the index by day is gone"
    );
    drop(day_index);
    let today = s.visits_on(day(), None).expect("the day's visits");
    assert_eq!(today.len(), 1, "read through the token index");
    assert_eq!(today[0].patient, r.patient);
}

#[test]
fn garbage_file_is_refused_not_a_panic() {
    // An encrypted file and garbage look alike: the store says the key does not open it (the
    // app, whose key came from an authenticated slot, reports it as corrupt).
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join(parchi_store::DB_FILE), vec![0x42u8; 8192]).expect("write");
    let e = Store::open(dir.path(), &key()).expect_err("must refuse");
    assert_eq!(e.code(), "wrong_key", "{e}");
}

#[test]
fn reinstalled_counter_never_repeats_its_predecessors_numbers() {
    // Counter A issues in the morning; its disk is wiped; it is reinstalled the same day.
    let first = tempfile::tempdir().expect("tmp");
    let morning = NOW_MS - 3 * 3600 * 1000; // 07:30
    let mut rng = Rng(3);
    let mut a = with_stamping(&mut rng, morning, |st| {
        Store::create(
            first.path(),
            &key(),
            CounterCode::parse("A").expect("c"),
            "{}",
            st,
        )
        .expect("create")
    });
    let mut before = Vec::new();
    for i in 0..150 {
        // A clerk registers one patient every 40 seconds.
        let r = with_stamping(&mut rng, morning + 60_000 + i * 40_000, |st| {
            a.register(&reg("Ram Kumar", ""), st)
        })
        .expect("register");
        before.push(r);
    }
    drop(a);
    let second = tempfile::tempdir().expect("tmp"); // the wiped disk
    let mut rng2 = Rng(3); // even the same random seed
    let mut b = with_stamping(&mut rng2, NOW_MS, |st| {
        Store::create(
            second.path(),
            &key(),
            CounterCode::parse("A").expect("c"),
            "{}",
            st,
        )
        .expect("create")
    });
    let after: Vec<_> = (0..150)
        .map(|i| {
            with_stamping(&mut rng2, NOW_MS + 1000 + i, |st| {
                b.register(&reg("Ram Kumar", ""), st)
            })
            .expect("reg")
        })
        .collect();
    let tokens: std::collections::HashSet<_> = before.iter().map(|r| r.token.clone()).collect();
    let temps: std::collections::HashSet<_> = before.iter().map(|r| r.temp_id.clone()).collect();
    for r in &after {
        assert!(!tokens.contains(&r.token), "token {} reissued", r.token);
        assert!(
            !temps.contains(&r.temp_id),
            "temporary ID {} reissued",
            r.temp_id
        );
    }
}

#[test]
fn next_day_sequences_start_at_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = new_store(dir.path(), "B", 5);
    let mut fill = |b: &mut [u8]| b.fill(9);
    let tomorrow = day().succ_opt().expect("day");
    let mut st = Stamping {
        now_ms: NOW_MS + 86_400_000,
        local: local(NOW_MS + 86_400_000),
        random: &mut fill,
    };
    assert_eq!(st.today(), tomorrow);
    let r = s.register(&reg("Ram Kumar", ""), &mut st).expect("reg");
    assert_eq!(r.token.to_string(), "B-001");
    let r2 = s.register(&reg("Ram Kumar", ""), &mut st).expect("reg");
    assert_eq!(r2.token.to_string(), "B-002");
}

#[test]
fn cancel_and_reprint_are_recorded_never_deleted() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = new_store(dir.path(), "A", 1);
    let mut rng = Rng(2);
    let r = with_stamping(&mut rng, NOW_MS + 5, |st| {
        s.register(&reg("Sunita Devi", ""), st)
    })
    .expect("reg");
    assert_eq!(
        with_stamping(&mut rng, NOW_MS + 6, |st| s.record_reprint(r.visit, st)).expect("reprint"),
        1
    );
    with_stamping(&mut rng, NOW_MS + 7, |st| {
        s.cancel_visit(r.visit, "patient left", st)
    })
    .expect("cancel");
    let again = with_stamping(&mut rng, NOW_MS + 8, |st| {
        s.cancel_visit(r.visit, "again", st)
    });
    assert!(matches!(again, Err(StoreError::Invalid(_))));
    let v = s.visit(r.visit).expect("read").expect("still there");
    assert!(v.cancelled);
    assert_eq!(v.reprints, 1);
    let kinds: Vec<&str> = s
        .history(*r.patient.as_bytes())
        .expect("history")
        .iter()
        .map(|h| h.op.body.kind())
        .collect();
    assert_eq!(
        kinds,
        [
            "create_patient",
            "create_visit",
            "record_reprint",
            "cancel_visit"
        ]
    );
    let report = s.day_report(day()).expect("report");
    assert_eq!(
        (
            report.total.registrations,
            report.total.cancellations,
            report.total.fees
        ),
        (1, 1, 0)
    );
}

#[test]
fn corrections_win_by_clock_not_by_value() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = new_store(dir.path(), "A", 1);
    let mut rng = Rng(4);
    let r = with_stamping(&mut rng, NOW_MS + 5, |st| {
        s.register(&reg("Zubair Khan", ""), st)
    })
    .expect("reg");
    // A later correction to a value that sorts lower still wins.
    let name = parchi_core::patient::Name::parse("name", "Anwar Khan").expect("name");
    with_stamping(&mut rng, NOW_MS + 10, |st| {
        s.set_fields(r.patient, &[FieldValue::Name(name)], st)
    })
    .expect("edit");
    let p = s.patient(r.patient).expect("read").expect("p");
    assert_eq!(p.fields.name.as_str(), "Anwar Khan");
    let hits = s.search("Anwar", 5).expect("search");
    assert_eq!(hits.first().map(|h| h.patient.id), Some(r.patient));
    assert!(
        s.search("Zubair", 5).expect("search").is_empty(),
        "old name must leave the index"
    );
}

#[test]
fn search_finds_by_mobile_ids_and_misspelt_names() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = new_store(dir.path(), "A", 1);
    let mut rng = Rng(11);
    let names = [
        "Sunita Devi",
        "Sunita Kumari",
        "Ramesh Yadav",
        "Mohd Irfan",
        "Lakshmi Narayan",
        "Vijay Kumar Singh",
    ];
    let mut regs = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let mobile = format!("98765432{i:02}");
        regs.push(
            with_stamping(&mut rng, NOW_MS + i as u64, |st| {
                s.register(&reg(n, &mobile), st)
            })
            .expect("reg"),
        );
    }
    let first = |q: &str| {
        s.search(q, 3)
            .expect("search")
            .first()
            .map(|h| (h.patient.id, h.matched))
    };
    assert_eq!(
        first("+91 98765 43203"),
        Some((regs[3].patient, MatchKind::Mobile))
    );
    assert_eq!(
        first(&regs[4].temp_id.to_string()),
        Some((regs[4].patient, MatchKind::TempId))
    );
    assert_eq!(
        first(&regs[4].temp_id.as_str().to_lowercase()),
        Some((regs[4].patient, MatchKind::TempId))
    );
    assert_eq!(
        first("Suneeta Devi"),
        Some((regs[0].patient, MatchKind::Name))
    );
    assert_eq!(
        first("Mohammad Irfan"),
        Some((regs[3].patient, MatchKind::Name))
    );
    assert_eq!(first("Laxmi"), Some((regs[4].patient, MatchKind::Name)));
    assert_eq!(
        first("Bijay Kr Singh"),
        Some((regs[5].patient, MatchKind::Name))
    );
    assert_eq!(
        first("Rmesh Yadv"),
        Some((regs[2].patient, MatchKind::Name))
    );
    // Typing a mobile number: prefix matches appear before it is complete.
    assert_eq!(s.search("987654", 10).expect("prefix").len(), names.len());
    assert!(s.search(&"x".repeat(500), 3).is_err());
}

#[test]
fn temp_ids_from_the_store_parse_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = new_store(dir.path(), "C12", 1);
    let mut rng = Rng(1);
    let r = with_stamping(&mut rng, NOW_MS, |st| s.register(&reg("Asha", ""), st)).expect("reg");
    assert!(r.temp_id.to_string().len() <= 16);
    assert_eq!(TempId::parse(&r.temp_id.to_string()), Ok(r.temp_id.clone()));
    assert_eq!(r.temp_id.day(), Some(day()));
}

#[test]
fn a_full_disk_is_reported_and_the_registration_is_not_half_written() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = new_store(dir.path(), "A", 1);
    let mut rng = Rng(5);
    with_stamping(&mut rng, NOW_MS, |st| s.register(&reg("Asha Devi", ""), st)).expect("reg");
    let before = s.counts().expect("counts");
    // SQLite's own "database or disk is full": cap the file at its current size.
    let pages: i64 = s
        .connection()
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .expect("pages");
    s.connection()
        .pragma_update(None, "max_page_count", pages)
        .expect("cap");
    let mut failed = None;
    for i in 0..200 {
        if let Err(e) = with_stamping(&mut rng, NOW_MS + i, |st| {
            s.register(&reg("Bina Kumari Sharma", "9876543210"), st)
        }) {
            failed = Some(e);
            break;
        }
    }
    let e = failed.expect("the capped database fills up");
    assert_eq!(e.code(), "disk_full", "{e}");
    assert!(e.to_string().contains("nothing was saved"), "{e}");
    // Every registration that returned Ok is whole; the failed one left nothing behind.
    let (p, v) = s.counts().expect("counts");
    assert_eq!(
        p, v,
        "a patient without its visit (or the reverse) was written"
    );
    assert!(p >= before.0);
    let orphans: i64 = s
        .connection()
        .query_row("SELECT COUNT(*) FROM ops o WHERE o.kind = 'create_patient' AND o.entity NOT IN (SELECT id FROM patients)", [], |r| r.get(0))
        .expect("orphans");
    assert_eq!(orphans, 0);
}

#[test]
fn a_read_only_database_is_reported_not_a_panic() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = new_store(dir.path(), "A", 1);
    s.connection()
        .pragma_update(None, "query_only", true)
        .expect("read-only");
    let mut rng = Rng(6);
    let e = with_stamping(&mut rng, NOW_MS, |st| s.register(&reg("Asha Devi", ""), st))
        .expect_err("read-only");
    assert_eq!(e.code(), "read_only", "{e}");
    assert_eq!(s.counts().expect("counts"), (0, 0));
}

#[test]
fn the_sync_counts_follow_each_op() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut rng = Rng(11);
    let mut s = new_store(dir.path(), "A", 1);
    for (i, m) in ["9876543210", "9876543211", "9876543212"]
        .iter()
        .enumerate()
    {
        with_stamping(&mut rng, NOW_MS + 1000 * (i as u64 + 1), |st| {
            s.register(&reg("Sunita Devi", m), st)
        })
        .expect("register");
    }
    assert_eq!(s.outbox_counts().expect("counts"), (6, 0));
    let ops = s.pending_ops(10).expect("outbox");
    s.mark_pushed(&[ops[0].id, ops[1].id]).expect("pushed");
    s.mark_rejected(ops[2].id, "refused").expect("rejected");
    assert_eq!(s.outbox_counts().expect("counts"), (3, 1));
    assert_eq!(s.retry_rejected().expect("retry"), 1);
    assert_eq!(s.outbox_counts().expect("counts"), (4, 0));

    // Pushed past the retried one: the queue still starts at it, oldest first.
    let retried = ops[2].id;
    s.mark_pushed(&[ops[3].id]).expect("pushed");
    let waiting: Vec<_> = s
        .pending_ops(10)
        .expect("outbox")
        .iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(waiting, [retried, ops[4].id, ops[5].id]);
    s.mark_pushed(&waiting).expect("pushed");
    assert_eq!(s.outbox_counts().expect("counts"), (0, 0));
    with_stamping(&mut rng, NOW_MS + 60_000, |st| {
        s.register(&reg("Ravi Kumar", ""), st)
    })
    .expect("register");
    assert_eq!(
        s.outbox_counts().expect("counts"),
        (2, 0),
        "new ops above the mark"
    );
}

#[test]
fn the_page_cache_can_be_capped_per_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = new_store(dir.path(), "A", 7);
    assert_eq!(
        store.cache_kib().expect("cache"),
        parchi_store::DEFAULT_CACHE_KIB
    );
    store.set_cache_kib(2_048).expect("set");
    assert_eq!(store.cache_kib().expect("cache"), 2_048);
    // A cap too small to be useful is raised to the floor rather than disabling the cache.
    store.set_cache_kib(0).expect("set");
    assert_eq!(store.cache_kib().expect("cache"), 64);
    // Another connection to the same file keeps its own (default) cache.
    let other = Store::open(dir.path(), &key()).expect("open");
    assert_eq!(
        other.cache_kib().expect("cache"),
        parchi_store::DEFAULT_CACHE_KIB
    );
}

#[test]
fn a_days_visits_are_every_departments_in_issue_order_and_that_day_only() {
    let (a_dir, b_dir) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let mut a = new_store(a_dir.path(), "A", 1);
    let mut b = new_store(b_dir.path(), "B", 2);
    let mut rng = Rng(9);
    let mut today = Vec::new();
    for (i, dept) in ["SUR", "MED", "PED", "ENT", "MED", "SUR"]
        .into_iter()
        .enumerate()
    {
        let mut r = reg(
            &format!("Patient {}", ["Asha", "Bina", "Chitra"][i % 3]),
            "",
        );
        r.visit.department = parchi_core::DeptCode::parse(dept).expect("dept");
        let at = NOW_MS + 1_000 * i as u64;
        let store = if i % 2 == 0 { &mut a } else { &mut b };
        let v = with_stamping(&mut rng, at, |st| store.register(&r, st)).expect("today");
        today.push(v.visit);
        // The next day's visits are not this day's.
        with_stamping(&mut rng, at + 86_400_000, |st| store.register(&r, st)).expect("tomorrow");
    }
    let ops: Vec<_> = b
        .pending_ops(100)
        .expect("outbox")
        .into_iter()
        .map(|op| (op, None))
        .collect();
    a.apply_remote(&ops, NOW_MS + 10_000).expect("pull");

    let ids = |counter: Option<&str>| -> Vec<_> {
        a.visits_on(day(), counter)
            .expect("visits")
            .into_iter()
            .map(|v| v.id)
            .collect()
    };
    assert_eq!(ids(None), today, "every department's, in issue order");
    let b_only: Vec<_> = today.iter().copied().skip(1).step_by(2).collect();
    assert_eq!(ids(Some("B")), b_only);
    let report = a.day_report(day()).expect("report");
    assert_eq!(report.total.registrations, 6);
    let by_dept: Vec<(&str, u32)> = report
        .by_department
        .iter()
        .map(|r| (r.key.as_str(), r.registrations))
        .collect();
    assert_eq!(by_dept, [("ENT", 1), ("MED", 2), ("PED", 1), ("SUR", 2)]);
}
