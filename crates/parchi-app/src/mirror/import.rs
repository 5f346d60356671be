//! Importing an export of the hospital's patient index, streamed: records go out in batches to a
//! [`MirrorSink`] (this counter's store, or a hub), so memory stays bounded by one batch and one
//! line whatever the file size. A refused line is reported with its number and the rest imports.

use std::io::{BufRead, Read};

use parchi_core::CentralPatient;
use parchi_store::MirrorWrite;
use serde::Serialize;

use super::parse::{CsvColumns, Entry, patient_from_csv, patient_from_ndjson};
use crate::counter::Result;
use crate::error::AppError;

/// The longest line an export may have; a patient is a few hundred bytes.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Records per batch.
pub const BATCH: usize = 5_000;
/// Refusals, warnings and duplicates listed in a report (all are counted).
const LISTED: usize = 1_000;

/// The two export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    FhirNdjson,
    Csv,
}

impl Format {
    /// From the file name (`.ndjson`, `.jsonl`, `.json` or `.csv`), else from its first byte.
    pub fn detect(name: &str, first: Option<u8>) -> Format {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Format::Csv
        } else if lower.ends_with(".ndjson") || lower.ends_with(".jsonl") || first == Some(b'{') {
            Format::FhirNdjson
        } else {
            Format::Csv
        }
    }
}

/// Where imported records go.
pub trait MirrorSink {
    /// Writes one batch of the import `run`, all or nothing.
    fn write(&mut self, batch: &[CentralPatient], run: u64) -> Result<MirrorWrite>;
    /// Records that the import is complete and when the hospital's index was copied.
    fn finish(&mut self, run: u64, as_of: &str, fhir_since: Option<&str>) -> Result<()>;
}

/// One line the report names.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct LineIssue {
    pub line: u64,
    pub message: String,
}

/// What an import did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    pub lines: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Deliberately left out (inactive records, blank lines).
    pub skipped: u64,
    /// Lines refused (listed up to 1,000 in `errors`).
    pub refused: u64,
    pub errors: Vec<LineIssue>,
    /// Records kept with an optional field left out.
    pub warned: u64,
    pub warnings: Vec<LineIssue>,
    /// UHIDs listed more than once in the file: the first copy was kept.
    pub duplicates: Vec<LineIssue>,
    pub duplicate_count: u64,
    pub as_of: String,
}

fn list(into: &mut Vec<LineIssue>, line: u64, message: String) {
    if into.len() < LISTED {
        into.push(LineIssue { line, message });
    }
}

/// Settings of one import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The FHIR identifier system of the hospital's UHIDs.
    pub uhid_system: String,
    /// The hospital's UHID format, when configured.
    pub uhid_format: Option<regex::Regex>,
    /// When the hospital's index was copied (RFC 3339).
    pub as_of: String,
    pub batch: usize,
    /// Identifies this import, so a UHID listed twice in the file is found.
    pub run: u64,
}

/// Progress: bytes read and lines seen so far.
pub type OnProgress<'a> = &'a mut dyn FnMut(u64, u64);

struct Batch<'s> {
    sink: &'s mut dyn MirrorSink,
    run: u64,
    size: usize,
    records: Vec<CentralPatient>,
    lines: Vec<u64>,
}

impl Batch<'_> {
    fn push(&mut self, r: CentralPatient, line: u64, report: &mut ImportReport) -> Result<()> {
        self.records.push(r);
        self.lines.push(line);
        if self.records.len() >= self.size {
            self.flush(report)?;
        }
        Ok(())
    }

    fn flush(&mut self, report: &mut ImportReport) -> Result<()> {
        if self.records.is_empty() {
            return Ok(());
        }
        let w = self.sink.write(&self.records, self.run)?;
        report.inserted += w.inserted as u64;
        report.updated += w.updated as u64;
        report.unchanged += w.unchanged as u64;
        for i in w.duplicates {
            report.duplicate_count += 1;
            if let (Some(line), Some(r)) = (self.lines.get(i), self.records.get(i)) {
                list(
                    &mut report.duplicates,
                    *line,
                    format!("UHID {} is listed again; the first copy was kept", r.uhid),
                );
            }
        }
        self.records.clear();
        self.lines.clear();
        Ok(())
    }
}

fn take(
    entry: std::result::Result<Entry, String>,
    line: u64,
    report: &mut ImportReport,
) -> Option<CentralPatient> {
    match entry {
        Ok(Entry::Record(p)) => {
            if !p.warnings.is_empty() {
                report.warned += 1;
                list(&mut report.warnings, line, p.warnings.join("; "));
            }
            Some(p.record)
        }
        Ok(Entry::Skipped(_)) => {
            report.skipped += 1;
            None
        }
        Err(message) => {
            report.refused += 1;
            list(&mut report.errors, line, message);
            None
        }
    }
}

