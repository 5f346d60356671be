//! Writing key files whole or not at all: a temporary file (mode 0600) written and fsynced,
//! renamed over the target, and the directory fsynced, so a crash leaves the old file or the new
//! one, never half of either.

use std::io::Write;
use std::path::Path;

use crate::error::KeyError;

/// Writes `bytes` to `path` atomically, readable only by this OS account.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = parchi_platform::create_private_file(&tmp).map_err(|e| KeyError::io(&tmp, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| KeyError::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| KeyError::io(path, e))?;
    sync_dir(path)
}

/// Fsyncs the directory holding `path` (so a rename in it is durable).
pub fn sync_dir(path: &Path) -> Result<(), KeyError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    parchi_platform::sync_dir(dir).map_err(|e| KeyError::io(dir, e))
}

/// Reads a file, `None` when it does not exist.
pub(crate) fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, KeyError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(KeyError::io(path, e)),
    }
}

/// Overwrites a file's bytes with zeros and fsyncs it, then removes it. Best effort against a
/// later reader of the disk: a journaling file system or an SSD may keep older copies of the
/// blocks (docs/security.md says so).
pub fn shred(path: &Path) -> Result<(), KeyError> {
    zero_fill(path)?;
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(KeyError::io(path, e)),
    }
}

/// Overwrites a file's bytes with zeros in place and fsyncs it (a missing file is fine).
pub fn zero_fill(path: &Path) -> Result<(), KeyError> {
    let mut f = match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(KeyError::io(path, e)),
    };
    let len = f.metadata().map_err(|e| KeyError::io(path, e))?.len();
    let zeros = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n])
            .map_err(|e| KeyError::io(path, e))?;
        left -= n as u64;
    }
    f.sync_all().map_err(|e| KeyError::io(path, e))
}
