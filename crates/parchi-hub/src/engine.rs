//! The hub's logic, shared by every backend: parse and check pushes, deduplicate by op ID,
//! quarantine diverging payloads, clamp clocks that run ahead, merge into the stored records,
//! commit, and serve pulls and admin queries.
//!
//! Writes are serialised by one async mutex: a push's classification, merge and commit happen
//! under it, so sequence numbers are assigned in commit order with no gaps, and a pull never
//! sees seq N+1 before seq N.
//!
//! The op log is the durable truth. The merged state of every record lives in memory (compact
//! per-record structs, merged by the core's rules) and is checkpointed to the patients and visits
//! tables in the background ([`Hub::checkpoint`]); each stored state carries the seq of the last
//! op merged into it, and the meta key `state_seq` says up to where every stored state is
//! complete. At start the hub loads the stored states and merges the log after `state_seq`. A push
//! therefore writes only its ops (one segment of the log) and merges them in memory while that
//! write is in flight.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use parchi_core::hlc::DEFAULT_MAX_DRIFT_MS;
use parchi_core::replica::{PatientView, VisitView};
use parchi_core::{CounterCode, Hlc, Op, OpId, PatientId, SiteId, VisitId};
use parchi_sync::validate::validate_op;
use parchi_sync::wire::{
    DeviceState, HubStats, OpResult, Outcome, PROTOCOL_VERSION, QuarantinedOp, RejectCode, Role,
    SiteState, SitesReport,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

mod mirror;
mod uhids;

pub use mirror::{
    META_MIRROR_AS_OF, META_MIRROR_FHIR_SINCE, META_MIRROR_LAST_RUN, MirrorPageOut,
    parse_mirror_batch, prepare_mirror,
};
pub use uhids::{META_UHID_BLOCKS, UhidReport};

use crate::error::{HubError, StorageError};
use crate::state::{Entity, PatientState, VisitState, entity_of, patient_views, visit_views};
use crate::storage::{
    Commit, Counts, DeviceRow, FLAG_CLOCK_AHEAD, FLAG_FROM_UPSTREAM, Loaded, META_STATE_SEQ, NewOp,
    QuarantineRow, SiteRow, Storage, StoredOp, append_raw_body, compress_raw_body,
};

/// Limits and policies of a hub.
#[derive(Clone, Copy, Debug)]
pub struct HubConfig {
    /// Ops per push.
    pub max_batch_ops: usize,
    /// Bytes per request body.
    pub max_body_bytes: usize,
    /// How far ahead of the hub's clock an op's HLC may be before it is clamped.
    pub max_drift_ms: u64,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            max_batch_ops: parchi_sync::wire::DEFAULT_MAX_BATCH_OPS,
            max_body_bytes: parchi_sync::wire::DEFAULT_MAX_BODY_BYTES,
            max_drift_ms: DEFAULT_MAX_DRIFT_MS,
        }
    }
}

/// One item of a push after parsing: either an op ready to merge or a per-op rejection.
pub type Item = Result<ParsedItem, Rejection>;

/// A pushed op, parsed and checked.
#[derive(Clone)]
pub struct ParsedItem {
    pub op: Op,
    pub effective_hlc: Option<Hlc>,
    /// Canonical JSON of the op (what is stored, hashed and pulled).
    pub canonical: String,
    pub hash: u128,
}

impl std::fmt::Debug for ParsedItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedItem")
            .field("op", &self.op)
            .finish_non_exhaustive()
    }
}

/// A per-op rejection.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub id: Option<OpId>,
    pub code: RejectCode,
    pub reason: String,
}

/// Why a push body was refused as a whole (nothing of it is stored).
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the body ended early (cut connection?): {0}")]
    Truncated(String),
    #[error("the body is not a push request: {0}")]
    Malformed(String),
    #[error("protocol version {0} is not supported; this hub speaks version {PROTOCOL_VERSION}")]
    UnsupportedVersion(u64),
    #[error("{got} ops in one push; at most {max} are accepted")]
    TooManyOps { got: usize, max: usize },
    #[error("{got} records in one mirror batch; at most {max} are accepted")]
    TooManyRecords { got: usize, max: usize },
}

/// The hash that tells a duplicate from a diverging payload.
pub fn payload_hash(canonical: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(canonical.as_bytes())
}

/// Parses one op from its JSON and checks it.
pub fn parse_item(op_json: &str, effective_hlc: Option<Hlc>) -> Item {
    #[derive(Deserialize)]
    struct IdOnly {
        id: OpId,
    }
    let op: Op = match serde_json::from_str(op_json) {
        Ok(op) => op,
        Err(e) => {
            return Err(Rejection {
                id: serde_json::from_str::<IdOnly>(op_json).ok().map(|i| i.id),
                code: RejectCode::InvalidOp,
                reason: format!("not an operation this hub understands: {e}"),
            });
        }
    };
    prepare_item(op, effective_hlc)
}

/// Checks an op already parsed (from an upstream pull) and computes its canonical form.
pub fn prepare_item(op: Op, effective_hlc: Option<Hlc>) -> Item {
    if let Err(inv) = validate_op(&op) {
        return Err(Rejection {
            id: Some(op.id),
            code: inv.code,
            reason: inv.reason,
        });
    }
    let canonical = match serde_json::to_string(&op) {
        Ok(c) => c,
        Err(e) => {
            return Err(Rejection {
                id: Some(op.id),
                code: RejectCode::InvalidOp,
                reason: format!("cannot encode: {e}"),
            });
        }
    };
    let hash = payload_hash(&canonical);
    Ok(ParsedItem {
        op,
        effective_hlc,
        canonical,
        hash,
    })
}

