//! Laid-out pages to SVG, for showing a slip on screen.
//!
//! The desktop app's web view shows no PDF by itself, so the preview is drawn from the same
//! laid-out [`Page`] as the PDF (`pdf.rs`): the same elements at the same millimetres. Text is
//! drawn as the outlines of the glyphs the shaper chose, at the positions it chose, so the
//! screen shows exactly the printed shapes whatever fonts the web view has (each glyph's outline
//! is written once, in `<defs>`, and placed with `<use>`). Like the PDF's `/ActualText`, every
//! line also carries its string as invisible `<text>` of the same size and width, so the SVG can
//! be searched and read aloud. The codes are the same rectangles the PDF fills
//! ([`Elem::code_rects`]).
//!
//! User units are millimetres from the page's top-left corner (the layout's own coordinates).

use std::collections::BTreeMap;
use std::fmt::Write;

use rustybuzz::ttf_parser::{GlyphId, OutlineBuilder};

use crate::SlipError;
use crate::layout::{Elem, MM_PER_PT, Page};
use crate::text::{FontKind, ShapedLine};

/// A number for an attribute: at most `places` decimals, no trailing zeros.
fn num(v: f32, places: usize) -> String {
    let s = format!("{v:.places$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

fn mm(v: f32) -> String {
    num(v, 3)
}

/// Text for an XML attribute or element: `&`, `<`, `>` and quotes escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A glyph outline as SVG path data, in font units (y up).
#[derive(Default)]
struct PathData(String);

impl OutlineBuilder for PathData {
    fn move_to(&mut self, x: f32, y: f32) {
        let _ = write!(self.0, "M{} {}", num(x, 1), num(y, 1));
    }
    fn line_to(&mut self, x: f32, y: f32) {
        let _ = write!(self.0, "L{} {}", num(x, 1), num(y, 1));
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let _ = write!(
            self.0,
            "Q{} {} {} {}",
            num(x1, 1),
            num(y1, 1),
            num(x, 1),
            num(y, 1)
        );
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let _ = write!(
            self.0,
            "C{} {} {} {} {} {}",
            num(x1, 1),
            num(y1, 1),
            num(x2, 1),
            num(y2, 1),
            num(x, 1),
            num(y, 1)
        );
    }
    fn close(&mut self) {
        self.0.push('Z');
    }
}

/// The glyph outlines a page uses, each written once: `None` for a glyph with no outline (a
/// space).
#[derive(Default)]
struct Glyphs(BTreeMap<(FontKind, u16), Option<String>>);

impl Glyphs {
    fn id(font: FontKind, gid: u16) -> String {
        format!("g{}-{gid}", font.index())
    }

    /// The `<defs>` id of the glyph, outlining it the first time; `None` if it draws nothing.
    fn get(&mut self, font: FontKind, gid: u16) -> Result<Option<String>, SlipError> {
        if let Some(known) = self.0.get(&(font, gid)) {
            return Ok(known.as_ref().map(|_| Self::id(font, gid)));
        }
        let face = crate::text::face(font)?;
        let mut path = PathData::default();
        let outlined = face.outline_glyph(GlyphId(gid), &mut path).is_some();
        let d = (outlined && !path.0.is_empty()).then_some(path.0);
        let id = d.as_ref().map(|_| Self::id(font, gid));
        self.0.insert((font, gid), d);
        Ok(id)
    }

    fn write_defs(&self, out: &mut String) {
        out.push_str("<defs>");
        for ((font, gid), d) in &self.0 {
            if let Some(d) = d {
                let _ = write!(out, "<path id=\"{}\" d=\"{d}\"/>", Self::id(*font, *gid));
            }
        }
        out.push_str("</defs>");
    }
}

/// Draws one shaped line with its left end at `x` on `baseline` (mm), as the PDF shows it: each
/// run from where the last one ended, each glyph at the shaper's offset from the run's start.
fn text(
    out: &mut String,
    glyphs: &mut Glyphs,
    line: &ShapedLine,
    x: f32,
    baseline: f32,
    white: bool,
) -> Result<(), SlipError> {
    let size_mm = line.size_pt * MM_PER_PT;
    let fill = if white { "#fff" } else { "#000" };
    let _ = write!(out, "<g fill=\"{fill}\">");
    let mut pen_pt = 0.0f32;
    for run in line.runs.iter() {
        let scale = size_mm / run.units_per_em;
        let _ = write!(
            out,
            "<g transform=\"translate({} {}) scale({} {})\">",
            mm(x + pen_pt * MM_PER_PT),
            mm(baseline),
            num(scale, 6),
            num(-scale, 6)
        );
        for g in &run.glyphs {
            if let Some(id) = glyphs.get(run.font, g.gid)? {
                let _ = write!(out, "<use href=\"#{id}\" x=\"{}\"", g.x);
                if g.y != 0 {
                    let _ = write!(out, " y=\"{}\"", g.y);
                }
                out.push_str("/>");
            }
        }
        out.push_str("</g>");
        pen_pt += run.advance as f32 * line.size_pt / run.units_per_em;
    }
    out.push_str("</g>");
    // The string itself, invisible, over the glyphs: what a search or a screen reader finds.
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"{}\" textLength=\"{}\" lengthAdjust=\"spacingAndGlyphs\" fill-opacity=\"0\">{}</text>",
        mm(x),
        mm(baseline),
        mm(size_mm),
        mm(line.width_pt * MM_PER_PT),
        escape(&line.text)
    );
    Ok(())
}

/// Renders one laid-out page as a standalone SVG document, `w` x `h` millimetres on white.
pub(crate) fn render(page: &Page) -> Result<String, SlipError> {
    let mut glyphs = Glyphs::default();
    let mut body = String::new();
    for elem in &page.elems {
        match elem {
            Elem::Text {
                x,
                baseline,
                line,
                white,
            } => text(&mut body, &mut glyphs, line, *x, *baseline, *white)?,
            Elem::Rect {
                x,
                y,
                w,
                h,
                fill,
                stroke_pt,
            } => {
                let _ = write!(
                    body,
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
                    mm(*x),
                    mm(*y),
                    mm(*w),
                    mm(*h)
                );
                if !*fill {
                    let _ = write!(
                        body,
                        " fill=\"none\" stroke=\"#000\" stroke-width=\"{}\"",
                        mm(stroke_pt * MM_PER_PT)
                    );
                }
                body.push_str("/>");
            }
            Elem::Code128 { .. } | Elem::Qr { .. } => {
                body.push_str("<path shape-rendering=\"crispEdges\" d=\"");
                for (x, y, w, h) in elem.code_rects() {
                    let _ = write!(body, "M{} {}h{}v{}h{}z", mm(x), mm(y), mm(w), mm(h), mm(-w));
                }
                body.push_str("\"/>");
            }
        }
    }
    let (w, h) = (mm(page.w), mm(page.h));
    let mut out = String::with_capacity(body.len() + 64 * 1024);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}mm\" height=\"{h}mm\" viewBox=\"0 0 {w} {h}\">"
    );
    glyphs.write_defs(&mut out);
    let _ = write!(out, "<rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>");
    out.push_str(&body);
    out.push_str("</svg>");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_never_negative_zero() {
        assert_eq!(num(1.5, 3), "1.5");
        assert_eq!(num(2.0, 3), "2");
        assert_eq!(num(-0.0001, 3), "0");
        assert_eq!(num(10.12345, 3), "10.123");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("A&B <C> \"d\" 'e'"),
            "A&amp;B &lt;C&gt; &quot;d&quot; &apos;e&apos;"
        );
    }
}
