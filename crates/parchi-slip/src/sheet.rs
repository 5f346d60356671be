//! The recovery sheet: one A4 page with an installation's recovery key as text and as a QR
//! code, for the admin's safe. Rendered only when asked (`parchi init --recovery-pdf FILE`).

use crate::error::SlipError;
use crate::layout::{Elem, MM_PER_PT, Page, ascent, line_height};
use crate::{codes, text};

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 20.0;

/// What the sheet shows. `Debug` leaves the key out.
#[derive(Clone)]
pub struct RecoverySheet {
    pub hospital_name: String,
    /// Which installation, e.g. "Counter A, site 7KQ2".
    pub installation: String,
    /// The data key's public fingerprint (matches `parchi key status`).
    pub key_id: String,
    /// When the key was made, as the admin reads it.
    pub created: String,
    /// The recovery key in its text form (13 groups of 4).
    pub recovery_key: String,
}

impl std::fmt::Debug for RecoverySheet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoverySheet")
            .field("installation", &self.installation)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The PDF title of a recovery sheet.
pub const SHEET_TITLE: &str = "Parchi recovery key";

const LINES: &[&str] = &[
    "Keep this sheet locked away, apart from the computer. With it and a copy of the data",
    "directory, anyone can read every patient record of this installation.",
    "To open the data on a new or repaired machine: copy the data directory there, run",
    "parchi unlock --recovery and type the key below (or scan the code).",
    "After `parchi key rotate` this sheet no longer opens anything: destroy it.",
];

pub(crate) fn lay_out(s: &RecoverySheet) -> Result<Page, SlipError> {
    text::with_cache(|| lay_out_cached(s))
}

fn lay_out_cached(s: &RecoverySheet) -> Result<Page, SlipError> {
    let key = text::clean(&s.recovery_key);
    if key.is_empty() {
        return Err(SlipError::EmptyField {
            field: "recovery_key",
        });
    }
    let fields = [
        ("hospital_name", text::clean(&s.hospital_name)),
        ("installation", text::clean(&s.installation)),
        ("key_id", text::clean(&s.key_id)),
        ("created", text::clean(&s.created)),
        ("recovery_key", key.clone()),
    ];
    for (name, v) in &fields {
        text::check_drawable(name, v)?;
    }
    let w = PAGE_W - 2.0 * MARGIN;
    let mut page = Page::new(PAGE_W, PAGE_H);
    let mut y = MARGIN;
    let centred =
        |page: &mut Page, t: &str, size: f32, bold: bool, y: &mut f32| -> Result<(), SlipError> {
            for line in text::wrap(t, size, bold, w / MM_PER_PT, 3)? {
                page.text_centred(line, MARGIN, w, *y + ascent(size));
                *y += line_height(size);
            }
            Ok(())
        };
    centred(&mut page, SHEET_TITLE, 20.0, true, &mut y)?;
    centred(&mut page, &fields[0].1, 14.0, false, &mut y)?;
    centred(&mut page, &fields[1].1, 11.0, false, &mut y)?;
    centred(
        &mut page,
        &format!("Key {}   Made {}", fields[2].1, fields[3].1),
        9.0,
        false,
        &mut y,
    )?;
    y += 6.0;
    page.rule(MARGIN, y, w, 1.0);
    y += 10.0;
    // The key in two lines of groups, large enough to type from.
    let groups: Vec<&str> = key.split('-').collect();
    let half = groups.len().div_ceil(2);
    for part in [&groups[..half], &groups[half..]] {
        if !part.is_empty() {
            centred(&mut page, &part.join("  "), 18.0, true, &mut y)?;
            y += 2.0;
        }
    }
    y += 8.0;
    let (n, modules) = codes::qr_modules(&key)?;
    let qr_mm = 60.0;
    let module = qr_mm / (n as f32 + 8.0);
    page.elems.push(Elem::Qr {
        x: MARGIN + (w - qr_mm) / 2.0 + 4.0 * module,
        y: y + 4.0 * module,
        module,
        payload: key.clone(),
        width: n,
        modules,
    });
    y += qr_mm + 10.0;
    for l in LINES {
        for line in text::wrap(l, 10.0, false, w / MM_PER_PT, 2)? {
            page.text(line, MARGIN, y + ascent(10.0));
            y += line_height(10.0);
        }
    }
    Ok(page)
}