/// Parses a push body: the envelope strictly (else the whole body is refused), each op on its
/// own (a bad op is rejected alone).
pub fn parse_push(body: &[u8], max_ops: usize) -> Result<Vec<Item>, BodyError> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        version: u64,
        #[serde(borrow)]
        ops: Vec<RawItem<'a>>,
    }
    #[derive(Deserialize)]
    struct RawItem<'a> {
        #[serde(borrow)]
        op: &'a RawValue,
        #[serde(default)]
        effective_hlc: Option<Hlc>,
    }
    #[derive(Deserialize)]
    struct VersionOnly {
        version: u64,
    }
    let env: Envelope<'_> = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) if e.is_eof() => return Err(BodyError::Truncated(e.to_string())),
        Err(e) => {
            if let Ok(v) = serde_json::from_slice::<VersionOnly>(body)
                && v.version != u64::from(PROTOCOL_VERSION)
            {
                return Err(BodyError::UnsupportedVersion(v.version));
            }
            return Err(BodyError::Malformed(e.to_string()));
        }
    };
    if env.version != u64::from(PROTOCOL_VERSION) {
        return Err(BodyError::UnsupportedVersion(env.version));
    }
    if env.ops.len() > max_ops {
        return Err(BodyError::TooManyOps {
            got: env.ops.len(),
            max: max_ops,
        });
    }
    Ok(env
        .ops
        .iter()
        .map(|i| parse_item(i.op.get(), i.effective_hlc))
        .collect())
}

/// Where a push comes from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// An enrolled device over HTTP.
    Device(&'a DeviceRow),
    /// The upstream hub, through this hub's relay.
    Upstream,
}

/// Pushes of at least this many ops have their segment body compressed ahead.
const COMPRESS_AHEAD_MIN: usize = 256;

/// A push's ops as compressed ahead: how many there were, and the task compressing them.
type Ahead = (
    usize,
    tokio::task::JoinHandle<Result<Vec<u8>, StorageError>>,
);

/// Most big pushes are all new ops. For those, starts compressing the segment body of every
/// valid op, in order, on a blocking thread while the push is classified; the commit uses it if
/// every one of them is accepted (else the storage compresses the ones that were). A push whose
/// first op is already held (a redelivery) is not compressed ahead.
fn compress_ahead(items: &[Item], index: &HashMap<OpId, u128, IdHash>) -> Option<Ahead> {
    let first = items.iter().flatten().next()?;
    if items.len() < COMPRESS_AHEAD_MIN || index.contains_key(&first.op.id) {
        return None;
    }
    let payloads = || items.iter().flatten().map(|p| p.canonical.as_str());
    let mut raw = Vec::with_capacity(payloads().map(|p| p.len() + 4).sum());
    append_raw_body(payloads(), &mut raw).ok()?;
    Some((
        payloads().count(),
        tokio::task::spawn_blocking(move || {
            let mut body = Vec::new();
            compress_raw_body(&raw, &mut body).map(|()| body)
        }),
    ))
}

/// A fast hasher for keys that are (mostly random) 16-byte IDs: FxHash-style word mixing with a
/// final avalanche. Not for keys an attacker picks freely; op IDs come from enrolled devices.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(b))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

/// Builds [`IdHasher`]s.
pub type IdHash = std::hash::BuildHasherDefault<IdHasher>;

/// A record in memory: its merged state, the seq of the last op merged into it, and whether it
/// changed since it was last checkpointed.
#[derive(Default)]
struct Rec<T> {
    state: T,
    seq: u64,
    dirty: bool,
}

/// Records by ID. Boxed: a record is a few hundred bytes, and a table of them would move them
/// all each time it grows (with 2M ops merged, that copying and the doubled tables' fresh pages
/// cost more than the merging).
type Records<T> = HashMap<[u8; 16], Box<Rec<T>>, IdHash>;

/// The records as merged from the op log.
#[derive(Default)]
struct Merged {
    patients: Records<PatientState>,
    visits: Records<VisitState>,
    /// Records changed since the last checkpoint (each listed once: see [`Rec::dirty`]).
    dirty: Vec<Entity>,
}

/// The merged records, or the merge of the last push still running on a blocking thread.
///
/// A push answers once its ops are durable; merging them into the records can finish while
/// the next push is classified and written (that overlap is most of the hub's throughput on two
/// cores). Whoever reads the records (queries, checkpoints, the next push's merge) first waits
/// for the running merge: see [`Inner::merged`].
enum MergeSlot {
    Ready(Box<Merged>),
    Running(tokio::task::JoinHandle<Box<Merged>>),
}

struct Inner {
    index: HashMap<OpId, u128, IdHash>,
    quarantine_keys: HashSet<(OpId, u128)>,
    merged: MergeSlot,
    /// Every stored state is complete up to this seq.
    state_seq: u64,
    sites: HashMap<SiteId, SiteRow>,
    meta: HashMap<String, String>,
    /// A commit failed in a way that may or may not have reached the disk: reload before the
    /// next write or query rather than trust what is in memory.
    stale: bool,
    /// Counts reloads (a checkpoint spanning one gives up).
    generation: u64,
}

