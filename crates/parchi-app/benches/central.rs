//! The hospital's index at a counter: importing a mirror, searching with millions mirrored,
//! and linking an outage against it. Each figure with a baseline measured in the same run.
//!
//! `cargo bench -p parchi-app --bench central -- [MIRROR] [OWN] [LINK_INDEX] [LINK_OUTAGE]`
//! (defaults 1,000,000 / 200,000 / 1,000,000 / 20,000). `BENCH_ONLY=search` (or `import`,
//! `link`, comma-separated) runs only those parts.
//!
//! - **import**: `Store::mirror_write` in batches of 5,000 (the mirror row, its name index, the
//!   UHID lookup that finds changes and duplicates), against a plain SQLite bulk insert of the
//!   same rows (UHID and record) at the same durability (WAL, synchronous=FULL), median of 3 at
//!   200,000 records; peak memory (VmHWM) while importing;
//! - **search**: `Counter::search` (Parchi's own patients and the mirror, merged) on a counter
//!   holding MIRROR mirrored patients and OWN of its own, p50 and p99 for an exact UHID, an exact
//!   mobile and a misspelt name, beside `Store::search` of the own patients alone;
//! - **link**: `Counter::link` of LINK_OUTAGE registrations against a LINK_INDEX mirror
//!   (seeded synthetic households, `parchi_dedup::synth_link`): seconds, peak memory, and its
//!   auto-link precision against the truth.

use std::path::Path;
use std::time::Instant;

use parchi_platform::measure::{self, Memory};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parchi_app::{Counter, Env, FixedEnv, RegisterRequest};
use parchi_core::patient::{Mobile, Name, Pincode, Text};
use parchi_core::{CentralPatient, Uhid, central::birth_from_year};
use parchi_dedup::synth_link::{LinkSynthConfig, generate_link_set};

#[path = "central/records.rs"]
mod records;

use records::{Rng, central, misspell, name};

const NOW_MS: u64 = 1_780_300_800_000; // 2026-06-01

/// A fixed clock the bench moves on a day at a time (temporary IDs run per day), and a seeded
/// random source.
struct BenchEnv {
    clock: Arc<AtomicU64>,
    random: FixedEnv,
}

impl Env for BenchEnv {
    fn now_ms(&self) -> u64 {
        self.clock.load(Ordering::Relaxed)
    }
    fn fill_random(&mut self, buf: &mut [u8]) {
        self.random.fill_random(buf);
    }
}

fn counter(dir: &Path, seed: u64) -> (Counter, Arc<AtomicU64>) {
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hospital.toml");
    let clock = Arc::new(AtomicU64::new(NOW_MS));
    let env = BenchEnv {
        clock: clock.clone(),
        random: FixedEnv::new(NOW_MS, seed),
    };
    (
        Counter::init(dir, &cfg, "A", Box::new(env)).expect("init"),
        clock,
    )
}

/// The peak resident set in KiB (0 where the OS does not tell).
fn peak_kib() -> u64 {
    measure::memory_kib(Memory::Peak).unwrap_or(0)
}

