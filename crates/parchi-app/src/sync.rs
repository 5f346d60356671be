//! The counter's side of sync: enrolment at a hub, one sync round, the status the clerk sees, and
//! a background worker that never blocks registration.
//!
//! The store is adapted to `parchi_sync::SyncStore` here; the round itself (push the outbox,
//! pull until the hub has no more, move refused ops to the error list) is `parchi_sync`'s.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use parchi_core::{Hlc, Op, OpId};
use parchi_store::{Store, StoreError};
use parchi_sync::{
    Backoff, ClientConfig, HubClient, Progress, PulledOp, RoundOptions, RoundReport, SyncStore,
    sync_round, wire::MirrorPage,
};
use serde::Serialize;

use crate::counter::{Counter, Result};
use crate::env::Env;
use crate::error::AppError;
use crate::worker::Background;

const HUB: &str = "sync.hub";
const TOKEN: &str = "sync.token";
const DEVICE: &str = "sync.device";
const LAST_SUCCESS: &str = "sync.last_success";
const LAST_ERROR: &str = "sync.last_error";
const LAST_ATTEMPT: &str = "sync.last_attempt";
const CURSOR: &str = "sync_cursor";

/// What the status bar and `parchi sync --status` show.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// Mirror records of patients the hospital last saw before this day are not kept.
    seen_since: Option<NaiveDate>,
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

    fn mirror_cursor(&mut self) -> Result<u64, StoreError> {
        self.store.mirror_cursor()
    }

    fn mirror_seen_since(&mut self) -> Result<Option<NaiveDate>, StoreError> {
        Ok(self.seen_since)
    }

    fn apply_mirror(&mut self, page: &MirrorPage) -> Result<(), StoreError> {
        self.store
            .mirror_apply_page(&page.records, page.next, page.as_of.as_deref())?;
        Ok(())
    }
}

/// The day before which the hospital's patients are not kept in the mirror: `recent_years`
/// counted back from `today` (none: everyone).
fn mirror_seen_since(recent_years: Option<u32>, today: NaiveDate) -> Option<NaiveDate> {
    recent_years
        .and_then(|years| today.checked_sub_months(chrono::Months::new(years.saturating_mul(12))))
}

