//! The PostgreSQL backend (tokio-postgres), for a hospital or a state that outgrows one machine.
//!
//! Commits are one transaction of multi-row `INSERT … SELECT FROM UNNEST(…)` statements (one
//! round trip per table, whatever the batch size). One hub process owns a schema at a time: it
//! holds a session advisory lock on its write connection. The `op_id` column is `UNIQUE` here as
//! a backstop: over a network a failed COMMIT may still have landed, and the engine then reloads
//! its index; the constraint makes sure no op is ever stored twice meanwhile.

use std::fmt;

use futures_util::TryStreamExt;
use parchi_core::{OpId, SiteId};
use parchi_sync::wire::Role;
use tokio::sync::Mutex;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row};

use crate::error::StorageError;
use crate::storage::{
    Commit, Counts, DeviceRow, Loaded, QuarantineRow, Segment, SiteRow, Storage, StoredOp,
    decode_keys, encode_segment_with, from_i64, hash_bytes, hash_from, id16, read_segment,
    role_from, to_i64,
};
use crate::storage::{MirrorRow, MirrorScan, MirrorWritten};

mod migrate;
mod mirror;

use migrate::migrate;

/// The PostgreSQL backend.
pub struct PgStorage {
    write: Mutex<Client>,
    read: Client,
    /// Mirror imports write here, beside pushes.
    mirror: Mutex<Client>,
    /// The mirror's reads, prepared on `read`.
    reads: mirror::Reads,
}

impl fmt::Debug for PgStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStorage").finish_non_exhaustive()
    }
}

fn quote_ident(s: &str) -> Result<String, StorageError> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StorageError::Corrupt(format!(
            "schema name {s:?} must be letters, digits and underscores"
        )));
    }
    Ok(format!("\"{s}\""))
}

