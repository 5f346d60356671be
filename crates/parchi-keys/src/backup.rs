//! The backup file: a signed manifest, then a snapshot encrypted to the hospital.
//!
//! ```text
//! bytes 0..4096   header: "parchi-backup/1\n", the manifest (one line of JSON), "\n",
//!                 the Ed25519 signature (hex) of b"parchi backup manifest v1\0" + that line,
//!                 "\n", then "\n" padding to 4096 bytes
//! bytes 4096..    an age file (X25519) encrypted to every recipient in the manifest, whose
//!                 plaintext is "parchi-snapshot/1\n", a random 32-byte snapshot key, and an
//!                 SQLCipher database encrypted with that key
//! ```
//!
//! The counter that writes a backup holds none of the private keys it is encrypted to (the
//! hospital's backup key, the recovery holder's key derived from the recovery key), so it
//! cannot read its own old backups. age authenticates nothing about the sender (age #59): the
//! manifest is signed by the device, and carries the ciphertext's length and SHA-256, so a
//! truncated or altered file fails before anything is decrypted or restored.
//!
//! The header is written last, over a placeholder, once the ciphertext's hash is known: one
//! pass over the snapshot, and no plaintext on disk at any point (the snapshot file the caller
//! streams in is itself SQLCipher-encrypted with the snapshot key).

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::secret::{DataKey, hex, unhex};
use crate::signing::DeviceKey;

pub const MAGIC: &str = "parchi-backup/1";
/// The fixed size of the header block.
pub const HEADER_BYTES: usize = 4096;
const SNAPSHOT_MAGIC: &[u8] = b"parchi-snapshot/1\n";
const SIGN_DOMAIN: &[u8] = b"parchi backup manifest v1\0";
/// The file name ending of backups.
pub const EXTENSION: &str = "pbak";

mod file;
pub use file::{
    check_file, decrypt_file, decrypt_to, read_file_manifest, write_file, write_stream,
};

/// The operation log a snapshot holds.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OpRange {
    pub count: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// The highest HLC in the log (0 when empty).
    pub max_hlc: u64,
}

/// The ciphertext's size and hash.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ciphertext {
    pub bytes: u64,
    pub sha256: String,
}

/// What a backup says about itself, signed by the device that made it. Nothing personal.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: String,
    /// `counter` or `hub`.
    pub kind: String,
    /// The installation's site ID (a counter) or hub ID (a hub).
    pub site: String,
    #[serde(default)]
    pub site_tag: Option<String>,
    #[serde(default)]
    pub counter: Option<String>,
    /// The device ID the hub gave this installation, when enrolled.
    #[serde(default)]
    pub device: Option<String>,
    /// The device's Ed25519 public key (hex) that signed this manifest.
    pub signing_key: String,
    pub created_ms: u64,
    /// Local time of creation, for people (`2025-03-04 10:15`).
    pub created: String,
    pub schema_version: u32,
    pub ops: OpRange,
    pub patients: u64,
    /// The age recipients the snapshot is encrypted to.
    pub recipients: Vec<String>,
    pub ciphertext: Ciphertext,
}

/// Why a backup file was refused. Never carries key material or patient data.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("not a Parchi backup (it does not start with {MAGIC})")]
    NotABackup,
    #[error(
        "the backup is truncated: {got} bytes of ciphertext, the signed manifest says {expected}"
    )]
    Truncated { expected: u64, got: u64 },
    #[error("the backup was altered: {0}")]
    Tampered(String),
    #[error(
        "the manifest's signature does not verify: the backup was altered or not made by the device it names"
    )]
    BadSignature,
    #[error(
        "this key does not open the backup (it is encrypted to {recipients}); use the hospital's backup key or this installation's recovery key"
    )]
    WrongKey { recipients: String },
    #[error(
        "this key does not open the file: it is sealed to the hospital's backup key and the recovery key of the installation that wrote it"
    )]
    SealedWrongKey,
    #[error("{0}")]
    Invalid(String),
    #[error("backup I/O: {0}")]
    Io(#[from] io::Error),
}

impl BackupError {
    pub fn code(&self) -> &'static str {
        match self {
            BackupError::NotABackup => "not_a_backup",
            BackupError::Truncated { .. } => "backup_truncated",
            BackupError::Tampered(_) | BackupError::BadSignature => "backup_tampered",
            BackupError::WrongKey { .. } | BackupError::SealedWrongKey => "wrong_key",
            BackupError::Invalid(_) => "invalid",
            BackupError::Io(_) => "io",
        }
    }
}

