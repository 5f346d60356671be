//! Laid-out pages to PDF bytes, through printpdf.
//!
//! Text is shown glyph by glyph at the positions the shaper chose (printpdf folds same-baseline
//! glyphs back into one `TJ` array), and every line sits in a `/Span` marked-content sequence
//! whose `/ActualText` is the line in UTF-16BE: that, not the glyphs, is what `pdftotext` and a
//! screen reader return, so a conjunct glyph still reads back as its three characters. Only the
//! fonts a document uses are embedded, and printpdf subsets them to the glyphs shown.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use printpdf::{
    Codepoint, Color, DictItem, FontId, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument,
    PdfFontHandle, PdfPage, PdfSaveOptions, Point, Polygon, PolygonRing, Pt, Rect, Rgb, TextItem,
    TextMatrix, WindingOrder,
};

use crate::SlipError;
use crate::layout::{Elem, MM_PER_PT, Page};
use crate::text::{FontKind, GlyphRun};

/// printpdf's parsed fonts, built once per process: parsing a font costs far more than a slip.
fn parsed_font(kind: FontKind) -> Result<&'static ParsedFont, SlipError> {
    static FONTS: [OnceLock<Option<ParsedFont>>; 6] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let err = || SlipError::Font {
        name: kind.file_name(),
    };
    FONTS
        .get(kind.index())
        .ok_or_else(err)?
        .get_or_init(|| ParsedFont::from_bytes(kind.bytes(), 0, &mut Vec::new()))
        .as_ref()
        .ok_or_else(err)
}

/// Parses every built-in font and compiles its shaping plan now, so that the first slip a counter
/// prints is as quick as the rest (the first slip otherwise pays about 5 ms once). Optional:
/// rendering does this lazily.
pub fn warm_up() -> Result<(), SlipError> {
    for kind in FontKind::ALL {
        parsed_font(kind)?;
    }
    crate::text::warm_up()
}

fn black() -> Color {
    Color::Rgb(Rgb::new(0.0, 0.0, 0.0, None))
}

fn white() -> Color {
    Color::Rgb(Rgb::new(1.0, 1.0, 1.0, None))
}

fn pt(mm: f32) -> Pt {
    Pt(mm / MM_PER_PT)
}

/// The text as a PDF text string in UTF-16BE with its byte order mark, as `/ActualText` wants.
fn utf16be(text: &str) -> Vec<u8> {
    let mut out = vec![0xFE, 0xFF];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
    out
}

fn rect_ring(x: f32, y: f32, w: f32, h: f32) -> PolygonRing {
    let p = |x: f32, y: f32| LinePoint {
        p: Point { x: pt(x), y: pt(y) },
        bezier: false,
    };
    PolygonRing {
        points: vec![p(x, y), p(x + w, y), p(x + w, y + h), p(x, y + h)],
    }
}

/// Renders `pages` into one PDF document titled `title` (no patient data in the title: it is
/// visible in every viewer's title bar and in print queues).
pub(crate) fn render(pages: &[Page], title: &str) -> Result<Vec<u8>, SlipError> {
    let mut doc = PdfDocument::new(title);
    let mut font_ids: BTreeMap<FontKind, FontId> = BTreeMap::new();
    let mut pdf_pages = Vec::with_capacity(pages.len());
    for page in pages {
        let mut ops = Vec::new();
        for elem in &page.elems {
            draw(&mut doc, &mut font_ids, &mut ops, page.h, elem)?;
        }
        pdf_pages.push(PdfPage::new(Mm(page.w), Mm(page.h), ops));
    }
    doc.with_pages(pdf_pages);
    let mut warnings = Vec::new();
    // printpdf's own `save` compresses every stream at deflate level 9. Build the same document
    // (fonts subset) without its compression, and compress here at a lower level instead.
    let opts = PdfSaveOptions {
        optimize: false,
        ..PdfSaveOptions::default()
    };
    let mut lo = printpdf::to_lopdf_doc(&doc, &opts, &mut warnings);
    compress_streams(&mut lo);
    let mut out = Vec::new();
    lo.save_to(&mut out).map_err(|e| SlipError::Pdf {
        detail: e.to_string(),
    })?;
    Ok(out)
}

/// Deflate level 2. Measured on this project's slips: level 9 (printpdf's) spends about half the
/// render time compressing; level 2 makes a slip 3% larger than level 6 and about 2 ms quicker;
/// level 1 is quicker still but 11% larger, which leaves too little room under 60 KB for a slip
/// with long text in three scripts.
const DEFLATE_LEVEL: flate2::Compression = flate2::Compression::new(2);

/// Deflates every stream that may be compressed and is not already, as lopdf's
/// `Document::compress` does, but at the default level.
fn compress_streams(doc: &mut lopdf::Document) {
    use std::io::Write;
    for object in doc.objects.values_mut() {
        let lopdf::Object::Stream(stream) = object else {
            continue;
        };
        if !stream.allows_compression || stream.dict.get(b"Filter").is_ok() {
            continue;
        }
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), DEFLATE_LEVEL);
        // Writing to a Vec cannot fail; if it somehow did, the stream is left uncompressed.
        if encoder.write_all(&stream.content).is_err() {
            continue;
        }
        let Ok(compressed) = encoder.finish() else {
            continue;
        };
        if compressed.len() + 19 < stream.content.len() {
            stream.dict.set("Filter", "FlateDecode");
            stream.set_content(compressed);
        }
    }
}

