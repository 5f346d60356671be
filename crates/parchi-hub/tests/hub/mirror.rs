//! The mirror of the hospital's patient index: import and re-import through the admin API,
//! duplicates within a run, pages across boundaries with an import landing between them, the
//! `seen_since` filter, and hostile input. Every case runs on SQLite and on PostgreSQL.

use std::collections::HashMap;

use parchi_core::{CentralPatient, Uhid};
use parchi_hub::storage::Storage;
use parchi_hub::workload::CentralGen;
use parchi_hub::{Hub, HubConfig};
use parchi_sync::wire::{
    ErrorCode, MirrorBatch, MirrorBatchResult, MirrorDone, MirrorPage, MirrorStatus, Role,
};
use parchi_sync::{ClientError, HubClient, MemoryStore, RoundOptions, SyncStore, sync_round};

use crate::common::{ADMIN, Backend, Server, site, unique_schema};

pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

fn batch(run: &str, records: &[CentralPatient]) -> MirrorBatch {
    MirrorBatch {
        run: run.into(),
        records: records.to_vec(),
    }
}

pub fn import(admin: &HubClient, run: &str, records: &[CentralPatient]) -> MirrorBatchResult {
    admin
        .admin_mirror_batch(ADMIN, &batch(run, records))
        .expect("mirror batch")
}

pub fn code_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> (u16, ErrorCode, String) {
    match r.expect_err("must be refused") {
        ClientError::Hub {
            status,
            code,
            message,
        } => (status, code, message),
        e => panic!("expected a JSON error from the hub, got {e}"),
    }
}

/// Pulls mirror pages after `after` until the hub says no more: the pages, and the cursor.
fn pull_pages(c: &HubClient, mut after: u64, limit: u32) -> (Vec<MirrorPage>, u64) {
    let mut pages = Vec::new();
    loop {
        let p = c.pull_mirror(after, limit, None).expect("mirror page");
        assert!(p.records.len() <= limit as usize, "page size");
        after = p.next;
        let more = p.more;
        pages.push(p);
        if !more {
            return (pages, after);
        }
        assert!(pages.len() < 10_000, "endless paging");
    }
}

/// Everything the hub's mirror holds, by UHID (a fresh pull from 0).
fn everything(c: &HubClient) -> HashMap<Uhid, CentralPatient> {
    let (pages, _) = pull_pages(c, 0, 10_000);
    pages
        .into_iter()
        .flat_map(|p| p.records)
        .map(|r| (r.uhid.clone(), r))
        .collect()
}

fn changed(g: &mut CentralGen, r: &CentralPatient) -> CentralPatient {
    loop {
        let c = g.record(r.uhid.clone());
        if c != *r {
            return c;
        }
    }
}

