//! Patient fields, their validation, and how they print.
//!
//! Every value type that holds personal data has a `Debug` that prints no personal data, so a
//! stray `{:?}` in a log or panic message cannot leak a patient's name or mobile.
//! Validation returns every field's error at once, each naming the field and what is allowed.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One field's problem: which field, a stable code for the UI, and what to fix.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
    pub message: String,
}

/// All problems found in one input. Never empty when returned as an error.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn push(&mut self, field: &'static str, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field,
            code,
            message: message.into(),
        });
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn single(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        let mut e = Self::default();
        e.push(field, code, message);
        e
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

mod person;
mod values;

pub use person::*;
pub use values::*;

/// Every field of a patient record that can change, each a last-writer-wins register.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct PatientFields {
    pub name: Name,
    pub sex: Sex,
    pub birth: BirthDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardian: Option<Guardian>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<Mobile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pincode: Option<Pincode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abha_number: Option<AbhaNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abha_address: Option<AbhaAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aadhaar_last4: Option<AadhaarLast4>,
    #[serde(default)]
    pub category: Category,
}

impl PatientFields {
    /// Fields with nothing known yet: what a merge starts from before any write is folded in.
    pub fn blank() -> Self {
        PatientFields {
            name: Name::unknown(Sex::Other),
            sex: Sex::Other,
            birth: BirthDate {
                date: NaiveDate::MIN,
                approximate: true,
            },
            guardian: None,
            mobile: None,
            locality: None,
            district: None,
            state: None,
            pincode: None,
            abha_number: None,
            abha_address: None,
            aadhaar_last4: None,
            category: Category::General,
        }
    }
}

/// Raw patient input as a clerk or a CSV row gives it. Empty strings mean "not given".
#[derive(Clone, Default)]
pub struct PatientInput {
    pub name: String,
    pub sex: String,
    pub age: String,
    pub dob: String,
    pub guardian_relation: String,
    pub guardian_name: String,
    pub mobile: String,
    pub locality: String,
    pub district: String,
    pub state: String,
    pub pincode: String,
    /// An ABHA number or an ABHA address (told apart by the `@`).
    pub abha: String,
    pub aadhaar: String,
    pub category: String,
    /// Quick registration: only sex and approximate age are required; the name may be left out.
    pub quick: bool,
}

impl PatientInput {
    /// The fields by the one set of names the CLI's flags, `--stdin` lines and CSV columns use.
    pub const FIELDS: [&'static str; 14] = [
        "name",
        "sex",
        "age",
        "dob",
        "guardian_relation",
        "guardian_name",
        "mobile",
        "address",
        "district",
        "state",
        "pincode",
        "abha",
        "aadhaar",
        "category",
    ];

    /// The field named `name` (one of [`PatientInput::FIELDS`]; `-` and `_` alike).
    pub fn field_mut(&mut self, name: &str) -> Option<&mut String> {
        Some(match name.replace('-', "_").as_str() {
            "name" => &mut self.name,
            "sex" => &mut self.sex,
            "age" => &mut self.age,
            "dob" => &mut self.dob,
            "guardian_relation" => &mut self.guardian_relation,
            "guardian_name" => &mut self.guardian_name,
            "mobile" => &mut self.mobile,
            "address" => &mut self.locality,
            "district" => &mut self.district,
            "state" => &mut self.state,
            "pincode" => &mut self.pincode,
            "abha" => &mut self.abha,
            "aadhaar" => &mut self.aadhaar,
            "category" => &mut self.category,
            _ => return None,
        })
    }
}

impl fmt::Debug for PatientInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatientInput")
            .field("quick", &self.quick)
            .finish_non_exhaustive()
    }
}

/// A validated patient, with non-blocking warnings for the clerk.
#[derive(Clone, Debug)]
pub struct Validated {
    pub fields: PatientFields,
    pub warnings: Vec<FieldError>,
}

