//! Patient fields, their validation, and how they print.
//!
//! Every value type that holds personal data has a `Debug` that prints no personal data, so a
//! stray `{:?}` in a log or panic message cannot leak a patient's name or mobile.
//! Validation returns every field's error at once, each naming the field and what is allowed.

use std::fmt;

use chrono::{Datelike, Months, NaiveDate};
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

macro_rules! private_string {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(<redacted>)"))
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

private_string!(
    /// A person's name in Latin or an Indic script, whitespace collapsed.
    Name
);
private_string!(
    /// An Indian mobile number: 10 digits starting 6 to 9, without +91 or 0.
    Mobile
);
private_string!(
    /// A 6-digit postal PIN code.
    Pincode
);
private_string!(
    /// A 14-digit ABHA number, stored as digits; shown as `XX-XXXX-XXXX-XXXX`.
    AbhaNumber
);
private_string!(
    /// An ABHA address such as `name@abdm`, lower case.
    AbhaAddress
);
private_string!(
    /// The last four digits of an Aadhaar number: all that is ever kept.
    AadhaarLast4
);
private_string!(
    /// Free text such as a locality, district or state.
    Text
);

impl Name {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(field: &'static str, input: &str) -> Result<Self, FieldError> {
        // Typographic apostrophes (D’Souza) are the same name as the plain one.
        let collapsed = input
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace(['\u{2018}', '\u{2019}', '`'], "'");
        let err = |code, message: String| FieldError {
            field,
            code,
            message,
        };
        if collapsed.is_empty() {
            return Err(err("required", "is required".into()));
        }
        if collapsed.chars().count() > Self::MAX_CHARS {
            return Err(err(
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if let Some(bad) = collapsed.chars().find(|&c| !name_char_allowed(c)) {
            let what = if bad.is_ascii_digit() {
                "digits".to_string()
            } else {
                format!("the character U+{:04X}", bad as u32)
            };
            return Err(err(
                "bad_character",
                format!(
                    "may hold letters in Latin or an Indian script, spaces, dots, hyphens and apostrophes, not {what}"
                ),
            ));
        }
        if !collapsed.chars().any(char::is_alphabetic) {
            return Err(err("no_letters", "must contain letters".into()));
        }
        Ok(Self(collapsed))
    }

    /// The placeholder name of an unidentified patient in quick registration.
    pub fn unknown(sex: Sex) -> Self {
        Self(
            match sex {
                Sex::Male => "Unknown Male",
                Sex::Female => "Unknown Female",
                Sex::Other => "Unknown",
            }
            .into(),
        )
    }
}

/// Letters of Latin and of the Indic scripts (Devanagari to Malayalam, with their vowel signs and
/// viramas), the joiners that Indic text needs, and a few name punctuation marks.
fn name_char_allowed(c: char) -> bool {
    let cp = c as u32;
    let indic =
        (0x0900..=0x0DFF).contains(&cp) && !is_indic_digit(cp) && !matches!(cp, 0x0964 | 0x0965);
    c.is_ascii_alphabetic()
        || ((0x00C0..=0x024F).contains(&cp) && c.is_alphabetic())
        || indic
        || matches!(c, ' ' | '.' | '\'' | '-' | '\u{200C}' | '\u{200D}')
}

fn is_indic_digit(cp: u32) -> bool {
    // Each Indic block is 128 code points with its digits at offsets 0x66..=0x6F.
    (0x0900..=0x0DFF).contains(&cp) && (0x66..=0x6F).contains(&(cp & 0x7F))
}

impl Mobile {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let err = |code, message: &str| FieldError {
            field: "mobile",
            code,
            message: message.into(),
        };
        let trimmed = input.trim();
        let plus = trimmed.starts_with('+');
        let digits: String = trimmed
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+'))
            .collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(err(
                "not_digits",
                "must be digits only (spaces, hyphens and a leading +91 or 0 are allowed)",
            ));
        }
        let national =
            if (plus || digits.len() == 12) && digits.starts_with("91") && digits.len() == 12 {
                &digits[2..]
            } else if digits.len() == 11 && digits.starts_with('0') {
                &digits[1..]
            } else if plus {
                return Err(err(
                    "foreign",
                    "must be an Indian number: +91 followed by 10 digits",
                ));
            } else {
                &digits[..]
            };
        if national.len() != 10 {
            return Err(err(
                "length",
                "must be 10 digits (after removing +91 or a leading 0)",
            ));
        }
        if !matches!(national.as_bytes()[0], b'6'..=b'9') {
            return Err(err("prefix", "must start with 6, 7, 8 or 9"));
        }
        Ok(Self(national.to_owned()))
    }
}

impl Pincode {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0') {
            Ok(Self(s))
        } else {
            Err(FieldError {
                field: "pincode",
                code: "format",
                message: "must be 6 digits, not starting with 0".into(),
            })
        }
    }
}

