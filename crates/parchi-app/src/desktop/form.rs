//! The registration form as the desktop app checks it while the clerk types, and registering
//! or revisiting only for departments that run today.

use parchi_core::patient::{FieldError, PatientInput};
use serde::Serialize;

use crate::counter::{Counter, Result};
use crate::error::AppError;

/// The result of checking a form without saving it.
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PatientCheck {
    /// Problems that block saving, one per field at most.
    pub errors: Vec<FieldError>,
    /// Things the clerk should look at that do not block saving.
    pub warnings: Vec<FieldError>,
}

impl Counter {
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