fn draw(
    doc: &mut PdfDocument,
    font_ids: &mut BTreeMap<FontKind, FontId>,
    ops: &mut Vec<Op>,
    page_h: f32,
    elem: &Elem,
) -> Result<(), SlipError> {
    match elem {
        Elem::Text {
            x,
            baseline,
            line,
            white: is_white,
        } => {
            let mut props = BTreeMap::new();
            props.insert(
                "ActualText".to_string(),
                DictItem::String {
                    data: utf16be(&line.text),
                    literal: false,
                },
            );
            ops.push(Op::BeginMarkedContentWithProperties {
                tag: "Span".to_string(),
                properties: DictItem::Dict { map: props },
            });
            ops.push(Op::StartTextSection);
            if *is_white {
                ops.push(Op::SetFillColor { col: white() });
            }
            let ox = x / MM_PER_PT;
            let oy = (page_h - baseline) / MM_PER_PT;
            let mut pen = 0.0f32;
            for run in line.runs.iter() {
                let id = match font_ids.get(&run.font) {
                    Some(id) => id.clone(),
                    None => {
                        let id = doc.add_font(parsed_font(run.font)?);
                        font_ids.insert(run.font, id.clone());
                        id
                    }
                };
                ops.push(Op::SetFont {
                    font: PdfFontHandle::External(id),
                    size: Pt(line.size_pt),
                });
                show_run(ops, run, line.size_pt, ox + pen, oy);
                pen += run.advance as f32 * line.size_pt / run.units_per_em;
            }
            if *is_white {
                ops.push(Op::SetFillColor { col: black() });
            }
            ops.push(Op::EndTextSection);
            ops.push(Op::EndMarkedContentWithProperties);
        }
        Elem::Rect {
            x,
            y,
            w,
            h,
            fill,
            stroke_pt,
        } => {
            if *fill {
                ops.push(Op::SetFillColor { col: black() });
            } else {
                ops.push(Op::SetOutlineColor { col: black() });
                ops.push(Op::SetOutlineThickness { pt: Pt(*stroke_pt) });
            }
            ops.push(Op::DrawRectangle {
                rectangle: Rect {
                    x: pt(*x),
                    y: pt(page_h - y - h),
                    width: pt(*w),
                    height: pt(*h),
                    mode: Some(if *fill {
                        PaintMode::Fill
                    } else {
                        PaintMode::Stroke
                    }),
                    winding_order: Some(WindingOrder::NonZero),
                },
            });
        }
        Elem::Code128 { .. } | Elem::Qr { .. } => {
            let rings = elem
                .code_rects()
                .into_iter()
                .map(|(x, y, w, h)| rect_ring(x, page_h - y - h, w, h))
                .collect();
            fill_rings(ops, rings);
        }
    }
    Ok(())
}

/// Shows one shaped run. Glyphs on the same baseline go into one `TJ` array whose numbers are
/// the difference between where the shaper put the next glyph and where the viewer's pen lands
/// after this one (the glyph's own advance): zero for most glyphs, so most numbers are left out.
/// A glyph the shaper moved up or down (a stacked mark) starts a new text matrix.
fn show_run(ops: &mut Vec<Op>, run: &GlyphRun, size_pt: f32, x_pt: f32, y_pt: f32) {
    let to_pt = size_pt / run.units_per_em;
    let to_thousandths = 1000.0 / run.units_per_em;
    let glyphs = &run.glyphs;
    let mut i = 0;
    while i < glyphs.len() {
        let first = glyphs[i];
        let mut end = i + 1;
        while end < glyphs.len() && glyphs[end].y == first.y {
            end += 1;
        }
        ops.push(Op::SetTextMatrix {
            matrix: TextMatrix::Translate(
                Pt(x_pt + first.x as f32 * to_pt),
                Pt(y_pt + first.y as f32 * to_pt),
            ),
        });
        let segment = &glyphs[i..end];
        let mut codepoints = Vec::with_capacity(segment.len());
        for (k, g) in segment.iter().enumerate() {
            let offset = match segment.get(k + 1) {
                // The viewer advances by the /W width, which printpdf truncates to whole
                // thousandths of an em.
                Some(next) => {
                    (g.advance as f32 * to_thousandths).trunc()
                        - (next.x - g.x) as f32 * to_thousandths
                }
                None => 0.0,
            };
            codepoints.push(Codepoint::new(g.gid, offset));
        }
        ops.push(Op::ShowText {
            items: vec![TextItem::GlyphIds(codepoints)],
        });
        i = end;
    }
}

/// Fills many rectangles with one path: a barcode is one fill operation, not hundreds.
fn fill_rings(ops: &mut Vec<Op>, rings: Vec<PolygonRing>) {
    ops.push(Op::SetFillColor { col: black() });
    ops.push(Op::DrawPolygon {
        polygon: Polygon {
            rings,
            mode: PaintMode::Fill,
            winding_order: WindingOrder::NonZero,
        },
    });
}
