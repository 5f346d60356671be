//! Parchi's pure core: the domain of an OPD registration counter.
//!
//! This crate owns the patient and visit types, their validation, the identifiers (record UUIDs,
//! temporary IDs with a check character, queue tokens), the hybrid logical clock, the operations
//! every change is recorded as, and the merge rules that make replicas converge.
//!
//! **Architecture Invariant:** no I/O, no clock reads, no randomness. Wall time and random bytes
//! come in as arguments (clippy's `disallowed-methods` in this crate's `clippy.toml` enforces it).
//! The core does not know SQLite, HTTP or the file system exist.
//!
//! **Architecture Invariant:** `Debug` of any type holding personal data prints no personal data.

/// Implements `Debug` for a struct showing only the named fields (IDs, counts, times), so
/// patient data never reaches a log line, a panic message or `{:?}`:
/// `redacted_debug!(PatientSummary, patient_id);`
#[macro_export]
macro_rules! redacted_debug {
    ($t:ty $(, $f:ident)* $(,)?) => {
        impl ::core::fmt::Debug for $t {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(stringify!($t))$(.field(stringify!($f), &self.$f))*.finish_non_exhaustive()
            }
        }
    };
}

pub mod central;
pub mod code;
pub mod hlc;
pub mod ids;
pub mod names;
pub mod op;
pub mod patient;
pub mod replica;
pub mod schedule;
#[cfg(any(test, feature = "testgen"))]
pub mod testgen;

pub use central::{CentralLink, CentralPatient, LinkBasis};
pub use hlc::{Clock, Hlc, Stamp};
pub use ids::{
    ConfigId, CounterCode, DeptCode, IdError, OpId, PatientId, SiteId, SiteTag, TempId, Token,
    Uhid, VisitId,
};
pub use op::{Field, FieldValue, NewVisit, Op, OpBody, PairDecision};
pub use patient::{Age, Category, FieldError, PatientFields, PatientInput, Sex, ValidationErrors};
pub use replica::{Published, Replica, config_in_force};
