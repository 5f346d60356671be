//! `parchi-desktop`, the counter clerk's app: a thin Tauri 2 shell over `parchi-app`.
//!
//! This crate only wires: it opens (or, on a fresh machine, initialises) the counter's store,
//! keeps the logged-in session, exposes the use cases as Tauri commands, and creates the window.
//! Every rule (validation, which departments may be picked, who may do what, settings) lives in
//! `parchi-app`; the web front end in `ui/` only presents.
//!
//! **Architecture Invariant:** nothing here logs patient data. The only lines this process
//! writes are the data directory at start-up, error codes, and the bench timings.

mod commands;
mod wire;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use parchi_app::sync::SyncWorker;
use parchi_app::{Counter, Session, SystemEnv};

pub use wire::{PatientForm, UiError};

/// What the shell holds between commands.
pub struct AppState {
    pub(crate) data_dir: PathBuf,
    /// The counter, or why it could not be opened (shown on the first screen).
    pub(crate) counter: Mutex<Result<Counter, UiError>>,
    /// A second connection for the status bar's poll (opened on first use), so that counting
    /// what waits to sync never holds up the lock that registration and search take.
    pub(crate) status: Mutex<Option<Counter>>,
    /// True when this start initialised the data directory from the embedded configuration.
    pub(crate) created: bool,
    pub(crate) session: Mutex<Option<Session>>,
    pub(crate) started: Instant,
    /// Syncs in the background on its own connection; registration never waits for it.
    pub(crate) _sync: Option<SyncWorker>,
    /// Takes the scheduled backups (configuration `[backup]`) on its own connection.
    pub(crate) backup: Option<parchi_app::schedule::BackupWorker>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("data_dir", &self.data_dir)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens the counter in the data directory, initialising it on embedded defaults if empty.
    pub fn open(started: Instant) -> AppState {
        let data_dir = parchi_app::desktop::data_dir();
        let (counter, created) = match Counter::open_or_init_default(&data_dir, Box::new(SystemEnv))
        {
            Ok((c, created)) => {
                // Search and registration touch a small hot set; the OS file cache holds the rest.
                if let Err(e) = c.set_cache_kib(UI_CACHE_KIB) {
                    eprintln!(
                        "parchi-desktop: keeping SQLite's default cache ({})",
                        e.code()
                    );
                }
                (Ok(c), created)
            }
            Err(e) => (Err(UiError::from(e)), false),
        };
        let sync = counter
            .is_ok()
            .then(|| SyncWorker::spawn(data_dir.clone(), sync_interval(), || Box::new(SystemEnv)));
        let backup = counter.is_ok().then(|| {
            parchi_app::schedule::BackupWorker::spawn(
                data_dir.clone(),
                Duration::from_secs(60),
                || Box::new(SystemEnv),
            )
        });
        AppState {
            data_dir,
            counter: Mutex::new(counter),
            status: Mutex::new(None),
            created,
            session: Mutex::new(None),
            started,
            _sync: sync,
            backup,
        }
    }
}

/// The page cache of the connection search and registration use, in KiB. Measured at 1M
/// patients (`scripts/bench-desktop`): keystroke-to-results latency is the same as with 32 MB.
pub const UI_CACHE_KIB: u32 = 8_192;

/// Seconds between background sync rounds: `$PARCHI_SYNC_INTERVAL_SECS`, else 10. (While the
/// hub is unreachable the worker backs off, up to five minutes.)
fn sync_interval() -> Duration {
    let secs = std::env::var("PARCHI_SYNC_INTERVAL_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|s| (1..=3600).contains(s))
        .unwrap_or(10);
    Duration::from_secs(secs)
}

/// Builds and runs the app. Returns when the window closes.
pub fn run(started: Instant) -> Result<(), tauri::Error> {
    let state = AppState::open(started);
    match &*state.counter.lock().unwrap_or_else(|p| p.into_inner()) {
        Ok(_) => eprintln!("parchi-desktop: data in {}", state.data_dir.display()),
        Err(e) => eprintln!(
            "parchi-desktop: cannot open the data in {} ({})",
            state.data_dir.display(),
            e.code
        ),
    }
    tauri::Builder::default()
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            commands::app_state,
            commands::ui_ready,
            commands::first_admin,
            commands::login,
            commands::logout,
            commands::set_language,
            commands::departments_today,
            commands::check_patient,
            commands::register,
            commands::search,
            commands::new_visit,
            commands::cancel_visit,
            commands::reprint,
            commands::slip_preview,
            commands::print_slip,
            commands::todays_visits,
            commands::visit_detail,
            commands::day_report,
            commands::sync_status,
            commands::backup_status,
            commands::mirror_status,
            commands::sync_now,
            commands::enroll,
            commands::counters_overview,
            commands::users,
            commands::add_user,
            commands::set_user_disabled,
            commands::duplicates,
            commands::merge,
            commands::not_duplicate,
            commands::conflicts,
            commands::link_run,
            commands::link_review,
            commands::link_accept,
            commands::link_reject,
            commands::link_new,
            commands::settings,
            commands::save_settings,
        ])
        .run(tauri::generate_context!())
}
