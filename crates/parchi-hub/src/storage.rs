//! The storage trait the hub is generic over, and the rows it moves.
//!
//! A backend only persists and reads back: deduplication, clock checks and merging happen once,
//! in [`crate::engine`], for every backend alike. The one rule a backend must keep is that
//! [`Storage::commit`] is atomic and durable: all of a [`Commit`] or none of it, on disk before it
//! returns `Ok`.
//!
//! **Architecture Invariant:** one hub process owns a database at a time (SQLite opens it in
//! exclusive locking mode; PostgreSQL takes an advisory lock). The engine's in-memory op index is
//! only correct under that rule.

use std::fmt;
use std::future::Future;

use parchi_core::{Hlc, OpId, SiteId};
use parchi_sync::wire::Role;

use crate::error::StorageError;
use crate::state::{PatientRow, VisitRow};

/// Flag bit: the op's HLC was clamped for being too far ahead.
pub const FLAG_CLOCK_AHEAD: i64 = 1;
/// Flag bit: the op came from the upstream hub (a relay does not push it back).
pub const FLAG_FROM_UPSTREAM: i64 = 2;

/// A newly accepted op.
#[derive(Clone)]
pub struct NewOp {
    pub seq: u64,
    pub op_id: OpId,
    pub site: SiteId,
    pub hlc: Hlc,
    pub eff_hlc: Hlc,
    pub flags: i64,
    pub received_ms: u64,
    pub hash: u128,
    /// The op's canonical JSON (holds patient data).
    pub payload: String,
}

/// An op as pull reads it back.
#[derive(Clone)]
pub struct StoredOp {
    pub seq: u64,
    pub eff_hlc: Hlc,
    pub flags: i64,
    pub payload: String,
}

/// An op stored aside: its ID was already held with another payload.
#[derive(Clone)]
pub struct QuarantineRow {
    pub op_id: OpId,
    pub site: SiteId,
    pub device_id: String,
    pub received_ms: u64,
    pub hash: u128,
    pub payload: String,
}

macro_rules! no_payload_debug {
    ($t:ty, $($f:ident),*) => {
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t))$(.field(stringify!($f), &self.$f))*.finish_non_exhaustive()
            }
        }
    };
}
no_payload_debug!(NewOp, seq, op_id, site, hlc, eff_hlc, flags);
no_payload_debug!(StoredOp, seq, eff_hlc, flags);
no_payload_debug!(QuarantineRow, op_id, site, device_id, received_ms);

/// An enrolled device. The hub stores only the SHA-256 of its token.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub device_id: String,
    pub token_hash: [u8; 32],
    pub site: SiteId,
    pub counter: Option<String>,
    pub role: Role,
    pub enrolled_ms: u64,
    pub revoked_ms: Option<u64>,
    pub last_push_ms: Option<u64>,
    pub last_pull_ms: Option<u64>,
    pub last_pull_cursor: Option<u64>,
}
no_payload_debug!(DeviceRow, device_id, site, counter, role, revoked_ms);

/// Per-site counters, kept up to date with each commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteRow {
    pub site: SiteId,
    pub ops: u64,
    pub clock_ahead: u64,
    pub quarantined: u64,
    pub last_push_ms: Option<u64>,
}

/// Everything one push (or relay page) writes, in one transaction.
#[derive(Default, Debug)]
pub struct Commit {
    pub ops: Vec<NewOp>,
    pub quarantine: Vec<QuarantineRow>,
    /// Full rows, inserted or replacing the stored ones.
    pub patients: Vec<PatientRow>,
    pub visits: Vec<VisitRow>,
    pub sites: Vec<SiteRow>,
    pub devices: Vec<DeviceRow>,
    pub meta: Vec<(String, String)>,
}

impl Commit {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
            && self.quarantine.is_empty()
            && self.patients.is_empty()
            && self.visits.is_empty()
            && self.sites.is_empty()
            && self.devices.is_empty()
            && self.meta.is_empty()
    }
}

