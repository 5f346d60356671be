//! `parchi import`'s reading of a patients CSV (`parchi_app::patient_csv::PatientCsv`) from any
//! bytes, then the validation each row gets first in `Counter::register_batch`.
//!
//! Properties:
//! - a header without the columns name and sex is refused before any row, with a reason;
//! - rows come in file order: line numbers strictly increase, start after the header and never
//!   pass the input's physical line count;
//! - every row is a request for the department given, never in quick mode, or an unreadable line
//!   with a reason;
//! - a request's fields are trimmed (`Trim::All`) and `uhid` is the `uhid` column;
//! - validating a row's patient is deterministic, and a refusal names at least one field.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use parchi_app::patient_csv::{CsvRow, PatientCsv};

const DEPT: &str = "GEN";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).expect("date")
}

fn trimmed(s: &str) -> bool {
    s.trim() == s
}

fuzz_target!(|data: &[u8]| {
    let newlines = data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64;
    let physical = newlines + 1;
    let rows = match PatientCsv::new(data, DEPT) {
        Ok(rows) => rows,
        Err(e) => {
            assert!(!e.to_string().is_empty(), "a refusal without a reason");
            return;
        }
    };
    let mut last = 1u64;
    for row in rows {
        let line = match &row {
            CsvRow::Request { line, request } => {
                assert_eq!(request.department, DEPT);
                assert!(!request.patient.quick, "an imported row in quick mode");
                let p = &request.patient;
                for v in [&p.name, &p.sex, &p.age, &p.mobile, &p.abha, &request.uhid] {
                    assert!(trimmed(v), "a field read untrimmed");
                }
                let a = p.validate(today());
                let b = p.validate(today());
                match (&a, &b) {
                    (Ok(x), Ok(y)) => assert!(x.fields == y.fields, "validation not deterministic"),
                    (Err(x), Err(y)) => {
                        assert!(x == y, "validation not deterministic");
                        assert!(!x.0.is_empty(), "a refusal names no field");
                    }
                    _ => panic!("validation not deterministic"),
                }
                *line
            }
            CsvRow::Unreadable { line, reason } => {
                assert!(!reason.is_empty(), "an unreadable line without a reason");
                *line
            }
        };
        assert!(line > last, "line {line} after line {last}");
        assert!(line <= physical, "line {line} past the input's {physical} lines");
        last = line;
    }
});
