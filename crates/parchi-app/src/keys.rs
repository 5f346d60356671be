//! A counter's keys at rest: opening the store with this machine's key slot, the recovery key
//! shown once at `init`, unlocking with it on a new machine, rotating the slots, changing the
//! data key itself, the escrow slot, and the device's signing key (kept inside the store).
//!
//! The slots themselves are `parchi_keys::keyring`'s; this module decides when each is used.

use std::path::Path;

use parchi_keys::sqlcipher;
use parchi_keys::{
    DataKey, DeviceKey, KeyError, RecoveryKey, Signature, SlotStatus, VerifyingKey, keyring,
};
use parchi_store::{DB_FILE, Store, StoreError};
use serde::Serialize;

use crate::counter::{Counter, Result};
use crate::env::Env;
use crate::error::AppError;

/// Where the device's Ed25519 signing key is kept inside the store.
pub(crate) const SIGNING_KEY: &str = "device.signing_key";

/// What `parchi key status` shows: the slots, and the device's public signing key.
#[derive(Clone, Debug, Serialize)]
pub struct KeyStatus {
    #[serde(flatten)]
    pub slots: SlotStatus,
    /// The device's Ed25519 public key, hex.
    pub signing_public_key: String,
}

fn fill(env: &mut dyn Env) -> impl FnMut(&mut [u8]) + '_ {
    move |b: &mut [u8]| env.fill_random(b)
}