fn import_reimport_and_duplicates(backend: Backend) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let schema = (backend == Backend::Postgres).then(|| unique_schema("mirror"));
    let server = Server::start_in(tmp.path(), backend, schema.clone(), HubConfig::default());
    let admin = server.client();
    let mut g = CentralGen::new(11, "DHP");
    let recs = g.records(30);

    // A first run in two batches; the second batch repeats five UHIDs the run already wrote.
    let r = import(&admin, "run-aaaa-0001", &recs[..20]);
    assert_eq!((r.inserted, r.updated, r.unchanged, r.head), (20, 0, 0, 20));
    assert!(r.duplicates.is_empty());
    let r = import(&admin, "run-aaaa-0001", &recs[15..30]);
    assert_eq!((r.inserted, r.updated, r.unchanged), (10, 0, 0));
    assert_eq!(r.duplicates, [0, 1, 2, 3, 4], "the UHIDs of recs 15..20");
    assert_eq!(r.head, 30);

    // A second run: one unchanged, one changed, the changed one listed again and the unchanged
    // one again (duplicates at 3 and 4: the first copies stay), one new.
    let new1 = changed(&mut g, &recs[1]);
    let new1_again = changed(&mut g, &new1);
    let fresh = CentralGen::new(99, "NEW").records(1);
    let second = [
        recs[0].clone(),
        new1.clone(),
        recs[2].clone(),
        new1_again,
        recs[0].clone(),
        fresh[0].clone(),
    ];
    let r = import(&admin, "run-bbbb-0002", &second);
    assert_eq!(
        (r.inserted, r.updated, r.unchanged, r.head),
        (1, 1, 2, 32),
        "only the changed and the new copy get seqs"
    );
    assert_eq!(r.duplicates, [3, 4]);
    // The same run again, in a later batch: recs[2] it already wrote; recs[5] it had not.
    let r = import(&admin, "run-bbbb-0002", &[recs[2].clone(), recs[5].clone()]);
    assert_eq!((r.inserted, r.updated, r.unchanged), (0, 0, 1));
    assert_eq!(r.duplicates, [0]);
    assert_eq!(r.head, 32);

    let status = admin.admin_mirror_status(ADMIN).expect("status");
    assert_eq!(
        status,
        MirrorStatus {
            records: 31,
            head: 32,
            as_of: None,
            fhir_since: None
        }
    );
    let done = |as_of: &str, fhir: Option<&str>| {
        admin
            .admin_mirror_done(
                ADMIN,
                &MirrorDone {
                    run: "run-bbbb-0002".into(),
                    as_of: as_of.into(),
                    fhir_since: fhir.map(str::to_string),
                },
            )
            .expect("done")
    };
    let s = done("2026-05-01T06:00:00+05:30", Some("2026-04-30T23:59:59Z"));
    assert_eq!(s.as_of.as_deref(), Some("2026-05-01T06:00:00+05:30"));
    assert_eq!(s.fhir_since.as_deref(), Some("2026-04-30T23:59:59Z"));
    // A later run without a FHIR watermark keeps the one stored.
    let s = done("2026-05-02T06:00:00+05:30", None);
    assert_eq!(s.fhir_since.as_deref(), Some("2026-04-30T23:59:59Z"));

    // A counter sees the newest copy of each record, and the date of the copy.
    let (reader, _) = server.enroll(Role::Counter, site(4), Some("B"));
    let all = everything(&reader);
    assert_eq!(all.len(), 31);
    assert_eq!(
        all.get(&recs[1].uhid),
        Some(&new1),
        "the changed copy replaced the first"
    );
    assert_eq!(
        all.get(&recs[17].uhid),
        Some(&recs[17]),
        "the first copy stayed"
    );
    let page = reader.pull_mirror(0, 5, None).expect("page");
    assert_eq!(page.as_of.as_deref(), Some("2026-05-02T06:00:00+05:30"));

    // After a restart the mirror, its head and its dates are still there.
    server.stop();
    let server = Server::start_again(tmp.path(), backend, schema);
    let after = server.client().admin_mirror_status(ADMIN).expect("status");
    assert_eq!(
        (after.records, after.head, after.as_of.as_deref()),
        (31, 32, Some("2026-05-02T06:00:00+05:30"))
    );
    let (reader, _) = server.enroll(Role::Counter, site(5), Some("C"));
    assert_eq!(everything(&reader), all);
    // And seqs keep rising past the old head.
    let r = import(
        &server.client(),
        "run-cccc-0003",
        &[changed(&mut g, &recs[3])],
    );
    assert_eq!((r.updated, r.head), (1, 33));
}

#[test]
fn import_reimport_and_duplicates_report_what_changed_sqlite() {
    import_reimport_and_duplicates(Backend::Sqlite);
}

#[test]
fn import_reimport_and_duplicates_report_what_changed_postgres() {
    import_reimport_and_duplicates(Backend::Postgres);
}

/// Page limits against a mirror of 20: 1, 2, 3, 7 and exactly the head.
const LIMITS: [u32; 5] = [1, 2, 3, 7, 20];

