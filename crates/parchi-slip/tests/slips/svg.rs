//! The SVG preview against the PDF: one slip, one layout, the same page.

use parchi_slip::{Layout, LayoutItem, Slip, layout_data, render, render_svg};

use crate::fixtures::{self, run, write_pdf, zbarimg};

/// One line of text in the SVG, from its invisible `<text>`: left edge, baseline, size and
/// width in mm, and the string.
#[derive(Debug, Clone, PartialEq)]
struct SvgText {
    x: f32,
    baseline: f32,
    size: f32,
    width: f32,
    text: String,
}

fn attr(tag: &str, name: &str) -> f32 {
    let key = format!(" {name}=\"");
    let start = tag.find(&key).map(|i| i + key.len()).expect(name);
    let end = tag[start..].find('"').expect("closing quote") + start;
    tag[start..end].parse().expect("a number")
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn svg_texts(svg: &str) -> Vec<SvgText> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find("<text ") {
        let open_end = rest[i..].find('>').expect("tag end") + i;
        let close = rest[open_end..].find("</text>").expect("</text>") + open_end;
        let tag = &rest[i..open_end];
        out.push(SvgText {
            x: attr(tag, "x"),
            baseline: attr(tag, "y"),
            size: attr(tag, "font-size"),
            width: attr(tag, "textLength"),
            text: unescape(&rest[open_end + 1..close]),
        });
        rest = &rest[close..];
    }
    out
}

/// The rectangles of the SVG's code paths (`M x y h w v h h -w z`), in mm.
fn svg_code_rects(svg: &str) -> Vec<(f32, f32, f32, f32)> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find("<path shape-rendering=\"crispEdges\" d=\"") {
        let start = i + "<path shape-rendering=\"crispEdges\" d=\"".len();
        let end = rest[start..].find('"').expect("end of d") + start;
        for rect in rest[start..end].split('z').filter(|r| !r.is_empty()) {
            let nums: Vec<f32> = rect
                .trim_start_matches('M')
                .split(['h', 'v', ' '])
                .map(|n| n.parse().expect("a number"))
                .collect();
            assert_eq!(nums.len(), 5, "{rect}");
            out.push((nums[0], nums[1], nums[2], nums[3]));
        }
        rest = &rest[end..];
    }
    out
}

/// Every "word" `pdftotext -bbox` finds, with its box in mm: (text, x0, y0, x1, y1). Each line
/// of a slip is one marked-content span with its `/ActualText`, which poppler reports as one
/// word holding the whole line, spaces included.
fn pdf_words(pdf: &std::path::Path) -> Vec<(String, f32, f32, f32, f32)> {
    const MM: f32 = 25.4 / 72.0;
    let html = run("pdftotext", &["-bbox", pdf.to_str().expect("utf-8"), "-"]);
    html.lines()
        .filter(|l| l.trim_start().starts_with("<word "))
        .map(|l| {
            let word = l[l.find('>').expect(">") + 1..l.rfind("</word>").expect("</word>")].trim();
            let tag = &l[..l.find('>').expect(">")];
            (
                unescape(word),
                attr(tag, "xMin") * MM,
                attr(tag, "yMin") * MM,
                attr(tag, "xMax") * MM,
                attr(tag, "yMax") * MM,
            )
        })
        .collect()
}

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn the_svg_places_every_text_where_the_layout_does() {
    for (name, slip) in fixtures::all_slips() {
        for layout in Layout::ALL {
            let data = layout_data(&slip, layout).expect("layout");
            let svg = render_svg(&slip, layout).expect("svg");
            assert!(
                svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
                "{name}"
            );
            assert!(
                svg.contains(&format!("width=\"{}mm\"", data.width_mm)),
                "{name} on {layout}: the SVG is not the page's size"
            );
            let texts = svg_texts(&svg);
            let expected: Vec<_> = data
                .items
                .iter()
                .filter_map(|i| match i {
                    LayoutItem::Text {
                        x_mm,
                        baseline_mm,
                        width_mm,
                        size_pt,
                        text,
                        ..
                    } => Some((*x_mm, *baseline_mm, *width_mm, *size_pt, text.clone())),
                    _ => None,
                })
                .collect();
            assert_eq!(texts.len(), expected.len(), "{name} on {layout}");
            for (t, (x, baseline, width, size_pt, text)) in texts.iter().zip(expected) {
                assert_eq!(t.text, text, "{name} on {layout}");
                assert!(close(t.x, x, 0.01), "{name} on {layout}: {text:?} x");
                assert!(
                    close(t.baseline, baseline, 0.01),
                    "{name} on {layout}: {text:?} y"
                );
                assert!(
                    close(t.width, width, 0.01),
                    "{name} on {layout}: {text:?} width"
                );
                assert!(
                    close(t.size, size_pt * 25.4 / 72.0, 0.01),
                    "{name} on {layout}: {text:?} size"
                );
            }
        }
    }
}

