//! The OPD slip's layout: what goes where on each paper size.
//!
//! All three layouts share one top-to-bottom plan, so a patient who has seen one slip can read
//! any other:
//!
//! 1. the hospital's name (English, then the local name) and "OPD SLIP" in both languages;
//! 2. on a reprint, a black DUPLICATE band;
//! 3. the token, large, in a box, with the QR code beside it;
//! 4. the patient: name, age/sex, guardian, then the ID and its Code128 barcode;
//! 5. the visit: department, room, days, date and time, counter, fee, validity;
//! 6. the instructions in both languages, and the visit ID in small type.
//!
//! The thermal roll is as long as the content. A6 and A5 have a fixed height: when long content
//! would overflow, the whole slip is laid out again in smaller type (never the codes, which must
//! stay scannable) until it fits.

use crate::SlipError;
use crate::codes;
use crate::labels::{Key, Label, label};
use crate::layout::{MM_PER_PT, Page, ascent, line_height};
use crate::model::{Layout, Slip};
use crate::text::{self, ShapedLine};

/// The measurements of one layout.
#[derive(Debug, Clone, Copy)]
struct Spec {
    width: f32,
    /// `None`: the page grows with the content (a roll).
    height: Option<f32>,
    margin: f32,
    columns: usize,
    qr_mm: f32,
    bar_module: f32,
    bar_h: f32,
    token_pt: f32,
    /// Type and spacing scale.
    scale: f32,
    /// The smallest scale a fixed-height page may shrink to before giving up.
    min_scale: f32,
}

fn spec(layout: Layout) -> Spec {
    match layout {
        Layout::Thermal80 => Spec {
            width: 80.0,
            height: None,
            margin: 4.0,
            columns: 2,
            qr_mm: 24.0,
            // Three dots of a 203 dpi thermal head: bars of whole dots print evenly.
            bar_module: 0.375,
            bar_h: 11.0,
            token_pt: 36.0,
            scale: 1.0,
            min_scale: 1.0,
        },
        Layout::A6 => Spec {
            width: 105.0,
            height: Some(148.0),
            margin: 6.0,
            columns: 2,
            qr_mm: 26.0,
            bar_module: 0.38,
            bar_h: 11.0,
            token_pt: 40.0,
            scale: 1.06,
            min_scale: 0.72,
        },
        Layout::A5 => Spec {
            width: 148.0,
            height: Some(210.0),
            margin: 10.0,
            columns: 3,
            qr_mm: 36.0,
            bar_module: 0.5,
            bar_h: 15.0,
            token_pt: 56.0,
            scale: 1.36,
            min_scale: 0.9,
        },
    }
}

/// Type sizes in points, already scaled.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    hospital: f32,
    hospital_local: f32,
    title: f32,
    banner: f32,
    label: f32,
    value: f32,
    strong: f32,
    instruction: f32,
    footer: f32,
    gap: f32,
}

impl Sizes {
    fn new(s: f32) -> Sizes {
        Sizes {
            hospital: 13.0 * s,
            hospital_local: 11.5 * s,
            title: 8.0 * s,
            banner: 11.0 * s,
            label: 6.8 * s,
            value: 10.0 * s,
            strong: 11.5 * s,
            instruction: 7.5 * s,
            footer: 6.0 * s,
            gap: 1.6 * s,
        }
    }
}

/// A field on the slip: a bilingual label above one or more values.
struct Cell {
    label: Label,
    values: Vec<Value>,
    /// Columns spanned; 0 spans the whole width.
    span: usize,
}

struct Value {
    text: String,
    size: f32,
    bold: bool,
    max_lines: usize,
}

impl Value {
    fn new(text: &str, size: f32) -> Value {
        Value {
            text: text.to_string(),
            size,
            bold: false,
            max_lines: 2,
        }
    }

    fn bold(mut self) -> Value {
        self.bold = true;
        self
    }

