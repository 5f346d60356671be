//! Parchi's use-case layer: what a counter does, in one place.
//!
//! The CLI, the desktop app and the end-to-end tests all call [`Counter`]; none of them talks to
//! the store directly for a use case. This crate turns raw input into validated domain values
//! (refusing bad input before anything is written), takes wall time and randomness from an
//! [`Env`], and loads the hospital configuration.
//!
//! **Architecture Invariant:** nothing above this layer (CLI, Tauri shell) holds business rules;
//! nothing below it (store, core) reads the clock or the configuration file.

pub mod backup;
pub mod config;
mod corrections;
pub mod counter;
mod csv_lines;
pub mod desktop;
pub mod env;
pub mod error;
pub mod fhir;
pub mod keys;
pub mod link;
mod lookup;
mod matching;
pub mod mirror;
pub mod patient_csv;
pub mod published;
pub mod reconcile;
pub mod restore;
pub mod retention;
pub mod returning;
pub mod schedule;
pub mod setup;
pub mod slips;
pub mod sync;
mod test_hooks;
pub mod users;
mod worker;

pub use config::{ConfigError, HospitalConfig};
pub use counter::{
    Counter, HistoryItem, PatientSummary, RegisterRequest, Registration, Report,
    SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX, VisitReceipt,
};
pub use env::{Env, FixedEnv, SystemEnv};
pub use error::AppError;
pub use returning::{CentralSummary, Found};
pub use users::{Role, Session, UserInfo};
