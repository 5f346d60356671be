//! Use cases the counter's desktop app needs beyond the core counter ones: starting on embedded
//! defaults, the first admin, today's departments, checking a form as the clerk types, the
//! counter's own settings, and the counters' overview for the admin.
//!
//! The Tauri shell calls these and nothing below them, so the rules (who may do what, which
//! departments a clerk may pick, what a valid setting is) live here and are unit tested, not in
//! the shell or the web front end.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use chrono::{Datelike, NaiveDate};
use parchi_core::patient::{FieldError, PatientInput};
use serde::{Deserialize, Serialize};

use crate::counter::{Counter, PatientSummary, Result};
use crate::env::Env;
use crate::error::AppError;
use crate::users::{Role, Session};

/// The hospital configuration the app starts with when its data directory is empty: the
/// repository's `examples/hospital.toml`, compiled in.
pub const EMBEDDED_CONFIG: &str = include_str!("../../../examples/hospital.toml");

/// The counter an installation on embedded defaults becomes.
pub const DEFAULT_COUNTER: &str = "A";

/// The file the embedded configuration is written to, next to the database, so an admin can see
/// (and later re-apply) what the counter started from.
pub const CONFIG_FILE: &str = "hospital.toml";

/// A department as the picker shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DepartmentToday {
    pub code: String,
    pub name: String,
    pub name_local: String,
    pub room: String,
    /// The general fee in rupees (waived categories pay nothing).
    pub fee: u32,
    /// "Mon, Wed, Fri"
    pub days: String,
}

/// What the desktop shows in its header and uses to decide the first screen.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CounterInfo {
    pub hospital: String,
    pub hospital_local: Option<String>,
    pub counter: String,
    pub counter_name: Option<String>,
    pub site_tag: String,
    pub today: NaiveDate,
    /// "Mon" … "Sun"
    pub weekday: String,
    /// True until the first admin account exists.
    pub needs_first_admin: bool,
    pub categories: Vec<&'static str>,
    /// Categories that pay no fee.
    pub waived: Vec<&'static str>,
}

/// The result of checking a form without saving it.
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PatientCheck {
    /// Problems that block saving, one per field at most.
    pub errors: Vec<FieldError>,
    /// Things the clerk should look at that do not block saving.
    pub warnings: Vec<FieldError>,
}

/// This counter's own settings (not synced): where slips print, how they look, which languages
/// the screen and the slip use. The printer, layout and slip language are this counter's copy of
/// the hospital configuration (what printing and the slip renderer read); the screen language is
/// a setting of its own. The hub is shown here but set by enrolling (`Counter::enroll`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DesktopSettings {
    /// The CUPS queue slips print to; empty means the system default printer.
    pub printer: String,
    /// thermal80, a6 or a5.
    pub slip_layout: String,
    /// The screen's language: en or hi.
    pub ui_language: String,
    /// The slip's second language: hi or bn.
    pub slip_language: String,
    /// The hub this counter is enrolled at (read only here); empty when it syncs with none.
    #[serde(default)]
    pub hub: String,
}

/// One counter as the admin's overview shows it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CounterState {
    pub code: String,
    pub name: Option<String>,
    /// True for the counter this app runs as.
    pub this_counter: bool,
    /// Registrations from that counter today that this counter has seen (its own, or pulled).
    pub registrations_today: u32,
    /// Changes written here that wait for the hub (this counter only).
    pub pending: Option<u64>,
    /// Changes the hub refused (this counter only).
    pub rejected: Option<u64>,
}

/// A visit as the token screen, today's list and the slip preview show it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitView {
    pub id: String,
    pub patient_id: String,
    pub token: String,
    pub department: String,
    pub department_name: String,
    pub department_local: String,
    pub room: String,
    pub day: NaiveDate,
    /// Local time of issue, `HH:MM`.
    pub issued_at: String,
    /// The last day the slip is valid (the hospital's `slip_valid_days`, the day of issue
    /// included).
    pub valid_until: NaiveDate,
    pub fee: u32,
    pub category: String,
    pub cancelled: bool,
    pub cancel_reason: Option<String>,
    pub reprints: u32,
}

