//! Post-outage sync benchmark: ~2 million ops (two weeks of a big hospital) pushed and merged into
//! the hub, on SQLite and on PostgreSQL, each against a plain bulk insert of the same rows measured
//! in the same run; redelivery of ops already applied; pull of everything into a fresh client.
//!
//! ```text
//! eval "$(scripts/start-postgres.sh)"
//! cargo bench -p parchi-hub --bench hub_bench
//! BENCH_OPS=500000 BENCH_RUNS=1 BENCH_SKIP=http,pg cargo bench -p parchi-hub --bench hub_bench
//! ```
//!
//! Each figure is the median of `BENCH_RUNS` runs (default 3) on a fresh database.

// The allocator `parchi serve` runs with (see parchi-cli's main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use parchi_core::SiteId;
use parchi_hub::engine::{Item, prepare_item};
use parchi_hub::storage::{DeviceRow, Storage};
use parchi_hub::{Hub, HubConfig, PgStorage, Source, SqliteStorage};
use parchi_sync::wire::{Outcome, Role};
use parchi_sync::{ClientConfig, HubClient};

const BATCH: usize = 5_000;

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

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn relay_device() -> DeviceRow {
    DeviceRow {
        device_id: "bench".into(),
        token_hash: [0; 32],
        site: SiteId::from_bytes([0xBE; 16]),
        counter: None,
        role: Role::Hub,
        enrolled_ms: 0,
        revoked_ms: None,
        last_push_ms: None,
        last_pull_ms: None,
        last_pull_cursor: None,
    }
}

fn now_ms() -> u64 {
    parchi_hub::clock::system_now_ms()
}

/// Pushes prepared items into a hub in batches; returns the time spent inside `push`, plus
/// waiting for the last merge to finish (cloning a batch is outside the clock).
async fn apply_all<S: Storage>(
    hub: &Hub<S>,
    items: &[Item],
    expect: fn(&Outcome) -> bool,
) -> Duration {
    let dev = relay_device();
    let mut spent = Duration::ZERO;
    for chunk in items.chunks(BATCH) {
        let batch: Vec<Item> = chunk.to_vec();
        let t = Instant::now();
        let r = hub
            .push(Source::Device(&dev), batch, now_ms())
            .await
            .expect("push");
        spent += t.elapsed();
        assert!(r.iter().all(|x| expect(&x.outcome)), "unexpected outcome");
    }
    // The last push's merge may still run beside the caller: the clock stops once every op is
    // merged.
    let t = Instant::now();
    hub.dirty_records().await.expect("merged");
    spent + t.elapsed()
}

