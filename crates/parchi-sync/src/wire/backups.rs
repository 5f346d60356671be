//! The hub's append-only backup store on the wire (`/v1/backups`, `/v1/admin/backups`).
//!
//! A device uploads a backup file (the bytes of `parchi backup`'s output, whose header carries
//! the signed manifest); the hub checks the signature, the site and the hash, and keeps it
//! under an ID of its own choosing. Nothing a device can send overwrites or deletes one.

use serde::{Deserialize, Serialize};

/// Most bytes of one uploaded backup, unless the hub is configured otherwise.
pub const DEFAULT_MAX_BACKUP_BYTES: u64 = 8 * 1024 * 1024 * 1024;

/// One stored backup: what the hub knows of it (nothing personal: the manifest's counts).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupEntry {
    /// The hub's ID of the backup (`bk_…`).
    pub id: String,
    /// The site (or hub) the backup is of, from its signed manifest.
    pub site: String,
    /// The device that uploaded it.
    pub device_id: String,
    #[serde(default)]
    pub counter: Option<String>,
    /// `counter` or `hub`.
    pub kind: String,
    /// The file's size in bytes.
    pub bytes: u64,
    /// SHA-256 (hex) of the whole file.
    pub sha256: String,
    /// When the backup was made (the manifest's time, Unix ms).
    pub created_ms: u64,
    /// When the hub stored it (Unix ms).
    pub received_ms: u64,
    /// Operations in the backed-up log.
    pub ops: u64,
    /// The device's Ed25519 public key that signed the manifest (hex).
    pub signing_key: String,
}

/// The answer to an upload: the entry, and whether the hub already held these bytes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupStored {
    #[serde(flatten)]
    pub entry: BackupEntry,
    pub duplicate: bool,
}

/// A list of backups, newest first.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupList {
    pub backups: Vec<BackupEntry>,
}

/// Admin: remove backups older than `keep_days`, always keeping the newest `keep_last` of
/// every site.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PruneRequest {
    pub keep_days: u32,
    #[serde(default = "default_keep_last")]
    pub keep_last: u32,
}

impl PruneRequest {
    /// How many of every site's newest backups a prune keeps when not told.
    pub const DEFAULT_KEEP_LAST: u32 = 4;
}

fn default_keep_last() -> u32 {
    PruneRequest::DEFAULT_KEEP_LAST
}

/// What a prune removed and kept.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PruneReport {
    pub removed: Vec<String>,
    pub kept: u64,
}
