//! Counter benchmarks: registration latency of the encrypted store against the unencrypted
//! store, its durable commit against plain inserts of the same rows at the same durability, and
//! search latency, at a given number of stored patients.
//!
//! `cargo bench -p parchi-store --bench counter -- 100000 1000000`
//!
//! For each size it fills two stores with the same registrations (bulk, in large
//! transactions): the counter's store, encrypted with SQLCipher, and the same store unencrypted
//! (SQLCipher without a key). Then it measures, in the same run, samples interleaved so all see
//! the same machine state:
//! - `register`: `Store::register` end to end, on each store: the durable transaction (patient,
//!   visit, token, 2 operations, the name's index mark; WAL + synchronous=FULL), then the name
//!   index caught up in a transaction of its own (synchronous=NORMAL);
//! - `commit`: the durable transaction alone, and the catch-up after it, timed apart;
//! - the baselines: plain inserts of the same rows, as PRODUCT.md words it (patient, visit,
//!   token and operations): a patient row, a token row, a visit row and two operation rows with
//!   JSON bodies per transaction, into an equally filled database with the store's PRAGMAs
//!   (WAL + synchronous=FULL, the same page cache), once keyed like the store (SQLCipher) and
//!   once plain;
//! - search on the encrypted store: exact mobile, exact temporary ID, and misspelt names.
//!
//! Ratios are of medians (p50) and of 99th percentiles. `PARCHI_BENCH_DIR` keeps the filled
//! stores and baselines between runs; `PARCHI_BENCH_SAMPLES` sets the number of samples.

mod synth;

use std::path::{Path, PathBuf};
use std::time::{Duration as Wait, Instant};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use parchi_core::CounterCode;
use parchi_store::{DataKey, NewRegistration, Stamping, Store};
use rusqlite::{Connection, params};
use synth::{Rng, misspell, registration};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn summarise(mut xs: Vec<f64>) -> (f64, f64) {
    xs.sort_by(f64::total_cmp);
    (percentile(&xs, 0.5), percentile(&xs, 0.99))
}

fn start() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 1, 1)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("date")
}

/// The data key of the bench's encrypted stores (fixed: the stores are kept between runs).
fn bench_key() -> DataKey {
    DataKey::from_bytes(&[7; 32]).expect("32 bytes")
}

/// A filled store and queries sampled from what it holds.
struct Filled {
    store: Store,
    mobiles: Vec<String>,
    temps: Vec<String>,
    names: Vec<String>,
}

fn fill(dir: &Path, n: usize, encrypted: bool) -> Filled {
    // The same seed for both stores: they hold the same registrations.
    let mut rng = Rng(0x5eed_0000 + n as u64);
    let mut fill_rng = Rng(rng.next() | 1);
    let mut random = |b: &mut [u8]| fill_rng.fill(b);
    let mut st = Stamping {
        now_ms: 1_767_238_200_000,
        local: start(),
        random: &mut random,
    };
    let counter = CounterCode::parse("A").expect("c");
    let mut store = if encrypted {
        Store::create(dir, &bench_key(), counter, "{}", &mut st)
    } else {
        Store::create_unencrypted_for_bench(dir, counter, "{}", &mut st)
    }
    .expect("create");
    let (mut mobiles, mut temps, mut names) = (Vec::new(), Vec::new(), Vec::new());
    let t = Instant::now();
    let per_day = 50_000; // a new day every 50k keeps temporary IDs within a day's capacity
    let mut done = 0;
    while done < n {
        let k = (n - done).min(5_000);
        let day_no = (done / per_day) as i64;
        st.local = start() + Duration::days(day_no);
        st.now_ms = 1_767_238_200_000 + day_no as u64 * 86_400_000;
        let batch: Vec<(NewRegistration, String)> =
            (0..k).map(|_| registration(&mut rng, st.today())).collect();
        let regs: Vec<NewRegistration> = batch.iter().map(|b| b.0.clone()).collect();
        let out = store.register_many(&regs, &mut st).expect("fill");
        for (r, (reg, m)) in out.iter().zip(batch) {
            if rng.next().is_multiple_of(50) {
                mobiles.push(m);
                temps.push(r.temp_id.to_string());
                names.push(reg.fields.name.to_string());
            }
        }
        done += k;
    }
    store.optimize().expect("optimize");
    eprintln!(
        "  filled {n} registrations ({}) in {:.1}s",
        if encrypted {
            "encrypted"
        } else {
            "unencrypted"
        },
        t.elapsed().as_secs_f64()
    );
    Filled {
        store,
        mobiles,
        temps,
        names,
    }
}

