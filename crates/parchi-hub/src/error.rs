//! The hub's error types.

use parchi_sync::wire::ErrorCode;

/// A storage backend failed. Whatever the failed call was writing was not stored.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("SQLite value: {0}")]
    SqliteValue(#[from] rusqlite::types::FromSqlError),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error(
        "the database's schema version {found} is newer than this hub understands ({known}); upgrade the hub"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the database is in use by another hub process: {0}")]
    Locked(String),
    #[error("connecting to PostgreSQL: {0}")]
    Connect(String),
    #[error("storage I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("storage task failed: {0}")]
    Task(String),
}

/// Why the hub refused or failed a request. Each maps to an HTTP status and a stable wire code.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(
        "no valid credential: send `Authorization: Bearer <token>` with the token from enrolment"
    )]
    Unauthorized,
    #[error("this device was revoked at the hub; enrol it again")]
    Revoked,
    #[error("a counter may only push its own site's ops: op {op_id} is of site {site}")]
    ForbiddenSite { op_id: String, site: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the enrolment code is unknown, already used or expired")]
    InvalidEnrollCode,
    #[error("cursor {after} is beyond the hub's last op {head}: pull again from 0")]
    CursorAhead { after: u64, head: u64 },
    #[error(
        "mirror cursor {after} is beyond the hub's mirror head {head}: pull the mirror again from 0"
    )]
    MirrorCursorAhead { after: u64, head: u64 },
    #[error("{got} records in one mirror batch; at most {max} are accepted")]
    TooManyRecords { got: usize, max: usize },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("upstream hub: {0}")]
    Upstream(#[from] parchi_sync::ClientError),
}

impl HubError {
    /// HTTP status and wire code.
    pub fn status_code(&self) -> (u16, ErrorCode) {
        match self {
            HubError::Storage(_) => (503, ErrorCode::Storage),
            HubError::Unauthorized => (401, ErrorCode::Unauthorized),
            HubError::Revoked => (403, ErrorCode::Revoked),
            HubError::ForbiddenSite { .. } => (403, ErrorCode::ForbiddenSite),
            HubError::Forbidden(_) => (403, ErrorCode::Forbidden),
            HubError::BadRequest(_) => (400, ErrorCode::BadRequest),
            HubError::InvalidEnrollCode => (400, ErrorCode::InvalidEnrollCode),
            HubError::CursorAhead { .. } | HubError::MirrorCursorAhead { .. } => {
                (409, ErrorCode::CursorAhead)
            }
            HubError::TooManyRecords { .. } => (413, ErrorCode::TooManyRecords),
            HubError::NotFound(_) => (404, ErrorCode::NotFound),
            HubError::Config(_) | HubError::Upstream(_) => (500, ErrorCode::Internal),
        }
    }
}
