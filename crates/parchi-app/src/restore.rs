//! Restore: `parchi restore FILE --data DIR` with the hospital's backup key or the recovery
//! key, onto an empty data directory (a new PC, or the wiped one).
//!
//! The restored counter is a **new installation** that inherits the old one's data: new key
//! slots (a new data key, a new recovery key shown once), a new device signing key, a new site
//! ID and site tag, today's sequences starting past the minute of the restore, and no hub
//! credential: the admin enrols it afresh and may revoke the old device. Its next sync pulls
//! everything the old site pushed after the backup (the cursor in the backup is older than
//! those ops), which also raises its token sequences past the tokens the old site issued. The
//! old site's ops that had not reached the hub when the backup was taken are pushed with the
//! old site's credential (kept inside the store for that, then forgotten), because a counter
//! may push only its own site's ops. See `parchi_store::snapshot` for the invariant.

use std::path::{Path, PathBuf};

use parchi_keys::backup::{self, BackupKey, Manifest};
use parchi_keys::{DeviceKey, keyring};
use parchi_store::{DB_FILE, Store, snapshot};
use serde::Serialize;

use crate::backup::{LastBackup, check_snapshot};
use crate::config::HospitalConfig;
use crate::counter::{Counter, Result, with_stamping_pub};
use crate::env::Env;
use crate::error::AppError;

/// What a restore did.
#[derive(Clone, Debug, Serialize)]
pub struct RestoreReport {
    pub data: PathBuf,
    pub manifest: Manifest,
    pub old_site: String,
    pub site: String,
    pub site_tag: String,
    pub counter: String,
    pub ops: u64,
    pub patients: u64,
    /// The old site's ops that had not reached the hub; pushed at the next sync.
    pub inherited_pending: u64,
    /// The hub the old site synced with (enrol again there).
    pub hub: Option<String>,
}

/// Files a data directory holds once something lives in it.
const INSTALLED: &[&str] = &[DB_FILE, keyring::SLOTS_FILE, "hub.sqlite3"];

/// Refuses a directory that already holds an installation (nothing is overwritten).
pub fn check_empty_target(dir: &Path) -> Result<()> {
    if let Some(f) = INSTALLED.iter().find(|f| dir.join(f).exists()) {
        return Err(AppError::Invalid(format!(
            "{} already holds an installation ({f}); restore into an empty directory",
            dir.display()
        )));
    }
    Ok(())
}