fn baseline_sqlite(items: &[Item]) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = rusqlite::Connection::open(dir.path().join("plain.sqlite3")).expect("open");
    // The same SQLCipher keying as the hub's store, so the baseline differs only in schema.
    parchi_keys::sqlcipher::key_connection(
        &conn,
        &bench_key(),
        Some(parchi_hub::sqlite::PAGE_SIZE),
    )
    .expect("key");
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .expect("pragma");
    let _: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .expect("wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("pragma");
    conn.pragma_update(None, "cache_size", -262_144i64)
        .expect("pragma");
    conn.execute_batch(
        "CREATE TABLE ops (seq INTEGER PRIMARY KEY, op_id BLOB NOT NULL, site BLOB NOT NULL, \
         hlc INTEGER NOT NULL, eff_hlc INTEGER NOT NULL, flags INTEGER NOT NULL, \
         received_ms INTEGER NOT NULL, hash BLOB NOT NULL, payload TEXT NOT NULL)",
    )
    .expect("table");
    let mut conn = conn;
    let t = Instant::now();
    let mut seq = 0i64;
    for chunk in items.chunks(BATCH) {
        let tx = conn.transaction().expect("tx");
        {
            let mut st = tx
                .prepare_cached("INSERT INTO ops VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
                .expect("prepare");
            for it in chunk.iter().flatten() {
                seq += 1;
                st.execute(rusqlite::params![
                    seq,
                    &it.op.id.as_bytes()[..],
                    &it.op.site.as_bytes()[..],
                    parchi_hub::storage::to_i64(it.op.hlc.0),
                    parchi_hub::storage::to_i64(it.op.hlc.0),
                    0i64,
                    0i64,
                    &it.hash.to_be_bytes()[..],
                    it.canonical,
                ])
                .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    t.elapsed()
}

async fn baseline_pg(url: &str, schema: &str, items: &[Item]) -> Duration {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let mut client = client;
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}; \
             CREATE TABLE ops (seq bigint PRIMARY KEY, op_id bytea NOT NULL, site bytea NOT NULL, \
             hlc bigint NOT NULL, eff_hlc bigint NOT NULL, flags bigint NOT NULL, \
             received_ms bigint NOT NULL, hash bytea NOT NULL, payload text NOT NULL)"
        ))
        .await
        .expect("schema");
    let t = Instant::now();
    let mut seq = 0i64;
    for chunk in items.chunks(BATCH) {
        let ok: Vec<_> = chunk.iter().flatten().collect();
        let seqs: Vec<i64> = ok
            .iter()
            .map(|_| {
                seq += 1;
                seq
            })
            .collect();
        let ids: Vec<&[u8]> = ok.iter().map(|i| &i.op.id.as_bytes()[..]).collect();
        let sites: Vec<&[u8]> = ok.iter().map(|i| &i.op.site.as_bytes()[..]).collect();
        let hlc: Vec<i64> = ok
            .iter()
            .map(|i| parchi_hub::storage::to_i64(i.op.hlc.0))
            .collect();
        let zero: Vec<i64> = vec![0; ok.len()];
        let hash: Vec<Vec<u8>> = ok.iter().map(|i| i.hash.to_be_bytes().to_vec()).collect();
        let payload: Vec<&str> = ok.iter().map(|i| i.canonical.as_str()).collect();
        let tx = client.transaction().await.expect("tx");
        tx.execute(
            "INSERT INTO ops SELECT * FROM UNNEST($1::int8[], $2::bytea[], $3::bytea[], $4::int8[], \
             $5::int8[], $6::int8[], $7::int8[], $8::bytea[], $9::text[])",
            &[&seqs, &ids, &sites, &hlc, &hlc, &zero, &zero, &hash, &payload],
        )
        .await
        .expect("insert");
        tx.commit().await.expect("commit");
    }
    let d = t.elapsed();
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .expect("drop");
    d
}

/// Resident memory of this process, in MB (Linux).
fn rss_mb() -> f64 {
    parchi_platform::measure::memory_kib(parchi_platform::measure::Memory::Resident)
        .map_or(0.0, |kb| kb as f64 / 1024.0)
}

/// After the push and redelivery: reopen with the whole log to merge (no checkpoint yet), then
/// checkpoint, then reopen from the checkpoint. Returns (replay start, checkpoint, start).
async fn restart_costs<S: Storage, F, Fut>(hub: Hub<S>, open: F) -> (Duration, Duration, Duration)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    drop(hub);
    let t = Instant::now();
    let hub = Hub::open(open().await, HubConfig::default())
        .await
        .expect("reopen");
    let replay = t.elapsed();
    let t = Instant::now();
    hub.checkpoint().await.expect("checkpoint");
    let ckpt = t.elapsed();
    drop(hub);
    let t = Instant::now();
    let hub = Hub::open(open().await, HubConfig::default())
        .await
        .expect("reopen");
    let start = t.elapsed();
    drop(hub);
    (replay, ckpt, start)
}

fn report(name: &str, n: usize, ours: Duration, base: Option<Duration>) {
    match base {
        Some(b) => println!(
            "{name:<44} {n:>9} ops  median {:>8.3} s  {:>10.0} ops/s  baseline {:>8.3} s  ratio {:>5.2}x",
            ours.as_secs_f64(),
            rate(n, ours),
            b.as_secs_f64(),
            ours.as_secs_f64() / b.as_secs_f64()
        ),
        None => println!(
            "{name:<44} {n:>9} ops  median {:>8.3} s  {:>10.0} ops/s",
            ours.as_secs_f64(),
            rate(n, ours)
        ),
    }
}