    fn lines(mut self, n: usize) -> Value {
        self.max_lines = n;
        self
    }
}

/// The slip's fields after cleaning (whitespace collapsed) and checking, and its codes, encoded
/// once however many times the page is laid out.
struct Fields {
    qr_payload: String,
    qr_width: usize,
    qr_modules: Vec<bool>,
    bars: Vec<bool>,
    hospital_name: String,
    hospital_name_local: Option<String>,
    patient_name: String,
    age_sex: String,
    guardian_line: Option<String>,
    id_display: String,
    department_en: String,
    department_local: String,
    room: String,
    days: String,
    token: String,
    issued_at: String,
    counter: String,
    fee_line: String,
    valid_till: String,
    instruction_en: String,
    instruction_local: String,
}

fn prepare(slip: &Slip) -> Result<Fields, SlipError> {
    codes::check_id_code(&slip.id_code)?;
    codes::check_visit_id(&slip.visit_id)?;
    let field = |name: &'static str, value: &str, required: bool| -> Result<String, SlipError> {
        let v = text::clean(value);
        if required && v.is_empty() {
            return Err(SlipError::EmptyField { field: name });
        }
        text::check_drawable(name, &v)?;
        Ok(v)
    };
    let optional =
        |name: &'static str, value: &Option<String>| -> Result<Option<String>, SlipError> {
            match value {
                Some(v) => {
                    let v = field(name, v, false)?;
                    Ok(if v.is_empty() { None } else { Some(v) })
                }
                None => Ok(None),
            }
        };
    let qr_payload = codes::qr_payload(&slip.id_code, &slip.visit_id);
    let (qr_width, qr_modules) = codes::qr_modules(&qr_payload)?;
    let bars = codes::code128_modules(&slip.id_code)?;
    Ok(Fields {
        qr_payload,
        qr_width,
        qr_modules,
        bars,
        hospital_name: field("hospital_name", &slip.hospital_name, true)?,
        hospital_name_local: optional("hospital_name_local", &slip.hospital_name_local)?,
        patient_name: field("patient_name", &slip.patient_name, true)?,
        age_sex: field("age_sex", &slip.age_sex, false)?,
        guardian_line: optional("guardian_line", &slip.guardian_line)?,
        id_display: field("id_display", &slip.id_display, true)?,
        department_en: field("department_en", &slip.department_en, true)?,
        department_local: field("department_local", &slip.department_local, false)?,
        room: field("room", &slip.room, false)?,
        days: field("days", &slip.days, false)?,
        token: field("token", &slip.token, true)?,
        issued_at: field("issued_at", &slip.issued_at, true)?,
        counter: field("counter", &slip.counter, false)?,
        fee_line: field("fee_line", &slip.fee_line, false)?,
        valid_till: field("valid_till", &slip.valid_till, false)?,
        instruction_en: field("instruction_en", &slip.instruction_en, false)?,
        instruction_local: field("instruction_local", &slip.instruction_local, false)?,
    })
}

/// Lays out `slip` on `layout`'s page.
pub(crate) fn lay_out(slip: &Slip, layout: Layout) -> Result<Page, SlipError> {
    text::with_cache(|| lay_out_cached(slip, layout))
}

fn lay_out_cached(slip: &Slip, layout: Layout) -> Result<Page, SlipError> {
    let fields = prepare(slip)?;
    let base = spec(layout);
    let mut scale = base.scale;
    let min_scale = base.min_scale;
    loop {
        let s = Spec { scale, ..base };
        let (mut page, bottom) = draw(slip, &fields, s)?;
        match s.height {
            None => {
                page.h = bottom + s.margin;
                return Ok(page);
            }
            Some(h) if bottom <= h - s.margin => return Ok(page),
            Some(h) if scale > min_scale => {
                // Everything but the token box (as tall as the QR code) and the barcode scales
                // with the type, so one measurement predicts the scale that fits; aim a little
                // under it so that rounding does not cost another pass.
                let fixed = s.qr_mm + s.bar_h;
                let scalable = (bottom - s.margin - fixed).max(1.0);
                let room = h - 2.0 * s.margin - fixed;
                let predicted = scale * room / scalable * 0.99;
                scale = predicted.min(scale * 0.97).max(min_scale);
            }
            Some(_) => {
                return Err(SlipError::DoesNotFit {
                    layout: layout.as_str(),
                });
            }
        }
    }
}

