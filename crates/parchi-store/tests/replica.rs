//! The SQLite store and the core replica are the same merge, whatever the delivery order and
//! duplication: patients, visits and the published configurations.

mod support;

use std::collections::BTreeMap;

use parchi_core::op::Op;
use parchi_core::testgen::{arb_ops, shuffled};
use parchi_core::{Hlc, Replica};
use parchi_store::Store;
use proptest::prelude::*;

use support::{NOW_MS, new_store};

fn store_state(s: &Store) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let c = s.connection();
    let mut p = BTreeMap::new();
    let mut q = c
        .prepare("SELECT hex(id), temp_id, fields, coalesce(uhid, '-'), CASE WHEN merged_into IS NULL THEN '-' ELSE hex(merged_into) END,
                coalesce(link, '-'), coalesce((SELECT group_concat(uhid, ',') FROM (SELECT uhid FROM link_rejections r WHERE r.patient = patients.id ORDER BY uhid)), '')
            FROM patients")
        .expect("q");
    let rows = q
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                format!(
                    "{} {} {} {} {} [{}]",
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?
                ),
            ))
        })
        .expect("rows");
    for row in rows {
        let (id, v) = row.expect("row");
        p.insert(id, v);
    }
    let mut v = BTreeMap::new();
    let mut q = c
        .prepare(
            "SELECT hex(v.id), hex(v.patient), v.token_counter || v.token_seq, c.visit IS NOT NULL,
                (SELECT COUNT(*) FROM reprints r WHERE r.visit = v.id) FROM visits v LEFT JOIN cancellations c ON c.visit = v.id",
        )
        .expect("q");
    let rows = q
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                format!(
                    "{} {} {} {}",
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, i64>(4)?
                ),
            ))
        })
        .expect("rows");
    for row in rows {
        let (id, s) = row.expect("row");
        v.insert(id, s);
    }
    (p, v)
}

fn replica_state(r: &Replica) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let hex = |b: &[u8; 16]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    let p = r
        .patients()
        .map(|p| {
            (
                hex(p.id.as_bytes()),
                format!(
                    "{} {} {} {} {} [{}]",
                    p.origin.temp_id.as_str(),
                    serde_json::to_string(&p.fields).expect("json"),
                    parchi_core::central::effective_uhid(p.link.as_ref(), p.uhid.as_ref())
                        .map(|u| u.to_string())
                        .unwrap_or_else(|| "-".into()),
                    p.merged_into
                        .map(|m| hex(m.as_bytes()))
                        .unwrap_or_else(|| "-".into()),
                    p.link
                        .as_ref()
                        .map(|l| serde_json::to_string(l).expect("json"))
                        .unwrap_or_else(|| "-".into()),
                    r.rejected_links(&p.id)
                        .iter()
                        .map(|u| u.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            )
        })
        .collect();
    let v = r
        .visits()
        .map(|v| {
            (
                hex(v.visit.visit.as_bytes()),
                format!(
                    "{} {}{} {} {}",
                    hex(v.visit.patient.as_bytes()),
                    v.visit.token.counter,
                    v.visit.token.seq,
                    v.cancelled.is_some(),
                    v.reprints
                ),
            )
        })
        .collect();
    (p, v)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The SQLite store and the core replica are the same merge, whatever the delivery order and
    /// duplication.
    #[test]
    fn store_materialises_exactly_what_the_core_replica_does(
        (ops, order) in arb_ops(30).prop_flat_map(|ops| { let n = ops.len(); (Just(ops), shuffled(n)) }),
        batch in 1usize..5,
    ) {
        let dir = tempfile::tempdir().expect("tmp");
        let mut s = new_store(dir.path(), "D", 99);
        let delivered: Vec<(Op, Option<Hlc>)> = order.iter().flat_map(|&i| [ops[i].clone(), ops[i].clone()]).map(|o| (o, None)).collect();
        for chunk in delivered.chunks(batch) {
            s.apply_remote(chunk, NOW_MS).expect("apply");
        }
        let mut r = Replica::new();
        for op in &ops { r.apply(op); }
        prop_assert_eq!(store_state(&s), replica_state(&r));
        let mut stored = s.published_configs().expect("configs");
        let mut expected = r.published();
        stored.sort_by_key(|p| p.config);
        expected.sort_by_key(|p| p.config);
        prop_assert_eq!(&stored, &expected);
        for p in &stored {
            let settings = s.published_config(p.config).expect("read").expect("held").settings;
            prop_assert_eq!(Some(&settings), r.config_settings(&p.config));
        }
    }
}