/// Opens the store in `dir` with this machine's key slot (see the module docs of
/// `parchi_keys::keyring` for the crash-safe states it finishes).
pub(crate) fn open_store(dir: &Path, env: &mut dyn Env) -> Result<(Store, DataKey)> {
    let db = dir.join(DB_FILE);
    if !db.exists() {
        return Err(StoreError::NotInitialised(dir.to_owned()).into());
    }
    if !keyring::has_slots(dir) {
        let plaintext = sqlcipher::is_plaintext(&db)
            .map_err(|e| AppError::Invalid(format!("{}: {e}", db.display())))?;
        if !plaintext {
            return Err(KeyError::NoSlots {
                dir: dir.to_owned(),
                file: keyring::SLOTS_FILE,
            }
            .into());
        }
        // A store from before encryption: a machine slot now (the store is encrypted with it
        // as it opens); `parchi key rotate` adds the recovery key.
        let key = keyring::create_machine_only(dir, None, &mut fill(env))?;
        let store = Store::open(dir, &key)?;
        return Ok((store, key));
    }
    let u = keyring::unlock(dir)?;
    match Store::open(dir, &u.key) {
        Ok(s) => {
            if u.pending.is_some() {
                keyring::drop_pending(dir)?; // the rekey did not happen
            }
            Ok((s, u.key))
        }
        Err(StoreError::WrongKey { path }) => {
            if let Some(p) = u.pending {
                match Store::open(dir, &p) {
                    Ok(s) => {
                        keyring::promote_pending(dir)?;
                        return Ok((s, p));
                    }
                    Err(StoreError::WrongKey { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            // The key came out of an authenticated slot, so the file is what is wrong.
            Err(StoreError::Corrupt(format!(
                "{}: this installation's own key does not open it, so the file is damaged or is not this installation's database",
                path.display()
            ))
            .into())
        }
        Err(e) => Err(e.into()),
    }
}

impl Counter {
    /// The recovery key made at `init` (or by the last rotation in this session), once: the
    /// caller shows it and it is gone.
    pub fn take_recovery_key(&mut self) -> Option<RecoveryKey> {
        self.recovery.take()
    }

    /// Gives the device a signing key if it has none (installations from before encryption).
    pub(crate) fn ensure_signing_key(&mut self) -> Result<()> {
        if self.store().secret(SIGNING_KEY)?.is_none() {
            let k = DeviceKey::generate(&mut fill(self.env_mut()));
            self.store_mut().set_secret(SIGNING_KEY, &k.to_stored())?;
        }
        Ok(())
    }

    pub(crate) fn device_key(&self) -> Result<DeviceKey> {
        let s = self.store().secret(SIGNING_KEY)?.ok_or_else(|| {
            AppError::Store(StoreError::Corrupt(
                "the device's signing key is missing".into(),
            ))
        })?;
        DeviceKey::from_stored(&s).ok_or_else(|| {
            AppError::Store(StoreError::Corrupt(
                "the device's signing key is malformed".into(),
            ))
        })
    }

    /// Signs `bytes` with the device's Ed25519 key (canonical bytes: a backup manifest…).
    pub fn sign(&self, bytes: &[u8]) -> Result<Signature> {
        Ok(self.device_key()?.sign(bytes))
    }

    /// The device's public signing key (verify with `parchi_keys::verify`).
    pub fn signing_public_key(&self) -> Result<VerifyingKey> {
        Ok(self.device_key()?.public())
    }

    /// [`Counter::signing_public_key`] as 64 hex digits, as manifests, the hub's pin and
    /// `parchi key status` write it.
    pub fn signing_public_key_hex(&self) -> Result<String> {
        Ok(crate::backup::hex(self.signing_public_key()?.as_bytes()))
    }

    /// The slots this installation has and its public signing key.
    pub fn key_status(&self) -> Result<KeyStatus> {
        Ok(KeyStatus {
            slots: keyring::status(&self.data_dir())?,
            signing_public_key: self.signing_public_key_hex()?,
        })
    }

    /// New slot keys: a new machine key and a new recovery key (returned, to show once); the
    /// escrow slot is sealed again (to the configured recipient, else the one it had). The
    /// old recovery key and machine.key no longer open anything.
    pub fn rotate_keys(&mut self) -> Result<RecoveryKey> {
        let dir = self.data_dir();
        let escrow = self.config().security.escrow_recipient.clone();
        let key = self.key.clone();
        let rk = keyring::rewrap(&dir, &key, escrow.as_deref(), &mut fill(self.env_mut()))?;
        Ok(rk)
    }

    /// Changes the data key itself: the new key is staged beside the old slots, the database
    /// is rekeyed and verified by reopening it, and only then are the slots rewrapped (new
    /// machine key, new recovery key, returned to show once). A failure before the
    /// verification leaves the old key and slots in force.
    pub fn rekey(&mut self) -> Result<RecoveryKey> {
        let dir = self.data_dir();
        let new = DataKey::generate(&mut fill(self.env_mut()));
        let old = self.key.clone();
        keyring::stage_rekey(&dir, &old, &new, &mut fill(self.env_mut()))?;
        if let Err(e) = self.store_mut().rekey(&new) {
            // Keep the staged key only if the old one no longer opens the file.
            if Store::open(&dir, &old).is_ok() {
                keyring::drop_pending(&dir)?;
            }
            return Err(e.into());
        }
        self.key = new;
        self.rotate_keys()
    }

    /// Writes the escrow slot: the data key encrypted to `recipient`, else the configuration's
    /// `security.escrow_recipient`. Returns the recipient used.
    pub fn write_escrow(&mut self, recipient: Option<&str>) -> Result<String> {
        let r = recipient
            .map(str::to_owned)
            .or_else(|| self.config().security.escrow_recipient.clone())
            .ok_or_else(|| {
                AppError::Invalid(
                    "no escrow recipient: set security.escrow_recipient in the hospital configuration (then `parchi configure`), or pass --recipient".into(),
                )
            })?;
        let r = parchi_keys::parse_recipient(&r)?.to_string();
        keyring::set_escrow(&self.data_dir(), &self.key, &r)?;
        Ok(r)
    }

    /// On a new machine (or after machine.key was lost): opens the installation in `dir` with
    /// its recovery key, checks the key opens the database, and writes a new machine slot so
    /// the counter opens unattended from now on. A wrong key changes nothing.
    pub fn unlock_with_recovery(
        dir: &Path,
        recovery: &str,
        mut env: Box<dyn Env>,
    ) -> Result<Counter> {
        let rk = RecoveryKey::parse(recovery).map_err(KeyError::from)?;
        let key = keyring::unlock_recovery(dir, &rk)?;
        let store = Store::open(dir, &key)?;
        keyring::replace_machine_slot(dir, &key, &mut fill(env.as_mut()))?;
        Counter::from_store(store, key, env)
    }

    /// The recovery sheet for the admin's safe: a one-page PDF with `rk` as text and QR code.
    pub fn recovery_sheet_pdf(&self, rk: &RecoveryKey) -> Result<Vec<u8>> {
        let site = self.store().site();
        let sheet = parchi_slip::RecoverySheet {
            hospital_name: self.config().hospital.name.clone(),
            installation: format!("Counter {}, site {}", site.counter, site.tag.as_str()),
            key_id: self.key.id(),
            created: self.now_local().format("%d-%m-%Y %H:%M").to_string(),
            recovery_key: rk.display().to_string(),
        };
        parchi_slip::render_recovery_sheet(&sheet)
            .map_err(|e| AppError::Invalid(format!("recovery sheet: {e}")))
    }

    /// A second connection to this counter's store with the same key (no slot read).
    pub fn open_side_of(&self, env: Box<dyn Env>) -> Result<Counter> {
        Counter::open_side_with_key(&self.data_dir(), &self.key, env)
    }

    /// `Counter::open_side` with a key already unlocked.
    pub(crate) fn open_side_with_key(
        dir: &Path,
        key: &DataKey,
        env: Box<dyn Env>,
    ) -> Result<Counter> {
        let store = Store::open(dir, key)?;
        store.set_cache_kib(crate::counter::SIDE_CACHE_KIB)?;
        Counter::from_store(store, key.clone(), env)
    }

    pub(crate) fn data_key(&self) -> &DataKey {
        &self.key
    }
}
