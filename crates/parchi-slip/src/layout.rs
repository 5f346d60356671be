//! Placing things on a page.
//!
//! A page is laid out once, into a list of placed elements in millimetres from the top-left
//! corner; `pdf.rs` turns that list into PDF operators and [`LayoutData`] is its public,
//! serialisable view, which the snapshot tests compare. Keeping the two apart is what lets the
//! tests check where everything sits without comparing PDF bytes.

use std::fmt;

use serde::Serialize;

use crate::model::Layout;
use crate::text::ShapedLine;

/// Millimetres per PostScript point.
pub(crate) const MM_PER_PT: f32 = 25.4 / 72.0;

/// A line's height, top to next top, for type of `size_pt`, in mm. Generous on purpose: Indic
/// scripts reach well above the Latin cap height (reph, ि, ी) and below the baseline (ु, ृ).
pub(crate) fn line_height(size_pt: f32) -> f32 {
    size_pt * MM_PER_PT * 1.42
}

/// From a line's top to its baseline, in mm.
pub(crate) fn ascent(size_pt: f32) -> f32 {
    size_pt * MM_PER_PT
}

/// One thing drawn on a page. Coordinates in mm from the page's top-left corner.
#[derive(Clone)]
pub(crate) enum Elem {
    Text {
        x: f32,
        baseline: f32,
        line: ShapedLine,
        white: bool,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: bool,
        stroke_pt: f32,
    },
    Code128 {
        x: f32,
        y: f32,
        module: f32,
        h: f32,
        payload: String,
        modules: Vec<bool>,
    },
    Qr {
        x: f32,
        y: f32,
        module: f32,
        payload: String,
        width: usize,
        modules: Vec<bool>,
    },
}

impl Elem {
    /// The filled rectangles a code is drawn with, `(x, y, w, h)` in mm from the page's top-left
    /// corner: one per horizontal run of dark modules (none for text and boxes). The PDF and the
    /// SVG preview both draw exactly these.
    pub(crate) fn code_rects(&self) -> Vec<(f32, f32, f32, f32)> {
        match self {
            Elem::Code128 {
                x,
                y,
                module,
                h,
                modules,
                ..
            } => crate::codes::runs(modules)
                .into_iter()
                .map(|(start, len)| (x + start as f32 * module, *y, len as f32 * module, *h))
                .collect(),
            Elem::Qr {
                x,
                y,
                module,
                width,
                modules,
                ..
            } => {
                let mut rects = Vec::new();
                for (row, cells) in modules.chunks((*width).max(1)).enumerate() {
                    let top = y + row as f32 * module;
                    for (start, len) in crate::codes::runs(cells) {
                        rects.push((x + start as f32 * module, top, len as f32 * module, *module));
                    }
                }
                rects
            }
            Elem::Text { .. } | Elem::Rect { .. } => Vec::new(),
        }
    }
}

/// A laid-out page.
#[derive(Clone)]
pub(crate) struct Page {
    pub w: f32,
    pub h: f32,
    pub elems: Vec<Elem>,
}

impl Page {
    pub(crate) fn new(w: f32, h: f32) -> Page {
        Page {
            w,
            h,
            elems: Vec::new(),
        }
    }

    pub(crate) fn text(&mut self, line: ShapedLine, x: f32, baseline: f32) {
        self.elems.push(Elem::Text {
            x,
            baseline,
            line,
            white: false,
        });
    }

    pub(crate) fn text_white(&mut self, line: ShapedLine, x: f32, baseline: f32) {
        self.elems.push(Elem::Text {
            x,
            baseline,
            line,
            white: true,
        });
    }

    /// Places `line` centred in the span `x .. x + w`.
    pub(crate) fn text_centred(&mut self, line: ShapedLine, x: f32, w: f32, baseline: f32) {
        let lx = x + (w - line.width_pt * MM_PER_PT) / 2.0;
        self.text(line, lx, baseline);
    }

    /// Places `line` so that it ends at `right`.
    pub(crate) fn text_right(&mut self, line: ShapedLine, right: f32, baseline: f32) {
        let lx = right - line.width_pt * MM_PER_PT;
        self.text(line, lx, baseline);
    }

    pub(crate) fn fill(&mut self, x: f32, y: f32, w: f32, h: f32) {
        self.elems.push(Elem::Rect {
            x,
            y,
            w,
            h,
            fill: true,
            stroke_pt: 0.0,
        });
    }

    pub(crate) fn frame(&mut self, x: f32, y: f32, w: f32, h: f32, stroke_pt: f32) {
        self.elems.push(Elem::Rect {
            x,
            y,
            w,
            h,
            fill: false,
            stroke_pt,
        });
    }

    /// A horizontal rule `thickness_pt` thick whose top is at `y`.
    pub(crate) fn rule(&mut self, x: f32, y: f32, w: f32, thickness_pt: f32) {
        self.fill(x, y, w, thickness_pt * MM_PER_PT);
    }

    pub(crate) fn data(&self, layout: Option<Layout>) -> LayoutData {
        LayoutData {
            layout,
            width_mm: r2(self.w),
            height_mm: r2(self.h),
            items: self.elems.iter().map(item).collect(),
        }
    }
}

fn r2(v: f32) -> f32 {
    (v * 100.0).round() / 100.0
}

fn r4(v: f32) -> f32 {
    (v * 10_000.0).round() / 10_000.0
}

