//! Who the patient is, as coded fields: sex, the guardian and their relation, the fee category,
//! and age, as typed (years, months, days) or as a date of birth.

use std::fmt;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{FieldError, Name};

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
