//! The conformance story: one sequence of events, run against every storage backend, checking
//! the merged state against a `Replica` fed the same ops.

use std::future::Future;

use parchi_core::op::{FieldValue, OpBody};
use parchi_core::patient::{Mobile, Name};
use parchi_core::{CounterCode, Hlc, Op, OpId, Replica};
use parchi_hub::engine::{Item, parse_item};
use parchi_hub::error::HubError;
use parchi_hub::storage::Storage;
use parchi_hub::workload::SiteGen;
use parchi_hub::{Hub, HubConfig, Source, SqliteStorage};
use parchi_sync::wire::{Outcome, PullResponse, PulledOp, Role};

use crate::common::{now_ms, pg_open, pg_url, rt, unique_schema};

fn items(ops: &[Op]) -> Vec<Item> {
    ops.iter()
        .map(|o| parse_item(&serde_json::to_string(o).expect("json"), None))
        .collect()
}

async fn pull_all<S: Storage>(hub: &Hub<S>, page: u32) -> Vec<PulledOp> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let p = hub.pull(None, after, page, now_ms()).await.expect("pull");
        let resp: PullResponse = serde_json::from_str(&p.to_json()).expect("pull json");
        parchi_sync::client::check_page(after, page, &resp).expect("page contract");
        out.extend(resp.ops);
        after = resp.next;
        if !resp.more {
            return out;
        }
    }
}

async fn assert_matches_replica<S: Storage>(hub: &Hub<S>) -> Replica {
    let pulled = pull_all(hub, 97).await;
    let mut r = Replica::new();
    for p in &pulled {
        r.apply(&p.effective_op());
    }
    assert_eq!(
        hub.patients().await.expect("patients"),
        r.patients().collect::<Vec<_>>()
    );
    assert_eq!(
        hub.visits().await.expect("visits"),
        r.visits().collect::<Vec<_>>()
    );
    r
}

fn applied(o: &Outcome) -> bool {
    matches!(o, Outcome::Applied { .. })
}

