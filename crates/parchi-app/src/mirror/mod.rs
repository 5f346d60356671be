//! The mirror of the hospital's patient index at this counter: importing an export into it,
//! how current it is, and the hospital's UHID format.
//!
//! A counter with a hub receives the mirror through sync; a standalone counter imports an
//! export itself (`parchi mirror import`). Either way mirror records are read-only: starting a
//! visit for one creates a Parchi patient linked to its UHID (see `central`).

pub mod hub;
pub mod import;
pub mod parse;

use std::path::Path;

use chrono::{DateTime, FixedOffset};
use parchi_core::{CentralPatient, Uhid};
use parchi_store::{MirrorStatus, MirrorWrite, Store};
use serde::Serialize;

pub use import::{Format, ImportOptions, ImportReport, MirrorSink};

use crate::config::HospitalConfig;
use crate::counter::{Counter, Result};
use crate::error::AppError;

/// This counter's store as the place an import writes to.
struct LocalMirror<'a>(&'a mut Store);

impl MirrorSink for LocalMirror<'_> {
    fn write(&mut self, batch: &[CentralPatient], run: u64) -> Result<MirrorWrite> {
        Ok(self.0.mirror_write(batch, run)?)
    }
    fn finish(&mut self, _run: u64, as_of: &str, _fhir_since: Option<&str>) -> Result<()> {
        Ok(self.0.set_mirror_as_of(as_of)?)
    }
}

/// How current the mirror is, for the status bar and `parchi mirror status`.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MirrorView {
    pub records: u64,
    pub as_of: Option<String>,
    /// The copy's time in the hospital's time zone, `30-11 22:00`, for a screen to put in its
    /// own words.
    pub as_of_local: Option<String>,
    /// "hospital index as of 30-11 22:00", in the hospital's time, or that there is none.
    pub label: String,
}

fn label(any: bool, local: Option<&str>) -> String {
    match (local, any) {
        (Some(t), _) => format!("hospital index as of {t}"),
        (None, false) => "no hospital index at this counter".to_string(),
        (None, true) => "hospital index (time of copy unknown)".to_string(),
    }
}

/// The hospital's UHID format, from `hospital.uhid_pattern`, matched in full.
pub fn uhid_format_of(cfg: &HospitalConfig) -> Result<Option<regex::Regex>> {
    cfg.hospital
        .uhid_pattern
        .as_deref()
        .map(|p| {
            regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                AppError::Invalid(format!("hospital.uhid_pattern is not a valid pattern: {e}"))
            })
        })
        .transpose()
}

/// The time a file was last written, as RFC 3339 (the default `as_of` of an import).
pub fn file_time(path: &Path, offset: FixedOffset) -> Option<String> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let utc: DateTime<chrono::Utc> = modified.into();
    Some(utc.with_timezone(&offset).to_rfc3339())
}

impl Counter {
    /// The hospital's UHID format, from `hospital.uhid_pattern`.
    pub fn uhid_format(&self) -> Result<Option<regex::Regex>> {
        uhid_format_of(self.config())
    }

    /// A UHID as typed or scanned from a card, checked against the hospital's format.
    pub fn parse_uhid(&self, text: &str) -> Result<Uhid> {
        let u = Uhid::parse(text).map_err(|e| AppError::Invalid(format!("uhid: {e}")))?;
        if let Some(re) = self.uhid_format()?
            && !re.is_match(u.as_str())
        {
            return Err(AppError::Invalid(format!(
                "uhid: {u} is not a UHID of this hospital (they look like {})",
                self.config().hospital.uhid_pattern.as_deref().unwrap_or("")
            )));
        }
        Ok(u)
    }

    /// The FHIR identifier system of the hospital's UHIDs.
    pub fn uhid_system(&self) -> String {
        crate::fhir::Systems::from_uhid_system(self.config().hospital.uhid_system.as_deref()).uhid
    }

    /// The options of an import into this counter: this hospital's UHID system and format, a
    /// fresh run ID, and when the index was copied (`as_of`, else the file's time).
    pub fn import_options(&mut self, path: &Path, as_of: Option<&str>) -> Result<ImportOptions> {
        let cfg = self.config().clone();
        hub::options_for(&cfg, as_of, |o| file_time(path, o), self.env_mut())
    }

    /// Imports an export of the hospital's index into this counter's own mirror (a standalone
    /// counter with no hub).
    pub fn mirror_import(
        &mut self,
        path: &Path,
        as_of: Option<&str>,
        progress: import::OnProgress<'_>,
    ) -> Result<ImportReport> {
        let opts = self.import_options(path, as_of)?;
        let (file, format) = open_export(path)?;
        let mut sink = LocalMirror(self.store_mut());
        import::import(file, format, &mut sink, &opts, progress)
    }

    /// How current this counter's mirror is (counts its records: for a status poll, not a
    /// keystroke).
    pub fn mirror_view(&self) -> Result<MirrorView> {
        let MirrorStatus { records, as_of, .. } = self.store().mirror_status()?;
        let as_of_local = self.local_as_of(as_of.as_deref());
        Ok(MirrorView {
            label: label(records > 0, as_of_local.as_deref()),
            records,
            as_of,
            as_of_local,
        })
    }

    /// "hospital index as of 30-11 22:00", without counting the mirror.
    pub fn mirror_label(&self) -> Result<String> {
        let as_of = self.store().mirror_as_of()?;
        let local = self.local_as_of(as_of.as_deref());
        Ok(label(self.store().has_mirror()?, local.as_deref()))
    }

    fn local_as_of(&self, as_of: Option<&str>) -> Option<String> {
        let t = DateTime::parse_from_rfc3339(as_of?).ok()?;
        let local = match self.config().offset() {
            Some(o) => t.with_timezone(&o).naive_local(),
            None => t.naive_local(),
        };
        Some(local.format("%d-%m %H:%M").to_string())
    }

    /// The mirror's record of a UHID.
    pub fn mirror_record(&self, uhid: &Uhid) -> Result<Option<CentralPatient>> {
        Ok(self.store().mirror_record(uhid)?)
    }

    /// Writes already-validated records into the mirror as import run `run` (the importer's
    /// and sync's last step; tests and benchmarks load a mirror with it directly).
    pub fn mirror_load(
        &mut self,
        records: &[CentralPatient],
        run: u64,
    ) -> Result<parchi_store::MirrorWrite> {
        Ok(self.store_mut().mirror_write(records, run)?)
    }
}

/// Opens an export file and tells its format.
pub fn open_export(path: &Path) -> Result<(std::io::BufReader<std::fs::File>, Format)> {
    use std::io::BufRead;
    let file = std::fs::File::open(path)
        .map_err(|e| AppError::Invalid(format!("cannot open {}: {e}", path.display())))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let first = reader
        .fill_buf()
        .map_err(|e| AppError::Invalid(format!("cannot read {}: {e}", path.display())))?
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace());
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    Ok((reader, Format::detect(name, first)))
}
