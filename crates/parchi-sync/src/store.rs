//! What the sync round needs from a counter's store, and an in-memory store for tests.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::error::Error;

use chrono::NaiveDate;
use parchi_core::{CentralPatient, Hlc, Op, OpId, Replica, SiteId, Uhid};

use crate::wire::{MirrorPage, PulledOp};

/// The counter's side of sync: an outbox of its own ops, an error list, and the ops pulled from
/// the hub with the cursor that says how far it got.
///
/// **Contract.**
/// - [`pending`](SyncStore::pending) returns outbox ops in the order they were written, never one
///   already marked pushed or rejected.
/// - [`mark_rejected`](SyncStore::mark_rejected) moves an op from the outbox to an error list the
///   user can see, fix and retry; the ops after it keep flowing (one bad op never wedges the
///   queue).
/// - [`apply_pulled`](SyncStore::apply_pulled) merges the ops *and* sets the cursor to `next` in
///   one durable transaction, so a crash can never leave the cursor past ops that were not
///   applied (the atuin #2879 lesson). Applying an op already held is a no-op, **except** that an
///   op may come back with an effective HLC different from the one it was merged with (the hub
///   clamped a clock that ran ahead): the store must then re-merge that record with the
///   effective stamp, e.g. by recomputing it from its operations.
/// - [`cursor`](SyncStore::cursor) returns the last cursor set, 0 at first.
/// - [`apply_mirror`](SyncStore::apply_mirror) stores a page of the hub's mirror of the
///   hospital's index (a newer copy replaces the older one by UHID) *and* sets the mirror cursor
///   to the page's `next`, in one durable transaction; [`mirror_cursor`](SyncStore::mirror_cursor)
///   returns it, 0 at first.
pub trait SyncStore {
    type Error: Error + Send + Sync + 'static;

    /// Up to `limit` ops of the outbox, oldest first.
    fn pending(&mut self, limit: usize) -> Result<Vec<Op>, Self::Error>;
    /// The hub holds these ops now (applied or duplicate): drop them from the outbox.
    fn mark_pushed(&mut self, ids: &[OpId]) -> Result<(), Self::Error>;
    /// The hub refused this op (`code` is the wire code, e.g. `invalid_value` or `quarantined`):
    /// move it to the error list.
    fn mark_rejected(&mut self, id: OpId, code: &str, reason: &str) -> Result<(), Self::Error>;
    /// Merges pulled ops (with their effective HLC) and sets the cursor to `next`, atomically.
    fn apply_pulled(&mut self, ops: &[PulledOp], next: u64) -> Result<(), Self::Error>;
    /// The cursor of the last page applied.
    fn cursor(&mut self) -> Result<u64, Self::Error>;
    /// The cursor of the last mirror page applied.
    fn mirror_cursor(&mut self) -> Result<u64, Self::Error>;
    /// Keep only the patients the hospital saw on or after this day (`None`: everyone).
    fn mirror_seen_since(&mut self) -> Result<Option<NaiveDate>, Self::Error>;
    /// Stores a mirror page's records and sets the mirror cursor to its `next`, atomically.
    fn apply_mirror(&mut self, page: &MirrorPage) -> Result<(), Self::Error>;
}

/// An error from the in-memory store (it has none; here for the trait).
#[derive(Debug, thiserror::Error)]
#[error("memory store: {0}")]
pub struct MemoryError(pub String);

/// A rejected op on the error list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedOp {
    pub id: OpId,
    pub code: String,
    pub reason: String,
}

/// An in-memory counter store on [`Replica`]: what the property and end-to-end tests sync, and a
/// reference for the SQLite store's implementation of [`SyncStore`].
#[derive(Debug, Clone)]
pub struct MemoryStore {
    pub site: SiteId,
    outbox: VecDeque<OpId>,
    /// Every op held, by ID, with the HLC it is merged with (the effective one once known).
    log: BTreeMap<OpId, Op>,
    rejected: Vec<RejectedOp>,
    replica: Replica,
    cursor: u64,
    /// Cursor moves, for tests that check it never goes backwards without a reset.
    pub cursor_history: Vec<u64>,
    mirror: BTreeMap<Uhid, CentralPatient>,
    mirror_cursor: u64,
    mirror_as_of: Option<String>,
    /// What [`SyncStore::mirror_seen_since`] answers.
    pub mirror_seen_since: Option<NaiveDate>,
}

