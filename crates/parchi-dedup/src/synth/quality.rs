//! How well a scan found the generated duplicates: precision and recall against the truth.

use std::collections::{HashMap, HashSet};

use super::Synthetic;
use crate::{Candidate, Verdict};

/// Precision and recall of the `Likely` candidates against the truth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quality {
    pub precision: f64,
    pub recall: f64,
    /// True pairs proposed.
    pub true_pos: usize,
    /// Proposed pairs that are two people.
    pub false_pos: usize,
    /// True pairs not proposed.
    pub false_neg: usize,
    /// Proposed pairs that are two relatives from one household (the mistake that matters most).
    pub relatives_proposed: usize,
    /// Pairs of two relatives that share a mobile and were generated (the hard negatives).
    pub relatives_sharing_mobile: usize,
    /// Share of true pairs reported at all (`Likely` or `Review`): what an admin gets to see.
    pub recall_with_review: f64,
}

/// Scores `Likely` candidates against the truth (keys are positions in `set.records`).
pub fn evaluate(set: &Synthetic, cands: &[Candidate<u64>]) -> Quality {
    let proposed: HashSet<(u64, u64)> = cands
        .iter()
        .filter(|c| c.verdict == Verdict::Likely)
        .map(|c| (c.a.min(c.b), c.a.max(c.b)))
        .collect();
    let mut by_person: HashMap<u64, Vec<u64>> = HashMap::new();
    for (i, p) in set.person.iter().enumerate() {
        by_person.entry(*p).or_default().push(i as u64);
    }
    let mut truth: HashSet<(u64, u64)> = HashSet::new();
    for rows in by_person.values() {
        for (i, a) in rows.iter().enumerate() {
            for b in &rows[i + 1..] {
                truth.insert((*a.min(b), *a.max(b)));
            }
        }
    }
    let reported: HashSet<(u64, u64)> =
        cands.iter().map(|c| (c.a.min(c.b), c.a.max(c.b))).collect();
    let seen = truth.iter().filter(|p| reported.contains(p)).count();
    let true_pos = proposed.iter().filter(|p| truth.contains(p)).count();
    let false_pos = proposed.len() - true_pos;
    let false_neg = truth.len() - true_pos;
    let relatives_proposed = proposed
        .iter()
        .filter(|(a, b)| {
            let (a, b) = (*a as usize, *b as usize);
            set.household[a] == set.household[b] && set.person[a] != set.person[b]
        })
        .count();
    let mut by_mobile: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in set.records.iter().enumerate() {
        if let Some(m) = &r.mobile {
            by_mobile.entry(m.as_str()).or_default().push(i);
        }
    }
    let mut relatives_sharing_mobile = 0;
    for rows in by_mobile.values().filter(|v| v.len() <= 50) {
        for (i, &a) in rows.iter().enumerate() {
            for &b in &rows[i + 1..] {
                if set.household[a] == set.household[b] && set.person[a] != set.person[b] {
                    relatives_sharing_mobile += 1;
                }
            }
        }
    }
    let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
    Quality {
        precision: ratio(true_pos, true_pos + false_pos),
        recall: ratio(true_pos, true_pos + false_neg),
        true_pos,
        false_pos,
        false_neg,
        relatives_proposed,
        relatives_sharing_mobile,
        recall_with_review: ratio(seen, truth.len()),
    }
}