/// Counts and hashes what passes through.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A private key that opens backups: the hospital's backup identity (from a file), or the
/// X25519 identity derived from an installation's recovery key. `Debug` prints nothing of it.
pub struct BackupKey(age::x25519::Identity);

impl std::fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BackupKey({})", self.0.to_public())
    }
}

impl BackupKey {
    /// From an identity file's text (`age-keygen` output).
    pub fn from_identity_file(text: &str) -> Result<BackupKey, BackupError> {
        parse_identity(text).map(BackupKey)
    }

    /// From a recovery key: opens the backups made while it was the installation's.
    pub fn from_recovery(rk: &crate::RecoveryKey) -> Result<BackupKey, BackupError> {
        rk.age_identity()
            .map(BackupKey)
            .ok_or_else(|| BackupError::Invalid("the recovery key's identity".into()))
    }

    /// The public half (an `age1…` recipient).
    pub fn recipient(&self) -> String {
        self.0.to_public().to_string()
    }

    pub(crate) fn identity(&self) -> &dyn age::Identity {
        &self.0
    }
}

/// Parses `age1…` recipients for a backup.
pub fn recipients(texts: &[String]) -> Result<Vec<age::x25519::Recipient>, BackupError> {
    texts
        .iter()
        .map(|t| {
            age::x25519::Recipient::from_str(t.trim()).map_err(|_| {
                BackupError::Invalid(format!("{t:?} is not an age X25519 recipient (age1…)"))
            })
        })
        .collect()
}

/// Reads an age identity file (`age-keygen` output: comments, then `AGE-SECRET-KEY-1…`).
/// The error never echoes the file's content.
pub fn parse_identity(text: &str) -> Result<age::x25519::Identity, BackupError> {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .and_then(|l| age::x25519::Identity::from_str(l).ok())
        .ok_or_else(|| {
            BackupError::Invalid(
                "the identity file holds no age X25519 identity (a line AGE-SECRET-KEY-1…)".into(),
            )
        })
}

/// Writes the placeholder header and then the encrypted payload (the snapshot key and the
/// snapshot file's bytes) to `out`, positioned at its start. Returns the ciphertext's size and
/// hash, for the manifest; call [`write_header`] after.
pub fn write_payload<W: Write + Seek>(
    out: &mut W,
    to: &[age::x25519::Recipient],
    snapshot_key: &DataKey,
    snapshot: &mut dyn Read,
) -> Result<Ciphertext, BackupError> {
    if to.is_empty() {
        return Err(BackupError::Invalid(
            "a backup needs at least one recipient".into(),
        ));
    }
    out.seek(SeekFrom::Start(0))?;
    out.write_all(&[0u8; HEADER_BYTES])?;
    let enc = encryptor(to, "backup encryption")?;
    let mut hashing = Hashing {
        inner: &mut *out,
        hash: Sha256::new(),
        bytes: 0,
    };
    {
        let mut w = enc.wrap_output(&mut hashing)?;
        w.write_all(SNAPSHOT_MAGIC)?;
        w.write_all(snapshot_key.bytes())?;
        io::copy(snapshot, &mut w)?;
        w.finish()?;
    }
    let Hashing { hash, bytes, .. } = hashing;
    Ok(Ciphertext {
        bytes,
        sha256: hex(&hash.finalize()),
    })
}

fn signed_bytes(manifest_line: &[u8]) -> Vec<u8> {
    let mut v = SIGN_DOMAIN.to_vec();
    v.extend_from_slice(manifest_line);
    v
}

/// Writes the header block (the manifest, signed by `key`) over the placeholder.
pub fn write_header<W: Write + Seek>(
    out: &mut W,
    manifest: &Manifest,
    key: &DeviceKey,
) -> Result<(), BackupError> {
    let line = serde_json::to_vec(manifest).map_err(|e| BackupError::Invalid(e.to_string()))?;
    let sig = key.sign(&signed_bytes(&line));
    let mut block = Vec::with_capacity(HEADER_BYTES);
    block.extend_from_slice(MAGIC.as_bytes());
    block.push(b'\n');
    block.extend_from_slice(&line);
    block.push(b'\n');
    block.extend_from_slice(hex(&sig.to_bytes()).as_bytes());
    block.push(b'\n');
    if block.len() > HEADER_BYTES {
        return Err(BackupError::Invalid(format!(
            "the manifest is {} bytes, more than the header holds",
            line.len()
        )));
    }
    block.resize(HEADER_BYTES, b'\n');
    out.seek(SeekFrom::Start(0))?;
    out.write_all(&block)?;
    out.flush()?;
    Ok(())
}

