//! Parchi's keys at rest.
//!
//! Every installation (a counter, a hub on SQLite) has one random 256-bit **data key**: the raw
//! SQLCipher key of its database ([`sqlcipher`]). The data key is never written in clear; it is
//! wrapped in **key slots** ([`keyring`], `DATA/keys.json`):
//! - the **machine slot**, under a key-encryption key kept on this machine (`DATA/machine.key`,
//!   mode 0600, or sealed to the TPM2 by systemd-creds where one is usable: [`machine_key`]), so
//!   the counter opens unattended;
//! - the **recovery slot**, under a key derived from the [`RecoveryKey`] shown once at `init`
//!   for the admin's safe, with the recovery holder's public X25519 recipient beside it;
//! - the **escrow slot**, the data key encrypted with `age` to the hospital's public key.
//!
//! The device's Ed25519 [`DeviceKey`] lives inside the encrypted store.
//!
//! Pure where it can be: wrapping, the recovery key's text form and the slot format do no I/O
//! and take randomness as an argument ([`Random`]); [`keyring`] reads and writes the slot files,
//! [`machine_key`] keeps the machine key (through `parchi_platform`), [`sqlcipher`] keys SQLite
//! connections.
//!
//! **Invariant:** no key material reaches a `Debug` output, an error message, a log, argv or a
//! file in clear (the machine key file is the one key file, and says what it is).

pub mod backup;
mod error;
mod escrow;
pub mod files;
pub mod keyring;
pub mod machine_key;
mod recovery;
pub mod sealed;
mod secret;
mod signing;
pub mod sqlcipher;
mod wrap;

pub use error::KeyError;
pub use escrow::{open_escrow, parse_recipient};
pub use keyring::{NewKeys, SlotStatus, Unlocked};
pub use recovery::{RECOVERY_KEY_CHARS, RecoveryKey, RecoveryKeyError};
pub use secret::{DataKey, Random};
pub use signing::{DeviceKey, verify};

/// Ed25519 types the API speaks in.
pub use ed25519_dalek::{Signature, VerifyingKey};
