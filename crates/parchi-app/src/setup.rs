//! First-run setup: what a hospital fills in on a new counter PC (the hospital, this counter,
//! departments with rooms, days and fees, the fee categories that pay nothing, the printer and
//! slip, the hub), turned into the same validated configuration `parchi configure` takes, and the
//! counter initialised on it. The built-in example hospital is a separate, explicit choice
//! ([`Counter::init_demo`]), never a default.
//!
//! Every rule is here; the desktop app's setup screen only collects the fields and shows the
//! errors, each named by field (`departments.2.fee`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use parchi_core::ValidationErrors;

use crate::config::HospitalConfig;
use crate::counter::{Counter, Result};
use crate::env::Env;
use crate::error::AppError;

/// The setup form as the app collects it: text as typed, checked by [`SetupForm::config`].
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct SetupForm {
    /// The hospital's name in English, printed on every slip.
    pub hospital_name: String,
    /// The hospital's name in the local language (optional).
    pub hospital_name_local: String,
    /// The URI of the hospital's UHID system, as its FHIR server names it (optional).
    pub uhid_system: String,
    /// A regular expression the hospital's UHIDs match in full, e.g. `DHP[0-9]{9}` (optional).
    pub uhid_pattern: String,
    /// The slip's second language: hi or bn.
    pub local_language: String,
    /// This counter's code, e.g. A ([`parchi_core::CounterCode::ALLOWED`]).
    pub counter_code: String,
    /// What the counter is called, e.g. "New registration 1" (optional).
    pub counter_name: String,
    pub departments: Vec<SetupDepartment>,
    /// The fee categories that pay nothing (codes of [`parchi_core::Category`]).
    pub waived: Vec<String>,
    /// The CUPS queue slips print to; empty for the system default.
    pub printer: String,
    /// thermal80, a6 or a5.
    pub slip_layout: String,
    /// The hub's address, e.g. `http://192.168.1.10:7700` (optional: a counter works alone).
    pub hub: String,
    /// The enrolment code the hub's admin gave for this counter (with `hub`).
    pub enrol_code: String,
}

/// One department row of the setup table, as typed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct SetupDepartment {
    pub code: String,
    pub name: String,
    pub name_local: String,
    pub room: String,
    /// "Mon-Sat", "Mon, Wed, Fri", "daily".
    pub days: String,
    /// Whole rupees; 0 for a free OPD.
    pub fee: String,
}

/// What finishing the setup did.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SetupDone {
    pub counter: String,
    /// The hub this counter is enrolled at, if the form named one and enrolment worked.
    pub enrolled: Option<String>,
    /// Why enrolment did not work, when it did not: the counter is set up and works alone;
    /// enrol again from the settings.
    pub enrol_error: Option<String>,
}

/// What the setup screen opens with: a form with the defaults filled in, and the choices.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SetupStart {
    pub form: SetupForm,
    /// Every fee category, for the "pays nothing" choice.
    pub categories: Vec<&'static str>,
    pub slip_layouts: Vec<&'static str>,
    pub slip_languages: Vec<&'static str>,
}

/// The setup form's defaults: counter A, Hindi as the slip's second language, an 80 mm thermal
/// slip on the system's default printer, the usual waived categories, no departments yet.
pub fn start() -> SetupStart {
    use crate::desktop::settings::{SLIP_LANGUAGES, SLIP_LAYOUTS};
    SetupStart {
        form: SetupForm {
            counter_code: crate::desktop::DEFAULT_COUNTER.into(),
            local_language: SLIP_LANGUAGES[0].into(),
            slip_layout: SLIP_LAYOUTS[0].into(),
            waived: crate::config::Fees::default()
                .waived
                .iter()
                .map(|c| c.code().to_owned())
                .collect(),
            ..SetupForm::default()
        },
        categories: crate::counter::categories(),
        slip_layouts: SLIP_LAYOUTS.to_vec(),
        slip_languages: SLIP_LANGUAGES.to_vec(),
    }
}

