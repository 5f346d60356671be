//! The PostgreSQL backend (tokio-postgres), for a hospital or a state that outgrows one machine.
//!
//! Commits are one transaction of multi-row `INSERT … SELECT FROM UNNEST(…)` statements (one
//! round trip per table, whatever the batch size). Connections come from pools that replace a
//! closed one (`postgres/pool.rs`), so the hub recovers by itself when PostgreSQL restarts; TLS
//! is an option ([`PgTls`]). One hub process owns a schema at a time: it holds a session
//! advisory lock on its write connection (taken again by a new one). The `op_id` column is `UNIQUE` here as
//! a backstop: over a network a failed COMMIT may still have landed, and the engine then reloads
//! its index; the constraint makes sure no op is ever stored twice meanwhile.

use std::fmt;

use futures_util::TryStreamExt;
use parchi_core::SiteId;
use parchi_sync::wire::Role;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use crate::error::StorageError;
use crate::storage::{
    Commit, Counts, DeviceRow, Loaded, QuarantineRow, Segment, Storage, StoredOp,
    encode_segment_with, from_i64, id16, role_from, to_i64,
};
use crate::storage::{MirrorRow, MirrorScan, MirrorWritten};

pub mod dump;
mod migrate;
mod mirror;
mod pool;
mod read;
mod write;

use migrate::migrate;
pub use pool::PgTls;
use pool::Pools;

/// The PostgreSQL backend. A clone shares the pools (a handle for the backup schedule).
#[derive(Clone)]
pub struct PgStorage {
    pools: Pools,
    /// Where `pg_dump` connects for the hub's own backups.
    dump: dump::DumpTarget,
}

impl fmt::Debug for PgStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStorage")
            .field("pools", &self.pools)
            .finish()
    }
}

/// Runs a read on a pooled read connection; if that connection turns out closed before the read
/// reached the server (the server restarted since it was last used), once more on a new one.
macro_rules! read {
    ($self:ident, |$c:ident| $body:expr) => {{
        let $c = pool::get(&$self.pools.read).await?;
        let first = $body.await;
        match first {
            Err(e) if pool::closed(&e) => {
                pool::discard($c);
                let $c = pool::get(&$self.pools.read).await?;
                $body.await
            }
            r => r,
        }
    }};
}

fn params_iter<'a>(
    s: &'a [&'a (dyn ToSql + Sync)],
) -> impl ExactSizeIterator<Item = &'a dyn ToSql> + 'a {
    s.iter().map(|p| *p as _)
}

impl PgStorage {
    /// Connects to `url` (`postgres://user@host:port/db`), in its default schema.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        Self::connect_in(url, None).await
    }

    /// Connects with every table inside `schema` (created if missing): several hubs, or tests,
    /// can share a database.
    pub async fn connect_in(url: &str, schema: Option<&str>) -> Result<Self, StorageError> {
        Self::connect_with(url, schema, &PgTls::default()).await
    }

    /// [`PgStorage::connect_in`], over TLS as `tls` says (see [`PgTls`]). Takes the schema's
    /// lock and migrates it now; the read and mirror connections are made when first needed.
    pub async fn connect_with(
        url: &str,
        schema: Option<&str>,
        tls: &PgTls,
    ) -> Result<Self, StorageError> {
        let pools = pool::pools(url, schema, tls)?;
        let mut write = pool::get(&pools.write).await?;
        migrate(&mut write).await?;
        drop(write);
        Ok(Self {
            pools,
            dump: dump::DumpTarget {
                url: url.to_owned(),
                tls: tls.clone(),
            },
        })
    }
}

async fn insert_segment<C: tokio_postgres::GenericClient>(
    c: &C,
    s: &Segment,
) -> Result<(), StorageError> {
    c.execute(
        "INSERT INTO op_log (first_seq, n, received_ms, keys, body) VALUES ($1, $2, $3, $4, $5)",
        &[
            &to_i64(s.first_seq),
            &to_i64(s.n),
            &to_i64(s.received_ms),
            &s.keys,
            &s.body,
        ],
    )
    .await?;
    Ok(())
}

fn opt_u64(v: Option<i64>) -> Option<u64> {
    v.map(from_i64)
}

fn device_from_row(r: &Row) -> Result<DeviceRow, StorageError> {
    let token: Vec<u8> = r.try_get(1)?;
    let site: Vec<u8> = r.try_get(2)?;
    let role: String = r.try_get(4)?;
    Ok(DeviceRow {
        device_id: r.try_get(0)?,
        token_hash: <[u8; 32]>::try_from(token.as_slice())
            .map_err(|_| StorageError::Corrupt("token hash".into()))?,
        site: SiteId::from_bytes(id16(&site)?),
        counter: r.try_get(3)?,
        role: role_from(&role)?,
        enrolled_ms: from_i64(r.try_get(5)?),
        revoked_ms: opt_u64(r.try_get(6)?),
        last_push_ms: opt_u64(r.try_get(7)?),
        last_pull_ms: opt_u64(r.try_get(8)?),
        last_pull_cursor: opt_u64(r.try_get(9)?),
    })
}

const DEVICE_COLS: &str = "device_id, token_hash, site, counter, role, enrolled_ms, revoked_ms, last_push_ms, last_pull_ms, last_pull_cursor";