fn reset_peak() {
    let _ = measure::reset_peak_memory();
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn pct(mut xs: Vec<f64>) -> (f64, f64) {
    xs.sort_by(f64::total_cmp);
    let at = |p: f64| xs[((xs.len() as f64 - 1.0) * p).round() as usize];
    (at(0.5), at(0.99))
}

/// `BENCH_SLOWEST=N`: the N slowest queries of a row with their times, for tuning (the
/// queries are the bench's synthetic names).
fn slowest(what: &str, qs: &[String], ms: &[f64]) {
    let n = std::env::var("BENCH_SLOWEST")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut by: Vec<(f64, &String)> = ms.iter().copied().zip(qs).collect();
    by.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (t, q) in by.into_iter().take(n) {
        eprintln!("  slow {what}: {t:.2} ms  {q:?}");
    }
}

/// Records into the counter's mirror in batches; seconds.
fn import(c: &mut Counter, records: &[CentralPatient]) -> f64 {
    let t = Instant::now();
    for chunk in records.chunks(5_000) {
        c.mirror_load(chunk, 1).expect("mirror write");
    }
    t.elapsed().as_secs_f64()
}

/// The same rows into a plain table at the same durability; seconds.
fn baseline(dir: &Path, records: &[CentralPatient]) -> f64 {
    let conn = rusqlite::Connection::open(dir.join("plain.db")).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE mirror (uhid TEXT PRIMARY KEY, record TEXT NOT NULL);",
    )
    .expect("schema");
    let t = Instant::now();
    for chunk in records.chunks(5_000) {
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        {
            let mut q = conn
                .prepare_cached("INSERT INTO mirror VALUES (?1, ?2)")
                .expect("prep");
            for r in chunk {
                let json = serde_json::to_string(r).expect("json");
                q.execute(rusqlite::params![r.uhid.as_str(), json])
                    .expect("insert");
            }
        }
        conn.execute_batch("COMMIT").expect("commit");
    }
    t.elapsed().as_secs_f64()
}

fn bench_import(n: usize) {
    let mut rng = Rng(7);
    let records: Vec<CentralPatient> = (0..n as u64).map(|i| central(&mut rng, i)).collect();
    let (mut ours, mut plain) = (Vec::new(), Vec::new());
    let mut peak = 0;
    for run in 0..3 {
        let d = tempfile::tempdir().expect("tmp");
        let (mut c, _) = counter(d.path(), run);
        reset_peak();
        ours.push(import(&mut c, &records));
        peak = peak.max(peak_kib());
        plain.push(baseline(d.path(), &records));
    }
    let (o, p) = (median(ours), median(plain));
    println!(
        "import {n}: mirror {:.0}/s ({o:.2} s), plain insert {:.0}/s ({p:.2} s), {:.2}x the plain time; peak RSS {} MiB",
        n as f64 / o,
        n as f64 / p,
        o / p,
        peak / 1024
    );
}

