//! OPD slips and the day-end report as PDFs, and printing them through CUPS.
//!
//! The slip's content comes from the visit, its patient and the configuration; `parchi-slip`
//! lays it out. Printing pipes the PDF to CUPS' `lp` (no file on the way); a slip the printer
//! did not take is kept inside the encrypted store, to print or write out later
//! (`parchi slip VISIT --kept --out FILE`). No slip is ever written in clear under the data
//! directory.

use std::path::{Path, PathBuf};

use chrono::Days;
use parchi_core::patient::Age;
use parchi_slip::{IdKind, Language, Layout, Report as SlipReport, ReportRow as SlipRow, Slip};
use serde::Serialize;

use crate::counter::{Counter, Result};
use crate::error::AppError;

/// Where a printed slip went.
#[derive(Clone, Debug, Serialize)]
pub struct Printed {
    pub printer: String,
    pub job_id: String,
}

/// The copy of a slip a print makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SlipCopy {
    /// The first slip of a visit, printed once at the counter that issued the token.
    Original,
    /// Every later copy, marked DUPLICATE and recorded as a reprint.
    Duplicate,
}

/// A recorded reprint and, if it was asked for, its print.
#[derive(Debug)]
pub struct Reprinted {
    pub visit: parchi_store::VisitRecord,
    pub printed: Option<Result<Printed>>,
}

/// A cancelled visit has no slip, original or copy.
fn refuse_cancelled(v: &parchi_store::VisitRecord) -> Result<()> {
    if v.cancelled {
        return Err(AppError::Invalid(format!(
            "visit {} is cancelled: no slip is printed for it",
            v.id
        )));
    }
    Ok(())
}

fn slip_err(e: parchi_slip::SlipError) -> AppError {
    AppError::Invalid(format!("slip: {e}"))
}

fn language(code: &str) -> Language {
    match code {
        "bn" => Language::Bengali,
        _ => Language::Hindi,
    }
}

fn instructions(lang: Language, room: &str) -> (String, String) {
    let en = format!("Take this slip to {room} and wait until your token is called.");
    let local = match lang {
        Language::Hindi => format!("यह पर्ची {room} में ले जाएँ और टोकन बुलाए जाने तक प्रतीक्षा करें।"),
        Language::Bengali => format!("এই স্লিপটি {room}-এ নিয়ে যান এবং টোকেন ডাকা পর্যন্ত অপেক্ষা করুন।"),
    };
    (en, local)
}

/// A slip with no patient on it, for the setup's test print: the hospital's name as the form
/// has it, "TEST PRINT" where the patient's name goes, a sample token and barcode.
pub(crate) fn sample_slip(form: &crate::setup::SetupForm) -> Slip {
    let lang = language(form.local_language.trim());
    let room = "Room 1";
    let (instruction_en, instruction_local) = instructions(lang, room);
    let name = form.hospital_name.trim();
    Slip {
        hospital_name: if name.is_empty() {
            "Parchi".into()
        } else {
            name.to_owned()
        },
        hospital_name_local: Some(form.hospital_name_local.trim().to_owned())
            .filter(|n| !n.is_empty()),
        language: lang,
        patient_name: "TEST PRINT".into(),
        age_sex: "-".into(),
        guardian_line: None,
        id_kind: IdKind::TemporaryId,
        id_display: "TEST-PRINT".into(),
        id_code: "TESTPRINT".into(),
        visit_id: "00000000-0000-0000-0000-000000000000".into(),
        department_en: "Test print".into(),
        department_local: match lang {
            Language::Hindi => "परीक्षण प्रिंट".into(),
            Language::Bengali => "পরীক্ষা মুদ্রণ".into(),
        },
        room: room.into(),
        days: "Mon-Sat".into(),
        token: "T-001".into(),
        issued_at: "test print".into(),
        counter: form.counter_code.trim().to_owned(),
        fee_line: "No fee".into(),
        valid_till: "-".into(),
        instruction_en,
        instruction_local,
        duplicate: false,
    }
}

impl Counter {
    /// The layout named, or the configured one.
    pub fn layout(&self, name: Option<&str>) -> Result<Layout> {
        let name = name.unwrap_or(&self.config().hospital.slip_layout);
        name.parse::<Layout>().map_err(|_| {
            AppError::Invalid(format!("layout: {name:?} is not one of thermal80, a6, a5"))
        })
    }