async fn put_device<C: tokio_postgres::GenericClient>(
    c: &C,
    d: &DeviceRow,
) -> Result<(), StorageError> {
    let site = d.site.as_bytes().to_vec();
    c.execute(
        &format!(
            "INSERT INTO devices ({DEVICE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (device_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, site = EXCLUDED.site, \
             counter = EXCLUDED.counter, role = EXCLUDED.role, enrolled_ms = EXCLUDED.enrolled_ms, \
             revoked_ms = EXCLUDED.revoked_ms, last_push_ms = EXCLUDED.last_push_ms, \
             last_pull_ms = EXCLUDED.last_pull_ms, last_pull_cursor = EXCLUDED.last_pull_cursor"
        ),
        &[
            &d.device_id,
            &&d.token_hash[..],
            &site,
            &d.counter,
            &d.role.as_str(),
            &to_i64(d.enrolled_ms),
            &d.revoked_ms.map(to_i64),
            &d.last_push_ms.map(to_i64),
            &d.last_pull_ms.map(to_i64),
            &d.last_pull_cursor.map(to_i64),
        ],
    )
    .await?;
    Ok(())
}

async fn states(client: &Client, sql: &str) -> Result<Vec<([u8; 16], u64, String)>, StorageError> {
    let rows = client.query_raw(sql, params_iter(&[])).await?;
    futures_util::pin_mut!(rows);
    let mut out = Vec::new();
    while let Some(r) = rows.try_next().await? {
        let id: &[u8] = r.try_get(0)?;
        out.push((id16(id)?, from_i64(r.try_get(1)?), r.try_get(2)?));
    }
    Ok(out)
}

impl Storage for PgStorage {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn load(&self) -> Result<Loaded, StorageError> {
        read!(self, |c| read::load(&c))
    }

    async fn commit(&self, mut c: Commit) -> Result<(), StorageError> {
        // Encode on a blocking thread (compressing, unless the engine did it ahead).
        let ops = std::mem::take(&mut c.ops);
        let body = c.body.take();
        let segment = tokio::task::spawn_blocking(move || encode_segment_with(&ops, body))
            .await
            .map_err(|e| StorageError::Task(e.to_string()))??;
        let mut client = pool::get(&self.pools.write).await?;
        // A connection that turns out closed at BEGIN sent nothing: begin again on a new one.
        match Client::transaction(&mut client).await {
            Ok(tx) => {
                write::commit_in(&tx, &c, segment.as_ref()).await?;
                return Ok(tx.commit().await?);
            }
            Err(e) if e.is_closed() => {}
            Err(e) => return Err(e.into()),
        }
        pool::discard(client);
        let mut client = pool::get(&self.pools.write).await?;
        let tx = Client::transaction(&mut client).await?;
        write::commit_in(&tx, &c, segment.as_ref()).await?;
        Ok(tx.commit().await?)
    }

    async fn pull(&self, after: u64, limit: u32) -> Result<Vec<StoredOp>, StorageError> {
        read!(self, |c| read::pull(&c, after, limit))
    }

    async fn quarantined(&self, limit: u32) -> Result<Vec<(u64, QuarantineRow)>, StorageError> {
        read!(self, |c| read::quarantined(&c, limit))
    }

    async fn counts(&self) -> Result<Counts, StorageError> {
        read!(self, |c| read::counts(&c))
    }

    async fn put_enroll_code(
        &self,
        code_hash: [u8; 32],
        role: Role,
        expires_ms: u64,
    ) -> Result<(), StorageError> {
        let c = pool::get(&self.pools.write).await?;
        c.execute(
            "INSERT INTO enroll_codes (code_hash, role, expires_ms) VALUES ($1, $2, $3)",
            &[&&code_hash[..], &role.as_str(), &to_i64(expires_ms)],
        )
        .await?;
        Ok(())
    }

    async fn enroll(
        &self,
        code_hash: [u8; 32],
        now_ms: u64,
        mut device: DeviceRow,
    ) -> Result<Option<DeviceRow>, StorageError> {
        let mut c = pool::get(&self.pools.write).await?;
        let tx = Client::transaction(&mut c).await?;
        let row = tx
            .query_opt(
                "UPDATE enroll_codes SET used_ms = $2 \
                 WHERE code_hash = $1 AND used_ms IS NULL AND expires_ms > $2 RETURNING role",
                &[&&code_hash[..], &to_i64(now_ms)],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let role: String = row.try_get(0)?;
        device.role = role_from(&role)?;
        put_device(&tx, &device).await?;
        tx.commit().await?;
        Ok(Some(device))
    }

    async fn put_device(&self, device: DeviceRow) -> Result<(), StorageError> {
        let c = pool::get(&self.pools.write).await?;
        // An upsert: sent again on a new connection if the first was found closed.
        match put_device(&**c, &device).await {
            Err(e) if pool::closed(&e) => {
                pool::discard(c);
                let c = pool::get(&self.pools.write).await?;
                put_device(&**c, &device).await
            }
            r => r,
        }
    }

    async fn mirror_write(
        &self,
        run: String,
        rows: Vec<MirrorRow>,
    ) -> Result<MirrorWritten, StorageError> {
        let mut c = pool::get(&self.pools.mirror).await?;
        mirror::write(&mut c, &run, &rows).await
    }

    async fn mirror_page(
        &self,
        after: u64,
        limit: u32,
        seen_since: Option<chrono::NaiveDate>,
    ) -> Result<Vec<MirrorScan>, StorageError> {
        read!(self, |c| mirror::page(&c, after, limit, seen_since))
    }

    async fn mirror_get(&self, uhid: String) -> Result<Option<String>, StorageError> {
        read!(self, |c| mirror::get(&c, &uhid))
    }

    async fn mirror_known(&self, uhids: Vec<String>) -> Result<Vec<String>, StorageError> {
        read!(self, |c| mirror::known(&c, &uhids))
    }

    async fn mirror_stats(&self) -> Result<(u64, u64), StorageError> {
        read!(self, |c| mirror::stats(&c))
    }
}
