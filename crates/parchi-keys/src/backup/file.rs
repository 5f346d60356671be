//! Backup files on disk: written whole or not at all, re-read, and decrypted into a file.

use std::io::{self, Seek, SeekFrom};

use super::{
    BackupError, BackupKey, EXTENSION, HEADER_BYTES, Hashing, Manifest, decrypt_payload,
    read_header, recipients, write_header, write_payload,
};
use crate::secret::{DataKey, hex};
use crate::signing::DeviceKey;
use sha2::{Digest, Sha256};

/// Writes a backup file `DIR/STEM.pbak` of the snapshot file `snap` (SQLCipher, keyed with
/// `snap_key`); see [`write_stream`].
pub fn write_file(
    dir: &std::path::Path,
    stem: &str,
    manifest: Manifest,
    signer: &DeviceKey,
    snap_key: &DataKey,
    snap: &std::path::Path,
) -> Result<(std::path::PathBuf, Manifest), BackupError> {
    let mut input = io::BufReader::with_capacity(1 << 20, std::fs::File::open(snap)?);
    write_stream(dir, stem, manifest, signer, snap_key, &mut input)
}

/// Writes a backup file `DIR/STEM.pbak` of what `input` reads to its end (a snapshot, or a
/// database dump streamed from its tool: it never lands on disk in clear): a hidden
/// `.STEM.partial` first, the payload, the header signed by `signer` with `manifest` (its
/// `ciphertext` filled in here), fsync, rename into place, fsync of the directory. A failure,
/// a read error included, leaves no file behind. Returns the path and the final manifest.
pub fn write_stream(
    dir: &std::path::Path,
    stem: &str,
    mut manifest: Manifest,
    signer: &DeviceKey,
    snap_key: &DataKey,
    input: &mut dyn io::Read,
) -> Result<(std::path::PathBuf, Manifest), BackupError> {
    let to = recipients(&manifest.recipients)?;
    std::fs::create_dir_all(dir)?;
    let file = dir.join(format!("{stem}.{EXTENSION}"));
    let partial = dir.join(format!(".{stem}.partial"));
    let mut out = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&partial)?;
    let written = (|| -> Result<(), BackupError> {
        let mut buf = io::BufWriter::with_capacity(1 << 20, &mut out);
        manifest.ciphertext = write_payload(&mut buf, &to, snap_key, input)?;
        write_header(&mut buf, &manifest, signer)?;
        buf.into_inner()
            .map_err(|e| BackupError::Io(e.into_error()))?;
        out.sync_all()?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, &file)?;
    crate::files::sync_dir(&file).map_err(|e| BackupError::Io(io::Error::other(e.to_string())))?;
    Ok((file, manifest))
}

/// Re-reads a backup file as written: header, signature, length and the ciphertext's SHA-256
/// (no private key needed, nothing decrypted). What a counter can check of its own backup.
pub fn check_file(path: &std::path::Path) -> Result<Manifest, BackupError> {
    let m = read_file_manifest(path)?;
    let mut f = io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    f.seek(SeekFrom::Start(HEADER_BYTES as u64))?;
    let mut h = Hashing {
        inner: f,
        hash: Sha256::new(),
        bytes: 0,
    };
    io::copy(&mut h, &mut io::sink())?;
    if h.bytes != m.ciphertext.bytes {
        return Err(BackupError::Tampered(format!(
            "{} bytes of ciphertext, the signed manifest says {}",
            h.bytes, m.ciphertext.bytes
        )));
    }
    if hex(&h.hash.finalize()) != m.ciphertext.sha256 {
        return Err(BackupError::Tampered(
            "the ciphertext's SHA-256 differs from the signed manifest".into(),
        ));
    }
    Ok(m)
}

/// Reads and checks a backup file's header (format, manifest, signature) and its length
/// against the manifest: a truncated file is refused here, before any decryption.
pub fn read_file_manifest(path: &std::path::Path) -> Result<Manifest, BackupError> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let m = read_header(&mut f)?;
    let got = len.saturating_sub(HEADER_BYTES as u64);
    if got < m.ciphertext.bytes {
        return Err(BackupError::Truncated {
            expected: m.ciphertext.bytes,
            got,
        });
    }
    Ok(m)
}

/// Decrypts the backup at `path` with `key` into `out` (a restore tool's input, or a reader
/// that checks what it is given), after checking its header. Whatever was written to `out`
/// must be discarded on an error, which says what was wrong with the backup.
pub fn decrypt_to(
    path: &std::path::Path,
    key: &BackupKey,
    out: &mut dyn io::Write,
) -> Result<(Manifest, DataKey), BackupError> {
    let m = read_file_manifest(path)?;
    let mut f = io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    f.seek(SeekFrom::Start(HEADER_BYTES as u64))?;
    let k = decrypt_payload(&mut f, &m, key.identity(), out)?;
    Ok((m, k))
}

/// Decrypts the backup at `path` with `identity` into a new file `dest` (the snapshot, still
/// SQLCipher-encrypted with the returned snapshot key), fsynced. On any error `dest` is
/// removed and the error says what was wrong with the backup.
pub fn decrypt_file(
    path: &std::path::Path,
    key: &BackupKey,
    dest: &std::path::Path,
) -> Result<(Manifest, DataKey), BackupError> {
    let m = read_file_manifest(path)?;
    let mut f = io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    f.seek(SeekFrom::Start(HEADER_BYTES as u64))?;
    let out = parchi_platform::create_private_file(dest)?;
    let mut w = io::BufWriter::with_capacity(1 << 20, out);
    let done = decrypt_payload(&mut f, &m, key.identity(), &mut w).and_then(|k| {
        let out = w
            .into_inner()
            .map_err(|e| BackupError::Io(e.into_error()))?;
        out.sync_all()?;
        Ok(k)
    });
    match done {
        Ok(k) => Ok((m, k)),
        Err(e) => {
            let _ = std::fs::remove_file(dest);
            Err(e)
        }
    }
}