/// Draws the slip at one scale; returns the page and the bottom of its content.
fn draw(slip: &Slip, f: &Fields, s: Spec) -> Result<(Page, f32), SlipError> {
    let lang = slip.language;
    let z = Sizes::new(s.scale);
    let x0 = s.margin;
    let w = s.width - 2.0 * s.margin;
    let mut page = Page::new(s.width, s.height.unwrap_or(0.0));
    let mut y = s.margin;

    // 1. Header.
    for line in text::wrap(&f.hospital_name, z.hospital, true, w / MM_PER_PT, 3)? {
        page.text_centred(line, x0, w, y + ascent(z.hospital));
        y += line_height(z.hospital);
    }
    if let Some(local) = &f.hospital_name_local {
        for line in text::wrap(local, z.hospital_local, true, w / MM_PER_PT, 2)? {
            page.text_centred(line, x0, w, y + ascent(z.hospital_local));
            y += line_height(z.hospital_local);
        }
    }
    let title = label(Key::OpdSlip, lang).joined();
    page.text_centred(
        text::fit(&title, z.title, z.title * 0.7, true, w / MM_PER_PT)?,
        x0,
        w,
        y + ascent(z.title),
    );
    y += line_height(z.title) + 0.4 * z.gap;
    page.rule(x0, y, w, 1.0);
    y += z.gap * 1.2;

    // 2. The DUPLICATE band.
    if slip.duplicate {
        let text = label(Key::Duplicate, lang).joined();
        let line = text::fit(&text, z.banner, z.banner * 0.6, true, (w - 4.0) / MM_PER_PT)?;
        let band = line_height(z.banner) + 1.2 * z.gap;
        page.fill(x0, y, w, band);
        page.text_white(
            line.clone(),
            x0 + (w - line.width_pt * MM_PER_PT) / 2.0,
            y + 0.6 * z.gap + ascent(z.banner) * 0.98,
        );
        y += band + z.gap;
    }

    // 3. Token box and QR code.
    y = token_and_qr(&mut page, slip, f, s, &z, x0, w, y)?;

    // 4. The patient.
    let cols = s.columns;
    let mut patient = vec![Cell {
        label: label(Key::Name, lang),
        values: vec![Value::new(&f.patient_name, z.strong).bold().lines(3)],
        span: 0,
    }];
    patient.push(Cell {
        label: label(Key::AgeSex, lang),
        values: vec![Value::new(&f.age_sex, z.value)],
        span: 1,
    });
    if let Some(g) = &f.guardian_line {
        patient.push(Cell {
            label: label(Key::Guardian, lang),
            values: vec![Value::new(g, z.value).lines(3)],
            span: cols - 1,
        });
    }
    patient.push(Cell {
        label: label(Key::for_id(slip.id_kind), lang),
        values: vec![Value::new(&f.id_display, z.strong).bold().lines(1)],
        span: 0,
    });
    y = grid(&mut page, patient, cols, x0, w, y, &z)?;
    y = barcode(&mut page, slip, f, s, x0, w, y)?;
    y += z.gap * 0.8;
    page.rule(x0, y, w, 0.5);
    y += z.gap;

    // 5. The visit.
    let mut visit = vec![Cell {
        label: label(Key::Department, lang),
        values: {
            let mut v = vec![Value::new(&f.department_en, z.strong).bold().lines(3)];
            if !f.department_local.is_empty() {
                v.push(Value::new(&f.department_local, z.value).bold().lines(3));
            }
            v
        },
        span: 0,
    }];
    let room = Cell {
        label: label(Key::Room, lang),
        values: vec![Value::new(&f.room, z.value).bold()],
        span: 1,
    };
    let days = Cell {
        label: label(Key::Days, lang),
        values: vec![Value::new(&f.days, z.value)],
        span: 1,
    };
    let when = Cell {
        label: label(Key::DateTime, lang),
        values: vec![Value::new(&f.issued_at, z.value)],
        span: 1,
    };
    let counter = Cell {
        label: label(Key::Counter, lang),
        values: vec![Value::new(&f.counter, z.value)],
        span: 1,
    };
    let fee = Cell {
        label: label(Key::Fee, lang),
        values: vec![Value::new(&f.fee_line, z.value)],
        span: 1,
    };
    let valid = Cell {
        label: label(Key::ValidTill, lang),
        values: vec![Value::new(&f.valid_till, z.value)],
        span: 1,
    };
    if cols >= 3 {
        visit.extend([room, days, counter, when, fee, valid]);
    } else {
        visit.extend([room, days, when, counter, fee, valid]);
    }
    y = grid(&mut page, visit, cols, x0, w, y, &z)?;

    // 6. Instructions and the visit ID.
    if !f.instruction_en.is_empty() || !f.instruction_local.is_empty() {
        page.rule(x0, y, w, 0.5);
        y += z.gap;
        let mut values = Vec::new();
        if !f.instruction_en.is_empty() {
            values.push(Value::new(&f.instruction_en, z.instruction).lines(3));
        }
        if !f.instruction_local.is_empty() {
            values.push(Value::new(&f.instruction_local, z.instruction).lines(3));
        }
        let cell = Cell {
            label: label(Key::Instructions, lang),
            values,
            span: 0,
        };
        y = grid(&mut page, vec![cell], 1, x0, w, y, &z)?;
    }
    let visit_line = format!("{}: {}", label(Key::VisitId, lang).joined(), slip.visit_id);
    let line = text::fit(&visit_line, z.footer, z.footer * 0.7, false, w / MM_PER_PT)?;
    page.text(line, x0, y + ascent(z.footer));
    y += line_height(z.footer);
    Ok((page, y))
}

