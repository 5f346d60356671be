//! `parchi import`: bulk registration from CSV.
//!
//! Takes the columns of `shared/data/sample.patients.csv` by name (name, sex, age_years or age,
//! dob, guardian_relation, guardian_name, mobile, address, district, state, pincode, and optionally
//! abha, aadhaar, category, and uhid: the UHID on the patient's hospital card) and ignores any
//! others. Valid rows are committed in batches; each
//! refused row is reported with its line and reason. Exit code 2 if any row was refused.

use std::collections::HashMap;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use parchi_app::{Counter, RegisterRequest};
use parchi_core::patient::PatientInput;

use crate::CliError;
use crate::output::Out;

const KNOWN: &[&str] = &[
    "name",
    "sex",
    "age_years",
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
    "uhid",
];

pub fn run(
    c: &mut Counter,
    file: &Path,
    department: &str,
    batch: usize,
    out: &Out,
) -> Result<(), CliError> {
    // Refuse an unknown department before reading a single row.
    if c.config().department(department).is_none() {
        return Err(parchi_app::AppError::UnknownDepartment {
            code: department.to_owned(),
            known: c.config().department_codes(),
        }
        .into());
    }
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(file)
        .map_err(|e| CliError::BadInput(format!("cannot read {}: {e}", file.display())))?;
    let headers = rdr
        .headers()
        .map_err(|e| CliError::BadInput(format!("{}: no header row: {e}", file.display())))?;
    let col: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().to_ascii_lowercase(), i))
        .collect();
    if !col.contains_key("name") || !col.contains_key("sex") {
        return Err(CliError::BadInput(format!(
            "{}: the header must have at least the columns name and sex (known columns: {})",
            file.display(),
            KNOWN.join(", ")
        )));
    }
    let total = std::fs::read(file)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count().saturating_sub(1))
        .unwrap_or(0);
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut pending: Vec<(u64, RegisterRequest)> = Vec::new();
    let mut refused: Vec<(u64, String)> = Vec::new();
    let mut imported = 0u64;
    let mut flush = |c: &mut Counter,
                     pending: &mut Vec<(u64, RegisterRequest)>,
                     refused: &mut Vec<(u64, String)>|
     -> Result<(), CliError> {
        if pending.is_empty() {
            return Ok(());
        }
        let reqs: Vec<RegisterRequest> = pending.iter().map(|(_, r)| r.clone()).collect();
        let results = c.register_batch(&reqs)?;
        for ((line, _), res) in pending.iter().zip(results) {
            match res {
                Ok(r) => {
                    imported += 1;
                    if out.json {
                        out.line(&serde_json::json!({
                            "line": line, "patient_id": r.patient_id, "visit_id": r.visit_id,
                            "temp_id": r.temp_id, "token": r.token,
                        }));
                    }
                }
                Err(e) => {
                    if out.json {
                        out.line(&serde_json::json!({
                            "line": line,
                            "error": { "code": e.code(), "message": e.to_string(), "fields": e.fields().map(|f| &f.0) },
                        }));
                    }
                    refused.push((*line, e.to_string()));
                }
            }
        }
        bar.inc(pending.len() as u64);
        pending.clear();
        Ok(())
    };
    let get = |rec: &csv::StringRecord, name: &str| {
        col.get(name)
            .and_then(|&i| rec.get(i))
            .unwrap_or("")
            .to_owned()
    };
    for row in rdr.records() {
        let rec = match row {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                if out.json {
                    out.line(&serde_json::json!({ "line": line, "error": { "code": "csv", "message": e.to_string() } }));
                }
                refused.push((line, format!("not readable CSV: {e}")));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let age = {
            let a = get(&rec, "age_years");
            if a.is_empty() { get(&rec, "age") } else { a }
        };
        let patient = PatientInput {
            name: get(&rec, "name"),
            sex: get(&rec, "sex"),
            age,
            dob: get(&rec, "dob"),
            guardian_relation: get(&rec, "guardian_relation"),
            guardian_name: get(&rec, "guardian_name"),
            mobile: get(&rec, "mobile"),
            locality: get(&rec, "address"),
            district: get(&rec, "district"),
            state: get(&rec, "state"),
            pincode: get(&rec, "pincode"),
            abha: get(&rec, "abha"),
            aadhaar: get(&rec, "aadhaar"),
            category: get(&rec, "category"),
            quick: false,
        };
        pending.push((
            line,
            RegisterRequest {
                patient,
                department: department.to_owned(),
                uhid: get(&rec, "uhid"),
            },
        ));
        if pending.len() >= batch {
            flush(c, &mut pending, &mut refused)?;
        }
    }
    flush(c, &mut pending, &mut refused)?;
    bar.finish_and_clear();
    if !out.json {
        println!("Imported {imported} rows; refused {}.", refused.len());
        for (line, reason) in &refused {
            println!("  line {line}: {reason}");
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(CliError::Reported(format!(
            "{} row(s) refused; the other {imported} were imported",
            refused.len()
        )))
    }
}
