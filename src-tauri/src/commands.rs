//! The Tauri commands: each checks the session, calls one use case in `parchi-app`, and hands
//! back its result or a [`UiError`]. Commands are `async` so that none runs on the window's
//! thread; the store is behind one lock, so they run one at a time.

use parchi_app::desktop::{
    CounterInfo, CounterState, DepartmentToday, DesktopSettings, PatientCheck, VisitDetail,
};
use parchi_app::link::{LinkDecision, LinkRun, ReviewItem, UPDATABLE};
use parchi_app::mirror::MirrorView;
use parchi_app::reconcile::{ConflictView, DuplicatePair, MergeOutcome};
use parchi_app::sync::SyncStatus;
use parchi_app::{
    AppError, Counter, Found, RegisterRequest, Registration, Report, Role, Session, SystemEnv,
    UserInfo, VisitReceipt,
};
use parchi_core::op::Field;
use serde::Serialize;
use tauri::State;

use crate::AppState;
use crate::wire::{PatientForm, UiError};

type Res<T> = Result<T, UiError>;

fn with_counter<T>(
    state: &AppState,
    f: impl FnOnce(&mut Counter) -> Result<T, AppError>,
) -> Res<T> {
    let mut guard = state.counter.lock().map_err(|_| UiError::busy())?;
    match &mut *guard {
        Ok(c) => f(c).map_err(UiError::from),
        Err(e) => Err(UiError::new(&e.code, e.message.clone())),
    }
}

fn session(state: &AppState) -> Res<Session> {
    state
        .session
        .lock()
        .map_err(|_| UiError::busy())?
        .clone()
        .ok_or_else(UiError::not_logged_in)
}

/// Runs a use case for any logged-in user.
fn clerk<T>(state: &AppState, f: impl FnOnce(&mut Counter) -> Result<T, AppError>) -> Res<T> {
    session(state)?;
    with_counter(state, f)
}

/// Runs a use case for a logged-in admin only.
fn admin<T>(state: &AppState, f: impl FnOnce(&mut Counter) -> Result<T, AppError>) -> Res<T> {
    session(state)?.require_admin()?;
    with_counter(state, f)
}

fn set_session(state: &AppState, s: Option<Session>) -> Res<()> {
    *state.session.lock().map_err(|_| UiError::busy())? = s;
    Ok(())
}

/// What the first screen needs: whether the counter opened, who is logged in, the settings.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AppStateView {
    pub data_dir: String,
    /// True while the data directory is empty: the first screen is the setup.
    pub needs_setup: bool,
    /// True when the counter was set up, in this run, on the built-in example hospital.
    pub created: bool,
    /// Why the counter's data could not be opened, if it could not.
    pub error: Option<UiError>,
    pub info: Option<CounterInfo>,
    pub session: Option<Session>,
    pub settings: Option<DesktopSettings>,
}

#[tauri::command]
pub async fn app_state(state: State<'_, AppState>) -> Res<AppStateView> {
    let data_dir = state.data_dir.display().to_string();
    let loaded = with_counter(&state, |c| Ok((c.counter_info()?, c.desktop_settings()?)));
    let created = state.created.load(std::sync::atomic::Ordering::Relaxed);
    Ok(match loaded {
        Err(e) if e.code == crate::NEEDS_SETUP => AppStateView {
            data_dir,
            needs_setup: true,
            created,
            error: None,
            info: None,
            session: None,
            settings: None,
        },
        Ok((info, settings)) => AppStateView {
            data_dir,
            needs_setup: false,
            created,
            error: None,
            info: Some(info),
            session: session(&state).ok(),
            settings: Some(settings),
        },
        Err(e) => AppStateView {
            data_dir,
            needs_setup: false,
            created,
            error: Some(e),
            info: None,
            session: None,
            settings: None,
        },
    })
}