/// A visit with its patient.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitDetail {
    pub visit: VisitView,
    pub patient: PatientSummary,
}

const SLIP_LAYOUTS: [&str; 3] = ["thermal80", "a6", "a5"];
const UI_LANGUAGES: [&str; 2] = ["en", "hi"];
const SLIP_LANGUAGES: [&str; 2] = ["hi", "bn"];

const KEY_UI_LANGUAGE: &str = "desktop.ui_language";

impl Session {
    /// Refuses anyone but an admin.
    pub fn require_admin(&self) -> Result<()> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(AppError::Denied(
                "only an admin may do this; log in as an admin".into(),
            ))
        }
    }
}

/// The data directory: `$PARCHI_DATA`, else `$XDG_DATA_HOME/parchi`, else
/// `~/.local/share/parchi` (the same rule as the `parchi` command line).
pub fn data_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(d) = var("PARCHI_DATA") {
        return PathBuf::from(d);
    }
    if let Some(x) = var("XDG_DATA_HOME") {
        return PathBuf::from(x).join("parchi");
    }
    match var("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/parchi"),
        None => PathBuf::from(".parchi-data"),
    }
}

/// Whether a data directory already holds a counter.
pub fn is_initialised(dir: &Path) -> bool {
    dir.join("parchi.db").exists()
}

impl Counter {
    /// Opens the counter in `dir`, or, when the directory holds none, initialises it from the
    /// embedded configuration as counter [`DEFAULT_COUNTER`]. Returns whether it was created.
    pub fn open_or_init_default(dir: &Path, env: Box<dyn Env>) -> Result<(Counter, bool)> {
        if is_initialised(dir) {
            return Ok((Counter::open(dir, env)?, false));
        }
        std::fs::create_dir_all(dir).map_err(|e| {
            AppError::Invalid(format!(
                "cannot create the data directory {}: {e}; set PARCHI_DATA to a writable directory",
                dir.display()
            ))
        })?;
        let config_path = dir.join(CONFIG_FILE);
        if !config_path.exists() {
            std::fs::write(&config_path, EMBEDDED_CONFIG).map_err(|e| {
                AppError::Invalid(format!(
                    "cannot write {}: {e}; set PARCHI_DATA to a writable directory",
                    config_path.display()
                ))
            })?;
        }
        Ok((
            Counter::init(dir, &config_path, DEFAULT_COUNTER, env)?,
            true,
        ))
    }

    /// The header: hospital, counter, today, and whether the first admin is still to be made.
    pub fn counter_info(&self) -> Result<CounterInfo> {
        let code = self.counter_code().clone();
        let today = self.today();
        Ok(CounterInfo {
            hospital: self.config().hospital.name.clone(),
            hospital_local: self.config().hospital.name_local.clone(),
            counter: code.to_string(),
            counter_name: self
                .config()
                .counters
                .iter()
                .find(|c| c.code == code)
                .and_then(|c| c.name.clone()),
            site_tag: self.store().site().tag.as_str().to_owned(),
            today,
            weekday: today.weekday().to_string(),
            needs_first_admin: self.store().users()?.is_empty(),
            categories: crate::counter::categories(),
            waived: self.config().fees.waived.iter().map(|c| c.code()).collect(),
        })
    }

    /// A stored visit with its department's name and room, and the slip's validity.
    pub fn visit_view(&self, v: &parchi_store::VisitRecord) -> VisitView {
        let dept = self.config().department(v.department.as_str());
        let valid_days = self.config().hospital.slip_valid_days.max(1);
        VisitView {
            id: v.id.to_string(),
            patient_id: v.patient.to_string(),
            token: v.token.to_string(),
            department: v.department.to_string(),
            department_name: dept.map(|d| d.name.clone()).unwrap_or_default(),
            department_local: dept.map(|d| d.name_local.clone()).unwrap_or_default(),
            room: dept.map(|d| d.room.clone()).unwrap_or_default(),
            day: v.day,
            issued_at: self
                .local_time_of(v.created_hlc)
                .format("%H:%M")
                .to_string(),
            valid_until: v
                .day
                .checked_add_days(chrono::Days::new(u64::from(valid_days - 1)))
                .unwrap_or(v.day),
            fee: v.fee,
            category: v.category.clone(),
            cancelled: v.cancelled,
            cancel_reason: v.cancel_reason.clone(),
            reprints: v.reprints,
        }
    }

