//! Use cases the counter's desktop app needs beyond the core counter ones: starting on embedded
//! defaults, the first admin, today's departments, checking a form as the clerk types, the
//! counter's own settings, and the counters' overview for the admin.
//!
//! The Tauri shell calls these and nothing below them, so the rules (who may do what, which
//! departments a clerk may pick, what a valid setting is) live here and are unit tested, not in
//! the shell or the web front end.

mod form;
pub(crate) mod settings;

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::counter::{Counter, PatientSummary, Result};
use crate::error::AppError;
use crate::users::{Role, Session};

pub use form::PatientCheck;
pub use settings::DesktopSettings;

/// The example hospital a demonstration or training counter is set up on
/// ([`Counter::init_demo`]): the repository's `examples/hospital.toml`, compiled in.
pub const EMBEDDED_CONFIG: &str = include_str!("../../../../examples/hospital.toml");

/// The counter a demonstration installation becomes.
pub const DEFAULT_COUNTER: &str = "A";

/// The file the counter's configuration is written to, next to the database, so an admin can see
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
    /// The copy the next print makes: the original until it is out, then DUPLICATE.
    pub next_copy: crate::slips::SlipCopy,
}

/// A visit with its patient.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitDetail {
    pub visit: VisitView,
    pub patient: PatientSummary,
}

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

/// The data directory: `$PARCHI_DATA`, else this OS's default (`$XDG_DATA_HOME/parchi`, else
/// `~/.local/share/parchi`; `%LOCALAPPDATA%\Parchi` on Windows), the same rule as the `parchi`
/// command line.
pub fn data_dir() -> std::path::PathBuf {
    match std::env::var_os("PARCHI_DATA").filter(|v| !v.is_empty()) {
        Some(d) => std::path::PathBuf::from(d),
        None => parchi_platform::default_data_dir(),
    }
}

/// Whether a data directory already holds a counter.
pub fn is_initialised(dir: &Path) -> bool {
    dir.join("parchi.db").exists()
}

impl Counter {
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
            // If the store cannot say, the safe answer: a copy, never a second original.
            next_copy: self
                .next_copy_of(v)
                .unwrap_or(crate::slips::SlipCopy::Duplicate),
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

    /// [`Counter::departments_today`] after taking a configuration that came into force (the
    /// picker asks this, so a change shows on its effective date without a restart).
    pub fn departments_now(&mut self) -> Result<Vec<DepartmentToday>> {
        self.refresh_config()?;
        Ok(self.departments_today())
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

/// Writes a file whole or not at all (a temporary file renamed over it).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
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

#[cfg(test)]
mod tests;
