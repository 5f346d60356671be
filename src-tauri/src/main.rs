// No console window on Windows release builds; harmless elsewhere.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

fn main() -> ExitCode {
    let started = start::started();
    #[cfg(target_os = "linux")]
    start::reexec_with_env();
    match parchi_desktop::run(started) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parchi-desktop: cannot start the window: {e}");
            ExitCode::FAILURE
        }
    }
}

mod start {
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    /// Carries the first start's wall time across the re-exec, so launch time counts both.
    const STARTED_VAR: &str = "PARCHI_DESKTOP_STARTED_NS";

    /// When this launch began: now, or when the image that re-executed us began.
    pub fn started() -> Instant {
        let now = Instant::now();
        let since_epoch = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or_default();
        std::env::var(STARTED_VAR)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_nanos)
            .and_then(|first| since_epoch(SystemTime::now()).checked_sub(first))
            .filter(|ago| *ago < Duration::from_secs(60))
            .and_then(|ago| now.checked_sub(ago))
            .unwrap_or(now)
    }

    /// Settings WebKitGTK and glibc read from the environment when a process starts, so they
    /// must be there before this process starts (and are inherited by WebKit's web and network
    /// processes). Measured with `scripts/bench-desktop` (src-tauri/BENCH_NOTES.md):
    /// - `WEBKIT_DISABLE_COMPOSITING_MODE`: paint the page on the CPU instead of through
    ///   OpenGL layers. A form has nothing to accelerate; the web process's GL buffers go away
    ///   (about 130 MB) and keystroke-to-results is faster, not slower.
    /// - `MALLOC_ARENA_MAX`: glibc's malloc keeps one arena per thread that ever allocated;
    ///   two are plenty for a UI and bound what freed memory stays resident.
    #[cfg(target_os = "linux")]
    const ENV: [(&str, &str); 2] = [
        ("WEBKIT_DISABLE_COMPOSITING_MODE", "1"),
        ("MALLOC_ARENA_MAX", "2"),
    ];

    /// Re-executes this binary once with [`ENV`] added (a variable already set is left as the
    /// user set it). Setting them in-process would be too late for glibc and racy for GTK's
    /// threads; `exec` keeps the process ID, so tools that launched us still see us.
    #[cfg(target_os = "linux")]
    pub fn reexec_with_env() {
        use std::os::unix::process::CommandExt;
        if ENV.iter().all(|(k, _)| std::env::var_os(k).is_some()) {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let mut cmd = std::process::Command::new(exe);
        if let Some(arg0) = args.next() {
            cmd.arg0(arg0);
        }
        cmd.args(args);
        for (k, v) in ENV {
            if std::env::var_os(k).is_none() {
                cmd.env(k, v);
            }
        }
        if std::env::var_os(STARTED_VAR).is_none() {
            let ns = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos();
            cmd.env(STARTED_VAR, ns.to_string());
        }
        // Returns only if the exec failed: go on without the settings.
        let err = cmd.exec();
        eprintln!("parchi-desktop: starting without the memory settings ({err})");
    }
}