    /// One visit (by visit ID) with its patient.
    pub fn visit_detail(&self, visit: &str) -> Result<VisitDetail> {
        let v = self.visit(visit)?;
        Ok(VisitDetail {
            patient: self.patient(&v.patient.to_string())?,
            visit: self.visit_view(&v),
        })
    }

    /// Today's visits at this counter, newest first, as the clerk's list shows them.
    pub fn todays_list(&self) -> Result<Vec<VisitDetail>> {
        let mut out: Vec<VisitDetail> = self
            .todays_visits()?
            .into_iter()
            .map(|(v, patient)| VisitDetail {
                visit: self.visit_view(&v),
                patient,
            })
            .collect();
        out.reverse();
        Ok(out)
    }

    /// The departments running today, in the configuration's order: the only ones a clerk
    /// can pick.
    pub fn departments_today(&self) -> Vec<DepartmentToday> {
        let weekday = self.today().weekday();
        self.config()
            .departments
            .iter()
            .filter(|d| d.runs_on(weekday))
            .map(|d| DepartmentToday {
                code: d.code.to_string(),
                name: d.name.clone(),
                name_local: d.name_local.clone(),
                room: d.room.clone(),
                fee: d.fee,
                days: d.days_text(),
            })
            .collect()
    }

    /// Creates the first admin of a fresh installation. Refused once any account exists, so it
    /// cannot be used to get around the admin's user management.
    pub fn create_first_admin(&mut self, name: &str, secret: &str) -> Result<Session> {
        if !self.store().users()?.is_empty() {
            return Err(AppError::Denied(
                "this counter already has accounts; ask an admin to add yours".into(),
            ));
        }
        let info = self.add_user(name, Role::Admin, secret)?;
        Ok(Session {
            user: info.name,
            role: Role::Admin,
        })
    }

    /// Checks a registration form exactly as [`Counter::register`] would, without writing.
    pub fn check_patient(
        &self,
        input: &PatientInput,
        department: Option<&str>,
        uhid: Option<&str>,
    ) -> PatientCheck {
        let mut check = PatientCheck::default();
        let validated = input.validate(self.today());
        match &validated {
            Ok(v) => check.warnings = v.warnings.clone(),
            Err(e) => check.errors = first_per_field(e.0.clone()),
        }
        if let Some(text) = uhid.map(str::trim).filter(|u| !u.is_empty()) {
            match self.card_uhid(text) {
                Err(AppError::Validation(e)) => check.errors.extend(e.0),
                Err(_) => {}
                Ok(u) => {
                    if let Ok(v) = &validated
                        && let Ok(card) = self.card_link(&u, &v.fields)
                    {
                        check.warnings.extend(card.warnings());
                    }
                }
            }
        }
        let closed = department
            .map(|d| d.trim().to_ascii_uppercase())
            .filter(|d| !d.is_empty())
            .is_some_and(|code| !self.departments_today().iter().any(|d| d.code == code));
        if closed {
            check.errors.push(FieldError {
                field: "department",
                code: "closed_today",
                message: "is not running today; pick one from the list".into(),
            });
        }
        check
    }

    /// Registers a patient for a department that runs today (the desktop offers no other).
    pub fn register_today(
        &mut self,
        req: &crate::counter::RegisterRequest,
    ) -> Result<crate::counter::Registration> {
        self.require_open_today(&req.department)?;
        self.register(req)
    }

    /// A revisit to a department that runs today.
    pub fn new_visit_today(
        &mut self,
        patient_ref: &str,
        department: &str,
    ) -> Result<crate::counter::VisitReceipt> {
        self.require_open_today(department)?;
        self.new_visit(patient_ref, department)
    }

