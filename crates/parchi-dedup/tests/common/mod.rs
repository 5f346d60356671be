//! Loading the labelled sample and measuring precision and recall.

use parchi_dedup::{Candidate, Record, Sex, Verdict};
use std::collections::{HashMap, HashSet};

/// The year the sample's ages are counted from. Any fixed year works: only differences matter.
pub const SAMPLE_YEAR: i32 = 2025;

pub struct Sample {
    pub records: Vec<Record<u32>>,
    /// Row number → person id.
    pub person: HashMap<u32, String>,
    /// Labelled pairs: (row a, row b, same person).
    pub labelled: Vec<(u32, u32, bool)>,
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

pub fn load_sample() -> Sample {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let mut rd = csv::Reader::from_path(format!("{dir}/sample.patients.csv")).expect("sample csv");
    let mut records = Vec::new();
    let mut person = HashMap::new();
    for row in rd.records() {
        let row = row.expect("csv row");
        let get = |i: usize| row.get(i).unwrap_or("");
        let key: u32 = get(0).parse().expect("row number");
        person.insert(key, get(1).to_owned());
        let age: Option<i32> = get(4).trim().parse().ok();
        records.push(Record {
            key,
            name: get(2).to_owned(),
            sex: Sex::parse(get(3)).ok(),
            birth_year: age.map(|a| SAMPLE_YEAR - a),
            birth_approximate: true,
            guardian_relation: parchi_dedup::GuardianRelation::parse(get(5)).ok(),
            guardian_name: opt(get(6)),
            mobile: opt(get(7)),
            address: opt(get(8)),
            district: opt(get(9)),
            state: opt(get(10)),
            pincode: opt(get(11)),
            abha: None,
        });
    }
    let mut rd = csv::Reader::from_path(format!("{dir}/sample.pairs.csv")).expect("pairs csv");
    let labelled = rd
        .records()
        .map(|row| {
            let row = row.expect("csv row");
            let a: u32 = row.get(0).and_then(|s| s.parse().ok()).expect("row_a");
            let b: u32 = row.get(1).and_then(|s| s.parse().ok()).expect("row_b");
            let same = matches!(row.get(2).map(str::trim), Some("1" | "true" | "True"));
            (a, b, same)
        })
        .collect();
    Sample {
        records,
        person,
        labelled,
    }
}

/// Precision and recall of the `Likely` pairs; the counts show in failure messages.
#[derive(Debug, Clone, Copy)]
#[allow(dead_code)]
pub struct Quality {
    pub precision: f64,
    pub recall: f64,
    pub true_pos: usize,
    pub false_pos: usize,
    pub false_neg: usize,
}

fn ordered(a: u32, b: u32) -> (u32, u32) {
    (a.min(b), a.max(b))
}

/// The pairs proposed as `Likely`.
pub fn likely(cands: &[Candidate<u32>]) -> HashSet<(u32, u32)> {
    cands
        .iter()
        .filter(|c| c.verdict == Verdict::Likely)
        .map(|c| ordered(c.a, c.b))
        .collect()
}

/// Precision and recall of `predicted` against `truth`; with a `universe`, only predictions
/// inside it count (the labelled-pairs measure).
pub fn quality(
    predicted: &HashSet<(u32, u32)>,
    truth: &HashSet<(u32, u32)>,
    universe: Option<&HashSet<(u32, u32)>>,
) -> Quality {
    let considered: Vec<&(u32, u32)> = match universe {
        Some(u) => predicted.iter().filter(|p| u.contains(p)).collect(),
        None => predicted.iter().collect(),
    };
    let true_pos = considered.iter().filter(|p| truth.contains(p)).count();
    let false_pos = considered.len() - true_pos;
    let false_neg = truth.len() - truth.iter().filter(|p| predicted.contains(p)).count();
    let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
    Quality {
        precision: ratio(true_pos, true_pos + false_pos),
        recall: ratio(true_pos, true_pos + false_neg),
        true_pos,
        false_pos,
        false_neg,
    }
}
