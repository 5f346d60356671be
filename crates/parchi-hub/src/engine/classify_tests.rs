//! The classifier's rules, without a database: what is held is a plain index built here.

use super::*;
use crate::engine::{Rejection, prepare_item};
use crate::storage::DeviceRow;
use crate::workload::SiteGen;

const NOW: u64 = 1_800_000_000_000;
const DRIFT: u64 = 300_000;

fn device(site: SiteId, role: Role) -> DeviceRow {
    DeviceRow {
        device_id: "dev_test".into(),
        token_hash: [0; 32],
        site,
        counter: None,
        role,
        enrolled_ms: 0,
        revoked_ms: None,
        last_push_ms: None,
        last_pull_ms: None,
        last_pull_cursor: None,
    }
}

fn ops(n: usize, start_ms: u64) -> (SiteId, Vec<Op>) {
    let mut sg = SiteGen::new(0, 7, start_ms);
    (sg.site, sg.ops(n))
}

fn item(op: &Op) -> Item {
    prepare_item(op.clone(), None)
}

fn item_eff(op: &Op, eff: Hlc) -> Item {
    prepare_item(op.clone(), Some(eff))
}

/// The same op ID with another payload.
fn diverging(op: &Op) -> Op {
    let mut o = op.clone();
    o.hlc = Hlc(o.hlc.0 + 1);
    o
}

fn hash_of(op: &Op) -> u128 {
    match item(op) {
        Ok(p) => p.hash,
        Err(r) => panic!("test op invalid: {}", r.reason),
    }
}

struct Memory {
    index: OpIndex,
    quarantine: HashSet<(OpId, u128)>,
    head: u64,
}

impl Memory {
    fn new(head: u64) -> Self {
        Self {
            index: OpIndex::default(),
            quarantine: HashSet::new(),
            head,
        }
    }
    fn held(&self) -> Held<'_> {
        Held {
            index: &self.index,
            quarantine_keys: &self.quarantine,
            head: self.head,
        }
    }
}

fn run(mem: &Memory, items: Vec<Item>, source: Source<'_>) -> Classified {
    classify(
        mem.held(),
        items,
        Context {
            source,
            now_ms: NOW,
            max_drift_ms: DRIFT,
        },
    )
}

fn statuses(c: &Classified) -> Vec<&'static str> {
    c.results
        .iter()
        .map(|r| match r.outcome {
            Outcome::Applied { .. } => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Quarantined { .. } => "quarantined",
            Outcome::Rejected { .. } => "rejected",
        })
        .collect()
}

fn reject_code(c: &Classified, i: usize) -> Option<RejectCode> {
    match &c.results[i].outcome {
        Outcome::Rejected { code, .. } => Some(*code),
        _ => None,
    }
}

#[test]
fn new_ops_take_consecutive_seqs_after_the_head() {
    let (site, ops) = ops(3, NOW - 60_000);
    let dev = device(site, Role::Counter);
    let c = run(
        &Memory::new(41),
        ops.iter().map(item).collect(),
        Source::Device(&dev),
    );
    assert_eq!(statuses(&c), ["applied"; 3]);
    let seqs: Vec<u64> = c.ops.iter().map(|o| o.seq).collect();
    assert_eq!(seqs, [42, 43, 44]);
    assert_eq!(c.merge.iter().map(|m| m.0).collect::<Vec<_>>(), seqs);
    assert!(c.ops.iter().all(|o| o.flags == 0 && o.eff_hlc == o.hlc));
    assert!(c.ops.iter().all(|o| o.received_ms == NOW));
    assert_eq!(
        c.sites,
        [(
            site,
            SiteDelta {
                ops: 3,
                clock_ahead: 0,
                quarantined: 0
            }
        )]
    );
    assert!(c.quarantine.is_empty());
}

#[test]
fn held_ids_are_duplicates_or_quarantined_once() {
    let (site, ops) = ops(3, NOW - 60_000);
    let dev = device(site, Role::Counter);
    let mut mem = Memory::new(10);
    for op in &ops {
        mem.index.insert(op.id, hash_of(op));
    }
    // Already stored aside: quarantined again, but not stored twice.
    mem.quarantine
        .insert((ops[2].id, hash_of(&diverging(&ops[2]))));
    let items = vec![
        item(&ops[0]),
        item(&diverging(&ops[1])),
        item(&diverging(&ops[1])),
        item(&diverging(&ops[2])),
    ];
    let c = run(&mem, items, Source::Device(&dev));
    assert_eq!(
        statuses(&c),
        ["duplicate", "quarantined", "quarantined", "quarantined"]
    );
    assert!(c.ops.is_empty() && c.merge.is_empty(), "nothing new stored");
    assert_eq!(c.quarantine.len(), 1, "one diverging pair, stored once");
    assert_eq!(c.quarantine[0].op_id, ops[1].id);
    assert_eq!(c.quarantine[0].device_id, "dev_test");
    assert_eq!(c.sites[0].1.quarantined, 1);
    assert_eq!(c.sites[0].1.ops, 0);
}