fn item(e: &Elem) -> LayoutItem {
    match e {
        Elem::Text {
            x,
            baseline,
            line,
            white,
        } => LayoutItem::Text {
            x_mm: r2(*x),
            baseline_mm: r2(*baseline),
            width_mm: r2(line.width_pt * MM_PER_PT),
            size_pt: r2(line.size_pt),
            bold: line.bold,
            inverse: *white,
            text: line.text.clone(),
        },
        Elem::Rect {
            x,
            y,
            w,
            h,
            fill,
            stroke_pt,
        } => LayoutItem::Box {
            x_mm: r2(*x),
            y_mm: r2(*y),
            width_mm: r2(*w),
            height_mm: r2(*h),
            filled: *fill,
            stroke_pt: r2(*stroke_pt),
        },
        Elem::Code128 {
            x,
            y,
            module,
            h,
            payload,
            modules,
        } => LayoutItem::Barcode {
            x_mm: r2(*x),
            y_mm: r2(*y),
            width_mm: r2(*module * modules.len() as f32),
            height_mm: r2(*h),
            module_mm: r4(*module),
            symbology: "code128",
            payload: payload.clone(),
        },
        Elem::Qr {
            x,
            y,
            module,
            payload,
            width,
            ..
        } => LayoutItem::Qr {
            x_mm: r2(*x),
            y_mm: r2(*y),
            size_mm: r2(*module * *width as f32),
            module_mm: r4(*module),
            modules: *width,
            payload: payload.clone(),
        },
    }
}

/// Where everything on a page sits: the serialisable view of a laid-out slip or report page,
/// used by snapshot tests and by anyone who wants to check a layout without reading a PDF.
///
/// Lengths are millimetres from the page's top-left corner, rounded to 0.01 mm; type sizes are
/// points. Its `Debug` output leaves the text out (it holds the patient's name); serialise it to
/// see everything.
#[derive(Clone, PartialEq, Serialize)]
pub struct LayoutData {
    /// The slip layout, or `None` for a report page.
    pub layout: Option<Layout>,
    /// Page width.
    pub width_mm: f32,
    /// Page height (for `thermal80`, the length of roll the slip takes).
    pub height_mm: f32,
    /// Everything drawn, in drawing order.
    pub items: Vec<LayoutItem>,
}

impl fmt::Debug for LayoutData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayoutData")
            .field("layout", &self.layout)
            .field("width_mm", &self.width_mm)
            .field("height_mm", &self.height_mm)
            .field("items", &self.items)
            .finish()
    }
}

impl LayoutData {
    /// The texts on the page, in drawing order.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter_map(|i| match i {
            LayoutItem::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
    }
}

/// One placed thing.
#[derive(Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LayoutItem {
    /// A line of text, shaped and drawn from `x_mm` along the baseline.
    Text {
        /// Left edge.
        x_mm: f32,
        /// Baseline, from the top.
        baseline_mm: f32,
        /// Advance width of the shaped line.
        width_mm: f32,
        /// Type size.
        size_pt: f32,
        /// Bold face.
        bold: bool,
        /// White on a black band (the DUPLICATE mark).
        inverse: bool,
        /// The text as a reader extracts it.
        text: String,
    },
    /// A rectangle, filled or outlined; rules are thin filled boxes.
    Box {
        /// Left edge.
        x_mm: f32,
        /// Top edge.
        y_mm: f32,
        /// Width.
        width_mm: f32,
        /// Height.
        height_mm: f32,
        /// Filled black, or only outlined.
        filled: bool,
        /// Outline width, when not filled.
        stroke_pt: f32,
    },
    /// A one-dimensional barcode, without its quiet zones.
    Barcode {
        /// Left edge of the first bar.
        x_mm: f32,
        /// Top edge.
        y_mm: f32,
        /// Width of the symbol.
        width_mm: f32,
        /// Bar height.
        height_mm: f32,
        /// Narrowest bar's width.
        module_mm: f32,
        /// Always `code128`.
        symbology: &'static str,
        /// The data encoded.
        payload: String,
    },
    /// A QR code, without its quiet zone.
    Qr {
        /// Left edge.
        x_mm: f32,
        /// Top edge.
        y_mm: f32,
        /// Side of the symbol.
        size_mm: f32,
        /// Side of one module.
        module_mm: f32,
        /// Modules per side.
        modules: usize,
        /// The data encoded.
        payload: String,
    },
}

impl fmt::Debug for LayoutItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutItem::Text {
                x_mm,
                baseline_mm,
                size_pt,
                ..
            } => f
                .debug_struct("Text")
                .field("x_mm", x_mm)
                .field("baseline_mm", baseline_mm)
                .field("size_pt", size_pt)
                .finish_non_exhaustive(),
            LayoutItem::Box {
                x_mm,
                y_mm,
                width_mm,
                height_mm,
                ..
            } => f
                .debug_struct("Box")
                .field("x_mm", x_mm)
                .field("y_mm", y_mm)
                .field("width_mm", width_mm)
                .field("height_mm", height_mm)
                .finish_non_exhaustive(),
            LayoutItem::Barcode {
                x_mm,
                y_mm,
                width_mm,
                ..
            } => f
                .debug_struct("Barcode")
                .field("x_mm", x_mm)
                .field("y_mm", y_mm)
                .field("width_mm", width_mm)
                .finish_non_exhaustive(),
            LayoutItem::Qr {
                x_mm,
                y_mm,
                size_mm,
                ..
            } => f
                .debug_struct("Qr")
                .field("x_mm", x_mm)
                .field("y_mm", y_mm)
                .field("size_mm", size_mm)
                .finish_non_exhaustive(),
        }
    }
}
