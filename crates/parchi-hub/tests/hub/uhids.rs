//! `assign_uhids` with links and the mirror: who gets a permanent UHID, and which one. Run on
//! a hub of each backend.

use std::collections::HashMap;
use std::future::Future;

use parchi_core::op::OpBody;
use parchi_core::{CentralLink, Hlc, LinkBasis, Op, OpId, PairDecision, PatientId, Uhid};
use parchi_hub::engine::parse_item;
use parchi_hub::storage::Storage;
use parchi_hub::workload::{CentralGen, SiteGen};
use parchi_hub::{Hub, HubConfig, Source, SqliteStorage};
use parchi_sync::wire::{MirrorBatch, Outcome, UhidRange};

use crate::common::{now_ms, pg_open, pg_url, rt, unique_schema};

fn u(s: &str) -> Uhid {
    Uhid::parse(s).expect("uhid")
}

/// A counter registering patients, and the links and merges an admin records about them.
struct Desk {
    sg: SiteGen,
    t: u64,
    n: u32,
}

impl Desk {
    fn new(seed: u64) -> Self {
        let start = now_ms() - 3_600_000;
        Self {
            sg: SiteGen::new(0, seed, start),
            t: start + 1_000_000,
            n: 0,
        }
    }

    /// `k` patients, in registration order.
    fn register(&mut self, k: usize) -> (Vec<Op>, Vec<PatientId>) {
        let mut ops = Vec::new();
        let mut ids = Vec::new();
        while ids.len() < k {
            let op = self.sg.next_op();
            if let OpBody::CreatePatient { patient, .. } = &op.body {
                ids.push(*patient);
                ops.push(op);
            }
        }
        (ops, ids)
    }

    fn op(&mut self, body: OpBody) -> Op {
        self.n += 1;
        self.t += 10;
        let mut id = [0xA5u8; 16];
        id[12..].copy_from_slice(&self.n.to_be_bytes());
        Op {
            id: OpId::from_bytes(id),
            hlc: Hlc::new(self.t, 0),
            site: self.sg.site,
            body,
        }
    }

    fn link(&mut self, patient: PatientId, link: CentralLink) -> Op {
        self.op(OpBody::Link {
            patient,
            link,
            reason: String::new(),
        })
    }

    fn same(&mut self, a: PatientId, b: PatientId) -> Op {
        self.op(OpBody::Decide {
            a,
            b,
            decision: PairDecision::Same,
            reason: String::new(),
        })
    }
}

fn linked(uhid: &str) -> CentralLink {
    CentralLink::Linked {
        uhid: u(uhid),
        basis: LinkBasis::Card,
        update: vec![],
    }
}

async fn push<S: Storage>(hub: &Hub<S>, ops: &[Op]) {
    let items = ops
        .iter()
        .map(|o| parse_item(&serde_json::to_string(o).expect("json"), None))
        .collect();
    let r = hub
        .push(Source::Upstream, items, now_ms())
        .await
        .expect("push");
    assert!(
        r.iter()
            .all(|x| matches!(x.outcome, Outcome::Applied { .. }))
    );
}

async fn uhids_of<S: Storage>(hub: &Hub<S>) -> HashMap<PatientId, Uhid> {
    hub.patients()
        .await
        .expect("patients")
        .into_iter()
        .filter_map(|v| v.uhid.map(|x| (v.id, x)))
        .collect()
}

fn assigned(r: &parchi_hub::engine::UhidReport) -> Vec<(String, String)> {
    r.assigned.clone()
}

/// Without a mirror: everyone without a UHID gets one from the prefix scheme, except persons
/// linked to (or claiming) a hospital record.
async fn without_a_mirror<S: Storage>(hub: Hub<S>) {
    let mut d = Desk::new(31);
    let (mut ops, p) = d.register(5);
    ops.push(d.link(p[1], linked("HOSP00042")));
    ops.push(d.link(
        p[2],
        CentralLink::Claimed {
            uhid: u("HOSP00043"),
        },
    ));
    ops.push(d.link(p[3], CentralLink::New));
    ops.push(d.link(
        p[4],
        CentralLink::NotLinked {
            uhid: u("HOSP00044"),
        },
    ));
    push(&hub, &ops).await;
    let r = hub.assign_uhids("PAR", now_ms()).await.expect("assign");
    let want: Vec<(String, String)> = [(p[0], "PAR000000001"), (p[3], "PAR000000002")]
        .into_iter()
        .chain([(p[4], "PAR000000003")])
        .map(|(id, x)| (id.to_string(), x.to_string()))
        .collect();
    assert_eq!(
        assigned(&r),
        want,
        "registration order, linked and claimed left out"
    );
    assert_eq!((r.skipped_linked, r.skipped_undecided), (2, 0));
    let held = uhids_of(&hub).await;
    assert_eq!(held.len(), 3);
    assert_eq!(held.get(&p[0]), Some(&u("PAR000000001")));
    // Again: nothing new to assign.
    let again = hub.assign_uhids("PAR", now_ms()).await.expect("again");
    assert!(again.assigned.is_empty());
    assert_eq!(again.skipped_linked, 2);
}

