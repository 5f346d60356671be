//! JSON shapes at the boundary with the web front end, converted explicitly to and from the
//! use-case layer's types. No rule lives here: validation is `parchi-app`'s.

use parchi_app::AppError;
use parchi_core::patient::{FieldError, PatientInput};
use serde::{Deserialize, Serialize};

/// An error as the front end receives it: a stable `code` to branch on, a `message` for the
/// clerk that says what to fix, and per-field problems to show next to each field.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UiError {
    pub code: String,
    pub message: String,
    pub fields: Vec<FieldError>,
}

impl UiError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn not_logged_in() -> Self {
        Self::new("not_logged_in", "log in first")
    }

    pub fn busy() -> Self {
        Self::new(
            "internal",
            "the counter's data could not be reached after an earlier failure; restart Parchi",
        )
    }
}

impl From<AppError> for UiError {
    fn from(e: AppError) -> Self {
        Self {
            code: e.code().to_owned(),
            message: e.to_string(),
            fields: e.fields().map(|f| f.0.clone()).unwrap_or_default(),
        }
    }
}

/// The registration form as the front end sends it. Empty strings mean "not given".
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct PatientForm {
    pub name: String,
    pub sex: String,
    pub age: String,
    pub dob: String,
    pub guardian_relation: String,
    pub guardian_name: String,
    pub mobile: String,
    pub address: String,
    pub district: String,
    pub state: String,
    pub pincode: String,
    pub abha: String,
    pub aadhaar: String,
    pub category: String,
    pub quick: bool,
}

impl std::fmt::Debug for PatientForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientForm")
            .field("quick", &self.quick)
            .finish_non_exhaustive()
    }
}

impl From<PatientForm> for PatientInput {
    fn from(p: PatientForm) -> Self {
        PatientInput {
            name: p.name,
            sex: p.sex,
            age: p.age,
            dob: p.dob,
            guardian_relation: p.guardian_relation,
            guardian_name: p.guardian_name,
            mobile: p.mobile,
            locality: p.address,
            district: p.district,
            state: p.state,
            pincode: p.pincode,
            abha: p.abha,
            aadhaar: p.aadhaar,
            category: p.category,
            quick: p.quick,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_validation_error_reaches_the_ui_with_its_code_and_fields() {
        let e: UiError = AppError::Validation(parchi_core::ValidationErrors::single(
            "mobile",
            "length",
            "must be 10 digits",
        ))
        .into();
        let json = serde_json::to_value(&e).unwrap_or_default();
        assert_eq!(json["code"], "validation");
        assert_eq!(json["fields"][0]["field"], "mobile");
        assert_eq!(json["fields"][0]["code"], "length");
    }

    #[test]
    fn the_form_debug_prints_no_personal_data() {
        let form: PatientForm =
            serde_json::from_str(r#"{"name":"Sunita Devi","mobile":"9876543210"}"#)
                .unwrap_or_default();
        assert_eq!(form.name, "Sunita Devi");
        let dbg = format!("{form:?}");
        assert!(!dbg.contains("Sunita") && !dbg.contains("9876"), "{dbg}");
        let input: PatientInput = form.into();
        assert_eq!(input.mobile, "9876543210");
    }
}
