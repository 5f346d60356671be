//! Snapshots for backups and restores: what a snapshot holds (read with its own key, never
//! through the live store), its key changed to a new installation's, and the new identity a
//! restored installation takes.
//!
//! **Architecture Invariant:** a restored installation never reuses the identity of the one
//! it was restored from: it gets a new site ID and site tag (temporary IDs carry the tag, so
//! none can repeat), its sequences today start past the minute of the restore (tokens carry
//! the counter code, and the tokens issued after the backup are not in it), and the old site's
//! ops that had not reached the hub are kept apart, to be pushed with the old site's
//! credential (a counter may push only its own site's ops).

use std::path::{Path, PathBuf};

use chrono::Timelike;
use parchi_core::{SiteId, SiteTag};
use parchi_keys::DataKey;
use parchi_keys::backup::OpRange;
use parchi_keys::sqlcipher;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::{Result, SiteInfo, Stamping, Store, StoreError, get_meta, set_meta};

/// Local ops of a predecessor site, kept for its credential (see [`Store::reidentify`]).
pub const INHERITED: i64 = 3;

/// What a snapshot file holds, read with the snapshot's key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub ops: OpRange,
    pub patients: u64,
    pub schema_version: u32,
    pub site: Option<String>,
    pub site_tag: Option<String>,
    pub counter: Option<String>,
    /// The hospital configuration stored in it (JSON).
    pub config: Option<String>,
    /// A secret it keeps (`secret:NAME` in `meta`), when asked for.
    pub secret: Option<String>,
}

/// What [`Store::reidentify`] changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reidentified {
    pub old_site: SiteId,
    pub site: SiteInfo,
    /// The old site's local ops that had not reached the hub when the backup was taken.
    pub inherited_pending: u64,
    /// The hub and credential of the old site, if it was enrolled (kept inside the store).
    pub hub: Option<String>,
}

fn open_snapshot(path: &Path, key: &DataKey, write: bool) -> Result<Connection> {
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    // A backup of an earlier version is in the legacy page format; the store converts it when
    // it opens the restored file.
    match sqlcipher::open(path, flags, key, None) {
        Ok((conn, _)) => Ok(conn),
        Err(sqlcipher::CipherError::WrongKey) => Err(StoreError::WrongKey {
            path: path.to_owned(),
        }),
        Err(sqlcipher::CipherError::Sqlite(e)) => Err(StoreError::open(path, e)),
        Err(e) => Err(StoreError::Corrupt(e.to_string())),
    }
}

/// Reads a snapshot's counts and identity. With `integrity`, runs `PRAGMA integrity_check`
/// first (every page read and checked) and refuses a damaged file.
pub fn inspect(
    path: &Path,
    key: &DataKey,
    integrity: bool,
    secret: Option<&str>,
) -> Result<SnapshotInfo> {
    let conn = open_snapshot(path, key, false)?;
    if integrity {
        let res: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if res != "ok" {
            return Err(StoreError::Corrupt(format!("integrity_check: {res}")));
        }
    }
    let (count, first, last, max_hlc) = conn.query_row(
        "SELECT count(*), min(seq), max(seq), coalesce(max(hlc), 0) FROM ops",
        [],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<i64>>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, i64>(3)?,
            ))
        },
    )?;
    let patients: i64 = conn.query_row("SELECT count(*) FROM patients", [], |r| r.get(0))?;
    let schema_version: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let meta = |k: &str| get_meta(&conn, k);
    Ok(SnapshotInfo {
        ops: OpRange {
            count: count as u64,
            first_seq: first.map(|v| v as u64),
            last_seq: last.map(|v| v as u64),
            max_hlc: max_hlc as u64,
        },
        patients: patients as u64,
        schema_version,
        site: meta("site_id")?,
        site_tag: meta("site_tag")?,
        counter: meta("counter")?,
        config: meta("config")?,
        secret: secret
            .map(|s| meta(&format!("secret:{s}")))
            .transpose()?
            .flatten(),
    })
}

/// Changes a snapshot's key from `from` to `to` and proves it by reopening (see
/// `parchi_keys::sqlcipher::rekey`).
pub fn rekey(path: &Path, from: &DataKey, to: &DataKey, page_size: Option<u32>) -> Result<()> {
    let conn = open_snapshot(path, from, true)?;
    sqlcipher::rekey(&conn, path, to, page_size).map_err(|e| match e {
        sqlcipher::CipherError::Sqlite(e) => StoreError::from(e),
        other => StoreError::Corrupt(other.to_string()),
    })
}