impl Inner {
    /// The merged records, every committed op merged in (waits for a running merge). If that
    /// merge failed, the hub reloads before its next write or query.
    async fn merged(&mut self) -> Result<&mut Merged, HubError> {
        if let MergeSlot::Running(h) = &mut self.merged {
            match h.await {
                Ok(m) => self.merged = MergeSlot::Ready(m),
                Err(e) => {
                    self.stale = true;
                    return Err(HubError::Storage(StorageError::Task(format!(
                        "merging a push into the records failed: {e}"
                    ))));
                }
            }
        }
        match &mut self.merged {
            MergeSlot::Ready(m) => Ok(m),
            MergeSlot::Running(_) => Err(HubError::Storage(StorageError::Task(
                "a merge is still running".into(),
            ))),
        }
    }

    /// Merges committed ops on a blocking thread, after any merge still running; returns at
    /// once.
    async fn start_merge(&mut self, ops: Vec<(u64, Op)>) -> Result<(), HubError> {
        let m = self.merged().await?;
        let mut m = std::mem::take(m);
        self.merged = MergeSlot::Running(tokio::task::spawn_blocking(move || {
            m.merge(ops);
            Box::new(m)
        }));
        Ok(())
    }
}

impl Merged {
    /// Merges ops (carrying their effective HLC) in seq order; an op a record already holds
    /// (seq not above the record's) is skipped, so replaying the log over a checkpoint is exact.
    fn merge(&mut self, ops: impl IntoIterator<Item = (u64, Op)>) {
        let Merged {
            patients,
            visits,
            dirty,
        } = self;
        for (seq, op) in ops {
            let e = entity_of(&op);
            let fresh = match e {
                Entity::Patient(id) => {
                    let r = patients.entry(id).or_default();
                    if r.seq >= seq {
                        continue;
                    }
                    r.state.apply_owned(op);
                    r.seq = seq;
                    !std::mem::replace(&mut r.dirty, true)
                }
                Entity::Visit(id) => {
                    let r = visits.entry(id).or_default();
                    if r.seq >= seq {
                        continue;
                    }
                    r.state.apply_owned(op);
                    r.seq = seq;
                    !std::mem::replace(&mut r.dirty, true)
                }
            };
            if fresh {
                dirty.push(e);
            }
        }
    }
}

/// What one [`Hub::checkpoint`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckpointReport {
    /// Record states written.
    pub records: usize,
    /// Every stored state is now complete up to this seq.
    pub state_seq: u64,
}

/// Records written per checkpoint transaction (pushes run between them).
pub const CHECKPOINT_CHUNK: usize = 20_000;

/// Ops read per page when merging the log at start.
const REPLAY_PAGE: u32 = 10_000;

#[derive(Default)]
struct Devices {
    by_token: HashMap<[u8; 32], DeviceRow>,
}

/// A hub over one storage backend.
pub struct Hub<S: Storage> {
    storage: S,
    inner: Mutex<Inner>,
    devices: RwLock<Devices>,
    head: AtomicU64,
    hub_id: String,
    config: HubConfig,
    timings: PushTimings,
    /// The mirror of the hospital's index: its own write lock and counts.
    mirror: mirror::MirrorState,
}

/// Where pushes spent their time so far (nanoseconds, summed over every push): for benchmarks
/// and profiling.
#[derive(Debug, Default)]
pub struct PushTimings {
    /// Waiting for the write lock.
    pub lock_ns: AtomicU64,
    /// Dedupe, clock checks, building the commit.
    pub classify_ns: AtomicU64,
    /// Waiting for the previous push's merge to finish before handing over this one's (the
    /// merge itself runs beside the next push; a large figure here means merging is the
    /// bottleneck).
    pub merge_ns: AtomicU64,
    /// The durable write of the commit (segment compression included).
    pub commit_ns: AtomicU64,
}

impl PushTimings {
    fn add(slot: &AtomicU64, since: std::time::Instant) {
        let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        slot.fetch_add(ns, Ordering::Relaxed);
    }

    /// `(lock, classify, merge, commit)` in seconds.
    pub fn seconds(&self) -> (f64, f64, f64, f64) {
        let s = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / 1e9;
        (
            s(&self.lock_ns),
            s(&self.classify_ns),
            s(&self.merge_ns),
            s(&self.commit_ns),
        )
    }
}

impl<S: Storage> std::fmt::Debug for Hub<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("backend", &self.storage.backend())
            .field("hub_id", &self.hub_id)
            .finish_non_exhaustive()
    }
}

