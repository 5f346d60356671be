//! Duplicate detection at hospital scale: generates synthetic registrations with the seeded
//! generator, times `scan` (median of several runs) and reports precision and recall.
//!
//! ```text
//! cargo bench -p parchi-dedup --bench dedup                 # 250,000 registrations, seed 1
//! cargo bench -p parchi-dedup --bench dedup -- 50000 7 3 100  # registrations, seed, runs, max block
//! ```

use parchi_dedup::synth::{SynthConfig, evaluate, generate};
use parchi_dedup::{Config, scan};
// CPU time (user + system) beside the wall clock: on a shared machine the wall clock also
// counts other people's work.
use parchi_platform::measure::cpu_time;
use std::time::{Duration, Instant};

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> T {
    args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default)
}

// Timing is the point of a benchmark; the library itself never reads a clock.
#[allow(clippy::disallowed_methods)]
fn main() {
    // `cargo bench` passes `--bench`; keep only our positional numbers.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let registrations: usize = arg(&args, 0, 250_000);
    let seed: u64 = arg(&args, 1, 1);
    let runs: usize = arg(&args, 2, 3).max(1);
    let max_block: usize = arg(&args, 3, Config::default().max_block);

    let t = Instant::now();
    let set = generate(&SynthConfig::new(registrations, seed));
    println!(
        "generated {} registrations (seed {seed}) in {:.2?}",
        set.records.len(),
        t.elapsed()
    );

    for threads in [1, 2] {
        let cfg = Config {
            threads,
            max_block,
            ..Config::default()
        };
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        let mut cpu: Vec<Duration> = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs {
            let (t, c) = (Instant::now(), cpu_time());
            let report = scan(&set.records, &cfg);
            times.push(t.elapsed());
            if let (Some(before), Some(after)) = (c, cpu_time()) {
                cpu.push(after.saturating_sub(before));
            }
            last = Some(report);
        }
        times.sort();
        cpu.sort();
        let median = times[times.len() / 2];
        let Some(report) = last else { continue };
        println!(
            "threads={threads}: median {median:.2?} wall over {runs} runs (min {:.2?}, max {:.2?}); \
             median CPU {:.2?}",
            times[0],
            times[times.len() - 1],
            cpu.get(cpu.len() / 2).copied().unwrap_or_default()
        );
        println!("  stats: {:?}", report.stats);
        if threads == 1 {
            let q = evaluate(&set, &report.candidates);
            println!(
                "  quality (Likely): precision {:.4}, recall {:.4} (tp {}, fp {}, fn {}); \
                 recall counting Review too {:.4}; \
                 relatives proposed {} of {} relative pairs sharing a mobile",
                q.precision,
                q.recall,
                q.true_pos,
                q.false_pos,
                q.false_neg,
                q.recall_with_review,
                q.relatives_proposed,
                q.relatives_sharing_mobile
            );
        }
    }
}
