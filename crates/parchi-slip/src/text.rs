//! Fonts and text shaping.
//!
//! printpdf draws a string by mapping each character to one glyph, which breaks Indic scripts:
//! conjuncts come out as consonant + visible halant, `ि` lands after its consonant, and the two
//! halves of Bengali `ো` are not split around it. So every string is cut into runs of one script,
//! each run is shaped by rustybuzz with the font for that script, and the PDF shows the glyph IDs
//! the shaper returned at the positions it returned. The text a reader extracts comes from an
//! `/ActualText` span around the line (see `pdf.rs`), not from the glyphs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use rustybuzz::{Direction, Face, ShapePlan, UnicodeBuffer};

use crate::SlipError;

/// One of the fonts built into the crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum FontKind {
    Latin,
    LatinBold,
    Devanagari,
    DevanagariBold,
    Bengali,
    BengaliBold,
}

impl FontKind {
    pub(crate) const ALL: [FontKind; 6] = [
        FontKind::Latin,
        FontKind::LatinBold,
        FontKind::Devanagari,
        FontKind::DevanagariBold,
        FontKind::Bengali,
        FontKind::BengaliBold,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn file_name(self) -> &'static str {
        match self {
            FontKind::Latin => "NotoSans-Regular.ttf",
            FontKind::LatinBold => "NotoSans-Bold.ttf",
            FontKind::Devanagari => "NotoSansDevanagari-Regular.ttf",
            FontKind::DevanagariBold => "NotoSansDevanagari-Bold.ttf",
            FontKind::Bengali => "NotoSansBengali-Regular.ttf",
            FontKind::BengaliBold => "NotoSansBengali-Bold.ttf",
        }
    }

    pub(crate) fn bytes(self) -> &'static [u8] {
        match self {
            FontKind::Latin => include_bytes!("../fonts/NotoSans-Regular.ttf"),
            FontKind::LatinBold => include_bytes!("../fonts/NotoSans-Bold.ttf"),
            FontKind::Devanagari => include_bytes!("../fonts/NotoSansDevanagari-Regular.ttf"),
            FontKind::DevanagariBold => include_bytes!("../fonts/NotoSansDevanagari-Bold.ttf"),
            FontKind::Bengali => include_bytes!("../fonts/NotoSansBengali-Regular.ttf"),
            FontKind::BengaliBold => include_bytes!("../fonts/NotoSansBengali-Bold.ttf"),
        }
    }

    fn for_script(script: Script, bold: bool) -> FontKind {
        match (script, bold) {
            (Script::Devanagari, false) => FontKind::Devanagari,
            (Script::Devanagari, true) => FontKind::DevanagariBold,
            (Script::Bengali, false) => FontKind::Bengali,
            (Script::Bengali, true) => FontKind::BengaliBold,
            (_, false) => FontKind::Latin,
            (_, true) => FontKind::LatinBold,
        }
    }
}

/// The shaping faces, parsed once per process: the font bytes are static, so parsing them again
/// for every slip would only cost time.
fn faces() -> Result<&'static [Face<'static>], SlipError> {
    static FACES: OnceLock<Result<Vec<Face<'static>>, SlipError>> = OnceLock::new();
    FACES
        .get_or_init(|| {
            FontKind::ALL
                .iter()
                .map(|kind| {
                    Face::from_slice(kind.bytes(), 0).ok_or(SlipError::Font {
                        name: kind.file_name(),
                    })
                })
                .collect()
        })
        .as_ref()
        .map(|v| v.as_slice())
        .map_err(Clone::clone)
}

pub(crate) fn face(kind: FontKind) -> Result<&'static Face<'static>, SlipError> {
    faces()?.get(kind.index()).ok_or(SlipError::Font {
        name: kind.file_name(),
    })
}

/// Builds every shaping face and plan now rather than on first use.
pub(crate) fn warm_up() -> Result<(), SlipError> {
    for kind in FontKind::ALL {
        plan(kind)?;
    }
    Ok(())
}