/// Builds the in-memory state from what storage loaded: the op index, the checkpointed record
/// states, then the log after the checkpoint merged on top.
async fn build_inner<S: Storage>(storage: &S, loaded: Loaded) -> Result<Inner, HubError> {
    let meta: HashMap<String, String> = loaded.meta.into_iter().collect();
    let state_seq: u64 = match meta.get(META_STATE_SEQ) {
        None => 0,
        Some(v) => v
            .parse()
            .map_err(|_| StorageError::Corrupt(format!("{META_STATE_SEQ} is not a number")))?,
    };
    if state_seq > loaded.head {
        return Err(StorageError::Corrupt(format!(
            "stored states claim seq {state_seq}, past the log's head {}",
            loaded.head
        ))
        .into());
    }
    let mut index: HashMap<OpId, u128, IdHash> =
        HashMap::with_capacity_and_hasher(loaded.index.len(), IdHash::default());
    index.extend(loaded.index);
    let mut patients: Records<PatientState> =
        HashMap::with_capacity_and_hasher(loaded.patients.len(), IdHash::default());
    for (id, seq, s) in loaded.patients {
        patients.insert(
            id,
            Box::new(Rec {
                state: PatientState::decode(&s)?,
                seq,
                dirty: false,
            }),
        );
    }
    let mut visits: Records<VisitState> =
        HashMap::with_capacity_and_hasher(loaded.visits.len(), IdHash::default());
    for (id, seq, s) in loaded.visits {
        visits.insert(
            id,
            Box::new(Rec {
                state: VisitState::decode(&s)?,
                seq,
                dirty: false,
            }),
        );
    }
    let mut merged = Merged {
        patients,
        visits,
        dirty: Vec::new(),
    };
    // Merge the log after the checkpoint.
    let mut after = state_seq;
    while after < loaded.head {
        let page = storage.pull(after, REPLAY_PAGE).await?;
        let Some(last) = page.last().map(|o| o.seq) else {
            return Err(StorageError::Corrupt(format!(
                "the op log ends at seq {after}, before its head {}",
                loaded.head
            ))
            .into());
        };
        let mut ops = Vec::with_capacity(page.len());
        for o in page {
            let mut op: Op = serde_json::from_str(&o.payload)
                .map_err(|e| StorageError::Corrupt(format!("stored op {}: {e}", o.seq)))?;
            op.hlc = o.eff_hlc;
            ops.push((o.seq, op));
        }
        merged.merge(ops);
        after = last;
    }
    Ok(Inner {
        index,
        quarantine_keys: loaded.quarantine_keys.into_iter().collect(),
        merged: MergeSlot::Ready(Box::new(merged)),
        state_seq,
        sites: loaded.sites.into_iter().map(|s| (s.site, s)).collect(),
        meta,
        stale: false,
        generation: 0,
    })
}

/// SHA-256 of a secret (tokens, enrolment codes, the admin secret).
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Random bytes from the OS.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], HubError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| HubError::Config(format!("no OS randomness: {e}")))?;
    Ok(b)
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Symbols of enrolment codes: no 0/O, 1/I/L, U or S, so a code read aloud is typed right.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRTVWXYZ";

