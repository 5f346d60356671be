//! The key slots of one data directory, and the crash-safe ways to change them.
//!
//! ```text
//! DATA/keys.json        the slot file (below); safe to copy: it holds only wrapped keys
//! DATA/machine.key      the machine slot's key-encryption key (mode 0600, or TPM2-sealed)
//! DATA/keys.next.json   only during `key rotate --rekey`: the new data key, machine slot only
//! DATA/machine.key.next only during a rotation: the next machine key
//! ```
//!
//! `keys.json`:
//! ```json
//! { "format": "parchi-keys/1", "key_id": "…16 hex…",
//!   "machine":  { "store": "file", "kek_id": "…", "nonce": "…", "wrapped": "…" },
//!   "recovery": { "recipient": "age1…", "nonce": "…", "wrapped": "…" },
//!   "escrow":   { "recipient": "age1…", "age": "…hex of an age file…" } }
//! ```
//!
//! Order of writes when slots change (each file written atomically): the next machine key,
//! then the slot file, then the next machine key renamed over the old one. Whichever step a
//! crash interrupts, [`unlock`] finds a machine key that opens the slot file and finishes or
//! discards the step.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::KeyError;
use crate::escrow;
use crate::files::{read_opt, shred, sync_dir, write_private};
use crate::machine_key::{self, MachineStore};
use crate::recovery::RecoveryKey;
use crate::secret::{DataKey, Kek, Random, Secret32};
use crate::wrap::{Wrapped, unwrap, wrap};

pub const SLOTS_FILE: &str = "keys.json";
pub const PENDING_SLOTS_FILE: &str = "keys.next.json";
pub const MACHINE_KEY_FILE: &str = "machine.key";
pub const MACHINE_KEY_NEXT_FILE: &str = "machine.key.next";
const FORMAT: &str = "parchi-keys/1";