/// The script each font shapes, as the shaper names it.
fn shaper_script(kind: FontKind) -> rustybuzz::Script {
    match kind {
        FontKind::Latin | FontKind::LatinBold => rustybuzz::script::LATIN,
        FontKind::Devanagari | FontKind::DevanagariBold => rustybuzz::script::DEVANAGARI,
        FontKind::Bengali | FontKind::BengaliBold => rustybuzz::script::BENGALI,
    }
}

/// One shaping plan per font, compiled once per process. Compiling a plan (collecting the
/// font's lookups for the script) costs more than shaping a line, and `rustybuzz::shape` would
/// compile one for every string.
fn plan(kind: FontKind) -> Result<&'static ShapePlan, SlipError> {
    static PLANS: OnceLock<Result<Vec<ShapePlan>, SlipError>> = OnceLock::new();
    PLANS
        .get_or_init(|| {
            FontKind::ALL
                .iter()
                .map(|k| {
                    Ok(ShapePlan::new(
                        face(*k)?,
                        Direction::LeftToRight,
                        Some(shaper_script(*k)),
                        None,
                        &[],
                    ))
                })
                .collect()
        })
        .as_ref()
        .map_err(Clone::clone)?
        .get(kind.index())
        .ok_or(SlipError::Font {
            name: kind.file_name(),
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Devanagari,
    Bengali,
    /// Spaces, digits, punctuation and joiners: drawn in the script around them.
    Common,
}

fn script_of(c: char) -> Script {
    match c {
        // The danda and double danda are shared by both scripts; both fonts carry them.
        '\u{0964}' | '\u{0965}' => Script::Common,
        '\u{0900}'..='\u{097F}' | '\u{A8E0}'..='\u{A8FF}' | '\u{1CD0}'..='\u{1CFF}' => {
            Script::Devanagari
        }
        '\u{0980}'..='\u{09FF}' => Script::Bengali,
        '\u{200C}' | '\u{200D}' => Script::Common,
        c if c.is_ascii_digit() || c.is_whitespace() || c.is_ascii_punctuation() => Script::Common,
        _ => Script::Latin,
    }
}

/// Cuts `text` into runs of one script. Spaces, digits and punctuation join the run before them
/// (or the first strong run when they lead), so "नाम / Name" shapes as two runs, not five.
fn script_runs(text: &str) -> Vec<(Script, &str)> {
    let mut runs: Vec<(Script, usize, usize)> = Vec::new();
    let first_strong = text
        .chars()
        .map(script_of)
        .find(|s| *s != Script::Common)
        .unwrap_or(Script::Latin);
    let mut current = first_strong;
    for (i, c) in text.char_indices() {
        let s = match script_of(c) {
            Script::Common => current,
            strong => strong,
        };
        current = s;
        match runs.last_mut() {
            Some((rs, _, end)) if *rs == s => *end = i + c.len_utf8(),
            _ => runs.push((s, i, i + c.len_utf8())),
        }
    }
    runs.into_iter().map(|(s, a, b)| (s, &text[a..b])).collect()
}

/// Replaces every run of whitespace by one space and trims the ends, so that line breaks and tabs
/// typed into a form never reach the page as missing glyphs.
pub(crate) fn clean(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The longest field accepted, in characters: far more than any slip shows, and short enough
/// that wrapping it stays quick.
pub(crate) const MAX_FIELD_CHARS: usize = 400;

/// Checks that a (cleaned) field is not absurdly long and that every character can be drawn.
pub(crate) fn check_drawable(field: &'static str, text: &str) -> Result<(), SlipError> {
    if text.chars().count() > MAX_FIELD_CHARS {
        return Err(SlipError::FieldTooLong {
            field,
            max: MAX_FIELD_CHARS,
        });
    }
    for (script, run) in script_runs(text) {
        let face = face(FontKind::for_script(script, false))?;
        for c in run.chars() {
            if c == '\u{200C}' || c == '\u{200D}' {
                continue;
            }
            if c.is_control() || face.glyph_index(c).is_none() {
                return Err(SlipError::UnsupportedCharacter {
                    field,
                    codepoint: c as u32,
                });
            }
        }
    }
    Ok(())
}

/// One glyph placed by the shaper, in font units from the start of its run's baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PlacedGlyph {
    pub gid: u16,
    /// Pen position plus the shaper's x offset.
    pub x: i32,
    /// The shaper's y offset (marks stacked above or below).
    pub y: i32,
    /// The glyph's own advance in the font (`hmtx`), which a PDF viewer moves by after it.
    pub advance: i32,
}

/// A run of glyphs from one font, in font units: the same at every type size.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GlyphRun {
    pub font: FontKind,
    pub units_per_em: f32,
    /// The run's total advance.
    pub advance: i32,
    pub glyphs: Vec<PlacedGlyph>,
}

