//! Prints missed duplicates and wrong proposals on a synthetic set, with their reasons: a tuning
//! aid, not a check. `DEDUP_N=250000 DEDUP_EVERY=50 cargo run --release -p parchi-dedup --example explain`

use parchi_dedup::synth::{SynthConfig, Synthetic, evaluate, generate};
use parchi_dedup::{Config, Verdict, compare_pair, find_duplicates};
use std::collections::{HashMap, HashSet};

/// One line about a record, for the tuning printout below.
fn line(set: &Synthetic, i: u64) -> String {
    let r = &set.records[i as usize];
    format!(
        "#{i} person {} | {} | {:?}{} | {:?} | {:?} | {:?} | {:?} {:?}",
        set.person[i as usize],
        r.name,
        r.birth_year,
        if r.birth_approximate { "~" } else { "" },
        r.sex,
        r.guardian_name,
        r.mobile,
        r.address,
        r.pincode
    )
}

fn main() {
    let var = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (n, every) = (var("DEDUP_N", 20_000), var("DEDUP_EVERY", 1).max(1));
    let set = generate(&SynthConfig::new(n, 7));
    let cfg = Config::default();
    let cands = find_duplicates(&set.records, &cfg);
    eprintln!("{:?}", evaluate(&set, &cands));
    let key = |a: u64, b: u64| (a.min(b), a.max(b));
    let found: HashMap<(u64, u64), _> = cands.iter().map(|c| (key(c.a, c.b), c)).collect();
    let likely: HashSet<(u64, u64)> = cands
        .iter()
        .filter(|c| c.verdict == Verdict::Likely)
        .map(|c| key(c.a, c.b))
        .collect();
    let reasons = |c: &parchi_dedup::Candidate<u64>| {
        c.reasons
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    let mut shown = 0;
    for c in cands.iter().filter(|c| c.verdict == Verdict::Likely) {
        if set.person[c.a as usize] != set.person[c.b as usize] {
            shown += 1;
            if shown % every == 0 && shown / every <= 30 {
                eprintln!("WRONG {:.3} {:?}", c.score, reasons(c));
                eprintln!("  {}\n  {}", line(&set, c.a), line(&set, c.b));
            }
        }
    }
    let mut by_person: HashMap<u64, Vec<u64>> = HashMap::new();
    for (i, p) in set.person.iter().enumerate() {
        by_person.entry(*p).or_default().push(i as u64);
    }
    let mut people: Vec<_> = by_person.into_iter().filter(|(_, v)| v.len() > 1).collect();
    people.sort_unstable();
    let mut missed = 0;
    for (_, rows) in people {
        for (i, &a) in rows.iter().enumerate() {
            for &b in &rows[i + 1..] {
                if likely.contains(&key(a, b)) {
                    continue;
                }
                missed += 1;
                if missed % every != 0 || missed / every > 40 {
                    continue;
                }
                let alone = compare_pair(&set.records[a as usize], &set.records[b as usize], &cfg);
                match found.get(&key(a, b)) {
                    Some(c) => eprintln!("MISSED (review) {:.3} {:?}", c.score, reasons(c)),
                    None => eprintln!(
                        "MISSED (not reported); alone {:.3} {:?}",
                        alone.score,
                        reasons(&alone)
                    ),
                }
                eprintln!("  {}\n  {}", line(&set, a), line(&set, b));
            }
        }
    }
}
