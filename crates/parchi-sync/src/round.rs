//! One sync round: push the outbox, pull everything new, then pull the hub's mirror of the
//! hospital's index.

use std::error::Error;

use chrono::NaiveDate;
use parchi_core::{Op, OpId};

use crate::client::{ClientError, HubClient};
use crate::store::SyncStore;
use crate::wire::{
    DEFAULT_MIRROR_LIMIT, DEFAULT_PULL_LIMIT, ErrorCode, MirrorPage, Outcome, PullResponse,
    PushResponse,
};

/// How a round talks to the hub. [`HubClient`] is the real one; tests may wrap it to cut
/// connections.
pub trait Transport {
    fn push(&self, ops: &[Op]) -> Result<PushResponse, ClientError>;
    fn pull(&self, after: u64, limit: u32) -> Result<PullResponse, ClientError>;
    fn pull_mirror(
        &self,
        after: u64,
        limit: u32,
        seen_since: Option<NaiveDate>,
    ) -> Result<MirrorPage, ClientError>;
}

impl Transport for HubClient {
    fn push(&self, ops: &[Op]) -> Result<PushResponse, ClientError> {
        HubClient::push(self, ops)
    }
    fn pull(&self, after: u64, limit: u32) -> Result<PullResponse, ClientError> {
        HubClient::pull(self, after, limit)
    }
    fn pull_mirror(
        &self,
        after: u64,
        limit: u32,
        seen_since: Option<NaiveDate>,
    ) -> Result<MirrorPage, ClientError> {
        HubClient::pull_mirror(self, after, limit, seen_since)
    }
}

/// Sizes of a round.
#[derive(Clone, Copy, Debug)]
pub struct RoundOptions {
    /// Ops per push (halved automatically if the hub says the batch is too large).
    pub push_batch: usize,
    /// Ops per pull page.
    pub pull_limit: u32,
    /// Mirror records read per mirror page.
    pub mirror_limit: u32,
}

