//! When a scheduled backup falls due: the one rule the counters and the hub share.
//!
//! A backup is due when there has been none, when `every` has passed since the last good one,
//! or at the first check at or after the day-end time when the last good one was before it
//! that day. After a failed attempt the next waits [`RETRY_AFTER_MS`], so a full disk is not
//! hammered.

/// After a failed backup, the next attempt waits this long.
pub const RETRY_AFTER_MS: u64 = 60_000;

const DAY_MS: u64 = 86_400_000;

/// How often, and at what local time of day, an installation backs itself up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackupSchedule {
    /// Milliseconds between backups; 0 turns the schedule off (day end included).
    pub every_ms: u64,
    /// The day-end backup's local time, in minutes after midnight.
    pub day_end_minute: Option<u32>,
}

/// What is known of the backups taken so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackupHistory {
    /// When the last good backup was taken (Unix ms).
    pub last_ok_ms: Option<u64>,
    /// When the last attempt failed, if it was the latest attempt (Unix ms).
    pub last_failed_ms: Option<u64>,
}

impl BackupSchedule {
    /// Whether a backup is due at `now_ms`, which is `local_ms_of_day` after local midnight.
    pub fn due(&self, history: BackupHistory, now_ms: u64, local_ms_of_day: u64) -> bool {
        if self.every_ms == 0 {
            return false;
        }
        if history
            .last_failed_ms
            .is_some_and(|f| now_ms.saturating_sub(f) < RETRY_AFTER_MS)
        {
            return false;
        }
        let Some(ok) = history.last_ok_ms else {
            return true;
        };
        if now_ms.saturating_sub(ok) >= self.every_ms {
            return true;
        }
        let Some(end) = self.day_end_minute else {
            return false;
        };
        let end_ms = u64::from(end) * 60_000;
        let of_day = local_ms_of_day % DAY_MS;
        if of_day < end_ms {
            return false;
        }
        let end_today_ms = now_ms.saturating_sub(of_day).saturating_add(end_ms);
        ok < end_today_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;
    /// Midnight of some local day, in Unix ms (the offset does not matter to the rule).
    const MIDNIGHT: u64 = 1_780_272_000_000;

    fn at(h: u64, m: u64) -> (u64, u64) {
        let of_day = (h * 60 + m) * MIN;
        (MIDNIGHT + of_day, of_day)
    }

    fn ok_at(ms: u64) -> BackupHistory {
        BackupHistory {
            last_ok_ms: Some(ms),
            last_failed_ms: None,
        }
    }

    const DAILY_AT_17: BackupSchedule = BackupSchedule {
        every_ms: 15 * MIN,
        day_end_minute: Some(17 * 60),
    };

    #[test]
    fn the_first_backup_is_due_at_once_and_the_next_after_the_interval() {
        let (now, of_day) = at(9, 0);
        assert!(DAILY_AT_17.due(BackupHistory::default(), now, of_day));
        let (t, d) = at(9, 14);
        assert!(!DAILY_AT_17.due(ok_at(now), t, d));
        let (t, d) = at(9, 15);
        assert!(DAILY_AT_17.due(ok_at(now), t, d));
    }

    #[test]
    fn day_end_is_due_once_at_or_after_its_time() {
        let day = BackupSchedule {
            every_ms: 24 * 60 * MIN,
            day_end_minute: Some(17 * 60),
        };
        let (morning, _) = at(10, 0);
        let (t, d) = at(16, 59);
        assert!(!day.due(ok_at(morning), t, d), "not before its time");
        let (t, d) = at(17, 0);
        assert!(day.due(ok_at(morning), t, d), "at its time");
        assert!(!day.due(ok_at(t), t + MIN, d + MIN), "once");
        let (late, late_d) = at(23, 0);
        assert!(
            day.due(ok_at(morning), late, late_d),
            "late, if it was missed"
        );
        // The next day: not due again until 17:00 (or the interval).
        let (t, d) = at(17, 5);
        assert!(!day.due(ok_at(t), t + 20 * 60 * MIN, (d + 20 * 60 * MIN) % DAY_MS));
    }

    #[test]
    fn a_failure_waits_a_minute_and_an_interval_of_zero_turns_it_all_off() {
        let (t, d) = at(17, 0);
        let failed = BackupHistory {
            last_ok_ms: None,
            last_failed_ms: Some(t),
        };
        assert!(!DAILY_AT_17.due(failed, t + 59_000, d + 59_000));
        assert!(DAILY_AT_17.due(failed, t + MIN, d + MIN));
        let off = BackupSchedule {
            every_ms: 0,
            day_end_minute: Some(17 * 60),
        };
        assert!(!off.due(BackupHistory::default(), t, d));
    }
}
