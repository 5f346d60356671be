//! Printing results: text for people, JSON for scripts (`--json`).

use std::io::Write;
use std::process::ExitCode;

use parchi_app::{Found, HistoryItem, PatientSummary, Report};
use parchi_core::FieldError;
use parchi_store::{RecordSyncState, VisitRecord};
use serde::Serialize;

use crate::CliError;

pub struct Out {
    pub json: bool,
}

impl Out {
    /// Prints `v` as JSON, or the text `text()` builds.
    pub fn value<T: Serialize>(&self, v: &T, text: impl FnOnce() -> String) {
        let mut stdout = std::io::stdout().lock();
        let line = if self.json {
            serde_json::to_string(v).unwrap_or_else(|e| {
                format!("{{\"error\":{{\"code\":\"internal\",\"message\":\"{e}\"}}}}")
            })
        } else {
            text()
        };
        let _ = writeln!(stdout, "{line}");
    }

    /// One JSON line (for streams such as import).
    pub fn line<T: Serialize>(&self, v: &T) {
        if let Ok(s) = serde_json::to_string(v) {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{s}");
            let _ = stdout.flush();
        }
    }

    /// Reports an error and returns the exit code for it.
    pub fn fail(&self, e: &CliError) -> ExitCode {
        let (code, message, fields, bad_input) = match e {
            CliError::App(a) => (
                a.code(),
                a.to_string(),
                a.fields().map(|f| f.0.clone()),
                a.is_bad_input(),
            ),
            CliError::BadInput(m) => ("bad_input", m.clone(), None, true),
            CliError::Reported(m) => {
                eprintln!("error: {m}");
                return ExitCode::from(2);
            }
            CliError::Other(e) => ("failure", format!("{e:#}"), None, false),
        };
        if self.json {
            self.line(&serde_json::json!({ "error": { "code": code, "message": message, "fields": fields } }));
        }
        match &fields {
            Some(fs) => {
                eprintln!("error: the input has {} problem(s):", fs.len());
                for f in fs {
                    eprintln!("  {}: {}", f.field, f.message);
                }
            }
            None => eprintln!("error: {message}"),
        }
        ExitCode::from(if bad_input { 2 } else { 1 })
    }
}

pub fn registration_text(
    token: &str,
    temp_id: &str,
    dept: &str,
    room: &str,
    fee: u32,
    warnings: &[FieldError],
) -> String {
    let mut s = format!("Token {token}  {dept}, {room}\nTemporary ID {temp_id}\nFee Rs {fee}");
    for w in warnings {
        s.push_str(&format!("\nwarning: {}: {}", w.field, w.message));
    }
    s
}