#[test]
fn mirror_pages_are_exact_across_boundaries_with_an_import_between_pages() {
    for backend in BACKENDS {
        for limit in LIMITS {
            let case = format!("{backend:?}, limit {limit}");
            let server = Server::start(backend);
            let admin = server.client();
            let mut g = CentralGen::new(7, "DHP");
            let a = g.records(20); // seqs 1..=20, a[i] at seq i + 1
            import(&admin, "run-aaaa-0001", &a);
            let (reader, _) = server.enroll(Role::Counter, site(2), Some("B"));

            // Two pages, then an import lands, then the counter pulls on to the end.
            let mut pages = Vec::new();
            let mut after = 0;
            for _ in 0..2 {
                let p = reader.pull_mirror(after, limit, None).expect("page");
                after = p.next;
                let more = p.more;
                pages.push(p);
                if !more {
                    break;
                }
            }
            let phase1 = pages.len();
            let cursor = after;
            assert_eq!(cursor, u64::from((2 * limit).min(20)), "{case}: cursor");
            let a0 = changed(&mut g, &a[0]); // already pulled
            let a15 = changed(&mut g, &a[15]); // not yet pulled, unless the page held all
            let news = CentralGen::new(8, "NEW").records(3);
            let mut b = vec![a0.clone(), a[1].clone(), a15.clone(), a[16].clone()];
            b.extend(news.iter().cloned());
            let r = import(&admin, "run-bbbb-0002", &b);
            assert_eq!((r.updated, r.unchanged, r.inserted, r.head), (2, 2, 3, 25));
            let (more_pages, end) = pull_pages(&reader, cursor, limit);
            assert_eq!(end, 25, "{case}: the cursor ends at the head");

            // Seqs above the cursor once the import landed: the first run's not yet read, less
            // a[15] if it moved from there, plus the five the import wrote.
            let moved = u64::from(16 > cursor);
            let n2 = (20 - cursor) - moved + 5;
            assert_eq!(
                more_pages.len() as u64,
                n2 / u64::from(limit) + 1,
                "{case}: pages after the import (a full page says more, an empty one ends)"
            );
            for p in pages.iter().chain(&more_pages) {
                assert!(p.records.len() <= limit as usize, "{case}");
                assert_eq!(p.more, p.records.len() == limit as usize, "{case}: more");
            }
            pages.extend(more_pages);
            assert_eq!(pages.len(), phase1 + (n2 / u64::from(limit) + 1) as usize);

            // Nothing skipped, nothing repeated but a changed record pulled before it changed.
            let pulled: Vec<&CentralPatient> = pages.iter().flat_map(|p| &p.records).collect();
            let mut times: HashMap<&Uhid, usize> = HashMap::new();
            let mut last: HashMap<Uhid, CentralPatient> = HashMap::new();
            for r in &pulled {
                *times.entry(&r.uhid).or_default() += 1;
                last.insert(r.uhid.clone(), (*r).clone());
            }
            assert_eq!(
                last,
                everything(&reader),
                "{case}: the counter holds the hub's mirror"
            );
            assert_eq!(times[&a[0].uhid], 2, "{case}: old copy, then the new one");
            assert_eq!(
                times[&a[15].uhid],
                1 + usize::from(moved == 0),
                "{case}: a[15]"
            );
            for (u, n) in &times {
                if **u != a[0].uhid && **u != a[15].uhid {
                    assert_eq!(*n, 1, "{case}: {u} once");
                }
            }
            assert_eq!(pulled.len(), 23 + 1 + usize::from(moved == 0), "{case}");
            // At the end: an empty page, the same cursor, no more.
            let p = reader.pull_mirror(end, limit, None).expect("end");
            assert!(p.records.is_empty() && !p.more && p.next == end, "{case}");
            server.stop();
        }
    }
}

fn with_seen(mut r: CentralPatient, seen: Option<&str>) -> CentralPatient {
    r.seen = seen.and_then(|s| s.parse().ok());
    r
}

