//! The hub's append-only backup store: files on disk under `DATA/backups/`, for both backends.
//!
//! ```text
//! DATA/backups/.incoming/<random>         an upload being received (removed when done)
//! DATA/backups/<site>/<id>.pbak           the backup file as uploaded (mode 0400)
//! DATA/backups/<site>/<id>.json           its entry (BackupEntry, mode 0400)
//! ```
//!
//! Why files and not rows: a backup is hundreds of megabytes, written once and read rarely;
//! in the op database it would bloat every checkpoint, WAL and database backup, and
//! PostgreSQL would hold it as a TOASTed bytea read whole into memory. On disk it is streamed
//! in and out, and the same code serves SQLite and PostgreSQL hubs (the data directory exists
//! for both: it holds the admin secret). The index is the directory itself: one JSON entry
//! beside each file, listed by reading the directory.
//!
//! **Architecture Invariant:** nothing a device sends overwrites or deletes a stored backup.
//! Files are placed with `link` (which fails if the name exists, unlike `rename`), under a name
//! the hub chooses, and made read-only; the HTTP API has no device route that removes one (PUT
//! and DELETE answer 403). Only the admin's prune removes files, by retention. The hub checks
//! each upload's signed manifest (its site must be the uploading device's) and hash before
//! keeping it, but cannot decrypt it: it holds none of the private keys.

use std::path::{Path, PathBuf};

use parchi_keys::backup::{self, BackupError, Manifest};
use parchi_sync::wire::Role;
use parchi_sync::wire::backups::{BackupEntry, BackupStored, PruneReport, PruneRequest};

use crate::engine::random_bytes;
use crate::error::HubError;
use crate::storage::DeviceRow;

/// The backup store's directory inside the hub's data directory.
pub const BACKUPS_DIR: &str = "backups";
const INCOMING: &str = ".incoming";
/// In a site's directory: the device key its backups are signed by.
const PIN_FILE: &str = "signing-key";
const DAY_MS: u64 = 24 * 3600 * 1000;

