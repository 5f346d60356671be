//! The hub's SQLite store at rest: encrypted with SQLCipher like a counter's, its data key in
//! the hub's data directory's key slots (`keys.json`, `machine.key`; see `parchi_keys`).
//!
//! The simplest honest design: the first `parchi serve` on a data directory without keys gives
//! the data key a **machine slot only** (so a service starts unattended, and no secret goes to
//! a log) and warns that there is no recovery key yet; `parchi serve --init-keys` (before the
//! first start, or later with the hub stopped) adds the recovery slot and prints the recovery
//! key once, to the admin's terminal. `parchi unlock --recovery --data DIR` opens a hub's data
//! directory on a new machine, as for a counter. PostgreSQL is not encrypted by Parchi: it
//! relies on TLS to the server and disk encryption (ARCHITECTURE.md, "Backups and restore").

use std::path::Path;

use parchi_keys::{DataKey, KeyError, RecoveryKey, keyring, sqlcipher};

use crate::SQLITE_FILE;
use crate::error::HubError;

/// Meta key of the hub's Ed25519 signing key, kept in its database (either backend): it signs
/// the hub's own backups.
pub(crate) const META_SIGNING_KEY: &str = "secret:signing_key";

/// Fills `buf` from the operating system; the hub stops rather than use weaker randomness.
pub(crate) fn os_random(buf: &mut [u8]) {
    if let Err(e) = getrandom::fill(buf) {
        panic!(
            "the operating system's random source failed ({e}); the hub stops rather than make predictable keys"
        );
    }
}

fn key_err(e: KeyError) -> HubError {
    HubError::Config(e.to_string())
}

/// The data key of the hub's SQLite store in `dir`: from the machine slot, or (a new data
/// directory, or a plaintext store of an earlier version) a new key in a machine slot.
pub fn data_key(dir: &Path) -> Result<DataKey, HubError> {
    if keyring::has_slots(dir) {
        return Ok(keyring::unlock(dir).map_err(key_err)?.key);
    }
    let db = dir.join(SQLITE_FILE);
    let plaintext = sqlcipher::is_plaintext(&db).map_err(|e| HubError::Config(e.to_string()))?;
    if db.exists() && !plaintext {
        return Err(key_err(KeyError::NoSlots {
            dir: dir.to_owned(),
            file: keyring::SLOTS_FILE,
        }));
    }
    let key = keyring::create_machine_only(dir, None, &mut os_random).map_err(key_err)?;
    tracing::warn!(
        "the hub's data key has a machine slot only: stop the hub and run `parchi serve --init-keys` to print a recovery key for the safe"
    );
    Ok(key)
}

/// `parchi serve --init-keys`: the hub's key slots with a recovery key, returned to show once.
/// Refused when the hub already has a recovery slot (`parchi key rotate` is the counter's;
/// a hub rotates by `--init-keys` after its recovery slot is lost or never made).
pub fn init_keys(dir: &Path) -> Result<RecoveryKey, HubError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| HubError::Config(format!("data directory {}: {e}", dir.display())))?;
    if keyring::has_slots(dir) {
        let status = keyring::status(dir).map_err(key_err)?;
        if status.recovery {
            return Err(HubError::Config(format!(
                "{} already has a recovery key; nothing was changed",
                dir.display()
            )));
        }
        let key = keyring::unlock(dir).map_err(key_err)?.key;
        return keyring::rewrap(dir, &key, None, &mut os_random).map_err(key_err);
    }
    let db = dir.join(SQLITE_FILE);
    let plaintext = sqlcipher::is_plaintext(&db).map_err(|e| HubError::Config(e.to_string()))?;
    if db.exists() && !plaintext {
        return Err(key_err(KeyError::NoSlots {
            dir: dir.to_owned(),
            file: keyring::SLOTS_FILE,
        }));
    }
    Ok(keyring::create(dir, None, &mut os_random)
        .map_err(key_err)?
        .recovery)
}

/// `parchi unlock --recovery` on a hub's data directory: the recovery key opens the data key,
/// the store is opened with it (so the hub must be stopped), and this machine gets a new
/// machine slot. A wrong key changes nothing.
pub fn unlock_recovery(dir: &Path, text: &str) -> Result<(), HubError> {
    let rk = RecoveryKey::parse(text).map_err(|e| key_err(e.into()))?;
    let key = keyring::unlock_recovery(dir, &rk).map_err(key_err)?;
    drop(crate::SqliteStorage::open(&dir.join(SQLITE_FILE), &key)?);
    keyring::replace_machine_slot(dir, &key, &mut os_random).map_err(key_err)
}
