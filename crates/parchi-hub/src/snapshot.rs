//! The hub's own backups (SQLite backend) and restoring a hub from one.
//!
//! A hub backs up like a counter: an SQLCipher snapshot of `hub.sqlite3` with a random key
//! (`sqlcipher_export` on the hub's own connection, in one read transaction: a push waits for
//! it), encrypted with age to `--backup-recipient` and the hub's recovery key, with a manifest
//! signed by the hub's Ed25519 key (kept inside its encrypted database). `parchi restore` puts
//! it into an empty data directory with new key slots; the hub keeps its hub ID and its
//! devices (counters' credentials keep working), and counters whose cursor is past the
//! restored log are told `cursor_ahead` and pull again from 0. A PostgreSQL hub backs up as a
//! `pg_dump` of its schema in the same kind of signed, encrypted file (`pg_dump.rs`, in a
//! snapshot `postgres/dump.rs` exports), verified and restored by `pg.rs`.
//!
//! A serving hub backs up on a schedule (`schedule.rs`): every `--backup-every` minutes and at
//! the day end, by the rule the counters use (`parchi_core::schedule`).

use std::path::{Path, PathBuf};

use parchi_keys::backup::{self, BackupKey, Manifest, OpRange};
use parchi_keys::{DataKey, DeviceKey, RecoveryKey, keyring, sqlcipher};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;

mod pg;
mod pg_dump;
mod schedule;

pub use pg::{restore_postgres, verify_postgres};
pub use pg_dump::{KIND as POSTGRES_KIND, backup_postgres};
pub use schedule::{SelfBackup, parse_day_end, spawn_backups, spawn_schedule};

use crate::error::HubError;
use crate::keys::{META_SIGNING_KEY, os_random};
use crate::sqlite::PAGE_SIZE;
use crate::{SQLITE_FILE, SqliteStorage};

const TMP_DIR: &str = "tmp";

/// When and where a serving hub backs itself up.
#[derive(Clone, Debug)]
pub struct HubBackup {
    pub dir: PathBuf,
    pub every: std::time::Duration,
    /// The day-end backup's local time, in minutes after midnight (none: only `every`).
    pub day_end_minute: Option<u32>,
    /// The local time's offset from UTC in minutes; none: the machine's time zone.
    pub utc_offset_minutes: Option<i32>,
    /// How often the schedule looks at the clock.
    pub check_every: std::time::Duration,
    /// age recipients besides the hub's recovery key (the hospital's backup key).
    pub recipients: Vec<String>,
}

impl HubBackup {
    /// Every `every` and at 17:00 in the machine's time zone, looked at every 30 s.
    pub fn new(dir: PathBuf, every: std::time::Duration, recipients: Vec<String>) -> Self {
        Self {
            dir,
            every,
            day_end_minute: Some(DEFAULT_DAY_END_MINUTE),
            utc_offset_minutes: None,
            check_every: std::time::Duration::from_secs(30),
            recipients,
        }
    }
}

/// The day-end backup's default time, 17:00, when the OPD has closed (as on the counters).
pub const DEFAULT_DAY_END_MINUTE: u32 = 17 * 60;

/// What a hub restore did.
#[derive(Clone, Debug, Serialize)]
pub struct HubRestoreReport {
    pub data: PathBuf,
    pub hub_id: String,
    pub ops: u64,
    pub manifest: Manifest,
}

/// The manifest of a hub's backup of `kind`, signed by `signer` (its ciphertext is filled in
/// when the file is written).
pub(crate) fn hub_manifest(
    kind: &str,
    hub_id: &str,
    signer: &DeviceKey,
    now_ms: u64,
    ops: OpRange,
    patients: u64,
    recipients: Vec<String>,
) -> Manifest {
    let created = chrono::DateTime::from_timestamp_millis(now_ms as i64).unwrap_or_default();
    Manifest {
        format: backup::MAGIC.into(),
        kind: kind.into(),
        site: hub_id.into(),
        site_tag: None,
        counter: None,
        device: None,
        signing_key: hex(signer.public().as_bytes()),
        created_ms: now_ms,
        created: created.format("%Y-%m-%d %H:%M UTC").to_string(),
        schema_version: 0,
        ops,
        patients,
        recipients,
        ciphertext: backup::Ciphertext::default(),
    }
}

