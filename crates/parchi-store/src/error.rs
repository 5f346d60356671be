use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// What went wrong in the store. Messages say what to do; none carries patient data (values are
/// always bound as parameters, never formatted into SQL or messages).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no Parchi data in {0}: run `parchi init` first")]
    NotInitialised(PathBuf),
    #[error(
        "{0} already holds a Parchi database; use another directory, or restore/delete it deliberately"
    )]
    AlreadyInitialised(PathBuf),
    #[error(
        "the database {path} was written by a newer Parchi (schema {found}; this one knows up to {supported}); upgrade Parchi, do not downgrade"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error(
        "the database is busy or locked by another Parchi process; close it and retry (nothing was saved)"
    )]
    Locked,
    #[error("the disk is full; free some space and retry (nothing was saved)")]
    DiskFull,
    #[error(
        "the database is read-only: check the file's permissions or the disk (nothing was saved)"
    )]
    ReadOnly,
    #[error("the database file is corrupt or not a Parchi database: {0}; restore the last backup")]
    Corrupt(String),
    #[error(
        "the database {path} does not open with this key (nothing was changed): the key is wrong or missing, or the file is not this installation's. On a new machine, run `parchi unlock --recovery` with the recovery key"
    )]
    WrongKey { path: PathBuf },
    #[error("cannot open the database {path}: {reason}")]
    CannotOpen { path: PathBuf, reason: String },
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no {what} {id}")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked,
            Some(ErrorCode::DiskFull) => StoreError::DiskFull,
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly,
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                StoreError::Corrupt(e.to_string())
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(format!("a stored record does not parse: {e}"))
    }
}

impl StoreError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn open(path: &Path, e: rusqlite::Error) -> Self {
        match StoreError::from(e) {
            StoreError::Sqlite(e) => StoreError::CannotOpen {
                path: path.to_owned(),
                reason: e.to_string(),
            },
            other => other,
        }
    }

    /// Names the file in errors that come from opening it.
    pub(crate) fn at(self, path: &Path) -> Self {
        match self {
            StoreError::Sqlite(e) => StoreError::CannotOpen {
                path: path.to_owned(),
                reason: e.to_string(),
            },
            StoreError::Corrupt(m) => StoreError::Corrupt(format!("{}: {m}", path.display())),
            other => other,
        }
    }

    /// A stable code for UIs and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotInitialised(_) => "not_initialised",
            StoreError::AlreadyInitialised(_) => "already_initialised",
            StoreError::SchemaTooNew { .. } => "schema_too_new",
            StoreError::Locked => "locked",
            StoreError::DiskFull => "disk_full",
            StoreError::ReadOnly => "read_only",
            StoreError::Corrupt(_) => "corrupt",
            StoreError::WrongKey { .. } => "wrong_key",
            StoreError::CannotOpen { .. } => "cannot_open",
            StoreError::Io { .. } => "io",
            StoreError::NotFound { .. } => "not_found",
            StoreError::Invalid(_) => "invalid",
            StoreError::Sqlite(_) => "database",
        }
    }
}
