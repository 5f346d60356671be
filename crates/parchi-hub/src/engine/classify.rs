//! The push classifier, pure: given what the hub holds in memory (the op index, the quarantine
//! keys, the head), one push's parsed items, who sent them and the hub's clock reading, it
//! decides for every op: applied (with its seq and effective HLC, clamped to the hub's receive
//! time when stamped too far ahead), duplicate, quarantined (stored aside the first time an
//! (ID, payload) pair diverges) or rejected. It reads no storage, changes nothing and logs
//! nothing; the shell ([`Hub::push_with_meta`](super::Hub::push_with_meta)) commits what it
//! decided, then brings memory in step.

use std::collections::{HashMap, HashSet};

use parchi_core::{Hlc, Op, OpId, SiteId};
use parchi_sync::wire::{OpResult, Outcome, RejectCode, Role};

use super::memory::{IdHash, OpIndex};
use super::{Item, ParsedItem, Source};
use crate::error::HubError;
use crate::storage::{FLAG_CLOCK_AHEAD, FLAG_FROM_UPSTREAM, NewOp, QuarantineRow, SiteRow};

/// What the classifier reads of the hub's memory.
#[derive(Clone, Copy)]
pub struct Held<'a> {
    /// Every op ID held, with its payload hash.
    pub index: &'a OpIndex,
    /// Every (ID, payload hash) already stored aside.
    pub quarantine_keys: &'a HashSet<(OpId, u128)>,
    /// The highest seq committed: accepted ops take the seqs after it, in item order.
    pub head: u64,
}

impl std::fmt::Debug for Held<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held")
            .field("ops", &self.index.len())
            .field("quarantined", &self.quarantine_keys.len())
            .field("head", &self.head)
            .finish()
    }
}

/// Who pushed, the hub's clock reading and its drift policy.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub source: Source<'a>,
    pub now_ms: u64,
    /// How far ahead of `now_ms` an op's HLC may be before it is clamped.
    pub max_drift_ms: u64,
}

/// What one push changes of a site's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SiteDelta {
    pub ops: u64,
    pub clock_ahead: u64,
    pub quarantined: u64,
}

/// What the classifier decided for one push.
#[derive(Default)]
pub struct Classified {
    /// One per item, in item order.
    pub results: Vec<OpResult>,
    /// The accepted ops as stored: consecutive seqs after the head, in item order.
    pub ops: Vec<NewOp>,
    /// The same ops to merge, each carrying its effective HLC.
    pub merge: Vec<(u64, Op)>,
    /// Ops to store aside: the first time each diverging (ID, payload hash) is seen.
    pub quarantine: Vec<QuarantineRow>,
    /// Per site touched, in the order first seen.
    pub sites: Vec<(SiteId, SiteDelta)>,
}

impl std::fmt::Debug for Classified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classified")
            .field("results", &self.results)
            .field("ops", &self.ops)
            .field("quarantine", &self.quarantine)
            .field("sites", &self.sites)
            .finish_non_exhaustive()
    }
}

impl Source<'_> {
    /// The role the push is judged by: an upstream hub counts as a hub.
    pub fn role(&self) -> Role {
        match self {
            Source::Device(d) => d.role,
            Source::Upstream => Role::Hub,
        }
    }

    /// The device ID quarantined ops are recorded under.
    pub fn device_id(&self) -> &str {
        match self {
            Source::Device(d) => &d.device_id,
            Source::Upstream => "upstream",
        }
    }
}

/// A counter may push only its own site's ops: the whole push is refused (403) otherwise.
pub fn check_sites(source: Source<'_>, items: &[Item]) -> Result<(), HubError> {
    if let Source::Device(d) = source
        && d.role == Role::Counter
        && let Some(bad) = items.iter().flatten().find(|p| p.op.site != d.site)
    {
        return Err(HubError::ForbiddenSite {
            op_id: bad.op.id.to_string(),
            site: bad.op.site.to_string(),
        });
    }
    Ok(())
}

const QUARANTINED: &str =
    "this op ID is already held with a different payload; stored aside for an admin";

/// Where a new op's effective HLC starts from: its own HLC, or the `effective_hlc` a relaying
/// hub sent (non-zero and not after the op's HLC); a counter may not send one.
fn effective_start(role: Role, p: &ParsedItem) -> Result<Hlc, Outcome> {
    match (role, p.effective_hlc) {
        (Role::Counter, Some(_)) => Err(Outcome::Rejected {
            code: RejectCode::EffectiveHlcNotAllowed,
            reason: "only a relaying hub may send effective_hlc".into(),
        }),
        (Role::Hub, Some(e)) if e > p.op.hlc || e == Hlc::ZERO => Err(Outcome::Rejected {
            code: RejectCode::BadEffectiveHlc,
            reason: "effective_hlc must be non-zero and not after the op's hlc".into(),
        }),
        (_, e) => Ok(e.unwrap_or(p.op.hlc)),
    }
}