fn bench_search(mirror: usize, own: usize) {
    // `PARCHI_BENCH_DIR=DIR` keeps the filled counter there and uses it again next time (the
    // same seeded records are generated again for the queries, but not written).
    let tmp = tempfile::tempdir().expect("tmp");
    let d = std::env::var_os("PARCHI_BENCH_DIR").map_or_else(
        || tmp.path().to_owned(),
        |k| Path::new(&k).join(format!("central-{mirror}-{own}")),
    );
    let marker = d.join("filled");
    let filled = marker.exists();
    let (mut c, clock) = if filled {
        let clock = Arc::new(AtomicU64::new(NOW_MS));
        let env = BenchEnv {
            clock: clock.clone(),
            random: FixedEnv::new(NOW_MS, 11),
        };
        (Counter::open(&d, Box::new(env)).expect("open"), clock)
    } else {
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("bench dir");
        counter(&d, 11)
    };
    let mut rng = Rng(13);
    let mut sample = Vec::new();
    let t = Instant::now();
    let mut i = 0u64;
    while (i as usize) < mirror {
        let batch: Vec<CentralPatient> = (0..5_000.min(mirror as u64 - i))
            .map(|k| central(&mut rng, i + k))
            .collect();
        // About 600 records spread over the whole mirror are searched for.
        let every = (mirror / 600).max(1);
        sample.extend(
            batch
                .iter()
                .enumerate()
                .filter(|(k, _)| (i as usize + k).is_multiple_of(every))
                .map(|(_, r)| r.clone()),
        );
        i += batch.len() as u64;
        if !filled {
            c.mirror_load(&batch, 1).expect("mirror");
        }
    }
    let mut own_names = Vec::new();
    let mut done = 0;
    while done < own {
        let reqs: Vec<RegisterRequest> = (0..2_000.min(own - done))
            .map(|_| {
                let n = name(&mut rng);
                own_names.push(n.clone());
                RegisterRequest {
                    patient: parchi_core::patient::PatientInput {
                        name: n,
                        sex: "F".into(),
                        age: format!("{}", 1 + rng.next() % 80),
                        mobile: format!("9{:09}", rng.next() % 1_000_000_000),
                        ..Default::default()
                    },
                    department: "MED".into(),
                    uhid: String::new(),
                }
            })
            .collect();
        done += reqs.len();
        if !filled {
            c.register_batch(&reqs).expect("own");
        }
        clock.fetch_add(86_400_000, Ordering::Relaxed);
    }
    if !filled {
        c.optimize().expect("optimize");
        std::fs::write(&marker, b"").expect("marker");
    }
    eprintln!(
        "  filled {mirror} mirrored + {own} own patients in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    let time = |c: &Counter, q: &str| {
        let t = Instant::now();
        let hits = c.search(q, 8).expect("search");
        (t.elapsed().as_secs_f64() * 1e3, hits.len())
    };
    // `BENCH_CACHE_KIB`: the search connection's page cache (by default the desktop app's,
    // `Counter::search_cache_kib`).
    let cache = std::env::var("BENCH_CACHE_KIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| c.search_cache_kib().expect("cache"));
    c.set_cache_kib(cache).expect("cache");
    eprintln!("  page cache {cache} KiB");
    // Warm up on other queries (names of the same sets misspelt another way), so the figures
    // are of a counter that has been searching, not of the first search after a boot.
    let mut warm = Rng(99);
    for n in sample.iter().map(|r| r.name.as_str()).chain(
        own_names
            .iter()
            .step_by((own / 500).max(1))
            .map(String::as_str),
    ) {
        let _ = c.search(&misspell(n, &mut warm), 8);
    }
    let mut rows = Vec::new();
    for (what, qs) in [
        (
            "exact UHID",
            sample
                .iter()
                .map(|r| r.uhid.to_string())
                .collect::<Vec<_>>(),
        ),
        (
            "exact mobile",
            sample
                .iter()
                .filter_map(|r| r.mobile.as_ref().map(|m| m.to_string()))
                .collect(),
        ),
        (
            "misspelt name (mirror)",
            sample
                .iter()
                .map(|r| misspell(r.name.as_str(), &mut rng))
                .collect(),
        ),
        (
            "misspelt name (own)",
            own_names
                .iter()
                .step_by((own / 500).max(1))
                .map(|n| misspell(n, &mut rng))
                .collect(),
        ),
    ] {
        let qs: Vec<String> = qs.into_iter().take(500).collect();
        let ms: Vec<f64> = qs.iter().map(|q| time(&c, q).0).collect();
        slowest(what, &qs, &ms);
        let (p50, p99) = pct(ms);
        rows.push((what, p50, p99));
    }
    let base: Vec<f64> = own_names
        .iter()
        .step_by((own / 500).max(1))
        .take(500)
        .map(|n| {
            let q = misspell(n, &mut rng);
            let t = Instant::now();
            let _ = c.bench_store_search(&q, 8);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let (b50, b99) = pct(base);
    let mirror_alone: Vec<f64> = sample
        .iter()
        .take(500)
        .map(|r| {
            let q = misspell(r.name.as_str(), &mut rng);
            let t = Instant::now();
            let _ = c.bench_mirror_search(&q, 8);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let (m50, m99) = pct(mirror_alone);
    println!("search with {mirror} mirrored + {own} own patients (ms):");
    for (what, p50, p99) in rows {
        println!("  {what:<24} p50 {p50:.2}  p99 {p99:.2}");
    }
    println!("  baseline Store::search of own patients, misspelt name: p50 {b50:.2}  p99 {b99:.2}");
    println!("  Store::mirror_search alone, misspelt name: p50 {m50:.2}  p99 {m99:.2}");
}

fn bench_link(index: usize, outage: usize) {
    let set = generate_link_set(&LinkSynthConfig::new(index, outage, 1));
    let d = tempfile::tempdir().expect("tmp");
    let (mut c, clock) = counter(d.path(), 17);
    let records: Vec<CentralPatient> = set
        .central
        .iter()
        .filter_map(|r| {
            Some(CentralPatient {
                uhid: Uhid::parse(&r.key).ok()?,
                name: Name::parse("name", &r.name).ok()?,
                sex: r.sex,
                birth: r.birth_year.and_then(birth_from_year),
                guardian_relation: r.guardian_relation,
                guardian_name: r
                    .guardian_name
                    .as_deref()
                    .and_then(|g| Name::parse("guardian", g).ok()),
                mobile: r.mobile.as_deref().and_then(|m| Mobile::parse(m).ok()),
                address: r
                    .address
                    .as_deref()
                    .and_then(|a| Text::parse("address", a).ok().flatten()),
                district: r
                    .district
                    .as_deref()
                    .and_then(|a| Text::parse("district", a).ok().flatten()),
                state: r
                    .state
                    .as_deref()
                    .and_then(|a| Text::parse("state", a).ok().flatten()),
                pincode: r.pincode.as_deref().and_then(|p| Pincode::parse(p).ok()),
                abha_number: None,
                seen: None,
            })
        })
        .collect();
    for chunk in records.chunks(5_000) {
        c.mirror_load(chunk, 1).expect("mirror");
    }
    let reqs: Vec<RegisterRequest> = set
        .outage
        .iter()
        .map(|o| RegisterRequest {
            patient: parchi_core::patient::PatientInput {
                name: o.record.name.clone(),
                sex: o
                    .record
                    .sex
                    .map(|s| s.code().to_owned())
                    .unwrap_or_default(),
                age: o
                    .record
                    .birth_year
                    .map(|y| (2026 - y).to_string())
                    .unwrap_or_default(),
                guardian_relation: o
                    .record
                    .guardian_name
                    .as_ref()
                    .map(|_| "C/o".to_owned())
                    .unwrap_or_default(),
                guardian_name: o.record.guardian_name.clone().unwrap_or_default(),
                mobile: o.record.mobile.clone().unwrap_or_default(),
                locality: o.record.address.clone().unwrap_or_default(),
                district: o.record.district.clone().unwrap_or_default(),
                state: o.record.state.clone().unwrap_or_default(),
                pincode: o.record.pincode.clone().unwrap_or_default(),
                ..Default::default()
            },
            department: "MED".into(),
            uhid: o.claimed.clone().unwrap_or_default(),
        })
        .collect();
    let mut registered = 0;
    for chunk in reqs.chunks(2_000) {
        registered += c
            .register_batch(chunk)
            .expect("outage")
            .iter()
            .filter(|r| r.is_ok())
            .count();
        clock.fetch_add(86_400_000, Ordering::Relaxed);
    }
    let before = peak_kib();
    reset_peak();
    let t = Instant::now();
    let run = c.link(&mut |_, _| {}).expect("link");
    let secs = t.elapsed().as_secs_f64();
    let peak = peak_kib();
    println!(
        "link {} registrations ({} registered) against {} index records: {secs:.1} s; {} linked, {} review ({:.1}%), {} new, {} merged; RSS before {} MiB, peak during {} MiB",
        outage,
        registered,
        records.len(),
        run.linked,
        run.review,
        100.0 * run.review as f64 / run.patients.max(1) as f64,
        run.new,
        run.merged,
        before / 1024,
        peak / 1024
    );
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let mirror = args.first().copied().unwrap_or(1_000_000);
    let own = args.get(1).copied().unwrap_or(200_000);
    let index = args.get(2).copied().unwrap_or(1_000_000);
    let outage = args.get(3).copied().unwrap_or(20_000);
    // `BENCH_ONLY=search` (or `import`, `link`; comma-separated) runs only those parts.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let run = |part: &str| only.is_empty() || only.split(',').any(|p| p.trim() == part);
    if run("import") {
        bench_import(200_000);
    }
    if run("search") {
        bench_search(mirror, own);
    }
    if run("link") {
        bench_link(index, outage);
    }
}
