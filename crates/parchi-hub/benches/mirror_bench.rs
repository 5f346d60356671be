//! Mirror import benchmark: N synthetic records of a hospital's patient index (seeded, ~250
//! bytes of JSON each, UHIDs in export order) imported through the engine (`Hub::mirror_write`,
//! batches of 10,000: parse-free, but checked, canonicalised and hashed as the HTTP route does)
//! on SQLite and on PostgreSQL, each against a plain bulk insert of the same rows (uhid, record)
//! into a table with just a primary key, same durability, same batches, in the same run. Then,
//! at N: exact UHID lookups (`Hub::mirror_get`) p50/p99, a re-import of the same N (every row
//! unchanged), and reading all N back in 10,000-record pages.
//!
//! ```text
//! eval "$(scripts/start-postgres.sh)"        # or: source ~/.cache/parchi/pg.env
//! cargo bench -p parchi-hub --bench mirror_bench -- 1000000
//! BENCH_RUNS=1 BENCH_SKIP=pg cargo bench -p parchi-hub --bench mirror_bench -- 100000
//! ```
//!
//! Import figures are the median of `BENCH_RUNS` runs (default 3), each on a fresh database.
//! Peak RSS is the process's VmHWM, reset (`/proc/self/clear_refs`) just before each import.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use parchi_core::{CentralPatient, Uhid};
use parchi_hub::storage::Storage;
use parchi_hub::workload::{CentralGen, Rng};
use parchi_hub::{Hub, HubConfig, PgStorage, SqliteStorage};
use parchi_platform::measure::{self, Memory};
use parchi_sync::wire::MirrorBatch;

const BATCH: usize = 10_000;
const SEED: u64 = 20_260_501;
const LOOKUPS: usize = 10_000;

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn skip(what: &str) -> bool {
    std::env::var("BENCH_SKIP")
        .map(|s| s.split(',').any(|x| x.trim() == what))
        .unwrap_or(false)
}

/// `BENCH_QUICK=1` (for tens of millions of records): only the import, its baseline and the
/// lookups; no re-import, read-back or storage-alone runs (reported as 0).
fn quick() -> bool {
    std::env::var_os("BENCH_QUICK").is_some()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// A memory figure of this process in kB (0 where the OS does not tell).
fn status_kb(which: Memory) -> u64 {
    measure::memory_kib(which).unwrap_or(0)
}

/// Resets VmHWM to the current RSS.
fn reset_peak() {
    let _ = measure::reset_peak_memory();
}

/// The records in batches, generated as they are needed (memory stays one batch).
struct Batches {
    source: CentralGen,
    left: usize,
}

impl Batches {
    fn new(n: usize) -> Self {
        Self {
            source: CentralGen::new(SEED, "DHP"),
            left: n,
        }
    }
}

impl Iterator for Batches {
    type Item = Vec<CentralPatient>;
    fn next(&mut self) -> Option<Vec<CentralPatient>> {
        if self.left == 0 {
            return None;
        }
        let k = self.left.min(BATCH);
        self.left -= k;
        Some(self.source.records(k))
    }
}

/// Imports N records through the engine; the time inside `mirror_write` and the peak RSS.
async fn import<S: Storage>(hub: &Hub<S>, n: usize, run: &str) -> (Duration, u64, u64) {
    let mut spent = Duration::ZERO;
    let mut written = 0;
    let before = status_kb(Memory::Resident);
    reset_peak();
    for records in Batches::new(n) {
        let t = Instant::now();
        let r = hub
            .mirror_write(MirrorBatch {
                run: run.into(),
                records,
            })
            .await
            .expect("mirror batch");
        spent += t.elapsed();
        written += r.inserted + r.updated + r.unchanged;
        assert!(r.duplicates.is_empty());
    }
    assert_eq!(written as usize, n);
    (spent, before, status_kb(Memory::Peak))
}

/// The storage's part alone (records prepared outside the clock): one `Storage::mirror_write`
/// per batch into a fresh database.
async fn storage_only<S: Storage>(storage: &S, n: usize) -> Duration {
    let mut spent = Duration::ZERO;
    for records in Batches::new(n) {
        let (rows, _) = parchi_hub::engine::prepare_mirror(&records).expect("valid");
        let t = Instant::now();
        storage
            .mirror_write("bench-storage-1".into(), rows)
            .await
            .expect("write");
        spent += t.elapsed();
    }
    spent
}

/// The same rows as (uhid, canonical JSON), prepared outside the clock.
fn plain_rows(records: &[CentralPatient]) -> (Vec<String>, Vec<String>) {
    records
        .iter()
        .map(|r| {
            (
                r.uhid.as_str().to_string(),
                serde_json::to_string(r).expect("json"),
            )
        })
        .unzip()
}

fn baseline_sqlite(n: usize) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut conn = rusqlite::Connection::open(dir.path().join("plain.sqlite3")).expect("open");
    // The same SQLCipher keying as the hub's store, so the baseline differs only in schema.
    parchi_keys::sqlcipher::key_connection(
        &conn,
        &bench_key(),
        Some(parchi_hub::sqlite::PAGE_SIZE),
    )
    .expect("key");
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .expect("pragma");
    conn.pragma_update(None, "page_size", 65_536i64)
        .expect("pragma");
    let _: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .expect("wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("pragma");
    conn.pragma_update(None, "cache_size", -262_144i64)
        .expect("pragma");
    conn.execute_batch(
        "CREATE TABLE plain (uhid TEXT PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID",
    )
    .expect("table");
    let mut spent = Duration::ZERO;
    for records in Batches::new(n) {
        let (uhids, json) = plain_rows(&records);
        let t = Instant::now();
        let tx = conn.transaction().expect("tx");
        {
            let mut st = tx
                .prepare_cached("INSERT INTO plain (uhid, record) VALUES (?1, ?2)")
                .expect("prepare");
            for (u, r) in uhids.iter().zip(&json) {
                st.execute(rusqlite::params![u, r]).expect("insert");
            }
        }
        tx.commit().expect("commit");
        spent += t.elapsed();
    }
    spent
}

async fn pg_client(url: &str, schema: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET search_path TO \"{schema}\""
        ))
        .await
        .expect("schema");
    client
}

