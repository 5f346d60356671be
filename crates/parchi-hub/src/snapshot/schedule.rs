//! The hub's backup schedule: every `every` and at the day end, by the rule the counters use
//! (`parchi_core::schedule`), looked at every `check_every`. A failure is logged and tried
//! again a minute later; a backup never holds up a push for longer than its snapshot.

use std::future::Future;
use std::path::PathBuf;

use chrono::Offset;
use parchi_core::schedule::{BackupHistory, BackupSchedule};
use parchi_keys::backup::Manifest;
use tokio::task::JoinHandle;

use super::{HubBackup, backup_now};
use crate::SqliteStorage;
use crate::error::HubError;

const DAY_MS: i64 = 86_400_000;

/// `HH:MM` as minutes after midnight; `off` for no day-end backup.
pub fn parse_day_end(s: &str) -> Result<Option<u32>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let minute = s.split_once(':').and_then(|(h, m)| {
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60 && s.len() == 5).then_some(h * 60 + m)
    });
    minute
        .map(Some)
        .ok_or_else(|| "the day-end time: HH:MM on a 24-hour clock (e.g. 17:00), or off".into())
}

/// Milliseconds after local midnight at `now_ms`: `offset` minutes from UTC, or the machine's
/// time zone when none.
fn local_ms_of_day(now_ms: u64, offset: Option<i32>) -> u64 {
    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
    let offset_s = match offset {
        Some(m) => i64::from(m) * 60,
        None => chrono::DateTime::from_timestamp_millis(now).map_or(0, |utc| {
            i64::from(
                utc.with_timezone(&chrono::Local)
                    .offset()
                    .fix()
                    .local_minus_utc(),
            )
        }),
    };
    u64::try_from(now.saturating_add(offset_s * 1000).rem_euclid(DAY_MS)).unwrap_or(0)
}

/// Backs the hub up on `to`'s schedule with `take` (given the time) until the task is dropped
/// or the process ends. The first backup comes after `every` or at the day end, not at
/// start-up.
pub fn spawn_schedule<F, Fut>(to: HubBackup, clock: crate::Clock, take: F) -> JoinHandle<()>
where
    F: Fn(u64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(PathBuf, Manifest), HubError>> + Send + 'static,
{
    tokio::spawn(async move {
        let schedule = BackupSchedule {
            every_ms: u64::try_from(to.every.as_millis()).unwrap_or(u64::MAX),
            day_end_minute: to.day_end_minute,
        };
        let mut history = BackupHistory {
            last_ok_ms: Some(clock.now_ms()),
            last_failed_ms: None,
        };
        let pause = to.check_every.max(std::time::Duration::from_millis(10));
        loop {
            tokio::time::sleep(pause).await;
            let now = clock.now_ms();
            if !schedule.due(history, now, local_ms_of_day(now, to.utc_offset_minutes)) {
                continue;
            }
            match take(now).await {
                Ok((file, m)) => {
                    tracing::info!(file = %file.display(), ops = m.ops.count, bytes = m.ciphertext.bytes, "hub backup written");
                    history = BackupHistory {
                        last_ok_ms: Some(now),
                        last_failed_ms: None,
                    };
                }
                Err(e) => {
                    tracing::warn!(error = %e, "hub backup failed; trying again in a minute");
                    history.last_failed_ms = Some(now);
                }
            }
        }
    })
}

/// A store a serving hub backs itself up from, on its schedule.
pub trait SelfBackup: Clone + Send + Sync + 'static {
    /// One backup into `to.dir` now.
    fn backup(
        &self,
        data_dir: PathBuf,
        to: HubBackup,
        now_ms: u64,
    ) -> impl Future<Output = Result<(PathBuf, Manifest), HubError>> + Send;
}

impl SelfBackup for SqliteStorage {
    fn backup(
        &self,
        data_dir: PathBuf,
        to: HubBackup,
        now_ms: u64,
    ) -> impl Future<Output = Result<(PathBuf, Manifest), HubError>> + Send {
        let storage = self.clone();
        async move {
            tokio::task::spawn_blocking(move || backup_now(&storage, &data_dir, &to, now_ms))
                .await
                .map_err(|e| HubError::Config(format!("the backup task: {e}")))?
        }
    }
}