/// Called by the front end once its first screen takes input. Returns milliseconds since the
/// process started; with `PARCHI_BENCH_READY=1` it also prints them (and with `=exit`, quits).
#[tauri::command]
pub async fn ui_ready(app: tauri::AppHandle, state: State<'_, AppState>) -> Res<u64> {
    let ms = state.started.elapsed().as_millis() as u64;
    match std::env::var("PARCHI_BENCH_READY").as_deref() {
        Ok("1") => println!("parchi-desktop: ready_ms={ms}"),
        Ok("exit") => {
            println!("parchi-desktop: ready_ms={ms}");
            app.exit(0);
        }
        _ => {}
    }
    Ok(ms)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn first_admin(state: State<'_, AppState>, name: String, secret: String) -> Res<Session> {
    let s = with_counter(&state, |c| c.create_first_admin(&name, &secret))?;
    set_session(&state, Some(s.clone()))?;
    Ok(s)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn login(state: State<'_, AppState>, name: String, secret: String) -> Res<Session> {
    let s = with_counter(&state, |c| c.login(&name, &secret))?;
    set_session(&state, Some(s.clone()))?;
    Ok(s)
}

#[tauri::command]
pub async fn logout(state: State<'_, AppState>) -> Res<()> {
    set_session(&state, None)
}

/// The screen language; anyone may switch it, also before logging in.
#[tauri::command(rename_all = "snake_case")]
pub async fn set_language(state: State<'_, AppState>, language: String) -> Res<()> {
    with_counter(&state, |c| c.set_ui_language(&language))
}

#[tauri::command]
pub async fn departments_today(state: State<'_, AppState>) -> Res<Vec<DepartmentToday>> {
    clerk(&state, |c| c.departments_now())
}

/// The server's verdict on the form so far, without saving.
#[tauri::command(rename_all = "snake_case")]
pub async fn check_patient(
    state: State<'_, AppState>,
    patient: PatientForm,
    department: Option<String>,
    uhid: Option<String>,
) -> Res<PatientCheck> {
    clerk(&state, |c| {
        Ok(c.check_patient(&patient.into(), department.as_deref(), uhid.as_deref()))
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn register(
    state: State<'_, AppState>,
    patient: PatientForm,
    department: String,
    uhid: Option<String>,
) -> Res<Registration> {
    clerk(&state, |c| {
        c.register_today(&RegisterRequest {
            patient: patient.into(),
            department,
            uhid: uhid.unwrap_or_default(),
        })
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn search(
    state: State<'_, AppState>,
    query: String,
    limit: Option<usize>,
) -> Res<Vec<Found>> {
    let limit = limit.unwrap_or(parchi_app::SEARCH_LIMIT_DEFAULT);
    clerk(&state, |c| c.search(&query, limit))
}

/// A revisit (patient ID, temporary ID or UHID); a hospital-index hit's UHID registers the
/// patient from the hospital's record, linked to it, when nobody here holds it yet.
#[tauri::command(rename_all = "snake_case")]
pub async fn new_visit(
    state: State<'_, AppState>,
    patient: String,
    department: String,
) -> Res<VisitReceipt> {
    clerk(&state, |c| c.new_visit_today(&patient, &department))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn visit_detail(state: State<'_, AppState>, visit: String) -> Res<VisitDetail> {
    clerk(&state, |c| c.visit_detail(&visit))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn cancel_visit(
    state: State<'_, AppState>,
    visit: String,
    reason: String,
) -> Res<VisitDetail> {
    clerk(&state, |c| {
        c.cancel_visit(&visit, &reason)?;
        c.visit_detail(&visit)
    })
}

/// A reprint (`Counter::reprint`): recorded, then printed marked DUPLICATE. If the printer
/// fails, the reprint stays recorded and the error says so; the PDF is kept inside the
/// encrypted store.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Reprint {
    pub detail: VisitDetail,
    pub printed: Option<PrintJob>,
    pub print_error: Option<UiError>,
}

#[tauri::command(rename_all = "snake_case")]
pub async fn reprint(state: State<'_, AppState>, visit: String) -> Res<Reprint> {
    clerk(&state, |c| {
        let r = c.reprint(&visit, None, true)?;
        let (printed, print_error) = match r.printed {
            Some(Ok(p)) => (
                Some(PrintJob {
                    printer: p.printer,
                    job: p.job_id,
                }),
                None,
            ),
            Some(Err(e)) => (None, Some(UiError::from(e))),
            None => (None, None),
        };
        Ok(Reprint {
            detail: c.visit_detail(&visit)?,
            printed,
            print_error,
        })
    })
}

#[tauri::command]
pub async fn todays_visits(state: State<'_, AppState>) -> Res<Vec<VisitDetail>> {
    clerk(&state, |c| c.todays_list())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn day_report(state: State<'_, AppState>, date: Option<String>) -> Res<Report> {
    admin(&state, |c| {
        let day = Counter::parse_day(date.as_deref())?;
        c.day_report(day)
    })
}

/// The status bar: the hub (if any), whether the last round reached it, what waits. Shown
/// before login too: it holds counts, never patient data. Answered on the status connection,
/// not the counter's, so a keystroke's search never waits behind it.
#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> Res<SyncStatus> {
    let mut status = state.status.lock().map_err(|_| UiError::busy())?;
    let counter = match status.take() {
        Some(c) => c,
        None => Counter::open_side(&state.data_dir, Box::new(SystemEnv))?,
    };
    let answer = counter.sync_status();
    *status = Some(counter);
    Ok(answer?)
}

/// The last backup for the status bar ("last backup 10:15, verified"): a time and flags,
/// never patient data. The backup thread's copy when it has one, else read on the status
/// connection.
#[tauri::command]
pub async fn backup_status(
    state: State<'_, AppState>,
) -> Res<Option<parchi_app::backup::LastBackup>> {
    if let Ok(worker) = state.backup.lock()
        && let Some(w) = &*worker
        && let Ok(slot) = w.status.lock()
        && slot.is_some()
    {
        return Ok(slot.clone());
    }
    let mut status = state.status.lock().map_err(|_| UiError::busy())?;
    let counter = match status.take() {
        Some(c) => c,
        None => Counter::open_side(&state.data_dir, Box::new(SystemEnv))?,
    };
    let answer = counter.last_backup();
    *status = Some(counter);
    Ok(answer?)
}

/// How current this counter's copy of the hospital's index is, for the status bar (counts and a
/// time, never patient data; on the status connection, like `sync_status`).
#[tauri::command]
pub async fn mirror_status(state: State<'_, AppState>) -> Res<MirrorView> {
    let mut status = state.status.lock().map_err(|_| UiError::busy())?;
    let counter = match status.take() {
        Some(c) => c,
        None => Counter::open_side(&state.data_dir, Box::new(SystemEnv))?,
    };
    let answer = counter.mirror_view();
    *status = Some(counter);
    Ok(answer?)
}

/// One sync round now, on its own connection (the counter keeps working meanwhile).
#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>) -> Res<SyncStatus> {
    session(&state)?;
    let dir = state.data_dir.clone();
    let round = tauri::async_runtime::spawn_blocking(move || {
        let mut c = Counter::open_side(&dir, Box::new(SystemEnv))?;
        let outcome = c.sync_once(&mut |_| {});
        let status = c.sync_status()?;
        outcome.map(|_| status)
    })
    .await
    .map_err(|_| UiError::busy())?;
    round.map_err(UiError::from)
}

/// Enrols this counter at a hub with a one-time code from the hub's admin.
#[tauri::command(rename_all = "snake_case")]
pub async fn enroll(state: State<'_, AppState>, hub: String, code: String) -> Res<SyncStatus> {
    admin(&state, |c| {
        c.enroll(&hub, &code)?;
        c.sync_status()
    })
}

#[tauri::command]
pub async fn counters_overview(state: State<'_, AppState>) -> Res<Vec<CounterState>> {
    admin(&state, |c| c.counters_overview())
}

#[tauri::command]
pub async fn users(state: State<'_, AppState>) -> Res<Vec<UserInfo>> {
    admin(&state, |c| c.users())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn add_user(
    state: State<'_, AppState>,
    name: String,
    role: String,
    secret: String,
) -> Res<UserInfo> {
    admin(&state, |c| {
        let role = Role::parse(&role)?;
        c.add_user(&name, role, &secret)
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_user_disabled(
    state: State<'_, AppState>,
    name: String,
    disabled: bool,
) -> Res<Vec<UserInfo>> {
    let me = session(&state)?;
    admin(&state, |c| {
        c.set_user_disabled_by(&me, &name, disabled)?;
        c.users()
    })
}

#[tauri::command]
pub async fn duplicates(state: State<'_, AppState>) -> Res<Vec<DuplicatePair>> {
    admin(&state, |c| c.duplicates())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn merge(
    state: State<'_, AppState>,
    a: String,
    b: String,
    reason: String,
) -> Res<MergeOutcome> {
    admin(&state, |c| c.merge(&a, &b, &reason))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn not_duplicate(
    state: State<'_, AppState>,
    a: String,
    b: String,
    reason: String,
) -> Res<MergeOutcome> {
    admin(&state, |c| c.not_duplicate(&a, &b, &reason))
}

#[tauri::command]
pub async fn conflicts(state: State<'_, AppState>) -> Res<Vec<ConflictView>> {
    admin(&state, |c| c.conflicts())
}

/// Links every undecided patient to the hospital's index (after an outage). Answers the counts;
/// the per-person verdicts are left out (the review queue holds the ones that need an admin).
#[tauri::command]
pub async fn link_run(state: State<'_, AppState>) -> Res<LinkRun> {
    session(&state)?.require_admin()?;
    // On a connection of its own, not the clerk's: matching every patient against the whole
    // index takes minutes at a large hospital, and registrations must not wait behind it (the
    // run writes its verdicts in one short transaction at the end).
    let mut own = Counter::open(&state.data_dir, Box::new(SystemEnv))?;
    let mut run = own.link(&mut |_, _| {})?;
    run.rows = Vec::new();
    Ok(run)
}

/// The link review queue, and the fields an admin may approve for the hospital's record.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LinkQueue {
    pub items: Vec<ReviewItem>,
    pub updatable: &'static [Field],
}

#[tauri::command]
pub async fn link_review(state: State<'_, AppState>) -> Res<LinkQueue> {
    let items = admin(&state, |c| c.link_review())?;
    Ok(LinkQueue {
        items,
        updatable: &UPDATABLE,
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn link_accept(
    state: State<'_, AppState>,
    patient: String,
    uhid: String,
    update: Vec<Field>,
) -> Res<LinkDecision> {
    admin(&state, |c| c.link_accept(&patient, &uhid, &update))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn link_reject(
    state: State<'_, AppState>,
    patient: String,
    uhid: String,
    reason: String,
) -> Res<LinkDecision> {
    admin(&state, |c| c.link_reject(&patient, &uhid, &reason))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn link_new(
    state: State<'_, AppState>,
    patient: String,
    reason: String,
) -> Res<LinkDecision> {
    admin(&state, |c| c.link_new(&patient, &reason))
}

#[tauri::command]
pub async fn settings(state: State<'_, AppState>) -> Res<DesktopSettings> {
    clerk(&state, |c| c.desktop_settings())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn save_settings(
    state: State<'_, AppState>,
    settings: DesktopSettings,
) -> Res<DesktopSettings> {
    admin(&state, |c| c.save_desktop_settings(&settings))
}

/// The slip as the next print makes it, for the screen (`Counter::slip_preview_svg`): an SVG
/// document drawn by parchi-slip from the same layout as the PDF. The front end shows it as an
/// image.
#[tauri::command(rename_all = "snake_case")]
pub async fn slip_preview(state: State<'_, AppState>, visit: String) -> Res<String> {
    clerk(&state, |c| c.slip_preview_svg(&visit))
}

/// A print job on the counter's printer.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PrintJob {
    pub printer: String,
    pub job: String,
}

/// Prints a visit's slip (the original; a reprint goes through `reprint`).
#[tauri::command(rename_all = "snake_case")]
pub async fn print_slip(state: State<'_, AppState>, visit: String) -> Res<PrintJob> {
    let p = clerk(&state, |c| c.print_original(&visit, None))?;
    Ok(PrintJob {
        printer: p.printer,
        job: p.job_id,
    })
}

pub mod config;
pub mod setup;

#[cfg(all(test, feature = "ts"))]
mod bindings;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_review_queue_names_the_fields_the_ui_sends_back() {
        let q = LinkQueue {
            items: Vec::new(),
            updatable: &UPDATABLE,
        };
        let json = serde_json::to_value(&q).unwrap_or_default();
        let names: Vec<&str> = json["updatable"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(
            names,
            [
                "mobile",
                "locality",
                "district",
                "state",
                "pincode",
                "abha_number",
                "abha_address"
            ]
        );
        let back: Vec<Field> =
            serde_json::from_value(json["updatable"].clone()).unwrap_or_default();
        assert_eq!(back, UPDATABLE);
    }
}