pub fn hits_text(hits: &[Found]) -> String {
    if hits.is_empty() {
        return "No patient found.".into();
    }
    hits.iter()
        .map(|h| match h {
            Found::Parchi(h) => format!(
                "{:<16} {:<28} {:>4} {} {:<24} {:<10} last visit {}{}",
                h.temp_id,
                h.name,
                h.age,
                h.sex,
                h.guardian.clone().unwrap_or_default(),
                h.mobile.clone().unwrap_or_default(),
                h.last_visit
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
                h.uhid
                    .as_ref()
                    .map(|u| format!("  UHID {u}"))
                    .unwrap_or_default()
            ),
            Found::HospitalIndex(c) => format!(
                "{:<16} {:<28} {:>4} {} {:<24} {:<10} from the hospital index",
                c.uhid,
                c.name,
                c.age.clone().unwrap_or_default(),
                c.sex.clone().unwrap_or_else(|| "-".into()),
                c.guardian.clone().unwrap_or_default(),
                c.mobile.clone().unwrap_or_default(),
            ),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn patient_text(p: &PatientSummary, visits: &[VisitRecord], sync: RecordSyncState) -> String {
    let mut s = format!(
        "{} ({} {}), temporary ID {}{}\n{}{}sync: {:?}",
        p.name,
        p.age,
        p.sex,
        p.temp_id,
        p.uhid
            .as_ref()
            .map(|u| format!(", UHID {u}"))
            .unwrap_or_default(),
        p.guardian
            .as_ref()
            .map(|g| format!("{g}\n"))
            .unwrap_or_default(),
        p.mobile
            .as_ref()
            .map(|m| format!("mobile {m}\n"))
            .unwrap_or_default(),
        sync
    );
    for v in visits {
        s.push_str(&format!(
            "\n  {} {} token {} fee Rs {}{}{}  visit {}",
            v.day,
            v.department,
            v.token,
            v.fee,
            if v.cancelled { " CANCELLED" } else { "" },
            if v.reprints > 0 {
                format!(" ({} reprints)", v.reprints)
            } else {
                String::new()
            },
            v.id
        ));
    }
    s
}

pub fn history_text(h: &[HistoryItem]) -> String {
    h.iter()
        .map(|i| {
            format!(
                "{}  {:<15} {}{}",
                i.at.format("%Y-%m-%d %H:%M:%S"),
                i.kind,
                i.summary,
                if i.local { "" } else { " (from hub)" }
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn report_text(r: &Report) -> String {
    let rep = &r.report;
    let mut s = format!("{} — day report for {}\n", r.hospital, rep.day);
    let table = |title: &str, rows: &[parchi_store::ReportRow], names: bool| {
        let mut t = format!(
            "\n{title:<34} {:>6} {:>6} {:>7} {:>8} {:>7}\n",
            "visits", "new", "cancel", "fees Rs", "waived"
        );
        for row in rows {
            let label = if names {
                format!(
                    "{} {}",
                    row.key,
                    r.department_names
                        .get(&row.key)
                        .cloned()
                        .unwrap_or_default()
                )
            } else {
                format!("counter {}", row.key)
            };
            t.push_str(&format!(
                "{:<34} {:>6} {:>6} {:>7} {:>8} {:>7}\n",
                label, row.registrations, row.new_patients, row.cancellations, row.fees, row.waived
            ));
        }
        t
    };
    s.push_str(&table("Department", &rep.by_department, true));
    s.push_str(&table("Counter", &rep.by_counter, false));
    s.push_str(&format!(
        "\nTotal: {} visits, {} new patients, {} cancelled, Rs {} collected, {} waived",
        rep.total.registrations,
        rep.total.new_patients,
        rep.total.cancellations,
        rep.total.fees,
        rep.total.waived
    ));
    s
}

pub fn today_text(list: &[(VisitRecord, PatientSummary)]) -> String {
    if list.is_empty() {
        return "No visits yet today.".into();
    }
    list.iter()
        .map(|(v, p)| {
            format!(
                "{:<7} {:<4} {:<28} {:>4} {}  {}",
                v.token,
                v.department,
                p.name,
                p.age,
                p.sex,
                if v.cancelled { "CANCELLED" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn duplicates_text(pairs: &[parchi_app::reconcile::DuplicatePair]) -> String {
    if pairs.is_empty() {
        return "No likely duplicates.".into();
    }
    pairs
        .iter()
        .map(|p| {
            format!(
                "{:.3} {:?}\n  {} {} ({} {})\n  {} {} ({} {})\n  {}",
                p.score,
                p.verdict,
                p.a_patient.temp_id,
                p.a_patient.name,
                p.a_patient.age,
                p.a_patient.sex,
                p.b_patient.temp_id,
                p.b_patient.name,
                p.b_patient.age,
                p.b_patient.sex,
                p.reasons.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn conflicts_text(list: &[parchi_app::reconcile::ConflictView]) -> String {
    if list.is_empty() {
        return "No conflicting edits.".into();
    }
    list.iter()
        .map(|c| {
            let writes = c
                .writes
                .iter()
                .map(|w| format!("{}{}", w.value, if w.won { " (kept)" } else { "" }))
                .collect::<Vec<_>>()
                .join(" vs ");
            format!(
                "{} {}: {}: {}",
                c.patient.temp_id, c.patient.name, c.field, writes
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn sync_text(s: &parchi_app::sync::SyncStatus) -> String {
    let state = match (s.enrolled, s.online) {
        (false, _) => "not enrolled at a hub".to_string(),
        (true, Some(true)) => "online".to_string(),
        (true, Some(false)) => "offline".to_string(),
        (true, None) => "not synced yet".to_string(),
    };
    format!(
        "{state}{}; {} changes waiting, {} refused; last success {}{}",
        s.hub
            .as_ref()
            .map(|h| format!(" ({h})"))
            .unwrap_or_default(),
        s.pending,
        s.rejected,
        s.last_success.clone().unwrap_or_else(|| "never".into()),
        s.last_error
            .as_ref()
            .map(|e| format!("; last error: {e}"))
            .unwrap_or_default()
    )
}