impl AbhaNumber {
    /// Parses 14 digits, with or without the `XX-XXXX-XXXX-XXXX` hyphens. Returns the number and
    /// whether it passes a Luhn check: every real-looking sample does, but no authority says it
    /// must, so a failure is a warning for the clerk, not a refusal.
    pub fn parse(input: &str) -> Result<(Self, bool), FieldError> {
        let s: String = input.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        if s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()) {
            let luhn_ok = luhn_valid(&s);
            Ok((Self(s), luhn_ok))
        } else {
            Err(FieldError {
                field: "abha_number",
                code: "format",
                message: "must be 14 digits, written as XX-XXXX-XXXX-XXXX".into(),
            })
        }
    }
    /// `XX-XXXX-XXXX-XXXX`
    pub fn formatted(&self) -> String {
        let s = &self.0;
        format!("{}-{}-{}-{}", &s[0..2], &s[2..6], &s[6..10], &s[10..14])
    }
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

impl AbhaAddress {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim().to_lowercase();
        let err = || {
            FieldError {
            field: "abha_address",
            code: "format",
            message: "must be like name@abdm: 4 to 32 letters, digits, dots or underscores before @abdm (or @sbx), starting with a letter or digit".into(),
        }
        };
        let (local, domain) = s.split_once('@').ok_or_else(err)?;
        let local_ok = (4..=32).contains(&local.len())
            && local
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
            && local.as_bytes()[0].is_ascii_alphanumeric();
        if local_ok && matches!(domain, "abdm" | "sbx") {
            Ok(Self(s))
        } else {
            Err(err())
        }
    }
}

impl AadhaarLast4 {
    /// Accepts a full 12-digit Aadhaar (checked with Verhoeff, then all but the last four digits
    /// dropped here, before anything is stored) or just the last four digits.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s: String = input.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        let err = |code, message: &str| FieldError {
            field: "aadhaar",
            code,
            message: message.into(),
        };
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(
                "format",
                "must be the 12-digit Aadhaar number or its last 4 digits",
            ));
        }
        match s.len() {
            4 => Ok(Self(s)),
            12 => {
                if !matches!(s.as_bytes()[0], b'2'..=b'9') {
                    return Err(err(
                        "format",
                        "a 12-digit Aadhaar number starts with 2 to 9",
                    ));
                }
                if !verhoeff_valid(&s) {
                    return Err(err(
                        "check",
                        "check digit does not match: a digit is mistyped",
                    ));
                }
                Ok(Self(s[8..].to_owned()))
            }
            _ => Err(err(
                "format",
                "must be the 12-digit Aadhaar number or its last 4 digits",
            )),
        }
    }
}

fn verhoeff_valid(digits: &str) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut c = 0u8;
    for (i, b) in digits.bytes().rev().enumerate() {
        c = D[c as usize][P[i % 8][(b - b'0') as usize] as usize];
    }
    c == 0
}