    fn require_open_today(&self, department: &str) -> Result<()> {
        let code = department.trim().to_ascii_uppercase();
        if code.is_empty() {
            return Err(AppError::Validation(parchi_core::ValidationErrors::single(
                "department",
                "required",
                "pick a department",
            )));
        }
        if self.config().department(&code).is_none() {
            return Err(AppError::UnknownDepartment {
                code,
                known: self.config().department_codes(),
            });
        }
        if !self.departments_today().iter().any(|d| d.code == code) {
            return Err(AppError::Validation(parchi_core::ValidationErrors::single(
                "department",
                "closed_today",
                "is not running today; pick one from the list",
            )));
        }
        Ok(())
    }

    /// This counter's settings.
    pub fn desktop_settings(&self) -> Result<DesktopSettings> {
        let h = &self.config().hospital;
        Ok(DesktopSettings {
            printer: h.printer.clone().unwrap_or_default(),
            slip_layout: h.slip_layout.clone(),
            ui_language: self
                .store()
                .setting(KEY_UI_LANGUAGE)?
                .unwrap_or_else(|| "en".into()),
            slip_language: h.local_language.clone(),
            hub: self.sync_status()?.hub.unwrap_or_default(),
        })
    }

    /// Validates and saves this counter's settings; every problem is reported by field. The
    /// printer, layout and slip language go into this counter's copy of the hospital
    /// configuration, written to `hospital.toml` in the data directory and applied (validated
    /// against the schema like any configuration).
    pub fn save_desktop_settings(&mut self, s: &DesktopSettings) -> Result<DesktopSettings> {
        let clean = check_settings(s)?;
        let mut cfg = self.config().clone();
        cfg.hospital.printer = (!clean.printer.is_empty()).then(|| clean.printer.clone());
        cfg.hospital.slip_layout = clean.slip_layout.clone();
        cfg.hospital.local_language = clean.slip_language.clone();
        let text = toml::to_string(&cfg)
            .map_err(|e| AppError::Invalid(format!("cannot write the configuration: {e}")))?;
        let path = self.data_dir().join(CONFIG_FILE);
        write_atomically(&path, text.as_bytes())?;
        self.apply_config(&path)?;
        self.store_mut()
            .set_setting(KEY_UI_LANGUAGE, &clean.ui_language)?;
        self.desktop_settings()
    }

    /// A visit's slip as a PNG image, as it prints (marked DUPLICATE once it has been
    /// reprinted), for the preview, returned as bytes (no file is written). Renders the PDF
    /// with poppler's `pdftocairo`.
    pub fn slip_png(&self, visit: &str) -> Result<Vec<u8>> {
        let v = self.visit(visit)?;
        let pdf = self.slip_pdf(visit, None, v.reprints > 0)?;
        pdf_to_png(&pdf, 110)
    }

    /// Only the screen language, which any clerk may switch.
    pub fn set_ui_language(&mut self, language: &str) -> Result<()> {
        let lang = language.trim().to_ascii_lowercase();
        if !UI_LANGUAGES.contains(&lang.as_str()) {
            return Err(AppError::Invalid("language: must be en or hi".into()));
        }
        Ok(self.store_mut().set_setting(KEY_UI_LANGUAGE, &lang)?)
    }

    /// Every configured counter with what this counter knows of it today.
    pub fn counters_overview(&self) -> Result<Vec<CounterState>> {
        let report = self.store().day_report(self.today())?;
        let me = self.counter_code().clone();
        let outbox = self.outbox()?;
        Ok(self
            .config()
            .counters
            .iter()
            .map(|c| {
                let mine = c.code == me;
                CounterState {
                    code: c.code.to_string(),
                    name: c.name.clone(),
                    this_counter: mine,
                    registrations_today: report
                        .by_counter
                        .iter()
                        .find(|r| r.key == c.code.as_str())
                        .map(|r| r.registrations)
                        .unwrap_or(0),
                    pending: mine.then_some(outbox.pending),
                    rejected: mine.then_some(outbox.rejected),
                }
            })
            .collect())
    }
}

