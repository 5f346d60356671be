//! Linking an outage to a central index at hospital scale: generates a seeded central index and
//! outage, times `Linker` over it in batches (median of several runs), and reports throughput,
//! peak memory, quality, and a same-run baseline: only preparing the central records, which any
//! linker must do at least.
//!
//! ```text
//! cargo bench -p parchi-dedup --bench link          # 1,000,000 central, 20,000 outage, seed 1
//! cargo bench -p parchi-dedup --bench link -- 200000 4000 7 1 10000 2
//!   # central, outage, seed, runs, batch, threads[, max patients per key]
//! ```

use parchi_dedup::link::{LinkConfig, LinkVerdict, Linker};
use parchi_dedup::synth_link::{
    LinkSet, LinkSynthConfig, evaluate_links, generate_link_set, prepare_only,
};
use parchi_platform::measure::{self, Memory, cpu_time};
use std::time::{Duration, Instant};

fn arg<T: std::str::FromStr>(args: &[String], i: usize, default: T) -> T {
    args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// A memory figure of this process (the peak resident set, or the current one), in MiB.
fn status_mib(which: Memory) -> Option<f64> {
    measure::memory_kib(which).map(|kib| kib as f64 / 1024.0)
}

/// Resets the peak resident set to the current one, so the peak after linking is the
/// linking's own, not the generator's.
fn reset_peak() -> bool {
    measure::reset_peak_memory()
}

/// One linking run: the verdicts, the linker's stats, and the time of each phase (new, the
/// offers, finish). The patients are cloned before the clock starts.
#[allow(clippy::disallowed_methods)]
fn link(
    set: &LinkSet,
    cfg: &LinkConfig,
    batch: usize,
) -> (Vec<LinkVerdict<u64>>, String, [Duration; 3]) {
    let patients = set.outage.clone();
    let t = Instant::now();
    let mut linker = Linker::new(patients, cfg.clone());
    let built = t.elapsed();
    for part in set.central.chunks(batch) {
        linker.offer(part);
    }
    let streamed = t.elapsed();
    let stats = format!("{:?}", linker.stats());
    let verdicts = linker.finish();
    let done = t.elapsed();
    (verdicts, stats, [built, streamed - built, done - streamed])
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

// Timing is the point of a benchmark; the library itself never reads a clock.
#[allow(clippy::disallowed_methods)]
fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let central: usize = arg(&args, 0, 1_000_000);
    let outage: usize = arg(&args, 1, 20_000);
    let seed: u64 = arg(&args, 2, 1);
    let runs: usize = arg(&args, 3, 3).max(1);
    let batch: usize = arg(&args, 4, 10_000).max(1);
    let threads: usize = arg(&args, 5, 2).max(1);
    let max_patients_per_key: usize = arg(&args, 6, LinkConfig::default().max_patients_per_key);

    let t = Instant::now();
    let set = generate_link_set(&LinkSynthConfig::new(central, outage, seed));
    println!(
        "generated {} central records and {} outage registrations (seed {seed}) in {:.2?}",
        set.central.len(),
        set.outage.len(),
        t.elapsed()
    );
    let hwm_generated = status_mib(Memory::Peak).unwrap_or(0.0);
    let rss_before = status_mib(Memory::Resident).unwrap_or(0.0);
    let reset = reset_peak();
    println!(
        "VmHWM after generating {hwm_generated:.0} MiB; VmRSS before linking {rss_before:.0} MiB \
         (peak {})",
        if reset { "reset to it" } else { "not reset" }
    );

    let cfg = LinkConfig {
        threads,
        max_patients_per_key,
        ..LinkConfig::default()
    };
    let (mut times, mut cpu, mut base_times) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = None;
    for _ in 0..runs {
        // The baseline: the same records, the same batches and threads, preparing only.
        let t = Instant::now();
        let tokens: usize = set
            .central
            .chunks(batch)
            .map(|part| prepare_only(part, threads))
            .sum();
        base_times.push(t.elapsed());
        std::hint::black_box(tokens);

        let c = cpu_time();
        let out = link(&set, &cfg, batch);
        times.push(out.2.iter().sum());
        if let (Some(before), Some(after)) = (c, cpu_time()) {
            cpu.push(after.saturating_sub(before));
        }
        last = Some(out);
    }
    let hwm_after = status_mib(Memory::Peak).unwrap_or(0.0);
    let (wall, base) = (median(times.clone()), median(base_times.clone()));
    let cpu = if cpu.is_empty() {
        Duration::ZERO
    } else {
        median(cpu)
    };
    println!(
        "threads={threads}, batches of {batch}: link median {wall:.2?} wall over {runs} runs \
         (min {:.2?}, max {:.2?}), median CPU {cpu:.2?}; {:.0} central records/s",
        times.iter().min().copied().unwrap_or_default(),
        times.iter().max().copied().unwrap_or_default(),
        set.central.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "baseline (prepare only): median {base:.2?}; link / baseline = {:.2}",
        wall.as_secs_f64() / base.as_secs_f64()
    );
    println!(
        "VmHWM: {rss_before:.0} MiB before linking, {hwm_after:.0} MiB after (+{:.0} MiB: the \
         linker with its copy of the patients, and the baseline's batches)",
        hwm_after - rss_before
    );
    let Some((verdicts, stats, phases)) = last else {
        return;
    };
    println!(
        "last run: new {:.2?}, offers {:.2?}, finish {:.2?}; {stats}",
        phases[0], phases[1], phases[2]
    );
    let q = evaluate_links(&set, &verdicts);
    println!(
        "quality: auto precision {:.4}, auto recall {:.4}, recall with review {:.4}, \
         review share {:.4}, new precision {:.4}, new recall {:.4}",
        q.auto_precision,
        q.auto_recall,
        q.recall_with_review,
        q.review_share,
        q.new_precision,
        q.new_recall
    );
    println!(
        "  linked {} (correct {}, wrong {}), review {}, new {}; returning called new {}",
        q.linked, q.correct_links, q.wrong_links, q.review, q.new, q.returning_called_new
    );
    println!("  wrong links by kind: {:?}", q.wrong_links_by_kind);
    println!("  linked by basis: {:?}", q.linked_by_basis);
    println!("  (linked, review, new) by kind: {:?}", q.outcomes_by_kind);
}