/// A fresh name for a file of `prefix` in `dir` (random, so two runs never meet).
pub fn temp_path(dir: &Path, prefix: &str, random: &mut dyn FnMut(&mut [u8])) -> PathBuf {
    let mut b = [0u8; 8];
    random(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    dir.join(format!("{prefix}-{hex}.db"))
}

const SYNC_TOKEN: &str = "setting:sync.token";
const SYNC_DEVICE: &str = "setting:sync.device";
const SYNC_HUB: &str = "setting:sync.hub";
/// Where the old site's credential is kept after a restore, for its unpushed ops.
pub const PREDECESSOR_TOKEN: &str = "restore.predecessor_token";
pub const PREDECESSOR_SITE: &str = "restore.predecessor_site";

impl Store {
    /// Gives a store restored from a backup an identity of its own, in one transaction: a new
    /// site ID and tag, today as its install day with sequences starting past the minute of
    /// the restore (rows already there for today are raised to it), and no sync credential
    /// (it enrols afresh). The old site's ops that were still waiting to be pushed are marked
    /// [`INHERITED`], and the old credential is kept (inside the encrypted store) to push them.
    pub fn reidentify(&mut self, st: &mut Stamping<'_>) -> Result<Reidentified> {
        let old_site = self.site.site;
        let site = SiteId::new_v7(st.now_ms, st.bytes());
        let tag = SiteTag::from_random(st.bytes());
        let floor = u64::from(st.local.hour() * 60 + st.local.minute());
        let info = SiteInfo {
            site,
            tag,
            counter: self.site.counter.clone(),
            install_day: st.today(),
            install_floor: floor,
        };
        let tx = self.conn.transaction()?;
        set_meta(&tx, "site_id", &info.site.to_string())?;
        set_meta(&tx, "site_tag", info.tag.as_str())?;
        set_meta(&tx, "install_day", &info.install_day.to_string())?;
        set_meta(&tx, "install_floor", &floor.to_string())?;
        tx.execute(
            "UPDATE sequences SET last = max(last, ?2) WHERE day = ?1",
            params![info.install_day.to_string(), floor as i64],
        )?;
        let inherited = tx.execute(
            &format!(
                "UPDATE ops SET sync_state = ?2 WHERE {} AND site = ?1",
                crate::outbox::WAITING
            ),
            params![&old_site.as_bytes()[..], INHERITED],
        )? as u64;
        let token = get_meta(&tx, SYNC_TOKEN)?;
        let hub = get_meta(&tx, SYNC_HUB)?;
        if let Some(t) = &token
            && inherited > 0
        {
            set_meta(&tx, &format!("setting:{PREDECESSOR_TOKEN}"), t)?;
            set_meta(
                &tx,
                &format!("setting:{PREDECESSOR_SITE}"),
                &old_site.to_string(),
            )?;
        }
        tx.execute(
            "DELETE FROM meta WHERE key IN (?1, ?2)",
            params![SYNC_TOKEN, SYNC_DEVICE],
        )?;
        tx.commit()?;
        self.site = info.clone();
        Ok(Reidentified {
            old_site,
            site: info,
            inherited_pending: inherited,
            hub,
        })
    }

    /// Up to `limit` inherited ops (a predecessor site's, not yet pushed), oldest first.
    pub fn inherited_ops(&self, limit: usize) -> Result<Vec<parchi_core::Op>> {
        let mut q = self.conn.prepare_cached(
            "SELECT body FROM ops WHERE origin = 0 AND sync_state = ?1 ORDER BY seq LIMIT ?2",
        )?;
        let rows = q.query_map(params![INHERITED, limit as i64], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for body in rows {
            out.push(serde_json::from_str(&body?)?);
        }
        Ok(out)
    }

    /// How many inherited ops wait for the predecessor's credential.
    pub fn inherited_count(&self) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM ops WHERE origin = 0 AND sync_state = ?1",
            [INHERITED],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Forgets the predecessor's credential once nothing inherited waits.
    pub fn drop_predecessor_if_done(&mut self) -> Result<bool> {
        if self.inherited_count()? > 0 {
            return Ok(false);
        }
        let found = self.setting(PREDECESSOR_TOKEN)?.is_some();
        self.conn.execute(
            "DELETE FROM meta WHERE key IN (?1, ?2)",
            params![
                format!("setting:{PREDECESSOR_TOKEN}"),
                format!("setting:{PREDECESSOR_SITE}")
            ],
        )?;
        Ok(found)
    }

    /// The database's `user_version`.
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// The op log's extent (for a manifest), read on this connection.
    pub fn op_range(&self) -> Result<OpRange> {
        let r = self
            .conn
            .query_row(
                "SELECT count(*), min(seq), max(seq), coalesce(max(hlc), 0) FROM ops",
                [],
                |r| {
                    Ok(OpRange {
                        count: r.get::<_, i64>(0)? as u64,
                        first_seq: r.get::<_, Option<i64>>(1)?.map(|v| v as u64),
                        last_seq: r.get::<_, Option<i64>>(2)?.map(|v| v as u64),
                        max_hlc: r.get::<_, i64>(3)? as u64,
                    })
                },
            )
            .optional()?;
        Ok(r.unwrap_or_default())
    }
}