#[allow(clippy::too_many_arguments)]
fn token_and_qr(
    page: &mut Page,
    slip: &Slip,
    f: &Fields,
    s: Spec,
    z: &Sizes,
    x0: f32,
    w: f32,
    y: f32,
) -> Result<f32, SlipError> {
    let payload = f.qr_payload.clone();
    let (n, modules) = (f.qr_width, f.qr_modules.clone());
    // The QR symbol plus a 4-module quiet zone on every side fits in qr_mm.
    let module = s.qr_mm / (n as f32 + 8.0);
    let qr_x = x0 + w - s.qr_mm + 4.0 * module;
    page.elems.push(crate::layout::Elem::Qr {
        x: qr_x,
        y: y + 4.0 * module,
        module,
        payload,
        width: n,
        modules,
    });

    let box_w = w - s.qr_mm;
    let box_h = s.qr_mm;
    let box_y = y + 0.0;
    page.frame(x0, box_y, box_w, box_h, 1.4 * s.scale);
    let tlabel = label(Key::Token, slip.language).joined();
    let label_size = z.label * 1.15;
    let lline = text::fit(
        &tlabel,
        label_size,
        label_size * 0.7,
        true,
        (box_w - 3.0) / MM_PER_PT,
    )?;
    let label_top = box_y + 0.3 * z.gap;
    page.text_centred(lline, x0, box_w, label_top + ascent(label_size));
    let below_label = label_top + line_height(label_size);
    // The token's digits are about 0.72 em tall: size it to the room left, and centre it there.
    let room_h = box_y + box_h - below_label - 0.6 * z.gap;
    let max_by_height = room_h / (0.74 * MM_PER_PT);
    let size = s.token_pt.min(max_by_height);
    let token = text::fit(&f.token, size, size * 0.5, true, (box_w - 4.0) / MM_PER_PT)?;
    let cap = 0.72 * token.size_pt * MM_PER_PT;
    let baseline = below_label + (room_h - cap) / 2.0 + cap;
    page.text_centred(token, x0, box_w, baseline);
    Ok(y + box_h + z.gap * 1.2)
}