impl Text {
    pub const MAX_CHARS: usize = 120;
    pub fn parse(field: &'static str, input: &str) -> Result<Option<Self>, FieldError> {
        let collapsed = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            return Ok(None);
        }
        if collapsed.chars().count() > Self::MAX_CHARS {
            return Err(FieldError {
                field,
                code: "too_long",
                message: format!("must be at most {} characters", Self::MAX_CHARS),
            });
        }
        if collapsed.chars().any(char::is_control) {
            return Err(FieldError {
                field,
                code: "bad_character",
                message: "must not contain control characters".into(),
            });
        }
        Ok(Some(Self(collapsed)))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Sex {
    #[serde(rename = "M")]
    Male,
    #[serde(rename = "F")]
    Female,
    #[serde(rename = "O")]
    Other,
}

impl Sex {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "m" | "male" => Ok(Sex::Male),
            "f" | "female" => Ok(Sex::Female),
            "o" | "other" | "t" | "transgender" => Ok(Sex::Other),
            _ => Err(FieldError {
                field: "sex",
                code: "format",
                message: "must be M, F or O".into(),
            }),
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
            Sex::Other => "O",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum GuardianRelation {
    #[serde(rename = "S/o")]
    SonOf,
    #[serde(rename = "D/o")]
    DaughterOf,
    #[serde(rename = "W/o")]
    WifeOf,
    #[serde(rename = "C/o")]
    CareOf,
}

impl GuardianRelation {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        match input
            .trim()
            .to_ascii_lowercase()
            .replace(['.', ' '], "")
            .as_str()
        {
            "s/o" | "so" | "son" => Ok(Self::SonOf),
            "d/o" | "do" | "daughter" => Ok(Self::DaughterOf),
            "w/o" | "wo" | "wife" => Ok(Self::WifeOf),
            "c/o" | "co" | "careof" => Ok(Self::CareOf),
            _ => Err(FieldError {
                field: "guardian_relation",
                code: "format",
                message: "must be S/o, D/o, W/o or C/o".into(),
            }),
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Self::SonOf => "S/o",
            Self::DaughterOf => "D/o",
            Self::WifeOf => "W/o",
            Self::CareOf => "C/o",
        }
    }
}

/// A guardian line as printed on the slip: `S/o Ramesh Kumar`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Guardian {
    pub relation: GuardianRelation,
    pub name: Name,
}

/// Fee category.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    #[default]
    General,
    Bpl,
    Senior,
    Staff,
    Free,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Self::General,
        Self::Bpl,
        Self::Senior,
        Self::Staff,
        Self::Free,
    ];
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        match input
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_', ' '], "")
            .as_str()
        {
            "general" | "gen" | "" => Ok(Self::General),
            "bpl" => Ok(Self::Bpl),
            "senior" | "seniorcitizen" | "sr" => Ok(Self::Senior),
            "staff" => Ok(Self::Staff),
            "free" => Ok(Self::Free),
            _ => Err(FieldError {
                field: "category",
                code: "format",
                message: "must be general, bpl, senior, staff or free".into(),
            }),
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Self::General => "general",
            Self::Bpl => "bpl",
            Self::Senior => "senior",
            Self::Staff => "staff",
            Self::Free => "free",
        }
    }
}

/// A date of birth, exact or estimated from an age.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct BirthDate {
    pub date: NaiveDate,
    /// True when estimated from an age the patient gave, not from a document.
    pub approximate: bool,
}

/// The oldest age accepted.
pub const MAX_AGE_YEARS: u32 = 120;

/// An age as a clerk enters it: `34`, `34y`, `8m`, `20d`, or `1y 6m`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct AgeInput {
    pub years: u32,
    pub months: u32,
    pub days: u32,
}

impl AgeInput {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let err = |message: &str| FieldError {
            field: "age",
            code: "format",
            message: message.into(),
        };
        let s = input.trim().to_ascii_lowercase();
        if s.is_empty() {
            return Err(FieldError {
                field: "age",
                code: "required",
                message: "is required (or give a date of birth)".into(),
            });
        }
        let mut age = AgeInput::default();
        let mut rest = s.as_str();
        let mut any = false;
        while !rest.is_empty() {
            rest = rest.trim_start();
            let n_end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if n_end == 0 {
                return Err(err(
                    "must be a number of years, or a number followed by y, m or d (e.g. 34, 8m, 20d, 1y 6m)",
                ));
            }
            let n: u32 = rest[..n_end].parse().map_err(|_| err("is too large"))?;
            rest = rest[n_end..].trim_start();
            let unit_end = rest
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            let unit = &rest[..unit_end];
            rest = &rest[unit_end..];
            match unit {
                "" | "y" | "yr" | "yrs" | "year" | "years" => {
                    age.years = age.years.saturating_add(n)
                }
                "m" | "mo" | "mon" | "month" | "months" => {
                    age.months = age.months.saturating_add(n)
                }
                "d" | "day" | "days" => age.days = age.days.saturating_add(n),
                _ => return Err(err("unit must be y (years), m (months) or d (days)")),
            }
            any = true;
        }
        if !any {
            return Err(err("is required (or give a date of birth)"));
        }
        if age.years > MAX_AGE_YEARS || age.months > MAX_AGE_YEARS * 12 || age.days > 3660 {
            return Err(FieldError {
                field: "age",
                code: "range",
                message: format!("must be at most {MAX_AGE_YEARS} years"),
            });
        }
        Ok(age)
    }

    /// The estimated date of birth on `today`.
    pub fn birth_date(self, today: NaiveDate) -> Result<BirthDate, FieldError> {
        let range = || FieldError {
            field: "age",
            code: "range",
            message: format!("must be at most {MAX_AGE_YEARS} years"),
        };
        let months = self
            .years
            .checked_mul(12)
            .and_then(|m| m.checked_add(self.months))
            .ok_or_else(range)?;
        if months > MAX_AGE_YEARS * 12 {
            return Err(range());
        }
        let date = today
            .checked_sub_months(Months::new(months))
            .and_then(|d| d.checked_sub_days(chrono::Days::new(u64::from(self.days))))
            .ok_or_else(range)?;
        Ok(BirthDate {
            date,
            approximate: true,
        })
    }
}

