//! The hub's logic, shared by every backend: parse and check pushes, deduplicate by op ID,
//! quarantine diverging payloads, clamp clocks that run ahead, merge into the stored records,
//! commit, and serve pulls and admin queries.
//!
//! Writes are serialised by one async mutex: a push's classification, merge and commit happen
//! under it, so sequence numbers are assigned in commit order with no gaps, and a pull never
//! sees seq N+1 before seq N.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use parchi_core::hlc::DEFAULT_MAX_DRIFT_MS;
use parchi_core::replica::{PatientView, VisitView};
use parchi_core::{CounterCode, Hlc, Op, OpId, SiteId};
use parchi_sync::validate::validate_op;
use parchi_sync::wire::{
    DeviceState, HubStats, OpResult, Outcome, PROTOCOL_VERSION, QuarantinedOp, RejectCode, Role,
    SiteState, SitesReport,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::error::{HubError, StorageError};
use crate::state::{Entity, PatientState, VisitState, entity_of, patient_views, visit_views};
use crate::storage::{
    Commit, Counts, DeviceRow, FLAG_CLOCK_AHEAD, FLAG_FROM_UPSTREAM, NewOp, QuarantineRow, SiteRow,
    Storage, StoredOp,
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
}

/// What [`Hub::assign_uhids`] did: patient IDs with their new UHIDs.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct UhidReport {
    pub assigned: Vec<(String, String)>,
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

struct Inner {
    index: HashMap<OpId, u128>,
    quarantine_keys: HashSet<(OpId, u128)>,
    patients: HashSet<[u8; 16]>,
    visits: HashSet<[u8; 16]>,
    sites: HashMap<SiteId, SiteRow>,
    meta: HashMap<String, String>,
    /// A commit failed in a way that may or may not have reached the disk: reload before the
    /// next write rather than trust the in-memory index.
    stale: bool,
}

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
}

