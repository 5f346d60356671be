use std::path::PathBuf;

/// Why keys could not be read, unwrapped or written. Messages say what to do and never carry
/// key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "{dir} holds encrypted data but no key slots ({file} is missing): copy keys.json from the machine or backup it came from, with the data"
    )]
    NoSlots { dir: PathBuf, file: &'static str },
    #[error(
        "this machine holds no key for the data in {dir} ({file} is missing): on a new machine, run `parchi unlock --recovery` with the recovery key (nothing was changed)"
    )]
    NoMachineKey { dir: PathBuf, file: &'static str },
    #[error(
        "the key does not open this installation's data ({what}); nothing was changed. On a new machine, or after replacing machine.key, run `parchi unlock --recovery`"
    )]
    WrongKey { what: String },
    #[error(
        "the key slots are damaged ({0}): run `parchi unlock --recovery` with the recovery key"
    )]
    Corrupt(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    RecoveryKey(#[from] crate::RecoveryKeyError),
    #[error("the machine key store: {0}")]
    Platform(String),
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl KeyError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> KeyError {
        KeyError::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// A stable code for UIs and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::NoSlots { .. } => "no_key_slots",
            KeyError::NoMachineKey { .. } => "no_machine_key",
            KeyError::WrongKey { .. } => "wrong_key",
            KeyError::Corrupt(_) => "corrupt_key_slots",
            KeyError::Invalid(_) => "invalid",
            KeyError::RecoveryKey(_) => "invalid_recovery_key",
            KeyError::Platform(_) => "key_store",
            KeyError::Io { .. } => "io",
        }
    }

    /// True when what the user typed or configured was at fault.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, KeyError::Invalid(_) | KeyError::RecoveryKey(_))
    }
}
