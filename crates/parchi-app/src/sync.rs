//! The counter's side of sync: enrolment at a hub, one sync round, the status the clerk sees, and
//! a background worker that never blocks registration.
//!
//! The store is adapted to `parchi_sync::SyncStore` here; the round itself (push the outbox,
//! pull until the hub has no more, move refused ops to the error list) is `parchi_sync`'s.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parchi_core::{Hlc, Op, OpId};
use parchi_store::{Store, StoreError};
use parchi_sync::{
    Backoff, ClientConfig, HubClient, Progress, PulledOp, RoundOptions, RoundReport, SyncStore,
    sync_round,
};
use serde::Serialize;

use crate::counter::{Counter, Result};
use crate::env::Env;
use crate::error::AppError;

const HUB: &str = "sync.hub";
const TOKEN: &str = "sync.token";
const DEVICE: &str = "sync.device";
const LAST_SUCCESS: &str = "sync.last_success";
const LAST_ERROR: &str = "sync.last_error";
const LAST_ATTEMPT: &str = "sync.last_attempt";
const CURSOR: &str = "sync_cursor";

/// What the status bar and `parchi sync --status` show.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SyncStatus {
    pub hub: Option<String>,
    pub enrolled: bool,
    /// True if the last attempt reached the hub, false if it failed, None before any attempt.
    pub online: Option<bool>,
    /// Changes written here waiting to be pushed.
    pub pending: u64,
    /// Changes the hub refused (on the error list).
    pub rejected: u64,
    pub last_success: Option<String>,
    pub last_error: Option<String>,
    pub cursor: u64,
}

/// The counter store as `parchi_sync` sees it.
struct CounterSync<'a> {
    store: &'a mut Store,
    now_ms: u64,
}

impl SyncStore for CounterSync<'_> {
    type Error = StoreError;

    fn pending(&mut self, limit: usize) -> Result<Vec<Op>, StoreError> {
        self.store.pending_ops(limit)
    }

    fn mark_pushed(&mut self, ids: &[OpId]) -> Result<(), StoreError> {
        self.store.mark_pushed(ids)
    }

    fn mark_rejected(&mut self, id: OpId, code: &str, reason: &str) -> Result<(), StoreError> {
        self.store.mark_rejected(id, &format!("{code}: {reason}"))
    }

    fn apply_pulled(&mut self, ops: &[PulledOp], next: u64) -> Result<(), StoreError> {
        let items: Vec<(Op, Option<Hlc>)> = ops
            .iter()
            .map(|p| {
                (
                    p.op.clone(),
                    (p.effective_hlc != p.op.hlc).then_some(p.effective_hlc),
                )
            })
            .collect();
        self.store
            .apply_remote_at(&items, self.now_ms, Some((CURSOR, next)))?;
        Ok(())
    }

    fn cursor(&mut self) -> Result<u64, StoreError> {
        Ok(self
            .store
            .meta(CURSOR)?
            .and_then(|c| c.parse().ok())
            .unwrap_or(0))
    }
}

fn client(url: &str) -> Result<HubClient> {
    let cfg = ClientConfig {
        timeout: Duration::from_secs(30),
        ..ClientConfig::default()
    };
    HubClient::new(url, cfg).map_err(|e| AppError::Invalid(format!("hub address: {e}")))
}

impl Counter {
    /// Enrols this counter at a hub with a one-time code from the hub's admin, and remembers the
    /// hub and the credential it returns.
    pub fn enroll(&mut self, hub_url: &str, code: &str) -> Result<String> {
        let c = client(hub_url)?;
        let site = self.store().site().clone();
        let resp = c
            .enroll(code.trim(), site.site, Some(site.counter.clone()))
            .map_err(|e| AppError::Sync(format!("enrolment failed: {e}")))?;
        let store = self.store_mut();
        store.set_setting(HUB, hub_url.trim().trim_end_matches('/'))?;
        store.set_setting(TOKEN, &resp.token)?;
        store.set_setting(DEVICE, &resp.device_id)?;
        Ok(resp.device_id)
    }

