//! Backups: `parchi backup`, `parchi backup verify`, and what the desktop app shows.
//!
//! A backup is a consistent snapshot of the store, encrypted to the hospital's backup key
//! (`security.backup_recipient`) and to this installation's recovery key, with a manifest
//! signed by the device (format: `parchi_keys::backup`). The counter holds neither private key,
//! so it cannot read its own old backups.
//!
//! No plaintext ever touches the disk: the snapshot is an SQLCipher copy made by
//! `Store::snapshot_to` under `DATA/tmp/`, encrypted with a random snapshot key; that file is
//! streamed through age into the backup file (the snapshot key travels inside the age payload)
//! and then removed. Streaming the database pages straight from SQLite into age would save
//! that disk pass but hold a read transaction across the whole encryption and need the pages
//! in memory or a page-level reader; the encrypted temporary file costs one sequential write.
//!
//! "Verified", for the counter, means what it can check without the private keys: the
//! snapshot passed `PRAGMA integrity_check`, and the file on disk re-reads with a valid
//! signature and the signed length and SHA-256. `parchi backup verify` with the private key
//! (the admin's) also decrypts it, checks integrity again and compares the op count.

use std::path::{Path, PathBuf};

use parchi_keys::backup::{self, BackupKey, Manifest};
use parchi_keys::{DataKey, DeviceKey, keyring};
use parchi_store::snapshot;
use parchi_sync::wire::backups::BackupStored;
use serde::{Deserialize, Serialize};

use crate::counter::{Counter, Result};
use crate::env::Env;
use crate::error::AppError;

/// Where the last backup's outcome is kept (a setting inside the store).
const LAST: &str = "backup.last";
/// The temporary directory under the data directory (encrypted files only).
pub const TMP_DIR: &str = "tmp";
/// Backups without `--to` and without `backup.dir` go here.
pub const DEFAULT_DIR: &str = "backups";
/// The file name ending of backups.
pub use backup::EXTENSION;

/// The outcome of the last backup, for the status bar ("last backup 10:15, verified").
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LastBackup {
    /// Unix ms of the last attempt.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at_ms: u64,
    /// Local time of the last successful backup, `HH:MM` (or `dd-mm HH:MM` on an earlier day).
    pub at: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub ok_ms: Option<u64>,
    pub file: Option<String>,
    pub verified: bool,
    /// The hub's ID of the uploaded copy, when it went to the hub.
    pub hub_id: Option<String>,
    /// Why the last attempt failed (no patient data), if it did.
    pub error: Option<String>,
}

/// What one backup wrote.
#[derive(Clone, Debug, Serialize)]
pub struct BackupDone {
    pub file: PathBuf,
    pub manifest: Manifest,
    pub verified: bool,
}

/// What `parchi backup verify` found.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    pub file: PathBuf,
    pub manifest: Manifest,
    pub integrity: &'static str,
    pub ops: u64,
    pub patients: u64,
}

fn backup_err(e: backup::BackupError) -> AppError {
    if matches!(e, backup::BackupError::Invalid(_)) {
        AppError::Invalid(e.to_string())
    } else {
        AppError::Backup(e)
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> AppError + '_ {
    move |e| AppError::Invalid(format!("{}: {e}", path.display()))
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Creates `dir` (mode 0700 for the temporary one).
fn private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let _ = parchi_platform::restrict_dir_to_owner(dir);
    Ok(())
}

/// Everything a backup needs from its installation.
#[derive(Debug)]
pub struct Source<'a> {
    pub kind: &'static str,
    pub site: String,
    pub site_tag: Option<String>,
    pub counter: Option<String>,
    pub device: Option<String>,
    pub signer: &'a DeviceKey,
    pub recipients: Vec<String>,
    pub created_ms: u64,
    pub created: String,
    /// The name stem (`parchi-A-7K2Q-20250304-101500`).
    pub stem: String,
}