impl Default for RoundOptions {
    fn default() -> Self {
        Self {
            push_batch: 1_000,
            pull_limit: DEFAULT_PULL_LIMIT,
            mirror_limit: DEFAULT_MIRROR_LIMIT,
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
    /// `done` mirror records pulled so far; `remaining` is the mirror's head minus the mirror
    /// cursor (seqs, not records: an upper bound).
    Mirror { done: usize, remaining: u64 },
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
    /// Mirror records pulled (stored or replaced here).
    pub mirror_pulled: usize,
    /// The mirror cursor after the round.
    pub mirror_cursor: u64,
    /// The hub's mirror was behind our mirror cursor: we started pulling it from 0 again.
    pub mirror_reset: bool,
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

/// Pushes every pending op, pulls until the hub has nothing more, then pulls the hub's mirror
/// of the hospital's index until it has nothing more (a hub too old to have a mirror answers
/// 404: that part is skipped).
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
    pull_mirror_all(store, hub, opts, &mut report, progress)?;
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
    // The hub refuses a limit past its maximum (400), so ask for at most that.
    let limit = opts.pull_limit.clamp(1, crate::wire::MAX_PULL_LIMIT);
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

fn pull_mirror_all<S: SyncStore, T: Transport>(
    store: &mut S,
    hub: &T,
    opts: &RoundOptions,
    report: &mut RoundReport,
    progress: &mut dyn FnMut(Progress),
) -> Result<(), SyncError> {
    let limit = opts.mirror_limit.clamp(1, crate::wire::MAX_MIRROR_LIMIT);
    let seen_since = store.mirror_seen_since().map_err(store_err)?;
    loop {
        let after = store.mirror_cursor().map_err(store_err)?;
        report.mirror_cursor = after;
        let page = match hub.pull_mirror(after, limit, seen_since) {
            Ok(p) => p,
            // A hub from before the mirror: nothing to pull, and nothing wrong.
            Err(ClientError::Hub { status: 404, .. }) => return Ok(()),
            Err(e) if e.code() == Some(ErrorCode::CursorAhead) && !report.mirror_reset => {
                // The hub's mirror is behind our cursor (another hub, or restored from an older
                // backup): pull it all again; a copy already held just replaces itself.
                store
                    .apply_mirror(&MirrorPage {
                        records: Vec::new(),
                        next: 0,
                        more: false,
                        head: 0,
                        as_of: None,
                    })
                    .map_err(store_err)?;
                report.mirror_reset = true;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        store.apply_mirror(&page).map_err(store_err)?;
        report.mirror_pulled += page.records.len();
        report.mirror_cursor = page.next;
        progress(Progress::Mirror {
            done: report.mirror_pulled,
            remaining: page.head.saturating_sub(page.next),
        });
        if !page.more {
            return Ok(());
        }
        if page.next == after {
            return Err(SyncError::Stuck(format!(
                "the hub's mirror page after {after} says more follow but moved no further"
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use parchi_core::{CentralPatient, SiteId, Uhid};

    use super::*;
    use crate::store::MemoryStore;

    /// A hub with no ops and a mirror of `(seq, record)`; `mirror: None` is a hub from before the
    /// mirror (404).
    struct FakeHub {
        mirror: Option<Vec<(u64, CentralPatient)>>,
        calls: RefCell<Vec<(u64, u32, Option<NaiveDate>)>>,
    }

    fn rec(i: u32, seen: &str) -> CentralPatient {
        serde_json::from_value(serde_json::json!({
            "uhid": format!("DHP{i:06}"),
            "name": "Sunita Devi",
            "seen": seen,
        }))
        .expect("record")
    }

    impl Transport for FakeHub {
        fn push(&self, _ops: &[Op]) -> Result<PushResponse, ClientError> {
            Err(ClientError::Protocol("nothing to push".into()))
        }
        fn pull(&self, after: u64, _limit: u32) -> Result<PullResponse, ClientError> {
            Ok(PullResponse {
                version: 1,
                ops: Vec::new(),
                next: after,
                more: false,
                head: 0,
            })
        }
        fn pull_mirror(
            &self,
            after: u64,
            limit: u32,
            seen_since: Option<NaiveDate>,
        ) -> Result<MirrorPage, ClientError> {
            self.calls.borrow_mut().push((after, limit, seen_since));
            let Some(m) = &self.mirror else {
                return Err(ClientError::Hub {
                    status: 404,
                    code: ErrorCode::NotFound,
                    message: "no such endpoint".into(),
                });
            };
            let head = m.last().map_or(0, |r| r.0);
            if after > head {
                return Err(ClientError::Hub {
                    status: 409,
                    code: ErrorCode::CursorAhead,
                    message: "ahead".into(),
                });
            }
            let scanned: Vec<&(u64, CentralPatient)> = m
                .iter()
                .filter(|r| r.0 > after)
                .take(limit as usize)
                .collect();
            let page = MirrorPage {
                records: scanned
                    .iter()
                    .filter(|r| seen_since.is_none_or(|d| r.1.seen.is_none_or(|s| s >= d)))
                    .map(|r| r.1.clone())
                    .collect(),
                next: scanned.last().map_or(after, |r| r.0),
                more: scanned.len() == limit as usize,
                head,
                as_of: Some("2026-05-01T00:00:00Z".into()),
            };
            crate::client::check_mirror_page(after, limit, &page)?;
            Ok(page)
        }
    }

    fn opts(mirror_limit: u32) -> RoundOptions {
        RoundOptions {
            mirror_limit,
            ..RoundOptions::default()
        }
    }

    #[test]
    fn an_older_hub_without_a_mirror_does_not_fail_the_round() {
        let hub = FakeHub {
            mirror: None,
            calls: RefCell::new(Vec::new()),
        };
        let mut store = MemoryStore::new(SiteId::from_bytes([1; 16]));
        let r = sync_round(&mut store, &hub, &opts(10), &mut |_| {}).expect("round");
        assert_eq!((r.mirror_pulled, r.mirror_cursor), (0, 0));
        assert_eq!(hub.calls.borrow().len(), 1);
        assert!(store.mirror().is_empty());
    }

    #[test]
    fn mirror_pages_are_pulled_to_the_end_filtered_by_seen_and_the_cursor_moves_with_them() {
        let m: Vec<(u64, CentralPatient)> = (1..=7u32)
            .map(|i| {
                let seen = if i % 3 == 0 {
                    "2019-01-01"
                } else {
                    "2025-01-01"
                };
                (u64::from(i) * 2, rec(i, seen))
            })
            .collect();
        let hub = FakeHub {
            mirror: Some(m),
            calls: RefCell::new(Vec::new()),
        };
        let mut store = MemoryStore::new(SiteId::from_bytes([1; 16]));
        store.mirror_seen_since = "2022-01-01".parse().ok();
        let mut events = Vec::new();
        let r = sync_round(&mut store, &hub, &opts(3), &mut |p| events.push(p)).expect("round");
        // Seqs 2..14 in pages of 3 (the third page holds one): records 3 and 6 were seen too long
        // ago and stay out, but the cursor moved past them.
        assert_eq!(r.mirror_pulled, 5);
        assert_eq!(r.mirror_cursor, 14);
        assert_eq!(store.mirror_cursor().expect("cursor"), 14);
        let held: Vec<&str> = store.mirror().keys().map(Uhid::as_str).collect();
        assert_eq!(
            held,
            [
                "DHP000001",
                "DHP000002",
                "DHP000004",
                "DHP000005",
                "DHP000007"
            ]
        );
        let afters: Vec<u64> = hub.calls.borrow().iter().map(|c| c.0).collect();
        assert_eq!(afters, [0, 6, 12]);
        assert!(
            hub.calls
                .borrow()
                .iter()
                .all(|c| c.2 == "2022-01-01".parse().ok())
        );
        assert_eq!(
            events.last(),
            Some(&Progress::Mirror {
                done: 5,
                remaining: 0
            })
        );
        assert_eq!(store.mirror_as_of(), Some("2026-05-01T00:00:00Z"));
        // A second round finds nothing new and asks once.
        let r = sync_round(&mut store, &hub, &opts(3), &mut |_| {}).expect("round");
        assert_eq!((r.mirror_pulled, r.mirror_cursor), (0, 14));
    }

    #[test]
    fn a_mirror_cursor_beyond_the_hubs_head_starts_again_from_zero() {
        let hub = FakeHub {
            mirror: Some(vec![(1, rec(1, "2025-01-01")), (2, rec(2, "2025-01-01"))]),
            calls: RefCell::new(Vec::new()),
        };
        let mut store = MemoryStore::new(SiteId::from_bytes([1; 16]));
        store
            .apply_mirror(&MirrorPage {
                records: Vec::new(),
                next: 50,
                more: false,
                head: 50,
                as_of: None,
            })
            .expect("cursor at 50");
        let r = sync_round(&mut store, &hub, &opts(10), &mut |_| {}).expect("round");
        assert!(r.mirror_reset);
        assert_eq!((r.mirror_pulled, r.mirror_cursor), (2, 2));
        assert_eq!(store.mirror().len(), 2);
    }
}