/// What the engine loads at start.
#[derive(Default, Debug)]
pub struct Loaded {
    /// Every op's ID and payload hash.
    pub index: Vec<(OpId, u128)>,
    /// Every quarantined (ID, hash), so a redelivered diverging op is not stored twice.
    pub quarantine_keys: Vec<(OpId, u128)>,
    pub patients: Vec<[u8; 16]>,
    pub visits: Vec<[u8; 16]>,
    /// The highest sequence number.
    pub head: u64,
    pub devices: Vec<DeviceRow>,
    pub sites: Vec<SiteRow>,
    pub meta: Vec<(String, String)>,
}

/// Row counts, for admins and for tests that check nothing was stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub ops: u64,
    pub quarantined: u64,
    pub patients: u64,
    pub visits: u64,
    pub devices: u64,
}

/// A hub storage backend.
pub trait Storage: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Everything the engine keeps in memory.
    fn load(&self) -> impl Future<Output = Result<Loaded, StorageError>> + Send;

    /// The stored states of these records (those that exist), as `(id, state)`.
    #[allow(clippy::type_complexity)]
    fn load_states(
        &self,
        patients: Vec<[u8; 16]>,
        visits: Vec<[u8; 16]>,
    ) -> impl Future<
        Output = Result<(Vec<([u8; 16], String)>, Vec<([u8; 16], String)>), StorageError>,
    > + Send;

    /// Writes a commit atomically and durably.
    fn commit(&self, commit: Commit) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Ops with `seq > after`, in order, at most `limit`.
    fn pull(
        &self,
        after: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredOp>, StorageError>> + Send;

    /// Quarantined ops, oldest first, with their row ID.
    fn quarantined(
        &self,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(u64, QuarantineRow)>, StorageError>> + Send;

    /// Every patient row as `(id, state)`.
    fn patients(
        &self,
    ) -> impl Future<Output = Result<Vec<([u8; 16], String)>, StorageError>> + Send;

    /// Every visit row as `(id, state)`.
    fn visits(&self) -> impl Future<Output = Result<Vec<([u8; 16], String)>, StorageError>> + Send;

    fn counts(&self) -> impl Future<Output = Result<Counts, StorageError>> + Send;

    /// Stores a one-time enrolment code by its hash.
    fn put_enroll_code(
        &self,
        code_hash: [u8; 32],
        role: Role,
        expires_ms: u64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Atomically uses up a valid code and stores the device with the code's role. `None` when
    /// the code is unknown, used or expired (then nothing is stored).
    fn enroll(
        &self,
        code_hash: [u8; 32],
        now_ms: u64,
        device: DeviceRow,
    ) -> impl Future<Output = Result<Option<DeviceRow>, StorageError>> + Send;

    /// Inserts or replaces a device row (revocation, pull bookkeeping).
    fn put_device(
        &self,
        device: DeviceRow,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
}

/// Converts to the signed 64-bit integers both databases store; bit-exact both ways.
pub fn to_i64(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}
pub fn from_i64(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}
pub fn hash_bytes(h: u128) -> [u8; 16] {
    h.to_be_bytes()
}
pub fn hash_from(b: &[u8]) -> Result<u128, StorageError> {
    <[u8; 16]>::try_from(b)
        .map(u128::from_be_bytes)
        .map_err(|_| StorageError::Corrupt(format!("payload hash of {} bytes", b.len())))
}
pub fn id16(b: &[u8]) -> Result<[u8; 16], StorageError> {
    <[u8; 16]>::try_from(b).map_err(|_| StorageError::Corrupt(format!("ID of {} bytes", b.len())))
}
pub fn role_from(s: &str) -> Result<Role, StorageError> {
    Role::parse(s).ok_or_else(|| StorageError::Corrupt(format!("unknown role {s:?}")))
}