fn first_per_field(errors: Vec<FieldError>) -> Vec<FieldError> {
    let mut out: Vec<FieldError> = Vec::new();
    for e in errors {
        if !out.iter().any(|o| o.field == e.field) {
            out.push(e);
        }
    }
    out
}

/// A CUPS queue name: printable, no spaces, slashes or '#' (what `lpadmin -p` accepts).
fn printer_name_ok(s: &str) -> bool {
    s.len() <= 127
        && s.chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '/' | '#' | '\\' | '\'' | '"'))
}

fn check_settings(s: &DesktopSettings) -> Result<DesktopSettings> {
    let mut errs = parchi_core::ValidationErrors::default();
    let clean = DesktopSettings {
        printer: s.printer.trim().to_owned(),
        slip_layout: s.slip_layout.trim().to_ascii_lowercase(),
        ui_language: s.ui_language.trim().to_ascii_lowercase(),
        slip_language: s.slip_language.trim().to_ascii_lowercase(),
        hub: s.hub.trim().to_owned(),
    };
    if !printer_name_ok(&clean.printer) {
        errs.push(
            "printer",
            "format",
            "must be a CUPS printer name: letters, digits, - and _, no spaces",
        );
    }
    if !SLIP_LAYOUTS.contains(&clean.slip_layout.as_str()) {
        errs.push("slip_layout", "format", "must be thermal80, a6 or a5");
    }
    if !UI_LANGUAGES.contains(&clean.ui_language.as_str()) {
        errs.push("ui_language", "format", "must be en or hi");
    }
    if !SLIP_LANGUAGES.contains(&clean.slip_language.as_str()) {
        errs.push("slip_language", "format", "must be hi or bn");
    }
    if errs.is_empty() {
        Ok(clean)
    } else {
        Err(AppError::Validation(errs))
    }
}

/// Writes a file whole or not at all (a temporary file renamed over it).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let fail = |e: std::io::Error| {
        AppError::Invalid(format!(
            "cannot write {}: {e}; check the disk and the data directory's permissions",
            path.display()
        ))
    };
    let mut f = std::fs::File::create(&tmp).map_err(fail)?;
    f.write_all(bytes).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Renders the first page of a PDF as a PNG at `dpi` with poppler's `pdftocairo`, through
