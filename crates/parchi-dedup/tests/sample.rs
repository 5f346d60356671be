//! Precision and recall on the labelled sample (`tests/data`, copied from `shared/data`).

use crate::common::*;
use parchi_dedup::{Config, Verdict, find_duplicates};
use std::collections::{HashMap, HashSet};

fn ordered(a: u32, b: u32) -> (u32, u32) {
    (a.min(b), a.max(b))
}

#[test]
fn sample_precision_and_recall_are_at_least_095() {
    let s = load_sample();
    let cands = find_duplicates(&s.records, &Config::default());
    let proposed = likely(&cands);

    // (a) Every pair of rows that `person_id` says are one person, across the whole sample.
    let mut by_person: HashMap<&str, Vec<u32>> = HashMap::new();
    for (row, p) in &s.person {
        by_person.entry(p.as_str()).or_default().push(*row);
    }
    let mut truth = HashSet::new();
    for rows in by_person.values() {
        for (i, a) in rows.iter().enumerate() {
            for b in &rows[i + 1..] {
                truth.insert(ordered(*a, *b));
            }
        }
    }
    let whole = quality(&proposed, &truth, None);
    eprintln!("whole sample (person_id pairs): {whole:?}");

    // (b) The labelled pairs only: true duplicates and relatives sharing a phone.
    let universe: HashSet<(u32, u32)> = s.labelled.iter().map(|l| ordered(l.0, l.1)).collect();
    let labelled_truth: HashSet<(u32, u32)> = s
        .labelled
        .iter()
        .filter(|l| l.2)
        .map(|l| ordered(l.0, l.1))
        .collect();
    let labelled = quality(&proposed, &labelled_truth, Some(&universe));
    eprintln!("labelled pairs: {labelled:?}");

    assert!(
        whole.precision >= 0.95 && whole.recall >= 0.95,
        "whole sample: {whole:?}"
    );
    assert!(
        labelled.precision >= 0.95 && labelled.recall >= 0.95,
        "labelled pairs: {labelled:?}"
    );
}

#[test]
fn sample_relatives_sharing_a_phone_are_never_likely() {
    let s = load_sample();
    let cands = find_duplicates(&s.records, &Config::default());
    let verdicts: HashMap<(u32, u32), Verdict> = cands
        .iter()
        .map(|c| (ordered(c.a, c.b), c.verdict))
        .collect();
    let relatives: Vec<(u32, u32)> = s
        .labelled
        .iter()
        .filter(|l| !l.2)
        .map(|l| ordered(l.0, l.1))
        .collect();
    assert!(
        relatives.len() > 200,
        "the sample labels {} relative pairs",
        relatives.len()
    );
    for pair in relatives {
        assert_ne!(
            verdicts.get(&pair),
            Some(&Verdict::Likely),
            "relatives {pair:?} proposed for merging"
        );
    }
}

#[test]
fn sample_candidates_explain_themselves() {
    let s = load_sample();
    let cands = find_duplicates(&s.records, &Config::default());
    assert!(!cands.is_empty());
    for c in &cands {
        assert!(!c.reasons.is_empty());
        assert!((0.0..=1.0).contains(&c.score));
        let held = c.reasons.iter().any(|r| r.holds_back());
        if held {
            assert_eq!(c.verdict, Verdict::Review, "{c:?}");
        }
    }
    // Likely first, then by descending score.
    let first_review = cands.iter().position(|c| c.verdict == Verdict::Review);
    if let Some(i) = first_review {
        assert!(cands[i..].iter().all(|c| c.verdict == Verdict::Review));
    }
    for w in cands.windows(2) {
        if w[0].verdict == w[1].verdict {
            assert!(w[0].score >= w[1].score);
        }
    }
}