    /// What a visit's slip shows.
    pub fn slip_content(&self, visit: &str, duplicate: bool) -> Result<Slip> {
        let v = self.visit(visit)?;
        refuse_cancelled(&v)?;
        let p = self
            .store()
            .patient(v.patient)?
            .ok_or_else(|| AppError::Invalid("the visit's patient is missing".into()))?;
        let p = self.store().survivor_of(p)?;
        let cfg = self.config();
        let dept = cfg.department(v.department.as_str());
        let lang = language(&cfg.hospital.local_language);
        let room = dept.map(|d| d.room.clone()).unwrap_or_default();
        let (instruction_en, instruction_local) = instructions(lang, &room);
        let issued = self.local_time_of(v.created_hlc);
        let valid_till = v
            .day
            .checked_add_days(Days::new(u64::from(
                cfg.hospital.slip_valid_days.max(1) - 1,
            )))
            .unwrap_or(v.day);
        let (id_kind, id_display, id_code) = match &p.uhid {
            Some(u) => (
                IdKind::Uhid,
                u.to_string(),
                u.as_str()
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect(),
            ),
            None => (
                IdKind::TemporaryId,
                p.temp_id.to_string(),
                p.temp_id.as_str().to_owned(),
            ),
        };
        let f = &p.fields;
        Ok(Slip {
            hospital_name: cfg.hospital.name.clone(),
            hospital_name_local: cfg.hospital.name_local.clone(),
            language: lang,
            patient_name: f.name.to_string(),
            age_sex: format!("{} / {}", Age::on(f.birth.date, v.day), f.sex.code()),
            guardian_line: f
                .guardian
                .as_ref()
                .map(|g| format!("{} {}", g.relation.code(), g.name)),
            id_kind,
            id_display,
            id_code,
            visit_id: v.id.to_string(),
            department_en: dept
                .map(|d| d.name.clone())
                .unwrap_or_else(|| v.department.to_string()),
            department_local: dept.map(|d| d.name_local.clone()).unwrap_or_default(),
            room,
            days: dept.map(|d| d.days_text()).unwrap_or_default(),
            token: v.token.to_string(),
            issued_at: issued.format("%d-%m-%Y %H:%M").to_string(),
            counter: v.token.counter.to_string(),
            fee_line: if v.fee > 0 {
                format!("Rs {} paid", v.fee)
            } else if v.category == "general" {
                "No fee".into()
            } else {
                format!("Fee waived ({})", v.category.to_uppercase())
            },
            valid_till: valid_till.format("%d-%m-%Y").to_string(),
            instruction_en,
            instruction_local,
            duplicate,
        })
    }

    /// A visit's slip as PDF bytes.
    pub fn slip_pdf(&self, visit: &str, layout: Option<&str>, duplicate: bool) -> Result<Vec<u8>> {
        let slip = self.slip_content(visit, duplicate)?;
        parchi_slip::render(&slip, self.layout(layout)?).map_err(slip_err)
    }

    /// A visit's slip for the screen: the copy the next print makes ([`Counter::next_copy`]:
    /// the original, or marked DUPLICATE once the original is out) on the configured layout, as
    /// the SVG document `parchi-slip` draws from the same layout as the PDF it prints. Nothing
    /// is written anywhere.
    pub fn slip_preview_svg(&self, visit: &str) -> Result<String> {
        let duplicate = self.next_copy(visit)? == SlipCopy::Duplicate;
        let slip = self.slip_content(visit, duplicate)?;
        parchi_slip::render_svg(&slip, self.layout(None)?).map_err(slip_err)
    }

    /// Writes a visit's slip to `path`.
    pub fn write_slip(
        &self,
        visit: &str,
        layout: Option<&str>,
        duplicate: bool,
        path: &Path,
    ) -> Result<PathBuf> {
        let pdf = self.slip_pdf(visit, layout, duplicate)?;
        std::fs::write(path, pdf)
            .map_err(|e| AppError::Invalid(format!("cannot write {}: {e}", path.display())))?;
        Ok(path.to_owned())
    }

    /// Which copy of a visit's slip the next print is. The original is printed once, at the
    /// counter that issued the token; after it (or after any reprint, or at another counter)
    /// every copy is a reprint, marked DUPLICATE.
    pub fn next_copy(&self, visit: &str) -> Result<SlipCopy> {
        self.next_copy_of(&self.visit(visit)?)
    }

    pub(crate) fn next_copy_of(&self, v: &parchi_store::VisitRecord) -> Result<SlipCopy> {
        let issued_here = &v.token.counter == self.counter_code();
        let original_out =
            v.reprints > 0 || !issued_here || self.store().original_printed_ms(v.id)?.is_some();
        Ok(if original_out {
            SlipCopy::Duplicate
        } else {
            SlipCopy::Original
        })
    }

