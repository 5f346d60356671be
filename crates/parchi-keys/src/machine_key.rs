//! Where the machine slot's key-encryption key lives on this machine: sealed to the TPM2 chip
//! where one is usable, else a key file readable only by the OS account that runs Parchi (mode
//! 0600). `PARCHI_MACHINE_KEY_STORE=file|tpm2` forces one (tests and CI use the file: CI
//! machines have no systemd and no TPM). The OS calls behind both stores (the file's mode,
//! systemd-creds) are `parchi_platform`'s, as is the refusal where this build has neither (on
//! Windows: docs/windows.md).
//!
//! The file `machine.key` holds one line naming the store, then the key (file) or the sealed
//! blob (tpm2), hex-encoded. With tpm2, the blob opens only on this machine's TPM.

use std::path::Path;

use parchi_platform::machine::{self, MachineKeyError};
use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::secret::{Kek, Secret32, hex, unhex};

const HEADER: &str = "parchi-machine-key/1";
const CRED_NAME: &str = "parchi-machine-key";

/// The kind of machine key store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineStore {
    /// A key file, mode 0600.
    File,
    /// systemd-creds, sealed to the TPM2.
    Tpm2,
}

impl MachineStore {
    pub fn as_str(self) -> &'static str {
        match self {
            MachineStore::File => "file",
            MachineStore::Tpm2 => "tpm2",
        }
    }

    /// The store to use for a new machine key: `$PARCHI_MACHINE_KEY_STORE`, else TPM2 when
    /// `systemd-creds has-tpm2` says it is fully usable, else the key file.
    pub fn detect() -> MachineStore {
        match std::env::var("PARCHI_MACHINE_KEY_STORE").as_deref() {
            Ok("file") => return MachineStore::File,
            Ok("tpm2") => return MachineStore::Tpm2,
            _ => {}
        }
        if machine::tpm2_usable() {
            MachineStore::Tpm2
        } else {
            MachineStore::File
        }
    }
}

fn platform(e: MachineKeyError) -> KeyError {
    KeyError::Platform(e.to_string())
}

/// The text of a machine key file for `kek`.
pub(crate) fn seal(kek: &Kek, store: MachineStore) -> Result<Zeroizing<String>, KeyError> {
    let body = match store {
        MachineStore::File => {
            machine::key_file_supported().map_err(platform)?;
            Zeroizing::new(hex(kek.0.bytes()))
        }
        MachineStore::Tpm2 => Zeroizing::new(hex(
            &machine::tpm2_seal(CRED_NAME, kek.0.bytes()).map_err(platform)?
        )),
    };
    let mut s = Zeroizing::new(format!("{HEADER} {}\n", store.as_str()));
    s.push_str(&body);
    s.push('\n');
    Ok(s)
}

/// The key in a machine key file.
pub(crate) fn unseal(text: &[u8], path: &Path) -> Result<(Kek, MachineStore), KeyError> {
    let bad = || KeyError::Corrupt(format!("{} is not a machine key file", path.display()));
    let text = Zeroizing::new(String::from_utf8(text.to_vec()).map_err(|_| bad())?);
    let mut lines = text.lines();
    let store = match lines.next().map(str::trim) {
        Some(l) if l == format!("{HEADER} file") => MachineStore::File,
        Some(l) if l == format!("{HEADER} tpm2") => MachineStore::Tpm2,
        _ => return Err(bad()),
    };
    let body = Zeroizing::new(unhex(lines.next().unwrap_or_default()).ok_or_else(bad)?);
    let raw = match store {
        MachineStore::File => body,
        MachineStore::Tpm2 => {
            Zeroizing::new(machine::tpm2_unseal(CRED_NAME, &body).map_err(platform)?)
        }
    };
    let s = Secret32::from_slice(&raw).ok_or_else(bad)?;
    Ok((Kek(s), store))
}
