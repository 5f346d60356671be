//! Keeping the machine slot's key-encryption key on this machine (parchi-keys' machine slot;
//! the file format and the choice between the two stores are parchi-keys' business).
//!
//! - **Owner-only file.** On Unix the key is written as it is into a file of mode 0600
//!   ([`create_private_file`](crate::fs::create_private_file)); [`key_file_supported`] says
//!   yes. On Windows a file's protection is its inherited access list, too weak a guard for
//!   the key that opens the database unattended: the key would be wrapped with DPAPI
//!   (`CryptProtectData`) first, which this build lacks, so [`key_file_supported`] refuses.
//! - **TPM2.** On Linux with systemd, `systemd-creds` seals the key to this machine's TPM2 chip
//!   ([`tpm2_usable`], [`tpm2_seal`], [`tpm2_unseal`]); the secret travels through its
//!   standard input and output, never argv or a file. Elsewhere there is no TPM2 store.

use std::fmt;
use std::io::{self, Write};
use std::process::{Command, Stdio};

/// The program that seals to the TPM2.
const SYSTEMD_CREDS: &str = "systemd-creds";

/// Why the machine key could not be kept or read on this machine.
#[derive(Debug)]
pub enum MachineKeyError {
    /// `systemd-creds` could not be started or talked to.
    Spawn(io::Error),
    /// `systemd-creds VERB` ran and failed.
    Failed {
        /// Its sub-command (`encrypt`, `decrypt`).
        verb: String,
        /// Its exit status.
        status: String,
        /// What it printed on standard error (never the secret: that went to stdin).
        stderr: String,
    },
    /// This OS has no such store in this build; the text says what is missing.
    Unsupported(&'static str),
}

impl fmt::Display for MachineKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MachineKeyError::Spawn(e) => write!(f, "{SYSTEMD_CREDS}: {e}"),
            MachineKeyError::Failed {
                verb,
                status,
                stderr,
            } => write!(f, "{SYSTEMD_CREDS} {verb} failed ({status}): {stderr}"),
            MachineKeyError::Unsupported(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for MachineKeyError {}

/// Whether this OS can keep the key in an owner-only file: yes on Unix (mode 0600); on
/// Windows the key must be wrapped with DPAPI first, which this build lacks.
pub fn key_file_supported() -> Result<(), MachineKeyError> {
    #[cfg(unix)]
    {
        Ok(())
    }
    #[cfg(not(unix))]
    {
        Err(MachineKeyError::Unsupported(
            "the machine key cannot be kept on this OS yet: on Windows it must be wrapped with \
             DPAPI (CryptProtectData) before it is written, and this build has no DPAPI; see \
             docs/windows.md",
        ))
    }
}

/// Whether `systemd-creds has-tpm2` says a TPM2 is fully usable here (never on a non-Unix OS).
pub fn tpm2_usable() -> bool {
    #[cfg(unix)]
    {
        Command::new(SYSTEMD_CREDS)
            .arg("has-tpm2")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Seals `secret` to this machine's TPM2 under the credential name `name`; the sealed blob.
pub fn tpm2_seal(name: &str, secret: &[u8]) -> Result<Vec<u8>, MachineKeyError> {
    systemd_creds(
        &[
            "encrypt",
            "--with-key=tpm2",
            &format!("--name={name}"),
            "-",
            "-",
        ],
        secret,
    )
}

/// Opens a blob [`tpm2_seal`] made under `name`; the secret (the caller zeroizes it).
pub fn tpm2_unseal(name: &str, blob: &[u8]) -> Result<Vec<u8>, MachineKeyError> {
    systemd_creds(&["decrypt", &format!("--name={name}"), "-", "-"], blob)
}

/// Runs systemd-creds with `input` on stdin and returns its stdout (never a file in between).
fn systemd_creds(args: &[&str], input: &[u8]) -> Result<Vec<u8>, MachineKeyError> {
    if cfg!(not(unix)) {
        return Err(MachineKeyError::Unsupported(
            "this OS has no TPM2 key store in Parchi (systemd-creds is Linux's); see \
             docs/windows.md",
        ));
    }
    let mut child = Command::new(SYSTEMD_CREDS)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(MachineKeyError::Spawn)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).map_err(MachineKeyError::Spawn)?;
    }
    let out = child.wait_with_output().map_err(MachineKeyError::Spawn)?;
    if !out.status.success() {
        return Err(MachineKeyError::Failed {
            verb: args.first().copied().unwrap_or_default().to_string(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_before_the_move() {
        let spawn = MachineKeyError::Spawn(io::Error::from(io::ErrorKind::NotFound));
        assert!(spawn.to_string().starts_with("systemd-creds: "), "{spawn}");
        let failed = MachineKeyError::Failed {
            verb: "decrypt".into(),
            status: "exit status: 1".into(),
            stderr: "no TPM2".into(),
        };
        assert_eq!(
            failed.to_string(),
            "systemd-creds decrypt failed (exit status: 1): no TPM2"
        );
    }

    #[test]
    fn a_blob_that_is_not_sealed_does_not_open() {
        // With systemd-creds installed this is its own refusal; without it (CI), a spawn
        // error. Either way garbage never comes back as a key.
        let err = tpm2_unseal("parchi-test", b"not a credential").expect_err("must fail");
        assert!(
            matches!(
                err,
                MachineKeyError::Spawn(_) | MachineKeyError::Failed { .. }
            ),
            "{err}"
        );
    }
}
