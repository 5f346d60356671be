//! What the hub holds in memory: the op index (every op ID with its payload hash), the
//! quarantine keys, the site counters, the meta table and the merged records, built from what
//! storage loaded and kept in step with every commit.

use std::collections::{HashMap, HashSet};

use parchi_core::{Op, OpId, SiteId};

use crate::error::{HubError, StorageError};
use crate::state::{Entity, PatientState, VisitState, entity_of};
use crate::storage::{Loaded, META_STATE_SEQ, SiteRow, Storage};

/// Builds the hasher of every table keyed by IDs that devices choose (op IDs, patient and visit
/// IDs, sites): SipHash-1-3 under a random 128-bit key drawn for each table (std's
/// `RandomState`), so a device that picks its IDs cannot make them collide.
pub type IdHash = std::collections::hash_map::RandomState;

/// Every op ID held, with its payload hash.
pub type OpIndex = HashMap<OpId, u128, IdHash>;

/// A record in memory: its merged state, the seq of the last op merged into it, and whether it
/// changed since it was last checkpointed.
#[derive(Default)]
pub(super) struct Rec<T> {
    pub(super) state: T,
    pub(super) seq: u64,
    pub(super) dirty: bool,
}

/// Records by ID. Boxed: a record is a few hundred bytes, and a table of them would move them
/// all each time it grows (with 2M ops merged, that copying and the doubled tables' fresh pages
/// cost more than the merging).
pub(super) type Records<T> = HashMap<[u8; 16], Box<Rec<T>>, IdHash>;

/// The records as merged from the op log.
#[derive(Default)]
pub(super) struct Merged {
    pub(super) patients: Records<PatientState>,
    pub(super) visits: Records<VisitState>,
    /// Records changed since the last checkpoint (each listed once: see [`Rec::dirty`]).
    pub(super) dirty: Vec<Entity>,
}

/// The merged records, or the merge of the last push still running on a blocking thread.
///
/// A push answers once its ops are durable; merging them into the records can finish while
/// the next push is classified and written (that overlap is most of the hub's throughput on two
/// cores). Whoever reads the records (queries, checkpoints, the next push's merge) first waits
/// for the running merge: see [`Inner::merged`].
pub(super) enum MergeSlot {
    Ready(Box<Merged>),
    Running(tokio::task::JoinHandle<Box<Merged>>),
}

pub(super) struct Inner {
    pub(super) index: OpIndex,
    pub(super) quarantine_keys: HashSet<(OpId, u128)>,
    pub(super) merged: MergeSlot,
    /// Every stored state is complete up to this seq.
    pub(super) state_seq: u64,
    pub(super) sites: HashMap<SiteId, SiteRow>,
    pub(super) meta: HashMap<String, String>,
    /// A commit failed in a way that may or may not have reached the disk: reload before the
    /// next write or query rather than trust what is in memory.
    pub(super) stale: bool,
    /// Counts reloads (a checkpoint spanning one gives up).
    pub(super) generation: u64,
}

impl Inner {
    /// The merged records, every committed op merged in (waits for a running merge). If that
    /// merge failed, the hub reloads before its next write or query.
    pub(super) async fn merged(&mut self) -> Result<&mut Merged, HubError> {
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
    pub(super) async fn start_merge(&mut self, ops: Vec<(u64, Op)>) -> Result<(), HubError> {
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
    pub(super) fn merge(&mut self, ops: impl IntoIterator<Item = (u64, Op)>) {
        let Merged {
            patients,
            visits,
            dirty,
        } = self;
        for (seq, op) in ops {
            let Some(e) = entity_of(&op) else {
                continue;
            };
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

/// Ops read per page when merging the log at start.
const REPLAY_PAGE: u32 = 10_000;

/// Builds the in-memory state from what storage loaded: the op index, the checkpointed record
/// states, then the log after the checkpoint merged on top.
pub(super) async fn build_inner<S: Storage>(
    storage: &S,
    loaded: Loaded,
) -> Result<Inner, HubError> {
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
    let mut index: OpIndex =
        OpIndex::with_capacity_and_hasher(loaded.index.len(), IdHash::default());
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