impl MemoryStore {
    pub fn new(site: SiteId) -> Self {
        Self {
            site,
            outbox: VecDeque::new(),
            log: BTreeMap::new(),
            rejected: Vec::new(),
            replica: Replica::new(),
            cursor: 0,
            cursor_history: Vec::new(),
            mirror: BTreeMap::new(),
            mirror_cursor: 0,
            mirror_as_of: None,
            mirror_seen_since: None,
        }
    }

    /// The mirror records held, by UHID.
    pub fn mirror(&self) -> &BTreeMap<Uhid, CentralPatient> {
        &self.mirror
    }
    /// When the hub's mirror was copied from the hospital's index, as the last page said.
    pub fn mirror_as_of(&self) -> Option<&str> {
        self.mirror_as_of.as_deref()
    }

    /// Records a local write: merged at once (the counter never waits) and queued for push.
    pub fn record(&mut self, op: Op) {
        if self.log.contains_key(&op.id) {
            return;
        }
        self.replica.apply(&op);
        self.outbox.push_back(op.id);
        self.log.insert(op.id, op);
    }

    pub fn replica(&self) -> &Replica {
        &self.replica
    }
    pub fn rejected(&self) -> &[RejectedOp] {
        &self.rejected
    }
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }
    pub fn ops_held(&self) -> usize {
        self.log.len()
    }
    /// The HLC an op is merged with here.
    pub fn merged_hlc(&self, id: &OpId) -> Option<Hlc> {
        self.log.get(id).map(|o| o.hlc)
    }

    /// Moves a rejected op back to the outbox (the user fixed the cause or wants a retry).
    pub fn retry_rejected(&mut self, id: OpId) {
        if let Some(i) = self.rejected.iter().position(|r| r.id == id) {
            self.rejected.remove(i);
            self.outbox.push_back(id);
        }
    }
}

impl SyncStore for MemoryStore {
    type Error = MemoryError;

    fn pending(&mut self, limit: usize) -> Result<Vec<Op>, MemoryError> {
        self.outbox
            .iter()
            .take(limit)
            .map(|id| {
                self.log
                    .get(id)
                    .cloned()
                    .ok_or_else(|| MemoryError(format!("outbox op {id} missing from the log")))
            })
            .collect()
    }

    fn mark_pushed(&mut self, ids: &[OpId]) -> Result<(), MemoryError> {
        let done: HashSet<&OpId> = ids.iter().collect();
        self.outbox.retain(|id| !done.contains(id));
        Ok(())
    }

    fn mark_rejected(&mut self, id: OpId, code: &str, reason: &str) -> Result<(), MemoryError> {
        self.outbox.retain(|o| *o != id);
        self.rejected.push(RejectedOp {
            id,
            code: code.to_string(),
            reason: reason.to_string(),
        });
        Ok(())
    }

    fn apply_pulled(&mut self, ops: &[PulledOp], next: u64) -> Result<(), MemoryError> {
        // Built aside and swapped in at the end: the "transaction".
        let mut log_changes = Vec::new();
        let mut rebuild = false;
        for p in ops {
            let eff = p.effective_op();
            match self.log.get(&eff.id) {
                Some(held) if held.hlc == eff.hlc => {}
                Some(_) => {
                    rebuild = true;
                    log_changes.push(eff);
                }
                None => log_changes.push(eff),
            }
        }
        for op in log_changes {
            if !rebuild {
                self.replica.apply(&op);
            }
            self.log.insert(op.id, op);
        }
        if rebuild {
            // An op we merged with its own (future) stamp came back clamped: recompute.
            let mut r = Replica::new();
            for op in self.log.values() {
                r.apply(op);
            }
            self.replica = r;
        }
        self.cursor = next;
        self.cursor_history.push(next);
        Ok(())
    }

    fn cursor(&mut self) -> Result<u64, MemoryError> {
        Ok(self.cursor)
    }

    fn mirror_cursor(&mut self) -> Result<u64, MemoryError> {
        Ok(self.mirror_cursor)
    }

    fn mirror_seen_since(&mut self) -> Result<Option<NaiveDate>, MemoryError> {
        Ok(self.mirror_seen_since)
    }

    fn apply_mirror(&mut self, page: &MirrorPage) -> Result<(), MemoryError> {
        for r in &page.records {
            self.mirror.insert(r.uhid.clone(), r.clone());
        }
        self.mirror_cursor = page.next;
        if page.as_of.is_some() {
            self.mirror_as_of.clone_from(&page.as_of);
        }
        Ok(())
    }
}
