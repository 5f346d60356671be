//! Which of this installation's backups a directory keeps after a scheduled backup: the newest
//! few, and the newest of each of the last days. Every 15 minutes a counter writes one, so a
//! USB drive or a share that kept them all would fill in weeks; thinned like this, it holds
//! today's recent copies and one per day for a month.
//!
//! Only files named like this site's backups (`parchi-COUNTER-TAG-YYYYMMDD-HHMMSS-xxxx.pbk`)
//! are considered, so counters sharing a directory never prune each other's. The hub's copies
//! are append-only and pruned only by its admin (`parchi hub backups prune`).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

/// How many backups a directory keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// The newest this many, whatever their day.
    pub recent: usize,
    /// And the newest of each day, for this many days back from today (today included).
    pub days: u32,
}

/// The day a backup file of `prefix` was taken, from its name.
fn day_of(name: &str, prefix: &str) -> Option<NaiveDate> {
    let rest = name.strip_prefix(prefix)?;
    NaiveDate::parse_from_str(rest.get(..8)?, "%Y%m%d").ok()
}

/// The files of `names` (this site's backups, by `prefix`) that `keep` lets go, oldest first.
/// Names carry the time, so they sort by age.
pub fn to_delete(names: &[String], prefix: &str, keep: Retention, today: NaiveDate) -> Vec<String> {
    let mut ours: Vec<(&String, NaiveDate)> = names
        .iter()
        .filter_map(|n| day_of(n, prefix).map(|d| (n, d)))
        .collect();
    ours.sort();
    let n = ours.len();
    let oldest_daily = today - chrono::Days::new(u64::from(keep.days.saturating_sub(1)));
    ours.iter()
        .enumerate()
        .filter(|&(i, &(_, day))| {
            let recent = i + keep.recent >= n;
            let last_of_its_day = ours.get(i + 1).is_none_or(|next| next.1 != day);
            let daily = keep.days > 0 && day >= oldest_daily && last_of_its_day;
            !(recent || daily)
        })
        .map(|(_, (name, _))| (*name).clone())
        .collect()
}

/// Deletes from `dir` this site's backups (`prefix`, `.{extension}`) that `keep` lets go. A
/// file that cannot be deleted stays (the next backup tries again).
pub fn prune(dir: &Path, prefix: &str, extension: &str, keep: Retention, today: NaiveDate) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let names: Vec<String> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some(extension))
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .collect();
    for name in to_delete(&names, prefix, keep, today) {
        let _ = std::fs::remove_file(PathBuf::from(dir).join(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "parchi-A-7KQ-";

    fn name(day: u32, time: &str) -> String {
        format!("{PREFIX}202611{day:02}-{time}-ab12.pbk")
    }

    #[test]
    fn keeps_the_newest_and_one_a_day_for_the_last_days() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).expect("day");
        let mut names = Vec::new();
        for day in 1..=30 {
            for time in ["091500", "131500", "171500"] {
                names.push(name(day, time));
            }
        }
        // Another counter's backups in the same directory, and a file that is not a backup.
        names.push("parchi-B-9XY-20261101-091500-cd34.pbk".into());
        names.push(format!("{PREFIX}notes.pbk"));
        let gone = to_delete(&names, PREFIX, Retention { recent: 4, days: 7 }, today);
        let kept: Vec<&String> = names.iter().filter(|n| !gone.contains(n)).collect();
        let mut expected: Vec<String> = (24..=29).map(|d| name(d, "171500")).collect();
        expected.extend([name(30, "091500"), name(30, "131500"), name(30, "171500")]);
        expected.push("parchi-B-9XY-20261101-091500-cd34.pbk".into());
        expected.push(format!("{PREFIX}notes.pbk"));
        let mut kept: Vec<String> = kept.into_iter().cloned().collect();
        kept.sort();
        expected.sort();
        // Today's three and yesterday's last are the 4 newest; 24 to 29 Nov keep their last.
        assert_eq!(kept, expected);
    }

    #[test]
    fn without_days_only_the_newest_stay() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).expect("day");
        let names: Vec<String> = (1..=6).map(|d| name(d, "120000")).collect();
        let gone = to_delete(&names, PREFIX, Retention { recent: 4, days: 0 }, today);
        assert_eq!(gone, [name(1, "120000"), name(2, "120000")]);
        assert!(to_delete(&names[..3], PREFIX, Retention { recent: 4, days: 0 }, today).is_empty());
    }
}