/// Reads and checks the header block: the format, the manifest and its signature by the key
/// it names. Says nothing yet about the ciphertext (see [`decrypt_payload`]).
pub fn read_header(input: &mut dyn Read) -> Result<Manifest, BackupError> {
    let mut block = vec![0u8; HEADER_BYTES];
    let mut got = 0;
    while got < HEADER_BYTES {
        match input.read(&mut block[got..])? {
            0 => break,
            n => got += n,
        }
    }
    if !block.starts_with(MAGIC.as_bytes()) || block.get(MAGIC.len()) != Some(&b'\n') {
        return Err(BackupError::NotABackup);
    }
    if got < HEADER_BYTES {
        return Err(BackupError::Truncated {
            expected: HEADER_BYTES as u64,
            got: got as u64,
        });
    }
    let rest = &block[MAGIC.len() + 1..];
    let mut parts = rest.splitn(3, |b| *b == b'\n');
    let line = parts.next().unwrap_or_default();
    let sig_hex = parts.next().unwrap_or_default();
    let padding = parts.next().unwrap_or_default();
    if padding.iter().any(|b| *b != b'\n') {
        return Err(BackupError::Tampered(
            "the header's padding was changed".into(),
        ));
    }
    let manifest: Manifest = serde_json::from_slice(line)
        .map_err(|e| BackupError::Tampered(format!("the manifest does not parse ({e})")))?;
    if manifest.format != MAGIC {
        return Err(BackupError::Invalid(format!(
            "backup format {:?}; this Parchi reads {MAGIC}",
            manifest.format
        )));
    }
    let public = unhex(&manifest.signing_key)
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
        .ok_or(BackupError::BadSignature)?;
    let sig = std::str::from_utf8(sig_hex)
        .ok()
        .and_then(unhex)
        .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
        .map(|b| ed25519_dalek::Signature::from_bytes(&b))
        .ok_or(BackupError::BadSignature)?;
    if !crate::signing::verify(&public, &signed_bytes(line), &sig) {
        return Err(BackupError::BadSignature);
    }
    Ok(manifest)
}

/// Decrypts the payload after the header (`input` positioned at byte 4096) with `identity`,
/// writes the snapshot file's bytes to `out`, and returns the snapshot key. Checks the
/// ciphertext's length and hash against the manifest: a truncated or altered file is refused
/// with an error that says which (and whatever was written to `out` must be discarded).
pub fn decrypt_payload(
    input: &mut dyn Read,
    manifest: &Manifest,
    identity: &dyn age::Identity,
    out: &mut dyn Write,
) -> Result<DataKey, BackupError> {
    let mut hashing = Hashing {
        inner: input.take(manifest.ciphertext.bytes),
        hash: Sha256::new(),
        bytes: 0,
    };
    let result = decrypt_into(&mut hashing, manifest, identity, out);
    // Read what is left (after an early failure), so the hash says whether the file changed.
    let _ = io::copy(&mut hashing, &mut io::sink());
    let Hashing {
        hash, bytes, inner, ..
    } = hashing;
    let rest = inner.into_inner();
    let mut extra = [0u8; 1];
    let trailing = rest.read(&mut extra).unwrap_or(0) > 0;
    if bytes < manifest.ciphertext.bytes {
        return Err(BackupError::Truncated {
            expected: manifest.ciphertext.bytes,
            got: bytes,
        });
    }
    if trailing {
        return Err(BackupError::Tampered(
            "bytes were appended after the signed ciphertext".into(),
        ));
    }
    if hex(&hash.finalize()) != manifest.ciphertext.sha256 {
        return Err(BackupError::Tampered(
            "the ciphertext's SHA-256 differs from the signed manifest".into(),
        ));
    }
    result
}

/// An age encryptor to every one of `to`; `what` names the failure.
pub(crate) fn encryptor(
    to: &[age::x25519::Recipient],
    what: &str,
) -> Result<age::Encryptor, BackupError> {
    age::Encryptor::with_recipients(to.iter().map(|r| r as &dyn age::Recipient))
        .map_err(|e| BackupError::Invalid(format!("{what}: {e}")))
}

/// The error for `what` (an age file) that does not decrypt.
pub(crate) fn undecryptable(what: &str, e: &dyn std::fmt::Display) -> BackupError {
    BackupError::Tampered(format!("{what} does not decrypt ({e})"))
}

/// The clear text of the age file `input` with `identity`: `wrong_key()` when the file is not
/// encrypted to it, [`undecryptable`] when it is no intact age file.
pub(crate) fn decrypting<R: Read>(
    input: R,
    identity: &dyn age::Identity,
    what: &str,
    wrong_key: impl FnOnce() -> BackupError,
) -> Result<age::stream::StreamReader<R>, BackupError> {
    let dec = age::Decryptor::new(input).map_err(|e| undecryptable(what, &e))?;
    match dec.decrypt(std::iter::once(identity)) {
        Ok(r) => Ok(r),
        Err(age::DecryptError::NoMatchingKeys) => Err(wrong_key()),
        Err(e) => Err(undecryptable(what, &e)),
    }
}

