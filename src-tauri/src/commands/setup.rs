//! First-run setup, while the data directory is empty: the department CSV read into the table,
//! the test print, and finishing (the hospital's own setup, or the example hospital for a demo).
//! The rules are `parchi_app::setup`'s; here the new counter is put where the other commands
//! find it and the background workers are started.

use parchi_app::setup::{self, SetupDepartment, SetupDone, SetupForm, SetupStart};
use parchi_app::{AppError, Counter, SystemEnv};
use tauri::State;

use super::{PrintJob, Res};
use crate::AppState;
use crate::wire::UiError;

/// Refuses once a counter is open here: setup is for an empty data directory only.
fn require_setup(state: &AppState) -> Res<()> {
    let guard = state.counter.lock().map_err(|_| UiError::busy())?;
    match &*guard {
        Err(e) if e.code == crate::NEEDS_SETUP => Ok(()),
        _ => Err(UiError::from(AppError::Denied(
            "this counter is already set up; an admin changes it in the settings".into(),
        ))),
    }
}

/// The setup form's defaults and choices.
#[tauri::command]
pub async fn setup_start(state: State<'_, AppState>) -> Res<SetupStart> {
    require_setup(&state)?;
    Ok(setup::start())
}

/// Reads a departments CSV (code, name, name_local, room, days, fee) into the setup table.
#[tauri::command(rename_all = "snake_case")]
pub async fn setup_departments_csv(
    state: State<'_, AppState>,
    csv: String,
) -> Res<Vec<SetupDepartment>> {
    require_setup(&state)?;
    Ok(setup::departments_from_csv(&csv)?)
}

/// Prints a test slip (no patient on it) on the printer the form names.
#[tauri::command(rename_all = "snake_case")]
pub async fn setup_test_print(state: State<'_, AppState>, form: SetupForm) -> Res<PrintJob> {
    require_setup(&state)?;
    let job = setup::test_print(&form)?;
    Ok(PrintJob {
        printer: job.printer,
        job: job.job_id,
    })
}

/// Sets the counter up from the form; the first admin is created next, on the login screen.
#[tauri::command(rename_all = "snake_case")]
pub async fn setup_finish(state: State<'_, AppState>, form: SetupForm) -> Res<SetupDone> {
    require_setup(&state)?;
    let (counter, done) = Counter::first_run(&state.data_dir, &form, Box::new(SystemEnv))?;
    state.opened(counter, false)?;
    Ok(done)
}

/// Sets the counter up as counter A of the built-in example hospital, for a demonstration.
#[tauri::command]
pub async fn setup_demo(state: State<'_, AppState>) -> Res<()> {
    require_setup(&state)?;
    let counter = Counter::init_demo(&state.data_dir, Box::new(SystemEnv))?;
    state.opened(counter, true)
}