const DAY_NAMES: [(&str, &str); 7] = [
    ("mon", "monday"),
    ("tue", "tuesday"),
    ("wed", "wednesday"),
    ("thu", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
    ("sun", "sunday"),
];

/// The days a department runs, from what a person types: day names or their first three
/// letters, separated by commas or spaces, ranges (`Mon-Sat`), or `daily`. Returns the days in
/// week order, as the configuration writes them.
pub fn parse_days(text: &str) -> std::result::Result<Vec<&'static str>, String> {
    let lower = text.trim().to_ascii_lowercase();
    if lower.is_empty() {
        return Err("name at least one day, e.g. Mon-Sat or Mon, Wed, Fri".into());
    }
    if matches!(lower.as_str(), "daily" | "all" | "every day" | "mon-sun") {
        return Ok(DAY_NAMES.iter().map(|d| d.0).collect());
    }
    let day = |w: &str| {
        DAY_NAMES
            .iter()
            .position(|(short, long)| w == *short || w == *long)
            .ok_or_else(|| {
                format!("{w:?} is not a day; use Mon, Tue, Wed, Thu, Fri, Sat, Sun or a range like Mon-Sat")
            })
    };
    let mut on = [false; 7];
    let normalised = lower.replace(['–', '—'], "-").replace(" - ", "-");
    for part in normalised
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|p| !p.is_empty())
    {
        match part.split_once('-') {
            Some((from, to)) => {
                let (a, b) = (day(from)?, day(to)?);
                if a > b {
                    return Err(format!(
                        "the range {part:?} runs backwards; write it from the earlier day, e.g. Mon-Sat"
                    ));
                }
                on[a..=b].iter_mut().for_each(|d| *d = true);
            }
            None => on[day(part)?] = true,
        }
    }
    Ok(DAY_NAMES
        .iter()
        .zip(on)
        .filter(|(_, on)| *on)
        .map(|(d, _)| d.0)
        .collect())
}

impl SetupForm {
    /// The form checked field by field, then as a whole configuration against the schema and
    /// the configuration's own rules (exactly what `parchi configure` accepts).
    pub fn config(&self) -> Result<HospitalConfig> {
        let mut errs = ValidationErrors::default();
        let text = |s: &str| s.trim().to_owned();
        let name = text(&self.hospital_name);
        if name.chars().count() < 2 {
            errs.push("hospital_name", "required", "type the hospital's name");
        }
        let counter = text(&self.counter_code).to_ascii_uppercase();
        if parchi_core::CounterCode::parse(&counter).is_err() {
            errs.push("counter_code", "format", parchi_core::CounterCode::ALLOWED);
        }
        let language = text(&self.local_language).to_ascii_lowercase();
        let layout = text(&self.slip_layout).to_ascii_lowercase();
        if self.departments.is_empty() {
            errs.push(
                "departments",
                "required",
                "add at least one department, or import them from a CSV",
            );
        }
        let departments = checked_departments(&self.departments, &mut errs);
        let waived = checked_waived(&self.waived, &mut errs);
        if !errs.is_empty() {
            return Err(AppError::Validation(errs));
        }
        let optional = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let mut hospital = serde_json::json!({
            "name": name,
            "local_language": if language.is_empty() { "hi".into() } else { language },
            "slip_layout": if layout.is_empty() { "thermal80".into() } else { layout },
        });
        for (key, value) in [
            ("name_local", optional(&self.hospital_name_local)),
            ("uhid_system", optional(&self.uhid_system)),
            ("uhid_pattern", optional(&self.uhid_pattern)),
            ("printer", optional(&self.printer)),
        ] {
            if let Some(v) = value {
                hospital[key] = v.into();
            }
        }
        let mut counter_entry = serde_json::json!({ "code": counter });
        if let Some(n) = optional(&self.counter_name) {
            counter_entry["name"] = n.into();
        }
        let mut doc = serde_json::json!({
            "hospital": hospital,
            "fees": { "waived": waived },
            "counters": [counter_entry],
            "departments": departments,
        });
        if let Some(hub) = optional(&self.hub) {
            doc["sync"] = serde_json::json!({ "hub": hub });
        }
        HospitalConfig::from_json(&doc.to_string()).map_err(|e| AppError::Invalid(e.to_string()))
    }
}

