//! The SQLite schema and its migrations (append-only; `PRAGMA user_version` counts them).

use parchi_core::{Hlc, OpId, SiteId};
use rusqlite::{Connection, params};

use crate::error::StorageError;
use crate::storage::{META_STATE_SEQ, NewOp, encode_segment, from_i64, hash_from, id16, to_i64};

/// Append-only: never edit a migration that has shipped; add the next one. Version 1 is SQL
/// alone; later versions are in [`migrate`].
const MIGRATIONS: &[&str] = &[r#"
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
"#];

/// The schema version this code writes: the SQL migrations above, then version 2 (the op log as
/// segments, record states with the seq they are current to), which needs code to convert rows,
/// then version 3 (the mirror of the hospital's index).
const SCHEMA_VERSION: i64 = 3;

/// Ops per segment when converting a version-1 op table.
const MIGRATION_SEGMENT_OPS: usize = 5_000;

pub(super) fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StorageError::SchemaTooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    if found < 2 {
        let tx = conn.transaction()?;
        migrate_to_segments(&tx)?;
        tx.pragma_update(None, "user_version", 2i64)?;
        tx.commit()?;
    }
    if found < 3 {
        let tx = conn.transaction()?;
        tx.execute_batch(super::mirror::SCHEMA_V3)?;
        tx.pragma_update(None, "user_version", 3i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Version 2: moves the one-row-per-op table into segments (consecutive seqs received in the
/// same push), and records that the stored states are current to the log's head.
fn migrate_to_segments(tx: &rusqlite::Transaction<'_>) -> Result<(), StorageError> {
    tx.execute_batch(
        "CREATE TABLE op_log (
            first_seq INTEGER PRIMARY KEY,
            n INTEGER NOT NULL,
            received_ms INTEGER NOT NULL,
            keys BLOB NOT NULL,
            body BLOB NOT NULL
        );
        ALTER TABLE patients ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE visits ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;",
    )?;
    let mut pending: Vec<NewOp> = Vec::new();
    let mut head = 0u64;
    {
        let mut st = tx.prepare(
            "SELECT seq, op_id, site, hlc, eff_hlc, flags, received_ms, hash, payload FROM ops ORDER BY seq",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let op = NewOp {
                seq: from_i64(r.get(0)?),
                op_id: OpId::from_bytes(id16(r.get_ref(1)?.as_blob()?)?),
                site: SiteId::from_bytes(id16(r.get_ref(2)?.as_blob()?)?),
                hlc: Hlc(from_i64(r.get(3)?)),
                eff_hlc: Hlc(from_i64(r.get(4)?)),
                flags: r.get(5)?,
                received_ms: from_i64(r.get(6)?),
                hash: hash_from(r.get_ref(7)?.as_blob()?)?,
                payload: r.get(8)?,
            };
            if op.seq != head + 1 {
                return Err(StorageError::Corrupt(format!(
                    "op log has a gap: seq {} after {head}",
                    op.seq
                )));
            }
            head = op.seq;
            if pending.len() >= MIGRATION_SEGMENT_OPS
                || pending
                    .last()
                    .is_some_and(|p| p.received_ms != op.received_ms)
            {
                insert_segment(tx, &pending)?;
                pending.clear();
            }
            pending.push(op);
        }
    }
    insert_segment(tx, &pending)?;
    tx.execute_batch("DROP TABLE ops;")?;
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
        params![META_STATE_SEQ, head.to_string()],
    )?;
    Ok(())
}

fn insert_segment(conn: &Connection, ops: &[NewOp]) -> Result<(), StorageError> {
    if let Some(s) = encode_segment(ops)? {
        conn.prepare_cached(
            "INSERT INTO op_log (first_seq, n, received_ms, keys, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            to_i64(s.first_seq),
            to_i64(s.n),
            to_i64(s.received_ms),
            s.keys,
            s.body
        ])?;
    }
    Ok(())
}
