//! The escrow slot: the data key encrypted to the hospital's public key (an `age` X25519
//! recipient, `age1…`), whose private half the hospital keeps away from every counter. The
//! counter can write the slot but never read it back.

use std::str::FromStr;

use crate::error::KeyError;
use crate::secret::{DataKey, hex, unhex, wipe};

/// Checks an `age1…` X25519 recipient string (the hospital configuration's
/// `security.escrow_recipient` and `security.backup_recipient`).
pub fn parse_recipient(s: &str) -> Result<age::x25519::Recipient, KeyError> {
    age::x25519::Recipient::from_str(s.trim()).map_err(|_| {
        KeyError::Invalid(
            "not an age X25519 recipient (a public key like age1…, from `age-keygen -y`)".into(),
        )
    })
}

/// The data key encrypted to `recipient` (hex of the age file).
pub(crate) fn seal(key: &DataKey, recipient: &age::x25519::Recipient) -> Result<String, KeyError> {
    let ct = age::encrypt(recipient, key.bytes())
        .map_err(|e| KeyError::Invalid(format!("escrow encryption failed: {e}")))?;
    Ok(hex(&ct))
}

/// The hospital's side: the data key from an escrow slot with the private identity
/// (`AGE-SECRET-KEY-1…`). Counters never hold that identity.
pub fn open_escrow(identity: &str, sealed_hex: &str) -> Result<DataKey, KeyError> {
    let id = age::x25519::Identity::from_str(identity.trim())
        .map_err(|_| KeyError::Invalid("not an age identity (AGE-SECRET-KEY-1…)".into()))?;
    let ct = unhex(sealed_hex).ok_or_else(|| KeyError::Corrupt("escrow slot".into()))?;
    let plain = age::decrypt(&id, &ct).map_err(|_| KeyError::WrongKey {
        what: "this identity does not open the escrow slot".into(),
    })?;
    let key = DataKey::from_bytes(&plain);
    wipe(plain);
    key.ok_or_else(|| KeyError::Corrupt("escrow slot".into()))
}
