//! `parchi-desktop`, the counter clerk's app: a thin Tauri 2 shell over `parchi-app`.
//!
//! This crate only wires: it opens the counter's store (or, on a fresh machine, offers the
//! first-run setup and opens what it creates),
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
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parchi_app::sync::SyncWorker;
use parchi_app::{Counter, Session, SystemEnv};

pub use wire::{PatientForm, UiError};

/// What the shell holds between commands.
pub struct AppState {
    pub(crate) data_dir: PathBuf,
    /// The counter, or why it could not be opened (shown on the first screen): [`NEEDS_SETUP`]
    /// while the data directory is empty.
    pub(crate) counter: Mutex<Result<Counter, UiError>>,
    /// A second connection for the status bar's poll (opened on first use), so that counting
    /// what waits to sync never holds up the lock that registration and search take.
    pub(crate) status: Mutex<Option<Counter>>,
    /// True once this run set the counter up on the built-in example hospital.
    pub(crate) created: AtomicBool,
    pub(crate) session: Mutex<Option<Session>>,
    pub(crate) started: Instant,
    /// Syncs in the background on its own connection; registration never waits for it.
    pub(crate) sync: Mutex<Option<SyncWorker>>,
    /// Takes the scheduled backups (configuration `[backup]`) on its own connection.
    pub(crate) backup: Mutex<Option<parchi_app::schedule::BackupWorker>>,
}

/// The error code of every counter command while the data directory is empty.
pub(crate) const NEEDS_SETUP: &str = "needs_setup";

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("data_dir", &self.data_dir)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Opens the counter in the data directory; an empty one waits for the first-run setup.
    pub fn open(started: Instant) -> AppState {
        let data_dir = parchi_app::desktop::data_dir();
        let state = AppState {
            counter: Mutex::new(Err(UiError::new(
                NEEDS_SETUP,
                "this counter is not set up yet: finish the setup first",
            ))),
            data_dir,
            status: Mutex::new(None),
            created: AtomicBool::new(false),
            session: Mutex::new(None),
            started,
            sync: Mutex::new(None),
            backup: Mutex::new(None),
        };
        if parchi_app::desktop::is_initialised(&state.data_dir) {
            match Counter::open(&state.data_dir, Box::new(SystemEnv)) {
                Ok(c) => {
                    if let Err(e) = state.opened(c, false) {
                        eprintln!("parchi-desktop: {}", e.code);
                    }
                }
                Err(e) => {
                    *state.counter.lock().unwrap_or_else(|p| p.into_inner()) =
                        Err(UiError::from(e));
                }
            }
        }
        state
    }

    /// Puts an opened (or just set up) counter in place and starts its background workers.
    pub(crate) fn opened(&self, c: Counter, demo: bool) -> Result<(), UiError> {
        // Search and registration touch a small hot set, larger with the hospital's index
        // held here; the OS file cache holds the rest.
        if let Err(e) = c.search_cache_kib().and_then(|kib| c.set_cache_kib(kib)) {
            eprintln!(
                "parchi-desktop: keeping SQLite's default cache ({})",
                e.code()
            );
        }
        *self.counter.lock().map_err(|_| UiError::busy())? = Ok(c);
        self.created.store(demo, Ordering::Relaxed);
        let dir = self.data_dir.clone();
        *self.sync.lock().map_err(|_| UiError::busy())? =
            Some(SyncWorker::spawn(dir.clone(), sync_interval(), || {
                Box::new(SystemEnv)
            }));
        *self.backup.lock().map_err(|_| UiError::busy())? = Some(
            parchi_app::schedule::BackupWorker::spawn(dir, Duration::from_secs(60), || {
                Box::new(SystemEnv)
            }),
        );
        Ok(())
    }
}

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
        Err(e) if e.code == NEEDS_SETUP => eprintln!(
            "parchi-desktop: {} is empty: first-run setup",
            state.data_dir.display()
        ),
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
            commands::setup::setup_start,
            commands::setup::setup_departments_csv,
            commands::setup::setup_test_print,
            commands::setup::setup_finish,
            commands::setup::setup_demo,
            commands::config::config_status,
            commands::config::publish_form,
            commands::config::publish_config,
        ])
        .run(tauri::generate_context!())
}