#[test]
fn seen_since_keeps_recent_patients_and_the_cursor_moves_past_the_rest() {
    for backend in BACKENDS {
        let server = Server::start(backend);
        let admin = server.client();
        let mut g = CentralGen::new(3, "DHP");
        // Seqs 1-4 seen long ago; then recent, old, recent, …; the last one has no date.
        let mut recs: Vec<CentralPatient> = (0..4)
            .map(|_| with_seen(g.next_record(), Some("2014-06-01")))
            .collect();
        for i in 0..11 {
            let seen = if i % 2 == 0 {
                "2024-06-01"
            } else {
                "2018-12-31"
            };
            recs.push(with_seen(g.next_record(), Some(seen)));
        }
        recs.push(with_seen(g.next_record(), None));
        import(&admin, "run-seen-0001", &recs);
        let (reader, _) = server.enroll(Role::Counter, site(2), Some("B"));
        let since = "2019-01-01".parse().ok();
        let first = reader.pull_mirror(0, 4, since).expect("page");
        assert!(first.records.is_empty(), "{backend:?}: every record old");
        assert!(
            first.more && first.next == 4,
            "{backend:?}: but the cursor moved"
        );
        let mut after = first.next;
        let mut kept = Vec::new();
        loop {
            let p = reader.pull_mirror(after, 4, since).expect("page");
            kept.extend(p.records);
            after = p.next;
            if !p.more {
                break;
            }
        }
        assert_eq!(after, 16);
        let want: Vec<&Uhid> = recs
            .iter()
            .filter(|r| r.seen.is_none_or(|d| Some(d) >= since))
            .map(|r| &r.uhid)
            .collect();
        assert_eq!(want.len(), 7, "six recent and one undated");
        assert_eq!(kept.iter().map(|r| &r.uhid).collect::<Vec<_>>(), want);

        // The same through a sync round into a counter that keeps recent patients only.
        let mut store = MemoryStore::new(site(2));
        store.mirror_seen_since = since;
        let opts = RoundOptions {
            mirror_limit: 3,
            ..RoundOptions::default()
        };
        let r = sync_round(&mut store, &reader, &opts, &mut |_| {}).expect("round");
        assert_eq!((r.mirror_pulled, r.mirror_cursor), (7, 16));
        assert_eq!(store.mirror_cursor().expect("cursor"), 16);
        assert_eq!(store.mirror().keys().collect::<Vec<_>>(), want);
        server.stop();
    }
}

/// The mirror part of the conformance story, run on a hub of either backend: writes, re-writes,
/// pages and lookups behave alike, and [`story_after_reopen`] finds it all again.
pub async fn story<S: Storage>(hub: &Hub<S>) -> MirrorStatus {
    let mut g = CentralGen::new(21, "STY");
    let recs = g.records(50);
    let b = |run: &str, r: &[CentralPatient]| batch(run, r);
    let r = hub
        .mirror_write(b("story-run-1", &recs))
        .await
        .expect("write");
    assert_eq!((r.inserted, r.head), (50, 50));
    let c10 = changed(&mut g, &recs[10]);
    let r = hub
        .mirror_write(b("story-run-2", &[recs[9].clone(), c10.clone()]))
        .await
        .expect("rewrite");
    assert_eq!((r.updated, r.unchanged, r.head), (1, 1, 51));
    assert_eq!(
        hub.mirror_get(&recs[10].uhid).await.expect("get"),
        Some(c10)
    );
    let missing = Uhid::parse("STY999999999").expect("uhid");
    assert_eq!(hub.mirror_get(&missing).await.expect("get"), None);
    let p = hub.mirror_page(45, 10, None).await.expect("page");
    assert_eq!(
        (p.records().count(), p.next, p.more, p.head),
        (6, 51, false, 51),
        "seqs 46..=50, and 51 (the changed copy of recs[10])"
    );
    let parsed: MirrorPage = serde_json::from_str(&p.to_json()).expect("page JSON");
    assert_eq!(parsed.records.len(), 6);
    assert_eq!(parsed.records.last().map(|r| &r.uhid), Some(&recs[10].uhid));
    assert!(matches!(
        hub.mirror_page(52, 10, None).await,
        Err(parchi_hub::HubError::MirrorCursorAhead { .. })
    ));
    let s = hub.mirror_status().expect("status");
    assert_eq!((s.records, s.head), (50, 51));
    s
}

/// After a reopen: the same status, and the pages read the same.
pub async fn story_after_reopen<S: Storage>(hub: &Hub<S>, before: &MirrorStatus) {
    assert_eq!(&hub.mirror_status().expect("status"), before);
    let p = hub.mirror_page(0, 10_000, None).await.expect("page");
    assert_eq!(p.records().count(), 50);
    assert_eq!(p.next, 51);
}
