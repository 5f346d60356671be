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

//! Modules: [`parse`] (push bodies into items), [`classify`] (the pure per-op decisions),
//! `push` (the thin shell that commits, merges and answers), `memory` (the index and the
//! merged records in memory, built from storage), `checkpoint`, `devices` (enrolment and
//! tokens), `query` (pulls and admin reads), `mirror` and `uhids`.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use parchi_core::hlc::DEFAULT_MAX_DRIFT_MS;
use tokio::sync::Mutex;

mod checkpoint;
pub mod classify;
mod devices;
mod memory;
mod mirror;
mod own;
pub mod parse;
mod push;
mod query;
mod uhids;

pub use checkpoint::{CHECKPOINT_CHUNK, CheckpointReport};
pub use devices::{normalise_code, random_bytes, secret_hash};
pub use memory::{IdHash, OpIndex};
pub use mirror::{
    META_MIRROR_AS_OF, META_MIRROR_FHIR_SINCE, META_MIRROR_LAST_RUN, MirrorPageOut,
    parse_mirror_batch, prepare_mirror,
};
pub use parse::{
    BodyError, Item, ParsedItem, Rejection, parse_item, parse_push, payload_hash, prepare_item,
};
pub use push::PushTimings;
pub use query::PullPage;
pub use uhids::{META_UHID_BLOCKS, UhidReport};

use crate::clock::Clock;
use crate::error::HubError;
use crate::storage::{Commit, DeviceRow, Storage};
use devices::{Devices, hex};
use memory::{Inner, build_inner};

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

/// Where a push comes from.
#[derive(Clone, Copy, Debug)]
pub enum Source<'a> {
    /// An enrolled device over HTTP.
    Device(&'a DeviceRow),
    /// The upstream hub, through this hub's relay.
    Upstream,
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
    /// Where the hub reads the time (the server, the relay and UHID minting ask it).
    clock: Clock,
    /// The mirror of the hospital's index: its own write lock and counts.
    mirror: mirror::MirrorState,
}

impl<S: Storage> std::fmt::Debug for Hub<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("backend", &self.storage.backend())
            .field("hub_id", &self.hub_id)
            .finish_non_exhaustive()
    }
}

impl<S: Storage> Hub<S> {
    /// Opens the hub on `storage`: loads its op index and the checkpointed record states into
    /// memory, then merges the log after the checkpoint. Reads the time from the system clock.
    pub async fn open(storage: S, config: HubConfig) -> Result<Self, HubError> {
        Self::open_with_clock(storage, config, Clock::system()).await
    }

    /// [`Hub::open`] with the clock the hub reads the time from.
    pub async fn open_with_clock(
        storage: S,
        config: HubConfig,
        clock: Clock,
    ) -> Result<Self, HubError> {
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
            clock,
            mirror,
        })
    }

    pub fn hub_id(&self) -> &str {
        &self.hub_id
    }
    pub fn config(&self) -> &HubConfig {
        &self.config
    }
    /// The clock the hub reads the time from.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
    /// The hub's clock reading now, in Unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
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
}