/// Normalises a typed enrolment code: upper case, without separators.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl<S: Storage> Hub<S> {
    /// Opens the hub on `storage`: loads its op index and the checkpointed record states into
    /// memory, then merges the log after the checkpoint.
    pub async fn open(storage: S, config: HubConfig) -> Result<Self, HubError> {
        let loaded = storage.load().await?;
        let mut meta: HashMap<String, String> = loaded
            .meta
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let hub_id = match meta.get("hub_id") {
            Some(id) => id.clone(),
            None => {
                let id = format!("hub_{}", hex(&random_bytes::<8>()?));
                storage
                    .commit(Commit {
                        meta: vec![("hub_id".into(), id.clone())],
                        ..Commit::default()
                    })
                    .await?;
                meta.insert("hub_id".into(), id.clone());
                id
            }
        };
        let devices = Devices {
            by_token: loaded
                .devices
                .iter()
                .map(|d| (d.token_hash, d.clone()))
                .collect(),
        };
        let head = loaded.head;
        let mut inner = build_inner(&storage, loaded).await?;
        let mirror = mirror::MirrorState::load(&storage, &meta).await?;
        inner.meta = meta;
        Ok(Self {
            storage,
            inner: Mutex::new(inner),
            devices: RwLock::new(devices),
            head: AtomicU64::new(head),
            hub_id,
            config,
            timings: PushTimings::default(),
            mirror,
        })
    }

    pub fn hub_id(&self) -> &str {
        &self.hub_id
    }
    pub fn config(&self) -> &HubConfig {
        &self.config
    }
    pub fn storage(&self) -> &S {
        &self.storage
    }
    /// Where pushes spent their time so far.
    pub fn push_timings(&self) -> &PushTimings {
        &self.timings
    }

    /// The highest sequence number committed.
    pub fn head(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    async fn reload(&self, inner: &mut Inner) -> Result<(), HubError> {
        let loaded = self.storage.load().await?;
        let head = loaded.head;
        let generation = inner.generation + 1;
        *inner = build_inner(&self.storage, loaded).await?;
        inner.generation = generation;
        self.head.store(head, Ordering::Release);
        Ok(())
    }

    /// The write lock, reloaded first if a failed commit left memory in doubt.
    async fn lock(&self) -> Result<tokio::sync::MutexGuard<'_, Inner>, HubError> {
        let mut inner = self.inner.lock().await;
        if inner.stale {
            self.reload(&mut inner).await?;
        }
        Ok(inner)
    }

    // ---- Checkpoints ---------------------------------------------------------------------------

    /// Writes the states of the records changed since the last checkpoint, in transactions of
    /// [`CHECKPOINT_CHUNK`] records (pushes go on between them), then records that every stored
    /// state is complete up to the head as it was when this began. Bounds what the next start
    /// has to merge from the log.
    pub async fn checkpoint(&self) -> Result<CheckpointReport, HubError> {
        let (todo, target, generation) = {
            let mut inner = self.lock().await?;
            let target = self.head();
            let (state_seq, generation) = (inner.state_seq, inner.generation);
            let m = inner.merged().await?;
            if m.dirty.is_empty() && state_seq == target {
                return Ok(CheckpointReport {
                    records: 0,
                    state_seq: target,
                });
            }
            (std::mem::take(&mut m.dirty), target, generation)
        };
        let mut written = 0;
        let mut chunks = todo.chunks(CHECKPOINT_CHUNK).peekable();
        if chunks.peek().is_none() {
            // Nothing to write, only the watermark to move.
            let mut inner = self.lock().await?;
            if inner.generation != generation {
                return Err(HubError::Storage(StorageError::Task(
                    "the hub reloaded during a checkpoint; retry".into(),
                )));
            }
            return self
                .finish_checkpoint(&mut inner, Commit::default(), target, 0)
                .await;
        }
        while let Some(chunk) = chunks.next() {
            let mut inner = self.lock().await?;
            if inner.generation != generation {
                // A failed commit made the hub reload: that lists every record that differs from
                // its stored state again, and a later checkpoint takes over.
                return Err(HubError::Storage(StorageError::Task(
                    "the hub reloaded during a checkpoint; retry".into(),
                )));
            }
            let mut commit = Commit::default();
            let m = inner.merged().await?;
            for e in chunk {
                match *e {
                    Entity::Patient(id) => {
                        if let Some(r) = m.patients.get_mut(&id) {
                            r.dirty = false;
                            commit.patients.push(r.state.encode(id, r.seq));
                        }
                    }
                    Entity::Visit(id) => {
                        if let Some(r) = m.visits.get_mut(&id) {
                            r.dirty = false;
                            commit.visits.push(r.state.encode(id, r.seq));
                        }
                    }
                }
            }
            written += chunk.len();
            if chunks.peek().is_none() {
                return self
                    .finish_checkpoint(&mut inner, commit, target, written)
                    .await;
            }
            if let Err(e) = self.storage.commit(commit).await {
                inner.stale = true;
                return Err(e.into());
            }
        }
        Ok(CheckpointReport {
            records: written,
            state_seq: target,
        })
    }

    async fn finish_checkpoint(
        &self,
        inner: &mut Inner,
        mut commit: Commit,
        target: u64,
        written: usize,
    ) -> Result<CheckpointReport, HubError> {
        commit
            .meta
            .push((META_STATE_SEQ.to_string(), target.to_string()));
        if let Err(e) = self.storage.commit(commit).await {
            inner.stale = true;
            return Err(e.into());
        }
        inner.state_seq = target;
        inner
            .meta
            .insert(META_STATE_SEQ.to_string(), target.to_string());
        tracing::debug!(records = written, state_seq = target, "checkpoint");
        Ok(CheckpointReport {
            records: written,
            state_seq: target,
        })
    }

    /// Records changed since the last checkpoint.
    pub async fn dirty_records(&self) -> Result<usize, HubError> {
        Ok(self.lock().await?.merged().await?.dirty.len())
    }

    // ---- Auth ----------------------------------------------------------------------------------

    /// The device holding `token`: 401 if none, 403 if revoked.
    pub fn authenticate(&self, token: &str) -> Result<DeviceRow, HubError> {
        let h = secret_hash(token);
        let devices = self
            .devices
            .read()
            .map_err(|_| HubError::Config("device table lock poisoned".into()))?;
        match devices.by_token.get(&h) {
            None => Err(HubError::Unauthorized),
            Some(d) if d.revoked_ms.is_some() => Err(HubError::Revoked),
            Some(d) => Ok(d.clone()),
        }
    }

    fn update_device(&self, d: &DeviceRow) {
        if let Ok(mut devices) = self.devices.write() {
            devices.by_token.insert(d.token_hash, d.clone());
        }
    }

    /// A fresh one-time enrolment code, valid for `ttl_ms`.
    pub async fn create_enroll_code(
        &self,
        role: Role,
        ttl_ms: u64,
        now_ms: u64,
    ) -> Result<(String, u64), HubError> {
        let raw = random_bytes::<20>()?;
        let symbols: String = raw
            .iter()
            .map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char)
            .collect();
        let code = format!(
            "{}-{}-{}-{}",
            &symbols[0..5],
            &symbols[5..10],
            &symbols[10..15],
            &symbols[15..20]
        );
        let expires = now_ms.saturating_add(ttl_ms);
        self.storage
            .put_enroll_code(secret_hash(&normalise_code(&code)), role, expires)
            .await?;
        Ok((code, expires))
    }

    /// Trades a one-time code for a device credential. Returns the device and its token (shown
    /// once, stored only hashed).
    pub async fn enroll(
        &self,
        code: &str,
        site: SiteId,
        counter: Option<CounterCode>,
        now_ms: u64,
    ) -> Result<(DeviceRow, String), HubError> {
        if site.0.is_nil() {
            return Err(HubError::BadRequest("site must not be the nil UUID".into()));
        }
        let token = format!("pt_{}", hex(&random_bytes::<32>()?));
        let device = DeviceRow {
            device_id: format!("dev_{}", hex(&random_bytes::<8>()?)),
            token_hash: secret_hash(&token),
            site,
            counter: counter.as_ref().map(|c| c.as_str().to_string()),
            role: Role::Counter,
            enrolled_ms: now_ms,
            revoked_ms: None,
            last_push_ms: None,
            last_pull_ms: None,
            last_pull_cursor: None,
        };
        let stored = self
            .storage
            .enroll(secret_hash(&normalise_code(code)), now_ms, device)
            .await?
            .ok_or(HubError::InvalidEnrollCode)?;
        self.update_device(&stored);
        Ok((stored, token))
    }

    /// Revokes a device: its token is refused from now on.
    pub async fn revoke(&self, device_id: &str, now_ms: u64) -> Result<DeviceState, HubError> {
        let found = {
            let devices = self
                .devices
                .read()
                .map_err(|_| HubError::Config("device table lock poisoned".into()))?;
            devices
                .by_token
                .values()
                .find(|d| d.device_id == device_id)
                .cloned()
        };
        let mut d = found.ok_or_else(|| HubError::NotFound(format!("device {device_id}")))?;
        if d.revoked_ms.is_none() {
            d.revoked_ms = Some(now_ms);
            self.storage.put_device(d.clone()).await?;
            self.update_device(&d);
            tracing::warn!(device = %d.device_id, site = %d.site, "device revoked");
        }
        Ok(device_state(&d))
    }

    // ---- Push ----------------------------------------------------------------------------------

    /// Applies a parsed push atomically: one transaction, durable before this returns.
    pub async fn push(
        &self,
        source: Source<'_>,
        items: Vec<Item>,
        now_ms: u64,
    ) -> Result<Vec<OpResult>, HubError> {
        self.push_with_meta(source, items, now_ms, Vec::new()).await
    }

    /// [`Hub::push`] that also writes `meta` in the same transaction (the relay's cursor).
    pub async fn push_with_meta(
        &self,
        source: Source<'_>,
        items: Vec<Item>,
        now_ms: u64,
        meta: Vec<(String, String)>,
    ) -> Result<Vec<OpResult>, HubError> {
        let (role, device_id) = match source {
            Source::Device(d) => (d.role, d.device_id.as_str()),
            Source::Upstream => (Role::Hub, "upstream"),
        };
        if let Source::Device(d) = source
            && d.role == Role::Counter
            && let Some(bad) = items.iter().flatten().find(|p| p.op.site != d.site)
        {
            return Err(HubError::ForbiddenSite {
                op_id: bad.op.id.to_string(),
                site: bad.op.site.to_string(),
            });
        }
        let from_upstream = matches!(source, Source::Upstream);

        let t_lock = std::time::Instant::now();
        let mut inner = self.lock().await?;
        PushTimings::add(&self.timings.lock_ns, t_lock);
        let t_classify = std::time::Instant::now();
        let head = self.head();
        let n = items.len();
        let ahead = compress_ahead(&items, &inner.index);
        let mut results = Vec::with_capacity(n);
        let mut batch_q: HashSet<(OpId, u128)> = HashSet::new();
        let mut commit = Commit {
            meta,
            ops: Vec::with_capacity(n),
            ..Commit::default()
        };
        let mut merged: Vec<(u64, Op)> = Vec::with_capacity(n);
        let mut site_delta: HashMap<SiteId, (u64, u64, u64), IdHash> = HashMap::default();
        let drift_bound = now_ms.saturating_add(self.config.max_drift_ms);

        // New op IDs go into the index as they are accepted (that also dedupes within the
        // batch). From here until memory matches storage again (below), the hub counts as stale:
        // if the commit fails, or this future is dropped at one of its awaits (a client hanging
        // up mid-push), it reloads everything from storage before the next write or query.
        inner.stale = true;
        for (i, item) in items.into_iter().enumerate() {
            let index = u32::try_from(i).unwrap_or(u32::MAX);
            let p = match item {
                Ok(p) => p,
                Err(r) => {
                    results.push(OpResult {
                        index,
                        id: r.id,
                        outcome: Outcome::Rejected {
                            code: r.code,
                            reason: r.reason,
                        },
                    });
                    continue;
                }
            };
            let id = p.op.id;
            let outcome = match inner.index.get(&id).copied() {
                Some(h) if h == p.hash => Outcome::Duplicate,
                Some(_) => {
                    let key = (id, p.hash);
                    if !inner.quarantine_keys.contains(&key) && batch_q.insert(key) {
                        tracing::warn!(
                            op_id = %id,
                            site = %p.op.site,
                            device = device_id,
                            "ALARM: op ID already held with a different payload (cloned disk or bug); quarantined"
                        );
                        site_delta.entry(p.op.site).or_default().2 += 1;
                        commit.quarantine.push(QuarantineRow {
                            op_id: id,
                            site: p.op.site,
                            device_id: device_id.to_string(),
                            received_ms: now_ms,
                            hash: p.hash,
                            payload: p.canonical,
                        });
                    }
                    Outcome::Quarantined {
                        reason: "this op ID is already held with a different payload; stored aside for an admin".into(),
                    }
                }
                None => {
                    let start = match (role, p.effective_hlc) {
                        (Role::Counter, Some(_)) => {
                            results.push(OpResult {
                                index,
                                id: Some(id),
                                outcome: Outcome::Rejected {
                                    code: RejectCode::EffectiveHlcNotAllowed,
                                    reason: "only a relaying hub may send effective_hlc".into(),
                                },
                            });
                            continue;
                        }
                        (Role::Hub, Some(e)) if e > p.op.hlc || e == Hlc::ZERO => {
                            results.push(OpResult {
                                index,
                                id: Some(id),
                                outcome: Outcome::Rejected {
                                    code: RejectCode::BadEffectiveHlc,
                                    reason:
                                        "effective_hlc must be non-zero and not after the op's hlc"
                                            .into(),
                                },
                            });
                            continue;
                        }
                        (_, e) => e.unwrap_or(p.op.hlc),
                    };
                    let eff = if start.wall_ms() > drift_bound {
                        Hlc::new(now_ms, 0)
                    } else {
                        start
                    };
                    let clock_ahead = eff != p.op.hlc;
                    let seq = head + commit.ops.len() as u64 + 1;
                    let mut flags = 0;
                    if clock_ahead {
                        flags |= FLAG_CLOCK_AHEAD;
                        tracing::info!(op_id = %id, site = %p.op.site, ahead_ms = p.op.hlc.wall_ms().saturating_sub(now_ms), "op stamped ahead of the hub clock; clamped");
                    }
                    if from_upstream {
                        flags |= FLAG_FROM_UPSTREAM;
                    }
                    let d = site_delta.entry(p.op.site).or_default();
                    d.0 += 1;
                    d.1 += u64::from(clock_ahead);
                    inner.index.insert(id, p.hash);
                    commit.ops.push(NewOp {
                        seq,
                        op_id: id,
                        site: p.op.site,
                        hlc: p.op.hlc,
                        eff_hlc: eff,
                        flags,
                        received_ms: now_ms,
                        hash: p.hash,
                        payload: p.canonical,
                    });
                    let mut op = p.op;
                    op.hlc = eff;
                    merged.push((seq, op));
                    Outcome::Applied {
                        seq,
                        effective_hlc: eff,
                        clock_ahead,
                    }
                }
            };
            results.push(OpResult {
                index,
                id: Some(id),
                outcome,
            });
        }

        let mut new_sites = Vec::with_capacity(site_delta.len());
        for (site, (ops, ahead, quarantined)) in &site_delta {
            let mut row = inner.sites.get(site).cloned().unwrap_or(SiteRow {
                site: *site,
                ops: 0,
                clock_ahead: 0,
                quarantined: 0,
                last_push_ms: None,
            });
            row.ops += ops;
            row.clock_ahead += ahead;
            row.quarantined += quarantined;
            row.last_push_ms = Some(now_ms);
            new_sites.push(row);
        }
        commit.sites = new_sites.clone();
        let mut device_after = None;
        if let Source::Device(d) = source {
            let mut d = d.clone();
            d.last_push_ms = Some(now_ms);
            device_after = Some(d);
        }
        // A push of nothing new (a redelivery) writes nothing: no transaction, no fsync. The
        // device's last-push time is then kept in memory and stored with its next write.
        let nothing_new = commit.is_empty();
        if !nothing_new && let Some(d) = &device_after {
            commit.devices.push(d.clone());
        }
        let meta_after = commit.meta.clone();
        let n_new = commit.ops.len() as u64;
        PushTimings::add(&self.timings.classify_ns, t_classify);
        if let Some((n_ok, task)) = ahead
            && n_ok == commit.ops.len()
        {
            // Every op was accepted, in order: the body compressed ahead is this commit's. (A
            // task that failed leaves the storage to compress.)
            commit.body = task.await.ok().and_then(Result::ok);
        }

        let t = std::time::Instant::now();
        if !nothing_new {
            // The write runs on a blocking thread (the segment is compressed there) while the
            // previous push's merge may still run on another. If it fails, did it reach the
            // disk? A database over a network cannot always say: the hub stays stale, reloads.
            self.storage.commit(commit).await?;
            PushTimings::add(&self.timings.commit_ns, t);
        }
        inner.quarantine_keys.extend(batch_q);
        for s in new_sites {
            inner.sites.insert(s.site, s);
        }
        inner.meta.extend(meta_after);
        self.head.store(head + n_new, Ordering::Release);
        let mut in_step = true;
        if !merged.is_empty() {
            let t_merge = std::time::Instant::now();
            let n_merged = merged.len();
            // Waits for the previous push's merge (the time counted as `merge_ns`), then hands
            // these ops to a new one and answers without waiting for it. These ops are durable
            // whatever happens to a merge: if one failed, the hub stays stale and rebuilds its
            // records from the log before the next write or query.
            if let Err(e) = inner.start_merge(merged).await {
                tracing::error!(error = %e, "merging into the records failed; reloading from the log");
                in_step = false;
            }
            PushTimings::add(&self.timings.merge_ns, t_merge);
            tracing::debug!(
                ops = n_merged,
                commit_ms = t.elapsed().as_millis() as u64,
                "push committed"
            );
        }
        if in_step {
            inner.stale = false;
        }
        drop(inner);
        if let Some(d) = device_after {
            self.update_device(&d);
        }
        Ok(results)
    }

    // ---- Pull ----------------------------------------------------------------------------------

    /// Ops strictly after `after`, at most `limit`, and whether more follow. Records the pull
    /// against the device when one is given.
    pub async fn pull(
        &self,
        device: Option<&DeviceRow>,
        after: u64,
        limit: u32,
        now_ms: u64,
    ) -> Result<PullPage, HubError> {
        let head = self.head();
        if after > head {
            return Err(HubError::CursorAhead { after, head });
        }
        let limit = limit.clamp(1, parchi_sync::wire::MAX_PULL_LIMIT);
        let mut ops = if after == head {
            // Nothing after the head: no read (counters poll like this all day).
            Vec::new()
        } else {
            self.storage.pull(after, limit.saturating_add(1)).await?
        };
        let more = ops.len() > limit as usize;
        ops.truncate(limit as usize);
        let next = ops.last().map_or(after, |o| o.seq);
        if let Some(d) = device
            && d.last_pull_cursor != Some(after)
        {
            let mut d = d.clone();
            d.last_pull_ms = Some(now_ms);
            d.last_pull_cursor = Some(after);
            self.storage.put_device(d.clone()).await?;
            self.update_device(&d);
        }
        Ok(PullPage {
            ops,
            next,
            more,
            head: head.max(next),
        })
    }

    // ---- Queries -------------------------------------------------------------------------------

    /// Every patient as merged (sorted by ID, like `Replica::patients`).
    pub async fn patients(&self) -> Result<Vec<PatientView>, HubError> {
        let mut inner = self.lock().await?;
        Ok(patient_views(
            inner
                .merged()
                .await?
                .patients
                .iter()
                .map(|(id, r)| (PatientId::from_bytes(*id), &r.state)),
        ))
    }

    /// Every visit as merged (sorted by ID).
    pub async fn visits(&self) -> Result<Vec<VisitView>, HubError> {
        let mut inner = self.lock().await?;
        Ok(visit_views(
            inner
                .merged()
                .await?
                .visits
                .iter()
                .map(|(id, r)| (VisitId::from_bytes(*id), &r.state)),
        ))
    }

    /// Row counts; patients and visits are the records held in memory (the tables hold them as
    /// of the last checkpoint).
    pub async fn counts(&self) -> Result<Counts, HubError> {
        let mut c = self.storage.counts().await?;
        let mut inner = self.lock().await?;
        let m = inner.merged().await?;
        c.patients = m.patients.len() as u64;
        c.visits = m.visits.len() as u64;
        Ok(c)
    }

    pub async fn stats(&self) -> Result<HubStats, HubError> {
        let c = self.counts().await?;
        Ok(HubStats {
            ops: c.ops,
            quarantined: c.quarantined,
            patients: c.patients,
            visits: c.visits,
            devices: c.devices,
            head: self.head(),
        })
    }

    /// Sets a value in the hub's meta table, durably.
    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), HubError> {
        let mut inner = self.inner.lock().await;
        self.storage
            .commit(Commit {
                meta: vec![(key.to_string(), value.to_string())],
                ..Commit::default()
            })
            .await?;
        inner.meta.insert(key.to_string(), value.to_string());
        Ok(())
    }

    /// A value from the hub's meta table (relay cursors and the like).
    pub async fn meta(&self, key: &str) -> Option<String> {
        self.inner.lock().await.meta.get(key).cloned()
    }

    /// Devices and sites with their sync state.
    pub async fn sites(&self) -> Result<SitesReport, HubError> {
        let mut devices: Vec<DeviceState> = self
            .devices
            .read()
            .map_err(|_| HubError::Config("device table lock poisoned".into()))?
            .by_token
            .values()
            .map(device_state)
            .collect();
        devices.sort_by_key(|d| d.enrolled_ms);
        let mut sites: Vec<SiteState> = self
            .inner
            .lock()
            .await
            .sites
            .values()
            .map(|s| SiteState {
                site: s.site,
                ops: s.ops,
                clock_ahead: s.clock_ahead,
                quarantined: s.quarantined,
                last_push_ms: s.last_push_ms,
            })
            .collect();
        sites.sort_by_key(|s| s.site);
        Ok(SitesReport { devices, sites })
    }

    /// Quarantined ops, oldest first.
    pub async fn quarantined(&self, limit: u32) -> Result<Vec<QuarantinedOp>, HubError> {
        let rows = self.storage.quarantined(limit).await?;
        rows.into_iter()
            .map(|(id, q)| {
                Ok(QuarantinedOp {
                    id,
                    op_id: q.op_id,
                    site: q.site,
                    device_id: q.device_id,
                    received_ms: q.received_ms,
                    payload: serde_json::from_str(&q.payload).map_err(|e| {
                        HubError::Storage(StorageError::Corrupt(format!("quarantined op: {e}")))
                    })?,
                })
            })
            .collect()
    }
}

