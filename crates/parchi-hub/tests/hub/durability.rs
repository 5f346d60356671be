//! The merged state's durability under the log-plus-checkpoint design, against both backends:
//! - a hub with nothing checkpointed rebuilds every record from the op log at start;
//! - a checkpoint taken part-way, with more ops after it, restarts to the same state;
//! - a database written by schema version 1 (one row per op, states as JSON rows) is converted
//!   on open and serves the same ops, the same merged state, and dedupes against its old ops.

use std::collections::HashMap;
use std::future::Future;

use parchi_core::{Op, Replica};
use parchi_hub::engine::{Item, parse_item, payload_hash};
use parchi_hub::state::{Entity, PatientState, VisitState, entity_of};
use parchi_hub::storage::Storage;
use parchi_hub::workload::mixed;
use parchi_hub::{Hub, HubConfig, Source, SqliteStorage};
use parchi_sync::wire::{Outcome, PullResponse};

use crate::common::{now_ms, pg_open, pg_url, rt, unique_schema};

fn items(ops: &[Op]) -> Vec<Item> {
    ops.iter()
        .map(|o| parse_item(&serde_json::to_string(o).expect("json"), None))
        .collect()
}

fn replica(ops: &[Op]) -> Replica {
    let mut r = Replica::new();
    for op in ops {
        r.apply(op);
    }
    r
}

async fn pull_payloads<S: Storage>(hub: &Hub<S>) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let p = hub.pull(None, after, 333, now_ms()).await.expect("pull");
        let resp: PullResponse = serde_json::from_str(&p.to_json()).expect("pull json");
        parchi_sync::client::check_page(after, 333, &resp).expect("page contract");
        out.extend(
            p.ops
                .iter()
                .map(|o| (o.seq, o.payload.clone()))
                .collect::<Vec<_>>(),
        );
        after = resp.next;
        if !resp.more {
            return out;
        }
    }
}

async fn assert_state<S: Storage>(hub: &Hub<S>, expected: &Replica) {
    assert_eq!(
        hub.patients().await.expect("patients"),
        expected.patients().collect::<Vec<_>>()
    );
    assert_eq!(
        hub.visits().await.expect("visits"),
        expected.visits().collect::<Vec<_>>()
    );
}

/// Pushes, restarts with nothing checkpointed, checkpoints part-way, pushes more, restarts.
async fn restarts<S, F, Fut>(open: F)
where
    S: Storage,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    // Ops stamped in the past, from 4 sites, relayed (role hub) so any site may push.
    let ops = mixed(3_000, 4, 7, now_ms() - 3_600_000);
    let (first, rest) = ops.split_at(1_700);
    let src = Source::Upstream;
    let hub = Hub::open(open().await, HubConfig::default())
        .await
        .expect("open");
    for chunk in first.chunks(400) {
        hub.push(src, items(chunk), now_ms()).await.expect("push");
    }
    assert!(hub.dirty_records().await.expect("dirty records") > 0);
    drop(hub);

    // Nothing was checkpointed: the state comes back from the log alone.
    let hub = Hub::open(open().await, HubConfig::default())
        .await
        .expect("reopen");
    assert_eq!(hub.head(), 1_700);
    assert_state(&hub, &replica(first)).await;
    let report = hub.checkpoint().await.expect("checkpoint");
    assert_eq!(report.state_seq, 1_700);
    assert!(report.records > 0);
    assert_eq!(hub.dirty_records().await.expect("dirty records"), 0);
    // A second checkpoint with nothing new writes nothing.
    assert_eq!(hub.checkpoint().await.expect("checkpoint").records, 0);

    // More ops after the checkpoint (touching records it holds), then a restart: checkpointed
    // states plus the log after them.
    for chunk in rest.chunks(500) {
        hub.push(src, items(chunk), now_ms()).await.expect("push");
    }
    let pulled = pull_payloads(&hub).await;
    drop(hub);
    let hub = Hub::open(open().await, HubConfig::default())
        .await
        .expect("reopen");
    assert_eq!(hub.head(), 3_000);
    assert_state(&hub, &replica(&ops)).await;
    assert_eq!(pull_payloads(&hub).await, pulled);
    // Every op is still known: redelivery is all duplicates and stores nothing.
    let r = hub.push(src, items(&ops), now_ms()).await.expect("again");
    assert!(r.iter().all(|x| x.outcome == Outcome::Duplicate));
    assert_eq!(hub.head(), 3_000);
    assert_eq!(hub.counts().await.expect("counts").ops, 3_000);

    // A checkpoint of everything, a restart from it alone.
    hub.checkpoint().await.expect("checkpoint");
    drop(hub);
    let hub = Hub::open(open().await, HubConfig::default())
        .await
        .expect("reopen");
    assert_eq!(
        hub.dirty_records().await.expect("dirty records"),
        0,
        "nothing left to merge from the log"
    );
    assert_state(&hub, &replica(&ops)).await;
}