/// The story. `open` opens the same database again each time it is called.
pub async fn story<S, F, Fut>(open: F)
where
    S: Storage,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let t0 = now_ms() - 3_600_000;
    let hub = Hub::open(open().await, HubConfig::default())
        .await
        .expect("open");
    assert_eq!(hub.head(), 0);

    // Three counters enrol.
    let mut devices = Vec::new();
    let mut gens: Vec<SiteGen> = (0..3).map(|i| SiteGen::new(i, 42, t0)).collect();
    for g in &gens {
        let (code, _) = hub
            .create_enroll_code(Role::Counter, 60_000, now_ms())
            .await
            .expect("code");
        let (dev, token) = hub
            .enroll(&code, g.site, Some(g.counter.clone()), now_ms())
            .await
            .expect("enrol");
        assert_eq!(
            hub.authenticate(&token).expect("auth").device_id,
            dev.device_id
        );
        // A code works once.
        assert!(matches!(
            hub.enroll(&code, g.site, None, now_ms()).await,
            Err(HubError::InvalidEnrollCode)
        ));
        devices.push((dev, token));
    }

    // Each registers offline; everything is pushed in batches, with a duplicated batch.
    let mut all = Vec::new();
    for (i, g) in gens.iter_mut().enumerate() {
        let ops = g.ops(400);
        for chunk in ops.chunks(150) {
            let r = hub
                .push(Source::Device(&devices[i].0), items(chunk), now_ms())
                .await
                .expect("push");
            assert!(
                r.iter().all(|x| applied(&x.outcome)),
                "fresh ops are applied"
            );
        }
        let again = hub
            .push(
                Source::Device(&devices[i].0),
                items(&ops[100..250]),
                now_ms(),
            )
            .await
            .expect("redeliver");
        assert!(again.iter().all(|x| x.outcome == Outcome::Duplicate));
        all.extend(ops);
    }
    assert_eq!(hub.head(), 1_200);
    let counts = hub.counts().await.expect("counts");
    assert_eq!(counts.ops, 1_200);
    let replica = assert_matches_replica(&hub).await;

    // Concurrent corrections of one patient from two counters, 1 ms apart: the later stamp wins
    // at every replica.
    let patient = replica.patients().next().expect("a patient").id;
    let name = |s: &str| FieldValue::Name(Name::parse("name", s).expect("name"));
    let edit = |site: usize, ms: u64, v: FieldValue, n: u8| Op {
        id: OpId::from_bytes([0xE0 + n; 16]),
        hlc: Hlc::new(t0 + 600_000 + ms, 0),
        site: gens[site].site,
        body: OpBody::SetField {
            patient,
            value: v,
            prev: None,
        },
    };
    let late = edit(1, 2, name("Sunita Kumari"), 1);
    let early = edit(0, 1, name("Sunita Devi"), 2);
    hub.push(Source::Device(&devices[1].0), items(&[late]), now_ms())
        .await
        .expect("push");
    hub.push(Source::Device(&devices[0].0), items(&[early]), now_ms())
        .await
        .expect("push");
    let r = assert_matches_replica(&hub).await;
    assert_eq!(
        r.patient(&patient).expect("patient").fields.name.as_str(),
        "Sunita Kumari"
    );

    // A counter may not push another site's op; nothing is stored.
    let before = hub.counts().await.expect("counts");
    let foreign = gens[2].ops(1);
    let err = hub
        .push(Source::Device(&devices[0].0), items(&foreign), now_ms())
        .await
        .expect_err("forged site");
    assert!(matches!(err, HubError::ForbiddenSite { .. }));
    assert_eq!(hub.counts().await.expect("counts"), before);

    // Same op ID, different payload: quarantined (once), never merged, alarm visible.
    let mut clone = all[5].clone();
    clone.body = match clone.body {
        OpBody::CreatePatient {
            patient,
            temp_id,
            counter,
            quick,
            mut fields,
        } => {
            fields.mobile = Mobile::parse("9000000001").ok();
            OpBody::CreatePatient {
                patient,
                temp_id,
                counter,
                quick,
                fields,
            }
        }
        other => OpBody::CancelVisit {
            visit: match &other {
                OpBody::CreateVisit(v) => v.visit,
                _ => parchi_core::VisitId::from_bytes([9; 16]),
            },
            counter: CounterCode::parse("A").expect("counter"),
            reason: "cloned disk".into(),
        },
    };
    let owner = gens
        .iter()
        .position(|g| g.site == clone.site)
        .expect("owner");
    for _ in 0..2 {
        let r = hub
            .push(
                Source::Device(&devices[owner].0),
                items(std::slice::from_ref(&clone)),
                now_ms(),
            )
            .await
            .expect("push");
        assert!(matches!(r[0].outcome, Outcome::Quarantined { .. }));
    }
    let q = hub.quarantined(10).await.expect("quarantine");
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].op_id, clone.id);
    assert_eq!(hub.counts().await.expect("counts").ops, before.ops);
    let sites = hub.sites().await.expect("sites");
    assert_eq!(sites.sites.iter().map(|s| s.quarantined).sum::<u64>(), 1);
    assert_matches_replica(&hub).await;

    // A clock two weeks ahead: clamped to the hub's time, so a later honest edit still wins.
    let now = now_ms();
    let future = Op {
        id: OpId::from_bytes([0xF1; 16]),
        hlc: Hlc::new(now + 14 * 24 * 3_600_000, 0),
        site: gens[2].site,
        body: OpBody::SetField {
            patient,
            value: name("Future Name"),
            prev: None,
        },
    };
    let r = hub
        .push(Source::Device(&devices[2].0), items(&[future]), now)
        .await
        .expect("push");
    match &r[0].outcome {
        Outcome::Applied {
            effective_hlc,
            clock_ahead,
            ..
        } => {
            assert!(*clock_ahead);
            assert_eq!(effective_hlc.wall_ms(), now);
        }
        o => panic!("expected applied, got {o:?}"),
    }
    let honest = Op {
        id: OpId::from_bytes([0xF2; 16]),
        hlc: Hlc::new(now + 1_000, 0),
        site: gens[0].site,
        body: OpBody::SetField {
            patient,
            value: name("Honest Name"),
            prev: None,
        },
    };
    hub.push(Source::Device(&devices[0].0), items(&[honest]), now + 1_000)
        .await
        .expect("push");
    let r = assert_matches_replica(&hub).await;
    assert_eq!(
        r.patient(&patient).expect("patient").fields.name.as_str(),
        "Honest Name"
    );
    let sites = hub.sites().await.expect("sites");
    assert_eq!(sites.sites.iter().map(|s| s.clock_ahead).sum::<u64>(), 1);

    // A cursor beyond the end is refused with a code the client resets on.
    let head = hub.head();
    assert!(matches!(
        hub.pull(None, head + 1, 10, now_ms()).await,
        Err(HubError::CursorAhead { .. })
    ));

    // Revocation.
    hub.revoke(&devices[2].0.device_id, now_ms())
        .await
        .expect("revoke");
    assert!(matches!(
        hub.authenticate(&devices[2].1),
        Err(HubError::Revoked)
    ));
    assert!(matches!(
        hub.authenticate("pt_nonsense"),
        Err(HubError::Unauthorized)
    ));

    // The mirror of the hospital's index: writes, re-writes, pages and lookups.
    let mirror_before = crate::mirror::story(&hub).await;
    assert_eq!(hub.head(), head, "mirror records are not ops");

    // Reopen: the index comes back from storage; redelivery of everything is all duplicates.
    let patients_before = hub.patients().await.expect("patients");
    drop(hub);
    let hub = loop {
        match Hub::open(open().await, HubConfig::default()).await {
            Ok(h) => break h,
            Err(e) => {
                eprintln!("reopen: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    };
    assert_eq!(hub.head(), head);
    assert_eq!(hub.patients().await.expect("patients"), patients_before);
    crate::mirror::story_after_reopen(&hub, &mirror_before).await;
    assert!(matches!(
        hub.authenticate(&devices[2].1),
        Err(HubError::Revoked)
    ));
    for (i, chunk) in all.chunks(400).enumerate() {
        let r = hub
            .push(Source::Device(&devices[i].0), items(chunk), now_ms())
            .await
            .expect("redeliver");
        assert!(r.iter().all(|x| x.outcome == Outcome::Duplicate));
    }
    assert_eq!(hub.head(), head);
    assert_matches_replica(&hub).await;
}

#[test]
fn story_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hub.sqlite3");
    rt().block_on(story(|| {
        let p = path.clone();
        async move { SqliteStorage::open(&p, &crate::common::test_key()).expect("open sqlite") }
    }));
}

#[test]
fn story_postgres() {
    let url = pg_url();
    let schema = unique_schema("story");
    rt().block_on(story(|| {
        let (u, s) = (url.clone(), schema.clone());
        async move { pg_open(&u, &s).await }
    }));
}

#[test]
fn a_second_hub_on_the_same_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hub.sqlite3");
    let _first = SqliteStorage::open(&path, &crate::common::test_key()).expect("first");
    assert!(SqliteStorage::open(&path, &crate::common::test_key()).is_err());
}