#[test]
fn an_id_twice_in_one_push_is_judged_against_its_first_copy() {
    let (site, ops) = ops(2, NOW - 60_000);
    let dev = device(site, Role::Counter);
    let items = vec![
        item(&ops[0]),
        item(&ops[0]),
        item(&diverging(&ops[0])),
        item(&ops[1]),
    ];
    let c = run(&Memory::new(0), items, Source::Device(&dev));
    assert_eq!(
        statuses(&c),
        ["applied", "duplicate", "quarantined", "applied"]
    );
    assert_eq!(c.ops.iter().map(|o| o.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(c.quarantine.len(), 1);
}

#[test]
fn an_op_too_far_ahead_is_clamped_to_the_hubs_receive_time() {
    // A generated op's wall clock is 1 to 3 ms after its start.
    let (site, ahead) = ops(1, NOW + DRIFT);
    let at_bound = SiteGen::new(1, 8, NOW + DRIFT - 3).ops(1);
    let dev = device(site, Role::Counter);
    let c = run(
        &Memory::new(0),
        vec![item(&ahead[0]), item(&at_bound[0])],
        Source::Device(&dev),
    );
    match c.results[0].outcome {
        Outcome::Applied {
            effective_hlc,
            clock_ahead,
            ..
        } => {
            assert!(clock_ahead);
            assert_eq!(effective_hlc, Hlc::new(NOW, 0));
        }
        ref o => panic!("expected applied, got {o:?}"),
    }
    assert_eq!(c.ops[0].flags, FLAG_CLOCK_AHEAD);
    assert_eq!(c.ops[0].hlc, ahead[0].hlc, "the op's own stamp is kept");
    assert_eq!(
        c.merge[0].1.hlc,
        Hlc::new(NOW, 0),
        "merged at the effective stamp"
    );
    assert_eq!(c.ops[1].flags, 0, "within the bound is not ahead");
    assert_eq!(c.sites[0].1.clock_ahead, 1);
}

#[test]
fn only_a_hub_may_send_an_effective_hlc_and_only_a_sane_one() {
    let (site, ops) = ops(4, NOW - 60_000);
    let counter = device(site, Role::Counter);
    let c = run(
        &Memory::new(0),
        vec![item_eff(&ops[0], Hlc(ops[0].hlc.0 - 5))],
        Source::Device(&counter),
    );
    assert_eq!(reject_code(&c, 0), Some(RejectCode::EffectiveHlcNotAllowed));
    assert!(c.ops.is_empty() && c.sites.is_empty());

    let hub = device(SiteId::from_bytes([9; 16]), Role::Hub);
    let earlier = Hlc(ops[3].hlc.0 - 5);
    let items = vec![
        item_eff(&ops[0], Hlc(ops[0].hlc.0 + 1)),
        item_eff(&ops[1], Hlc::ZERO),
        item_eff(&ops[2], ops[2].hlc),
        item_eff(&ops[3], earlier),
    ];
    let c = run(&Memory::new(0), items, Source::Device(&hub));
    assert_eq!(reject_code(&c, 0), Some(RejectCode::BadEffectiveHlc));
    assert_eq!(reject_code(&c, 1), Some(RejectCode::BadEffectiveHlc));
    assert_eq!(statuses(&c)[2..], ["applied", "applied"]);
    assert_eq!(c.ops[0].seq, 1, "rejected ops take no seq");
    assert_eq!(c.ops[1].eff_hlc, earlier);
    assert_eq!(
        c.ops[1].flags, FLAG_CLOCK_AHEAD,
        "an earlier effective stamp is flagged"
    );
}

#[test]
fn ops_from_upstream_are_flagged_so_the_relay_does_not_push_them_back() {
    let (_, ops) = ops(1, NOW - 60_000);
    let c = run(
        &Memory::new(0),
        vec![item_eff(&ops[0], ops[0].hlc)],
        Source::Upstream,
    );
    assert_eq!(c.ops[0].flags, FLAG_FROM_UPSTREAM);
}

#[test]
fn a_parse_rejection_passes_through_with_its_id() {
    let (site, ops) = ops(1, NOW - 60_000);
    let dev = device(site, Role::Counter);
    let bad = Err(Rejection {
        id: Some(ops[0].id),
        code: RejectCode::InvalidOp,
        reason: "broken".into(),
    });
    let c = run(
        &Memory::new(5),
        vec![bad, item(&ops[0])],
        Source::Device(&dev),
    );
    assert_eq!(c.results[0].id, Some(ops[0].id));
    assert_eq!(reject_code(&c, 0), Some(RejectCode::InvalidOp));
    assert_eq!(c.results[1].index, 1);
    assert_eq!(c.ops[0].seq, 6);
}

#[test]
fn a_counter_may_push_only_its_own_sites_ops() {
    let (site, ops) = ops(2, NOW - 60_000);
    let items: Vec<Item> = ops.iter().map(item).collect();
    let own = device(site, Role::Counter);
    assert!(check_sites(Source::Device(&own), &items).is_ok());
    let other = device(SiteId::from_bytes([3; 16]), Role::Counter);
    assert!(matches!(
        check_sites(Source::Device(&other), &items),
        Err(HubError::ForbiddenSite { .. })
    ));
    let hub = device(SiteId::from_bytes([3; 16]), Role::Hub);
    assert!(check_sites(Source::Device(&hub), &items).is_ok());
    assert!(check_sites(Source::Upstream, &items).is_ok());
}

#[test]
fn site_rows_add_the_delta_to_what_is_held() {
    let a = SiteId::from_bytes([1; 16]);
    let b = SiteId::from_bytes([2; 16]);
    let mut held = HashMap::new();
    held.insert(
        a,
        SiteRow {
            site: a,
            ops: 10,
            clock_ahead: 1,
            quarantined: 2,
            last_push_ms: Some(5),
        },
    );
    let d = SiteDelta {
        ops: 3,
        clock_ahead: 1,
        quarantined: 1,
    };
    let rows = site_rows(&held, &[(a, d), (b, d)], NOW);
    assert_eq!(
        rows[0],
        SiteRow {
            site: a,
            ops: 13,
            clock_ahead: 2,
            quarantined: 3,
            last_push_ms: Some(NOW)
        }
    );
    assert_eq!(rows[1].ops, 3);
    assert_eq!(rows[1].last_push_ms, Some(NOW));
}