/// The SVG's line holding `needle` and the PDF's line of the same text sit in the same place:
/// the same left and right ends (the PDF's are poppler's reading of the glyphs it placed), and
/// the PDF line's height within the SVG line's band around its baseline.
fn assert_same_place(
    name: &str,
    svg: &[SvgText],
    pdf: &[(String, f32, f32, f32, f32)],
    needle: &str,
) {
    let line = svg
        .iter()
        .find(|t| t.text.contains(needle))
        .unwrap_or_else(|| panic!("{name}: {needle:?} is not in the SVG"));
    let (top, bottom) = (
        line.baseline - line.size * 1.2,
        line.baseline + line.size * 0.6,
    );
    let same_text: Vec<_> = pdf.iter().filter(|p| p.0 == line.text).collect();
    let found = same_text.iter().any(|(_, x0, y0, x1, y1)| {
        close(*x0, line.x, 0.3)
            && close(*x1, line.x + line.width, 0.3)
            && *y0 >= top - 0.3
            && *y1 <= bottom + 0.3
            && y0 < y1
    });
    assert!(
        found,
        "{name}: the PDF has no line {:?} where the SVG draws it ({line:?}); the PDF's lines of that text: {same_text:?}",
        line.text
    );
}

#[test]
fn the_svg_and_the_pdf_place_the_token_department_and_id_alike() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, slip) in fixtures::all_slips() {
        for layout in Layout::ALL {
            let label = format!("{name} on {layout}");
            let pdf = render(&slip, layout).expect("render");
            let svg = render_svg(&slip, layout).expect("svg");
            let words = pdf_words(&write_pdf(dir.path(), &format!("{name}-{layout}"), &pdf));
            let texts = svg_texts(&svg);
            let mut needles = vec![
                slip.token.as_str(),
                slip.department_en.as_str(),
                slip.department_local.as_str(),
                slip.id_display.as_str(),
                slip.patient_name.as_str(),
            ];
            if slip.duplicate {
                needles.push("DUPLICATE");
            }
            for needle in needles {
                assert_same_place(&label, &texts, &words, needle);
            }
            assert_eq!(
                svg.contains("DUPLICATE"),
                slip.duplicate,
                "{label}: the DUPLICATE band"
            );
        }
    }
}

/// Paints the SVG's code rectangles black on white at `px_per_mm` as a plain PBM image.
fn paint_codes(svg: &str, w_mm: f32, h_mm: f32, px_per_mm: f32) -> String {
    let (w, h) = ((w_mm * px_per_mm) as usize, (h_mm * px_per_mm) as usize);
    let mut px = vec![false; w * h];
    for (x, y, rw, rh) in svg_code_rects(svg) {
        let (x0, y0) = (
            (x * px_per_mm).round() as usize,
            (y * px_per_mm).round() as usize,
        );
        let x1 = (((x + rw) * px_per_mm).round() as usize).min(w);
        let y1 = (((y + rh) * px_per_mm).round() as usize).min(h);
        for row in y0..y1 {
            px[row * w + x0..row * w + x1].fill(true);
        }
    }
    let mut out = format!("P1\n{w} {h}\n");
    for row in px.chunks(w) {
        out.extend(row.iter().map(|&b| if b { '1' } else { '0' }));
        out.push('\n');
    }
    out
}

fn svg_scans(
    dir: &std::path::Path,
    name: &str,
    slip: &Slip,
    layout: Layout,
) -> Vec<(String, String)> {
    let data = layout_data(slip, layout).expect("layout");
    let svg = render_svg(slip, layout).expect("svg");
    let path = dir.join(format!("{name}-{layout}.pbm"));
    std::fs::write(&path, paint_codes(&svg, data.width_mm, data.height_mm, 8.0)).expect("pbm");
    zbarimg(&path)
}

#[test]
fn the_preview_codes_scan_to_what_the_slip_prints() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, slip) in fixtures::all_slips() {
        for layout in Layout::ALL {
            let mut codes = svg_scans(dir.path(), name, &slip, layout);
            codes.sort();
            let qr = parchi_slip::qr_payload(&slip.id_code, &slip.visit_id);
            assert_eq!(
                codes,
                [
                    ("CODE-128".to_string(), slip.id_code.clone()),
                    ("QR-Code".to_string(), qr)
                ],
                "{name} on {layout}"
            );
        }
    }
}

#[test]
fn the_svg_codes_are_the_layouts_codes() {
    let slip = fixtures::hindi();
    let data = layout_data(&slip, Layout::Thermal80).expect("layout");
    let rects = svg_code_rects(&render_svg(&slip, Layout::Thermal80).expect("svg"));
    for item in &data.items {
        let (x, y, w, h) = match item {
            LayoutItem::Barcode {
                x_mm,
                y_mm,
                width_mm,
                height_mm,
                ..
            } => (*x_mm, *y_mm, *width_mm, *height_mm),
            LayoutItem::Qr {
                x_mm,
                y_mm,
                size_mm,
                ..
            } => (*x_mm, *y_mm, *size_mm, *size_mm),
            _ => continue,
        };
        let inside: Vec<_> = rects
            .iter()
            .filter(|r| {
                r.0 >= x - 0.01
                    && r.1 >= y - 0.01
                    && r.0 + r.2 <= x + w + 0.02
                    && r.1 + r.3 <= y + h + 0.02
            })
            .collect();
        assert!(!inside.is_empty(), "no rectangles inside {item:?}");
        let right = inside.iter().map(|r| r.0 + r.2).fold(0.0f32, f32::max);
        let bottom = inside.iter().map(|r| r.1 + r.3).fold(0.0f32, f32::max);
        assert!(
            close(right, x + w, 0.02) && close(bottom, y + h, 0.02),
            "{item:?}"
        );
    }
}
