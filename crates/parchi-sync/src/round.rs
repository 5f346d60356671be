//! One sync round: push the outbox, then pull everything new.

use std::error::Error;

use parchi_core::{Op, OpId};

use crate::client::{ClientError, HubClient};
use crate::store::SyncStore;
use crate::wire::{DEFAULT_PULL_LIMIT, ErrorCode, Outcome, PullResponse, PushResponse};

/// How a round talks to the hub. [`HubClient`] is the real one; tests may wrap it to cut
/// connections.
pub trait Transport {
    fn push(&self, ops: &[Op]) -> Result<PushResponse, ClientError>;
    fn pull(&self, after: u64, limit: u32) -> Result<PullResponse, ClientError>;
}

impl Transport for HubClient {
    fn push(&self, ops: &[Op]) -> Result<PushResponse, ClientError> {
        HubClient::push(self, ops)
    }
    fn pull(&self, after: u64, limit: u32) -> Result<PullResponse, ClientError> {
        HubClient::pull(self, after, limit)
    }
}

/// Sizes of a round.
#[derive(Clone, Copy, Debug)]
pub struct RoundOptions {
    /// Ops per push (halved automatically if the hub says the batch is too large).
    pub push_batch: usize,
    /// Ops per pull page.
    pub pull_limit: u32,
}

impl Default for RoundOptions {
    fn default() -> Self {
        Self {
            push_batch: 1_000,
            pull_limit: DEFAULT_PULL_LIMIT,
        }
    }
}

/// Progress of a long round, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// `done` ops handled so far this round.
    Pushing { done: usize },
    /// `done` ops pulled so far; `remaining` is the hub's head minus the cursor.
    Pulling { done: usize, remaining: u64 },
}

/// What a round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Ops the hub newly applied.
    pub applied: usize,
    /// Ops the hub already had.
    pub duplicates: usize,
    /// Ops moved to the error list (rejected or quarantined at the hub).
    pub rejected: usize,
    /// Of those, quarantined (the hub holds another payload under the same ID).
    pub quarantined: usize,
    /// Ops of ours the hub clamped for a clock too far ahead.
    pub clock_ahead: usize,
    /// Ops pulled (including our own coming back).
    pub pulled: usize,
    /// The cursor after the round.
    pub cursor: u64,
    /// The hub had a shorter log than our cursor: we started pulling from 0 again.
    pub cursor_reset: bool,
}

/// Why a round stopped. Whatever was applied before the error stays applied.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("counter store: {0}")]
    Store(Box<dyn Error + Send + Sync>),
    #[error("sync made no progress: {0}")]
    Stuck(String),
}

impl SyncError {
    /// Offline or hub-side trouble: back off and retry.
    pub fn is_transient(&self) -> bool {
        matches!(self, SyncError::Client(c) if c.is_transient())
    }
}

fn store_err<E: Error + Send + Sync + 'static>(e: E) -> SyncError {
    SyncError::Store(Box::new(e))
}

/// Pushes every pending op, then pulls until the hub has nothing more.
///
/// A per-op rejection moves just that op to the error list. A batch refused as too large is
/// split; a single op too large to push on its own is rejected locally. Any other refusal of a
/// whole request, or a network failure, ends the round with an error; whatever was acknowledged
/// before it stays acknowledged, and the next round goes on from there.
pub fn sync_round<S: SyncStore, T: Transport>(
    store: &mut S,
    hub: &T,
    opts: &RoundOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<RoundReport, SyncError> {
    let mut report = RoundReport::default();
    push_all(store, hub, opts, &mut report, progress)?;
    pull_all(store, hub, opts, &mut report, progress)?;
    Ok(report)
}

fn push_all<S: SyncStore, T: Transport>(
    store: &mut S,
    hub: &T,
    opts: &RoundOptions,
    report: &mut RoundReport,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), SyncError> {
    let mut batch = opts.push_batch.max(1);
    let mut done = 0usize;
    let mut last_first: Option<OpId> = None;
    loop {
        let ops = store.pending(batch).map_err(store_err)?;
        let Some(first) = ops.first().map(|o| o.id) else {
            return Ok(());
        };
        if last_first == Some(first) {
            return Err(SyncError::Stuck(format!(
                "op {first} is still pending after the hub answered for it"
            )));
        }
        let resp = match hub.push(&ops) {
            Ok(r) => r,
            Err(e)
                if matches!(
                    e.code(),
                    Some(ErrorCode::TooManyOps | ErrorCode::PayloadTooLarge)
                ) =>
            {
                if ops.len() > 1 {
                    batch = (ops.len() / 2).max(1);
                } else {
                    store
                        .mark_rejected(first, e.code().map_or("", |c| c.as_str()), &e.to_string())
                        .map_err(store_err)?;
                    report.rejected += 1;
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if resp.results.len() != ops.len() {
            return Err(SyncError::Client(ClientError::Protocol(format!(
                "pushed {} ops, got {} results",
                ops.len(),
                resp.results.len()
            ))));
        }
        let mut pushed = Vec::with_capacity(ops.len());
        for r in &resp.results {
            let Some(op) = ops.get(r.index as usize) else {
                return Err(SyncError::Client(ClientError::Protocol(format!(
                    "result for item {} of {}",
                    r.index,
                    ops.len()
                ))));
            };
            match &r.outcome {
                Outcome::Applied { clock_ahead, .. } => {
                    report.applied += 1;
                    report.clock_ahead += usize::from(*clock_ahead);
                    pushed.push(op.id);
                }
                Outcome::Duplicate => {
                    report.duplicates += 1;
                    pushed.push(op.id);
                }
                Outcome::Quarantined { reason } => {
                    report.rejected += 1;
                    report.quarantined += 1;
                    store
                        .mark_rejected(op.id, "quarantined", reason)
                        .map_err(store_err)?;
                }
                Outcome::Rejected { code, reason } => {
                    report.rejected += 1;
                    store
                        .mark_rejected(op.id, code.as_str(), reason)
                        .map_err(store_err)?;
                }
            }
        }
        store.mark_pushed(&pushed).map_err(store_err)?;
        done += ops.len();
        progress(Progress::Pushing { done });
        last_first = Some(first);
    }
}

fn pull_all<S: SyncStore, T: Transport>(
    store: &mut S,
    hub: &T,
    opts: &RoundOptions,
    report: &mut RoundReport,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), SyncError> {
    let limit = opts.pull_limit.max(1);
    loop {
        let after = store.cursor().map_err(store_err)?;
        let page = match hub.pull(after, limit) {
            Ok(p) => p,
            Err(e) if e.code() == Some(ErrorCode::CursorAhead) && !report.cursor_reset => {
                // The hub holds less than we think we pulled (restored from an older backup, or
                // another hub). Trust the data, not the cursor: pull everything again (it is
                // idempotent).
                store.apply_pulled(&[], 0).map_err(store_err)?;
                report.cursor_reset = true;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        store
            .apply_pulled(&page.ops, page.next)
            .map_err(store_err)?;
        report.pulled += page.ops.len();
        report.cursor = page.next;
        progress(Progress::Pulling {
            done: report.pulled,
            remaining: page.head.saturating_sub(page.next),
        });
        if !page.more {
            return Ok(());
        }
    }
}
