//! Slips as a person sees them: scanned, read as text, and weighed.

use parchi_slip::{Layout, Slip, SlipError, layout_data, qr_payload, render};

use crate::fixtures::{self, pdftoppm, pdftotext, write_pdf, zbarimg};

const MAX_BYTES: usize = 60 * 1024;

#[test]
fn every_layout_scans_back_to_the_patient_and_visit_ids() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, slip) in fixtures::all_slips() {
        for layout in Layout::ALL {
            let pdf = render(&slip, layout).expect("render");
            let path = write_pdf(dir.path(), &format!("{name}-{layout}"), &pdf);
            let png = pdftoppm(&path, 200);
            let mut symbols = zbarimg(&png);
            symbols.sort();
            let mut expected = vec![
                ("CODE-128".to_string(), slip.id_code.clone()),
                (
                    "QR-Code".to_string(),
                    qr_payload(&slip.id_code, &slip.visit_id),
                ),
            ];
            expected.sort();
            assert_eq!(symbols, expected, "{name} on {layout}");
        }
    }
}

#[test]
fn qr_payload_holds_the_id_and_the_visit_id() {
    let slip = fixtures::hindi();
    let payload = qr_payload(&slip.id_code, &slip.visit_id);
    let parts: Vec<&str> = payload.split(':').collect();
    assert_eq!(parts.len(), 4);
    assert_eq!(parts[0], "PARCHI");
    assert_eq!(parts[1], "1");
    assert_eq!(parts[2], slip.id_code);
    assert!(parts[3].eq_ignore_ascii_case(&slip.visit_id));
}

#[test]
fn pdftotext_reads_the_name_and_the_labels_in_both_languages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&str, Slip, &[&str]); 3] = [
        (
            "hindi",
            fixtures::hindi(),
            &[
                "OPD SLIP / ओपीडी पर्ची",
                "TOKEN / टोकन",
                "Name / नाम",
                "विभाग",
                "अस्थायी आईडी",
                "शुल्क",
                "मान्य तिथि तक",
                "ज़िला अस्पताल, गया",
                "सामान्य चिकित्सा",
                "यह पर्ची कमरा 12 में ले जाएँ",
            ],
        ),
        (
            "hindi-devanagari-name",
            fixtures::hindi_devanagari_name(),
            &["प्रिया शर्मा", "D/o कृष्ण शर्मा", "UHID / यूएचआईडी"],
        ),
        (
            "bengali",
            fixtures::bengali(),
            &[
                "বহির্বিভাগ টিকিট",
                "TOKEN / টোকেন",
                "Name / নাম",
                "বিভাগ",
                "অস্থায়ী আইডি",
                "বৈধ পর্যন্ত",
                "কক্ষ",
                "শিশু বিভাগ",
                "মেডিক্যাল কলেজ হাসপাতাল, কলকাতা",
            ],
        ),
    ];
    for (name, slip, labels) in cases {
        for layout in Layout::ALL {
            let pdf = render(&slip, layout).expect("render");
            let text = pdftotext(&write_pdf(dir.path(), &format!("{name}-{layout}"), &pdf));
            assert!(
                text.contains(&slip.patient_name),
                "{name} on {layout}: the patient's name is not in pdftotext's output"
            );
            for label in labels {
                assert!(
                    text.contains(label),
                    "{name} on {layout}: {label:?} missing from pdftotext's output:\n{text}"
                );
            }
            for must in [&slip.token, &slip.id_display, &slip.department_en] {
                assert!(
                    text.contains(must.as_str()),
                    "{name} on {layout}: {must:?} missing"
                );
            }
        }
    }
}