/// Opens a store filled by an earlier run (PARCHI_BENCH_DIR) and samples queries from it.
fn reopen(dir: &Path, encrypted: bool) -> Filled {
    let store = if encrypted {
        Store::open(dir, &bench_key())
    } else {
        Store::open_unencrypted_for_bench(dir)
    }
    .expect("reopen");
    let mut q = store
        .connection()
        .prepare("SELECT mobile, temp_id, name FROM patients WHERE rowid % 50 = 7")
        .expect("sample");
    let rows: Vec<(String, String, String)> = q
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("rows")
        .map(|r| r.expect("row"))
        .collect();
    drop(q);
    Filled {
        store,
        temps: rows
            .iter()
            .map(|r| parchi_core::TempId::parse(&r.1).expect("temp").to_string())
            .collect(),
        mobiles: rows.iter().map(|r| r.0.clone()).collect(),
        names: rows.into_iter().map(|r| r.2).collect(),
    }
}

fn open_or_fill(kept: Option<&Path>, tmp: &Path, name: &str, n: usize, enc: bool) -> Filled {
    match kept {
        Some(k) if k.join(name).join(parchi_store::DB_FILE).exists() => reopen(&k.join(name), enc),
        Some(k) => fill(&k.join(name), n, enc),
        None => fill(&tmp.join(name), n, enc),
    }
}

/// A baseline database with the store's PRAGMAs: keyed like the store when `key` is given
/// (the same SQLCipher settings), WAL, synchronous=FULL, the same page cache.
fn baseline_open(path: &Path, key: Option<&DataKey>) -> Connection {
    let conn = Connection::open(path).expect("baseline");
    if let Some(key) = key {
        parchi_keys::sqlcipher::key_connection(&conn, key, None).expect("key");
    }
    conn.busy_timeout(Wait::from_secs(5)).expect("busy");
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -{};",
        parchi_store::DEFAULT_CACHE_KIB
    ))
    .expect("baseline pragmas");
    conn
}

fn baseline_schema(conn: &Connection) {
    conn.execute_batch(
        "CREATE TABLE patients (id BLOB PRIMARY KEY, temp_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, sex TEXT,
             birth_date TEXT, mobile TEXT, fields TEXT);
         CREATE INDEX patients_mobile ON patients (mobile);
         CREATE TABLE visits (id BLOB PRIMARY KEY, patient BLOB NOT NULL, department TEXT NOT NULL, day TEXT NOT NULL,
             token_counter TEXT NOT NULL, token_seq INTEGER NOT NULL, fee INTEGER NOT NULL,
             UNIQUE (department, day, token_counter, token_seq));
         CREATE TABLE tokens (department TEXT NOT NULL, day TEXT NOT NULL, last INTEGER NOT NULL,
             PRIMARY KEY (department, day)) WITHOUT ROWID;
         CREATE TABLE ops (seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, hlc INTEGER NOT NULL,
             body TEXT NOT NULL);",
    )
    .expect("baseline schema");
}

