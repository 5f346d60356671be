//! `parchi-desktop-bench DIR`: times what the desktop app's commands cost on a counter's store,
//! without the window: opening the store (part of launch to ready) and search as the clerk types
//! (every prefix of realistic queries, from the second character on), as `search` runs it.
//! The baseline, measured in the same run and interleaved with it, is the store's own search
//! (`Store::search`) on the same prefixes: the ratio is what the use case adds (summaries with
//! the last visit).
//!
//! A benchmark binary, not a test: it prints figures and asserts nothing. See BENCH_NOTES.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use parchi_app::{Counter, SystemEnv};

/// What clerks type: correct and misspelt names, a mobile number, an ID prefix.
const QUERIES: &[(&str, &str)] = &[
    ("name", "Sunita Devi"),
    ("name", "Suneeta Devee"),
    ("name", "Ramesh Kumar"),
    ("name", "Rmesh Kumr"),
    ("name", "Mohd Irfan"),
    ("name", "Priya Sharma"),
    ("name", "Anil Yadav"),
    ("name", "Lakshmi Narayan"),
    ("mobile", "9876543210"),
    ("mobile", "7004512345"),
];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: parchi-desktop-bench DATA_DIR");
        return ExitCode::from(2);
    };
    let t = Instant::now();
    let counter = match Counter::open(&dir, Box::new(SystemEnv)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot open {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let patients = counter.counts().map(|(p, _)| p).unwrap_or(0);
    println!("store: {} patients; open {open_ms:.1} ms", patients);

    for kind in ["name", "mobile"] {
        let mut ours = Vec::new();
        let mut base = Vec::new();
        let mut hits = 0usize;
        // Twice: the first pass warms the page cache, as a counter that has been running has.
        for pass in 0..2 {
            for (_, q) in QUERIES.iter().filter(|(k, _)| *k == kind) {
                let chars: Vec<char> = q.chars().collect();
                for n in 2..=chars.len() {
                    let prefix: String = chars[..n].iter().collect();
                    let t = Instant::now();
                    let raw = counter.bench_store_search(&prefix, 8);
                    let raw_ms = t.elapsed().as_secs_f64() * 1e3;
                    let t = Instant::now();
                    let found = counter.search(&prefix, 8);
                    let ms = t.elapsed().as_secs_f64() * 1e3;
                    match (raw, found) {
                        (Ok(_), Ok(r)) if pass == 1 => {
                            base.push(raw_ms);
                            ours.push(ms);
                            hits += usize::from(!r.is_empty());
                        }
                        (Ok(_), Ok(_)) => {}
                        (Err(e), _) => {
                            eprintln!("store search failed: {e}");
                            return ExitCode::FAILURE;
                        }
                        (_, Err(e)) => {
                            eprintln!("search failed ({})", e.code());
                            return ExitCode::FAILURE;
                        }
                    }
                }
            }
        }
        ours.sort_by(f64::total_cmp);
        base.sort_by(f64::total_cmp);
        let (p50, b50) = (percentile(&ours, 0.5), percentile(&base, 0.5));
        println!(
            "search by {kind} (every keystroke, {} searches, {} with results): p50 {p50:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ours.len(),
            hits,
            percentile(&ours, 0.95),
            percentile(&ours, 0.99),
            ours.last().copied().unwrap_or(0.0),
        );
        println!(
            "  baseline Store::search: p50 {b50:.2} ms, p99 {:.2} ms; ratio of medians {:.2}x",
            percentile(&base, 0.99),
            if b50 > 0.0 { p50 / b50 } else { 0.0 },
        );
    }
    ExitCode::SUCCESS
}