/// pipes: the PDF goes in on its standard input and the PNG comes back on its standard output,
/// so the slip (a patient's name) never touches a file.
fn pdf_to_png(pdf: &[u8], dpi: u32) -> Result<Vec<u8>> {
    let unavailable = |why: String| {
        AppError::Invalid(format!(
            "the slip preview needs poppler's pdftocairo (package poppler-utils): {why}"
        ))
    };
    let mut child = Command::new("pdftocairo")
        .args(["-png", "-singlefile", "-r", &dpi.to_string(), "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| unavailable(e.to_string()))?;
    let writer = child.stdin.take().map(|mut stdin| {
        let bytes = pdf.to_vec();
        std::thread::spawn(move || stdin.write_all(&bytes))
    });
    let out = child
        .wait_with_output()
        .map_err(|e| unavailable(e.to_string()))?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    if out.status.success() && out.stdout.starts_with(b"\x89PNG") {
        Ok(out.stdout)
    } else {
        Err(unavailable(format!("it failed ({})", out.status)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedEnv;

    // 2026-11-28 is a Saturday; 10:00 IST.
    const SAT_MS: u64 = 1_795_840_200_000;

    fn fresh() -> (tempfile::TempDir, Counter) {
        let dir = tempfile::tempdir().expect("tmp");
        let (c, created) = Counter::open_or_init_default(
            &dir.path().join("data"),
            Box::new(FixedEnv::new(SAT_MS, 7)),
        )
        .expect("init");
        assert!(created);
        (dir, c)
    }

    fn patient() -> PatientInput {
        PatientInput {
            name: "Sunita Devi".into(),
            sex: "F".into(),
            age: "34".into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_empty_directory_starts_on_the_embedded_configuration_and_reopens() {
        let (dir, c) = fresh();
        let info = c.counter_info().expect("info");
        assert_eq!(info.counter, "A");
        assert_eq!(info.hospital, "District Hospital, Patna");
        assert!(info.needs_first_admin);
        assert!(dir.path().join("data").join(CONFIG_FILE).exists());
        drop(c);
        let (c, created) = Counter::open_or_init_default(
            &dir.path().join("data"),
            Box::new(FixedEnv::new(SAT_MS, 8)),
        )
        .expect("reopen");
        assert!(!created);
        assert_eq!(c.counter_info().expect("info").site_tag, info.site_tag);
    }

    #[test]
    fn the_first_admin_can_be_created_once_only() {
        let (_d, mut c) = fresh();
        let s = c
            .create_first_admin("Admin", "correct horse")
            .expect("admin");
        assert_eq!(s.role, Role::Admin);
        assert!(!c.counter_info().expect("info").needs_first_admin);
        assert_eq!(
            c.create_first_admin("other", "correct horse")
                .map_err(|e| e.code())
                .err(),
            Some("denied")
        );
        let clerk = Session {
            user: "asha".into(),
            role: Role::Clerk,
        };
        assert_eq!(clerk.require_admin().map_err(|e| e.code()), Err("denied"));
        assert!(s.require_admin().is_ok());
    }

    #[test]
    fn only_departments_running_today_are_offered_and_accepted() {
        let (_d, mut c) = fresh();
        let codes: Vec<String> = c.departments_today().into_iter().map(|d| d.code).collect();
        // Saturday: surgery, ENT, dermatology do not run; orthopaedics, eye, psychiatry do.
        assert!(codes.contains(&"MED".to_string()) && codes.contains(&"ORT".to_string()));
        assert!(!codes.contains(&"SUR".to_string()) && !codes.contains(&"ENT".to_string()));
        let req = crate::RegisterRequest {
            patient: patient(),
            department: "SUR".into(),
            uhid: String::new(),
        };
        let e = c.register_today(&req).expect_err("closed");
        assert_eq!(e.code(), "validation");
        assert_eq!(e.fields().map(|f| f.0[0].field), Some("department"));
        let e = c
            .register_today(&crate::RegisterRequest {
                patient: patient(),
                department: "XYZ".into(),
                uhid: String::new(),
            })
            .expect_err("unknown");
        assert_eq!(e.code(), "unknown_department");
        let r = c
            .register_today(&crate::RegisterRequest {
                patient: patient(),
                department: "med".into(),
                uhid: String::new(),
            })
            .expect("open");
        assert!(r.token.starts_with("A-"));
        let v = c.new_visit_today(&r.temp_id, "ORT").expect("revisit");
        assert_eq!(v.department, "ORT");
        assert!(c.new_visit_today(&r.temp_id, "ENT").is_err());
    }

    #[test]
    fn what_the_screens_show_never_prints_patient_data_in_debug() {
        let (_d, mut c) = fresh();
        let mut p = patient();
        p.mobile = "9876543210".into();
        let r = c
            .register_today(&crate::RegisterRequest {
                patient: p,
                department: "MED".into(),
                uhid: String::new(),
            })
            .expect("register");
        let found = c.search("Sunita", 5).expect("search");
        let history = c.history(&r.temp_id).expect("history");
        let detail = c.todays_visits().expect("today");
        assert!(!found.is_empty() && !history.is_empty() && !detail.is_empty());
        let shown = format!("{found:?} {history:?} {detail:?}");
        for secret in ["Sunita", "Devi", "9876543210"] {
            assert!(!shown.contains(secret), "{secret} in Debug output: {shown}");
        }
        assert!(
            shown.contains(&r.patient_id.to_string()),
            "IDs stay visible: {shown}"
        );
    }

    #[test]
    fn checking_a_form_reports_one_problem_per_field_and_writes_nothing() {
        let (_d, c) = fresh();
        let mut p = patient();
        p.mobile = "12345".into();
        p.age = "300".into();
        let check = c.check_patient(&p, Some("SUR"), None);
        let fields: Vec<&str> = check.errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["age", "mobile", "department"]);
        assert!(check.check_is_clean_of_values());
        assert!(
            c.check_patient(&patient(), Some("MED"), None)
                .errors
                .is_empty()
        );
        assert_eq!(c.store().counts().expect("counts"), (0, 0));
    }

    impl PatientCheck {
        /// Messages never echo what was typed.
        fn check_is_clean_of_values(&self) -> bool {
            self.errors
                .iter()
                .all(|e| !e.message.contains("12345") && !e.message.contains("300"))
        }
    }

    #[test]
    fn settings_are_this_counters_configuration_and_are_validated() {
        let (dir, mut c) = fresh();
        let s = c.desktop_settings().expect("settings");
        assert_eq!(s.printer, "PDF");
        assert_eq!(s.slip_layout, "thermal80");
        assert_eq!(s.ui_language, "en");
        assert_eq!(s.slip_language, "hi");
        assert_eq!(s.hub, "", "not enrolled anywhere yet");
        let bad = DesktopSettings {
            printer: "My Printer".into(),
            slip_layout: "letter".into(),
            ui_language: "fr".into(),
            slip_language: "ta".into(),
            hub: String::new(),
        };
        let e = c.save_desktop_settings(&bad).expect_err("bad");
        let fields: Vec<&str> = e
            .fields()
            .map(|f| f.0.iter().map(|x| x.field).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            vec!["printer", "slip_layout", "ui_language", "slip_language"]
        );
        let good = DesktopSettings {
            printer: " Thermal_1 ".into(),
            slip_layout: "A5".into(),
            ui_language: "hi".into(),
            slip_language: "bn".into(),
            hub: "ignored: set by enrolling".into(),
        };
        let saved = c.save_desktop_settings(&good).expect("good");
        assert_eq!(saved.printer, "Thermal_1");
        assert_eq!(saved.slip_layout, "a5");
        assert_eq!(saved.hub, "");
        // What printing reads, and what survives a restart.
        assert_eq!(c.config().hospital.printer.as_deref(), Some("Thermal_1"));
        assert_eq!(c.config().hospital.local_language, "bn");
        drop(c);
        let c = Counter::open(&dir.path().join("data"), Box::new(FixedEnv::new(SAT_MS, 9)))
            .expect("reopen");
        assert_eq!(c.desktop_settings().expect("reread"), saved);
        let mut c = c;
        c.set_ui_language("en").expect("en");
        assert_eq!(c.desktop_settings().expect("reread").ui_language, "en");
        assert!(c.set_ui_language("xx").is_err());
    }

    #[test]
    fn the_slip_preview_is_the_rendered_slip_as_png() {
        let (_d, mut c) = fresh();
        let r = c
            .register_today(&crate::RegisterRequest {
                patient: patient(),
                department: "MED".into(),
                uhid: String::new(),
            })
            .expect("reg");
        let png = c.slip_png(&r.visit_id.to_string()).expect("png");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 2_000);
        c.cancel_visit(&r.visit_id.to_string(), "test")
            .expect("cancel");
        assert!(
            c.slip_png(&r.visit_id.to_string()).is_err(),
            "no slip for a cancelled visit"
        );
    }

    #[test]
    fn the_overview_lists_every_counter_with_this_ones_outbox() {
        let (_d, mut c) = fresh();
        c.register_today(&crate::RegisterRequest {
            patient: patient(),
            department: "MED".into(),
            uhid: String::new(),
        })
        .expect("reg");
        let o = c.counters_overview().expect("overview");
        assert_eq!(o.len(), 3);
        assert!(o[0].this_counter && o[0].registrations_today == 1);
        assert!(o[0].pending.unwrap_or(0) > 0);
        assert!(o[1].pending.is_none() && o[1].registrations_today == 0);
    }
}