#[test]
fn duplicate_mark_appears_only_on_reprints() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, slip) in fixtures::all_slips() {
        let word = &parchi_slip::labels()["duplicate"];
        let local = match slip.language {
            parchi_slip::Language::Hindi => format!("DUPLICATE / {}", word.hi),
            parchi_slip::Language::Bengali => format!("DUPLICATE / {}", word.bn),
        };
        let local = local.as_str();
        for layout in Layout::ALL {
            let pdf = render(&slip, layout).expect("render");
            let text = pdftotext(&write_pdf(dir.path(), &format!("{name}-{layout}"), &pdf));
            assert_eq!(
                text.contains(local),
                slip.duplicate,
                "{name} on {layout}: DUPLICATE mark present = {}",
                text.contains(local)
            );
            assert_eq!(
                text.contains("DUPLICATE"),
                slip.duplicate,
                "{name} on {layout}"
            );
        }
    }
}

#[test]
fn every_slip_stays_under_60_kb() {
    // The heaviest slip: three scripts (Latin, Devanagari labels, a Bengali name) and the
    // DUPLICATE band, in regular and bold faces.
    let heaviest = Slip {
        patient_name: "সৌমিত্র চট্টোপাধ্যায়".to_string(),
        duplicate: true,
        ..fixtures::hindi()
    };
    let mut slips = fixtures::all_slips();
    slips.push(("three-scripts", heaviest));
    for (name, slip) in slips {
        for layout in Layout::ALL {
            let size = render(&slip, layout).expect("render").len();
            assert!(
                size < MAX_BYTES,
                "{name} on {layout} is {size} bytes, over {MAX_BYTES}"
            );
        }
    }
}

#[test]
fn nothing_is_drawn_outside_the_page() {
    let long = Slip {
        hospital_name: "Government Medical College and Super Speciality Hospital, \
                        Bhagalpur, Bihar"
            .to_string(),
        patient_name: "Venkata Lakshmi Narasimha Satyanarayana Murthy Chowdary".to_string(),
        guardian_line: Some("S/o Venkata Subrahmanyeswara Rao Chowdary".to_string()),
        department_en: "Obstetrics and Gynaecology (High Risk Pregnancy Clinic)".to_string(),
        department_local: "प्रसूति एवं स्त्री रोग (उच्च जोखिम गर्भावस्था क्लिनिक)".to_string(),
        instruction_en: "Take this slip to the OPD block, first floor, Room 112. Keep it safe: \
                         you need it for tests, medicines and your next visit within 14 days."
            .to_string(),
        instruction_local: "यह पर्ची ओपीडी भवन की पहली मंज़िल पर कमरा 112 में ले जाएँ। इसे \
                            संभाल कर रखें: जाँच, दवा और 14 दिन में अगली बार आने पर यह चाहिए।"
            .to_string(),
        duplicate: true,
        ..fixtures::hindi()
    };
    for slip in [fixtures::hindi(), fixtures::bengali(), long] {
        for layout in Layout::ALL {
            let data = layout_data(&slip, layout).expect("layout");
            for item in &data.items {
                let (x0, y0, x1, y1) = match item {
                    parchi_slip::LayoutItem::Text {
                        x_mm,
                        baseline_mm,
                        width_mm,
                        size_pt,
                        ..
                    } => (
                        *x_mm,
                        baseline_mm - size_pt * 0.3528,
                        x_mm + width_mm,
                        *baseline_mm,
                    ),
                    parchi_slip::LayoutItem::Box {
                        x_mm,
                        y_mm,
                        width_mm,
                        height_mm,
                        ..
                    } => (*x_mm, *y_mm, x_mm + width_mm, y_mm + height_mm),
                    parchi_slip::LayoutItem::Barcode {
                        x_mm,
                        y_mm,
                        width_mm,
                        height_mm,
                        ..
                    } => (*x_mm, *y_mm, x_mm + width_mm, y_mm + height_mm),
                    parchi_slip::LayoutItem::Qr {
                        x_mm,
                        y_mm,
                        size_mm,
                        ..
                    } => (*x_mm, *y_mm, x_mm + size_mm, y_mm + size_mm),
                };
                assert!(
                    x0 >= 2.0
                        && y0 >= 2.0
                        && x1 <= data.width_mm - 2.0
                        && y1 <= data.height_mm - 2.0,
                    "{layout}: {item:?} reaches into the page's edge ({} x {})",
                    data.width_mm,
                    data.height_mm
                );
            }
        }
    }
}