/// With a mirror: only persons known to be new are minted, from the blocks first, never a UHID
/// the mirror or a patient holds.
async fn with_a_mirror<S: Storage>(hub: &Hub<S>) {
    // The hospital's index: DHP000000001..=DHP000000005, and a record that is DT0002.
    let mut g = CentralGen::new(4, "DHP");
    let mut recs = g.records(5);
    recs.push(g.record(u("DT0002")));
    hub.mirror_write(MirrorBatch {
        run: "uhid-test-run".into(),
        records: recs,
    })
    .await
    .expect("mirror");
    for (f, t) in [("DT0001", "DT0004"), ("DX10", "DX11")] {
        hub.add_uhid_block(UhidRange {
            from: u(f),
            to: u(t),
        })
        .await
        .expect("block");
    }
    let mut d = Desk::new(32);
    let (mut ops, q) = d.register(11);
    // q0: no link (undecided); q1: new; q2: rejected a proposal (undecided); q3: linked to the
    // hospital's DT0003, a UHID of the first block; q4: new; q5 and q6 one person (q6 new,
    // later than q5's rejection); q7 and q8 one person, linked through q8; q9, q10: new.
    ops.push(d.link(q[1], CentralLink::New));
    ops.push(d.link(
        q[2],
        CentralLink::NotLinked {
            uhid: u("DHP000000003"),
        },
    ));
    ops.push(d.link(q[3], linked("DT0003")));
    ops.push(d.link(q[4], CentralLink::New));
    ops.push(d.link(
        q[5],
        CentralLink::NotLinked {
            uhid: u("DHP000000004"),
        },
    ));
    ops.push(d.link(q[6], CentralLink::New));
    ops.push(d.same(q[5], q[6]));
    ops.push(d.link(q[7], CentralLink::New));
    ops.push(d.link(q[8], linked("DHP000000002")));
    ops.push(d.same(q[8], q[7]));
    ops.push(d.link(q[9], CentralLink::New));
    ops.push(d.link(q[10], CentralLink::New));
    push(hub, &ops).await;

    let r = hub.assign_uhids("DHP", now_ms()).await.expect("assign");
    let got: Vec<(String, String)> = assigned(&r);
    let want: Vec<(String, String)> = [
        (q[1], "DT0001"),
        (q[4], "DT0004"), // DT0002 is in the mirror, DT0003 held by q3's link
        (q[5], "DX10"),   // the person q5 + q6, by its surviving record
        (q[9], "DX11"),
        (q[10], "DHP000000006"), // blocks used up; DHP000000001..5 are the hospital's
    ]
    .into_iter()
    .map(|(id, x)| (id.to_string(), x.to_string()))
    .collect();
    assert_eq!(got, want);
    assert_eq!(r.skipped_linked, 2, "q3, and the person q7 + q8");
    assert_eq!(r.skipped_undecided, 2, "q0 and q2");
    let held = uhids_of(hub).await;
    assert_eq!(held.len(), 5);
    assert!(!held.contains_key(&q[6]), "one UHID per person");
    let blocks = hub.uhid_blocks().await.expect("blocks").blocks;
    assert!(
        blocks.iter().all(|b| b.next.is_none()),
        "both blocks used up"
    );

    // q0 is decided new later: the next run mints for q0 only, after the last one.
    push(hub, &[d.link(q[0], CentralLink::New)]).await;
    let r = hub.assign_uhids("DHP", now_ms()).await.expect("assign");
    assert_eq!(
        assigned(&r),
        [(q[0].to_string(), "DHP000000007".to_string())]
    );
    assert_eq!(r.skipped_undecided, 1);
}

async fn rules<S, F, Fut>(open: F)
where
    S: Storage,
    F: Fn(u8) -> Fut,
    Fut: Future<Output = S>,
{
    without_a_mirror(
        Hub::open(open(0).await, HubConfig::default())
            .await
            .expect("open"),
    )
    .await;
    let hub = Hub::open(open(1).await, HubConfig::default())
        .await
        .expect("open");
    with_a_mirror(&hub).await;
    let held = uhids_of(&hub).await;
    drop(hub);
    // Blocks and assignments survive a reopen; a further run mints nothing twice.
    let hub = loop {
        match Hub::open(open(1).await, HubConfig::default()).await {
            Ok(h) => break h,
            Err(e) => {
                eprintln!("reopen: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    };
    assert_eq!(uhids_of(&hub).await, held);
    assert!(
        hub.uhid_blocks()
            .await
            .expect("blocks")
            .blocks
            .iter()
            .all(|b| b.next.is_none())
    );
    let r = hub.assign_uhids("DHP", now_ms()).await.expect("again");
    assert!(r.assigned.is_empty());
}

#[test]
fn assign_uhids_follows_links_blocks_and_the_mirror_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_path_buf();
    rt().block_on(rules(|i| {
        let p = path.join(format!("hub{i}.sqlite3"));
        async move { SqliteStorage::open(&p, &crate::common::test_key()).expect("open sqlite") }
    }));
}

#[test]
fn assign_uhids_follows_links_blocks_and_the_mirror_postgres() {
    let url = pg_url();
    let schemas = [unique_schema("uhid0"), unique_schema("uhid1")];
    rt().block_on(rules(|i| {
        let (u, s) = (url.clone(), schemas[usize::from(i)].clone());
        async move { pg_open(&u, &s).await }
    }));
}
