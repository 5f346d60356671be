//! SQLCipher through rusqlite: keying a connection, telling a wrong key from a readable file,
//! the page format and its one-time conversion from earlier versions (plaintext, or HMAC-SHA512
//! pages), encrypted snapshots and a rekey that verifies itself.
//!
//! Every connection to a Parchi database is keyed by [`key_connection`] before anything else:
//! the raw data key (`PRAGMA key = "x'…'"`, no key derivation at open), then `temp_store =
//! MEMORY` so no temporary file ever holds a page in clear. WAL frames are encrypted like the
//! main file.
//!
//! Traps this module exists to avoid (tested in parchi-store): an un-keyed `VACUUM INTO` or
//! backup connection writes plaintext, so snapshots go through [`export`], which ATTACHes the
//! target with a key; a `PRAGMA rekey` has reported success while failing, so [`rekey`]
//! reopens the file with the new key before it returns `Ok`.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags, params};
use zeroize::Zeroizing;

use crate::files::{sync_dir, zero_fill};
use crate::secret::DataKey;

/// What went wrong keying or converting a database.
#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    /// The file does not open with the key: a wrong key, or not an SQLCipher file.
    #[error("the database does not open with this key")]
    WrongKey,
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the rekey did not take: {0}; the database still opens with its old key")]
    RekeyNotVerified(String),
}

impl From<crate::KeyError> for CipherError {
    fn from(e: crate::KeyError) -> Self {
        match e {
            crate::KeyError::Io { path, source } => CipherError::Io { path, source },
            other => CipherError::Io {
                path: PathBuf::new(),
                source: std::io::Error::other(other.to_string()),
            },
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CipherError + '_ {
    move |source| CipherError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The page format of a Parchi database: SQLCipher 4's, with the page HMAC this version writes,
/// or the one earlier versions wrote.
///
/// Every page read past SQLite's cache is authenticated again and every page written is
/// signed, so the HMAC is most of SQLCipher's cost per page. SHA-256 runs on the CPU's SHA
/// extensions where they exist (2.4x SHA-512's speed on 4 KiB pages on the machines Parchi is
/// measured on) and needs 32 bytes of each page, not 64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// HMAC-SHA256: what this version writes.
    Current,
    /// HMAC-SHA512, SQLCipher 4's default: stores and backups of earlier versions. Opened as they
    /// are; a store is converted once at its first open ([`open_current`]).
    Legacy,
}

impl Format {
    fn hmac(self) -> &'static str {
        match self {
            Format::Current => "HMAC_SHA256",
            Format::Legacy => "HMAC_SHA512",
        }
    }
}

/// The first statements on every connection: no SQLCipher log lines, the key, the cipher page
/// size when the database uses a non-default one (the hub: 64 KiB), the current page format,
/// temporary tables in memory. To open a file that may be of an earlier version, use [`open`].
pub fn key_connection(
    conn: &Connection,
    key: &DataKey,
    page_size: Option<u32>,
) -> rusqlite::Result<()> {
    key_as(conn, key, page_size, Format::Current)
}

/// Waits, once per process, until SQLCipher has finished setting itself up. SQLite reports
/// itself initialised before SQLCipher's part of that (its crypto provider, then the
/// `sqlcipher_export` function every later connection gets) is done, so a connection opened or
/// keyed on another thread meanwhile can lack them: "no such function: sqlcipher_export", or
/// a failed `PRAGMA key`. Seen in 8 of 150 runs of the store's tests on 8 threads.
fn ready() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(|| {
        // Each connection opened after the set-up has the function; a few ms at most.
        for _ in 0..5_000 {
            let done = Connection::open_in_memory()
                .is_ok_and(|c| c.prepare("SELECT sqlcipher_export('main')").is_ok());
            if done {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // Every codec from here on encrypts and signs pages with `parchi-cipher`'s functions
        // (the same bytes as OpenSSL's, without OpenSSL's per-page set-up).
        parchi_cipher::install();
    });
}

/// Opens a database file once SQLCipher is ready ([`ready`]).
fn connect(path: &Path, flags: OpenFlags) -> rusqlite::Result<Connection> {
    ready();
    Connection::open_with_flags(path, flags)
}

/// Opens a plaintext database file (created when absent), once SQLCipher is ready: the
/// benchmarks' unencrypted baseline. Every Parchi database is opened through this module.
pub fn open_plain(path: &Path) -> rusqlite::Result<Connection> {
    ready();
    Connection::open(path)
}

fn key_as(
    conn: &Connection,
    key: &DataKey,
    page_size: Option<u32>,
    format: Format,
) -> rusqlite::Result<()> {
    ready();
    conn.execute_batch("PRAGMA cipher_log_level = NONE")?;
    let sql = Zeroizing::new(format!("PRAGMA key = {}", key.pragma_literal().as_str()));
    conn.execute_batch(&sql)?;
    if let Some(p) = page_size {
        conn.execute_batch(&format!("PRAGMA cipher_page_size = {p}"))?;
    }
    conn.execute_batch(&format!(
        "PRAGMA cipher_hmac_algorithm = {}; PRAGMA temp_store = MEMORY",
        format.hmac()
    ))?;
    Ok(())
}

/// Opens the encrypted database at `path` with `flags`, keyed with `key`, in whichever format
/// it was written: the current one first, then the legacy one. `Err(WrongKey)` when neither
/// reads it. Reads the schema only; writes nothing. A new (empty) file takes the current format.
pub fn open(
    path: &Path,
    flags: OpenFlags,
    key: &DataKey,
    page_size: Option<u32>,
) -> Result<(Connection, Format), CipherError> {
    for format in [Format::Current, Format::Legacy] {
        let conn = connect(path, flags)?;
        key_as(&conn, key, page_size, format)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        match check_key(&conn) {
            Ok(()) => return Ok((conn, format)),
            Err(CipherError::WrongKey) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(CipherError::WrongKey)
}

/// Opens the database at `path` for reading and writing, creating it if absent, in the current
/// format: a plaintext file of an earlier version is encrypted first, and a file in the legacy
/// format converted first, each once and crash-safely (a conversion a crash cut short is
/// finished first). With a wrong key nothing on disk changes.
pub fn open_current(
    path: &Path,
    key: &DataKey,
    page_size: Option<u32>,
) -> Result<Connection, CipherError> {
    // CREATE: a new store, and a snapshot's ATTACH inherits the flags and must create its file.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    finish_interrupted(path)?;
    if is_plaintext(path)? {
        convert_in_place(path, key, page_size, None)?;
    }
    let (conn, format) = open(path, flags, key, page_size)?;
    if format == Format::Current {
        return Ok(conn);
    }
    drop(conn);
    convert_in_place(path, key, page_size, Some(Format::Legacy))?;
    match open(path, flags, key, page_size)? {
        (conn, Format::Current) => Ok(conn),
        (_, Format::Legacy) => Err(CipherError::RekeyNotVerified(
            "the converted file is still in the legacy format".into(),
        )),
    }
}

/// Reads the schema: `Err(WrongKey)` when the key does not open the file. Reads nothing else
/// and writes nothing.
pub fn check_key(conn: &Connection) -> Result<(), CipherError> {
    match conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(()),
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
            Err(CipherError::WrongKey)
        }
        Err(e) => Err(e.into()),
    }
}

/// True when `path` is a plaintext SQLite file (its header is SQLite's own, unencrypted).
pub fn is_plaintext(path: &Path) -> Result<bool, CipherError> {
    use std::io::Read;
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io(path)(e)),
    };
    let mut head = [0u8; 16];
    match f.read_exact(&mut head) {
        Ok(()) => Ok(&head == b"SQLite format 3\0"),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(io(path)(e)),
    }
}

