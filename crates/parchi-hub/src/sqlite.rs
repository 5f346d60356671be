//! The embedded SQLite backend: one file under the hub's data directory.
//!
//! WAL with `synchronous=FULL` (an acknowledged push survives a power cut), exclusive locking (one
//! hub process per file), one transaction per commit with cached prepared statements.

use std::path::Path;
use std::sync::{Arc, Mutex};

use parchi_core::{OpId, SiteId};
use parchi_keys::DataKey;
use parchi_keys::sqlcipher::{self, CipherError};
use parchi_sync::wire::Role;
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::StorageError;
use crate::storage::{
    Commit, Counts, DeviceRow, Loaded, QuarantineRow, SegmentBuf, SiteRow, Storage, StoredOp,
    decode_keys, from_i64, hash_bytes, hash_from, id16, read_segment, role_from, to_i64,
};
use crate::storage::{MirrorRow, MirrorScan, MirrorWritten};

mod migrate;
mod mirror;

use migrate::migrate;

/// The cipher page size of the hub's database (64 KiB: segments are hundreds of KB).
pub const PAGE_SIZE: u32 = 65_536;

/// The SQLite backend.
#[derive(Clone)]
pub struct SqliteStorage {
    conn: Arc<Mutex<Connection>>,
    /// Segment buffers, reused by every commit.
    buf: Arc<Mutex<SegmentBuf>>,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage").finish_non_exhaustive()
    }
}

impl SqliteStorage {
    /// Opens (creating if needed) the hub database at `path`, encrypted with `key` (SQLCipher;
    /// a plaintext database of an earlier version is encrypted once, first). A key that does
    /// not open the file is refused before anything is written.
    pub fn open(path: &Path, key: &DataKey) -> Result<Self, StorageError> {
        let wrong = |p: &Path| {
            StorageError::Corrupt(format!(
                "{} does not open with the hub's key (nothing was changed): run `parchi unlock --recovery` with the hub's recovery key",
                p.display()
            ))
        };
        let cipher = |e: CipherError| match e {
            CipherError::WrongKey => wrong(path),
            CipherError::Sqlite(e) => StorageError::from(e),
            other => StorageError::Corrupt(other.to_string()),
        };
        // Segments are hundreds of KB: big pages mean fewer overflow pages and WAL frames per
        // push. With SQLCipher the page size is the cipher's, set on every open. A plaintext or
        // legacy-format file of an earlier version is converted first.
        let mut conn = sqlcipher::open_current(path, key, Some(PAGE_SIZE)).map_err(cipher)?;
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError::Corrupt(format!(
                "could not switch to WAL (got {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "cache_size", -262_144i64)?; // 256 MiB
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.set_prepared_statement_cache_capacity(64);
        // Takes the exclusive lock now, so a second hub on the same file fails at start.
        conn.execute_batch("BEGIN IMMEDIATE; COMMIT;")
            .map_err(|e| StorageError::Locked(format!("{}: {e}", path.display())))?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            buf: Arc::new(Mutex::new(SegmentBuf::default())),
        })
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StorageError::Task("SQLite connection lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }

    /// Runs `f` on the connection directly (benchmarks and tests).
    pub fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| StorageError::Task("SQLite connection lock poisoned".into()))?;
        f(&mut guard)
    }
}

fn opt_u64(v: Option<i64>) -> Option<u64> {
    v.map(from_i64)
}

fn device_from_row(r: &rusqlite::Row<'_>) -> Result<DeviceRow, StorageError> {
    let token: Vec<u8> = r.get(1)?;
    let site: Vec<u8> = r.get(2)?;
    let role: String = r.get(4)?;
    Ok(DeviceRow {
        device_id: r.get(0)?,
        token_hash: <[u8; 32]>::try_from(token.as_slice())
            .map_err(|_| StorageError::Corrupt("token hash".into()))?,
        site: SiteId::from_bytes(id16(&site)?),
        counter: r.get(3)?,
        role: role_from(&role)?,
        enrolled_ms: from_i64(r.get(5)?),
        revoked_ms: opt_u64(r.get(6)?),
        last_push_ms: opt_u64(r.get(7)?),
        last_pull_ms: opt_u64(r.get(8)?),
        last_pull_cursor: opt_u64(r.get(9)?),
    })
}

const DEVICE_COLS: &str = "device_id, token_hash, site, counter, role, enrolled_ms, revoked_ms, last_push_ms, last_pull_ms, last_pull_cursor";

fn put_device(conn: &Connection, d: &DeviceRow) -> Result<(), StorageError> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO devices ({DEVICE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))?
    .execute(params![
        d.device_id,
        &d.token_hash[..],
        &d.site.as_bytes()[..],
        d.counter,
        d.role.as_str(),
        to_i64(d.enrolled_ms),
        d.revoked_ms.map(to_i64),
        d.last_push_ms.map(to_i64),
        d.last_pull_ms.map(to_i64),
        d.last_pull_cursor.map(to_i64),
    ])?;
    Ok(())
}