async fn open_client(url: &str, schema: Option<&str>) -> Result<Client, StorageError> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::error!(error = %e, "PostgreSQL connection closed");
        }
    });
    if let Some(s) = schema {
        let q = quote_ident(s)?;
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {q}; SET search_path TO {q}"
            ))
            .await?;
    }
    Ok(client)
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
        let mut write = open_client(url, schema).await?;
        let locked: bool = write
            .query_one(
                "SELECT pg_try_advisory_lock(hashtext('parchi-hub:' || current_schema())::bigint)",
                &[],
            )
            .await?
            .get(0);
        if !locked {
            return Err(StorageError::Locked(
                "another hub process holds this PostgreSQL schema".into(),
            ));
        }
        migrate(&mut write).await?;
        let read = open_client(url, schema).await?;
        let reads = mirror::Reads::prepare(&read).await?;
        let mirror = open_client(url, schema).await?;
        Ok(Self {
            write: Mutex::new(write),
            read,
            mirror: Mutex::new(mirror),
            reads,
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
        let c = &self.read;
        let mut l = Loaded::default();
        {
            let rows = c
                .query_raw(
                    "SELECT first_seq, n, keys FROM op_log ORDER BY first_seq",
                    params_iter(&[]),
                )
                .await?;
            futures_util::pin_mut!(rows);
            while let Some(r) = rows.try_next().await? {
                let first = from_i64(r.try_get(0)?);
                let n = from_i64(r.try_get(1)?);
                if first != l.head + 1 {
                    return Err(StorageError::Corrupt(format!(
                        "op log has a gap: segment at seq {first} after {}",
                        l.head
                    )));
                }
                let keys: &[u8] = r.try_get(2)?;
                l.index
                    .extend(decode_keys(keys, n)?.map(|k| (k.op_id, k.hash)));
                l.head = first + n - 1;
            }
        }
        for r in c.query("SELECT op_id, hash FROM quarantine", &[]).await? {
            let id: &[u8] = r.try_get(0)?;
            let h: &[u8] = r.try_get(1)?;
            l.quarantine_keys
                .push((OpId::from_bytes(id16(id)?), hash_from(h)?));
        }
        l.patients = states(c, "SELECT id, seq, state FROM patients").await?;
        l.visits = states(c, "SELECT id, seq, state FROM visits").await?;
        for r in c
            .query(&format!("SELECT {DEVICE_COLS} FROM devices"), &[])
            .await?
        {
            l.devices.push(device_from_row(&r)?);
        }
        for r in c
            .query(
                "SELECT site, ops, clock_ahead, quarantined, last_push_ms FROM sites",
                &[],
            )
            .await?
        {
            let site: &[u8] = r.try_get(0)?;
            l.sites.push(SiteRow {
                site: SiteId::from_bytes(id16(site)?),
                ops: from_i64(r.try_get(1)?),
                clock_ahead: from_i64(r.try_get(2)?),
                quarantined: from_i64(r.try_get(3)?),
                last_push_ms: opt_u64(r.try_get(4)?),
            });
        }
        for r in c.query("SELECT key, value FROM meta", &[]).await? {
            l.meta.push((r.try_get(0)?, r.try_get(1)?));
        }
        Ok(l)
    }

    async fn commit(&self, mut c: Commit) -> Result<(), StorageError> {
        // Encode on a blocking thread (compressing, unless the engine did it ahead).
        let ops = std::mem::take(&mut c.ops);
        let body = c.body.take();
        let segment = tokio::task::spawn_blocking(move || encode_segment_with(&ops, body))
            .await
            .map_err(|e| StorageError::Task(e.to_string()))??;
        let mut client = self.write.lock().await;
        let tx = client.transaction().await?;
        if let Some(s) = &segment {
            insert_segment(&tx, s).await?;
        }
        if !c.patients.is_empty() {
            let id: Vec<&[u8]> = c.patients.iter().map(|p| &p.id[..]).collect();
            let seq: Vec<i64> = c.patients.iter().map(|p| to_i64(p.seq)).collect();
            let temp: Vec<Option<&str>> = c.patients.iter().map(|p| p.temp_id.as_deref()).collect();
            let state: Vec<&str> = c.patients.iter().map(|p| p.state.as_str()).collect();
            tx.execute(
                "INSERT INTO patients (id, seq, temp_id, state) \
                 SELECT * FROM UNNEST($1::bytea[], $2::int8[], $3::text[], $4::text[]) \
                 ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, temp_id = EXCLUDED.temp_id, \
                 state = EXCLUDED.state",
                &[&id, &seq, &temp, &state],
            )
            .await?;
        }
        if !c.visits.is_empty() {
            let v = &c.visits;
            let id: Vec<&[u8]> = v.iter().map(|x| &x.id[..]).collect();
            let seq: Vec<i64> = v.iter().map(|x| to_i64(x.seq)).collect();
            let patient: Vec<Option<&[u8]>> = v
                .iter()
                .map(|x| x.patient.as_ref().map(|p| &p[..]))
                .collect();
            let dept: Vec<Option<&str>> = v.iter().map(|x| x.department.as_deref()).collect();
            let day: Vec<Option<&str>> = v.iter().map(|x| x.day.as_deref()).collect();
            let token: Vec<Option<&str>> = v.iter().map(|x| x.token.as_deref()).collect();
            let cancelled: Vec<bool> = v.iter().map(|x| x.cancelled).collect();
            let reprints: Vec<i64> = v.iter().map(|x| x.reprints).collect();
            let state: Vec<&str> = v.iter().map(|x| x.state.as_str()).collect();
            tx.execute(
                "INSERT INTO visits (id, seq, patient, department, day, token, cancelled, reprints, state) \
                 SELECT * FROM UNNEST($1::bytea[], $2::int8[], $3::bytea[], $4::text[], $5::text[], \
                 $6::text[], $7::bool[], $8::int8[], $9::text[]) \
                 ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, patient = EXCLUDED.patient, \
                 department = EXCLUDED.department, day = EXCLUDED.day, token = EXCLUDED.token, \
                 cancelled = EXCLUDED.cancelled, reprints = EXCLUDED.reprints, state = EXCLUDED.state",
                &[&id, &seq, &patient, &dept, &day, &token, &cancelled, &reprints, &state],
            )
            .await?;
        }
        for q in &c.quarantine {
            let op_id = q.op_id.as_bytes().to_vec();
            let site = q.site.as_bytes().to_vec();
            let hash = hash_bytes(q.hash).to_vec();
            tx.execute(
                "INSERT INTO quarantine (op_id, site, device_id, received_ms, hash, payload) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&op_id, &site, &q.device_id, &to_i64(q.received_ms), &hash, &q.payload],
            )
            .await?;
        }
        for s in &c.sites {
            let site = s.site.as_bytes().to_vec();
            tx.execute(
                "INSERT INTO sites (site, ops, clock_ahead, quarantined, last_push_ms) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (site) DO UPDATE SET ops = EXCLUDED.ops, clock_ahead = EXCLUDED.clock_ahead, \
                 quarantined = EXCLUDED.quarantined, last_push_ms = EXCLUDED.last_push_ms",
                &[&site, &to_i64(s.ops), &to_i64(s.clock_ahead), &to_i64(s.quarantined), &s.last_push_ms.map(to_i64)],
            )
            .await?;
        }
        for d in &c.devices {
            put_device(&tx, d).await?;
        }
        for (k, v) in &c.meta {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[k, v],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn pull(&self, after: u64, limit: u32) -> Result<Vec<StoredOp>, StorageError> {
        // The segment holding `after` (segments are contiguous), then those after it, a few at
        // a time.
        let limit = limit as usize;
        let mut out = Vec::with_capacity(limit.min(10_000));
        let mut from: i64 = self
            .read
            .query_one(
                "SELECT coalesce(max(first_seq), 0) FROM op_log WHERE first_seq <= $1",
                &[&to_i64(after)],
            )
            .await?
            .try_get(0)?;
        loop {
            let rows = self
                .read
                .query(
                    "SELECT first_seq, n, keys, body FROM op_log WHERE first_seq >= $1 \
                     ORDER BY first_seq LIMIT 8",
                    &[&from],
                )
                .await?;
            let last_page = rows.len() < 8;
            for r in &rows {
                let first = from_i64(r.try_get(0)?);
                let n = from_i64(r.try_get(1)?);
                let keys: &[u8] = r.try_get(2)?;
                let body: &[u8] = r.try_get(3)?;
                read_segment(first, n, keys, body, after, limit, &mut out)?;
                from = to_i64(first + n);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
            if last_page {
                return Ok(out);
            }
        }
    }

    async fn quarantined(&self, limit: u32) -> Result<Vec<(u64, QuarantineRow)>, StorageError> {
        let rows = self
            .read
            .query(
                "SELECT id, op_id, site, device_id, received_ms, hash, payload FROM quarantine ORDER BY id LIMIT $1",
                &[&i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let op_id: &[u8] = r.try_get(1)?;
                let site: &[u8] = r.try_get(2)?;
                let hash: &[u8] = r.try_get(5)?;
                Ok((
                    from_i64(r.try_get(0)?),
                    QuarantineRow {
                        op_id: OpId::from_bytes(id16(op_id)?),
                        site: SiteId::from_bytes(id16(site)?),
                        device_id: r.try_get(3)?,
                        received_ms: from_i64(r.try_get(4)?),
                        hash: hash_from(hash)?,
                        payload: r.try_get(6)?,
                    },
                ))
            })
            .collect()
    }

    async fn counts(&self) -> Result<Counts, StorageError> {
        let r = self
            .read
            .query_one(
                "SELECT (SELECT coalesce(sum(n), 0)::bigint FROM op_log), (SELECT count(*) FROM quarantine), \
                 (SELECT count(*) FROM patients), (SELECT count(*) FROM visits), (SELECT count(*) FROM devices)",
                &[],
            )
            .await?;
        Ok(Counts {
            ops: from_i64(r.try_get(0)?),
            quarantined: from_i64(r.try_get(1)?),
            patients: from_i64(r.try_get(2)?),
            visits: from_i64(r.try_get(3)?),
            devices: from_i64(r.try_get(4)?),
        })
    }

    async fn put_enroll_code(
        &self,
        code_hash: [u8; 32],
        role: Role,
        expires_ms: u64,
    ) -> Result<(), StorageError> {
        let c = self.write.lock().await;
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
        let mut c = self.write.lock().await;
        let tx = c.transaction().await?;
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
        let c = self.write.lock().await;
        put_device(&*c, &device).await
    }

    async fn mirror_write(
        &self,
        run: String,
        rows: Vec<MirrorRow>,
    ) -> Result<MirrorWritten, StorageError> {
        let mut c = self.mirror.lock().await;
        mirror::write(&mut c, &run, &rows).await
    }

    async fn mirror_page(
        &self,
        after: u64,
        limit: u32,
        seen_since: Option<chrono::NaiveDate>,
    ) -> Result<Vec<MirrorScan>, StorageError> {
        mirror::page(&self.read, &self.reads, after, limit, seen_since).await
    }

    async fn mirror_get(&self, uhid: String) -> Result<Option<String>, StorageError> {
        mirror::get(&self.read, &self.reads, &uhid).await
    }

    async fn mirror_known(&self, uhids: Vec<String>) -> Result<Vec<String>, StorageError> {
        mirror::known(&self.read, &self.reads, &uhids).await
    }

    async fn mirror_stats(&self) -> Result<(u64, u64), StorageError> {
        mirror::stats(&self.read).await
    }
}