/// A big push (its segment body compressed ahead while it is classified) that is not all new:
/// a resent op, an op twice in the batch and an invalid op in the middle. Exactly the accepted
/// ops are stored, in order, once each; the state and the log survive a restart.
async fn mixed_big_push<S, F, Fut>(open: F)
where
    S: Storage,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let ops = mixed(1_200, 3, 11, now_ms() - 3_600_000);
    let src = Source::Upstream;
    let hub = Hub::open(open().await, HubConfig::default())
        .await
        .expect("open");
    // An all-new big push: stored from the body compressed ahead.
    hub.push(src, items(&ops[..500]), now_ms())
        .await
        .expect("push");
    let mut batch = items(&ops[500..]);
    batch.insert(300, items(&ops[10..11]).remove(0)); // resent from the first push
    batch.insert(400, items(&ops[700..701]).remove(0)); // twice in this batch
    batch.insert(
        450,
        parse_item(r#"{"id":"not an op"}"#, None), // rejected alone
    );
    let r = hub.push(src, batch, now_ms()).await.expect("push");
    let applied = r
        .iter()
        .filter(|x| matches!(x.outcome, Outcome::Applied { .. }))
        .count();
    assert_eq!(applied, 700);
    assert_eq!(
        r.iter().filter(|x| x.outcome == Outcome::Duplicate).count(),
        2
    );
    assert_eq!(hub.head(), 1_200);
    let expected: Vec<(u64, String)> = ops
        .iter()
        .enumerate()
        .map(|(i, o)| (i as u64 + 1, serde_json::to_string(o).expect("json")))
        .collect();
    assert_eq!(pull_payloads(&hub).await, expected);
    assert_state(&hub, &replica(&ops)).await;
    drop(hub);
    let hub = Hub::open(open().await, HubConfig::default())
        .await
        .expect("reopen");
    assert_eq!(pull_payloads(&hub).await, expected);
    assert_state(&hub, &replica(&ops)).await;
}

#[test]
fn a_big_push_not_all_new_stores_exactly_its_new_ops_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hub.sqlite3");
    rt().block_on(mixed_big_push(|| {
        let p = path.clone();
        async move { SqliteStorage::open(&p, &crate::common::test_key()).expect("open sqlite") }
    }));
}

#[test]
fn a_big_push_not_all_new_stores_exactly_its_new_ops_postgres() {
    let url = pg_url();
    let schema = unique_schema("mixedpush");
    rt().block_on(mixed_big_push(|| {
        let (u, s) = (url.clone(), schema.clone());
        async move { pg_open(&u, &s).await }
    }));
}

