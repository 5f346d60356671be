//! Render time per slip and per layout, and the slip's size.
//!
//! `cargo bench -p parchi-slip --bench slip`. Targets: under 10 ms and under 60 KB per slip.
//! The sizes are printed once before the timings.
//!
//! `baseline/printpdf-one-line` is printpdf alone saving a page with one line of Latin text in
//! one embedded, subset font (its default options): the cheapest PDF with a real font. On a
//! shared machine, the ratio of a slip to it says more than either figure alone.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use parchi_slip::{IdKind, Language, Layout, Slip, render, render_report, warm_up};

fn slip(language: Language) -> Slip {
    let (hospital_local, dept_local, instr_local, name) = match language {
        Language::Hindi => (
            "ज़िला अस्पताल, गया",
            "सामान्य चिकित्सा",
            "यह पर्ची कमरा 12 में ले जाएँ और टोकन बुलाए जाने तक प्रतीक्षा करें।",
            "प्रिया शर्मा",
        ),
        Language::Bengali => (
            "মেডিক্যাল কলেজ হাসপাতাল, কলকাতা",
            "সাধারণ চিকিৎসা",
            "কক্ষ ১২-তে যান এবং টোকেন নম্বর ডাকা পর্যন্ত অপেক্ষা করুন।",
            "সৌমিত্র চট্টোপাধ্যায়",
        ),
    };
    Slip {
        hospital_name: "District Hospital, Gaya".to_string(),
        hospital_name_local: Some(hospital_local.to_string()),
        language,
        patient_name: name.to_string(),
        age_sex: "34Y / F".to_string(),
        guardian_line: Some("W/o Ramesh Kumar".to_string()),
        id_kind: IdKind::TemporaryId,
        id_display: "A-K3M7Q2-0017X".to_string(),
        id_code: "AK3M7Q20017X".to_string(),
        visit_id: "0190f3a4-6b1c-7d2e-8f00-1a2b3c4d5e6f".to_string(),
        department_en: "General Medicine".to_string(),
        department_local: dept_local.to_string(),
        room: "12".to_string(),
        days: "Mon, Wed, Fri".to_string(),
        token: "A-017".to_string(),
        issued_at: "28-11-2026 10:42".to_string(),
        counter: "A".to_string(),
        fee_line: "Rs 10 paid".to_string(),
        valid_till: "28-11-2026".to_string(),
        instruction_en: "Take this slip to Room 12 and wait until your token is called."
            .to_string(),
        instruction_local: instr_local.to_string(),
        duplicate: true,
    }
}

/// printpdf on its own: one A6 page, one line of text in Noto Sans, default save options.
fn baseline_pdf() -> Vec<u8> {
    use printpdf::{
        Codepoint, Mm, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Pt,
        TextItem, TextMatrix,
    };
    static FONT: std::sync::OnceLock<Option<ParsedFont>> = std::sync::OnceLock::new();
    // Parsed once, as parchi-slip does: the baseline measures making a PDF, not parsing a font.
    let Some(font) = FONT
        .get_or_init(|| {
            ParsedFont::from_bytes(
                include_bytes!("../fonts/NotoSans-Regular.ttf"),
                0,
                &mut Vec::new(),
            )
        })
        .as_ref()
    else {
        return Vec::new();
    };
    let mut doc = PdfDocument::new("baseline");
    let id = doc.add_font(font);
    let glyphs = "Sunita Devi"
        .chars()
        .filter_map(|c| font.lookup_glyph_index(c as u32))
        .map(|gid| Codepoint::new(gid, 0.0))
        .collect();
    let ops = vec![
        Op::StartTextSection,
        Op::SetFont {
            font: PdfFontHandle::External(id),
            size: Pt(12.0),
        },
        Op::SetTextMatrix {
            matrix: TextMatrix::Translate(Pt(20.0), Pt(300.0)),
        },
        Op::ShowText {
            items: vec![TextItem::GlyphIds(glyphs)],
        },
        Op::EndTextSection,
    ];
    doc.with_pages(vec![PdfPage::new(Mm(105.0), Mm(148.0), ops)]);
    doc.save(&PdfSaveOptions::default(), &mut Vec::new())
}

fn bench(c: &mut Criterion) {
    if let Err(e) = warm_up() {
        eprintln!("fonts failed to load: {e}");
        return;
    }
    c.bench_function("baseline/printpdf-one-line", |b| b.iter(baseline_pdf));

    let mut group = c.benchmark_group("slip");
    for language in [Language::Hindi, Language::Bengali] {
        let s = slip(language);
        for layout in Layout::ALL {
            match render(&s, layout) {
                Ok(pdf) => println!(
                    "size {}/{}: {} bytes ({:.1} KB)",
                    language.as_str(),
                    layout,
                    pdf.len(),
                    pdf.len() as f64 / 1024.0
                ),
                Err(e) => {
                    eprintln!("render failed: {e}");
                    return;
                }
            }
            group.bench_function(format!("{}/{}", language.as_str(), layout), |b| {
                b.iter(|| render(black_box(&s), black_box(layout)))
            });
            group.bench_function(
                format!("layout-only/{}/{}", language.as_str(), layout),
                |b| b.iter(|| parchi_slip::layout_data(black_box(&s), black_box(layout))),
            );
        }
    }
    group.finish();

    let report = parchi_slip::Report {
        hospital_name: "District Hospital, Gaya".to_string(),
        hospital_name_local: Some("ज़िला अस्पताल, गया".to_string()),
        language: Language::Hindi,
        date: "28-11-2026".to_string(),
        generated_at: "28-11-2026 18:05".to_string(),
        counters: (0..8)
            .map(|i| parchi_slip::ReportRow {
                name: format!("Counter {i}"),
                registrations: 400 + i,
                cancellations: i,
                fees_paise: 400_000 + i * 1000,
            })
            .collect(),
        departments: (0..30)
            .map(|i| parchi_slip::ReportRow {
                name: format!("Department {i}"),
                registrations: 100 + i,
                cancellations: i % 4,
                fees_paise: 100_000 + i * 1000,
            })
            .collect(),
    };
    c.bench_function("report/a4", |b| {
        b.iter(|| render_report(black_box(&report)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