#[derive(Clone, Debug, Serialize, Deserialize)]
struct MachineSlot {
    store: String,
    kek_id: String,
    #[serde(flatten)]
    wrapped: Wrapped,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct RecoverySlot {
    recipient: String,
    #[serde(flatten)]
    wrapped: Wrapped,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct EscrowSlot {
    recipient: String,
    age: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct SlotFile {
    format: String,
    key_id: String,
    machine: Option<MachineSlot>,
    recovery: Option<RecoverySlot>,
    escrow: Option<EscrowSlot>,
}

/// What a fresh set of keys gives the caller: the data key, and the recovery key to show once.
#[derive(Debug)]
pub struct NewKeys {
    pub data_key: DataKey,
    pub recovery: RecoveryKey,
}

/// The data key the machine slot opens, and the one a rekey in progress staged (if any): the
/// caller opens the database with the first that works (see [`promote_pending`]).
#[derive(Debug)]
pub struct Unlocked {
    pub key: DataKey,
    pub pending: Option<DataKey>,
}

/// Which slots a data directory has (for `parchi key status`; nothing secret).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SlotStatus {
    pub key_id: String,
    /// `file` or `tpm2`, when there is a machine slot.
    pub machine: Option<String>,
    pub recovery: bool,
    /// The recovery holder's X25519 recipient (for backups encrypted to them).
    pub recovery_recipient: Option<String>,
    pub escrow_recipient: Option<String>,
    pub rekey_pending: bool,
}

const MACHINE: &str = "machine";
const RECOVERY: &str = "recovery";

fn path(dir: &Path, f: &str) -> PathBuf {
    dir.join(f)
}

fn read_slots(file: &Path) -> Result<Option<SlotFile>, KeyError> {
    let Some(bytes) = read_opt(file)? else {
        return Ok(None);
    };
    let s: SlotFile = serde_json::from_slice(&bytes)
        .map_err(|e| KeyError::Corrupt(format!("{}: {e}", file.display())))?;
    if s.format != FORMAT {
        return Err(KeyError::Corrupt(format!(
            "{}: format {:?}, this Parchi reads {FORMAT}",
            file.display(),
            s.format
        )));
    }
    Ok(Some(s))
}

fn write_slots(file: &Path, s: &SlotFile) -> Result<(), KeyError> {
    let json = serde_json::to_vec_pretty(s).map_err(|e| KeyError::Invalid(e.to_string()))?;
    write_private(file, &json)
}

fn slots(dir: &Path) -> Result<SlotFile, KeyError> {
    read_slots(&path(dir, SLOTS_FILE))?.ok_or_else(|| KeyError::NoSlots {
        dir: dir.to_owned(),
        file: SLOTS_FILE,
    })
}

/// True when the directory has a slot file.
pub fn has_slots(dir: &Path) -> bool {
    path(dir, SLOTS_FILE).exists()
}

fn machine_slot(kek: &Kek, store: MachineStore, key: &DataKey, rng: Random<'_>) -> MachineSlot {
    MachineSlot {
        store: store.as_str().to_owned(),
        kek_id: kek.id(),
        wrapped: wrap(kek, key, MACHINE, rng),
    }
}

fn recovery_slot(
    rk: &RecoveryKey,
    key: &DataKey,
    rng: Random<'_>,
) -> Result<RecoverySlot, KeyError> {
    Ok(RecoverySlot {
        recipient: rk
            .recipient()
            .ok_or_else(|| KeyError::Invalid("recovery recipient".into()))?,
        wrapped: wrap(&rk.kek(), key, RECOVERY, rng),
    })
}

fn escrow_slot(key: &DataKey, recipient: &str) -> Result<EscrowSlot, KeyError> {
    let r = escrow::parse_recipient(recipient)?;
    Ok(EscrowSlot {
        recipient: r.to_string(),
        age: escrow::seal(key, &r)?,
    })
}

/// Writes a new slot file for `key` with a new machine key (the crash-safe order above).
fn commit(dir: &Path, mut file: SlotFile, key: &DataKey, rng: Random<'_>) -> Result<(), KeyError> {
    let kek = Kek(Secret32::random(rng));
    let store = MachineStore::detect();
    let next = path(dir, MACHINE_KEY_NEXT_FILE);
    write_private(&next, machine_key::seal(&kek, store)?.as_bytes())?;
    file.machine = Some(machine_slot(&kek, store, key, rng));
    write_slots(&path(dir, SLOTS_FILE), &file)?;
    let cur = path(dir, MACHINE_KEY_FILE);
    std::fs::rename(&next, &cur).map_err(|e| KeyError::io(&cur, e))?;
    sync_dir(&cur)
}

/// New keys for a new installation: a random data key with a machine slot, a recovery slot
/// and, when `escrow_recipient` is given, an escrow slot. Replaces any slot file in `dir`.
pub fn create(
    dir: &Path,
    escrow_recipient: Option<&str>,
    rng: Random<'_>,
) -> Result<NewKeys, KeyError> {
    std::fs::create_dir_all(dir).map_err(|e| KeyError::io(dir, e))?;
    let data_key = DataKey::generate(rng);
    let recovery = RecoveryKey::generate(rng);
    let file = SlotFile {
        format: FORMAT.into(),
        key_id: data_key.id(),
        machine: None,
        recovery: Some(recovery_slot(&recovery, &data_key, rng)?),
        escrow: escrow_recipient
            .map(|r| escrow_slot(&data_key, r))
            .transpose()?,
    };
    commit(dir, file, &data_key, rng)?;
    Ok(NewKeys { data_key, recovery })
}

/// Keys for data that had none (a hub's first start, an installation from before encryption):
/// `key` (or a new one) in a machine slot only. `parchi key rotate` adds a recovery key.
pub fn create_machine_only(
    dir: &Path,
    key: Option<DataKey>,
    rng: Random<'_>,
) -> Result<DataKey, KeyError> {
    std::fs::create_dir_all(dir).map_err(|e| KeyError::io(dir, e))?;
    let data_key = key.unwrap_or_else(|| DataKey::generate(rng));
    let file = SlotFile {
        format: FORMAT.into(),
        key_id: data_key.id(),
        machine: None,
        recovery: None,
        escrow: None,
    };
    commit(dir, file, &data_key, rng)?;
    Ok(data_key)
}

/// The machine key that opens `slot`, finishing or discarding an interrupted rotation.
fn machine_kek(dir: &Path, slot: &MachineSlot) -> Result<Kek, KeyError> {
    let cur_path = path(dir, MACHINE_KEY_FILE);
    let next_path = path(dir, MACHINE_KEY_NEXT_FILE);
    let cur = read_opt(&cur_path)?;
    let next = read_opt(&next_path)?;
    if let Some(text) = &cur
        && let Ok((kek, _)) = machine_key::unseal(text, &cur_path)
        && kek.id() == slot.kek_id
    {
        if next.is_some() {
            shred(&next_path)?;
        }
        return Ok(kek);
    }
    if let Some(text) = &next
        && let Ok((kek, _)) = machine_key::unseal(text, &next_path)
        && kek.id() == slot.kek_id
    {
        std::fs::rename(&next_path, &cur_path).map_err(|e| KeyError::io(&cur_path, e))?;
        sync_dir(&cur_path)?;
        return Ok(kek);
    }
    if cur.is_none() && next.is_none() {
        return Err(KeyError::NoMachineKey {
            dir: dir.to_owned(),
            file: MACHINE_KEY_FILE,
        });
    }
    // A broken TPM or systemd-creds says so rather than "wrong key".
    if let Some(text) = &cur
        && let Err(e @ KeyError::Platform(_)) = machine_key::unseal(text, &cur_path)
    {
        return Err(e);
    }
    Err(KeyError::WrongKey {
        what: format!(
            "{} is not the key of this installation's machine slot",
            cur_path.display()
        ),
    })
}

/// Opens the data key with this machine's key.
pub fn unlock(dir: &Path) -> Result<Unlocked, KeyError> {
    let file = slots(dir)?;
    let slot = file
        .machine
        .as_ref()
        .ok_or_else(|| KeyError::NoMachineKey {
            dir: dir.to_owned(),
            file: MACHINE_KEY_FILE,
        })?;
    let kek = machine_kek(dir, slot)?;
    let key = unwrap(&kek, &slot.wrapped, MACHINE, &file.key_id).ok_or_else(|| {
        KeyError::Corrupt(format!("the machine slot of {} does not open", SLOTS_FILE))
    })?;
    let pending_path = path(dir, PENDING_SLOTS_FILE);
    let pending = match read_slots(&pending_path) {
        Ok(Some(p)) if p.key_id != file.key_id => p
            .machine
            .as_ref()
            .filter(|m| m.kek_id == slot.kek_id)
            .and_then(|m| unwrap(&kek, &m.wrapped, MACHINE, &p.key_id)),
        _ => None,
    };
    if pending.is_none() && pending_path.exists() {
        // Stale: a finished rekey's leftover, or one that can no longer help.
        shred(&pending_path)?;
    }
    Ok(Unlocked { key, pending })
}

/// Opens the data key with the recovery key (on a new machine, or after machine.key was lost).
pub fn unlock_recovery(dir: &Path, rk: &RecoveryKey) -> Result<DataKey, KeyError> {
    let file = slots(dir)?;
    let slot = file.recovery.as_ref().ok_or_else(|| KeyError::WrongKey {
        what: "this installation has no recovery slot (run `parchi key rotate` on the machine that opens it)".into(),
    })?;
    unwrap(&rk.kek(), &slot.wrapped, RECOVERY, &file.key_id).ok_or_else(|| KeyError::WrongKey {
        what: "the recovery key is not this installation's (its check character is right, so it is another installation's or an older one)".into(),
    })
}

/// After [`unlock_recovery`] on a new machine: a new machine key and slot; the recovery and
/// escrow slots stay as they are.
pub fn replace_machine_slot(dir: &Path, key: &DataKey, rng: Random<'_>) -> Result<(), KeyError> {
    let file = slots(dir)?;
    if file.key_id != key.id() {
        return Err(KeyError::WrongKey {
            what: "not this slot file's data key".into(),
        });
    }
    commit(dir, file, key, rng)
}

/// New slot keys for `key`: a new machine key and a new recovery key (returned, to show once).
/// The escrow slot is sealed again to `escrow_recipient`, else to the recipient it had.
pub fn rewrap(
    dir: &Path,
    key: &DataKey,
    escrow_recipient: Option<&str>,
    rng: Random<'_>,
) -> Result<RecoveryKey, KeyError> {
    let old = read_slots(&path(dir, SLOTS_FILE))?;
    let recipient = escrow_recipient.map(str::to_owned).or_else(|| {
        old.as_ref()
            .and_then(|o| o.escrow.as_ref())
            .map(|e| e.recipient.clone())
    });
    let recovery = RecoveryKey::generate(rng);
    let file = SlotFile {
        format: FORMAT.into(),
        key_id: key.id(),
        machine: None,
        recovery: Some(recovery_slot(&recovery, key, rng)?),
        escrow: recipient
            .as_deref()
            .map(|r| escrow_slot(key, r))
            .transpose()?,
    };
    commit(dir, file, key, rng)?;
    let pending = path(dir, PENDING_SLOTS_FILE);
    if pending.exists() {
        shred(&pending)?;
    }
    Ok(recovery)
}

/// Writes (or replaces) the escrow slot: `key` encrypted to the hospital's `recipient`.
pub fn set_escrow(dir: &Path, key: &DataKey, recipient: &str) -> Result<(), KeyError> {
    let mut file = slots(dir)?;
    if file.key_id != key.id() {
        return Err(KeyError::WrongKey {
            what: "not this slot file's data key".into(),
        });
    }
    file.escrow = Some(escrow_slot(key, recipient)?);
    write_slots(&path(dir, SLOTS_FILE), &file)
}

/// Before `PRAGMA rekey`: stages `new` in `keys.next.json` under the current machine key (and
/// the escrow recipient), so a crash between the rekey and the new slots still opens the data.
pub fn stage_rekey(
    dir: &Path,
    current: &DataKey,
    new: &DataKey,
    rng: Random<'_>,
) -> Result<(), KeyError> {
    let file = slots(dir)?;
    let slot = file
        .machine
        .as_ref()
        .ok_or_else(|| KeyError::NoMachineKey {
            dir: dir.to_owned(),
            file: MACHINE_KEY_FILE,
        })?;
    if file.key_id != current.id() {
        return Err(KeyError::WrongKey {
            what: "not this slot file's data key".into(),
        });
    }
    let kek = machine_kek(dir, slot)?;
    let staged = SlotFile {
        format: FORMAT.into(),
        key_id: new.id(),
        machine: Some(MachineSlot {
            store: slot.store.clone(),
            kek_id: kek.id(),
            wrapped: wrap(&kek, new, MACHINE, rng),
        }),
        recovery: None,
        escrow: file
            .escrow
            .as_ref()
            .map(|e| escrow_slot(new, &e.recipient))
            .transpose()?,
    };
    write_slots(&path(dir, PENDING_SLOTS_FILE), &staged)
}

/// The database opened only with the staged key (a crash after the rekey, before the new
/// slots): the staged slots become the slot file. It has no recovery slot until the next
/// `parchi key rotate`.
pub fn promote_pending(dir: &Path) -> Result<(), KeyError> {
    let pending = path(dir, PENDING_SLOTS_FILE);
    let cur = path(dir, SLOTS_FILE);
    std::fs::rename(&pending, &cur).map_err(|e| KeyError::io(&cur, e))?;
    sync_dir(&cur)
}

/// Discards a staged key (the rekey did not happen).
pub fn drop_pending(dir: &Path) -> Result<(), KeyError> {
    shred(&path(dir, PENDING_SLOTS_FILE))
}

/// Which slots `dir` has.
pub fn status(dir: &Path) -> Result<SlotStatus, KeyError> {
    let f = slots(dir)?;
    Ok(SlotStatus {
        key_id: f.key_id,
        machine: f.machine.map(|m| m.store),
        recovery: f.recovery.is_some(),
        recovery_recipient: f.recovery.map(|r| r.recipient),
        escrow_recipient: f.escrow.as_ref().map(|e| e.recipient.clone()),
        rekey_pending: path(dir, PENDING_SLOTS_FILE).exists(),
    })
}

/// The escrow slot's sealed data key (hex of an age file), for the hospital's key holder.
pub fn escrow_sealed(dir: &Path) -> Result<Option<String>, KeyError> {
    Ok(slots(dir)?.escrow.map(|e| e.age))
}
