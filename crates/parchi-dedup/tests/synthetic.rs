//! Precision and recall on seeded synthetic sets harder than the sample.

use parchi_dedup::synth::{evaluate, generate, SynthConfig};
use parchi_dedup::{find_duplicates, Config, Verdict};

#[test]
fn synthetic_quality_debug() {
    let n: usize = std::env::var("DEDUP_N").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let every: usize = std::env::var("DEDUP_EVERY").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let set = generate(&SynthConfig::new(n, 7));
    let cands = find_duplicates(&set.records, &Config::default());
    let q = evaluate(&set, &cands);
    eprintln!("{q:?}");
    let recs = &set.records;
    let show = |a: u64, b: u64| {
        let (ra, rb) = (&recs[a as usize], &recs[b as usize]);
        let c = cands.iter().find(|c| (c.a.min(c.b), c.a.max(c.b)) == (a.min(b), a.max(b)));
        eprintln!(
            "  {} | {} || {:?} {:?} | {:?} {:?} | {:?} {:?} | {:?}",
            ra.name, rb.name, ra.birth_year, rb.birth_year, ra.guardian_name, rb.guardian_name,
            ra.sex, rb.sex,
            c.map(|c| (format!("{:.3}", c.score), c.verdict, c.reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>()))
        );
    };
    let likely: Vec<_> = cands.iter().filter(|c| c.verdict == Verdict::Likely).collect();
    let mut n = 0;
    for c in &likely {
        if set.person[c.a as usize] != set.person[c.b as usize] {
            n += 1;
            if n % every == 0 && n / every <= 40 {
                let same_hh = set.household[c.a as usize] == set.household[c.b as usize];
                eprint!("FP{}", if same_hh { "-REL" } else { "" });
                show(c.a, c.b);
            }
        }
    }
    let mut by: std::collections::HashMap<u64, Vec<u64>> = Default::default();
    for (i, p) in set.person.iter().enumerate() { by.entry(*p).or_default().push(i as u64); }
    let set_l: std::collections::HashSet<(u64,u64)> = likely.iter().map(|c| (c.a.min(c.b), c.a.max(c.b))).collect();
    let mut m = 0;
    for rows in by.values() {
        for (i, a) in rows.iter().enumerate() {
            for b in &rows[i+1..] {
                if !set_l.contains(&(*a.min(b), *a.max(b))) {
                    m += 1;
                    if m <= 10 { eprint!("FN"); show(*a, *b); }
                }
            }
        }
    }
}

#[test]
#[ignore = "prints details of misses; run by hand when tuning"]
fn synthetic_misses_explained() {
    use parchi_dedup::compare_pair;
    let n: usize = std::env::var("DEDUP_N").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let every: usize = std::env::var("DEDUP_EVERY").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let set = generate(&SynthConfig::new(n, 7));
    let cfg = Config::default();
    let cands = find_duplicates(&set.records, &cfg);
    let recs = &set.records;
    let line = |i: u64| {
        let r = &recs[i as usize];
        format!("#{i} p{} {} | {:?}{} | {:?} | {:?} | {:?} | {:?} {:?}", set.person[i as usize], r.name, r.birth_year, if r.birth_approximate {"~"} else {""}, r.sex, r.guardian_name, r.mobile, r.address, r.pincode)
    };
    let mut by: std::collections::HashMap<u64, Vec<u64>> = Default::default();
    for (i, p) in set.person.iter().enumerate() { by.entry(*p).or_default().push(i as u64); }
    let likely: std::collections::HashSet<(u64,u64)> = cands.iter().filter(|c| c.verdict == Verdict::Likely).map(|c| (c.a.min(c.b), c.a.max(c.b))).collect();
    let mut shown = 0;
    let mut keys: Vec<_> = by.keys().copied().collect();
    keys.sort();
    for k in keys {
        let rows = &by[&k];
        for (i, a) in rows.iter().enumerate() {
            for b in &rows[i+1..] {
                if likely.contains(&(*a.min(b), *a.max(b))) { continue; }
                shown += 1;
                if shown % every != 0 { continue; }
                if shown / every > 60 { return; }
                let c = compare_pair(&recs[*a as usize], &recs[*b as usize], &cfg);
                let found = cands.iter().find(|c| (c.a.min(c.b), c.a.max(c.b)) == (*a.min(b), *a.max(b)));
                eprintln!("MISS {} {:?}\n  {}\n  {}\n  alone: {:.3} {:?}", if found.is_some() {"kept"} else {"NOT-KEPT"}, found.map(|f| f.verdict), line(*a), line(*b), c.score, c.reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>());
                if found.is_none() && c.score >= 0.5 {
                    let two = [recs[*a as usize].clone(), recs[*b as usize].clone()];
                    let f2 = find_duplicates(&two, &cfg);
                    eprintln!("    as a pair alone: {:?}", f2.first().map(|c| (c.score, c.verdict)));
                }
                if found.is_some_and(|f| f.reasons.contains(&parchi_dedup::Reason::AmbiguousMatch)) {
                    for x in [*a, *b] {
                        for c in cands.iter().filter(|c| c.a == x || c.b == x) {
                            let o = if c.a == x { c.b } else { c.a };
                            eprintln!("    partner of #{x}: {:?} {:.3} {}", c.verdict, c.score, line(o));
                        }
                    }
                }
            }
        }
    }
}
