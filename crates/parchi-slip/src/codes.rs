//! The machine-readable codes on a slip: a Code128 barcode and a QR code.
//!
//! Both are drawn as filled vector rectangles, never as images, so they stay sharp at any printer
//! resolution and add almost nothing to the PDF's size.

use qrcode::{EcLevel, QrCode};

use crate::SlipError;

/// The longest canonical ID accepted; it keeps the Code128 symbol short enough for a thermal
/// roll.
pub const MAX_ID_CODE_LEN: usize = 24;

/// The QR payload's prefix and version: `PARCHI:1:`.
pub const QR_PREFIX: &str = "PARCHI:1:";

/// The text the QR code holds: `PARCHI:1:<ID_CODE>:<VISIT_ID>`.
///
/// - `PARCHI` says whose code it is, `1` is the payload format's version.
/// - `<ID_CODE>` is the canonical patient ID (temporary ID or UHID), letters and digits only.
/// - `<VISIT_ID>` is the visit's UUID in upper case. UUIDs compare case-insensitively, and upper
///   case lets the whole payload use the QR alphanumeric mode, which makes the symbol smaller and
///   its modules bigger on the same paper.
///
/// A reader splits on `:` and expects exactly four fields.
pub fn qr_payload(id_code: &str, visit_id: &str) -> String {
    format!("{QR_PREFIX}{}:{}", id_code, visit_id.to_ascii_uppercase())
}

/// Checks the canonical ID: 1 to [`MAX_ID_CODE_LEN`] ASCII letters and digits.
pub(crate) fn check_id_code(id_code: &str) -> Result<(), SlipError> {
    let bad = |reason| SlipError::InvalidIdCode {
        reason,
        max: MAX_ID_CODE_LEN,
    };
    if id_code.is_empty() {
        return Err(bad("it is empty"));
    }
    if id_code.len() > MAX_ID_CODE_LEN {
        return Err(bad("it is too long"));
    }
    if !id_code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad("it holds a character other than A-Z, a-z and 0-9"));
    }
    Ok(())
}

/// Checks the visit ID: hex digits and hyphens, 1 to 64 of them.
pub(crate) fn check_visit_id(visit_id: &str) -> Result<(), SlipError> {
    let bad = |reason| SlipError::InvalidVisitId { reason };
    if visit_id.is_empty() {
        return Err(bad("it is empty"));
    }
    if visit_id.len() > 64 {
        return Err(bad("it is longer than 64 characters"));
    }
    if !visit_id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(bad(
            "it holds a character other than hex digits and hyphens",
        ));
    }
    Ok(())
}

/// A Code128 symbol as its modules, left to right: `true` is a bar.
pub(crate) fn code128_modules(id_code: &str) -> Result<Vec<bool>, SlipError> {
    // barcoders wants the data prefixed by the character set to start in; set B covers upper and
    // lower case letters and digits.
    let code =
        barcoders::sym::code128::Code128::new(format!("\u{0181}{id_code}")).map_err(|e| {
            SlipError::Code {
                symbology: "Code128",
                detail: e.to_string(),
            }
        })?;
    Ok(code.encode().into_iter().map(|m| m == 1).collect())
}

/// A QR symbol: its width in modules and its modules row by row, `true` is dark.
pub(crate) fn qr_modules(payload: &str) -> Result<(usize, Vec<bool>), SlipError> {
    // Level M survives about 15% damage: enough for a folded or smudged slip, while keeping the
    // symbol at version 3 (29 x 29) for a typical payload.
    let code =
        QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).map_err(|e| {
            SlipError::Code {
                symbology: "QR",
                detail: e.to_string(),
            }
        })?;
    let width = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == qrcode::Color::Dark)
        .collect();
    Ok((width, dark))
}

/// Horizontal runs of `true` in `modules`, as (start, length).
pub(crate) fn runs(modules: &[bool]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &m) in modules.iter().enumerate() {
        match (m, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i - s));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, modules.len() - s));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_versioned_and_upper_case() {
        assert_eq!(
            qr_payload("AK3M7Q20017X", "0190f3a4-6b1c-7d2e-8f00-1a2b3c4d5e6f"),
            "PARCHI:1:AK3M7Q20017X:0190F3A4-6B1C-7D2E-8F00-1A2B3C4D5E6F"
        );
    }

    #[test]
    fn typical_payload_fits_a_version_3_symbol() {
        let payload = qr_payload("AK3M7Q20017X", "0190f3a4-6b1c-7d2e-8f00-1a2b3c4d5e6f");
        let (width, modules) = qr_modules(&payload).expect("qr");
        assert_eq!(width, 29);
        assert_eq!(modules.len(), 29 * 29);
    }

    #[test]
    fn code128_starts_with_a_bar_and_ends_with_the_stop_pattern() {
        let m = code128_modules("AK3M7Q20017X").expect("code128");
        // start B + 12 symbols + check, 11 modules each, then the 13-module stop pattern.
        assert_eq!(m.len(), 11 * 14 + 13);
        assert!(m[0]);
        assert!(m[m.len() - 1]);
    }

    #[test]
    fn id_code_and_visit_id_are_checked() {
        assert!(check_id_code("AK3M7Q20017X").is_ok());
        assert!(check_id_code("").is_err());
        assert!(check_id_code("A-K3").is_err());
        assert!(check_id_code(&"A".repeat(25)).is_err());
        assert!(check_visit_id("0190f3a4-6b1c-7d2e-8f00-1a2b3c4d5e6f").is_ok());
        assert!(check_visit_id("visit:1").is_err());
    }

    #[test]
    fn runs_cover_every_dark_module() {
        assert_eq!(runs(&[true, true, false, true]), vec![(0, 2), (3, 1)]);
        assert_eq!(runs(&[false, false]), vec![]);
    }
}
