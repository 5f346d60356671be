//! The storage trait the hub is generic over, and the rows it moves.
//!
//! A backend only persists and reads back: deduplication, clock checks and merging happen once,
//! in [`crate::engine`], for every backend alike. The one rule a backend must keep is that
//! [`Storage::commit`] and [`Storage::mirror_write`] are atomic and durable: all of a write or
//! none of it, on disk before it returns `Ok`.
//!
//! The mirror of the hospital's index is a table of its own (UHID, seq, hash, seen, record, run),
//! never part of the op log or of what [`Storage::load`] reads: it may hold tens of millions of
//! rows, and the hub keeps none of them in memory.
//!
//! **Architecture Invariant:** one hub process owns a database at a time (SQLite opens it in
//! exclusive locking mode; PostgreSQL takes an advisory lock). The engine's in-memory op index is
//! only correct under that rule.

use std::future::Future;

use chrono::NaiveDate;
use parchi_core::{Hlc, OpId, SiteId};
use parchi_sync::wire::Role;

use crate::error::StorageError;
use crate::state::{PatientRow, VisitRow};

mod segment;
pub use segment::*;

/// Flag bit: the op's HLC was clamped for being too far ahead.
pub const FLAG_CLOCK_AHEAD: i64 = 1;
/// Flag bit: the op came from the upstream hub (a relay does not push it back).
pub const FLAG_FROM_UPSTREAM: i64 = 2;

/// Meta key: the seq up to which every record's stored state is current (the last complete
/// checkpoint). At start the engine loads the stored states and merges the log after it.
pub const META_STATE_SEQ: &str = "state_seq";

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

parchi_core::redacted_debug!(NewOp, seq, op_id, site, hlc, eff_hlc, flags);
parchi_core::redacted_debug!(StoredOp, seq, eff_hlc, flags);
parchi_core::redacted_debug!(QuarantineRow, op_id, site, device_id, received_ms);

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
parchi_core::redacted_debug!(DeviceRow, device_id, site, counter, role, revoked_ms);

/// Per-site counters, kept up to date with each commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteRow {
    pub site: SiteId,
    pub ops: u64,
    pub clock_ahead: u64,
    pub quarantined: u64,
    pub last_push_ms: Option<u64>,
}

/// Everything one push (or relay page, or checkpoint step) writes, in one transaction.
///
/// `ops` are stored as one segment of the op log: their seqs must follow on from the log's head
/// with no gap. `patients` and `visits` are checkpointed record states.
#[derive(Default, Debug)]
pub struct Commit {
    pub ops: Vec<NewOp>,
    /// The segment body of `ops` (their payloads, in order, as [`compress_body_into`] makes it),
    /// when the engine compressed it ahead while it classified the push; else the storage
    /// compresses.
    pub body: Option<Vec<u8>>,
    pub quarantine: Vec<QuarantineRow>,
    /// Full rows, inserted or replacing the stored ones (checkpoints only).
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
    /// The stored patient states (the last checkpoint): `(id, seq of the last op merged, state)`.
    pub patients: Vec<([u8; 16], u64, String)>,
    /// The stored visit states, likewise.
    pub visits: Vec<([u8; 16], u64, String)>,
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

/// Meta key: the mirror's highest seq (kept with every mirror write, in its transaction).
pub const META_MIRROR_HEAD: &str = "mirror_head";
/// Meta key: how many records the mirror holds (likewise).
pub const META_MIRROR_RECORDS: &str = "mirror_records";

/// A record of the hospital's index ready to store in the mirror: checked, as canonical JSON.
#[derive(Clone)]
pub struct MirrorRow {
    /// Its position in the batch it came in.
    pub index: u32,
    pub uhid: String,
    /// xxh3-128 of `record`: tells a changed copy from the same one.
    pub hash: u128,
    /// When the hospital last saw the patient, `YYYY-MM-DD`.
    pub seen: Option<String>,
    /// The record's canonical JSON (patient data).
    pub record: String,
}
parchi_core::redacted_debug!(MirrorRow, index);

/// What [`Storage::mirror_write`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MirrorWritten {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Indices of rows whose UHID the same run had already written: not stored.
    pub duplicates: Vec<u32>,
    /// The mirror's highest seq and record count after the write.
    pub head: u64,
    pub records: u64,
}

/// One stored copy a mirror page read: its seq, and its canonical JSON unless the page's
/// `seen_since` dropped it.
#[derive(Clone)]
pub struct MirrorScan {
    pub seq: u64,
    pub record: Option<String>,
}
parchi_core::redacted_debug!(MirrorScan, seq);

/// A hub storage backend.
pub trait Storage: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Everything the engine keeps in memory.
    fn load(&self) -> impl Future<Output = Result<Loaded, StorageError>> + Send;

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

    /// Writes a batch of mirror rows (UHIDs distinct) in one durable transaction: looks up the
    /// stored hash and run of every UHID of the batch in one query; a UHID not held is inserted
    /// and one held with another hash replaced, each under a new seq (above every seq stored, in
    /// batch order); one held with the same hash only takes `run`; one `run` already wrote is a
    /// duplicate and left alone. The mirror's head and record count (meta) move in the same
    /// transaction. The engine serialises calls.
    fn mirror_write(
        &self,
        run: String,
        rows: Vec<MirrorRow>,
    ) -> impl Future<Output = Result<MirrorWritten, StorageError>> + Send;

    /// The stored copies with `seq > after`, in seq order, at most `limit`; the record of one
    /// the hospital last saw before `seen_since` is left out (a copy without `seen` is kept).
    fn mirror_page(
        &self,
        after: u64,
        limit: u32,
        seen_since: Option<NaiveDate>,
    ) -> impl Future<Output = Result<Vec<MirrorScan>, StorageError>> + Send;

    /// The canonical JSON of the mirror's record of `uhid`.
    fn mirror_get(
        &self,
        uhid: String,
    ) -> impl Future<Output = Result<Option<String>, StorageError>> + Send;

    /// Which of `uhids` the mirror holds (one query).
    fn mirror_known(
        &self,
        uhids: Vec<String>,
    ) -> impl Future<Output = Result<Vec<String>, StorageError>> + Send;

    /// `(records, head)` of the mirror.
    fn mirror_stats(&self) -> impl Future<Output = Result<(u64, u64), StorageError>> + Send;
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