/// A line of text, shaped: its runs and its advance width at `size_pt`.
#[derive(Clone, PartialEq)]
pub(crate) struct ShapedLine {
    pub text: String,
    pub size_pt: f32,
    pub bold: bool,
    pub runs: Arc<[GlyphRun]>,
    pub width_pt: f32,
}

impl std::fmt::Debug for ShapedLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The text may be a patient's name.
        f.debug_struct("ShapedLine")
            .field("size_pt", &self.size_pt)
            .field("bold", &self.bold)
            .field("width_pt", &self.width_pt)
            .finish_non_exhaustive()
    }
}

type ShapeCache = HashMap<(String, bool), Arc<[GlyphRun]>>;

thread_local! {
    /// Shaped runs by (text, bold), while [`with_cache`] runs. Shaping does not depend on the
    /// type size, so a slip laid out again at a smaller scale, or a label that repeats, is shaped
    /// once.
    static CACHE: RefCell<Option<ShapeCache>> = const { RefCell::new(None) };
}

/// Runs `f` with a shaping cache, dropped when `f` returns: it holds patient names, which must
/// not outlive the slip being drawn.
pub(crate) fn with_cache<T>(f: impl FnOnce() -> T) -> T {
    struct Clear(bool);
    impl Drop for Clear {
        fn drop(&mut self) {
            if self.0 {
                CACHE.with(|c| *c.borrow_mut() = None);
            }
        }
    }
    let outermost = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = Some(HashMap::new());
            true
        } else {
            false
        }
    });
    let _clear = Clear(outermost);
    f()
}

/// Shapes one line of text at `size_pt`.
pub(crate) fn shape(text: &str, size_pt: f32, bold: bool) -> Result<ShapedLine, SlipError> {
    let key = (text.to_string(), bold);
    let cached = CACHE.with(|c| c.borrow().as_ref().and_then(|m| m.get(&key).cloned()));
    let runs = match cached {
        Some(runs) => runs,
        None => {
            let runs = shape_runs(text, bold)?;
            CACHE.with(|c| {
                if let Some(m) = c.borrow_mut().as_mut() {
                    m.insert(key, runs.clone());
                }
            });
            runs
        }
    };
    let width_pt = runs
        .iter()
        .map(|r| r.advance as f32 * size_pt / r.units_per_em)
        .sum();
    Ok(ShapedLine {
        text: text.to_string(),
        size_pt,
        bold,
        runs,
        width_pt,
    })
}