fn opt(s: &str) -> Option<&str> {
    (!s.trim().is_empty()).then_some(s)
}

fn take<T>(r: Result<T, FieldError>, errs: &mut ValidationErrors) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            errs.0.push(e);
            None
        }
    }
}

impl PatientInput {
    /// Validates every field against `today`, reporting all problems together.
    pub fn validate(&self, today: NaiveDate) -> Result<Validated, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let mut warnings = Vec::new();
        let sex = if self.sex.trim().is_empty() {
            errs.push("sex", "required", "is required: M, F or O");
            None
        } else {
            take(Sex::parse(&self.sex), &mut errs)
        };
        let name = if self.quick && self.name.trim().is_empty() {
            sex.map(Name::unknown)
        } else {
            take(Name::parse("name", &self.name), &mut errs)
        };
        let birth = match (self.age.trim().is_empty(), self.dob.trim().is_empty()) {
            (true, true) => {
                errs.push(
                    "age",
                    "required",
                    "give an age (e.g. 34, 8m, 20d) or a date of birth",
                );
                None
            }
            (false, false) => {
                errs.push(
                    "age",
                    "ambiguous",
                    "give an age or a date of birth, not both",
                );
                None
            }
            (false, true) => take(
                AgeInput::parse(&self.age).and_then(|a| a.birth_date(today)),
                &mut errs,
            ),
            (true, false) => take(parse_dob(&self.dob, today), &mut errs),
        };
        let guardian = match (opt(&self.guardian_relation), opt(&self.guardian_name)) {
            (None, None) => None,
            (Some(_), None) => {
                errs.push(
                    "guardian_name",
                    "required",
                    "is required when a guardian relation is given",
                );
                None
            }
            (rel, Some(n)) => {
                let relation = take(GuardianRelation::parse(rel.unwrap_or("C/o")), &mut errs);
                let name = take(Name::parse("guardian_name", n), &mut errs);
                relation
                    .zip(name)
                    .map(|(relation, name)| Guardian { relation, name })
            }
        };
        let mobile = opt(&self.mobile).and_then(|m| take(Mobile::parse(m), &mut errs));
        let locality = take(Text::parse("address", &self.locality), &mut errs).flatten();
        let district = take(Text::parse("district", &self.district), &mut errs).flatten();
        let state = take(Text::parse("state", &self.state), &mut errs).flatten();
        let pincode = opt(&self.pincode).and_then(|p| take(Pincode::parse(p), &mut errs));
        let (mut abha_number, mut abha_address) = (None, None);
        if let Some(a) = opt(&self.abha) {
            if a.contains('@') {
                abha_address = take(AbhaAddress::parse(a), &mut errs);
            } else if let Some((n, luhn_ok)) = take(AbhaNumber::parse(a), &mut errs) {
                if !luhn_ok {
                    warnings.push(FieldError {
                        field: "abha_number",
                        code: "check",
                        message: "does not pass the usual check digit; compare it with the card"
                            .into(),
                    });
                }
                abha_number = Some(n);
            }
        }
        let aadhaar_last4 =
            opt(&self.aadhaar).and_then(|a| take(AadhaarLast4::parse(a), &mut errs));
        let category = take(Category::parse(&self.category), &mut errs);
        if !errs.is_empty() {
            return Err(errs);
        }
        match (name, sex, birth, category) {
            (Some(name), Some(sex), Some(birth), Some(category)) => Ok(Validated {
                fields: PatientFields {
                    name,
                    sex,
                    birth,
                    guardian,
                    mobile,
                    locality,
                    district,
                    state,
                    pincode,
                    abha_number,
                    abha_address,
                    aadhaar_last4,
                    category,
                },
                warnings,
            }),
            _ => Err(ValidationErrors::single(
                "patient",
                "incomplete",
                "required fields are missing",
            )),
        }
    }
}

#[cfg(test)]
mod tests;
