//! Scheduled backups: when one is due (a pure decision), taking it (to `backup.dir`, else the
//! data directory's `backups/`, each thinned by `retention`, and to the hub), and
//! `BackupWorker`, the background thread the desktop app runs on a connection of its own
//! (registration never waits for it).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{NaiveDateTime, Timelike};
use parchi_core::schedule::{BackupHistory, BackupSchedule};

use crate::backup::{BackupDone, DEFAULT_DIR, EXTENSION, LastBackup};
use crate::config::BackupConfig;
use crate::counter::{Counter, Result};
use crate::env::Env;
use crate::retention::{self, Retention};
use crate::worker::Background;

/// Backups kept in the data directory's own `backups/` (the hub and `backup.dir` keep more).
const KEEP_LOCAL: Retention = Retention { recent: 4, days: 0 };

/// Whether a scheduled backup is due (the core's rule, [`BackupSchedule::due`], shared with the
/// hub): none yet, the interval passed since the last good one, or the day-end time passed
/// since it; never within a minute of a failed attempt, and never with the schedule off
/// (`every_minutes = 0`).
pub fn due(cfg: &BackupConfig, last: Option<&LastBackup>, now_ms: u64, now: NaiveDateTime) -> bool {
    let schedule = BackupSchedule {
        every_ms: u64::from(cfg.every_minutes) * 60_000,
        day_end_minute: cfg.day_end_minute(),
    };
    let history = last.map_or(BackupHistory::default(), |l| BackupHistory {
        last_ok_ms: l.ok_ms,
        last_failed_ms: l.error.is_some().then_some(l.at_ms),
    });
    let of_day = u64::from(now.num_seconds_from_midnight()) * 1000;
    schedule.due(history, now_ms, of_day)
}

impl Counter {
    /// Takes the scheduled backup if one is due (see [`due`]); uploads it to the hub when
    /// `backup.to_hub` and enrolled. An upload failure is recorded (the status bar says so)
    /// but keeps the local backup.
    pub fn scheduled_backup(&mut self) -> Result<Option<BackupDone>> {
        let cfg = self.config().backup.clone();
        let last = self.last_backup()?;
        if !due(&cfg, last.as_ref(), self.now_ms(), self.now_local()) {
            return Ok(None);
        }
        let done = self.backup(None)?;
        let site = self.site();
        let prefix = format!("parchi-{}-{}-", site.counter.as_str(), site.tag.as_str());
        let (dir, keep) = match &cfg.dir {
            Some(dir) => (
                PathBuf::from(dir),
                Retention {
                    recent: usize::try_from(cfg.keep_recent).unwrap_or(usize::MAX),
                    days: cfg.keep_days,
                },
            ),
            None => (self.data_dir().join(DEFAULT_DIR), KEEP_LOCAL),
        };
        retention::prune(&dir, &prefix, EXTENSION, keep, self.today());
        if cfg.to_hub
            && self.sync_status()?.enrolled
            && let Err(e) = self.upload_backup(&done.file)
            && let Some(mut l) = self.last_backup()?
        {
            l.error = Some(format!("{}: {e}", e.code()));
            self.set_last_backup(&l)?;
        }
        Ok(Some(done))
    }
}

/// The desktop app's backup thread: checks every `tick` whether a backup is due and takes it
/// on its own connection; `status` holds the last outcome for the status bar.
#[derive(Debug)]
pub struct BackupWorker {
    pub status: Arc<Mutex<Option<LastBackup>>>,
    job: Background,
}

impl BackupWorker {
    pub fn spawn(
        dir: PathBuf,
        tick: Duration,
        make_env: impl Fn() -> Box<dyn Env> + Send + 'static,
    ) -> BackupWorker {
        let status = Arc::new(Mutex::new(None));
        let slot = status.clone();
        let job = Background::spawn(dir, make_env, move |opened| {
            if let Ok(c) = opened {
                let _ = c.scheduled_backup();
                if let (Ok(last), Ok(mut slot)) = (c.last_backup(), slot.lock()) {
                    *slot = last;
                }
            }
            tick
        });
        BackupWorker { status, job }
    }

    pub fn stop(self) {
        self.job.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2025, 3, 4)
            .and_then(|d| d.and_hms_opt(h, m, 0))
            .unwrap_or_default()
    }

    /// Unix ms of a local time on the test day (the offset does not matter to `due`).
    fn ms(h: u32, m: u32) -> u64 {
        at(h, m).and_utc().timestamp_millis() as u64
    }

    fn last(ok: Option<u64>, at_ms: u64, error: bool) -> LastBackup {
        LastBackup {
            at_ms,
            at: None,
            ok_ms: ok,
            file: None,
            verified: true,
            hub_id: None,
            error: error.then(|| "disk_full".into()),
        }
    }

    #[test]
    fn backups_fall_due_every_interval_and_at_day_end_but_not_right_after_a_failure() {
        let cfg = BackupConfig::default();
        assert!(due(&cfg, None, ms(9, 0), at(9, 0)), "the first one");
        let l = last(Some(ms(10, 0)), ms(10, 0), false);
        assert!(!due(&cfg, Some(&l), ms(10, 14), at(10, 14)));
        assert!(due(&cfg, Some(&l), ms(10, 15), at(10, 15)));
        // Day end at 17:00: due at 17:01 though the last was at 16:55.
        let l = last(Some(ms(16, 55)), ms(16, 55), false);
        assert!(!due(&cfg, Some(&l), ms(16, 59), at(16, 59)));
        assert!(due(&cfg, Some(&l), ms(17, 1), at(17, 1)));
        let l = last(Some(ms(17, 1)), ms(17, 1), false);
        assert!(!due(&cfg, Some(&l), ms(17, 5), at(17, 5)), "once");
        // A failure waits a minute.
        let l = last(Some(ms(9, 0)), ms(10, 0), true);
        assert!(!due(&cfg, Some(&l), ms(10, 0) + 30_000, at(10, 0)));
        assert!(due(&cfg, Some(&l), ms(10, 1) + 1, at(10, 1)));
        let off = BackupConfig {
            every_minutes: 0,
            ..BackupConfig::default()
        };
        assert!(!due(&off, None, ms(9, 0), at(9, 0)));
    }
}