pub(crate) fn client(url: &str) -> Result<HubClient> {
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
        let key = self.signing_public_key_hex()?;
        let resp = c
            .enroll_signed(
                code.trim(),
                site.site,
                Some(site.counter.clone()),
                Some(key),
            )
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
        self.refresh_config()?;
        let now_ms = self.now_ms();
        let stamp = self.now_local().format("%Y-%m-%d %H:%M:%S").to_string();
        let seen_since = mirror_seen_since(self.config().mirror.recent_years, self.today());
        // A wider window (the hospital raised `mirror.recent_years`) pulls the mirror again.
        self.store_mut().mirror_set_window(seen_since)?;
        let result = {
            let mut cs = CounterSync {
                store: self.store_mut(),
                now_ms,
                seen_since,
            };
            sync_round(&mut cs, &c, &RoundOptions::default(), progress)
        };
        // A restored installation's inherited ops go out under the old site's credential.
        let result = result
            .map_err(|e| e.to_string())
            .and_then(|r| self.push_inherited(&hub).map(|_| r));
        // A configuration the round brought that is in force today is taken now.
        self.refresh_config()?;
        let store = self.store_mut();
        store.set_setting(LAST_ATTEMPT, &stamp)?;
        match result {
            Ok(report) => {
                store.set_setting(LAST_SUCCESS, &stamp)?;
                store.set_setting(LAST_ERROR, "")?;
                Ok(report)
            }
            Err(msg) => {
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
    job: Background,
}

impl SyncWorker {
    pub fn spawn(
        dir: PathBuf,
        interval: Duration,
        make_env: impl Fn() -> Box<dyn Env> + Send + 'static,
    ) -> SyncWorker {
        let status = Arc::new(Mutex::new(None));
        let slot = status.clone();
        let mut backoff = Backoff::new(interval, Duration::from_secs(300));
        // Seeded per device once the store is open: see `Jitter`.
        let mut jitter: Option<Jitter> = None;
        let job = Background::spawn(dir, make_env, move |opened| {
            let Ok(c) = opened else {
                return Duration::from_secs(5);
            };
            let jitter = jitter.get_or_insert_with(|| Jitter::for_counter(c));
            let mut wait = interval;
            if c.sync_status().map(|s| s.enrolled).unwrap_or(false) {
                match c.sync_once(&mut |_| {}) {
                    Ok(_) => backoff.reset(),
                    Err(_) => wait = backoff.next_delay(jitter.next()),
                }
            }
            if let (Ok(s), Ok(mut slot)) = (c.sync_status(), slot.lock()) {
                *slot = Some(s);
            }
            wait
        });
        SyncWorker { status, job }
    }

    pub fn stop(self) {
        self.job.stop();
    }
}

/// The jitter of a sync worker's backoff: a xorshift stream seeded per device, from its site
/// ID and fresh random bytes, so the counters that lost the hub together do not all retry at
/// the same moments when it comes back.
#[derive(Clone, Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn for_counter(c: &mut Counter) -> Jitter {
        let mut random = [0u8; 8];
        c.fill_random(&mut random);
        Jitter::seeded(c.site().site.as_bytes(), u64::from_le_bytes(random))
    }

    pub(crate) fn seeded(site: &[u8; 16], random: u64) -> Jitter {
        // splitmix64 over the site's bytes and the random word: every bit of each moves the seed.
        let mix = |mut z: u64| {
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let (hi, lo) = site.split_at(8);
        let word = |b: &[u8]| b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
        let seed = mix(mix(word(hi) ^ 0x9E37_79B9_7F4A_7C15) ^ word(lo)) ^ mix(random);
        Jitter(seed | 1)
    }

    /// The next jitter in `[0, 1)`.
    pub(crate) fn next(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::path::Path;

    use parchi_core::CentralPatient;
    use parchi_sync::wire::{MirrorPage, PullResponse, PushResponse};
    use parchi_sync::{ClientError, Transport};

    use super::*;
    use crate::env::FixedEnv;

    const NOW_MS: u64 = 1_780_300_800_000; // 2026-06-01

    /// A hub holding no ops and a mirror served in the pages given.
    struct Pages(
        RefCell<Vec<MirrorPage>>,
        RefCell<Vec<(u64, Option<NaiveDate>)>>,
    );

    impl Transport for Pages {
        fn push(&self, _ops: &[Op]) -> std::result::Result<PushResponse, ClientError> {
            Err(ClientError::Protocol("nothing to push".into()))
        }
        fn pull(&self, after: u64, _limit: u32) -> std::result::Result<PullResponse, ClientError> {
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
            _limit: u32,
            seen_since: Option<NaiveDate>,
        ) -> std::result::Result<MirrorPage, ClientError> {
            self.1.borrow_mut().push((after, seen_since));
            let mut pages = self.0.borrow_mut();
            if pages.is_empty() {
                return Err(ClientError::Protocol("no more pages".into()));
            }
            Ok(pages.remove(0))
        }
    }

    fn record(uhid: &str, name: &str) -> CentralPatient {
        serde_json::from_value(serde_json::json!({
            "uhid": uhid, "name": name, "sex": "F", "seen": "2025-03-01"
        }))
        .expect("record")
    }

    fn page(records: Vec<CentralPatient>, next: u64, more: bool) -> MirrorPage {
        MirrorPage {
            records,
            next,
            more,
            head: 9,
            as_of: Some("2026-05-31T22:00:00+05:30".into()),
        }
    }

    #[test]
    fn mirror_pages_land_in_the_counters_store_with_their_cursor() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hospital.toml");
        let mut c =
            Counter::init(dir.path(), &cfg, "A", Box::new(FixedEnv::new(NOW_MS, 3))).expect("init");
        let hub = Pages(
            RefCell::new(vec![
                page(
                    vec![
                        record("DHP000000001", "Sunita Devi"),
                        record("DHP000000002", "Asha Kumari"),
                    ],
                    4,
                    true,
                ),
                // A newer copy of the first record, and a page whose records were all left out.
                page(vec![record("DHP000000001", "Sunita Kumari")], 7, true),
                page(Vec::new(), 9, false),
            ]),
            RefCell::new(Vec::new()),
        );
        let since = mirror_seen_since(Some(5), c.today());
        assert_eq!(since, NaiveDate::from_ymd_opt(2021, 6, 1));
        let report = {
            let mut cs = CounterSync {
                store: c.store_mut(),
                now_ms: NOW_MS,
                seen_since: since,
            };
            sync_round(&mut cs, &hub, &RoundOptions::default(), &mut |_| {}).expect("round")
        };
        assert_eq!((report.mirror_pulled, report.mirror_cursor), (3, 9));
        let asked: Vec<(u64, Option<NaiveDate>)> = hub.1.borrow().clone();
        assert_eq!(asked, [(0, since), (4, since), (7, since)]);
        let status = c.store().mirror_status().expect("status");
        assert_eq!((status.records, status.cursor), (2, 9));
        assert_eq!(status.as_of.as_deref(), Some("2026-05-31T22:00:00+05:30"));
        let hits = c.store().mirror_search("DHP000000001", 5).expect("search");
        assert_eq!(hits.len(), 1);
        assert_eq!(
            hits[0].record.name.as_str(),
            "Sunita Kumari",
            "the newer copy"
        );
        assert_eq!(mirror_seen_since(None, c.today()), None);
    }

    #[test]
    fn two_counters_back_off_at_different_moments() {
        let delays = |seed: u64| {
            let dir = tempfile::tempdir().expect("tmp");
            let mut c = Counter::init_demo(
                &dir.path().join("data"),
                Box::new(FixedEnv::new(NOW_MS, seed)),
            )
            .expect("init");
            let mut jitter = Jitter::for_counter(&mut c);
            let mut backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(300));
            (0..6)
                .map(|_| backoff.next_delay(jitter.next()))
                .collect::<Vec<_>>()
        };
        let (a, b) = (delays(1), delays(2));
        assert_ne!(a, b, "two counters retry at the same moments: {a:?}");
        // Not only the first: after the hub's outage, each later retry is spread too.
        let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
        assert!(same <= 1, "{same} of 6 retries coincide: {a:?} {b:?}");
        let window = |n: u32| Duration::from_secs(5) * 2u32.pow(n);
        for (n, d) in a.iter().enumerate() {
            let w = window(n as u32).min(Duration::from_secs(300));
            assert!(
                *d >= w / 2 && *d <= w,
                "retry {n}: {d:?} outside its window {w:?}"
            );
        }
    }

    #[test]
    fn the_jitter_follows_the_site_even_with_the_same_random_bytes() {
        let mut a = Jitter::seeded(&[1; 16], 7);
        let mut b = Jitter::seeded(&[2; 16], 7);
        let xs: Vec<f64> = (0..4).map(|_| a.next()).collect();
        let ys: Vec<f64> = (0..4).map(|_| b.next()).collect();
        assert_ne!(xs, ys);
        assert!(xs.iter().chain(&ys).all(|j| (0.0..1.0).contains(j)));
    }
}