fn baseline_insert(conn: &Connection, rng: &mut Rng, reg: &NewRegistration, day: &str, seq: i64) {
    let mut id = [0u8; 16];
    rng.fill(&mut id);
    let mut vid = [0u8; 16];
    rng.fill(&mut vid);
    let fields = serde_json::to_string(&reg.fields).expect("json");
    conn.prepare_cached("INSERT INTO patients VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .expect("prep")
        .execute(params![
            &id[..],
            format!("T{}", rng.next()),
            reg.fields.name.as_str(),
            reg.fields.sex.code(),
            reg.fields.birth.date.to_string(),
            reg.fields.mobile.as_ref().map(|m| m.as_str()),
            fields
        ])
        .expect("patient");
    conn.prepare_cached(
        "INSERT INTO tokens VALUES (?1, ?2, ?3) ON CONFLICT (department, day) DO UPDATE SET last = last + 1",
    )
    .expect("prep")
    .execute(params![reg.visit.department.as_str(), day, seq])
    .expect("token");
    conn.prepare_cached("INSERT INTO visits VALUES (?1, ?2, ?3, ?4, 'A', ?5, 10)")
        .expect("prep")
        .execute(params![
            &vid[..],
            &id[..],
            reg.visit.department.as_str(),
            day,
            seq
        ])
        .expect("visit");
    // The registration's two operations (patient created, visit created), as JSON.
    let visit_json = format!(
        r#"{{"id":"{}","patient":"{}","department":"{}","day":"{day}","token":{seq}}}"#,
        u128::from_be_bytes(vid),
        u128::from_be_bytes(id),
        reg.visit.department.as_str()
    );
    for body in [&fields, &visit_json] {
        let mut op_id = [0u8; 16];
        rng.fill(&mut op_id);
        conn.prepare_cached("INSERT INTO ops (id, hlc, body) VALUES (?1, ?2, ?3)")
            .expect("prep")
            .execute(params![&op_id[..], seq, body])
            .expect("op");
    }
}

/// A baseline database holding `n` rows, kept under PARCHI_BENCH_DIR when set.
fn baseline(path: &Path, n: usize, key: Option<&DataKey>, rng: &mut Rng) -> Connection {
    let existed = path.exists();
    let conn = baseline_open(path, key);
    if existed {
        return conn;
    }
    baseline_schema(&conn);
    let t = Instant::now();
    conn.execute_batch("PRAGMA synchronous = OFF; BEGIN")
        .expect("bulk");
    for i in 0..n {
        let (reg, _) = registration(rng, start().date());
        let day = format!("2025-{:02}-01", 1 + i / 100_000);
        baseline_insert(&conn, rng, &reg, &day, i as i64);
    }
    conn.execute_batch("COMMIT; PRAGMA synchronous = FULL")
        .expect("bulk commit");
    // The bulk transaction's WAL into the file, as the stores' smaller fill transactions did.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    eprintln!(
        "  filled baseline {} with {n} rows in {:.1}s",
        path.display(),
        t.elapsed().as_secs_f64()
    );
    conn
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// One measured series: its samples, then its (p50, p99).
#[derive(Default)]
struct Series(Vec<f64>);

impl Series {
    fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let out = f();
        self.0.push(ms(t));
        out
    }
}

fn row(n: usize, what: &str, ours: Series, base_name: &str, base: Series) {
    let (o50, o99) = summarise(ours.0);
    let (b50, b99) = summarise(base.0);
    println!(
        "| {n} | {what} | {o50:.3} | {o99:.3} | {base_name} | {b50:.3} | {b99:.3} | **{:.2}x** / {:.2}x |",
        o50 / b50,
        o99 / b99
    );
}