impl Classified {
    fn site(&mut self, at: &mut HashMap<SiteId, usize, IdHash>, site: SiteId) -> &mut SiteDelta {
        let i = *at.entry(site).or_insert_with(|| {
            self.sites.push((site, SiteDelta::default()));
            self.sites.len() - 1
        });
        &mut self.sites[i].1
    }
}

/// Classifies one push (see the module's rules). An op ID twice in one push is judged against
/// its first copy, as if that were already held.
pub fn classify(held: Held<'_>, items: Vec<Item>, cx: Context<'_>) -> Classified {
    let role = cx.source.role();
    let device_id = cx.source.device_id();
    let from_upstream = matches!(cx.source, Source::Upstream);
    let drift_bound = cx.now_ms.saturating_add(cx.max_drift_ms);
    let n = items.len();
    let mut out = Classified {
        results: Vec::with_capacity(n),
        ops: Vec::with_capacity(n),
        merge: Vec::with_capacity(n),
        ..Classified::default()
    };
    // IDs accepted earlier in this push, and diverging pairs already stored aside by it.
    let mut fresh: OpIndex = OpIndex::with_capacity_and_hasher(n, IdHash::default());
    let mut diverged: HashSet<(OpId, u128)> = HashSet::new();
    let mut site_at: HashMap<SiteId, usize, IdHash> = HashMap::default();
    for (i, item) in items.into_iter().enumerate() {
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        let p = match item {
            Ok(p) => p,
            Err(r) => {
                out.results.push(OpResult {
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
        let outcome = match held.index.get(&id).or_else(|| fresh.get(&id)).copied() {
            Some(h) if h == p.hash => Outcome::Duplicate,
            Some(_) => {
                let key = (id, p.hash);
                if !held.quarantine_keys.contains(&key) && diverged.insert(key) {
                    out.site(&mut site_at, p.op.site).quarantined += 1;
                    out.quarantine.push(QuarantineRow {
                        op_id: id,
                        site: p.op.site,
                        device_id: device_id.to_string(),
                        received_ms: cx.now_ms,
                        hash: p.hash,
                        payload: p.canonical,
                    });
                }
                Outcome::Quarantined {
                    reason: QUARANTINED.into(),
                }
            }
            None => match effective_start(role, &p) {
                Err(rejected) => rejected,
                Ok(start) => {
                    let eff = if start.wall_ms() > drift_bound {
                        Hlc::new(cx.now_ms, 0)
                    } else {
                        start
                    };
                    let clock_ahead = eff != p.op.hlc;
                    let seq = held.head + out.ops.len() as u64 + 1;
                    let flags = if clock_ahead { FLAG_CLOCK_AHEAD } else { 0 }
                        | if from_upstream { FLAG_FROM_UPSTREAM } else { 0 };
                    let d = out.site(&mut site_at, p.op.site);
                    d.ops += 1;
                    d.clock_ahead += u64::from(clock_ahead);
                    fresh.insert(id, p.hash);
                    out.ops.push(NewOp {
                        seq,
                        op_id: id,
                        site: p.op.site,
                        hlc: p.op.hlc,
                        eff_hlc: eff,
                        flags,
                        received_ms: cx.now_ms,
                        hash: p.hash,
                        payload: p.canonical,
                    });
                    let mut op = p.op;
                    op.hlc = eff;
                    out.merge.push((seq, op));
                    Outcome::Applied {
                        seq,
                        effective_hlc: eff,
                        clock_ahead,
                    }
                }
            },
        };
        out.results.push(OpResult {
            index,
            id: Some(id),
            outcome,
        });
    }
    out
}

/// The site rows after a push: each touched site's stored counters plus its delta, last pushed
/// now.
pub fn site_rows(
    held: &HashMap<SiteId, SiteRow>,
    deltas: &[(SiteId, SiteDelta)],
    now_ms: u64,
) -> Vec<SiteRow> {
    deltas
        .iter()
        .map(|(site, d)| {
            let mut row = held.get(site).cloned().unwrap_or(SiteRow {
                site: *site,
                ops: 0,
                clock_ahead: 0,
                quarantined: 0,
                last_push_ms: None,
            });
            row.ops += d.ops;
            row.clock_ahead += d.clock_ahead;
            row.quarantined += d.quarantined;
            row.last_push_ms = Some(now_ms);
            row
        })
        .collect()
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
