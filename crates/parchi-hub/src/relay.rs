//! Hub-to-hub relay: a LAN hub (run on a counter PC while the central system is down) pushes
//! everything it holds to an upstream hub and pulls back what the upstream holds, with the same
//! protocol a counter uses.
//!
//! - The LAN hub is enrolled at the upstream with role `hub`, so it may push any site's ops.
//! - Each op goes up with the effective HLC the LAN hub gave it, so the upstream merges it with
//!   the same stamp the LAN's counters already used.
//! - Two cursors live in the LAN hub's meta table: how far its own log was pushed, and how far
//!   the upstream's log was pulled. The pull cursor is written in the same transaction as the ops
//!   it covers; ops that came from upstream are not pushed back.
//! - The upstream's mirror of the hospital's index comes down too, whole (each counter narrows
//!   it to its own window when it pulls), a bounded number of pages a round, so
//!   a first copy of millions of records never holds up the ops for long. Its cursor is a third
//!   meta key; a page written twice (a crash between the write and the cursor) changes nothing.

use parchi_core::Op;
use parchi_sync::wire::{
    ErrorCode, MAX_MIRROR_LIMIT, MirrorBatch, MirrorDone, MirrorPage, Outcome, PushItem,
};
use parchi_sync::{ClientError, HubClient};

use crate::engine::{Hub, Item, Source, prepare_item};
use crate::error::{HubError, StorageError};
use crate::storage::{FLAG_FROM_UPSTREAM, Storage};

/// Meta key: the last local seq pushed upstream.
pub const META_PUSHED: &str = "upstream_pushed_seq";
/// Meta key: the upstream pull cursor.
pub const META_CURSOR: &str = "upstream_pull_cursor";
/// Meta key: the upstream mirror cursor.
pub const META_MIRROR_CURSOR: &str = "upstream_mirror_cursor";

/// Mirror pages (of [`MAX_MIRROR_LIMIT`] records) one relay round pulls at most, unless the
/// LAN hub is set up otherwise ([`crate::Upstream::mirror_pages`]).
pub const MIRROR_PAGES_PER_ROUND: usize = 20;

/// What one relay round did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RelayReport {
    /// Ops sent upstream.
    pub pushed: usize,
    /// Of those, new to the upstream.
    pub applied_upstream: usize,
    /// Refused or quarantined by the upstream (logged with their op IDs).
    pub refused_upstream: usize,
    /// Ops pulled from upstream.
    pub pulled: usize,
    /// Of those, new here.
    pub applied_here: usize,
    /// Mirror records pulled from upstream (new or changed there since the last round).
    pub mirror_pulled: usize,
    /// The upstream's mirror has more to pull: the next round should follow at once.
    pub mirror_more: bool,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ClientError> + Send + 'static,
) -> Result<T, HubError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| HubError::Storage(StorageError::Task(e.to_string())))?
        .map_err(HubError::from)
}

