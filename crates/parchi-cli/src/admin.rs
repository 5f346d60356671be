//! `parchi mirror …` and `parchi link …`: the hospital's index at this counter, and linking
//! patients to it after the outage.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use parchi_app::mirror::ImportReport;
use parchi_core::op::Field;

use crate::args::{LinkCommand, MirrorCommand};
use crate::output::Out;
use crate::{CliError, open};

/// A progress bar over bytes of a file (import) or records (link).
pub(crate) fn bar(total: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let template = format!("{{bar:40}} {{pos}}/{{len}} {unit}  {{per_sec}}  eta {{eta}}");
    bar.set_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Prints an import's report; refused lines make the exit code 2 (the rest imported).
pub(crate) fn import_done(r: &ImportReport, out: &Out) -> Result<(), CliError> {
    out.value(r, || {
        let mut s = format!(
            "{} lines: {} new, {} updated, {} unchanged, {} skipped, {} refused, {} with a field left out, {} UHIDs listed twice.",
            r.lines, r.inserted, r.updated, r.unchanged, r.skipped, r.refused, r.warned, r.duplicate_count
        );
        for e in &r.errors {
            s.push_str(&format!("\nline {}: {}", e.line, e.message));
        }
        for d in &r.duplicates {
            s.push_str(&format!("\nline {}: {}", d.line, d.message));
        }
        for w in r.warnings.iter().take(20) {
            s.push_str(&format!("\nline {} (kept): {}", w.line, w.message));
        }
        s
    });
    if r.refused > 0 {
        return Err(CliError::Reported(format!(
            "{} line(s) refused; the rest was imported",
            r.refused
        )));
    }
    Ok(())
}

pub fn mirror_command(m: &MirrorCommand, dir: &Path, out: &Out) -> Result<(), CliError> {
    let mut c = open(dir)?;
    match m {
        MirrorCommand::Import { file, as_of } => {
            let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
            let bar = bar(size, "bytes");
            let r = c.mirror_import(file, as_of.as_deref(), &mut |bytes, _| {
                bar.set_position(bytes)
            });
            bar.finish_and_clear();
            import_done(&r?, out)
        }
        MirrorCommand::Status => {
            let v = c.mirror_view()?;
            out.value(&v, || format!("{} patients; {}.", v.records, v.label));
            Ok(())
        }
    }
}

fn fields(names: &[String]) -> Result<Vec<Field>, CliError> {
    names
        .iter()
        .map(|n| {
            Field::ALL
                .into_iter()
                .find(|f| f.as_str() == n.trim())
                .ok_or_else(|| CliError::BadInput(format!("--update: {n:?} is not a field name")))
        })
        .collect()
}

pub fn link_command(action: Option<&LinkCommand>, dir: &Path, out: &Out) -> Result<(), CliError> {
    let mut c = open(dir)?;
    match action {
        None => {
            let total = c.mirror_view()?.records;
            let bar = bar(total, "index records");
            let run = c.link(&mut |done, _| bar.set_position(done));
            bar.finish_and_clear();
            let run = run?;
            out.value(&run, || {
                let mut s = format!(
                    "{} patients against {} hospital records: {} linked, {} to review, {} new; {} merged (one hospital record).",
                    run.patients, run.index_records, run.linked, run.review, run.new, run.merged
                );
                for r in run.rows.iter().filter(|r| r.verdict == parchi_dedup::link::LinkOutcome::Review) {
                    s.push_str(&format!(
                        "\nreview {} {}: {} ({})",
                        r.patient.temp_id,
                        r.patient.name,
                        r.uhid.as_deref().unwrap_or("-"),
                        r.reasons.join(", ")
                    ));
                }
                s
            });
        }
        Some(LinkCommand::Review) => {
            let items = c.link_review()?;
            out.value(&items, || {
                if items.is_empty() {
                    return "Nothing to review.".into();
                }
                items
                    .iter()
                    .map(|i| {
                        let cands: Vec<String> = i
                            .candidates
                            .iter()
                            .map(|k| {
                                format!("  {} {:.3} {}", k.uhid, k.score, k.reasons.join(", "))
                            })
                            .collect();
                        format!(
                            "{} {} ({} {})\n{}",
                            i.patient.temp_id,
                            i.patient.name,
                            i.patient.age,
                            i.patient.sex,
                            cands.join("\n")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        Some(LinkCommand::Accept {
            patient,
            uhid,
            update,
        }) => {
            let d = c.link_accept(patient, uhid, &fields(update)?)?;
            out.value(&d, || {
                format!(
                    "Linked {} to the hospital's record {uhid}.",
                    d.patient.temp_id
                )
            });
        }
        Some(LinkCommand::Reject {
            patient,
            uhid,
            reason,
        }) => {
            let d = c.link_reject(patient, uhid, reason)?;
            out.value(&d, || {
                format!(
                    "Recorded: {} is not the hospital's record {uhid}.",
                    d.patient.temp_id
                )
            });
        }
        Some(LinkCommand::New { patient, reason }) => {
            let d = c.link_new(patient, reason)?;
            out.value(&d, || {
                format!("Recorded: {} is new to the hospital.", d.patient.temp_id)
            });
        }
    }
    Ok(())
}