async fn drop_schema(url: &str, schema: &str) {
    let c = pg_client(url, "public").await;
    c.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await
        .expect("drop schema");
}

async fn baseline_pg(url: &str, schema: &str, n: usize) -> Duration {
    let mut c = pg_client(url, schema).await;
    c.batch_execute(
        r#"CREATE TABLE plain (uhid text COLLATE "C" PRIMARY KEY, record text NOT NULL)"#,
    )
    .await
    .expect("table");
    let mut spent = Duration::ZERO;
    for records in Batches::new(n) {
        let (uhids, json) = plain_rows(&records);
        let t = Instant::now();
        let tx = c.transaction().await.expect("tx");
        tx.execute(
            "INSERT INTO plain (uhid, record) SELECT * FROM UNNEST($1::text[], $2::text[])",
            &[&uhids, &json],
        )
        .await
        .expect("insert");
        tx.commit().await.expect("commit");
        spent += t.elapsed();
    }
    drop(c);
    drop_schema(url, schema).await;
    spent
}

/// Lookups of seeded random UHIDs among the N: (p50, p99).
async fn lookups<S: Storage>(hub: &Hub<S>, n: usize) -> (Duration, Duration) {
    let mut rng = Rng::new(SEED ^ 0x5EED);
    let mut times = Vec::with_capacity(LOOKUPS);
    for _ in 0..LOOKUPS {
        let i = 1 + rng.below(n as u64);
        let uhid = Uhid::parse(&format!("DHP{i:09}")).expect("uhid");
        let t = Instant::now();
        let r = hub.mirror_get(&uhid).await.expect("lookup");
        times.push(t.elapsed());
        assert!(r.is_some(), "{uhid} held");
    }
    times.sort();
    (times[LOOKUPS / 2], times[LOOKUPS * 99 / 100])
}

/// Reads the whole mirror in pages of 10,000.
async fn read_all<S: Storage>(hub: &Hub<S>, n: usize) -> Duration {
    let t = Instant::now();
    let mut after = 0;
    let mut got = 0;
    loop {
        let p = hub.mirror_page(after, 10_000, None).await.expect("page");
        got += p.records().count();
        std::hint::black_box(p.to_json());
        after = p.next;
        if !p.more {
            break;
        }
    }
    assert_eq!(got, n);
    t.elapsed()
}