#[test]
fn bad_input_gets_a_typed_error_that_names_the_field_not_the_patient() {
    let slip = Slip {
        patient_name: "   ".to_string(),
        ..fixtures::hindi()
    };
    assert_eq!(
        render(&slip, Layout::A6),
        Err(SlipError::EmptyField {
            field: "patient_name"
        })
    );

    let slip = Slip {
        patient_name: "Kavya தமிழ்".to_string(),
        ..fixtures::hindi()
    };
    let err = render(&slip, Layout::Thermal80).expect_err("Tamil is not printable");
    assert!(matches!(
        err,
        SlipError::UnsupportedCharacter {
            field: "patient_name",
            ..
        }
    ));
    assert!(!err.to_string().contains("Kavya"));

    let slip = Slip {
        id_code: "AK3M-7Q2".to_string(),
        ..fixtures::hindi()
    };
    assert!(matches!(
        render(&slip, Layout::A5),
        Err(SlipError::InvalidIdCode { .. })
    ));

    let slip = Slip {
        visit_id: "not a uuid".to_string(),
        ..fixtures::hindi()
    };
    assert!(matches!(
        render(&slip, Layout::A5),
        Err(SlipError::InvalidVisitId { .. })
    ));

    let slip = Slip {
        instruction_en: "wait ".repeat(1000),
        ..fixtures::hindi()
    };
    assert_eq!(
        render(&slip, Layout::A6),
        Err(SlipError::FieldTooLong {
            field: "instruction_en",
            max: 400
        })
    );

    assert!(matches!(
        "a4".parse::<Layout>(),
        Err(SlipError::UnknownLayout(_))
    ));
    assert_eq!("THERMAL80".parse::<Layout>(), Ok(Layout::Thermal80));
}

#[test]
fn debug_output_never_shows_patient_data() {
    let slip = fixtures::hindi_devanagari_name();
    let dbg = format!("{slip:?}");
    assert!(!dbg.contains("प्रिया"), "{dbg}");
    assert!(!dbg.contains(&slip.id_code));
    let data = layout_data(&slip, Layout::A6).expect("layout");
    let dbg = format!("{data:?}");
    assert!(!dbg.contains("प्रिया"));
    assert!(!dbg.contains("कृष्ण"));
    assert!(!dbg.contains(&slip.id_code));
}

#[test]
fn slip_pdf_title_names_no_patient() {
    let dir = tempfile::tempdir().expect("tempdir");
    let slip = fixtures::hindi();
    let path = write_pdf(
        dir.path(),
        "title",
        &render(&slip, Layout::A6).expect("render"),
    );
    let info = crate::fixtures::run("pdfinfo", &[path.to_str().expect("utf-8")]);
    assert!(info.contains("OPD slip"), "{info}");
    assert!(!info.contains("Sunita"));
}

#[test]
fn a_slip_without_optional_fields_still_renders_and_scans() {
    let dir = tempfile::tempdir().expect("tempdir");
    let slip = Slip {
        hospital_name_local: None,
        guardian_line: None,
        department_local: String::new(),
        instruction_en: String::new(),
        instruction_local: String::new(),
        ..fixtures::bengali()
    };
    for layout in Layout::ALL {
        let path = write_pdf(
            dir.path(),
            &format!("bare-{layout}"),
            &render(&slip, layout).expect("render"),
        );
        let symbols = zbarimg(&pdftoppm(&path, 200));
        assert!(
            symbols.contains(&("CODE-128".to_string(), slip.id_code.clone())),
            "{layout}: {symbols:?}"
        );
        let text = pdftotext(&path);
        assert!(text.contains(&slip.patient_name));
        assert!(
            !text.contains("Guardian"),
            "{layout}: no guardian, no guardian label"
        );
        assert!(
            !text.contains("Instructions"),
            "{layout}: no instructions, no label"
        );
    }
}
