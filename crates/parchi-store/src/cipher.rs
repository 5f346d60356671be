//! The store at rest: every connection keyed with the installation's data key (SQLCipher),
//! plaintext stores of earlier versions migrated once at open, encrypted snapshots, a rekey
//! that verifies itself, secrets kept inside the encrypted file, and slip PDFs a printer did
//! not take kept there too.
//!
//! **Architecture Invariant:** the store never opens its file without a key, and never writes
//! a copy of it (snapshot, export) that is not encrypted with a key the caller gives.

use std::path::Path;

use parchi_keys::DataKey;
use parchi_keys::sqlcipher::{self, CipherError};
use rusqlite::{Connection, OptionalExtension, params};

use crate::{Result, Store, StoreError, get_meta, set_meta};

fn cipher_err(path: &Path, e: CipherError) -> StoreError {
    match e {
        CipherError::WrongKey => StoreError::WrongKey {
            path: path.to_owned(),
        },
        CipherError::Sqlite(e) => StoreError::from(e).at(path),
        CipherError::Io { path: p, source } => StoreError::Io { path: p, source },
        CipherError::RekeyNotVerified(m) => StoreError::Corrupt(format!(
            "the new key was not verified ({m}); the slots still hold the old key"
        )),
    }
}

/// Opens the database file at `path` keyed with `key` (`None`: plaintext, benchmarks only), in
/// the current page format: a plaintext file, or one in the legacy format, of an earlier version
/// is converted first. Checks the key before anything is written: with a wrong key, nothing on
/// disk changes.
pub(crate) fn connect(path: &Path, key: Option<&DataKey>) -> Result<Connection> {
    let Some(key) = key else {
        return sqlcipher::open_plain(path).map_err(|e| StoreError::open(path, e));
    };
    sqlcipher::open_current(path, key, None).map_err(|e| match e {
        CipherError::Sqlite(e) => StoreError::open(path, e),
        e => cipher_err(path, e),
    })
}

const SECRET: &str = "secret:";

impl Store {
    /// Writes a consistent copy of the database to `dest` (a new file), encrypted with `key`.
    /// The one way this store copies itself: never `VACUUM INTO` or the backup API on an
    /// un-keyed target, which would write plaintext.
    pub fn snapshot_to(&self, dest: &Path, key: &DataKey) -> Result<()> {
        sqlcipher::export(&self.conn, dest, key, None).map_err(|e| cipher_err(dest, e))
    }

    /// Changes the database's key to `new` and proves it by reopening the file with `new` and
    /// reading it; only then returns `Ok`. The caller keeps its old key slots until then.
    pub fn rekey(&mut self, new: &DataKey) -> Result<()> {
        let path = self.path.clone();
        sqlcipher::rekey(&self.conn, &path, new, None).map_err(|e| cipher_err(&path, e))
    }

    /// A secret kept inside the encrypted store (the device's signing key…).
    pub fn secret(&self, name: &str) -> Result<Option<String>> {
        get_meta(&self.conn, &format!("{SECRET}{name}"))
    }

    pub fn set_secret(&mut self, name: &str, value: &str) -> Result<()> {
        set_meta(&self.conn, &format!("{SECRET}{name}"), value)
    }

    /// Keeps a slip PDF that could not be printed, inside the encrypted store.
    pub fn keep_slip(
        &mut self,
        visit: parchi_core::VisitId,
        duplicate: bool,
        now_ms: u64,
        reason: &str,
        pdf: &[u8],
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO kept_slips (visit, duplicate, kept_ms, reason, pdf) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![&visit.as_bytes()[..], duplicate, now_ms as i64, reason, pdf],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The last kept PDF of a visit's slip, if a printer refused one.
    pub fn kept_slip(&self, visit: parchi_core::VisitId) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row(
                "SELECT pdf FROM kept_slips WHERE visit = ?1 ORDER BY id DESC LIMIT 1",
                [&visit.as_bytes()[..]],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Forgets a visit's kept PDFs (once printed).
    pub fn drop_kept_slips(&mut self, visit: parchi_core::VisitId) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM kept_slips WHERE visit = ?1",
            [&visit.as_bytes()[..]],
        )?)
    }
}
