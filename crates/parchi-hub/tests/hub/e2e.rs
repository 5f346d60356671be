//! End to end over HTTP: counters with in-memory stores sync through a real hub.

use parchi_core::Replica;
use parchi_hub::workload::SiteGen;
use parchi_sync::wire::Role;
use parchi_sync::{HubClient, MemoryStore, RoundOptions, sync_round};

use crate::common::{Backend, Server, now_ms};

pub struct Counter {
    pub store: MemoryStore,
    pub client: HubClient,
    pub sg: SiteGen,
}

pub fn counters(server: &Server, n: usize, seed: u64) -> Vec<Counter> {
    (0..n)
        .map(|i| {
            let sg = SiteGen::new(i, seed, now_ms() - 3_600_000);
            let (client, _) = server.enroll(Role::Counter, sg.site, Some(sg.counter.as_str()));
            Counter {
                store: MemoryStore::new(sg.site),
                client,
                sg,
            }
        })
        .collect()
}

pub fn round(c: &mut Counter, opts: &RoundOptions) -> parchi_sync::RoundReport {
    sync_round(&mut c.store, &c.client, opts, &mut |_| {}).expect("sync round")
}

pub fn assert_identical(replicas: &[&Replica]) {
    let first = replicas[0];
    for r in &replicas[1..] {
        assert_eq!(
            r.patients().collect::<Vec<_>>(),
            first.patients().collect::<Vec<_>>()
        );
        assert_eq!(
            r.visits().collect::<Vec<_>>(),
            first.visits().collect::<Vec<_>>()
        );
    }
}

/// Issue 4's "done when": three counters register offline, sync through the hub, and end with
/// identical patients, visits and tokens, with no token repeated.
fn three_counters(backend: Backend) {
    let server = Server::start(backend);
    let mut cs = counters(&server, 3, 11);
    for c in cs.iter_mut() {
        for op in c.sg.ops(700) {
            c.store.record(op);
        }
    }
    let opts = RoundOptions {
        push_batch: 250,
        pull_limit: 300,
        ..RoundOptions::default()
    };
    let mut progress = Vec::new();
    for c in cs.iter_mut() {
        let r =
            sync_round(&mut c.store, &c.client, &opts, &mut |p| progress.push(p)).expect("round");
        assert_eq!(r.applied, 700);
        assert_eq!(c.store.outbox_len(), 0);
    }
    assert!(!progress.is_empty());
    for c in cs.iter_mut() {
        let r = round(c, &opts);
        assert_eq!(r.applied + r.duplicates, 0, "nothing left to push");
    }
    let replicas: Vec<&Replica> = cs.iter().map(|c| c.store.replica()).collect();
    assert_identical(&replicas);
    let visits: Vec<_> = replicas[0].visits().collect();
    assert!(visits.len() > 500);
    let mut tokens = std::collections::HashSet::new();
    for v in &visits {
        assert!(
            tokens.insert((
                v.visit.department.clone(),
                v.visit.day,
                v.visit.token.clone()
            )),
            "token repeated"
        );
    }
    // The hub's own merged tables agree.
    assert_eq!(server.stats().ops, 2_100);
    assert_eq!(
        server.stats().patients as usize,
        replicas[0].patients().count()
    );
}

#[test]
fn three_counters_converge_through_a_sqlite_hub() {
    three_counters(Backend::Sqlite);
}

#[test]
fn three_counters_converge_through_a_postgres_hub() {
    three_counters(Backend::Postgres);
}

#[test]
fn admin_sees_every_counters_sync_state() {
    let server = Server::start(Backend::Sqlite);
    let mut cs = counters(&server, 2, 5);
    for op in cs[0].sg.ops(30) {
        cs[0].store.record(op);
    }
    round(&mut cs[0], &RoundOptions::default());
    round(&mut cs[1], &RoundOptions::default());
    let report = server
        .client()
        .admin_sites(crate::common::ADMIN)
        .expect("sites");
    assert_eq!(report.devices.len(), 2);
    let d0 = report
        .devices
        .iter()
        .find(|d| d.site == cs[0].sg.site)
        .expect("device 0");
    assert!(d0.last_push_ms.is_some());
    assert_eq!(d0.last_pull_cursor, Some(0));
    let d1 = report
        .devices
        .iter()
        .find(|d| d.site == cs[1].sg.site)
        .expect("device 1");
    assert!(d1.last_push_ms.is_none());
    let s0 = report
        .sites
        .iter()
        .find(|s| s.site == cs[0].sg.site)
        .expect("site 0");
    assert_eq!(s0.ops, 30);
    // Wrong admin secret.
    assert_eq!(
        server.client().admin_sites("nope").expect_err("401").code(),
        Some(parchi_sync::wire::ErrorCode::Unauthorized)
    );
}