/// Reads one line of at most [`MAX_LINE_BYTES`] into `buf` (without the newline). `Ok(None)` at
/// the end; `Ok(Some(false))` when the line was longer (it is skipped to its end).
fn next_line<R: BufRead>(input: &mut R, buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(any.then_some(!too_long));
        }
        any = true;
        let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], Some(i + 1)),
            None => (chunk, None),
        };
        if !too_long && buf.len() + part.len() <= MAX_LINE_BYTES {
            buf.extend_from_slice(part);
        } else {
            too_long = true;
            buf.clear();
        }
        let used = done.unwrap_or(part.len());
        input.consume(used);
        if done.is_some() {
            return Ok(Some(!too_long));
        }
    }
}

fn io_err(e: std::io::Error) -> AppError {
    AppError::Invalid(format!("reading the export: {e}"))
}

/// Counts the bytes read, for the progress bar.
struct Counted<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Refuses any line longer than [`MAX_LINE_BYTES`] (a CSV reader would otherwise buffer it).
struct LineCap<R> {
    inner: R,
    run: usize,
}

impl<R: Read> Read for LineCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            self.run = if b == b'\n' { 0 } else { self.run + 1 };
            if self.run > MAX_LINE_BYTES {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "a line is longer than {MAX_LINE_BYTES} bytes: this is not a patient index export"
                    ),
                ));
            }
        }
        Ok(n)
    }
}