fn main() {
    let n = env_usize("BENCH_OPS", 2_000_000);
    let runs = env_usize("BENCH_RUNS", 3).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let t = Instant::now();
    let ops = parchi_hub::workload::mixed(n, 20, 2026, now_ms() - 14 * 24 * 3_600_000);
    println!(
        "generated {n} ops from 20 counters in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let items: Vec<Item> = ops.iter().cloned().map(|o| prepare_item(o, None)).collect();
    let prep = t.elapsed();
    assert!(items.iter().all(|i| i.is_ok()), "workload ops are valid");
    report("prepare (validate + canonical JSON + hash)", n, prep, None);
    let bytes: usize = items.iter().flatten().map(|i| i.canonical.len()).sum();
    println!(
        "payload: {:.0} MB of canonical JSON, {:.0} bytes/op",
        bytes as f64 / 1e6,
        bytes as f64 / n as f64
    );

    {
        // The op log's segment encoding (what each commit compresses), on the first batch.
        let ops: Vec<parchi_hub::storage::NewOp> = items
            .iter()
            .take(BATCH)
            .flatten()
            .enumerate()
            .map(|(i, it)| parchi_hub::storage::NewOp {
                seq: i as u64 + 1,
                op_id: it.op.id,
                site: it.op.site,
                hlc: it.op.hlc,
                eff_hlc: it.op.hlc,
                flags: 0,
                received_ms: 0,
                hash: it.hash,
                payload: it.canonical.clone(),
            })
            .collect();
        let mut buf = parchi_hub::storage::SegmentBuf::default();
        let t = Instant::now();
        for _ in 0..20 {
            buf.encode(&ops, None).expect("encode");
        }
        let per = t.elapsed() / 20;
        let raw: usize = ops.iter().map(|o| o.payload.len() + 4).sum();
        println!(
            "segment of {} ops: {:.2} ms to encode, {} KB of JSON -> {} KB body + {} KB keys ({:.1}x)",
            ops.len(),
            per.as_secs_f64() * 1e3,
            raw / 1024,
            buf.body.len() / 1024,
            buf.keys.len() / 1024,
            raw as f64 / (buf.body.len() + buf.keys.len()) as f64
        );
    }

    if !skip("sqlite") {
        let mut apply = Vec::new();
        let mut redeliver = Vec::new();
        let mut base = Vec::new();
        let mut restarts = Vec::new();
        for _ in 0..runs {
            base.push(baseline_sqlite(&items));
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("hub.sqlite3");
            let storage = SqliteStorage::open(&path, &bench_key()).expect("open");
            let rss0 = rss_mb();
            let (a, r, rs) = rt.block_on(async {
                let hub = Hub::open(storage, HubConfig::default()).await.expect("hub");
                let a = apply_all(&hub, &items, |o| matches!(o, Outcome::Applied { .. })).await;
                let (l, c, m, w) = hub.push_timings().seconds();
                println!(
                    "  sqlite run: push {:.3} s (lock {l:.3}, classify {c:.3}, write {w:.3}, waiting for the previous merge {m:.3}); \
                     hub memory after the push ~{:.0} MB (RSS growth)",
                    a.as_secs_f64(),
                    rss_mb() - rss0
                );
                let r = apply_all(&hub, &items, |o| *o == Outcome::Duplicate).await;
                let p = path.clone();
                let rs = if skip("restart") {
                    None
                } else {
                    Some(
                        restart_costs(hub, move || {
                            let p = p.clone();
                            async move { SqliteStorage::open(&p, &bench_key()).expect("reopen") }
                        })
                        .await,
                    )
                };
                (a, r, rs)
            });
            apply.push(a);
            redeliver.push(r);
            restarts.extend(rs);
        }
        let b = median(base);
        if !restarts.is_empty() {
            report(
                "sqlite: start merging the whole log",
                n,
                median(restarts.iter().map(|r| r.0).collect()),
                None,
            );
            report(
                "sqlite: checkpoint of all merged records",
                n,
                median(restarts.iter().map(|r| r.1).collect()),
                None,
            );
            report(
                "sqlite: start from the checkpoint",
                n,
                median(restarts.iter().map(|r| r.2).collect()),
                None,
            );
        }
        report(
            "sqlite: push + merge (storage level)",
            n,
            median(apply),
            Some(b),
        );
        report(
            "sqlite: redelivery of applied ops",
            n,
            median(redeliver),
            Some(b),
        );
    }

    if !skip("pg") {
        let url = std::env::var("PARCHI_TEST_PG").unwrap_or_else(|_| {
            panic!("PARCHI_TEST_PG is not set: eval \"$(scripts/start-postgres.sh)\" (or BENCH_SKIP=pg)")
        });
        let mut apply = Vec::new();
        let mut redeliver = Vec::new();
        let mut base = Vec::new();
        let mut ckpts = Vec::new();
        for run in 0..runs {
            let b = rt.block_on(baseline_pg(&url, &format!("bench_plain_{run}"), &items));
            base.push(b);
            let schema = format!("bench_hub_{run}_{}", std::process::id());
            let (a, r, ck) = rt.block_on(async {
                let storage = PgStorage::connect_in(&url, Some(&schema))
                    .await
                    .expect("pg");
                let hub = Hub::open(storage, HubConfig::default()).await.expect("hub");
                let a = apply_all(&hub, &items, |o| matches!(o, Outcome::Applied { .. })).await;
                let (l, c, m, w) = hub.push_timings().seconds();
                println!(
                    "  postgres run: push {:.3} s (lock {l:.3}, classify {c:.3}, write {w:.3}, waiting for the previous merge {m:.3})",
                    a.as_secs_f64(),
                );
                let r = apply_all(&hub, &items, |o| *o == Outcome::Duplicate).await;
                let t = Instant::now();
                hub.checkpoint().await.expect("checkpoint");
                let ck = t.elapsed();
                drop(hub);
                let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .expect("connect");
                tokio::spawn(conn);
                c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                    .await
                    .expect("drop");
                (a, r, ck)
            });
            apply.push(a);
            redeliver.push(r);
            ckpts.push(ck);
        }
        let b = median(base);
        report(
            "postgres: checkpoint of all merged records",
            n,
            median(ckpts),
            None,
        );
        report(
            "postgres: push + merge (storage level)",
            n,
            median(apply),
            Some(b),
        );
        report(
            "postgres: redelivery of applied ops",
            n,
            median(redeliver),
            Some(b),
        );
    }

    if !skip("http") {
        // End to end over HTTP on loopback: a client serialising and pushing 5,000-op batches to a
        // SQLite hub on the same 2 cores, then a fresh client pulling everything.
        let dir = tempfile::tempdir().expect("tempdir");
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let opts = parchi_hub::ServeOptions {
            data_dir: dir.path().to_path_buf(),
            listen: "127.0.0.1:0".into(),
            admin_secret: Some("bench".into()),
            config: HubConfig {
                max_batch_ops: BATCH,
                max_body_bytes: 64 * 1024 * 1024,
                ..HubConfig::default()
            },
            ..parchi_hub::ServeOptions::default()
        };
        let server = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(parchi_hub::serve(
                opts,
                move |a| {
                    let _ = addr_tx.send(a);
                },
                async move {
                    let _ = stop_rx.await;
                },
            ))
            .expect("serve");
        });
        let addr = addr_rx.recv().expect("addr");
        let url = format!("http://{addr}");
        let admin = HubClient::new(&url, ClientConfig::default()).expect("client");
        let code = admin
            .admin_enroll_code("bench", Role::Hub, None)
            .expect("code");
        let e = admin
            .enroll(&code.code, SiteId::from_bytes([0xBE; 16]), None)
            .expect("enrol");
        let client = admin.clone().with_token(e.token);
        let t = Instant::now();
        for chunk in ops.chunks(BATCH) {
            let r = client.push(chunk).expect("push");
            assert_eq!(r.results.len(), chunk.len());
        }
        report(
            "http: push + merge, end to end (sqlite)",
            n,
            t.elapsed(),
            None,
        );
        let t = Instant::now();
        for chunk in ops.chunks(BATCH) {
            client.push(chunk).expect("push");
        }
        report(
            "http: redelivery, end to end (sqlite)",
            n,
            t.elapsed(),
            None,
        );
        let t = Instant::now();
        let mut after = 0;
        let mut got = 0;
        loop {
            let p = client.pull(after, 10_000).expect("pull");
            got += p.ops.len();
            after = p.next;
            if !p.more {
                break;
            }
        }
        assert_eq!(got, n);
        report(
            "http: pull everything into a fresh client",
            n,
            t.elapsed(),
            None,
        );
        let _ = stop_tx.send(());
        let _ = server.join();
    }
}

/// The data key of the benchmark's SQLite hub stores (SQLCipher, as in production).
fn bench_key() -> parchi_keys::DataKey {
    parchi_keys::DataKey::from_bytes(&[9u8; 32]).expect("key")
}