/// The department rows as the configuration writes them; every problem goes to `errs` by row
/// and column (field `departments`).
pub(crate) fn checked_departments(
    rows: &[SetupDepartment],
    errs: &mut ValidationErrors,
) -> Vec<serde_json::Value> {
    let mut departments = Vec::new();
    for (i, d) in rows.iter().enumerate() {
        let earlier = &rows[..i];
        if earlier
            .iter()
            .any(|o| o.code.trim().eq_ignore_ascii_case(d.code.trim()))
        {
            errs.push(
                "departments",
                "duplicate",
                format!("row {}, code: {} is used twice", i + 1, d.code.trim()),
            );
        }
        match d.checked() {
            Ok(dept) => departments.push(dept),
            Err(problems) => {
                for (column, why) in problems {
                    errs.push(
                        "departments",
                        "format",
                        format!("row {}, {column}: {why}", i + 1),
                    );
                }
            }
        }
    }
    departments
}

/// The waived categories by code, each once; an unknown one goes to `errs` (field `waived`).
pub(crate) fn checked_waived(codes: &[String], errs: &mut ValidationErrors) -> Vec<&'static str> {
    let mut waived = Vec::new();
    for c in codes {
        match parchi_core::Category::parse(c) {
            Ok(cat) if !waived.contains(&cat.code()) => waived.push(cat.code()),
            Ok(_) => {}
            Err(_) => errs.push(
                "waived",
                "format",
                format!("must be among {}", crate::counter::categories().join(", ")),
            ),
        }
    }
    waived
}

/// Departments from a CSV with a header row naming the columns `code`, `name`, `name_local`,
/// `room`, `days` and `fee` (in any order; other columns are ignored). A row that cannot be
/// read refuses the whole file, naming its line, so nothing half-imported reaches the table.
pub fn departments_from_csv(text: &str) -> Result<Vec<SetupDepartment>> {
    const COLUMNS: [&str; 6] = ["code", "name", "name_local", "room", "days", "fee"];
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| AppError::Invalid(format!("departments CSV: no header row ({e})")))?
        .clone();
    let index = |col: &str| {
        header
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(col))
    };
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| index(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(AppError::Invalid(format!(
            "departments CSV: the header lacks {}; it needs {}",
            missing.join(", "),
            COLUMNS.join(", ")
        )));
    }
    let at: Vec<usize> = COLUMNS.iter().filter_map(|c| index(c)).collect();
    let mut out = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let line = n + 2;
        let row =
            row.map_err(|e| AppError::Invalid(format!("departments CSV line {line}: {e}")))?;
        if row.iter().all(|c| c.is_empty()) {
            continue;
        }
        let cell = |i: usize| row.get(at[i]).unwrap_or("").to_owned();
        out.push(SetupDepartment {
            code: cell(0),
            name: cell(1),
            name_local: cell(2),
            room: cell(3),
            days: cell(4),
            fee: cell(5),
        });
    }
    if out.is_empty() {
        return Err(AppError::Invalid(
            "departments CSV: no department rows under the header".into(),
        ));
    }
    // Check the rows now, so the clerk sees a bad one by its line rather than after editing.
    let mut errs = ValidationErrors::default();
    for (i, d) in out.iter().enumerate() {
        if let Err(problems) = d.checked() {
            for (column, why) in problems {
                errs.push(
                    "departments_csv",
                    "format",
                    format!("line {}, {column}: {why}", i + 2),
                );
            }
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(AppError::Validation(errs))
    }
}