fn side(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn fsync(path: &Path) -> Result<(), CipherError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io(path))
}

/// Copies the database of `conn` (its `main`) into a new file at `dest`, encrypted with `key`
/// in the current [`Format`], in one read transaction (a consistent snapshot), with its
/// `user_version`; fsynced.
pub fn export(
    conn: &Connection,
    dest: &Path,
    key: &DataKey,
    page_size: Option<u32>,
) -> Result<(), CipherError> {
    if dest.exists() {
        return Err(io(dest)(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "the snapshot file already exists",
        )));
    }
    let dest_str = dest.to_string_lossy().into_owned();
    conn.execute(
        "ATTACH DATABASE ?1 AS parchi_export KEY ?2",
        params![dest_str, key.pragma_literal().trim_matches('"')],
    )?;
    let result = (|| -> Result<(), CipherError> {
        if let Some(p) = page_size {
            conn.execute_batch(&format!("PRAGMA parchi_export.cipher_page_size = {p}"))?;
        }
        conn.execute_batch(&format!(
            "PRAGMA parchi_export.cipher_hmac_algorithm = {}; \
             PRAGMA parchi_export.cipher_log_level = NONE; BEGIN",
            Format::Current.hmac()
        ))?;
        let done = (|| -> Result<(), CipherError> {
            let v: i64 = conn.query_row("PRAGMA main.user_version", [], |r| r.get(0))?;
            conn.query_row("SELECT sqlcipher_export('parchi_export')", [], |_| Ok(()))?;
            conn.execute_batch(&format!("PRAGMA parchi_export.user_version = {v}"))?;
            Ok(())
        })();
        match done {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        Ok(())
    })();
    let detached = conn.execute_batch("DETACH DATABASE parchi_export");
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    result?;
    detached?;
    fsync(dest)?;
    sync_dir(dest)?;
    Ok(())
}

