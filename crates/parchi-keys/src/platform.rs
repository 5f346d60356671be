//! Where the machine slot's key-encryption key lives on this machine: sealed by systemd-creds
//! to the TPM2 chip where one is usable, else a key file readable only by the OS account that
//! runs Parchi (mode 0600). `PARCHI_MACHINE_KEY_STORE=file|tpm2` forces one (tests and CI use
//! the file: CI machines have no systemd and no TPM).
//!
//! The file `machine.key` holds one line naming the store, then the key (file) or the sealed
//! blob (tpm2), hex-encoded. With tpm2, the blob opens only on this machine's TPM.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

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
        let tpm2 = Command::new("systemd-creds")
            .arg("has-tpm2")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if tpm2 {
            MachineStore::Tpm2
        } else {
            MachineStore::File
        }
    }
}

/// The text of a machine key file for `kek`.
pub(crate) fn seal(kek: &Kek, store: MachineStore) -> Result<Zeroizing<String>, KeyError> {
    let body = match store {
        MachineStore::File => Zeroizing::new(hex(kek.0.bytes())),
        MachineStore::Tpm2 => Zeroizing::new(hex(&systemd_creds(
            &[
                "encrypt",
                "--with-key=tpm2",
                &format!("--name={CRED_NAME}"),
                "-",
                "-",
            ],
            kek.0.bytes(),
        )?)),
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
        MachineStore::Tpm2 => Zeroizing::new(systemd_creds(
            &["decrypt", &format!("--name={CRED_NAME}"), "-", "-"],
            &body,
        )?),
    };
    let s = Secret32::from_slice(&raw).ok_or_else(bad)?;
    Ok((Kek(s), store))
}

/// Runs systemd-creds with `input` on stdin and returns its stdout (never a file in between).
fn systemd_creds(args: &[&str], input: &[u8]) -> Result<Vec<u8>, KeyError> {
    let mut child = Command::new("systemd-creds")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| KeyError::Platform(format!("systemd-creds: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input)
            .map_err(|e| KeyError::Platform(format!("systemd-creds: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| KeyError::Platform(format!("systemd-creds: {e}")))?;
    if !out.status.success() {
        return Err(KeyError::Platform(format!(
            "systemd-creds {} failed ({}): {}",
            args.first().copied().unwrap_or_default(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}
