//! `parchi import`: bulk registration from CSV.
//!
//! The rows are read by `parchi_app::patient_csv` (the columns of
//! `shared/data/sample.patients.csv` by name, any others ignored). Valid rows are committed in
//! batches; each refused row is reported with its line and reason. Exit code 2 if any row was
//! refused.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use parchi_app::patient_csv::{CsvRow, PatientCsv};
use parchi_app::{Counter, RegisterRequest};

use crate::CliError;
use crate::output::Out;

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
    let reader = std::fs::File::open(file)
        .map_err(|e| CliError::BadInput(format!("cannot read {}: {e}", file.display())))?;
    let rows = PatientCsv::new(std::io::BufReader::new(reader), department)
        .map_err(|e| CliError::BadInput(format!("{}: {e}", file.display())))?;
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
    for row in rows {
        match row {
            CsvRow::Unreadable { line, reason } => {
                if out.json {
                    out.line(&serde_json::json!({ "line": line, "error": { "code": "csv", "message": reason } }));
                }
                refused.push((line, reason));
                continue;
            }
            CsvRow::Request { line, request } => pending.push((line, *request)),
        }
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