fn write_commit(
    conn: &mut Connection,
    buf: &mut SegmentBuf,
    mut c: Commit,
) -> Result<(), StorageError> {
    let tx = conn.transaction()?;
    if let Some(h) = buf.encode(&c.ops, c.body.take())? {
        tx.prepare_cached(
            "INSERT INTO op_log (first_seq, n, received_ms, keys, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            to_i64(h.first_seq),
            to_i64(h.n),
            to_i64(h.received_ms),
            &buf.keys[..],
            &buf.body[..]
        ])?;
    }
    if !c.patients.is_empty() {
        let mut st = tx.prepare_cached(
            "INSERT OR REPLACE INTO patients (id, seq, temp_id, state) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for p in &c.patients {
            st.execute(params![&p.id[..], to_i64(p.seq), p.temp_id, p.state])?;
        }
    }
    if !c.visits.is_empty() {
        let mut st = tx.prepare_cached(
            "INSERT OR REPLACE INTO visits (id, seq, patient, department, day, token, cancelled, reprints, state) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for v in &c.visits {
            st.execute(params![
                &v.id[..],
                to_i64(v.seq),
                v.patient.as_ref().map(|p| &p[..]),
                v.department,
                v.day,
                v.token,
                v.cancelled,
                v.reprints,
                v.state
            ])?;
        }
    }
    for q in &c.quarantine {
        tx.prepare_cached(
            "INSERT INTO quarantine (op_id, site, device_id, received_ms, hash, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            &q.op_id.as_bytes()[..],
            &q.site.as_bytes()[..],
            q.device_id,
            to_i64(q.received_ms),
            &hash_bytes(q.hash)[..],
            q.payload
        ])?;
    }
    for s in &c.sites {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO sites (site, ops, clock_ahead, quarantined, last_push_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            &s.site.as_bytes()[..],
            to_i64(s.ops),
            to_i64(s.clock_ahead),
            to_i64(s.quarantined),
            s.last_push_ms.map(to_i64)
        ])?;
    }
    for d in &c.devices {
        put_device(&tx, d)?;
    }
    for (k, v) in &c.meta {
        tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
            .execute(params![k, v])?;
    }
    tx.commit()?;
    Ok(())
}

fn states(conn: &Connection, sql: &str) -> Result<Vec<([u8; 16], u64, String)>, StorageError> {
    let mut st = conn.prepare(sql)?;
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push((
            id16(r.get_ref(0)?.as_blob()?)?,
            from_i64(r.get(1)?),
            r.get(2)?,
        ));
    }
    Ok(out)
}

impl Storage for SqliteStorage {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn load(&self) -> Result<Loaded, StorageError> {
        self.run(|conn| {
            let mut l = Loaded::default();
            {
                let mut st =
                    conn.prepare("SELECT first_seq, n, keys FROM op_log ORDER BY first_seq")?;
                let mut rows = st.query([])?;
                while let Some(r) = rows.next()? {
                    let first = from_i64(r.get(0)?);
                    let n = from_i64(r.get(1)?);
                    if first != l.head + 1 {
                        return Err(StorageError::Corrupt(format!(
                            "op log has a gap: segment at seq {first} after {}",
                            l.head
                        )));
                    }
                    l.index.extend(
                        decode_keys(r.get_ref(2)?.as_blob()?, n)?.map(|k| (k.op_id, k.hash)),
                    );
                    l.head = first + n - 1;
                }
            }
            {
                let mut st = conn.prepare("SELECT op_id, hash FROM quarantine")?;
                let mut rows = st.query([])?;
                while let Some(r) = rows.next()? {
                    l.quarantine_keys.push((
                        OpId::from_bytes(id16(r.get_ref(0)?.as_blob()?)?),
                        hash_from(r.get_ref(1)?.as_blob()?)?,
                    ));
                }
            }
            l.patients = states(conn, "SELECT id, seq, state FROM patients")?;
            l.visits = states(conn, "SELECT id, seq, state FROM visits")?;
            {
                let mut st = conn.prepare(&format!("SELECT {DEVICE_COLS} FROM devices"))?;
                let mut rows = st.query([])?;
                while let Some(r) = rows.next()? {
                    l.devices.push(device_from_row(r)?);
                }
            }
            {
                let mut st = conn.prepare(
                    "SELECT site, ops, clock_ahead, quarantined, last_push_ms FROM sites",
                )?;
                let mut rows = st.query([])?;
                while let Some(r) = rows.next()? {
                    l.sites.push(SiteRow {
                        site: SiteId::from_bytes(id16(r.get_ref(0)?.as_blob()?)?),
                        ops: from_i64(r.get(1)?),
                        clock_ahead: from_i64(r.get(2)?),
                        quarantined: from_i64(r.get(3)?),
                        last_push_ms: opt_u64(r.get(4)?),
                    });
                }
            }
            {
                let mut st = conn.prepare("SELECT key, value FROM meta")?;
                let mut rows = st.query([])?;
                while let Some(r) = rows.next()? {
                    l.meta.push((r.get(0)?, r.get(1)?));
                }
            }
            Ok(l)
        })
        .await
    }