struct Figures {
    storage: Duration,
    storage_base: Duration,
    ours: Vec<Duration>,
    base: Vec<Duration>,
    rss_before_kb: u64,
    peak_kb: u64,
    p50: Duration,
    p99: Duration,
    reimport: Duration,
    read: Duration,
}

fn report(name: &str, n: usize, f: &Figures) {
    let (ours, base) = (median(f.ours.clone()), median(f.base.clone()));
    println!("{name}: import {n} records through the engine, batches of {BATCH}");
    println!(
        "  ours      {:>8.2} s  {:>9.0} patients/s   (runs: {:?})",
        ours.as_secs_f64(),
        rate(n, ours),
        f.ours
            .iter()
            .map(|d| format!("{:.2}", d.as_secs_f64()))
            .collect::<Vec<_>>()
    );
    println!(
        "  baseline  {:>8.2} s  {:>9.0} rows/s       (runs: {:?})",
        base.as_secs_f64(),
        rate(n, base),
        f.base
            .iter()
            .map(|d| format!("{:.2}", d.as_secs_f64()))
            .collect::<Vec<_>>()
    );
    println!(
        "  ratio     {:.2}x the baseline's time",
        ours.as_secs_f64() / base.as_secs_f64()
    );
    println!(
        "  storage alone (Storage::mirror_write, records prepared outside the clock, 1 run) {:.2} s, \
         {:.2}x a baseline run right after it ({:.2} s)",
        f.storage.as_secs_f64(),
        f.storage.as_secs_f64() / f.storage_base.as_secs_f64(),
        f.storage_base.as_secs_f64()
    );
    println!(
        "  peak RSS while importing (first run) {} MiB (RSS before {} MiB)",
        f.peak_kb / 1024,
        f.rss_before_kb / 1024
    );
    println!(
        "  lookup by UHID at {n}: p50 {:.1} µs, p99 {:.1} µs ({LOOKUPS} lookups)",
        f.p50.as_secs_f64() * 1e6,
        f.p99.as_secs_f64() * 1e6
    );
    println!(
        "  re-import of the same {n} (all unchanged) {:.2} s ({:.0}/s)",
        f.reimport.as_secs_f64(),
        rate(n, f.reimport)
    );
    println!(
        "  read all {n} in pages of 10,000 {:.2} s ({:.0}/s)",
        f.read.as_secs_f64(),
        rate(n, f.read)
    );
}

async fn bench_sqlite(n: usize, runs: usize) -> Figures {
    let mut ours = Vec::new();
    let mut base = Vec::new();
    let mut last = None;
    let mut rss = (0, 0);
    for run in 0..runs {
        let dir = tempfile::tempdir().expect("tempdir");
        let hub = Hub::open(
            SqliteStorage::open(&dir.path().join("hub.sqlite3"), &bench_key()).expect("open"),
            HubConfig::default(),
        )
        .await
        .expect("hub");
        let (d, before, peak) = import(&hub, n, "bench-import-1").await;
        if run == 0 {
            rss = (before, peak);
        }
        ours.push(d);
        eprintln!("sqlite run {run}: ours {:.2} s", d.as_secs_f64());
        let b = tokio::task::spawn_blocking(move || baseline_sqlite(n))
            .await
            .expect("baseline");
        eprintln!("sqlite run {run}: baseline {:.2} s", b.as_secs_f64());
        base.push(b);
        if run + 1 == runs {
            let (p50, p99) = lookups(&hub, n).await;
            let t = Instant::now();
            import(&hub, n, "bench-import-2").await;
            let reimport = t.elapsed();
            let read = read_all(&hub, n).await;
            last = Some((p50, p99, reimport, read, dir));
        }
    }
    let (p50, p99, reimport, read, _dir) = last.expect("a run");
    let (rss_before_kb, peak_kb) = rss;
    let dir = tempfile::tempdir().expect("tempdir");
    let st = SqliteStorage::open(&dir.path().join("storage.sqlite3"), &bench_key()).expect("open");
    let storage = storage_only(&st, n).await;
    drop(st);
    let storage_base = tokio::task::spawn_blocking(move || baseline_sqlite(n))
        .await
        .expect("baseline");
    Figures {
        storage,
        storage_base,
        ours,
        base,
        rss_before_kb,
        peak_kb,
        p50,
        p99,
        reimport,
        read,
    }
}