/// Writes a backup of an SQLCipher snapshot file (`snap`, keyed with `snap_key`) into `dir`
/// and checks the file as written (`snap` is left for the caller to remove).
pub fn write_backup(
    src: &Source<'_>,
    snap: &Path,
    snap_key: &DataKey,
    dir: &Path,
) -> Result<BackupDone> {
    let info = snapshot::inspect(snap, snap_key, true, None)?;
    let manifest = Manifest {
        format: backup::MAGIC.into(),
        kind: src.kind.into(),
        site: src.site.clone(),
        site_tag: src.site_tag.clone(),
        counter: src.counter.clone(),
        device: src.device.clone(),
        signing_key: hex(src.signer.public().as_bytes()),
        created_ms: src.created_ms,
        created: src.created.clone(),
        schema_version: info.schema_version,
        ops: info.ops.clone(),
        patients: info.patients,
        recipients: src.recipients.clone(),
        ciphertext: backup::Ciphertext::default(),
    };
    let (file, manifest) = backup::write_file(dir, &src.stem, manifest, src.signer, snap_key, snap)
        .map_err(backup_err)?;
    let verified = backup::check_file(&file).map_err(backup_err)? == manifest;
    Ok(BackupDone {
        file,
        manifest,
        verified,
    })
}

/// Checks a backup with the private key: the signature, the length and hash, decryption,
/// `PRAGMA integrity_check`, and the op count and site against the manifest. The decrypted
/// snapshot (still SQLCipher-encrypted with its snapshot key) goes to `work` and is removed.
pub fn verify_backup(
    file: &Path,
    key: &BackupKey,
    work: &Path,
    env: &mut dyn Env,
) -> Result<VerifyReport> {
    private_dir(work)?;
    let dest = snapshot::temp_path(work, "verify", &mut |b| env.fill_random(b));
    let result = (|| {
        let (manifest, snap_key) = backup::decrypt_file(file, key, &dest).map_err(backup_err)?;
        let info = check_snapshot(&dest, &snap_key, &manifest)?;
        Ok(VerifyReport {
            file: file.to_owned(),
            manifest,
            integrity: "ok",
            ops: info.ops.count,
            patients: info.patients,
        })
    })();
    let _ = std::fs::remove_file(&dest);
    result
}

/// The clear text of a file sealed to the backup keys (the FHIR export's `*.json.age`), with
/// the hospital's backup key or the installation's recovery key. For the admin who carries an
/// export to the hospital's system; the caller decides where the clear text goes.
pub fn open_sealed(file: &Path, key: &BackupKey) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let bytes = std::fs::read(file)
        .map_err(|e| AppError::Invalid(format!("cannot read {}: {e}", file.display())))?;
    parchi_keys::sealed::open(key, &bytes).map_err(AppError::Backup)
}

/// The device key the hub holds a site's backups to, from its list of stored backups (every
/// one was refused unless signed by the key pinned for its site): the key to pass to
/// [`check_signer`]. Refused when the hub holds no backup of the site, or (never expected)
/// backups signed by more than one key.
pub fn pinned_signer(list: &parchi_sync::wire::backups::BackupList, site: &str) -> Result<String> {
    let mut keys: Vec<&str> = list
        .backups
        .iter()
        .filter(|b| b.site == site)
        .map(|b| b.signing_key.as_str())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    match keys.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(AppError::Invalid(format!(
            "the hub holds no backup of site {site}, so no device key to hold this one to: give --signer HEX instead (`parchi key status` on the device)"
        ))),
        many => Err(AppError::Invalid(format!(
            "the hub's backups of site {site} are signed by {} different keys; check the device's key (`parchi key status`) and give it with --signer",
            many.len()
        ))),
    }
}

/// Refuses a backup whose signed manifest names another device key than `expected` (64 hex
/// digits: the key `parchi keys status` shows on the device, or the one the hub pinned for
/// the site). The signature proves only that the manifest's own key signed it; this says
/// whose key that is.
pub fn check_signer(manifest: &Manifest, expected: &str) -> Result<()> {
    let expected = expected.trim().to_ascii_lowercase();
    if expected.len() != 64 || !expected.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::Invalid(
            "--signer: the device's public signing key, 64 hex digits (parchi keys status)".into(),
        ));
    }
    if manifest.signing_key.to_ascii_lowercase() != expected {
        return Err(AppError::Invalid(format!(
            "this backup is signed by device key {}…, not by {}…: it was not made by that device",
            manifest
                .signing_key
                .get(..16)
                .unwrap_or(&manifest.signing_key),
            &expected[..16]
        )));
    }
    Ok(())
}