impl<S: Storage> std::fmt::Debug for Hub<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("backend", &self.storage.backend())
            .field("hub_id", &self.hub_id)
            .finish_non_exhaustive()
    }
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
    /// Opens the hub on `storage`, loading its op index into memory.
    pub async fn open(storage: S, config: HubConfig) -> Result<Self, HubError> {
        let loaded = storage.load().await?;
        let mut meta: HashMap<String, String> = loaded.meta.into_iter().collect();
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
                .into_iter()
                .map(|d| (d.token_hash, d))
                .collect(),
        };
        let inner = Inner {
            index: loaded.index.into_iter().collect(),
            quarantine_keys: loaded.quarantine_keys.into_iter().collect(),
            patients: loaded.patients.into_iter().collect(),
            visits: loaded.visits.into_iter().collect(),
            sites: loaded.sites.into_iter().map(|s| (s.site, s)).collect(),
            meta,
            stale: false,
        };
        Ok(Self {
            storage,
            inner: Mutex::new(inner),
            devices: RwLock::new(devices),
            head: AtomicU64::new(loaded.head),
            hub_id,
            config,
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
    /// The highest sequence number committed.
    pub fn head(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    async fn reload(&self, inner: &mut Inner) -> Result<(), HubError> {
        let loaded = self.storage.load().await?;
        inner.index = loaded.index.into_iter().collect();
        inner.quarantine_keys = loaded.quarantine_keys.into_iter().collect();
        inner.patients = loaded.patients.into_iter().collect();
        inner.visits = loaded.visits.into_iter().collect();
        inner.sites = loaded.sites.into_iter().map(|s| (s.site, s)).collect();
        inner.meta = loaded.meta.into_iter().collect();
        self.head.store(loaded.head, Ordering::Release);
        inner.stale = false;
        Ok(())
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

        let mut inner = self.inner.lock().await;
        if inner.stale {
            self.reload(&mut inner).await?;
        }
        let head = self.head();
        let n = items.len();
        let mut results = Vec::with_capacity(n);
        let mut batch: HashMap<OpId, u128> = HashMap::new();
        let mut batch_q: HashSet<(OpId, u128)> = HashSet::new();
        let mut commit = Commit {
            meta,
            ..Commit::default()
        };
        let mut merged: Vec<Op> = Vec::new();
        let mut site_delta: HashMap<SiteId, (u64, u64, u64)> = HashMap::new();
        let drift_bound = now_ms.saturating_add(self.config.max_drift_ms);

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
            let known = inner.index.get(&id).or_else(|| batch.get(&id)).copied();
            let outcome = match known {
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
                    batch.insert(id, p.hash);
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
                    merged.push(op);
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

        // Merge into the touched records.
        let mut patients: HashMap<[u8; 16], PatientState> = HashMap::new();
        let mut visits: HashMap<[u8; 16], VisitState> = HashMap::new();
        let mut load_p = Vec::new();
        let mut load_v = Vec::new();
        for op in &merged {
            match entity_of(op) {
                Entity::Patient(id) => {
                    if let std::collections::hash_map::Entry::Vacant(e) = patients.entry(id) {
                        e.insert(PatientState::default());
                        if inner.patients.contains(&id) {
                            load_p.push(id);
                        }
                    }
                }
                Entity::Visit(id) => {
                    if let std::collections::hash_map::Entry::Vacant(e) = visits.entry(id) {
                        e.insert(VisitState::default());
                        if inner.visits.contains(&id) {
                            load_v.push(id);
                        }
                    }
                }
            }
        }
        let t_load = std::time::Instant::now();
        let n_load = load_p.len() + load_v.len();
        if !load_p.is_empty() || !load_v.is_empty() {
            let (ps, vs) = self.storage.load_states(load_p, load_v).await?;
            for (id, s) in ps {
                patients.insert(id, PatientState::decode(&s)?);
            }
            for (id, s) in vs {
                visits.insert(id, VisitState::decode(&s)?);
            }
        }
        for op in &merged {
            match entity_of(op) {
                Entity::Patient(id) => {
                    if let Some(s) = patients.get_mut(&id) {
                        s.apply(op);
                    }
                }
                Entity::Visit(id) => {
                    if let Some(s) = visits.get_mut(&id) {
                        s.apply(op);
                    }
                }
            }
        }
        commit.patients = patients.iter().map(|(id, s)| s.encode(*id)).collect();
        commit.visits = visits.iter().map(|(id, s)| s.encode(*id)).collect();

        let mut new_sites = Vec::new();
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

        let d_load = t_load.elapsed();
        let t_commit = std::time::Instant::now();
        let n_rows = commit.ops.len() + commit.patients.len() + commit.visits.len();
        let r = if nothing_new {
            Ok(())
        } else {
            self.storage.commit(commit).await
        };
        tracing::debug!(
            loaded = n_load,
            merge_ms = d_load.as_millis() as u64,
            rows = n_rows,
            commit_ms = t_commit.elapsed().as_millis() as u64,
            "push committed"
        );
        if let Err(e) = r {
            // Did it reach the disk? A database over a network cannot always say: reload.
            inner.stale = true;
            return Err(e.into());
        }

        inner.index.extend(batch);
        inner.quarantine_keys.extend(batch_q);
        inner.patients.extend(patients.into_keys());
        inner.visits.extend(visits.into_keys());
        for s in new_sites {
            inner.sites.insert(s.site, s);
        }
        inner.meta.extend(meta_after);
        self.head.store(head + n_new, Ordering::Release);
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
        let mut ops = self.storage.pull(after, limit.saturating_add(1)).await?;
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

    // ---- Permanent UHIDs ------------------------------------------------------------------------

    /// The central hub's job after an outage: gives every person who has only temporary IDs a
    /// permanent UHID `<PREFIX><9 digits>`, as `AssignUhid` operations in the log, so counters
    /// learn the mapping at their next pull. Persons are served in registration order; the
    /// sequence continues after the highest UHID with that prefix already known.
    pub async fn assign_uhids(&self, prefix: &str, now_ms: u64) -> Result<UhidReport, HubError> {
        let prefix = prefix.trim().to_ascii_uppercase();
        if !(2..=8).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(HubError::BadRequest(
                "UHID prefix: 2 to 8 letters, e.g. DHP".into(),
            ));
        }
        let views = self.patients().await?;
        let seq_key = format!("uhid_seq:{prefix}");
        let mut seq: u64 = self
            .meta(&seq_key)
            .await
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        for v in &views {
            if let Some(n) = v
                .uhid
                .as_ref()
                .and_then(|u| u.as_str().strip_prefix(&prefix))
                .and_then(|d| d.parse::<u64>().ok())
            {
                seq = seq.max(n);
            }
        }
        let mut targets: Vec<&PatientView> = views
            .iter()
            .filter(|v| v.uhid.is_none() && v.merged_into.is_none())
            .collect();
        targets.sort_by_key(|v| v.origin.stamp);
        let site = match self
            .meta("hub_site")
            .await
            .and_then(|s| s.parse::<SiteId>().ok())
        {
            Some(s) => s,
            None => SiteId::new_v7(now_ms, random_bytes::<10>()?),
        };
        let mut clock = parchi_core::Clock::resume(
            Hlc(self
                .meta("hub_hlc")
                .await
                .and_then(|h| h.parse().ok())
                .unwrap_or(0)),
            DEFAULT_MAX_DRIFT_MS,
        );
        let mut items = Vec::with_capacity(targets.len());
        let mut assigned = Vec::with_capacity(targets.len());
        for v in targets {
            seq += 1;
            let uhid = parchi_core::Uhid::parse(&format!("{prefix}{seq:09}"))
                .map_err(|e| HubError::BadRequest(format!("UHID: {e}")))?;
            let hlc = clock.tick(now_ms);
            let op = Op {
                id: OpId::new_v7(hlc.wall_ms(), random_bytes::<10>()?),
                hlc,
                site,
                body: parchi_core::OpBody::AssignUhid {
                    patient: v.id,
                    uhid: uhid.clone(),
                },
            };
            assigned.push((v.id, uhid));
            items.push(prepare_item(op, None));
        }
        if items.is_empty() {
            return Ok(UhidReport {
                assigned: Vec::new(),
            });
        }
        let meta = vec![
            (seq_key, seq.to_string()),
            ("hub_site".to_string(), site.to_string()),
            ("hub_hlc".to_string(), clock.last().0.to_string()),
        ];
        // Ops the hub itself writes enter its log like ops from upstream (this hub is the
        // authority; the server refuses the request on a hub that relays to an upstream).
        let results = self
            .push_with_meta(Source::Upstream, items, now_ms, meta.clone())
            .await?;
        if let Some(bad) = results
            .iter()
            .find(|r| !matches!(r.outcome, Outcome::Applied { .. }))
        {
            return Err(HubError::Config(format!(
                "a UHID assignment was not applied: {:?}",
                bad.outcome
            )));
        }
        let mut inner = self.inner.lock().await;
        for (k, v) in meta {
            inner.meta.insert(k, v);
        }
        Ok(UhidReport {
            assigned: assigned
                .into_iter()
                .map(|(p, u)| (p.to_string(), u.to_string()))
                .collect(),
        })
    }

    // ---- Queries -------------------------------------------------------------------------------

    /// Every patient as merged (sorted by ID, like `Replica::patients`).
    pub async fn patients(&self) -> Result<Vec<PatientView>, HubError> {
        Ok(patient_views(&self.storage.patients().await?)?)
    }

    /// Every visit as merged (sorted by ID).
    pub async fn visits(&self) -> Result<Vec<VisitView>, HubError> {
        Ok(visit_views(&self.storage.visits().await?)?)
    }

    pub async fn counts(&self) -> Result<Counts, HubError> {
        Ok(self.storage.counts().await?)
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
