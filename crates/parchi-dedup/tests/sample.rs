//! Precision and recall on the labelled sample.

use crate::common::*;
use parchi_dedup::{find_duplicates, Config, Verdict};
use std::collections::{HashMap, HashSet};

#[test]
fn sample_quality() {
    let s = load_sample();
    let cands = find_duplicates(&s.records, &Config::default());
    let pred = likely(&cands);
    let mut by_person: HashMap<&str, Vec<u32>> = HashMap::new();
    for (row, p) in &s.person {
        by_person.entry(p.as_str()).or_default().push(*row);
    }
    let mut truth = HashSet::new();
    for rows in by_person.values() {
        for (i, a) in rows.iter().enumerate() {
            for b in &rows[i + 1..] {
                truth.insert((*a.min(b), *a.max(b)));
            }
        }
    }
    let q = quality(&pred, &truth, None);
    eprintln!("whole sample: {q:?}");
    let idx: HashMap<u32, &parchi_dedup::Record<u32>> = s.records.iter().map(|r| (r.key, r)).collect();
    let show = |a: u32, b: u32| {
        let c = cands.iter().find(|c| (c.a, c.b) == (a, b) || (c.a, c.b) == (b, a));
        let ra = idx[&a]; let rb = idx[&b];
        eprintln!("  {} | {} || {:?} {:?} | {:?} {:?} | {:?}", ra.name, rb.name, ra.birth_year, rb.birth_year, ra.guardian_name, rb.guardian_name,
            c.map(|c| (c.score, c.verdict, c.reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>())));
    };
    for p in truth.iter().filter(|p| !pred.contains(p)) { eprint!("FN"); show(p.0, p.1); }
    for p in pred.iter().filter(|p| !truth.contains(p)) { eprint!("FP"); show(p.0, p.1); }
    let lab_truth: HashSet<(u32, u32)> = s.labelled.iter().filter(|l| l.2).map(|l| (l.0.min(l.1), l.0.max(l.1))).collect();
    let universe: HashSet<(u32, u32)> = s.labelled.iter().map(|l| (l.0.min(l.1), l.0.max(l.1))).collect();
    let ql = quality(&pred.intersection(&universe).copied().collect(), &lab_truth, Some(&universe));
    eprintln!("labelled: {ql:?}");
    assert!(q.precision >= 0.95 && q.recall >= 0.95);
    assert!(ql.precision >= 0.95 && ql.recall >= 0.95);
    for &(a, b, same) in &s.labelled {
        if !same {
            assert!(!pred.contains(&(a.min(b), a.max(b))));
        }
    }
    let _ = Verdict::Likely;
}