impl SetupDepartment {
    /// The row as the configuration writes it, or every problem by column.
    fn checked(&self) -> std::result::Result<serde_json::Value, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let code = self.code.trim().to_ascii_uppercase();
        if parchi_core::DeptCode::parse(&code).is_err() {
            problems.push((
                "code",
                "2 to 8 capital letters or digits, e.g. MED".to_owned(),
            ));
        }
        for (column, value, min) in [
            ("name", &self.name, 2),
            ("name_local", &self.name_local, 1),
            ("room", &self.room, 1),
        ] {
            if value.trim().chars().count() < min {
                problems.push((column, "required".to_owned()));
            }
        }
        let days = parse_days(&self.days).unwrap_or_else(|why| {
            problems.push(("days", why));
            Vec::new()
        });
        let fee = match self.fee.trim().parse::<u32>() {
            Ok(f) if f <= 100_000 => f,
            _ => {
                problems.push((
                    "fee",
                    "whole rupees from 0 to 100000 (0 for a free OPD)".to_owned(),
                ));
                0
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(serde_json::json!({
            "code": code, "name": self.name.trim(), "name_local": self.name_local.trim(),
            "room": self.room.trim(), "days": days, "fee": fee,
        }))
    }
}

impl Counter {
    /// Sets a new counter up from the setup form in an empty data directory: writes the
    /// configuration to `hospital.toml` there, initialises the store on it, and, when the form
    /// names a hub and a code, enrols. A failed enrolment leaves the counter set up (it works
    /// without a hub) and says why in [`SetupDone::enrol_error`].
    pub fn first_run(
        dir: &Path,
        form: &SetupForm,
        env: Box<dyn Env>,
    ) -> Result<(Counter, SetupDone)> {
        refuse_initialised(dir)?;
        let cfg = form.config()?;
        let counter_code = cfg.counters[0].code.to_string();
        let text = toml::to_string(&cfg)
            .map_err(|e| AppError::Invalid(format!("cannot write the configuration: {e}")))?;
        let path = write_config(dir, text.as_bytes())?;
        let mut counter = Counter::init(dir, &path, &counter_code, env)?;
        let (hub, code) = (form.hub.trim(), form.enrol_code.trim());
        let mut done = SetupDone {
            counter: counter_code,
            enrolled: None,
            enrol_error: None,
        };
        if !hub.is_empty() && !code.is_empty() {
            match counter.enroll(hub, code) {
                Ok(_) => done.enrolled = Some(hub.to_owned()),
                Err(e) => done.enrol_error = Some(e.to_string()),
            }
        }
        Ok((counter, done))
    }

    /// Sets a new counter up as counter [`crate::desktop::DEFAULT_COUNTER`] of the built-in
    /// example hospital, for a demonstration or training: chosen, never assumed.
    pub fn init_demo(dir: &Path, env: Box<dyn Env>) -> Result<Counter> {
        refuse_initialised(dir)?;
        let path = write_config(dir, crate::desktop::EMBEDDED_CONFIG.as_bytes())?;
        Counter::init(dir, &path, crate::desktop::DEFAULT_COUNTER, env)
    }
}

fn refuse_initialised(dir: &Path) -> Result<()> {
    if crate::desktop::is_initialised(dir) {
        return Err(AppError::Denied(format!(
            "{} already holds a counter; setup runs only on an empty data directory",
            dir.display()
        )));
    }
    Ok(())
}

fn write_config(dir: &Path, bytes: &[u8]) -> Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| {
        AppError::Invalid(format!(
            "cannot create the data directory {}: {e}; set PARCHI_DATA to a writable directory",
            dir.display()
        ))
    })?;
    let path = dir.join(crate::desktop::CONFIG_FILE);
    crate::desktop::write_atomically(&path, bytes)?;
    Ok(path)
}

/// Prints a test slip (no patient: a sample with the hospital's name and "TEST PRINT") on the
/// printer the form names, or the system default, in the form's layout. Returns the CUPS job.
pub fn test_print(form: &SetupForm) -> Result<parchi_slip::PrintJob> {
    let layout = match form.slip_layout.trim() {
        "" => "thermal80",
        l => l,
    };
    let layout = layout
        .parse::<parchi_slip::Layout>()
        .map_err(|_| AppError::Invalid("slip_layout: must be thermal80, a6 or a5".into()))?;
    let slip = crate::slips::sample_slip(form);
    let pdf = parchi_slip::render(&slip, layout).map_err(|e| AppError::Invalid(e.to_string()))?;
    let printer = form.printer.trim();
    let opts = parchi_slip::PrintOptions {
        printer: (!printer.is_empty()).then(|| printer.to_owned()),
        title: "Parchi test print".into(),
        ..parchi_slip::PrintOptions::default()
    };
    parchi_slip::print_bytes(&pdf, "nowhere (a test print holds no patient)", &opts)
        .map_err(|e| AppError::Print(e.to_string()))
}

#[cfg(test)]
mod tests;
