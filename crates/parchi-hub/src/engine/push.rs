//! The push's effectful shell: under the write lock, classify (pure: [`super::classify`]),
//! commit what was decided in one durable transaction, then bring memory in step (the index,
//! quarantine keys, site counters, meta, head) and hand the new ops to a merge on a blocking
//! thread, and answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parchi_core::OpId;
use parchi_sync::wire::OpResult;

use super::classify::{self, Classified, Context, Held};
use super::memory::OpIndex;
use super::{Hub, Item, Source};
use crate::error::{HubError, StorageError};
use crate::storage::{Commit, FLAG_CLOCK_AHEAD, Storage, append_raw_body, compress_raw_body};

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
fn compress_ahead(items: &[Item], index: &OpIndex) -> Option<Ahead> {
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
    fn add(slot: &AtomicU64, since: Instant) {
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

impl<S: Storage> Hub<S> {
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
        classify::check_sites(source, &items)?;

        let t_lock = Instant::now();
        let mut inner = self.lock().await?;
        PushTimings::add(&self.timings.lock_ns, t_lock);
        let t_classify = Instant::now();
        let head = self.head();
        let ahead = compress_ahead(&items, &inner.index);
        let Classified {
            results,
            ops,
            merge,
            quarantine,
            sites,
        } = classify::classify(
            Held {
                index: &inner.index,
                quarantine_keys: &inner.quarantine_keys,
                head,
            },
            items,
            Context {
                source,
                now_ms,
                max_drift_ms: self.config.max_drift_ms,
            },
        );
        for q in &quarantine {
            tracing::warn!(
                op_id = %q.op_id,
                site = %q.site,
                device = q.device_id,
                "ALARM: op ID already held with a different payload (cloned disk or bug); quarantined"
            );
        }
        for o in ops.iter().filter(|o| o.flags & FLAG_CLOCK_AHEAD != 0) {
            tracing::info!(
                op_id = %o.op_id,
                site = %o.site,
                ahead_ms = o.hlc.wall_ms().saturating_sub(now_ms),
                "op stamped ahead of the hub clock; clamped"
            );
        }
        let new_keys: Vec<(OpId, u128)> = ops.iter().map(|o| (o.op_id, o.hash)).collect();
        let new_quarantine: Vec<(OpId, u128)> =
            quarantine.iter().map(|q| (q.op_id, q.hash)).collect();
        let new_sites = classify::site_rows(&inner.sites, &sites, now_ms);
        let device_after = match source {
            Source::Device(d) => {
                let mut d = d.clone();
                d.last_push_ms = Some(now_ms);
                Some(d)
            }
            Source::Upstream => None,
        };
        let mut commit = Commit {
            ops,
            quarantine,
            sites: new_sites.clone(),
            meta,
            ..Commit::default()
        };
        // A push of nothing new (a redelivery) writes nothing: no transaction, no fsync. The
        // device's last-push time is then kept in memory and stored with its next write.
        let nothing_new = commit.is_empty();
        if !nothing_new && let Some(d) = &device_after {
            commit.devices.push(d.clone());
        }
        let meta_after = commit.meta.clone();
        PushTimings::add(&self.timings.classify_ns, t_classify);
        if let Some((n_ok, task)) = ahead
            && n_ok == commit.ops.len()
        {
            // Every op was accepted, in order: the body compressed ahead is this commit's. (A
            // task that failed leaves the storage to compress.)
            commit.body = task.await.ok().and_then(Result::ok);
        }

        let t = Instant::now();
        if !nothing_new {
            // From here until memory matches storage again (below), the hub counts as stale: if
            // the commit fails (did it reach the disk? a database over a network cannot always
            // say), or this future is dropped at one of its awaits (a client hanging up
            // mid-push), it reloads everything from storage before the next write or query.
            // The write runs on a blocking thread (the segment is compressed there) while the
            // previous push's merge may still run on another.
            inner.stale = true;
            self.storage.commit(commit).await?;
            PushTimings::add(&self.timings.commit_ns, t);
        }
        let n_new = new_keys.len() as u64;
        inner.index.extend(new_keys);
        inner.quarantine_keys.extend(new_quarantine);
        for s in new_sites {
            inner.sites.insert(s.site, s);
        }
        inner.meta.extend(meta_after);
        self.head.store(head + n_new, Ordering::Release);
        let mut in_step = true;
        if !merge.is_empty() {
            let t_merge = Instant::now();
            let n_merged = merge.len();
            // Waits for the previous push's merge (the time counted as `merge_ns`), then hands
            // these ops to a new one and answers without waiting for it. These ops are durable
            // whatever happens to a merge: if one failed, the hub stays stale and rebuilds its
            // records from the log before the next write or query.
            if let Err(e) = inner.start_merge(merge).await {
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
}
