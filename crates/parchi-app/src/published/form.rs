//! The admin's form for publishing from the desktop: the departments table and the waived
//! categories of the configuration in force, edited, with the date they take effect. Checked
//! like the first-run setup's table, then published with everything else unchanged.

use serde::{Deserialize, Serialize};

use super::ConfigStatus;
use crate::config::HospitalConfig;
use crate::counter::{Counter, Result};
use crate::error::AppError;
use crate::setup::{SetupDepartment, checked_departments, checked_waived};

/// What the admin edits before publishing for every counter.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PublishForm {
    pub departments: Vec<SetupDepartment>,
    /// Category codes that pay no fee.
    pub waived: Vec<String>,
    /// `YYYY-MM-DD`, today or later.
    pub effective_from: String,
    /// What changed, for the other counters' admins (one line).
    #[serde(default)]
    pub note: String,
}

impl SetupDepartment {
    /// A configured department as the table shows it.
    pub fn from_department(d: &crate::config::Department) -> SetupDepartment {
        SetupDepartment {
            code: d.code.to_string(),
            name: d.name.clone(),
            name_local: d.name_local.clone(),
            room: d.room.clone(),
            days: d.days_text(),
            fee: d.fee.to_string(),
        }
    }
}

impl Counter {
    /// The form filled in with the configuration in force, to take effect tomorrow.
    pub fn publish_form(&self) -> PublishForm {
        let cfg = self.config();
        PublishForm {
            departments: cfg
                .departments
                .iter()
                .map(SetupDepartment::from_department)
                .collect(),
            waived: cfg
                .fees
                .waived
                .iter()
                .map(|c| c.code().to_owned())
                .collect(),
            effective_from: self
                .today()
                .succ_opt()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            note: String::new(),
        }
    }

    /// Publishes the edited table for every counter; every problem is reported by field
    /// (`departments` by row and column, `waived`, `effective_from`, `note`) and nothing is
    /// written. Returns the new status: the publication among those to come, or in force if
    /// it takes effect today.
    pub fn publish_from_form(&mut self, form: &PublishForm) -> Result<ConfigStatus> {
        let mut errs = parchi_core::ValidationErrors::default();
        if form.departments.is_empty() {
            errs.push("departments", "required", "keep at least one department");
        }
        let departments = checked_departments(&form.departments, &mut errs);
        let waived = checked_waived(&form.waived, &mut errs);
        let today = self.today();
        let from = match Counter::parse_day(Some(&form.effective_from)) {
            Ok(Some(d)) if d >= today => Some(d),
            Ok(Some(_)) => {
                errs.push(
                    "effective_from",
                    "past",
                    format!("today ({today}) or later"),
                );
                None
            }
            _ => {
                errs.push("effective_from", "format", "a date like 2026-12-07");
                None
            }
        };
        let note = form.note.trim();
        if !super::note_ok(note) {
            errs.push("note", "format", super::note_rule());
        }
        let (true, Some(from)) = (errs.is_empty(), from) else {
            return Err(AppError::Validation(errs));
        };
        let mut doc =
            serde_json::to_value(self.config()).map_err(|e| AppError::Invalid(e.to_string()))?;
        doc["departments"] = departments.into();
        doc["fees"]["waived"] = waived.into();
        let config = HospitalConfig::from_json(&doc.to_string())?;
        self.publish_config(&config, from, note)?;
        self.config_status()
    }
}
