//! Slips and reports used across the tests, and helpers that run the real tools.

use std::path::{Path, PathBuf};
use std::process::Command;

use parchi_slip::{IdKind, Language, Report, ReportRow, Slip};

pub const VISIT_ID: &str = "0190f3a4-6b1c-7d2e-8f00-1a2b3c4d5e6f";

/// A Hindi slip for a patient whose name is in Latin script.
pub fn hindi() -> Slip {
    Slip {
        hospital_name: "District Hospital, Gaya".to_string(),
        hospital_name_local: Some("ज़िला अस्पताल, गया".to_string()),
        language: Language::Hindi,
        patient_name: "Sunita Devi".to_string(),
        age_sex: "34Y / F".to_string(),
        guardian_line: Some("W/o Ramesh Kumar".to_string()),
        id_kind: IdKind::TemporaryId,
        id_display: "A-K3M7Q2-0017X".to_string(),
        id_code: "AK3M7Q20017X".to_string(),
        visit_id: VISIT_ID.to_string(),
        department_en: "General Medicine".to_string(),
        department_local: "सामान्य चिकित्सा".to_string(),
        room: "12".to_string(),
        days: "Mon, Wed, Fri".to_string(),
        token: "A-017".to_string(),
        issued_at: "28-11-2026 10:42".to_string(),
        counter: "A".to_string(),
        fee_line: "Rs 10 paid".to_string(),
        valid_till: "28-11-2026".to_string(),
        instruction_en: "Take this slip to Room 12 and wait until your token is called."
            .to_string(),
        instruction_local: "यह पर्ची कमरा 12 में ले जाएँ और टोकन बुलाए जाने तक प्रतीक्षा करें।".to_string(),
        duplicate: false,
    }
}

/// A Hindi slip for a patient whose name is written in Devanagari.
pub fn hindi_devanagari_name() -> Slip {
    Slip {
        patient_name: "प्रिया शर्मा".to_string(),
        guardian_line: Some("D/o कृष्ण शर्मा".to_string()),
        id_kind: IdKind::Uhid,
        id_display: "UH-2026-0004417".to_string(),
        id_code: "UH20260004417".to_string(),
        ..hindi()
    }
}

/// A Bengali slip for a patient whose name is in Bengali script.
pub fn bengali() -> Slip {
    Slip {
        hospital_name: "Medical College Hospital, Kolkata".to_string(),
        hospital_name_local: Some("মেডিক্যাল কলেজ হাসপাতাল, কলকাতা".to_string()),
        language: Language::Bengali,
        patient_name: "সৌমিত্র চট্টোপাধ্যায়".to_string(),
        age_sex: "8Y / M".to_string(),
        guardian_line: Some("S/o Haradhan Chattopadhyay".to_string()),
        id_kind: IdKind::TemporaryId,
        id_display: "B-7RW2XK-0231P".to_string(),
        id_code: "B7RW2XK0231P".to_string(),
        visit_id: "7c9e6679-7425-40de-944b-e07fc1f90ae7".to_string(),
        department_en: "Paediatrics".to_string(),
        department_local: "শিশু বিভাগ".to_string(),
        room: "7".to_string(),
        days: "Tue, Thu, Sat".to_string(),
        token: "B-231".to_string(),
        issued_at: "28-11-2026 11:05".to_string(),
        counter: "B".to_string(),
        fee_line: "Fee waived (BPL)".to_string(),
        valid_till: "05-12-2026".to_string(),
        instruction_en: "Go to Room 7 and wait until your token number is called.".to_string(),
        instruction_local: "কক্ষ ৭-এ যান এবং টোকেন নম্বর ডাকা পর্যন্ত অপেক্ষা করুন।".to_string(),
        duplicate: false,
    }
}

/// Every slip the decode and text tests walk, with a name for messages.
pub fn all_slips() -> Vec<(&'static str, Slip)> {
    vec![
        ("hindi", hindi()),
        ("hindi-devanagari-name", hindi_devanagari_name()),
        ("bengali", bengali()),
        (
            "hindi-duplicate",
            Slip {
                duplicate: true,
                ..hindi()
            },
        ),
        (
            "bengali-duplicate",
            Slip {
                duplicate: true,
                ..bengali()
            },
        ),
    ]
}

pub fn report() -> Report {
    Report {
        hospital_name: "District Hospital, Gaya".to_string(),
        hospital_name_local: Some("ज़िला अस्पताल, गया".to_string()),
        language: Language::Hindi,
        date: "28-11-2026".to_string(),
        generated_at: "28-11-2026 18:05".to_string(),
        counters: vec![
            ReportRow {
                name: "A".to_string(),
                registrations: 412,
                cancellations: 3,
                fees_paise: 389_000,
            },
            ReportRow {
                name: "B".to_string(),
                registrations: 398,
                cancellations: 5,
                fees_paise: 371_000,
            },
        ],
        departments: vec![
            ReportRow {
                name: "General Medicine".to_string(),
                registrations: 530,
                cancellations: 6,
                fees_paise: 500_000,
            },
            ReportRow {
                name: "Paediatrics".to_string(),
                registrations: 280,
                cancellations: 2,
                fees_paise: 260_000,
            },
        ],
    }
}

/// Runs a tool, failing the test with its stderr when it fails or is missing.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "could not run {program} ({e}); install poppler-utils, zbar-tools and cups-client"
            )
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn write_pdf(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, bytes).expect("write pdf");
    path
}

/// `pdftotext -layout`'s reading of a PDF.
pub fn pdftotext(pdf: &Path) -> String {
    let pdf = pdf.to_str().expect("utf-8 path");
    run("pdftotext", &["-layout", pdf, "-"])
}

/// Renders page 1 at 200 dpi with pdftoppm; returns the PNG's path.
pub fn pdftoppm(pdf: &Path, dpi: u32) -> PathBuf {
    let prefix = pdf.with_extension("");
    let dpi = dpi.to_string();
    run(
        "pdftoppm",
        &[
            "-r",
            &dpi,
            "-png",
            "-singlefile",
            pdf.to_str().expect("utf-8 path"),
            prefix.to_str().expect("utf-8 path"),
        ],
    );
    prefix.with_extension("png")
}

/// Every symbol zbarimg reads in a PNG, as (symbology, data).
pub fn zbarimg(png: &Path) -> Vec<(String, String)> {
    let out = run("zbarimg", &["-q", png.to_str().expect("utf-8 path")]);
    out.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(kind, data)| (kind.to_string(), data.to_string()))
        .collect()
}