fn remove_quietly(paths: &[PathBuf]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

/// The backup's manifest, checked (format, signature, length), for the caller to see what it
/// is before restoring it: a counter's or a hub's.
pub fn read_manifest(file: &Path) -> Result<Manifest> {
    backup::read_file_manifest(file).map_err(AppError::Backup)
}

impl Counter {
    /// Restores a counter's backup into the empty directory `dir` (see the module docs). A
    /// wrong key, or a tampered or truncated file, is refused before anything is kept.
    pub fn restore(
        file: &Path,
        dir: &Path,
        key: &BackupKey,
        env: Box<dyn Env>,
    ) -> Result<(Counter, RestoreReport)> {
        let manifest = read_manifest(file)?;
        if manifest.kind != "counter" {
            return Err(AppError::Invalid(format!(
                "this is a backup of a {}, not a counter",
                manifest.kind
            )));
        }
        check_empty_target(dir)?;
        std::fs::create_dir_all(dir)
            .map_err(|e| AppError::Invalid(format!("{}: {e}", dir.display())))?;
        let restoring = dir.join(format!("{DB_FILE}.restoring"));
        let _ = std::fs::remove_file(&restoring);
        let (manifest, snap_key) =
            backup::decrypt_file(file, key, &restoring).map_err(AppError::Backup)?;
        let created = [
            restoring.clone(),
            dir.join(DB_FILE),
            dir.join(keyring::SLOTS_FILE),
            dir.join(keyring::MACHINE_KEY_FILE),
        ];
        match Self::restore_snapshot(&restoring, &snap_key, dir, &manifest, env) {
            Ok(done) => Ok(done),
            Err(e) => {
                remove_quietly(&created);
                Err(e)
            }
        }
    }

    fn restore_snapshot(
        restoring: &Path,
        snap_key: &parchi_keys::DataKey,
        dir: &Path,
        manifest: &Manifest,
        mut env: Box<dyn Env>,
    ) -> Result<(Counter, RestoreReport)> {
        let info = check_snapshot(restoring, snap_key, manifest)?;
        let config = info
            .config
            .as_deref()
            .map(HospitalConfig::from_json)
            .transpose()?;
        let escrow = config.and_then(|c| c.security.escrow_recipient);
        let keys = keyring::create(dir, escrow.as_deref(), &mut |b: &mut [u8]| {
            env.fill_random(b)
        })?;
        snapshot::rekey(restoring, snap_key, &keys.data_key, None)?;
        let db = dir.join(DB_FILE);
        std::fs::rename(restoring, &db)
            .map_err(|e| AppError::Invalid(format!("{}: {e}", db.display())))?;
        parchi_keys::files::sync_dir(&db)?;
        let store = Store::open(dir, &keys.data_key)?;
        let mut c = Counter::from_store(store, keys.data_key, env)?;
        let re = with_stamping_pub(&mut c, |s, st| s.reidentify(st))?;
        let signer = DeviceKey::generate(&mut |b: &mut [u8]| c.fill_random(b));
        c.store_mut()
            .set_secret(crate::keys::SIGNING_KEY, &signer.to_stored())?;
        let now = c.now_ms();
        c.set_last_backup(&LastBackup {
            at_ms: now,
            at: None,
            ok_ms: None,
            file: None,
            verified: false,
            hub_id: None,
            error: Some("restored: no backup of this installation yet".into()),
        })?;
        c.recovery = Some(keys.recovery);
        let report = RestoreReport {
            data: dir.to_owned(),
            manifest: manifest.clone(),
            old_site: re.old_site.to_string(),
            site: re.site.site.to_string(),
            site_tag: re.site.tag.as_str().to_owned(),
            counter: re.site.counter.as_str().to_owned(),
            ops: info.ops.count,
            patients: info.patients,
            inherited_pending: re.inherited_pending,
            hub: re.hub,
        };
        Ok((c, report))
    }

    /// Pushes the ops a restored installation inherited from its predecessor, with the
    /// predecessor's credential, and forgets that credential once none wait. Returns how many
    /// went out. Does nothing when there are none.
    pub(crate) fn push_inherited(&mut self, hub: &str) -> std::result::Result<u64, String> {
        let token = match self.store().setting(snapshot::PREDECESSOR_TOKEN) {
            Ok(Some(t)) => t,
            Ok(None) => return Ok(0),
            Err(e) => return Err(e.to_string()),
        };
        let client = crate::sync::client(hub)
            .map_err(|e| e.to_string())?
            .with_token(token);
        let mut sent = 0u64;
        loop {
            let ops = self.store().inherited_ops(500).map_err(|e| e.to_string())?;
            if ops.is_empty() {
                break;
            }
            let resp = client.push(&ops).map_err(|e| {
                format!("pushing the ops inherited from the old site (with its credential): {e}")
            })?;
            let mut done = Vec::new();
            for r in &resp.results {
                let Some(op) = ops.get(r.index as usize) else {
                    return Err("the hub answered for an op it was not sent".into());
                };
                match &r.outcome {
                    parchi_sync::wire::Outcome::Applied { .. }
                    | parchi_sync::wire::Outcome::Duplicate => done.push(op.id),
                    other => {
                        let why = format!("{other:?}");
                        self.store_mut()
                            .mark_rejected(op.id, &why)
                            .map_err(|e| e.to_string())?;
                    }
                }
            }
            sent += done.len() as u64;
            self.store_mut()
                .mark_pushed(&done)
                .map_err(|e| e.to_string())?;
            if resp.results.is_empty() {
                return Err("the hub answered no results for the inherited ops".into());
            }
        }
        self.store_mut()
            .drop_predecessor_if_done()
            .map_err(|e| e.to_string())?;
        Ok(sent)
    }
}
