//! Reading a CSV of patients for bulk registration (`parchi import`): the columns of
//! `shared/data/sample.patients.csv` by name (name, sex, age_years or age, dob, guardian_relation,
//! guardian_name, mobile, address, district, state, pincode, and optionally abha, aadhaar,
//! category, and uhid: the UHID on the patient's hospital card); any other column is ignored.
//!
//! Each row becomes a [`RegisterRequest`] for [`crate::Counter::register_batch`], which validates
//! it; a row the CSV reader cannot read is reported with its line, and the rows after it go on.

use std::collections::HashMap;
use std::io::Read;

use parchi_core::patient::PatientInput;

use crate::RegisterRequest;

/// The columns read, in the order the help text lists them.
pub const KNOWN_COLUMNS: &[&str] = &[
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

/// Why a CSV cannot be read at all (before any row).
#[derive(Debug, thiserror::Error)]
pub enum CsvHeaderError {
    #[error("no header row: {0}")]
    NoHeader(String),
    #[error("the header must have at least the columns name and sex (known columns: {})", KNOWN_COLUMNS.join(", "))]
    MissingColumns,
}

/// One data row: a request to register, or a line the CSV reader refused.
#[derive(Debug)]
pub enum CsvRow {
    Request {
        line: u64,
        request: Box<RegisterRequest>,
    },
    Unreadable {
        line: u64,
        reason: String,
    },
}

/// The rows of a patients CSV, read one at a time (memory does not grow with the file).
pub struct PatientCsv<R: Read> {
    rows: csv::StringRecordsIntoIter<R>,
    col: HashMap<String, usize>,
    department: String,
    lines: crate::csv_lines::RowLines,
}

impl<R: Read> std::fmt::Debug for PatientCsv<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientCsv")
            .field("columns", &self.col.len())
            .field("department", &self.department)
            .finish_non_exhaustive()
    }
}

impl<R: Read> PatientCsv<R> {
    /// Reads the header; every row is then registered to `department`.
    pub fn new(reader: R, department: &str) -> Result<Self, CsvHeaderError> {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(reader);
        let headers = rdr
            .headers()
            .map_err(|e| CsvHeaderError::NoHeader(e.to_string()))?;
        // A name given twice: the last column of it is read.
        let col: HashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().to_ascii_lowercase(), i))
            .collect();
        if !col.contains_key("name") || !col.contains_key("sex") {
            return Err(CsvHeaderError::MissingColumns);
        }
        let lines = crate::csv_lines::RowLines::after(headers.position());
        Ok(Self {
            rows: rdr.into_records(),
            col,
            department: department.to_owned(),
            lines,
        })
    }

    fn request(&self, rec: &csv::StringRecord) -> RegisterRequest {
        let get = |name: &str| {
            self.col
                .get(name)
                .and_then(|&i| rec.get(i))
                .unwrap_or("")
                .to_owned()
        };
        let age = match get("age_years") {
            a if a.is_empty() => get("age"),
            a => a,
        };
        let mut patient = PatientInput::default();
        for field in PatientInput::FIELDS {
            if let Some(slot) = patient.field_mut(field) {
                *slot = get(field);
            }
        }
        patient.age = age;
        RegisterRequest {
            patient,
            department: self.department.clone(),
            uhid: get("uhid"),
        }
    }
}

impl<R: Read> Iterator for PatientCsv<R> {
    type Item = CsvRow;

    fn next(&mut self) -> Option<CsvRow> {
        let row = self.rows.next()?;
        let line = self.lines.next(match &row {
            Ok(rec) => rec.position(),
            Err(e) => e.position(),
        });
        Some(match row {
            Ok(rec) => CsvRow::Request {
                line,
                request: Box::new(self.request(&rec)),
            },
            Err(e) => CsvRow::Unreadable {
                line,
                reason: format!("not readable CSV: {e}"),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<CsvRow> {
        PatientCsv::new(text.as_bytes(), "GEN")
            .expect("header")
            .collect()
    }

    #[test]
    fn columns_are_taken_by_name_and_age_falls_back_to_age() {
        let r = rows("Sex, NAME ,age,uhid,extra\nF,Sunita Devi,34,DHP1,x\n");
        let [CsvRow::Request { line, request }] = &r[..] else {
            panic!("one request: {r:?}");
        };
        assert_eq!(*line, 2);
        assert_eq!(request.patient.name, "Sunita Devi");
        assert_eq!(request.patient.sex, "F");
        assert_eq!(request.patient.age, "34");
        assert_eq!(request.uhid, "DHP1");
        assert_eq!(request.department, "GEN");
    }

    #[test]
    fn a_header_without_name_or_sex_is_refused() {
        for text in ["name,age\nA,3\n", "", "sex\n"] {
            assert!(PatientCsv::new(text.as_bytes(), "GEN").is_err(), "{text:?}");
        }
    }

    #[test]
    fn an_unreadable_row_is_reported_by_line_and_the_next_rows_go_on() {
        let r = rows("name,sex\nA,M\n\"B,F\n");
        assert!(matches!(r[0], CsvRow::Request { line: 2, .. }), "{r:?}");
        assert!(r.len() >= 2, "{r:?}");
    }

    #[test]
    fn rows_after_bare_carriage_returns_keep_their_own_lines() {
        let r = rows("name,sex\rA,M\r\"B,F\r");
        let lines: Vec<u64> = r
            .iter()
            .map(|row| match row {
                CsvRow::Request { line, .. } | CsvRow::Unreadable { line, .. } => *line,
            })
            .collect();
        assert_eq!(lines[0], 2, "{r:?}");
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
    }

    #[test]
    fn invalid_utf8_is_an_unreadable_row_not_a_panic() {
        let mut bytes = b"name,sex\n".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe, b',', b'M', b'\n']);
        bytes.extend_from_slice(b"C,F\n");
        let r: Vec<CsvRow> = PatientCsv::new(&bytes[..], "GEN")
            .expect("header")
            .collect();
        assert!(matches!(r[0], CsvRow::Unreadable { line: 2, .. }), "{r:?}");
        assert!(matches!(r[1], CsvRow::Request { line: 3, .. }), "{r:?}");
    }
}
