//! Prints wrong links and missed returning patients on a synthetic link set, with reasons: a
//! tuning aid, not a check (synthetic data only, so printing fields is fine).
//! `LINK_N=20000 LINK_M=4000 LINK_SEED=1 cargo run --release -p parchi-dedup --example link_explain`

use parchi_dedup::link::{LinkBasis, LinkConfig, LinkOutcome, Linker};
use parchi_dedup::synth_link::{LinkSynthConfig, evaluate_links, generate_link_set};
use parchi_dedup::{Config, Record, compare_pair};
use std::collections::HashMap;

fn line<K: std::fmt::Display>(r: &Record<K>) -> String {
    format!(
        "{} | {} | {:?}{} | {:?} | {:?} | {:?} | {:?} | {:?} {:?} | abha {}",
        r.key,
        r.name,
        r.birth_year,
        if r.birth_approximate { "~" } else { "" },
        r.sex,
        r.guardian_name,
        r.mobile,
        r.address,
        r.pincode,
        r.district,
        r.abha.is_some()
    )
}

fn main() {
    let var = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (n, m, seed) = (
        var("LINK_N", 20_000),
        var("LINK_M", 4_000),
        var("LINK_SEED", 1),
    );
    let limit = var("LINK_SHOW", 40);
    // 1: also show returning patients sent to review with their record among the candidates.
    let show_review = var("LINK_REVIEW", 0) == 1;
    let set = generate_link_set(&LinkSynthConfig::new(n, m, seed as u64));
    let fvar = |k: &str, d: f64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let d = LinkConfig::default();
    let cfg = LinkConfig {
        auto_threshold: fvar("LINK_AUTO", d.auto_threshold),
        review_threshold: fvar("LINK_REVIEW_AT", d.review_threshold),
        margin: fvar("LINK_MARGIN", d.margin),
        demographic_threshold: fvar("LINK_DEMO", d.demographic_threshold),
        ..d
    };
    let mut linker = Linker::new(set.outage.clone(), cfg.clone());
    for part in set.central.chunks(10_000) {
        linker.offer(part);
    }
    let verdicts = linker.finish();
    let q = evaluate_links(&set, &verdicts);
    println!("{q:#?}");
    let central: HashMap<&str, &Record<String>> =
        set.central.iter().map(|r| (r.key.as_str(), r)).collect();
    let as_u64 = |r: &Record<String>| Record {
        key: 0u64,
        name: r.name.clone(),
        sex: r.sex,
        birth_year: r.birth_year,
        birth_approximate: r.birth_approximate,
        guardian_relation: r.guardian_relation,
        guardian_name: r.guardian_name.clone(),
        mobile: r.mobile.clone(),
        address: r.address.clone(),
        district: r.district.clone(),
        state: r.state.clone(),
        pincode: r.pincode.clone(),
        abha: r.abha.clone(),
    };
    if var("LINK_DUMP", 0) == 1 {
        // One line per card candidate: whether it is the patient's record, its score, reasons.
        for (i, v) in verdicts.iter().enumerate() {
            let truth = set.truth[i].as_deref();
            for c in v.candidates.iter().filter(|c| c.basis == LinkBasis::Card) {
                let right = truth.is_some_and(|t| t.contains(&c.uhid));
                let why: Vec<String> = c.reasons.iter().map(|r| format!("{r:?}")).collect();
                println!(
                    "CARD {right} {:.6} {:?} {:?} {}",
                    c.score,
                    v.outcome,
                    set.kind[i],
                    why.join(";")
                );
            }
        }
        return;
    }
    let (mut wrong, mut missed) = (0, 0);
    for (i, v) in verdicts.iter().enumerate() {
        let truth = set.truth[i].as_deref();
        let is_true = |u: &str| truth.is_some_and(|t| t.iter().any(|x| x == u));
        let input = &set.outage[i];
        let bad_link = v.outcome == LinkOutcome::Linked && !is_true(&v.candidates[0].uhid);
        let miss = truth.is_some()
            && match v.outcome {
                LinkOutcome::Linked => false,
                LinkOutcome::Review => {
                    show_review || !v.candidates.iter().any(|c| is_true(&c.uhid))
                }
                LinkOutcome::New => true,
            };
        if !(bad_link && wrong < limit || miss && missed < limit) {
            continue;
        }
        if bad_link {
            wrong += 1;
        } else {
            missed += 1;
        }
        println!(
            "\n{} {:?} {:?} claimed {:?} notes {:?}",
            if bad_link { "WRONG" } else { "MISSED" },
            set.kind[i],
            v.outcome,
            input.claimed,
            v.notes
        );
        println!("  outage  {}", line(&input.record));
        for c in &v.candidates {
            let r = central[c.uhid.as_str()];
            println!(
                "  {} {:.3} {:?} {} {}",
                if is_true(&c.uhid) { "TRUE " } else { "cand " },
                c.score,
                c.basis,
                line(r),
                c.reasons
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for u in truth.unwrap_or_default() {
            if v.candidates.iter().any(|c| &c.uhid == u) {
                continue;
            }
            let r = central[u.as_str()];
            let c = compare_pair(&input.record, &as_u64(r), &Config::default());
            println!(
                "  truth {:.3} {} {}",
                c.score,
                line(r),
                c.reasons
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
}