impl SelfBackup for crate::PgStorage {
    fn backup(
        &self,
        data_dir: PathBuf,
        to: HubBackup,
        now_ms: u64,
    ) -> impl Future<Output = Result<(PathBuf, Manifest), HubError>> + Send {
        let storage = self.clone();
        async move { super::backup_postgres(&storage, &data_dir, &to, now_ms).await }
    }
}

/// [`spawn_schedule`] of `storage`'s backups.
pub fn spawn_backups<T: SelfBackup>(
    storage: &T,
    data_dir: PathBuf,
    to: HubBackup,
    clock: crate::Clock,
) -> JoinHandle<()> {
    let (storage, target) = (storage.clone(), to.clone());
    spawn_schedule(to, clock, move |now| {
        let (s, d, t) = (storage.clone(), data_dir.clone(), target.clone());
        async move { s.backup(d, t, now).await }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::{Clock, SQLITE_FILE, keys};

    /// 2026-06-01 00:00 in India (UTC+05:30), in Unix ms.
    const IST_MIDNIGHT: u64 = 1_780_252_200_000;
    const IST: i32 = 330;

    fn ist(day: u64, h: u64, m: u64) -> u64 {
        IST_MIDNIGHT + day * 86_400_000 + (h * 60 + m) * 60_000
    }

    fn backups(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("parchi-"))
                .count()
        })
    }

    /// Waits until `dir` holds `want` backups (or 10 s), then a few more looks at the clock,
    /// and counts them.
    async fn settle(dir: &std::path::Path, want: usize) -> usize {
        for _ in 0..500 {
            if backups(dir) >= want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        backups(dir)
    }

    #[test]
    fn day_end_times_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_day_end("17:00"), Ok(Some(1020)));
        assert_eq!(parse_day_end("off"), Ok(None));
        for bad in ["24:00", "17:60", "5pm", "7:00", "", "17:00:00"] {
            assert!(parse_day_end(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn local_time_of_day_follows_the_offset() {
        assert_eq!(local_ms_of_day(ist(0, 17, 0), Some(IST)), 17 * 3_600_000);
        assert_eq!(local_ms_of_day(ist(3, 0, 30), Some(IST)), 30 * 60_000);
        assert_eq!(
            local_ms_of_day(ist(0, 17, 0), Some(0)),
            (11 * 60 + 30) * 60_000
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_hub_backs_up_at_the_day_end_once_a_day() {
        let data = tempfile::tempdir().expect("data");
        keys::init_keys(data.path()).expect("keys");
        let key = keys::data_key(data.path()).expect("key");
        let storage = SqliteStorage::open(&data.path().join(SQLITE_FILE), &key).expect("open");
        let out = tempfile::tempdir().expect("out");
        let now = Arc::new(AtomicU64::new(ist(0, 16, 58)));
        let read = now.clone();
        let clock = Clock::from_fn(move || read.load(Ordering::SeqCst));
        let to = HubBackup {
            day_end_minute: Some(17 * 60),
            utc_offset_minutes: Some(IST),
            check_every: Duration::from_millis(10),
            ..HubBackup::new(
                out.path().to_owned(),
                Duration::from_secs(24 * 3600),
                Vec::new(),
            )
        };
        let task = spawn_backups(&storage, data.path().to_owned(), to, clock);

        assert_eq!(settle(out.path(), 0).await, 0, "not before 17:00");
        now.store(ist(0, 17, 0) + 30_000, Ordering::SeqCst);
        assert_eq!(settle(out.path(), 1).await, 1, "at 17:00, once");
        now.store(ist(0, 23, 59), Ordering::SeqCst);
        assert_eq!(settle(out.path(), 1).await, 1, "not again that evening");
        now.store(ist(1, 16, 0), Ordering::SeqCst);
        assert_eq!(settle(out.path(), 1).await, 1, "not the next morning");
        now.store(ist(1, 17, 1), Ordering::SeqCst);
        assert_eq!(settle(out.path(), 2).await, 2, "the next day end");
        task.abort();
    }
}