fn decrypt_into(
    input: &mut dyn Read,
    manifest: &Manifest,
    identity: &dyn age::Identity,
    out: &mut dyn Write,
) -> Result<DataKey, BackupError> {
    const WHAT: &str = "the encrypted snapshot";
    let damaged = |e: &dyn std::fmt::Display| undecryptable(WHAT, e);
    let mut r = decrypting(input, identity, WHAT, || BackupError::WrongKey {
        recipients: manifest.recipients.join(", "),
    })?;
    let mut head = Zeroizing::new([0u8; SNAPSHOT_MAGIC.len() + 32]);
    r.read_exact(&mut head[..]).map_err(|e| damaged(&e))?;
    if &head[..SNAPSHOT_MAGIC.len()] != SNAPSHOT_MAGIC {
        return Err(BackupError::Tampered(
            "the snapshot has no Parchi header".into(),
        ));
    }
    let key = DataKey::from_bytes(&head[SNAPSHOT_MAGIC.len()..])
        .ok_or_else(|| BackupError::Tampered("the snapshot key".into()))?;
    io::copy(&mut r, out).map_err(|e| damaged(&e))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn manifest(recipients: Vec<String>) -> Manifest {
        Manifest {
            format: MAGIC.into(),
            kind: "counter".into(),
            site: "s".into(),
            site_tag: None,
            counter: Some("A".into()),
            device: None,
            signing_key: String::new(),
            created_ms: 1,
            created: "now".into(),
            schema_version: 1,
            ops: OpRange::default(),
            patients: 0,
            recipients,
            ciphertext: Ciphertext::default(),
        }
    }

    fn make(snapshot: &[u8]) -> (Vec<u8>, age::x25519::Identity, Manifest) {
        let id = age::x25519::Identity::generate();
        let to = vec![id.to_public()];
        let device = DeviceKey::generate(&mut crate::secret::test_rng(9));
        let key = DataKey::generate(&mut crate::secret::test_rng(3));
        let mut out = Cursor::new(Vec::new());
        let ct = write_payload(&mut out, &to, &key, &mut &snapshot[..]).expect("payload");
        let mut m = manifest(vec![id.to_public().to_string()]);
        m.ciphertext = ct;
        m.signing_key = hex(device.public().as_bytes());
        write_header(&mut out, &m, &device).expect("header");
        (out.into_inner(), id, m)
    }

    #[test]
    fn a_backup_round_trips_and_any_change_is_refused() {
        let snap = b"SQLCipher pages".repeat(1000);
        let (file, id, m) = make(&snap);
        let mut r = &file[..];
        assert_eq!(read_header(&mut r).expect("header"), m);
        let mut out = Vec::new();
        decrypt_payload(&mut r, &m, &id, &mut out).expect("decrypt");
        assert_eq!(out, snap);

        // Truncated.
        let cut = &file[..file.len() - 10];
        let mut r = cut;
        let m2 = read_header(&mut r).expect("header");
        let e = decrypt_payload(&mut r, &m2, &id, &mut Vec::new()).expect_err("cut");
        assert!(matches!(e, BackupError::Truncated { .. }), "{e}");
        // A flipped ciphertext byte.
        let mut bad = file.clone();
        let i = bad.len() - 100;
        bad[i] ^= 1;
        let mut r = &bad[..];
        let m3 = read_header(&mut r).expect("header");
        let e = decrypt_payload(&mut r, &m3, &id, &mut Vec::new()).expect_err("flip");
        assert!(matches!(e, BackupError::Tampered(_)), "{e}");
        // A changed manifest.
        let mut bad = file.clone();
        let at = bad.windows(3).position(|w| w == b"\"A\"").expect("counter");
        bad[at + 1] = b'B';
        assert!(matches!(
            read_header(&mut &bad[..]),
            Err(BackupError::BadSignature)
        ));
        // Another key.
        let other = age::x25519::Identity::generate();
        let mut r = &file[..];
        read_header(&mut r).expect("header");
        let e = decrypt_payload(&mut r, &m, &other, &mut Vec::new()).expect_err("other key");
        assert!(matches!(e, BackupError::WrongKey { .. }), "{e}");
        assert!(matches!(
            read_header(&mut &b"hello"[..]),
            Err(BackupError::NotABackup)
        ));
    }
}