/// Parses a date of birth (`YYYY-MM-DD` or `DD-MM-YYYY`/`DD/MM/YYYY`), not in the future and at
/// most 120 years ago.
pub fn parse_dob(input: &str, today: NaiveDate) -> Result<BirthDate, FieldError> {
    let s = input.trim();
    let err = |code, message: String| FieldError {
        field: "dob",
        code,
        message,
    };
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%d-%m-%Y"))
        .or_else(|_| NaiveDate::parse_from_str(s, "%d/%m/%Y"))
        .map_err(|_| {
            err(
                "format",
                "must be a date like 1990-04-23 (or 23-04-1990)".into(),
            )
        })?;
    if date > today {
        return Err(err("future", "must not be in the future".into()));
    }
    let oldest = today
        .checked_sub_months(Months::new(MAX_AGE_YEARS * 12))
        .unwrap_or(NaiveDate::MIN);
    if date < oldest {
        return Err(err(
            "range",
            format!("must be within the last {MAX_AGE_YEARS} years"),
        ));
    }
    Ok(BirthDate {
        date,
        approximate: false,
    })
}

/// Age on a given day, in the unit a slip prints: years from 1, months under a year, days under a
/// month.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
pub enum Age {
    Years(u32),
    Months(u32),
    Days(u32),
}

impl Age {
    pub fn on(birth: NaiveDate, today: NaiveDate) -> Age {
        if today <= birth {
            return Age::Days(0);
        }
        let mut months =
            (today.year() - birth.year()) * 12 + today.month() as i32 - birth.month() as i32;
        if today.day() < birth.day() {
            months -= 1;
        }
        let months = months.max(0) as u32;
        if months >= 12 {
            Age::Years(months / 12)
        } else if months >= 1 {
            Age::Months(months)
        } else {
            Age::Days((today - birth).num_days().max(0) as u32)
        }
    }
}