    /// Prints the original slip of a visit, on the given printer, or the configured one, or
    /// the system default, and records it. Refused once the original is out: a further copy is
    /// a [`Counter::reprint`]. A print that fails records nothing (the next print is still the
    /// original) and keeps the PDF inside the encrypted store.
    pub fn print_original(&mut self, visit: &str, printer: Option<&str>) -> Result<Printed> {
        let v = self.visit(visit)?;
        if self.next_copy_of(&v)? == SlipCopy::Duplicate {
            return Err(AppError::Invalid(format!(
                "the original slip of visit {} (token {}) is already out; print a copy as a reprint, marked DUPLICATE (`parchi reprint {} --print`)",
                v.id, v.token, v.id
            )));
        }
        let printed = self.send_slip(visit, printer, false)?;
        let now = self.now_ms();
        self.store_mut()
            .record_original_print(v.id, now, &printed.printer)?;
        Ok(printed)
    }

    /// A reprint: recorded first (so every DUPLICATE slip in a patient's hand is on record),
    /// then, if `print`, printed marked DUPLICATE. A failed print leaves the reprint recorded
    /// and is reported in [`Reprinted::printed`]; the PDF is kept inside the encrypted store.
    pub fn reprint(
        &mut self,
        visit: &str,
        printer: Option<&str>,
        print: bool,
    ) -> Result<Reprinted> {
        // A cancelled visit has no slip: refuse before recording anything.
        refuse_cancelled(&self.visit(visit)?)?;
        let recorded = self.record_reprint(visit)?;
        let printed = print.then(|| self.send_slip(visit, printer, true));
        Ok(Reprinted {
            visit: recorded,
            printed,
        })
    }

    /// Pipes a visit's slip to CUPS; when it cannot be printed, keeps the PDF inside the
    /// encrypted store and says how to get it back.
    fn send_slip(
        &mut self,
        visit: &str,
        printer: Option<&str>,
        duplicate: bool,
    ) -> Result<Printed> {
        let v = self.visit(visit)?;
        let pdf = self.slip_pdf(visit, None, duplicate)?;
        let printer = printer
            .map(str::to_owned)
            .or_else(|| self.config().hospital.printer.clone());
        let kept = format!(
            "inside the counter's encrypted store (write it out with `parchi slip {} --kept --out FILE.pdf`)",
            v.id
        );
        let opts = parchi_slip::PrintOptions {
            printer,
            ..parchi_slip::PrintOptions::default()
        };
        match parchi_slip::print_bytes(&pdf, &kept, &opts) {
            Ok(job) => Ok(Printed {
                printer: job.printer,
                job_id: job.job_id,
            }),
            Err(e) => {
                let now = self.now_ms();
                self.store_mut()
                    .keep_slip(v.id, duplicate, now, e.code(), &pdf)?;
                Err(AppError::Print(e.to_string()))
            }
        }
    }

    /// The PDF of a visit's slip that a printer did not take (the last one kept).
    pub fn kept_slip_pdf(&self, visit: &str) -> Result<Vec<u8>> {
        let v = self.visit(visit)?;
        self.store().kept_slip(v.id)?.ok_or_else(|| {
            AppError::Invalid(format!(
                "no slip of visit {} is kept: every print of it went through (use `parchi slip {} --out FILE.pdf` to render it again)",
                v.id, v.id
            ))
        })
    }

    /// The day report as an A4 PDF.
    pub fn report_pdf(&self, day: Option<chrono::NaiveDate>) -> Result<Vec<u8>> {
        let r = self.day_report(day)?;
        let rows = |rows: &[parchi_store::ReportRow], names: bool| -> Vec<SlipRow> {
            rows.iter()
                .map(|row| SlipRow {
                    name: if names {
                        format!(
                            "{} {}",
                            row.key,
                            r.department_names
                                .get(&row.key)
                                .cloned()
                                .unwrap_or_default()
                        )
                    } else {
                        format!("Counter {}", row.key)
                    },
                    registrations: u64::from(row.registrations),
                    cancellations: u64::from(row.cancellations),
                    fees_paise: row.fees * 100,
                })
                .collect()
        };
        let report = SlipReport {
            hospital_name: self.config().hospital.name.clone(),
            hospital_name_local: self.config().hospital.name_local.clone(),
            language: language(&self.config().hospital.local_language),
            date: r.report.day.format("%d-%m-%Y").to_string(),
            generated_at: self.now_local().format("%d-%m-%Y %H:%M").to_string(),
            counters: rows(&r.report.by_counter, false),
            departments: rows(&r.report.by_department, true),
        };
        parchi_slip::render_report(&report).map_err(slip_err)
    }
}