/// Shapes `text` into runs, one per script, in font units.
fn shape_runs(text: &str, bold: bool) -> Result<Arc<[GlyphRun]>, SlipError> {
    let mut runs = Vec::new();
    for (script, run_text) in script_runs(text) {
        let kind = FontKind::for_script(script, bold);
        let face = face(kind)?;
        let mut buffer = UnicodeBuffer::new();
        buffer.push_str(run_text);
        // The buffer's direction and script must be the plan's.
        buffer.set_direction(Direction::LeftToRight);
        buffer.set_script(shaper_script(kind));
        let shaped = rustybuzz::shape_with_plan(face, plan(kind)?, buffer);
        let mut glyphs = Vec::with_capacity(shaped.len());
        let mut pen: i32 = 0;
        for (info, pos) in shaped.glyph_infos().iter().zip(shaped.glyph_positions()) {
            // Glyph IDs of these fonts fit in 16 bits; anything else would be a corrupt shape.
            let gid = u16::try_from(info.glyph_id).map_err(|_| SlipError::Font {
                name: kind.file_name(),
            })?;
            let advance = face
                .glyph_hor_advance(rustybuzz::ttf_parser::GlyphId(gid))
                .map(i32::from)
                .unwrap_or(0);
            glyphs.push(PlacedGlyph {
                gid,
                x: pen + pos.x_offset,
                y: pos.y_offset,
                advance,
            });
            pen += pos.x_advance;
        }
        runs.push(GlyphRun {
            font: kind,
            units_per_em: face.units_per_em() as f32,
            advance: pen,
            glyphs,
        });
    }
    Ok(runs.into())
}

/// Breaks `text` into lines no wider than `max_pt`, at spaces, shaping each line whole.
///
/// At most `max_lines` lines come back; when the text is longer, the last line ends in "…". When
/// a single word is wider than the line, the type shrinks (down to three quarters of `size_pt`);
/// a word that still does not fit is cut between syllables, never inside one.
pub(crate) fn wrap(
    text: &str,
    size_pt: f32,
    bold: bool,
    max_pt: f32,
    max_lines: usize,
) -> Result<Vec<ShapedLine>, SlipError> {
    let words: Vec<Token> = text
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| Token {
            text: w.to_string(),
            space_before: true,
        })
        .collect();
    let lines = wrap_tokens(&words, size_pt, bold, max_pt, max_lines)?;
    let widest = lines.iter().map(|l| l.width_pt).fold(0.0f32, f32::max);
    if widest <= max_pt {
        return Ok(lines);
    }
    let smaller = (size_pt * max_pt / widest).max(size_pt * 0.75);
    let lines = wrap_tokens(&words, smaller, bold, max_pt, max_lines)?;
    if lines.iter().all(|l| l.width_pt <= max_pt) {
        return Ok(lines);
    }
    let mut pieces = Vec::new();
    for word in &words {
        if shape(&word.text, smaller, bold)?.width_pt <= max_pt {
            pieces.push(word.clone());
        } else {
            pieces.extend(cut_word(&word.text, smaller, bold, max_pt)?);
        }
    }
    wrap_tokens(&pieces, smaller, bold, max_pt, max_lines)
}

/// A piece of a line: a word, or part of a word too long for a line.
#[derive(Debug, Clone)]
struct Token {
    text: String,
    /// Joined to the previous token with a space (a word), or directly (a piece of a word).
    space_before: bool,
}

fn join(tokens: &[Token]) -> String {
    let mut s = String::new();
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 && t.space_before {
            s.push(' ');
        }
        s.push_str(&t.text);
    }
    s
}

fn wrap_tokens(
    tokens: &[Token],
    size_pt: f32,
    bold: bool,
    max_pt: f32,
    max_lines: usize,
) -> Result<Vec<ShapedLine>, SlipError> {
    // Each token is shaped once to measure it; a line's width is estimated as its tokens' widths
    // plus its spaces, and only the chosen lines are shaped whole (then checked, since kerning
    // across a space can make the whole a hair wider than the sum).
    let space = shape(" ", size_pt, bold)?.width_pt;
    let widths = tokens
        .iter()
        .map(|t| shape(&t.text, size_pt, bold).map(|l| l.width_pt))
        .collect::<Result<Vec<f32>, SlipError>>()?;
    let mut lines: Vec<ShapedLine> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if lines.len() + 1 == max_lines.max(1) {
            lines.push(last_line(&tokens[i..], size_pt, bold, max_pt)?);
            return Ok(lines);
        }
        let mut end = i + 1;
        let mut width = widths[i];
        while end < tokens.len() {
            let gap = if tokens[end].space_before { space } else { 0.0 };
            if width + gap + widths[end] > max_pt {
                break;
            }
            width += gap + widths[end];
            end += 1;
        }
        let mut line = shape(&join(&tokens[i..end]), size_pt, bold)?;
        while line.width_pt > max_pt && end > i + 1 {
            end -= 1;
            line = shape(&join(&tokens[i..end]), size_pt, bold)?;
        }
        lines.push(line);
        i = end;
    }
    Ok(lines)
}