async fn bench_pg(url: &str, n: usize, runs: usize) -> Figures {
    let mut ours = Vec::new();
    let mut base = Vec::new();
    let mut last = None;
    let mut rss = (0, 0);
    let tag = std::process::id();
    for run in 0..runs {
        // The baseline first, its table dropped before ours is filled: at tens of millions
        // the two would not fit on the disk together.
        let b = baseline_pg(url, &format!("bench_plain_{tag}_{run}"), n).await;
        eprintln!("postgres run {run}: baseline {:.2} s", b.as_secs_f64());
        base.push(b);
        let schema = format!("bench_mirror_{tag}_{run}");
        let hub = Hub::open(
            PgStorage::connect_in(url, Some(&schema))
                .await
                .expect("connect"),
            HubConfig::default(),
        )
        .await
        .expect("hub");
        let (d, before, peak) = import(&hub, n, "bench-import-1").await;
        if run == 0 {
            rss = (before, peak);
        }
        ours.push(d);
        eprintln!("postgres run {run}: ours {:.2} s", d.as_secs_f64());
        if run + 1 == runs {
            let (p50, p99) = lookups(&hub, n).await;
            let (reimport, read) = if quick() {
                (Duration::ZERO, Duration::ZERO)
            } else {
                let t = Instant::now();
                import(&hub, n, "bench-import-2").await;
                (t.elapsed(), read_all(&hub, n).await)
            };
            last = Some((p50, p99, reimport, read));
        }
        drop(hub);
        drop_schema(url, &schema).await;
    }
    let (p50, p99, reimport, read) = last.expect("a run");
    let (rss_before_kb, peak_kb) = rss;
    let (storage, storage_base) = if quick() {
        (Duration::ZERO, Duration::from_secs(1))
    } else {
        let schema = format!("bench_storage_{tag}");
        let st = PgStorage::connect_in(url, Some(&schema))
            .await
            .expect("connect");
        let storage = storage_only(&st, n).await;
        drop(st);
        drop_schema(url, &schema).await;
        (
            storage,
            baseline_pg(url, &format!("bench_plain_{tag}_s"), n).await,
        )
    };
    Figures {
        storage,
        storage_base,
        ours,
        base,
        rss_before_kb,
        peak_kb,
        p50,
        p99,
        reimport,
        read,
    }
}

/// The engine's CPU part alone: check, canonical JSON and hash of every record.
fn prepare_only(n: usize) -> Duration {
    let mut spent = Duration::ZERO;
    for records in Batches::new(n) {
        let t = Instant::now();
        let (rows, dups) = parchi_hub::engine::prepare_mirror(&records).expect("valid");
        spent += t.elapsed();
        assert!(dups.is_empty());
        std::hint::black_box(rows);
    }
    spent
}

fn main() {
    let n = std::env::args()
        .skip(1)
        .find_map(|a| a.replace('_', "").parse::<usize>().ok())
        .unwrap_or(1_000_000)
        .max(1);
    let runs = env_usize("BENCH_RUNS", 3).max(1);
    let sample = CentralGen::new(SEED, "DHP").records(10_000);
    let bytes: usize = sample
        .iter()
        .map(|r| serde_json::to_string(r).map_or(0, |j| j.len()))
        .sum();
    println!(
        "mirror bench: {n} records, {} bytes of canonical JSON each on average, {runs} run(s)",
        bytes / sample.len()
    );
    let prep = prepare_only(n);
    println!(
        "prepare_mirror alone (check + canonical JSON + xxh3 of every record, two threads per batch): {:.2} s ({:.0}/s)",
        prep.as_secs_f64(),
        rate(n, prep)
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if !skip("sqlite") {
        let f = rt.block_on(bench_sqlite(n, runs));
        report("SQLite", n, &f);
    }
    if !skip("pg") {
        match std::env::var("PARCHI_TEST_PG") {
            Ok(url) if !url.is_empty() => {
                let f = rt.block_on(bench_pg(&url, n, runs));
                report("PostgreSQL", n, &f);
            }
            _ => eprintln!("PARCHI_TEST_PG is not set: PostgreSQL skipped"),
        }
    }
}

/// The data key of the benchmark's SQLite hub stores (SQLCipher, as in production).
fn bench_key() -> parchi_keys::DataKey {
    parchi_keys::DataKey::from_bytes(&[9u8; 32]).expect("key")
}