/// Who a hub's backup is encrypted to: `to.recipients` and the hub's recovery key.
pub(crate) fn recipients_for(data_dir: &Path, to: &HubBackup) -> Result<Vec<String>, HubError> {
    let mut recipients = to.recipients.clone();
    if let Ok(s) = keyring::status(data_dir)
        && let Some(r) = s.recovery_recipient
    {
        recipients.push(r);
    }
    if recipients.is_empty() {
        return Err(HubError::Config(
            "no key to encrypt the hub's backup to: give --backup-recipient age1…, or run `parchi serve --init-keys` for a recovery key".into(),
        ));
    }
    Ok(recipients)
}

/// A hub backup's file name without its extension: the hub, the time, two random bytes.
pub(crate) fn backup_stem(hub_id: &str, now_ms: u64) -> String {
    let created = chrono::DateTime::from_timestamp_millis(now_ms as i64).unwrap_or_default();
    let mut r = [0u8; 2];
    os_random(&mut r);
    format!(
        "parchi-{hub_id}-{}-{}",
        created.format("%Y%m%d-%H%M%S"),
        hex(&r)
    )
}

fn cfg(e: impl std::fmt::Display) -> HubError {
    HubError::Config(e.to_string())
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

/// Counts and identity of a hub snapshot (with its key), after `PRAGMA integrity_check`.
fn inspect(path: &Path, key: &DataKey) -> Result<(OpRange, u64, String, Option<String>), HubError> {
    // A backup of an earlier version is in the legacy page format, read as it is.
    let (conn, _) = sqlcipher::open(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE,
        key,
        Some(PAGE_SIZE),
    )
    .map_err(cfg)?;
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(cfg)?;
    if ok != "ok" {
        return Err(HubError::Config(format!("the snapshot is damaged: {ok}")));
    }
    let (count, first, last): (i64, Option<i64>, Option<i64>) = conn
        .query_row(
            "SELECT coalesce(sum(n), 0), min(first_seq), max(first_seq + n - 1) FROM op_log",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(cfg)?;
    let patients: i64 = conn
        .query_row("SELECT count(*) FROM patients", [], |r| r.get(0))
        .map_err(cfg)?;
    let hub_id = meta(&conn, "hub_id").map_err(cfg)?.unwrap_or_default();
    let signer = meta(&conn, META_SIGNING_KEY).map_err(cfg)?;
    let ops = OpRange {
        count: count as u64,
        first_seq: first.map(|v| v as u64),
        last_seq: last.map(|v| v as u64),
        max_hlc: 0,
    };
    Ok((ops, patients as u64, hub_id, signer))
}

/// The hub's signing key, made (and kept in its database) the first time.
fn signing_key(conn: &Connection) -> Result<DeviceKey, HubError> {
    if let Some(s) = meta(conn, META_SIGNING_KEY).map_err(cfg)? {
        return DeviceKey::from_stored(&s)
            .ok_or_else(|| HubError::Config("the hub's signing key is malformed".into()));
    }
    let k = DeviceKey::generate(&mut os_random);
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)",
        params![META_SIGNING_KEY, k.to_stored().as_str()],
    )
    .map_err(cfg)?;
    Ok(k)
}

/// Takes one backup of the hub's SQLite store into `to.dir` now. Returns the file written.
pub fn backup_now(
    storage: &SqliteStorage,
    data_dir: &Path,
    to: &HubBackup,
    now_ms: u64,
) -> Result<(PathBuf, Manifest), HubError> {
    let recipients = recipients_for(data_dir, to)?;
    let tmp = data_dir.join(TMP_DIR);
    std::fs::create_dir_all(&tmp).map_err(cfg)?;
    let snap_key = DataKey::generate(&mut os_random);
    let mut r = [0u8; 8];
    os_random(&mut r);
    let snap = tmp.join(format!("hub-backup-{}.db", hex(&r)));
    let signer = storage.with_conn(|conn| {
        let k = signing_key(conn).map_err(|e| crate::StorageError::Corrupt(e.to_string()))?;
        sqlcipher::export(conn, &snap, &snap_key, Some(PAGE_SIZE))
            .map_err(|e| crate::StorageError::Corrupt(e.to_string()))?;
        Ok(k)
    });
    let result = signer.map_err(HubError::from).and_then(|signer| {
        let (ops, patients, hub_id, _) = inspect(&snap, &snap_key)?;
        let manifest = hub_manifest("hub", &hub_id, &signer, now_ms, ops, patients, recipients);
        let stem = backup_stem(&hub_id, now_ms);
        backup::write_file(&to.dir, &stem, manifest, &signer, &snap_key, &snap).map_err(cfg)
    });
    let _ = std::fs::remove_file(&snap);
    result
}