/// The append-only store of uploaded backups.
#[derive(Debug)]
pub struct BackupStore {
    dir: PathBuf,
    /// Most bytes of one upload.
    pub max_bytes: u64,
    /// One placement or prune at a time (uploads are received in parallel).
    lock: std::sync::Mutex<()>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HubError + '_ {
    move |e| HubError::Config(format!("backup store {}: {e}", path.display()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A name safe as one path component (site IDs, hub IDs, backup IDs).
fn safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 80
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Best effort: a stored backup that stays writable is still a backup.
fn read_only(path: &Path) {
    let _ = parchi_platform::make_read_only(path);
}

fn refused(e: BackupError) -> HubError {
    HubError::BadRequest(format!("not a valid backup: {e}"))
}

impl BackupStore {
    /// Opens (creating) the store under `data_dir`, removing uploads a crash left half-received.
    pub fn open(data_dir: &Path, max_bytes: u64) -> Result<BackupStore, HubError> {
        let dir = data_dir.join(BACKUPS_DIR);
        let incoming = dir.join(INCOMING);
        std::fs::create_dir_all(&incoming).map_err(io(&incoming))?;
        for e in std::fs::read_dir(&incoming)
            .map_err(io(&incoming))?
            .flatten()
        {
            let _ = std::fs::remove_file(e.path());
        }
        Ok(BackupStore {
            dir,
            max_bytes,
            lock: std::sync::Mutex::new(()),
        })
    }

    /// Every pinned site with its key.
    pub fn pins(&self) -> Result<Vec<(String, String)>, HubError> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        for e in entries.filter_map(Result::ok) {
            let site = e.file_name().to_string_lossy().into_owned();
            if let Some(key) = self.pinned_key(&site)? {
                out.push((site, key));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The device key a site's backups must be signed by, if one is pinned: at enrolment
    /// (the counter sends its public key), else by the site's first backup.
    pub fn pinned_key(&self, site: &str) -> Result<Option<String>, HubError> {
        if !safe_name(site) {
            return Ok(None);
        }
        let path = self.dir.join(site).join(PIN_FILE);
        match std::fs::read_to_string(&path) {
            Ok(k) => Ok(Some(k.trim().to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Pins `key` (64 hex digits) as the one `site`'s backups must be signed by. The same key
    /// again is fine; another is refused, and nothing changes: a site has one device key for
    /// life (a restored counter is a new site).
    pub fn pin(&self, site: &str, key: &str) -> Result<(), HubError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| HubError::Config("backup store lock poisoned".into()))?;
        self.pin_locked(site, key)
    }

    /// Whether [`BackupStore::pin`] would take `key` for `site`, writing nothing.
    pub fn check_pin(&self, site: &str, key: &str) -> Result<(), HubError> {
        self.pin_needed(site, key).map(|_| ())
    }

    /// The key to pin (normalised), `None` if it is pinned already, or why it is refused.
    fn pin_needed(&self, site: &str, key: &str) -> Result<Option<String>, HubError> {
        if !safe_name(site) {
            return Err(HubError::BadRequest("the site is not a valid ID".into()));
        }
        if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(HubError::BadRequest(
                "signing_key: must be the device's Ed25519 public key, 64 hex digits".into(),
            ));
        }
        let key = key.to_ascii_lowercase();
        match self.pinned_key(site)? {
            Some(pinned) if pinned == key => Ok(None),
            Some(pinned) => Err(HubError::Forbidden(format!(
                "site {site} signs with the device key {}…, pinned when it enrolled; this one is another device's",
                pinned.get(..16).unwrap_or(&pinned)
            ))),
            None => Ok(Some(key)),
        }
    }

    fn pin_locked(&self, site: &str, key: &str) -> Result<(), HubError> {
        let Some(key) = self.pin_needed(site, key)? else {
            return Ok(());
        };
        let site_dir = self.dir.join(site);
        std::fs::create_dir_all(&site_dir).map_err(io(&site_dir))?;
        let tmp = self.incoming_path()?;
        std::fs::write(&tmp, format!("{key}\n")).map_err(io(&tmp))?;
        let pin = site_dir.join(PIN_FILE);
        // link, never rename: a pin written meanwhile is never replaced.
        let linked = std::fs::hard_link(&tmp, &pin).map_err(io(&pin));
        let _ = std::fs::remove_file(&tmp);
        linked?;
        read_only(&pin);
        parchi_platform::sync_dir(&site_dir).map_err(io(&site_dir))?;
        Ok(())
    }

    /// A fresh path to receive an upload into.
    pub fn incoming_path(&self) -> Result<PathBuf, HubError> {
        Ok(self.dir.join(INCOMING).join(hex(&random_bytes::<12>()?)))
    }

    /// Keeps a received upload (`tmp`, with the SHA-256 of the whole file) for `dev`, after
    /// checking its signed manifest, that it is the device's own site's, and its hash. The
    /// same bytes again answer the stored entry as a duplicate. `tmp` is always consumed.
    pub fn accept(
        &self,
        tmp: &Path,
        sha256: [u8; 32],
        bytes: u64,
        dev: &DeviceRow,
        now_ms: u64,
    ) -> Result<BackupStored, HubError> {
        let r = self.accept_inner(tmp, sha256, bytes, dev, now_ms);
        let _ = std::fs::remove_file(tmp);
        r
    }

    fn accept_inner(
        &self,
        tmp: &Path,
        sha256: [u8; 32],
        bytes: u64,
        dev: &DeviceRow,
        now_ms: u64,
    ) -> Result<BackupStored, HubError> {
        let m: Manifest = backup::check_file(tmp).map_err(refused)?;
        let own = match dev.role {
            Role::Counter => m.kind == "counter" && m.site == dev.site.to_string(),
            Role::Hub => m.kind == "hub",
        };
        if !own {
            return Err(HubError::ForbiddenSite {
                op_id: "-".into(),
                site: m.site.clone(),
            });
        }
        if !safe_name(&m.site) {
            return Err(HubError::BadRequest(
                "the manifest's site is not a valid ID".into(),
            ));
        }
        let sha = hex(&sha256);
        let _guard = self
            .lock
            .lock()
            .map_err(|_| HubError::Config("backup store lock poisoned".into()))?;
        // The manifest's signature was checked against its own key: that key must be the
        // site's, or anyone with the credential could sign a fabricated store.
        self.pin_locked(&m.site, &m.signing_key)?;
        if let Some(e) = self
            .list(Some(&m.site))?
            .into_iter()
            .find(|e| e.sha256 == sha)
        {
            return Ok(BackupStored {
                entry: e,
                duplicate: true,
            });
        }
        let entry = BackupEntry {
            id: format!("bk_{now_ms}_{}", &sha[..16]),
            site: m.site.clone(),
            device_id: dev.device_id.clone(),
            counter: m.counter.clone(),
            kind: m.kind.clone(),
            bytes,
            sha256: sha,
            created_ms: m.created_ms,
            received_ms: now_ms,
            ops: m.ops.count,
            signing_key: m.signing_key.clone(),
        };
        let site_dir = self.dir.join(&m.site);
        std::fs::create_dir_all(&site_dir).map_err(io(&site_dir))?;
        let file = site_dir.join(format!("{}.pbak", entry.id));
        let index = site_dir.join(format!("{}.json", entry.id));
        let sync = |p: &Path| {
            std::fs::File::open(p)
                .and_then(|f| f.sync_all())
                .map_err(io(p))
        };
        sync(tmp)?;
        // link, never rename: an existing name is an error, not replaced.
        std::fs::hard_link(tmp, &file).map_err(io(&file))?;
        read_only(&file);
        let json_tmp = self.incoming_path()?;
        let json = serde_json::to_vec_pretty(&entry)
            .map_err(|e| HubError::Config(format!("backup entry: {e}")))?;
        std::fs::write(&json_tmp, json).map_err(io(&json_tmp))?;
        sync(&json_tmp)?;
        let linked = std::fs::hard_link(&json_tmp, &index).map_err(io(&index));
        let _ = std::fs::remove_file(&json_tmp);
        linked?;
        read_only(&index);
        parchi_platform::sync_dir(&site_dir).map_err(io(&site_dir))?;
        tracing::info!(backup = %entry.id, site = %entry.site, device = %entry.device_id, bytes, "backup stored");
        Ok(BackupStored {
            entry,
            duplicate: false,
        })
    }

    /// Stored backups, newest first; only `site`'s when given.
    pub fn list(&self, site: Option<&str>) -> Result<Vec<BackupEntry>, HubError> {
        let mut out = Vec::new();
        let dirs: Vec<PathBuf> = match site {
            Some(s) if !safe_name(s) => return Ok(out),
            Some(s) => vec![self.dir.join(s)],
            None => std::fs::read_dir(&self.dir)
                .map_err(io(&self.dir))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir() && !p.ends_with(INCOMING))
                .collect(),
        };
        for d in dirs {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().and_then(|x| x.to_str()) != Some("json") {
                    continue;
                }
                let text = std::fs::read(&p).map_err(io(&p))?;
                match serde_json::from_slice::<BackupEntry>(&text) {
                    Ok(entry) => out.push(entry),
                    Err(e) => {
                        tracing::warn!(file = %p.display(), error = %e, "unreadable backup entry skipped")
                    }
                }
            }
        }
        out.sort_by(|a, b| {
            b.received_ms
                .cmp(&a.received_ms)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(out)
    }

    /// The file of backup `id`, with its entry.
    pub fn find(&self, id: &str) -> Result<(BackupEntry, PathBuf), HubError> {
        if !safe_name(id) {
            return Err(HubError::NotFound(format!("backup {id}")));
        }
        let e = self
            .list(None)?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| HubError::NotFound(format!("backup {id}")))?;
        let p = self.dir.join(&e.site).join(format!("{id}.pbak"));
        Ok((e, p))
    }

    /// Admin: removes the backups received more than `keep_days` ago, except the newest
    /// `keep_last` of each site.
    pub fn prune(&self, req: &PruneRequest, now_ms: u64) -> Result<PruneReport, HubError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| HubError::Config("backup store lock poisoned".into()))?;
        let cutoff = now_ms.saturating_sub(u64::from(req.keep_days) * DAY_MS);
        let mut seen: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        let mut report = PruneReport::default();
        for e in self.list(None)? {
            let n = seen.entry(e.site.clone()).or_default();
            *n += 1;
            if *n <= req.keep_last || e.received_ms >= cutoff {
                report.kept += 1;
                continue;
            }
            let site_dir = self.dir.join(&e.site);
            for f in [format!("{}.pbak", e.id), format!("{}.json", e.id)] {
                let p = site_dir.join(f);
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => return Err(io(&p)(err)),
                }
            }
            tracing::warn!(backup = %e.id, site = %e.site, "backup pruned by the admin");
            report.removed.push(e.id);
        }
        Ok(report)
    }
}