/// Pushes abandoned part-way (a client hanging up: the push's future is dropped at whichever
/// await it reached, before, during or after its write) leave the hub consistent: resending
/// everything stores each op exactly once, and the merged state is the replica's, before and
/// after a restart.
#[test]
fn pushes_dropped_part_way_leave_the_hub_consistent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hub.sqlite3");
    let open = || SqliteStorage::open(&path, &crate::common::test_key()).expect("open sqlite");
    rt().block_on(async {
        let ops = mixed(4_000, 3, 21, now_ms() - 3_600_000);
        let src = Source::Upstream;
        let hub = Hub::open(open(), HubConfig::default()).await.expect("open");
        let cuts = [0u64, 50, 200, 1_000, 3_000, 10_000, 30_000];
        for (i, chunk) in ops.chunks(400).enumerate() {
            let cut = std::time::Duration::from_micros(cuts[i % cuts.len()]);
            let _ = tokio::time::timeout(cut, hub.push(src, items(chunk), now_ms())).await;
        }
        for chunk in ops.chunks(400) {
            hub.push(src, items(chunk), now_ms()).await.expect("push");
        }
        let mut want: Vec<String> = ops
            .iter()
            .map(|o| serde_json::to_string(o).expect("json"))
            .collect();
        want.sort();
        let stored = |pulled: Vec<(u64, String)>| {
            let seqs: Vec<u64> = pulled.iter().map(|(s, _)| *s).collect();
            assert_eq!(seqs, (1..=4_000).collect::<Vec<u64>>(), "seqs without gaps");
            let mut got: Vec<String> = pulled.into_iter().map(|(_, p)| p).collect();
            got.sort();
            got
        };
        assert_eq!(hub.head(), 4_000);
        assert_eq!(stored(pull_payloads(&hub).await), want);
        assert_state(&hub, &replica(&ops)).await;
        hub.checkpoint().await.expect("checkpoint");
        drop(hub);
        let hub = Hub::open(open(), HubConfig::default())
            .await
            .expect("reopen");
        assert_eq!(stored(pull_payloads(&hub).await), want);
        assert_state(&hub, &replica(&ops)).await;
    });
}

#[test]
fn state_survives_restarts_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hub.sqlite3");
    rt().block_on(restarts(|| {
        let p = path.clone();
        async move { SqliteStorage::open(&p, &crate::common::test_key()).expect("open sqlite") }
    }));
}

#[test]
fn state_survives_restarts_postgres() {
    let url = pg_url();
    let schema = unique_schema("restart");
    rt().block_on(restarts(|| {
        let (u, s) = (url.clone(), schema.clone());
        async move { pg_open(&u, &s).await }
    }));
}

// ---- Schema version 1 ------------------------------------------------------------------------

