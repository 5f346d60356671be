//! The import of the hospital's patient index (`parchi_app::mirror::import::import`): the same
//! bytes read as FHIR Bulk ndjson and as CSV, into an in-memory `MirrorSink`, in small batches.
//!
//! Properties:
//! - ndjson: the import succeeds (there is no I/O error in memory); `lines` is the number of
//!   lines in the input; every line is exactly one of a record sent to the sink, a skipped line
//!   or a refused line;
//! - CSV: when it succeeds, it never reports more records than lines: each record, skipped or
//!   refused row is on a line of its own after the header, and `lines` is at most the input's;
//! - both: every record sent passes `validate_central` (the hub would take it) and survives the
//!   JSON the hub stores; no batch is larger than asked; `inserted` plus the duplicates the sink
//!   found is the number of records sent; refusals and warnings are counted and listed at most
//!   1,000 each; the sink is told the import finished exactly once, with its `as_of`; with the
//!   hospital's UHID format set, every UHID imported matches it.
#![no_main]

use std::collections::HashSet;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use parchi_app::counter::Result;
use parchi_app::mirror::import::{Format, ImportOptions, ImportReport, MirrorSink, import};
use parchi_core::CentralPatient;
use parchi_store::MirrorWrite;
use parchi_sync::validate::validate_central;

const BATCH: usize = 3;
const AS_OF: &str = "2026-11-30T22:00:00+05:30";
const LISTED: usize = 1_000;

static UHID_FORMAT: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new("^DHP[0-9]{1,9}$").expect("regex"));

/// A sink in memory: a UHID already written in this run is a duplicate (as the store says).
#[derive(Default)]
struct Memory {
    records: Vec<CentralPatient>,
    seen: HashSet<String>,
    finished: u32,
}

impl MirrorSink for Memory {
    fn write(&mut self, batch: &[CentralPatient], run: u64) -> Result<MirrorWrite> {
        assert!(!batch.is_empty() && batch.len() <= BATCH, "batch of {}", batch.len());
        assert_eq!(run, 7);
        assert_eq!(self.finished, 0, "a write after finish");
        let mut w = MirrorWrite::default();
        for (i, r) in batch.iter().enumerate() {
            self.records.push(r.clone());
            if self.seen.insert(r.uhid.to_string()) {
                w.inserted += 1;
            } else {
                w.duplicates.push(i);
            }
        }
        Ok(w)
    }

    fn finish(&mut self, run: u64, as_of: &str, _fhir_since: Option<&str>) -> Result<()> {
        assert_eq!(run, 7);
        assert_eq!(as_of, AS_OF);
        self.finished += 1;
        Ok(())
    }
}

fn opts(with_format: bool) -> ImportOptions {
    ImportOptions {
        uhid_system: "https://dh-patna.bihar.gov.in/fhir/uhid".into(),
        uhid_format: with_format.then(|| UHID_FORMAT.clone()),
        as_of: AS_OF.into(),
        batch: BATCH,
        run: 7,
    }
}

fn check_common(report: &ImportReport, sink: &Memory, with_format: bool) {
    assert_eq!(sink.finished, 1, "finish called {} times", sink.finished);
    assert_eq!(report.as_of, AS_OF);
    let sent = sink.records.len() as u64;
    assert_eq!(report.inserted + report.duplicate_count, sent);
    assert_eq!(report.updated + report.unchanged, 0);
    assert!(report.warned <= sent);
    assert_eq!(report.errors.len() as u64, report.refused.min(LISTED as u64));
    assert_eq!(report.warnings.len() as u64, report.warned.min(LISTED as u64));
    assert_eq!(
        report.duplicates.len() as u64,
        report.duplicate_count.min(LISTED as u64)
    );
    for r in &sink.records {
        if let Err(e) = validate_central(r) {
            panic!("an imported record fails validate_central: {}", e.reason);
        }
        let json = serde_json::to_string(r).expect("encodes");
        let back: CentralPatient = serde_json::from_str(&json).expect("decodes");
        assert!(back == *r, "a record does not survive JSON");
        if with_format {
            assert!(UHID_FORMAT.is_match(r.uhid.as_str()), "UHID outside the format");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let with_format = data.len() % 2 == 1;
    let newlines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    let physical = newlines + u64::from(!data.is_empty() && data.last() != Some(&b'\n'));

    let mut sink = Memory::default();
    let report = import(data, Format::FhirNdjson, &mut sink, &opts(with_format), &mut |_, _| {})
        .expect("an ndjson import in memory cannot fail");
    check_common(&report, &sink, with_format);
    assert_eq!(report.lines, physical, "ndjson lines miscounted");
    assert_eq!(
        sink.records.len() as u64 + report.skipped + report.refused,
        report.lines,
        "an ndjson line neither imported, skipped nor refused"
    );

    // A CSV line may also end at a bare CR (csv-core ends records there; old Mac exports).
    let breaks = data
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && data.get(i + 1) != Some(&b'\n')))
        .count() as u64;
    let ends_open = !data.is_empty() && !matches!(data.last(), Some(b'\n' | b'\r'));
    let physical_csv = breaks + u64::from(ends_open);
    let mut sink = Memory::default();
    if let Ok(report) = import(data, Format::Csv, &mut sink, &opts(with_format), &mut |_, _| {}) {
        check_common(&report, &sink, with_format);
        let rows = sink.records.len() as u64 + report.skipped + report.refused;
        assert!(report.lines <= physical_csv, "CSV lines past the input's");
        assert!(
            rows <= report.lines.saturating_sub(1),
            "{rows} CSV rows reported on {} lines",
            report.lines
        );
    }
});