/// The decrypted snapshot against its manifest: integrity, op count and range, site, signer.
pub(crate) fn check_snapshot(
    path: &Path,
    key: &DataKey,
    m: &Manifest,
) -> Result<snapshot::SnapshotInfo> {
    let info = snapshot::inspect(path, key, true, Some(crate::keys::SIGNING_KEY))?;
    let tampered = |what: &str| {
        AppError::Backup(backup::BackupError::Tampered(format!(
            "the snapshot's {what} differs from the signed manifest"
        )))
    };
    if info.ops != m.ops {
        return Err(tampered("op count or range"));
    }
    if info.patients != m.patients {
        return Err(tampered("patient count"));
    }
    if m.kind == "counter" {
        if info.site.as_deref() != Some(m.site.as_str()) {
            return Err(tampered("site"));
        }
        let signer = info
            .secret
            .as_deref()
            .and_then(DeviceKey::from_stored)
            .map(|k| hex(k.public().as_bytes()));
        if signer.as_deref() != Some(m.signing_key.as_str()) {
            return Err(tampered("device signing key"));
        }
    }
    Ok(info)
}

impl Counter {
    /// The recipients of this installation's backups (and of every file it writes for people
    /// outside Parchi, such as the FHIR export): the hospital's backup key and the recovery
    /// holder's key. Refused when there is neither.
    pub(crate) fn backup_recipients(&self, what: &str) -> Result<Vec<String>> {
        let mut to = Vec::new();
        if let Some(r) = &self.config().security.backup_recipient {
            to.push(parchi_keys::parse_recipient(r)?.to_string());
        }
        if let Some(r) = keyring::status(&self.data_dir())?.recovery_recipient {
            to.push(r);
        }
        if to.is_empty() {
            return Err(AppError::Invalid(format!(
                "no key to encrypt {what} to: set security.backup_recipient in the hospital configuration, or run `parchi key rotate` to make a recovery key"
            )));
        }
        Ok(to)
    }

    /// Where backups go without `--to`: the configuration's `backup.dir`, else `DATA/backups`.
    pub fn backup_dir(&self) -> PathBuf {
        match &self.config().backup.dir {
            Some(d) => PathBuf::from(d),
            None => self.data_dir().join(DEFAULT_DIR),
        }
    }

    /// Takes a backup into `to` (else [`Counter::backup_dir`]) and records the outcome for the
    /// status bar. A failure leaves no partial file and says why.
    pub fn backup(&mut self, to: Option<&Path>) -> Result<BackupDone> {
        let dir = to.map_or_else(|| self.backup_dir(), Path::to_owned);
        let at_ms = self.now_ms();
        let r = self.backup_inner(&dir);
        let mut last = self.last_backup()?.unwrap_or(LastBackup {
            at_ms,
            at: None,
            ok_ms: None,
            file: None,
            verified: false,
            hub_id: None,
            error: None,
        });
        last.at_ms = at_ms;
        match &r {
            Ok(done) => {
                last.ok_ms = Some(at_ms);
                last.file = Some(done.file.display().to_string());
                last.verified = done.verified;
                last.hub_id = None;
                last.error = None;
            }
            Err(e) => last.error = Some(format!("{}: {e}", e.code())),
        }
        self.set_last_backup(&last)?;
        r
    }

    fn backup_inner(&mut self, dir: &Path) -> Result<BackupDone> {
        let recipients = self.backup_recipients("the backup")?;
        let tmp = self.data_dir().join(TMP_DIR);
        private_dir(&tmp)?;
        let snap_key = DataKey::generate(&mut |b: &mut [u8]| self.fill_random(b));
        let snap = snapshot::temp_path(&tmp, "backup", &mut |b| self.fill_random(b));
        let site = self.store().site().clone();
        let now = self.now_local();
        let mut suffix = [0u8; 2];
        self.fill_random(&mut suffix);
        let stem = format!(
            "parchi-{}-{}-{}-{}",
            site.counter.as_str(),
            site.tag.as_str(),
            now.format("%Y%m%d-%H%M%S"),
            hex(&suffix)
        );
        let signer = self.device_key()?;
        let src = Source {
            kind: "counter",
            site: site.site.to_string(),
            site_tag: Some(site.tag.as_str().to_owned()),
            counter: Some(site.counter.as_str().to_owned()),
            device: self.store().setting("sync.device")?,
            signer: &signer,
            recipients,
            created_ms: self.now_ms(),
            created: now.format("%Y-%m-%d %H:%M").to_string(),
            stem,
        };
        let r = self
            .store()
            .snapshot_to(&snap, &snap_key)
            .map_err(AppError::from)
            .and_then(|()| write_backup(&src, &snap, &snap_key, dir));
        let _ = std::fs::remove_file(&snap);
        r
    }