/// A decrypted hub snapshot against its signed manifest: integrity, op count and range,
/// patients, hub ID and signer.
fn check(path: &Path, key: &DataKey, m: &Manifest) -> Result<(OpRange, u64, String), HubError> {
    if m.kind != "hub" {
        return Err(HubError::Config("not a hub's backup".into()));
    }
    let (ops, patients, hub_id, signer) = inspect(path, key)?;
    let signer_pub = signer
        .as_deref()
        .and_then(DeviceKey::from_stored)
        .map(|k| hex(k.public().as_bytes()));
    if ops != m.ops
        || patients != m.patients
        || hub_id != m.site
        || signer_pub.as_deref() != Some(m.signing_key.as_str())
    {
        return Err(HubError::Config(
            "the backup was altered: the snapshot differs from its signed manifest".into(),
        ));
    }
    Ok((ops, patients, hub_id))
}

/// `parchi backup verify` of a hub's backup: decrypted into `work` (still SQLCipher-encrypted
/// with its snapshot key), checked, and removed.
pub fn verify(file: &Path, key: &BackupKey, work: &Path) -> Result<HubRestoreReport, HubError> {
    std::fs::create_dir_all(work).map_err(cfg)?;
    let mut r = [0u8; 8];
    os_random(&mut r);
    let dest = work.join(format!("verify-hub-{}.db", hex(&r)));
    let result = backup::decrypt_file(file, key, &dest)
        .map_err(cfg)
        .and_then(|(m, k)| {
            let (ops, _, hub_id) = check(&dest, &k, &m)?;
            Ok(HubRestoreReport {
                data: file.to_owned(),
                hub_id,
                ops: ops.count,
                manifest: m,
            })
        });
    let _ = std::fs::remove_file(&dest);
    result
}

/// Restores a hub's backup into the empty data directory `dir` with `key`: decrypted, checked
/// (integrity, op count, hub ID and signer against the manifest), given new key slots and a
/// recovery key (returned, to show once), rekeyed and verified. Nothing is left on failure.
pub fn restore(
    file: &Path,
    dir: &Path,
    key: &BackupKey,
) -> Result<(RecoveryKey, HubRestoreReport), HubError> {
    std::fs::create_dir_all(dir).map_err(cfg)?;
    let db = dir.join(SQLITE_FILE);
    if db.exists() || keyring::has_slots(dir) {
        return Err(HubError::Config(format!(
            "{} already holds an installation; restore into an empty directory",
            dir.display()
        )));
    }
    let restoring = dir.join(format!("{SQLITE_FILE}.restoring"));
    let _ = std::fs::remove_file(&restoring);
    let (manifest, snap_key) = backup::decrypt_file(file, key, &restoring).map_err(cfg)?;
    let done = (|| {
        let (ops, _, hub_id) = check(&restoring, &snap_key, &manifest)?;
        let keys = keyring::create(dir, None, &mut os_random).map_err(cfg)?;
        {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE;
            let (conn, _) =
                sqlcipher::open(&restoring, flags, &snap_key, Some(PAGE_SIZE)).map_err(cfg)?;
            sqlcipher::rekey(&conn, &restoring, &keys.data_key, Some(PAGE_SIZE)).map_err(cfg)?;
        }
        std::fs::rename(&restoring, &db).map_err(cfg)?;
        parchi_keys::files::sync_dir(&db).map_err(cfg)?;
        drop(SqliteStorage::open(&db, &keys.data_key)?);
        Ok((
            keys.recovery,
            HubRestoreReport {
                data: dir.to_owned(),
                hub_id,
                ops: ops.count,
                manifest: manifest.clone(),
            },
        ))
    })();
    if done.is_err() {
        for f in [
            restoring,
            db,
            dir.join(keyring::SLOTS_FILE),
            dir.join(keyring::MACHINE_KEY_FILE),
        ] {
            let _ = std::fs::remove_file(f);
        }
    }
    done
}