/// The shipped version-1 schema, frozen here: what a hub before the segmented log wrote.
const V1_SQLITE: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE ops (
    seq INTEGER PRIMARY KEY,
    op_id BLOB NOT NULL,
    site BLOB NOT NULL,
    hlc INTEGER NOT NULL,
    eff_hlc INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    hash BLOB NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE patients (id BLOB PRIMARY KEY, temp_id TEXT, state TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE visits (
    id BLOB PRIMARY KEY,
    patient BLOB,
    department TEXT,
    day TEXT,
    token TEXT,
    cancelled INTEGER NOT NULL,
    reprints INTEGER NOT NULL,
    state TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY,
    op_id BLOB NOT NULL,
    site BLOB NOT NULL,
    device_id TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    hash BLOB NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE devices (
    device_id TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    site BLOB NOT NULL,
    counter TEXT,
    role TEXT NOT NULL,
    enrolled_ms INTEGER NOT NULL,
    revoked_ms INTEGER,
    last_push_ms INTEGER,
    last_pull_ms INTEGER,
    last_pull_cursor INTEGER
);
CREATE TABLE sites (
    site BLOB PRIMARY KEY,
    ops INTEGER NOT NULL,
    clock_ahead INTEGER NOT NULL,
    quarantined INTEGER NOT NULL,
    last_push_ms INTEGER
);
CREATE TABLE enroll_codes (
    code_hash BLOB PRIMARY KEY,
    role TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    used_ms INTEGER
);
"#;

/// The same for PostgreSQL.
const V1_POSTGRES: &str = r#"
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE ops (
    seq bigint PRIMARY KEY,
    op_id bytea NOT NULL UNIQUE,
    site bytea NOT NULL,
    hlc bigint NOT NULL,
    eff_hlc bigint NOT NULL,
    flags bigint NOT NULL,
    received_ms bigint NOT NULL,
    hash bytea NOT NULL,
    payload text NOT NULL
);
CREATE TABLE patients (id bytea PRIMARY KEY, temp_id text, state text NOT NULL);
CREATE TABLE visits (
    id bytea PRIMARY KEY,
    patient bytea,
    department text,
    day text,
    token text,
    cancelled boolean NOT NULL,
    reprints bigint NOT NULL,
    state text NOT NULL
);
CREATE TABLE quarantine (
    id bigserial PRIMARY KEY,
    op_id bytea NOT NULL,
    site bytea NOT NULL,
    device_id text NOT NULL,
    received_ms bigint NOT NULL,
    hash bytea NOT NULL,
    payload text NOT NULL
);
CREATE TABLE devices (
    device_id text PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    site bytea NOT NULL,
    counter text,
    role text NOT NULL,
    enrolled_ms bigint NOT NULL,
    revoked_ms bigint,
    last_push_ms bigint,
    last_pull_ms bigint,
    last_pull_cursor bigint
);
CREATE TABLE sites (
    site bytea PRIMARY KEY,
    ops bigint NOT NULL,
    clock_ahead bigint NOT NULL,
    quarantined bigint NOT NULL,
    last_push_ms bigint
);
CREATE TABLE enroll_codes (
    code_hash bytea PRIMARY KEY,
    role text NOT NULL,
    expires_ms bigint NOT NULL,
    used_ms bigint
);
"#;

/// A version-1 op row: seq, op ID, site, HLC, received at (ms), payload hash, payload.
type V1Op = (i64, Vec<u8>, Vec<u8>, i64, i64, Vec<u8>, String);

/// What a version-1 hub held after applying `ops` in pushes of 250: op rows and record states.
struct V1Rows {
    ops: Vec<V1Op>,
    patients: Vec<(Vec<u8>, Option<String>, String)>,
    visits: Vec<(Vec<u8>, String)>,
}

fn v1_rows(ops: &[Op]) -> V1Rows {
    let mut ps: HashMap<[u8; 16], PatientState> = HashMap::new();
    let mut vs: HashMap<[u8; 16], VisitState> = HashMap::new();
    let mut rows = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let payload = serde_json::to_string(op).expect("json");
        let hlc = op.hlc.0 as i64;
        rows.push((
            i as i64 + 1,
            op.id.as_bytes().to_vec(),
            op.site.as_bytes().to_vec(),
            hlc,
            1_000 + (i / 250) as i64,
            payload_hash(&payload).to_be_bytes().to_vec(),
            payload,
        ));
        match entity_of(op) {
            Some(Entity::Patient(id)) => ps.entry(id).or_default().apply(op),
            Some(Entity::Visit(id)) => vs.entry(id).or_default().apply(op),
            None => {}
        }
    }
    V1Rows {
        ops: rows,
        patients: ps
            .iter()
            .map(|(id, s)| {
                let r = s.encode(*id, 0);
                (id.to_vec(), r.temp_id, r.state)
            })
            .collect(),
        visits: vs
            .iter()
            .map(|(id, s)| (id.to_vec(), s.encode(*id, 0).state))
            .collect(),
    }
}

async fn after_migration<S: Storage>(storage: S, ops: &[Op], more: &[Op]) {
    let hub = Hub::open(storage, HubConfig::default())
        .await
        .expect("open migrated");
    assert_eq!(hub.head(), ops.len() as u64);
    assert_eq!(
        hub.dirty_records().await.expect("dirty records"),
        0,
        "version-1 states are complete"
    );
    let pulled = pull_payloads(&hub).await;
    assert_eq!(pulled.len(), ops.len());
    for (i, (seq, payload)) in pulled.iter().enumerate() {
        assert_eq!(*seq, i as u64 + 1);
        assert_eq!(*payload, serde_json::to_string(&ops[i]).expect("json"));
    }
    assert_state(&hub, &replica(ops)).await;
    let r = hub
        .push(Source::Upstream, items(ops), now_ms())
        .await
        .expect("again");
    assert!(r.iter().all(|x| x.outcome == Outcome::Duplicate));
    hub.push(Source::Upstream, items(more), now_ms())
        .await
        .expect("more");
    let all: Vec<Op> = ops.iter().chain(more).cloned().collect();
    assert_state(&hub, &replica(&all)).await;
    assert_eq!(hub.head(), all.len() as u64);
}

#[test]
fn a_version_1_sqlite_database_is_converted() {
    let ops = mixed(1_200, 3, 11, now_ms() - 3_600_000);
    let (old, more) = ops.split_at(1_000);
    let v1 = v1_rows(old);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hub.sqlite3");
    {
        let mut c = rusqlite::Connection::open(&path).expect("open");
        c.execute_batch(V1_SQLITE).expect("v1 schema");
        c.pragma_update(None, "user_version", 1i64)
            .expect("version");
        let tx = c.transaction().expect("tx");
        for o in &v1.ops {
            tx.execute(
                "INSERT INTO ops VALUES (?1, ?2, ?3, ?4, ?4, 0, ?5, ?6, ?7)",
                rusqlite::params![o.0, o.1, o.2, o.3, o.4, o.5, o.6],
            )
            .expect("op");
        }
        for p in &v1.patients {
            tx.execute(
                "INSERT INTO patients VALUES (?1, ?2, ?3)",
                rusqlite::params![p.0, p.1, p.2],
            )
            .expect("patient");
        }
        for v in &v1.visits {
            tx.execute(
                "INSERT INTO visits (id, cancelled, reprints, state) VALUES (?1, 0, 0, ?2)",
                rusqlite::params![v.0, v.1],
            )
            .expect("visit");
        }
        tx.commit().expect("commit");
    }
    rt().block_on(async {
        after_migration(
            SqliteStorage::open(&path, &crate::common::test_key()).expect("migrate"),
            old,
            more,
        )
        .await;
    });
    // Opened again: already version 2, nothing converted twice.
    rt().block_on(async {
        let hub = Hub::open(
            SqliteStorage::open(&path, &crate::common::test_key()).expect("open"),
            HubConfig::default(),
        )
        .await
        .expect("open");
        assert_eq!(hub.head(), ops.len() as u64);
        assert_state(&hub, &replica(&ops)).await;
    });
}

#[test]
fn a_version_1_postgres_schema_is_converted() {
    let ops = mixed(1_200, 3, 13, now_ms() - 3_600_000);
    let (old, more) = ops.split_at(1_000);
    let v1 = v1_rows(old);
    let url = pg_url();
    let schema = unique_schema("v1");
    rt().block_on(async {
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        c.batch_execute(&format!(
            "CREATE SCHEMA {schema}; SET search_path TO {schema}; {V1_POSTGRES}; \
             CREATE TABLE parchi_schema (version bigint NOT NULL); INSERT INTO parchi_schema VALUES (1);"
        ))
        .await
        .expect("v1 schema");
        for o in &v1.ops {
            c.execute(
                "INSERT INTO ops VALUES ($1, $2, $3, $4, $4, 0, $5, $6, $7)",
                &[&o.0, &o.1, &o.2, &o.3, &o.4, &o.5, &o.6],
            )
            .await
            .expect("op");
        }
        for p in &v1.patients {
            c.execute(
                "INSERT INTO patients VALUES ($1, $2, $3)",
                &[&p.0, &p.1, &p.2],
            )
            .await
            .expect("patient");
        }
        for v in &v1.visits {
            c.execute(
                "INSERT INTO visits (id, cancelled, reprints, state) VALUES ($1, false, 0, $2)",
                &[&v.0, &v.1],
            )
            .await
            .expect("visit");
        }
        after_migration(pg_open(&url, &schema).await, old, more).await;
    });
}
