//! The day-end report, read back with pdftotext.

use parchi_slip::{Language, Report, ReportRow, render_report, report_layout_data};

use crate::fixtures::{self, pdftotext, run, write_pdf};

#[test]
fn report_shows_rows_and_totals_per_counter_and_department() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = render_report(&fixtures::report()).expect("render");
    let path = write_pdf(dir.path(), "report", &pdf);
    let text = pdftotext(&path);
    for must in [
        "District Hospital, Gaya",
        "ज़िला अस्पताल, गया",
        "Day-end report / दैनिक रिपोर्ट",
        "Per counter / काउंटर अनुसार",
        "Per department / विभाग अनुसार",
        "General Medicine",
        "Paediatrics",
        "Rs 3,890.00",
        "Rs 7,600.00",
        "810",
        "Total / कुल",
        "Page / पृष्ठ 1 / 1",
    ] {
        assert!(
            text.contains(must),
            "{must:?} missing from the report:\n{text}"
        );
    }
    let info = run("pdfinfo", &[path.to_str().expect("utf-8")]);
    assert!(info.contains("595.276 x 841.89 pts (A4)"), "{info}");
}

#[test]
fn long_report_continues_on_more_pages_with_headers() {
    let departments: Vec<ReportRow> = (1..=120)
        .map(|i| ReportRow {
            name: format!("Department {i:03}"),
            registrations: i,
            cancellations: i % 3,
            fees_paise: i * 1000,
        })
        .collect();
    let report = Report {
        language: Language::Bengali,
        hospital_name_local: Some("মেডিক্যাল কলেজ হাসপাতাল".to_string()),
        departments,
        ..fixtures::report()
    };
    let pages = report_layout_data(&report).expect("layout");
    assert!(
        pages.len() >= 3,
        "120 departments should take 3 pages or more"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_pdf(dir.path(), "long", &render_report(&report).expect("render"));
    let text = pdftotext(&path);
    assert!(text.contains("Department 001"));
    assert!(text.contains("Department 120"));
    assert!(text.contains("Per department / বিভাগ অনুযায়ী (continued)"));
    assert!(text.contains("Total / মোট"));
    // 1 + 2 + … + 120 registrations.
    assert!(text.contains("7260"));
    let n = pages.len();
    assert!(text.contains(&format!("Page / পৃষ্ঠা {n} / {n}")));
}