fn run(n: usize, samples: usize) {
    eprintln!("== {n} patients");
    let dir = tempfile::tempdir().expect("tmp");
    // PARCHI_BENCH_DIR keeps filled stores between runs (filling 1M takes minutes).
    let kept: Option<PathBuf> = std::env::var_os("PARCHI_BENCH_DIR").map(PathBuf::from);
    let kept = kept.as_deref();
    let Filled {
        store: mut enc,
        mobiles,
        temps,
        names,
    } = open_or_fill(kept, dir.path(), &format!("store-{n}"), n, true);
    let mut plain_store =
        open_or_fill(kept, dir.path(), &format!("store-plain-{n}"), n, false).store;
    // Seeded from the clock: a re-run over kept baselines must not mint the IDs of the last.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut rng = Rng((0xba5e_0000 + n as u64) ^ nanos | 1);
    let base_dir = kept.unwrap_or(dir.path());
    let key = bench_key();
    let cipher_base = baseline(
        &base_dir.join(format!("baseline-sqlcipher-{n}.db")),
        n,
        Some(&key),
        &mut rng,
    );
    let plain_base = baseline(
        &base_dir.join(format!("baseline-plain-{n}.db")),
        n,
        None,
        &mut rng,
    );

    let mut st_rng = Rng(rng.next() | 1);
    let mut random = |b: &mut [u8]| st_rng.fill(b);
    let day = start() + Duration::days(400);
    let mut st = Stamping {
        now_ms: 1_801_000_000_000,
        local: day,
        random: &mut random,
    };
    let (mut enc_reg, mut plain_reg) = (Series::default(), Series::default());
    let (mut enc_commit, mut enc_index) = (Series::default(), Series::default());
    let (mut plain_commit, mut plain_index) = (Series::default(), Series::default());
    let (mut cipher_rows, mut plain_rows) = (Series::default(), Series::default());
    let mut seq = 1_000_000_000 + i64::from(rng.next() as u32);
    let mut insert = |conn: &Connection, rows: &mut Series, rng: &mut Rng| {
        let (reg, _) = registration(rng, day.date());
        seq += 1;
        rows.time(|| {
            conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
            baseline_insert(conn, rng, &reg, "2027-02-05", seq);
            conn.execute_batch("COMMIT").expect("commit");
        });
    };
    for _ in 0..samples {
        let (reg, _) = registration(&mut rng, day.date());
        enc_reg.time(|| enc.register(&reg, &mut st).expect("register"));
        plain_reg.time(|| plain_store.register(&reg, &mut st).expect("register"));
        insert(&cipher_base, &mut cipher_rows, &mut rng);
        insert(&plain_base, &mut plain_rows, &mut rng);

        let (reg, _) = registration(&mut rng, day.date());
        enc_commit.time(|| {
            enc.register_durable_for_bench(&reg, &mut st)
                .expect("commit")
        });
        enc_index.time(|| assert_eq!(enc.catch_up_names().expect("index"), 1));
        plain_commit.time(|| {
            plain_store
                .register_durable_for_bench(&reg, &mut st)
                .expect("commit")
        });
        plain_index.time(|| assert_eq!(plain_store.catch_up_names().expect("index"), 1));
        st.now_ms += 1;
    }
    let (i50, i99) = summarise(enc_index.0.clone());
    let (u50, u99) = summarise(plain_index.0.clone());
    let total = |c: &Series, i: &Series| Series(c.0.iter().zip(&i.0).map(|(a, b)| a + b).collect());
    let enc_total = total(&enc_commit, &enc_index);
    let plain_total = total(&plain_commit, &plain_index);
    row(
        n,
        "register (encrypted)",
        enc_reg,
        "unencrypted store",
        plain_reg,
    );
    row(
        n,
        "commit + index apart (encrypted)",
        enc_total,
        "unencrypted store",
        plain_total,
    );
    row(
        n,
        "commit (encrypted)",
        enc_commit,
        "plain SQLCipher",
        cipher_rows,
    );
    row(
        n,
        "commit (unencrypted)",
        plain_commit,
        "plain SQLite",
        plain_rows,
    );
    println!(
        "| {n} | name index catch-up (encrypted) | {i50:.3} | {i99:.3} | unencrypted | {u50:.3} | {u99:.3} | |"
    );

    // Search, each query on both stores in turn: the unencrypted store is the baseline.
    let time_queries = |qs: &[String]| -> (Series, Series, usize) {
        let (mut ours, mut base) = (Series::default(), Series::default());
        let mut found = 0;
        for q in qs {
            let hits = ours.time(|| enc.search(q, 10).expect("search"));
            found += usize::from(!hits.is_empty());
            base.time(|| plain_store.search(q, 10).expect("search"));
        }
        (ours, base, found)
    };
    let mobiles = &mobiles[..mobiles.len().min(1000)];
    let temps = &temps[..temps.len().min(1000)];
    let typos: Vec<String> = names
        .iter()
        .take(500)
        .map(|n| misspell(n, &mut rng))
        .collect();
    let base = "unencrypted store";
    let (ours, plain, found) = time_queries(mobiles);
    let what = format!("search: exact mobile ({found}/{} found)", mobiles.len());
    row(n, &what, ours, base, plain);
    let (ours, plain, found) = time_queries(temps);
    let what = format!("search: exact temporary ID ({found}/{} found)", temps.len());
    row(n, &what, ours, base, plain);
    let (ours, plain, found) = time_queries(&typos);
    let top3 = typos
        .iter()
        .zip(&names)
        .filter(|(q, n)| {
            enc.search(q, 3)
                .expect("search")
                .iter()
                .any(|h| h.patient.fields.name.as_str() == n.as_str())
        })
        .count();
    let what = format!(
        "search: misspelt name ({found}/{} with results, {top3} right name in top 3)",
        typos.len()
    );
    row(n, &what, ours, base, plain);
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if args.is_empty() { vec![100_000] } else { args };
    let samples = std::env::var("PARCHI_BENCH_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    println!(
        "| patients | what | p50 ms | p99 ms | baseline | p50 ms | p99 ms | ratio p50 / p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for n in sizes {
        run(n, samples);
    }
}
