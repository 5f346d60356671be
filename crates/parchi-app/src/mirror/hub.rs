//! The hub's copy of the hospital's index: an export file sent to it batch by batch
//! (`parchi hub mirror-import`), or a FHIR server's Patients paged into it, only those changed
//! since the last pull (`parchi hub mirror-pull --fhir`). Counters receive it through sync.

use chrono::{DateTime, FixedOffset};
use parchi_core::CentralPatient;
use parchi_store::MirrorWrite;
use parchi_sync::HubClient;
use parchi_sync::wire::{MirrorBatch, MirrorDone};
use serde::Serialize;
use serde_json::Value;

use super::import::{self, ImportOptions, ImportReport, LineIssue, MirrorSink};
use super::parse::{Entry, patient_from_fhir};
use crate::config::HospitalConfig;
use crate::counter::Result;
use crate::env::Env;
use crate::error::AppError;
use crate::fhir::FhirTarget;
use crate::fhir::push::{Client, Method, outcome_text};

fn hub_err(e: parchi_sync::ClientError) -> AppError {
    AppError::Sync(e.to_string())
}

/// A running hub as the place an import writes to (with its admin secret).
pub struct HubMirror<'a> {
    pub client: &'a HubClient,
    pub secret: &'a str,
}

impl std::fmt::Debug for HubMirror<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubMirror").finish_non_exhaustive()
    }
}

fn run_id(run: u64) -> String {
    format!("{run:016x}")
}

impl MirrorSink for HubMirror<'_> {
    fn write(&mut self, batch: &[CentralPatient], run: u64) -> Result<MirrorWrite> {
        let r = self
            .client
            .admin_mirror_batch(
                self.secret,
                &MirrorBatch {
                    run: run_id(run),
                    records: batch.to_vec(),
                },
            )
            .map_err(hub_err)?;
        let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        Ok(MirrorWrite {
            inserted: n(r.inserted),
            updated: n(r.updated),
            unchanged: n(r.unchanged),
            duplicates: r.duplicates.into_iter().map(|i| i as usize).collect(),
        })
    }

    fn finish(&mut self, run: u64, as_of: &str, fhir_since: Option<&str>) -> Result<()> {
        self.client
            .admin_mirror_done(
                self.secret,
                &MirrorDone {
                    run: run_id(run),
                    as_of: as_of.to_owned(),
                    fhir_since: fhir_since.map(str::to_owned),
                },
            )
            .map_err(hub_err)?;
        Ok(())
    }
}

/// The options of an import for a hospital: its UHID system and format, a fresh run, and
/// when the index was copied (`as_of`, else `default_as_of`).
pub fn options_for(
    cfg: &HospitalConfig,
    as_of: Option<&str>,
    default_as_of: impl FnOnce(FixedOffset) -> Option<String>,
    env: &mut dyn Env,
) -> Result<ImportOptions> {
    let offset = cfg
        .offset()
        .unwrap_or_else(|| chrono::Offset::fix(&chrono::Utc));
    let as_of = match as_of {
        Some(a) => DateTime::parse_from_rfc3339(a.trim())
            .map_err(|_| {
                AppError::Invalid(
                    "--as-of: give the time of the export as 2026-11-30T22:00:00+05:30".into(),
                )
            })?
            .to_rfc3339(),
        None => default_as_of(offset).ok_or_else(|| {
            AppError::Invalid("cannot tell when the export was made: give --as-of".into())
        })?,
    };
    let mut run = [0u8; 8];
    env.fill_random(&mut run);
    Ok(ImportOptions {
        uhid_system: crate::fhir::Systems::from_uhid_system(cfg.hospital.uhid_system.as_deref())
            .uhid,
        uhid_format: super::uhid_format_of(cfg)?,
        as_of,
        batch: import::BATCH,
        run: u64::from_le_bytes(run),
    })
}

/// Imports an export file into a running hub.
pub fn import_to_hub(
    path: &std::path::Path,
    opts: &ImportOptions,
    hub: &mut HubMirror<'_>,
    progress: import::OnProgress<'_>,
) -> Result<ImportReport> {
    let (file, format) = super::open_export(path)?;
    import::import(file, format, hub, opts, progress)
}

/// What a pull from a FHIR server did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PullReport {
    pub pages: u64,
    pub records: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub skipped: u64,
    pub refused: u64,
    pub errors: Vec<LineIssue>,
    /// The highest `meta.lastUpdated` seen: the next pull asks only for what changed after it.
    pub since: Option<String>,
}