    async fn commit(&self, commit: Commit) -> Result<(), StorageError> {
        let buf = self.buf.clone();
        self.run(move |conn| {
            let mut buf = buf
                .lock()
                .map_err(|_| StorageError::Task("segment buffer lock poisoned".into()))?;
            write_commit(conn, &mut buf, commit)
        })
        .await
    }

    async fn pull(&self, after: u64, limit: u32) -> Result<Vec<StoredOp>, StorageError> {
        self.run(move |conn| {
            // The segment holding `after` (segments are contiguous), then those after it.
            let mut st = conn.prepare_cached(
                "SELECT first_seq, n, keys, body FROM op_log WHERE first_seq >= \
                 coalesce((SELECT max(first_seq) FROM op_log WHERE first_seq <= ?1), 0) \
                 ORDER BY first_seq",
            )?;
            let mut rows = st.query(params![to_i64(after)])?;
            let limit = limit as usize;
            let mut out = Vec::with_capacity(limit.min(10_000));
            while out.len() < limit
                && let Some(r) = rows.next()?
            {
                read_segment(
                    from_i64(r.get(0)?),
                    from_i64(r.get(1)?),
                    r.get_ref(2)?.as_blob()?,
                    r.get_ref(3)?.as_blob()?,
                    after,
                    limit,
                    &mut out,
                )?;
            }
            Ok(out)
        })
        .await
    }

    async fn quarantined(&self, limit: u32) -> Result<Vec<(u64, QuarantineRow)>, StorageError> {
        self.run(move |conn| {
            let mut st = conn.prepare(
                "SELECT id, op_id, site, device_id, received_ms, hash, payload FROM quarantine ORDER BY id LIMIT ?1",
            )?;
            let mut rows = st.query([i64::from(limit)])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push((
                    from_i64(r.get(0)?),
                    QuarantineRow {
                        op_id: OpId::from_bytes(id16(r.get_ref(1)?.as_blob()?)?),
                        site: SiteId::from_bytes(id16(r.get_ref(2)?.as_blob()?)?),
                        device_id: r.get(3)?,
                        received_ms: from_i64(r.get(4)?),
                        hash: hash_from(r.get_ref(5)?.as_blob()?)?,
                        payload: r.get(6)?,
                    },
                ));
            }
            Ok(out)
        })
        .await
    }

    async fn counts(&self) -> Result<Counts, StorageError> {
        self.run(|conn| {
            let n = |sql: &str| -> Result<u64, StorageError> {
                Ok(from_i64(conn.query_row(sql, [], |r| r.get(0))?))
            };
            Ok(Counts {
                ops: n("SELECT coalesce(sum(n), 0) FROM op_log")?,
                quarantined: n("SELECT count(*) FROM quarantine")?,
                patients: n("SELECT count(*) FROM patients")?,
                visits: n("SELECT count(*) FROM visits")?,
                devices: n("SELECT count(*) FROM devices")?,
            })
        })
        .await
    }

    async fn put_enroll_code(
        &self,
        code_hash: [u8; 32],
        role: Role,
        expires_ms: u64,
    ) -> Result<(), StorageError> {
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO enroll_codes (code_hash, role, expires_ms) VALUES (?1, ?2, ?3)",
                params![&code_hash[..], role.as_str(), to_i64(expires_ms)],
            )?;
            Ok(())
        })
        .await
    }

    async fn enroll(
        &self,
        code_hash: [u8; 32],
        now_ms: u64,
        mut device: DeviceRow,
    ) -> Result<Option<DeviceRow>, StorageError> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let role: Option<String> = tx
                .query_row(
                    "UPDATE enroll_codes SET used_ms = ?2 \
                     WHERE code_hash = ?1 AND used_ms IS NULL AND expires_ms > ?2 RETURNING role",
                    params![&code_hash[..], to_i64(now_ms)],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(role) = role else {
                return Ok(None);
            };
            device.role = role_from(&role)?;
            put_device(&tx, &device)?;
            tx.commit()?;
            Ok(Some(device))
        })
        .await
    }

    async fn put_device(&self, device: DeviceRow) -> Result<(), StorageError> {
        self.run(move |conn| put_device(conn, &device)).await
    }

    async fn mirror_write(
        &self,
        run: String,
        rows: Vec<MirrorRow>,
    ) -> Result<MirrorWritten, StorageError> {
        self.run(move |conn| mirror::write(conn, &run, &rows)).await
    }

    async fn mirror_page(
        &self,
        after: u64,
        limit: u32,
        seen_since: Option<chrono::NaiveDate>,
    ) -> Result<Vec<MirrorScan>, StorageError> {
        self.run(move |conn| mirror::page(conn, after, limit, seen_since))
            .await
    }

    async fn mirror_get(&self, uhid: String) -> Result<Option<String>, StorageError> {
        self.run(move |conn| mirror::get(conn, &uhid)).await
    }

    async fn mirror_known(&self, uhids: Vec<String>) -> Result<Vec<String>, StorageError> {
        self.run(move |conn| mirror::known(conn, &uhids)).await
    }

    async fn mirror_stats(&self) -> Result<(u64, u64), StorageError> {
        self.run(mirror::stats).await
    }
}