/// Finishes a conversion that a crash interrupted (see [`open_current`]); does nothing when
/// none was under way.
fn finish_interrupted(path: &Path) -> Result<(), CipherError> {
    let _ = std::fs::remove_file(side(path, ".encrypting"));
    let done = side(path, ".encrypted");
    if !done.exists() {
        return Ok(());
    }
    if is_plaintext(path)? {
        retire_plaintext(path)?;
    } else {
        remove_sides(path)?;
    }
    std::fs::rename(&done, path).map_err(io(path))?;
    sync_dir(path)?;
    Ok(())
}

/// Removes the WAL and shared memory of `path` (after a checkpoint, they hold nothing).
fn remove_sides(path: &Path) -> Result<(), CipherError> {
    for f in [side(path, "-wal"), side(path, "-shm")] {
        match std::fs::remove_file(&f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&f)(e)),
        }
    }
    Ok(())
}

/// Zeroes the plaintext file and its WAL (fsynced), and removes the WAL and shared memory.
fn retire_plaintext(path: &Path) -> Result<(), CipherError> {
    for f in [side(path, "-wal"), side(path, "-shm")] {
        zero_fill(&f)?;
    }
    remove_sides(path)?;
    zero_fill(path)?;
    Ok(())
}

/// Rewrites the database at `path`, plaintext (`from: None`, earlier versions) or encrypted
/// with `key` in format `from`, as a copy encrypted with `key` in the current format, once:
/// checkpoint, export to `PATH.encrypting`, fsync, rename to `PATH.encrypted` (the export is
/// complete), zero a plaintext file's bytes (and its WAL) and fsync, then rename the new file
/// over it. A crash at any step leaves either the old file intact or a complete new copy that
/// [`finish_interrupted`] puts in place at the next open.
fn convert_in_place(
    path: &Path,
    key: &DataKey,
    page_size: Option<u32>,
    from: Option<Format>,
) -> Result<(), CipherError> {
    let encrypting = side(path, ".encrypting");
    let done = side(path, ".encrypted");
    let _ = std::fs::remove_file(&encrypting);
    {
        // CREATE: the ATTACHed target inherits the flags and is a new file.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let old = connect(path, flags)?;
        old.busy_timeout(std::time::Duration::from_secs(5))?;
        match from {
            Some(format) => {
                key_as(&old, key, page_size, format)?;
                check_key(&old)?;
            }
            None => {
                old.execute_batch("PRAGMA cipher_log_level = NONE; PRAGMA temp_store = MEMORY")?
            }
        }
        old.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        export(&old, &encrypting, key, page_size)?;
        // Back to a rollback journal so closing leaves no WAL behind.
        let _ = old.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()));
    }
    std::fs::rename(&encrypting, &done).map_err(io(&done))?;
    sync_dir(&done)?;
    finish_interrupted(path)
}

/// Changes the key of the database at `path` (open as `conn`) to `new` with `PRAGMA rekey`,
/// then proves it: a fresh connection with `new` must read the schema and pass `quick_check`.
/// Takes the database's exclusive lock for the duration (other connections get "locked").
pub fn rekey(
    conn: &Connection,
    path: &Path,
    new: &DataKey,
    page_size: Option<u32>,
) -> Result<(), CipherError> {
    conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT")?;
    let sql = Zeroizing::new(format!("PRAGMA rekey = {}", new.pragma_literal().as_str()));
    let r = conn.execute_batch(&sql);
    // Release the exclusive lock (the next read in NORMAL mode drops it).
    let _ = conn.execute_batch("PRAGMA locking_mode = NORMAL");
    let _ = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()));
    r?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    // The file keeps its format (a restored backup of an earlier version is legacy until the
    // store opens it).
    let check = match open(path, flags, new, page_size) {
        Ok((check, _)) => check,
        Err(CipherError::WrongKey) => {
            return Err(CipherError::RekeyNotVerified(
                "a fresh connection cannot read it with the new key".into(),
            ));
        }
        Err(e) => return Err(e),
    };
    let ok: String = check.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if ok != "ok" {
        return Err(CipherError::RekeyNotVerified(format!("quick_check: {ok}")));
    }
    Ok(())
}
