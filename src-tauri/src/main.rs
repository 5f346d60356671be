// No console window on Windows release builds; harmless elsewhere.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

fn main() -> ExitCode {
    let started = start::started();
    if parchi_platform::webview() == parchi_platform::Webview::WebKitGtk {
        start::reexec_with_env();
    }
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
    const ENV: [(&str, &str); 2] = [
        ("WEBKIT_DISABLE_COMPOSITING_MODE", "1"),
        ("MALLOC_ARENA_MAX", "2"),
    ];

    /// Re-executes this binary once with [`ENV`] added (a variable already set is left as the
    /// user set it), on WebKitGTK only. Setting them in-process would be too late for glibc and
    /// racy for GTK's threads; `exec` keeps the process ID, so tools that launched us still see
    /// us (`parchi_platform::reexec_with_env`).
    pub fn reexec_with_env() {
        if ENV.iter().all(|(k, _)| std::env::var_os(k).is_some()) {
            return;
        }
        let ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_string();
        let mut vars = ENV.to_vec();
        vars.push((STARTED_VAR, &ns));
        // Returns only if the exec failed: go on without the settings.
        let err = parchi_platform::reexec_with_env(&vars);
        eprintln!("parchi-desktop: starting without the memory settings ({err})");
    }
}
