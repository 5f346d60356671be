use super::stored::{parse_stamp, stamp_hex};
use super::*;
use parchi_core::Replica;
use parchi_core::testgen::{arb_ops, shuffled};
use parchi_core::{Hlc, OpId, SiteId, VisitId};
use proptest::prelude::*;
use std::collections::HashMap;

proptest! {
    /// Record-by-record merging through the storage encoding equals the core's replica.
    #[test]
    fn row_merge_equals_replica((ops, order) in arb_ops(60).prop_flat_map(|ops| {
        let n = ops.len();
        (Just(ops), shuffled(n))
    })) {
        let mut replica = Replica::new();
        for op in &ops { replica.apply(op); }
        let mut rows: HashMap<Entity, String> = HashMap::new();
        for &i in &order {
            let op = &ops[i];
            let Some(e) = entity_of(op) else { continue };
            match e {
                Entity::Patient(id) => {
                    let mut s = rows.get(&e).map(|r| PatientState::decode(r).expect("decode")).unwrap_or_default();
                    s.apply(op);
                    rows.insert(e, s.encode(id, 0).state);
                }
                Entity::Visit(id) => {
                    let mut s = rows.get(&e).map(|r| VisitState::decode(r).expect("decode")).unwrap_or_default();
                    s.apply(op);
                    rows.insert(e, s.encode(id, 0).state);
                }
            }
        }
        let mut p = Vec::new();
        let mut v = Vec::new();
        for (e, state) in rows {
            match e {
                Entity::Patient(id) => p.push((id, state)),
                Entity::Visit(id) => v.push((id, state)),
            }
        }
        prop_assert_eq!(patient_views_of_rows(&p).expect("views"), replica.patients().collect::<Vec<_>>());
        prop_assert_eq!(visit_views_of_rows(&v).expect("views"), replica.visits().collect::<Vec<_>>());
    }
}

proptest! {
    /// The in-memory merge the hub runs on its hot path (ops taken by value, never encoded)
    /// equals the core's replica; and a state encoded and decoded at any point (a checkpoint
    /// and a restart) merges on to the same result.
    #[test]
    fn in_memory_merge_equals_replica((ops, order, cut) in arb_ops(60).prop_flat_map(|ops| {
        let n = ops.len();
        (Just(ops), shuffled(n), 0..=n)
    })) {
        let mut replica = Replica::new();
        for op in &ops { replica.apply(op); }
        let mut ps: HashMap<[u8; 16], PatientState> = HashMap::new();
        let mut vs: HashMap<[u8; 16], VisitState> = HashMap::new();
        for (k, &i) in order.iter().enumerate() {
            if k == cut {
                ps = ps.into_iter().map(|(id, s)| (id, PatientState::decode(&s.encode(id, 1).state).expect("decode"))).collect();
                vs = vs.into_iter().map(|(id, s)| (id, VisitState::decode(&s.encode(id, 1).state).expect("decode"))).collect();
            }
            let op = ops[i].clone();
            match entity_of(&op) {
                Some(Entity::Patient(id)) => ps.entry(id).or_default().apply_owned(op),
                Some(Entity::Visit(id)) => vs.entry(id).or_default().apply_owned(op),
                None => {}
            }
        }
        prop_assert_eq!(
            patient_views(ps.iter().map(|(id, s)| (PatientId::from_bytes(*id), s))),
            replica.patients().collect::<Vec<_>>()
        );
        prop_assert_eq!(
            visit_views(vs.iter().map(|(id, s)| (VisitId::from_bytes(*id), s))),
            replica.visits().collect::<Vec<_>>()
        );
    }
}

#[test]
fn field_slots_follow_field_all() {
    for (i, f) in Field::ALL.into_iter().enumerate() {
        assert_eq!(slot(f), i);
    }
}

#[test]
fn stamps_round_trip_through_hex() {
    let s = Stamp {
        hlc: Hlc(u64::MAX - 5),
        site: SiteId::from_bytes([0xab; 16]),
        op: OpId::from_bytes([3; 16]),
    };
    assert_eq!(parse_stamp(&stamp_hex(&s)).expect("parse"), s);
    assert!(parse_stamp("zz").is_err());
}