    /// Where this counter syncs, and what waits.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        let s = self.store();
        let (pending, rejected) = s.outbox_counts()?;
        let last_success = s.setting(LAST_SUCCESS)?;
        let last_error = s.setting(LAST_ERROR)?.filter(|e| !e.is_empty());
        let attempted = s.setting(LAST_ATTEMPT)?;
        Ok(SyncStatus {
            hub: s.setting(HUB)?,
            enrolled: s.setting(TOKEN)?.is_some(),
            online: attempted.map(|_| last_error.is_none()),
            pending,
            rejected,
            last_success,
            last_error,
            cursor: s.meta(CURSOR)?.and_then(|c| c.parse().ok()).unwrap_or(0),
        })
    }

    /// One sync round: push everything waiting, pull everything new. Records the outcome for the
    /// status bar either way.
    pub fn sync_once(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<RoundReport> {
        let (hub, token) = match (self.store().setting(HUB)?, self.store().setting(TOKEN)?) {
            (Some(h), Some(t)) => (h, t),
            _ => return Err(AppError::Invalid(
                "this counter is not enrolled at a hub: run `parchi enroll --hub URL --code CODE`"
                    .into(),
            )),
        };
        let c = client(&hub)?.with_token(token);
        let now_ms = self.now_ms();
        let stamp = self.now_local().format("%Y-%m-%d %H:%M:%S").to_string();
        let result = {
            let mut cs = CounterSync {
                store: self.store_mut(),
                now_ms,
            };
            sync_round(&mut cs, &c, &RoundOptions::default(), progress)
        };
        let store = self.store_mut();
        store.set_setting(LAST_ATTEMPT, &stamp)?;
        match result {
            Ok(report) => {
                store.set_setting(LAST_SUCCESS, &stamp)?;
                store.set_setting(LAST_ERROR, "")?;
                Ok(report)
            }
            Err(e) => {
                let msg = e.to_string();
                store.set_setting(LAST_ERROR, &msg)?;
                Err(AppError::Sync(msg))
            }
        }
    }

    /// Puts the ops the hub refused back in the queue (after the cause was fixed).
    pub fn retry_rejected(&mut self) -> Result<usize> {
        Ok(self.store_mut().retry_rejected()?)
    }
}

/// A background sync worker: its own connection to the counter's database, a round every
/// `interval`, exponential backoff with jitter while the hub is unreachable. Registration never
/// waits for it (each pulled page is one short transaction).
#[derive(Debug)]
pub struct SyncWorker {
    pub status: Arc<Mutex<Option<SyncStatus>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl SyncWorker {
    pub fn spawn(
        dir: PathBuf,
        interval: Duration,
        make_env: impl Fn() -> Box<dyn Env> + Send + 'static,
    ) -> SyncWorker {
        let status = Arc::new(Mutex::new(None));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (st, sp) = (status.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            let mut backoff = Backoff::new(interval, Duration::from_secs(300));
            let mut seed = 0x9E37_79B9_7F4A_7C15u64;
            while !sp.load(std::sync::atomic::Ordering::Relaxed) {
                let mut wait = interval;
                match Counter::open_side(&dir, make_env()) {
                    Ok(mut c) => {
                        let enrolled = c.sync_status().map(|s| s.enrolled).unwrap_or(false);
                        if enrolled {
                            match c.sync_once(&mut |_| {}) {
                                Ok(_) => backoff.reset(),
                                Err(_) => {
                                    seed ^= seed << 13;
                                    seed ^= seed >> 7;
                                    seed ^= seed << 17;
                                    wait = backoff.next_delay((seed % 1000) as f64 / 1000.0);
                                }
                            }
                        }
                        if let (Ok(s), Ok(mut slot)) = (c.sync_status(), st.lock()) {
                            *slot = Some(s);
                        }
                    }
                    Err(_) => wait = Duration::from_secs(5),
                }
                let until = std::time::Instant::now() + wait;
                while std::time::Instant::now() < until
                    && !sp.load(std::sync::atomic::Ordering::Relaxed)
                {
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        });
        SyncWorker {
            status,
            stop,
            handle: Some(handle),
        }
    }

    pub fn stop(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