/// Imports an export into `sink`. A refused line is reported and the rest imports; an I/O error
/// or a sink error stops the import (batches written before it stay written: re-running the
/// import is safe, unchanged records are left as they are).
pub fn import<R: Read>(
    input: R,
    format: Format,
    sink: &mut dyn MirrorSink,
    opts: &ImportOptions,
    progress: OnProgress<'_>,
) -> Result<ImportReport> {
    let mut report = ImportReport {
        as_of: opts.as_of.clone(),
        ..ImportReport::default()
    };
    let mut batch = Batch {
        sink,
        run: opts.run,
        size: opts.batch.max(1),
        records: Vec::with_capacity(opts.batch.max(1)),
        lines: Vec::with_capacity(opts.batch.max(1)),
    };
    let mut counted = Counted {
        inner: input,
        bytes: 0,
    };
    match format {
        Format::FhirNdjson => {
            let mut reader = std::io::BufReader::with_capacity(1 << 16, &mut counted);
            let mut buf = Vec::with_capacity(4096);
            let mut line = 0u64;
            while let Some(fits) = next_line(&mut reader, &mut buf).map_err(io_err)? {
                line += 1;
                let entry = if !fits {
                    Err(format!("longer than {MAX_LINE_BYTES} bytes"))
                } else {
                    match std::str::from_utf8(&buf) {
                        Ok(text) => patient_from_ndjson(text, &opts.uhid_system, &opts.uhid_format),
                        Err(_) => Err("not UTF-8 text".into()),
                    }
                };
                if let Some(r) = take(entry, line, &mut report) {
                    batch.push(r, line, &mut report)?;
                }
                report.lines = line;
                if line.is_multiple_of(1_000) {
                    progress(reader.get_ref().bytes, line);
                }
            }
        }
        Format::Csv => {
            let capped = LineCap {
                inner: &mut counted,
                run: 0,
            };
            let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(capped);
            let header = reader
                .headers()
                .map_err(|e| AppError::Invalid(format!("the CSV header: {e}")))?
                .clone();
            let cols = CsvColumns::from_header(&header).map_err(AppError::Invalid)?;
            let mut row = csv::StringRecord::new();
            let mut lines = crate::csv_lines::RowLines::after(header.position());
            loop {
                match reader.read_record(&mut row) {
                    Ok(false) => break,
                    Ok(true) => {
                        let line = lines.next(row.position());
                        if let Some(r) = take(
                            patient_from_csv(&row, &cols, &opts.uhid_format),
                            line,
                            &mut report,
                        ) {
                            batch.push(r, line, &mut report)?;
                        }
                        report.lines = line;
                        if line.is_multiple_of(1_000) {
                            progress(reader.get_ref().inner.bytes, line);
                        }
                    }
                    Err(e) => match e.kind() {
                        csv::ErrorKind::Utf8 { pos, .. } => {
                            let line = lines.next(pos.as_ref());
                            take(Err("not UTF-8 text".into()), line, &mut report);
                            report.lines = line;
                        }
                        _ => return Err(AppError::Invalid(format!("reading the CSV: {e}"))),
                    },
                }
            }
        }
    }
    batch.flush(&mut report)?;
    progress(counted.bytes, report.lines);
    batch.sink.finish(opts.run, &opts.as_of, None)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Memory {
        batches: Vec<usize>,
        seen: std::collections::HashSet<String>,
        finished: Option<String>,
    }

    impl MirrorSink for Memory {
        fn write(&mut self, batch: &[CentralPatient], _run: u64) -> Result<MirrorWrite> {
            self.batches.push(batch.len());
            let mut w = MirrorWrite::default();
            for (i, r) in batch.iter().enumerate() {
                if self.seen.insert(r.uhid.to_string()) {
                    w.inserted += 1;
                } else {
                    w.duplicates.push(i);
                }
            }
            Ok(w)
        }
        fn finish(&mut self, _run: u64, as_of: &str, _f: Option<&str>) -> Result<()> {
            self.finished = Some(as_of.to_owned());
            Ok(())
        }
    }

    fn opts(batch: usize) -> ImportOptions {
        ImportOptions {
            uhid_system: "urn:h:uhid".into(),
            uhid_format: None,
            as_of: "2026-11-30T22:00:00+05:30".into(),
            batch,
            run: 7,
        }
    }

    #[test]
    fn a_bad_line_is_reported_by_number_and_the_rest_imports_in_batches() {
        let good = |u: &str| {
            format!(
                r#"{{"resourceType":"Patient","identifier":[{{"system":"urn:h:uhid","value":"{u}"}}],"name":[{{"text":"Asha Devi"}}]}}"#
            )
        };
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let text = [
            good("DHP0001"),
            "{broken".into(),
            good("DHP0002"),
            long,
            String::new(),
            good("DHP0001"),
            good("DHP0003"),
        ]
        .join("\n");
        let mut sink = Memory::default();
        let r = import(
            text.as_bytes(),
            Format::FhirNdjson,
            &mut sink,
            &opts(2),
            &mut |_, _| {},
        )
        .expect("import");
        assert_eq!(r.lines, 7);
        assert_eq!(r.inserted, 3);
        assert_eq!(r.refused, 2);
        assert_eq!(
            r.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![2, 4]
        );
        assert_eq!(r.skipped, 1, "the blank line");
        assert_eq!(
            r.duplicates.iter().map(|d| d.line).collect::<Vec<_>>(),
            vec![6]
        );
        assert_eq!(sink.batches, vec![2, 2]);
        assert_eq!(sink.finished.as_deref(), Some("2026-11-30T22:00:00+05:30"));
    }

    #[test]
    fn csv_line_numbers_count_from_the_header() {
        let text = "uhid,name,sex,birth_year\nDHP0001,Asha Devi,F,1980\nDHP0002,R2D2,M,1970\nDHP0003,Ram Kumar,X,1970\n";
        let mut sink = Memory::default();
        let r = import(
            text.as_bytes(),
            Format::Csv,
            &mut sink,
            &opts(100),
            &mut |_, _| {},
        )
        .expect("import");
        assert_eq!((r.inserted, r.refused, r.warned), (2, 1, 1));
        assert_eq!(r.errors[0].line, 3);
        assert_eq!(r.warnings[0].line, 4);
        assert!(r.warnings[0].message.starts_with("sex left out"));

        // The same file with bare CRs between lines (an old Mac export; the fuzzer's find).
        let mut sink = Memory::default();
        let r = import(
            text.replace('\n', "\r").as_bytes(),
            Format::Csv,
            &mut sink,
            &opts(100),
            &mut |_, _| {},
        )
        .expect("import");
        assert_eq!((r.inserted, r.refused, r.warned, r.lines), (2, 1, 1, 4));
        assert_eq!(r.errors[0].line, 3);
        assert_eq!(r.warnings[0].line, 4);

        // A last row that is not UTF-8 is refused on its line, and the lines count it.
        let mut sink = Memory::default();
        let mut bytes = text.as_bytes().to_vec();
        bytes.extend_from_slice(b"DHP0\xff004,Sita Devi,F,1990\n");
        let r = import(
            &bytes[..],
            Format::Csv,
            &mut sink,
            &opts(100),
            &mut |_, _| {},
        )
        .expect("import");
        assert_eq!((r.inserted, r.refused, r.lines), (2, 2, 5));
        assert_eq!(r.errors[1].line, 5);
    }

    #[test]
    fn formats_are_told_apart_by_name_then_content() {
        assert_eq!(Format::detect("index.CSV", Some(b'{')), Format::Csv);
        assert_eq!(Format::detect("Patient.ndjson", None), Format::FhirNdjson);
        assert_eq!(Format::detect("export", Some(b'{')), Format::FhirNdjson);
        assert_eq!(Format::detect("export", Some(b'u')), Format::Csv);
    }
}