fn meta_u64(v: Option<String>) -> u64 {
    v.and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// One relay round: push everything not yet pushed, pull until the upstream has no more, then
/// pull at most `mirror_pages` pages of the upstream's mirror.
pub async fn relay_round<S: Storage>(
    hub: &Hub<S>,
    upstream: &HubClient,
    batch: u32,
    mirror_pages: usize,
) -> Result<RelayReport, HubError> {
    let batch = batch.clamp(1, parchi_sync::wire::MAX_PULL_LIMIT);
    let mut report = RelayReport::default();

    // Push our log, in our order.
    loop {
        let from = meta_u64(hub.meta(META_PUSHED).await);
        let rows = hub.storage().pull(from, batch).await?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            break;
        };
        let mut items = Vec::with_capacity(rows.len());
        for r in rows.iter().filter(|r| r.flags & FLAG_FROM_UPSTREAM == 0) {
            let op: Op = serde_json::from_str(&r.payload)
                .map_err(|e| StorageError::Corrupt(format!("stored op {}: {e}", r.seq)))?;
            items.push(PushItem {
                op,
                effective_hlc: Some(r.eff_hlc),
            });
        }
        if !items.is_empty() {
            let client = upstream.clone();
            let sent = items.clone();
            let resp = blocking(move || client.push_items(&sent)).await?;
            report.pushed += items.len();
            for r in &resp.results {
                match &r.outcome {
                    Outcome::Applied { .. } => report.applied_upstream += 1,
                    Outcome::Duplicate => {}
                    Outcome::Quarantined { .. } | Outcome::Rejected { .. } => {
                        report.refused_upstream += 1;
                        tracing::warn!(op_id = ?r.id.map(|i| i.to_string()), "upstream refused a relayed op");
                    }
                }
            }
        }
        hub.set_meta(META_PUSHED, &last.to_string()).await?;
        if rows.len() < batch as usize {
            break;
        }
    }

    // Pull the upstream's log.
    let mut reset = false;
    loop {
        let cursor = meta_u64(hub.meta(META_CURSOR).await);
        let client = upstream.clone();
        let page = match blocking(move || client.pull(cursor, batch)).await {
            Ok(p) => p,
            Err(HubError::Upstream(e)) if e.code() == Some(ErrorCode::CursorAhead) && !reset => {
                reset = true;
                hub.set_meta(META_CURSOR, "0").await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        report.pulled += page.ops.len();
        let items: Vec<Item> = page
            .ops
            .into_iter()
            .map(|p| prepare_item(p.op, Some(p.effective_hlc)))
            .collect();
        let results = hub
            .push_with_meta(
                Source::Upstream,
                items,
                hub.now_ms(),
                vec![(META_CURSOR.to_string(), page.next.to_string())],
            )
            .await?;
        report.applied_here += results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Applied { .. }))
            .count();
        if !page.more {
            break;
        }
    }
    relay_mirror(hub, upstream, mirror_pages, &mut report).await?;
    Ok(report)
}

/// Pulls the upstream's mirror into this hub's, from where the last round stopped.
async fn relay_mirror<S: Storage>(
    hub: &Hub<S>,
    upstream: &HubClient,
    pages: usize,
    report: &mut RelayReport,
) -> Result<(), HubError> {
    // A run ID per page: a record the upstream changed between two pages comes again in a
    // later page, and must replace the copy an earlier page wrote, not count as its duplicate.
    let round = hub.now_ms();
    let mut reset = false;
    // Whether the last page read said more follow, and the index's date it gave.
    let mut end: Option<(bool, Option<String>)> = None;
    for _ in 0..pages.max(1) {
        let cursor = meta_u64(hub.meta(META_MIRROR_CURSOR).await);
        let client = upstream.clone();
        let page = match blocking(move || client.pull_mirror(cursor, MAX_MIRROR_LIMIT, None)).await
        {
            Ok(p) => p,
            // An upstream from before the mirror has none to give.
            Err(HubError::Upstream(parchi_sync::ClientError::Hub { status: 404, .. })) => {
                return Ok(());
            }
            // The upstream's mirror is behind our cursor (restored, or another hub): pull it
            // all again; a copy already held stays as it is.
            Err(HubError::Upstream(e)) if e.code() == Some(ErrorCode::CursorAhead) && !reset => {
                reset = true;
                hub.set_meta(META_MIRROR_CURSOR, "0").await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        let MirrorPage {
            records,
            next,
            more,
            as_of,
            ..
        } = page;
        if !records.is_empty() {
            report.mirror_pulled += records.len();
            let run = format!("relay-{round}-{cursor}");
            hub.mirror_write(MirrorBatch { run, records }).await?;
        }
        hub.set_meta(META_MIRROR_CURSOR, &next.to_string()).await?;
        end = Some((more, as_of));
        if !more {
            break;
        }
        if next == cursor {
            return Err(HubError::Upstream(parchi_sync::ClientError::Protocol(
                format!(
                    "the upstream's mirror page after {cursor} says more follow but moved no further"
                ),
            )));
        }
    }
    let Some((more, as_of)) = end else {
        return Ok(());
    };
    report.mirror_more = more;
    // How old the copy is travels with it: the counters here show the hospital's date.
    if !more
        && let Some(as_of) = as_of
        && hub.mirror_status()?.as_of.as_deref() != Some(as_of.as_str())
    {
        hub.mirror_done(MirrorDone {
            run: format!("relay-{round}"),
            as_of,
            fhir_since: None,
        })
        .await?;
    }
    Ok(())
}
