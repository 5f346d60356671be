//! The PostgreSQL schema and its migrations (append-only; `parchi_schema` counts them).

use futures_util::TryStreamExt;
use parchi_core::{Hlc, OpId, SiteId};
use tokio_postgres::Client;

use super::{insert_segment, params_iter};
use crate::error::StorageError;
use crate::storage::{META_STATE_SEQ, NewOp, encode_segment, from_i64, hash_from, id16};

/// Append-only.
const MIGRATIONS: &[&str] = &[r#"
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
"#];

/// The schema version this code writes: the SQL migrations above, then version 2 (the op log as
/// segments, record states with the seq they are current to), which needs code to convert rows,
/// then version 3 (the mirror of the hospital's index).
const SCHEMA_VERSION: i64 = 3;

/// Ops per segment when converting a version-1 op table.
const MIGRATION_SEGMENT_OPS: usize = 5_000;

pub(super) async fn migrate(client: &mut Client) -> Result<(), StorageError> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS parchi_schema (version bigint NOT NULL)")
        .await?;
    let found: i64 = client
        .query_one("SELECT coalesce(max(version), 0) FROM parchi_schema", &[])
        .await?
        .get(0);
    if found > SCHEMA_VERSION {
        return Err(StorageError::SchemaTooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO parchi_schema (version) VALUES ($1)",
            &[&((i + 1) as i64)],
        )
        .await?;
        tx.commit().await?;
    }
    if found < 2 {
        let tx = client.transaction().await?;
        migrate_to_segments(&tx).await?;
        tx.execute("INSERT INTO parchi_schema (version) VALUES (2)", &[])
            .await?;
        tx.commit().await?;
    }
    if found < 3 {
        let tx = client.transaction().await?;
        tx.batch_execute(super::mirror::SCHEMA_V3).await?;
        tx.execute("INSERT INTO parchi_schema (version) VALUES (3)", &[])
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Version 2: moves the one-row-per-op table into segments (consecutive seqs received in the
/// same push), and records that the stored states are current to the log's head.
async fn migrate_to_segments(tx: &tokio_postgres::Transaction<'_>) -> Result<(), StorageError> {
    // The segments are compressed by the hub: PostgreSQL should not try again.
    tx.batch_execute(
        "CREATE TABLE op_log (
            first_seq bigint PRIMARY KEY,
            n bigint NOT NULL,
            received_ms bigint NOT NULL,
            keys bytea NOT NULL,
            body bytea NOT NULL
        );
        ALTER TABLE op_log ALTER COLUMN keys SET STORAGE EXTERNAL;
        ALTER TABLE op_log ALTER COLUMN body SET STORAGE EXTERNAL;
        ALTER TABLE patients ADD COLUMN seq bigint NOT NULL DEFAULT 0;
        ALTER TABLE visits ADD COLUMN seq bigint NOT NULL DEFAULT 0;",
    )
    .await?;
    let rows = tx
        .query_raw(
            "SELECT seq, op_id, site, hlc, eff_hlc, flags, received_ms, hash, payload FROM ops ORDER BY seq",
            params_iter(&[]),
        )
        .await?;
    futures_util::pin_mut!(rows);
    let mut segments = Vec::new();
    let mut pending: Vec<NewOp> = Vec::new();
    let mut head = 0u64;
    while let Some(r) = rows.try_next().await? {
        let op_id: &[u8] = r.try_get(1)?;
        let site: &[u8] = r.try_get(2)?;
        let hash: &[u8] = r.try_get(7)?;
        let op = NewOp {
            seq: from_i64(r.try_get(0)?),
            op_id: OpId::from_bytes(id16(op_id)?),
            site: SiteId::from_bytes(id16(site)?),
            hlc: Hlc(from_i64(r.try_get(3)?)),
            eff_hlc: Hlc(from_i64(r.try_get(4)?)),
            flags: r.try_get(5)?,
            received_ms: from_i64(r.try_get(6)?),
            hash: hash_from(hash)?,
            payload: r.try_get(8)?,
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
            segments.extend(encode_segment(&pending)?);
            pending.clear();
        }
        pending.push(op);
    }
    segments.extend(encode_segment(&pending)?);
    for s in &segments {
        insert_segment(tx, s).await?;
    }
    tx.batch_execute("DROP TABLE ops").await?;
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        &[&META_STATE_SEQ, &head.to_string()],
    )
    .await?;
    Ok(())
}