/// A page of stored ops.
#[derive(Debug)]
pub struct PullPage {
    pub ops: Vec<StoredOp>,
    pub next: u64,
    pub more: bool,
    pub head: u64,
}

impl PullPage {
    /// The page as the wire's `PullResponse` JSON, written directly from the stored canonical op
    /// JSON (no re-parsing of payloads).
    pub fn to_json(&self) -> String {
        use std::fmt::Write as _;
        let bytes: usize = self.ops.iter().map(|o| o.payload.len() + 64).sum();
        let mut s = String::with_capacity(bytes + 96);
        let _ = write!(s, "{{\"version\":{PROTOCOL_VERSION},\"ops\":[");
        for (i, o) in self.ops.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(
                s,
                "{{\"seq\":{},\"effective_hlc\":{},\"clock_ahead\":{},\"op\":{}}}",
                o.seq,
                o.eff_hlc.0,
                o.flags & FLAG_CLOCK_AHEAD != 0,
                o.payload
            );
        }
        let _ = write!(
            s,
            "],\"next\":{},\"more\":{},\"head\":{}}}",
            self.next, self.more, self.head
        );
        s
    }
}

fn device_state(d: &DeviceRow) -> DeviceState {
    DeviceState {
        device_id: d.device_id.clone(),
        site: d.site,
        counter: d
            .counter
            .as_deref()
            .and_then(|c| CounterCode::parse(c).ok()),
        role: d.role,
        enrolled_ms: d.enrolled_ms,
        revoked_ms: d.revoked_ms,
        last_push_ms: d.last_push_ms,
        last_pull_ms: d.last_pull_ms,
        last_pull_cursor: d.last_pull_cursor,
    }
}
