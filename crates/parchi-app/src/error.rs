use parchi_core::ValidationErrors;
use parchi_store::StoreError;

use crate::config::ConfigError;

/// Why a use case failed. [`AppError::code`] is what UIs and scripts branch on, never the text.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Validation(ValidationErrors),
    #[error("no department {code:?}; the departments are: {known}")]
    UnknownDepartment { code: String, known: String },
    #[error("no counter {code:?} in the configuration; the counters are: {known}")]
    UnknownCounter { code: String, known: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Denied(String),
    /// The slip could not be printed (the PDF is kept; the message says where).
    #[error("printing: {0}")]
    Print(String),
    /// The hub could not be reached or refused the round (nothing is lost: it is retried).
    #[error("sync: {0}")]
    Sync(String),
    /// The FHIR server could not be reached or refused a Bundle (resending is safe).
    #[error("FHIR server: {0}")]
    Fhir(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The key slots (missing, wrong or damaged keys; a mistyped recovery key).
    #[error(transparent)]
    Keys(#[from] parchi_keys::KeyError),
    /// A backup file that is not one, truncated, altered, or not for this key.
    #[error(transparent)]
    Backup(parchi_keys::backup::BackupError),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation",
            AppError::UnknownDepartment { .. } => "unknown_department",
            AppError::UnknownCounter { .. } => "unknown_counter",
            AppError::Invalid(_) => "invalid",
            AppError::Denied(_) => "denied",
            AppError::Sync(_) => "sync",
            AppError::Fhir(_) => "fhir",
            AppError::Print(_) => "print",
            AppError::Config(_) => "config",
            AppError::Store(e) => e.code(),
            AppError::Keys(e) => e.code(),
            AppError::Backup(e) => e.code(),
        }
    }

    /// True when the input was at fault (exit code 2), not the system.
    pub fn is_bad_input(&self) -> bool {
        match self {
            AppError::Validation(_)
            | AppError::UnknownDepartment { .. }
            | AppError::UnknownCounter { .. }
            | AppError::Invalid(_)
            | AppError::Denied(_)
            | AppError::Config(_) => true,
            AppError::Sync(_) | AppError::Print(_) | AppError::Fhir(_) => false,
            AppError::Keys(e) => e.is_bad_input(),
            AppError::Backup(e) => !matches!(e, parchi_keys::backup::BackupError::Io(_)),
            AppError::Store(e) => matches!(
                e,
                StoreError::NotFound { .. }
                    | StoreError::Invalid(_)
                    | StoreError::AlreadyInitialised(_)
            ),
        }
    }

    /// Per-field problems, when the error is a validation error.
    pub fn fields(&self) -> Option<&ValidationErrors> {
        match self {
            AppError::Validation(v) => Some(v),
            _ => None,
        }
    }
}

impl From<ValidationErrors> for AppError {
    fn from(v: ValidationErrors) -> Self {
        AppError::Validation(v)
    }
}