fn barcode(
    page: &mut Page,
    slip: &Slip,
    f: &Fields,
    s: Spec,
    x0: f32,
    w: f32,
    y: f32,
) -> Result<f32, SlipError> {
    let modules = f.bars.clone();
    // Code128 wants a quiet zone of ten modules on each side.
    let module = s.bar_module.min(w / (modules.len() as f32 + 20.0));
    let bw = module * modules.len() as f32;
    page.elems.push(crate::layout::Elem::Code128 {
        x: x0 + (w - bw) / 2.0,
        y,
        module,
        h: s.bar_h,
        payload: slip.id_code.clone(),
        modules,
    });
    Ok(y + s.bar_h)
}

/// Lays `cells` out in rows of `cols` columns; returns the y below the last row.
fn grid(
    page: &mut Page,
    cells: Vec<Cell>,
    cols: usize,
    x0: f32,
    w: f32,
    mut y: f32,
    z: &Sizes,
) -> Result<f32, SlipError> {
    let col_gap = 3.0 * z.gap;
    let col_w = (w - col_gap * (cols as f32 - 1.0)) / cols as f32;
    let mut used = 0usize;
    let mut row_h = 0.0f32;
    for cell in cells {
        let span = if cell.span == 0 || cell.span > cols {
            cols
        } else {
            cell.span
        };
        if used + span > cols {
            y += row_h + z.gap * 0.6;
            used = 0;
            row_h = 0.0;
        }
        let cx = x0 + used as f32 * (col_w + col_gap);
        let cw = span as f32 * col_w + (span as f32 - 1.0) * col_gap;
        let h = place_cell(page, &cell, cx, cw, y, z)?;
        row_h = row_h.max(h);
        used += span;
        if used == cols {
            y += row_h + z.gap * 0.6;
            used = 0;
            row_h = 0.0;
        }
    }
    if used > 0 {
        y += row_h + z.gap * 0.6;
    }
    Ok(y)
}

/// Draws one cell; returns its height.
fn place_cell(
    page: &mut Page,
    cell: &Cell,
    x: f32,
    w: f32,
    y: f32,
    z: &Sizes,
) -> Result<f32, SlipError> {
    let max_pt = w / MM_PER_PT;
    let mut cy = y;
    // "English / local" on one line when it fits, otherwise each on its own line.
    let joined = text::shape(&cell.label.joined(), z.label, false)?;
    let label_lines: Vec<ShapedLine> = if joined.width_pt <= max_pt {
        vec![joined]
    } else {
        vec![
            text::fit(cell.label.en, z.label, z.label * 0.75, false, max_pt)?,
            text::fit(cell.label.local, z.label, z.label * 0.75, false, max_pt)?,
        ]
    };
    for line in label_lines {
        page.text(line, x, cy + ascent(z.label));
        cy += line_height(z.label) * 0.92;
    }
    for value in &cell.values {
        if value.text.is_empty() {
            continue;
        }
        let lines = if value.max_lines == 1 {
            vec![text::fit(
                &value.text,
                value.size,
                value.size * 0.7,
                value.bold,
                max_pt,
            )?]
        } else {
            text::wrap(&value.text, value.size, value.bold, max_pt, value.max_lines)?
        };
        for line in lines {
            page.text(line, x, cy + ascent(value.size));
            cy += line_height(value.size) * 0.95;
        }
    }
    Ok(cy - y)
}