impl fmt::Display for Age {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Age::Years(n) => write!(f, "{n}Y"),
            Age::Months(n) => write!(f, "{n}M"),
            Age::Days(n) => write!(f, "{n}D"),
        }
    }
}

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
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).expect("date")
    }

    fn input() -> PatientInput {
        PatientInput {
            name: "Sunita Devi".into(),
            sex: "F".into(),
            age: "34".into(),
            ..Default::default()
        }
    }

    fn fields_of(e: &ValidationErrors) -> Vec<&'static str> {
        e.0.iter().map(|f| f.field).collect()
    }

    #[test]
    fn mobile_normalises_prefixes() {
        for ok in [
            "9876543210",
            "+91 98765 43210",
            "09876543210",
            "919876543210",
            "+91-98765-43210",
        ] {
            assert_eq!(
                Mobile::parse(ok).map(|m| m.as_str().to_owned()),
                Ok("9876543210".into()),
                "{ok}"
            );
        }
        for bad in [
            "5876543210",
            "987654321",
            "98765432100",
            "+1 2025550100",
            "98765x3210",
            "",
        ] {
            assert!(Mobile::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_take_indic_scripts_but_not_digits() {
        assert!(Name::parse("name", "सुनीता देवी").is_ok());
        assert!(Name::parse("name", "সুনীতা দেবী").is_ok());
        assert!(Name::parse("name", "R. K. D'Souza-Iyer").is_ok());
        assert_eq!(
            Name::parse("name", "Ann D\u{2019}Souza").map(|n| n.to_string()),
            Ok("Ann D'Souza".into())
        );
        assert_eq!(
            Name::parse("name", "  Ram   Kumar ").map(|n| n.to_string()),
            Ok("Ram Kumar".into())
        );
        assert!(Name::parse("name", "Ram2").is_err());
        assert!(Name::parse("name", "राम१").is_err());
        assert!(Name::parse("name", "...").is_err());
        assert!(Name::parse("name", "<script>").is_err());
    }

    #[test]
    fn ages_and_dates_of_birth() {
        let a = AgeInput::parse("34")
            .expect("age")
            .birth_date(today())
            .expect("dob");
        assert!(a.approximate);
        assert_eq!(Age::on(a.date, today()), Age::Years(34));
        let infant = AgeInput::parse("8m")
            .expect("age")
            .birth_date(today())
            .expect("dob");
        assert_eq!(Age::on(infant.date, today()), Age::Months(8));
        let newborn = AgeInput::parse("12 d")
            .expect("age")
            .birth_date(today())
            .expect("dob");
        assert_eq!(Age::on(newborn.date, today()), Age::Days(12));
        let mixed = AgeInput::parse("1y 6m")
            .expect("age")
            .birth_date(today())
            .expect("dob");
        assert_eq!(Age::on(mixed.date, today()), Age::Years(1));
        assert_eq!(AgeInput::parse("300").map_err(|e| e.code), Err("range"));
        assert_eq!(AgeInput::parse("34x").map_err(|e| e.code), Err("format"));
        assert_eq!(
            parse_dob("2030-01-01", today()).map_err(|e| e.code),
            Err("future")
        );
        assert_eq!(
            parse_dob("1890-01-01", today()).map_err(|e| e.code),
            Err("range")
        );
        assert_eq!(
            parse_dob("23/04/1990", today()).map(|b| (b.date.year(), b.approximate)),
            Ok((1990, false))
        );
    }

    #[test]
    fn abha_number_and_address() {
        let (n, _) = AbhaNumber::parse("91-5238-6218-0384").expect("abha");
        assert_eq!(n.formatted(), "91-5238-6218-0384");
        assert!(AbhaNumber::parse("1234").is_err());
        assert!(AbhaAddress::parse("Sunita.Devi@abdm").is_ok());
        assert!(AbhaAddress::parse("sunita@gmail.com").is_err());
        assert!(AbhaAddress::parse("_sun@abdm").is_err());
    }

    #[test]
    fn aadhaar_keeps_only_last_four() {
        // 234123412346 passes Verhoeff.
        assert_eq!(
            AadhaarLast4::parse("2341 2341 2346").map(|a| a.as_str().to_owned()),
            Ok("2346".into())
        );
        assert_eq!(
            AadhaarLast4::parse("234123412347").map_err(|e| e.code),
            Err("check")
        );
        assert_eq!(
            AadhaarLast4::parse("123412341234").map_err(|e| e.code),
            Err("format")
        );
        assert!(AadhaarLast4::parse("1234").is_ok());
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = PatientInput {
            name: "R2D2".into(),
            sex: "X".into(),
            age: "300".into(),
            mobile: "12345".into(),
            pincode: "1234".into(),
            abha: "12".into(),
            ..Default::default()
        };
        let e = bad.validate(today()).expect_err("invalid");
        assert_eq!(
            fields_of(&e),
            ["sex", "name", "age", "mobile", "pincode", "abha_number"]
        );
    }

    #[test]
    fn quick_registration_needs_only_sex_and_age() {
        let q = PatientInput {
            sex: "M".into(),
            age: "40".into(),
            quick: true,
            ..Default::default()
        };
        let v = q.validate(today()).expect("valid");
        assert_eq!(v.fields.name.as_str(), "Unknown Male");
        assert!(v.fields.birth.approximate);
        let not_quick = PatientInput { quick: false, ..q };
        assert_eq!(
            fields_of(&not_quick.validate(today()).expect_err("name required")),
            ["name"]
        );
    }

    #[test]
    fn debug_output_holds_no_personal_data() {
        let v = input().validate(today()).expect("valid");
        let dbg = format!("{v:?} {:?}", input());
        assert!(!dbg.contains("Sunita"), "{dbg}");
    }

    #[test]
    fn full_input_validates() {
        let i = PatientInput {
            guardian_relation: "W/o".into(),
            guardian_name: "Ramesh Kumar".into(),
            mobile: "+91 98765 43210".into(),
            locality: "12, MG Road".into(),
            district: "Patna".into(),
            state: "Bihar".into(),
            pincode: "800001".into(),
            abha: "91-5238-6218-0384".into(),
            category: "BPL".into(),
            ..input()
        };
        let v = i.validate(today()).expect("valid");
        assert_eq!(
            v.fields.guardian.as_ref().map(|g| g.relation),
            Some(GuardianRelation::WifeOf)
        );
        assert_eq!(v.fields.category, Category::Bpl);
    }
}