/// Pages through a FHIR server's Patients changed since the hub's last pull, into the hub.
pub fn pull_fhir(
    target: &FhirTarget,
    hub: &mut HubMirror<'_>,
    opts: &ImportOptions,
    seed: u64,
    progress: &mut dyn FnMut(u64),
) -> Result<PullReport> {
    let status = hub
        .client
        .admin_mirror_status(hub.secret)
        .map_err(hub_err)?;
    let mut report = PullReport {
        since: status.fhir_since.clone(),
        ..PullReport::default()
    };
    let mut query = vec![
        ("_sort", "_lastUpdated".to_string()),
        ("_count", "500".to_string()),
    ];
    if let Some(s) = &status.fhir_since {
        query.push(("_lastUpdated", format!("gt{s}")));
    }
    let mut client = Client::new(target, seed);
    let mut page = client.send("/Patient", Method::Get(&query), "searching Patients")?;
    loop {
        if page.status != 200 {
            return Err(AppError::Fhir(format!(
                "searching Patients answered {}: {}",
                page.status,
                outcome_text(&page.body)
            )));
        }
        let bundle: Value = serde_json::from_slice(&page.body)
            .map_err(|e| AppError::Fhir(format!("a search page is not JSON: {e}")))?;
        report.pages += 1;
        let mut batch = Vec::new();
        for e in bundle["entry"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let Some(r) = e.get("resource") else { continue };
            report.records += 1;
            if let Some(t) = r.pointer("/meta/lastUpdated").and_then(Value::as_str)
                && report.since.as_deref().is_none_or(|s| later(t, s))
            {
                report.since = Some(t.to_owned());
            }
            match patient_from_fhir(r, &opts.uhid_system, &opts.uhid_format) {
                Ok(Entry::Record(p)) => batch.push(p.record),
                Ok(Entry::Skipped(_)) => report.skipped += 1,
                Err(message) => {
                    report.refused += 1;
                    if report.errors.len() < 1_000 {
                        report.errors.push(LineIssue {
                            line: report.records,
                            message,
                        });
                    }
                }
            }
        }
        if !batch.is_empty() {
            let w = hub.write(&batch, opts.run)?;
            report.inserted += w.inserted as u64;
            report.updated += w.updated as u64;
            report.unchanged += w.unchanged as u64;
        }
        progress(report.records);
        let next = bundle["link"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["relation"] == "next"))
            .and_then(|x| x["url"].as_str())
            .map(str::to_owned);
        match next {
            Some(url) if same_server(&url, &target.base) => {
                page = client.send_url(&url, Method::Get(&[]), "the next page of Patients")?;
            }
            Some(_) => {
                return Err(AppError::Fhir(
                    "the server's next page points to another server; refusing to follow it".into(),
                ));
            }
            None => break,
        }
    }
    hub.finish(opts.run, &opts.as_of, report.since.as_deref())?;
    Ok(report)
}

/// Whether instant `a` is after `b` (both RFC 3339; unparsable ones compare as text).
fn later(a: &str, b: &str) -> bool {
    match (
        DateTime::parse_from_rfc3339(a),
        DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(x), Ok(y)) => x > y,
        _ => a > b,
    }
}

/// A `next` link must stay on the server the pull started at (scheme, host and port).
fn same_server(url: &str, base: &str) -> bool {
    let origin = |u: &str| -> Option<String> {
        let (scheme, rest) = u.split_once("://")?;
        let host = rest.split('/').next()?;
        Some(format!("{scheme}://{host}").to_ascii_lowercase())
    };
    origin(url).is_some() && origin(url) == origin(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_must_stay_on_the_server_and_instants_compare_as_times() {
        assert!(same_server(
            "http://127.0.0.1:8080/Patient?_cursor=x",
            "http://127.0.0.1:8080"
        ));
        assert!(!same_server(
            "http://evil.example/Patient",
            "http://127.0.0.1:8080"
        ));
        assert!(!same_server("nonsense", "http://127.0.0.1:8080"));
        assert!(later("2026-11-30T22:00:00.500Z", "2026-11-30T22:00:00Z"));
        assert!(later("2026-12-01T00:00:00+05:30", "2026-11-30T18:00:00Z"));
    }
}