    /// Uploads a backup file to the hub this counter is enrolled at (append-only there), and
    /// records the hub's ID in the last backup's outcome.
    pub fn upload_backup(&mut self, file: &Path) -> Result<BackupStored> {
        let (hub, token) = match (
            self.store().setting("sync.hub")?,
            self.store().setting("sync.token")?,
        ) {
            (Some(h), Some(t)) => (h, t),
            _ => {
                return Err(AppError::Invalid(
                    "this counter is not enrolled at a hub: run `parchi enroll --hub URL --code CODE`".into(),
                ));
            }
        };
        let stored = crate::sync::client(&hub)?
            .with_token(token)
            .upload_backup(file)
            .map_err(|e| AppError::Sync(format!("uploading the backup: {e}")))?;
        if let Some(mut last) = self.last_backup()?
            && last.file.as_deref() == Some(file.display().to_string().as_str())
        {
            last.hub_id = Some(stored.entry.id.clone());
            self.set_last_backup(&last)?;
        }
        Ok(stored)
    }

    /// `Store::snapshot_to` alone: the benchmark's same-run baseline.
    #[doc(hidden)]
    pub fn snapshot_for_bench(&self, dest: &Path, key: &DataKey) -> Result<()> {
        Ok(self.store().snapshot_to(dest, key)?)
    }

    /// The last backup's outcome, with its local time for the status bar.
    pub fn last_backup(&self) -> Result<Option<LastBackup>> {
        let Some(text) = self.store().setting(LAST)? else {
            return Ok(None);
        };
        let mut last: LastBackup = serde_json::from_str(&text)
            .map_err(|e| AppError::Invalid(format!("the last backup's record: {e}")))?;
        last.at = last.ok_ms.map(|ms| {
            let t = self.local_time_of(parchi_core::Hlc::new(ms, 0));
            if t.date() == self.today() {
                t.format("%H:%M").to_string()
            } else {
                t.format("%d-%m %H:%M").to_string()
            }
        });
        Ok(Some(last))
    }

    pub(crate) fn set_last_backup(&mut self, last: &LastBackup) -> Result<()> {
        let json = serde_json::to_string(last).map_err(|e| AppError::Invalid(e.to_string()))?;
        self.store_mut().set_setting(LAST, &json)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use parchi_sync::wire::backups::{BackupEntry, BackupList};

    use super::pinned_signer;

    fn entry(site: &str, key: char) -> BackupEntry {
        BackupEntry {
            id: "bk_1_0000000000000000".into(),
            site: site.into(),
            device_id: "d".into(),
            counter: Some("A".into()),
            kind: "counter".into(),
            bytes: 1,
            sha256: "0".repeat(64),
            created_ms: 1,
            received_ms: 1,
            ops: 1,
            signing_key: key.to_string().repeat(64),
        }
    }

    #[test]
    fn the_pin_is_the_one_key_of_the_sites_stored_backups() {
        let list = BackupList {
            backups: vec![entry("s1", 'a'), entry("s2", 'b'), entry("s1", 'a')],
        };
        assert_eq!(pinned_signer(&list, "s1").expect("pin"), "a".repeat(64));
        let e = pinned_signer(&list, "s3").expect_err("no backup of s3");
        assert!(e.to_string().contains("no backup of site s3"), "{e}");
        let two = BackupList {
            backups: vec![entry("s1", 'a'), entry("s1", 'c')],
        };
        let e = pinned_signer(&two, "s1").expect_err("two keys");
        assert!(e.to_string().contains("2 different keys"), "{e}");
    }
}
