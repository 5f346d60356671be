//! Writes the sample slips and report shown in `docs/slips/` as PDFs into a directory.
//!
//! `cargo run -p parchi-slip --example samples -- OUT_DIR`, then
//! `for f in OUT_DIR/*.pdf; do pdftoppm -r 150 -png -singlefile "$f" "${f%.pdf}"; done`.

use std::path::PathBuf;

use parchi_slip::{IdKind, Language, Layout, Report, ReportRow, Slip, render, render_report};

fn hindi() -> Slip {
    Slip {
        hospital_name: "District Hospital, Gaya".to_string(),
        hospital_name_local: Some("ज़िला अस्पताल, गया".to_string()),
        language: Language::Hindi,
        patient_name: "प्रिया शर्मा".to_string(),
        age_sex: "34Y / F".to_string(),
        guardian_line: Some("W/o Ramesh Kumar".to_string()),
        id_kind: IdKind::TemporaryId,
        id_display: "A-K3M7Q2-0017X".to_string(),
        id_code: "AK3M7Q20017X".to_string(),
        visit_id: "0190f3a4-6b1c-7d2e-8f00-1a2b3c4d5e6f".to_string(),
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

fn bengali() -> Slip {
    Slip {
        hospital_name: "Medical College Hospital, Kolkata".to_string(),
        hospital_name_local: Some("মেডিক্যাল কলেজ হাসপাতাল, কলকাতা".to_string()),
        language: Language::Bengali,
        patient_name: "সৌমিত্র চট্টোপাধ্যায়".to_string(),
        age_sex: "8Y / M".to_string(),
        guardian_line: Some("S/o Haradhan Chattopadhyay".to_string()),
        id_kind: IdKind::Uhid,
        id_display: "UH-2026-0231447".to_string(),
        id_code: "UH20260231447".to_string(),
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

/// The longest content the tests use: shows how a slip shrinks to fit and cuts long words.
fn long() -> Slip {
    Slip {
        hospital_name: "Government Medical College and Super Speciality Hospital, Bhagalpur, Bihar"
            .to_string(),
        patient_name: "Venkata Lakshmi Narasimha Satyanarayana Murthy Chowdary".to_string(),
        guardian_line: Some("S/o Venkata Subrahmanyeswara Rao Chowdary".to_string()),
        department_en: "Obstetrics and Gynaecology (High Risk Pregnancy Clinic)".to_string(),
        department_local: "प्रसूति एवं स्त्री रोग (उच्च जोखिम गर्भावस्था क्लिनिक)".to_string(),
        instruction_en:
            "Take this slip to the OPD block, first floor, Room 112. Keep it safe: you \
                         need it for tests, medicines and your next visit within 14 days."
                .to_string(),
        instruction_local: "यह पर्ची ओपीडी भवन की पहली मंज़िल पर कमरा 112 में ले जाएँ। इसे संभाल \
                            कर रखें: जाँच, दवा और 14 दिन में अगली बार आने पर यह चाहिए।"
            .to_string(),
        duplicate: true,
        ..hindi()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".to_string()));
    std::fs::create_dir_all(&out)?;
    let slips = [
        ("thermal80-hindi", hindi(), Layout::Thermal80),
        ("a6-hindi", hindi(), Layout::A6),
        ("a5-bengali", bengali(), Layout::A5),
        ("a6-bengali", bengali(), Layout::A6),
        (
            "thermal80-bengali-duplicate",
            Slip {
                duplicate: true,
                ..bengali()
            },
            Layout::Thermal80,
        ),
        (
            "a6-hindi-duplicate",
            Slip {
                duplicate: true,
                ..hindi()
            },
            Layout::A6,
        ),
        ("a6-long-hindi-duplicate", long(), Layout::A6),
        ("thermal80-long-hindi", long(), Layout::Thermal80),
    ];
    for (name, slip, layout) in slips {
        std::fs::write(out.join(format!("{name}.pdf")), render(&slip, layout)?)?;
    }
    let row = |name: &str, r: u64, c: u64, f: u64| ReportRow {
        name: name.to_string(),
        registrations: r,
        cancellations: c,
        fees_paise: f,
    };
    let report = Report {
        hospital_name: "District Hospital, Gaya".to_string(),
        hospital_name_local: Some("ज़िला अस्पताल, गया".to_string()),
        language: Language::Hindi,
        date: "28-11-2026".to_string(),
        generated_at: "28-11-2026 18:05".to_string(),
        counters: vec![
            row("A", 412, 3, 389_000),
            row("B", 398, 5, 371_000),
            row("C", 122, 0, 0),
        ],
        departments: vec![
            row("General Medicine", 430, 4, 410_000),
            row("Paediatrics", 240, 2, 220_000),
            row("Obstetrics and Gynaecology", 170, 1, 130_000),
            row("Orthopaedics", 92, 1, 0),
        ],
    };
    std::fs::write(out.join("report.pdf"), render_report(&report)?)?;
    Ok(())
}
