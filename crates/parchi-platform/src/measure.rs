//! This process's memory and CPU time, for the benchmarks that print them beside their
//! timings. Linux reads `/proc/self`; other OSes answer `None` (a benchmark then prints 0 or
//! leaves the figure out) until someone needs them there.

use std::time::Duration;

/// A memory figure of this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memory {
    /// The resident set now (`VmRSS`).
    Resident,
    /// The peak resident set since the start or the last [`reset_peak_memory`] (`VmHWM`).
    Peak,
}

impl Memory {
    fn status_field(self) -> &'static str {
        match self {
            Memory::Resident => "VmRSS:",
            Memory::Peak => "VmHWM:",
        }
    }
}

/// The figure in KiB, or `None` where this OS does not tell.
pub fn memory_kib(which: Memory) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        status_kib(&status, which)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = which;
        None
    }
}

/// Resets the peak resident set to the current one (Linux: `5` into `clear_refs`), so the
/// peak measured next is that of the work that follows. Whether it was reset.
pub fn reset_peak_memory() -> bool {
    #[cfg(target_os = "linux")]
    {
        std::fs::write("/proc/self/clear_refs", "5").is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// The CPU time this process has used (user + system), or `None` where this OS does not
/// tell: on a shared machine the wall clock also counts other people's work.
pub fn cpu_time() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        stat_cpu_time(&stat)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// A figure of a `/proc/PID/status` text, in KiB.
fn status_kib(status: &str, which: Memory) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with(which.status_field()))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// utime + stime of a `/proc/PID/stat` text.
fn stat_cpu_time(stat: &str) -> Option<Duration> {
    // The fields after the parenthesised command name (which may itself hold spaces and
    // parentheses); utime and stime are the 12th and 13th of those.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel counts in clock ticks; USER_HZ is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str =
        "Name:\tbench\nVmPeak:\t  999 kB\nVmHWM:\t  51200 kB\nVmRSS:\t  40960 kB\n";

    #[test]
    fn status_figures_are_read_by_name() {
        assert_eq!(status_kib(STATUS, Memory::Peak), Some(51200));
        assert_eq!(status_kib(STATUS, Memory::Resident), Some(40960));
        assert_eq!(status_kib("Name:\tx\n", Memory::Peak), None);
    }

    #[test]
    fn cpu_time_adds_user_and_system_ticks_after_an_awkward_name() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime stime ...
        let stat = "42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1";
        assert_eq!(stat_cpu_time(stat), Some(Duration::from_millis(3000)));
        assert_eq!(stat_cpu_time("42 (short) S 1"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_reports_this_process() {
        assert!(memory_kib(Memory::Resident).is_some_and(|k| k > 0));
        assert!(memory_kib(Memory::Peak).is_some_and(|k| k > 0));
        // One snapshot: the kernel reports the peak as at least the resident set in the same
        // read (two reads apart see other test threads allocate in between).
        let status = std::fs::read_to_string("/proc/self/status").expect("status");
        let rss = status_kib(&status, Memory::Resident).expect("VmRSS");
        let peak = status_kib(&status, Memory::Peak).expect("VmHWM");
        assert!(rss > 0 && peak >= rss, "rss {rss} peak {peak}");
        assert!(cpu_time().is_some());
    }
}