/// The last allowed line: all the remaining tokens if they fit, otherwise as many as fit with an
/// ellipsis after them.
fn last_line(
    tokens: &[Token],
    size_pt: f32,
    bold: bool,
    max_pt: f32,
) -> Result<ShapedLine, SlipError> {
    let all = shape(&join(tokens), size_pt, bold)?;
    if all.width_pt <= max_pt {
        return Ok(all);
    }
    let mut n = tokens.len();
    while n > 1 {
        n -= 1;
        let cut = shape(&format!("{}…", join(&tokens[..n])), size_pt, bold)?;
        if cut.width_pt <= max_pt {
            return Ok(cut);
        }
    }
    shape(
        &format!("{}…", tokens.first().map(|t| t.text.as_str()).unwrap_or("")),
        size_pt,
        bold,
    )
}

/// True when a line may not break before `c`: it is a vowel sign, a virama, a nukta or another
/// mark that belongs to the syllable before it, or a joiner.
fn continues_syllable(c: char) -> bool {
    matches!(c,
        '\u{0900}'..='\u{0903}' | '\u{093A}'..='\u{094F}' | '\u{0951}'..='\u{0957}'
        | '\u{0962}'..='\u{0963}' | '\u{0981}'..='\u{0983}' | '\u{09BC}'
        | '\u{09BE}'..='\u{09D7}' | '\u{09E2}'..='\u{09E3}' | '\u{200C}' | '\u{200D}')
}

fn is_virama(c: char) -> bool {
    c == '\u{094D}' || c == '\u{09CD}'
}

/// Cuts a word too long for one line into pieces that fit, only between syllables.
fn cut_word(word: &str, size_pt: f32, bold: bool, max_pt: f32) -> Result<Vec<Token>, SlipError> {
    // Syllable-ish units: a character plus the marks that follow it; a virama glues the next
    // consonant on too (a conjunct is one unit).
    let mut units: Vec<String> = Vec::new();
    let mut glue_next = false;
    for c in word.chars() {
        match units.last_mut() {
            Some(u) if glue_next || continues_syllable(c) => u.push(c),
            _ => units.push(c.to_string()),
        }
        glue_next = is_virama(c);
    }
    let mut pieces: Vec<Token> = Vec::new();
    let mut current = String::new();
    for unit in units {
        let candidate = format!("{current}{unit}");
        if !current.is_empty() && shape(&candidate, size_pt, bold)?.width_pt > max_pt {
            pieces.push(Token {
                text: std::mem::take(&mut current),
                space_before: pieces.is_empty(),
            });
            current = unit;
        } else {
            current = candidate;
        }
    }
    if !current.is_empty() {
        pieces.push(Token {
            text: current,
            space_before: pieces.is_empty(),
        });
    }
    Ok(pieces)
}

/// Shapes `text` on one line, shrinking the type (down to `min_pt`) until it fits `max_pt`.
pub(crate) fn fit(
    text: &str,
    size_pt: f32,
    min_pt: f32,
    bold: bool,
    max_pt: f32,
) -> Result<ShapedLine, SlipError> {
    let line = shape(text, size_pt, bold)?;
    if line.width_pt <= max_pt || line.width_pt <= 0.0 {
        return Ok(line);
    }
    let size = (size_pt * max_pt / line.width_pt).max(min_pt);
    shape(text, size, bold)
}

#[cfg(test)]
mod tests;
