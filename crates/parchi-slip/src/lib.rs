//! `parchi-slip` owns Parchi's paper: the OPD slip a patient carries from the counter to the
//! doctor's room, the day-end report, and handing either to a printer.
//!
//! # What it owns
//! - **Slips** ([`render`], [`layout_data`]): one PDF page on an 80 mm thermal roll, A6 or A5,
//!   from a plain [`Slip`]: English plus Hindi or Bengali labels, the token in large type, the
//!   patient's ID as a Code128 barcode and a QR code ([`qr_payload`] documents what the QR holds),
//!   and a DUPLICATE band on reprints.
//! - **The day-end report** ([`render_report`]): A4 tables per counter and per department.
//! - **Printing** ([`print()`]): through CUPS's `lp`, after asking `lpstat` whether the printer
//!   exists and is ready, with a typed [`PrintError`] that tells the clerk what to do.
//!
//! # Why it is shaped so
//! - It depends on no other Parchi crate. Its input is plain, already-formatted data ([`Slip`],
//!   [`Report`]): dates, fees and names are worded by the use-case layer, so this crate has no
//!   opinion on clocks, locales or the store, and the slip can be drawn and tested on its own.
//! - Indic text is shaped with rustybuzz and placed glyph by glyph (printpdf alone would show
//!   visible halants and misplaced vowel signs); every line carries an `/ActualText`, so
//!   `pdftotext` reads back exactly the string that was printed.
//! - The fonts (Noto Sans, Noto Sans Devanagari, Noto Sans Bengali; OFL, see `fonts/OFL.txt`) are
//!   compiled in, so a slip looks the same on every counter whatever fonts the PC has, and subset
//!   into each PDF, so a slip stays a few tens of kilobytes.
//! - Codes are vector rectangles, sharp at any printer resolution.
//! - [`layout_data`] exposes where everything sits, so tests snapshot the layout rather than PDF
//!   bytes.
//! - Patient data never reaches a log, a panic or `Debug` output: [`Slip`]'s and
//!   [`LayoutData`]'s `Debug` leave it out, errors name fields not values, and the PDF's title
//!   and the print job's title are fixed words.

mod codes;
mod error;
mod labels;
mod layout;
mod model;
mod pdf;
mod print;
mod report;
mod sheet;
mod slip;
mod svg;
mod text;

pub use codes::{MAX_ID_CODE_LEN, QR_PREFIX, qr_payload};
pub use error::SlipError;
pub use labels::{LabelText, labels};
pub use layout::{LayoutData, LayoutItem};
pub use model::{IdKind, Language, Layout, Report, ReportRow, Slip};
pub use pdf::warm_up;
pub use print::{PrintError, PrintJob, PrintOptions, print, print_bytes, print_with};
pub use sheet::{RecoverySheet, SHEET_TITLE};

/// The PDF title of every slip: fixed words, never the patient's name.
pub const SLIP_TITLE: &str = "OPD slip";
/// The PDF title of every day-end report.
pub const REPORT_TITLE: &str = "Day-end report";

/// Renders `slip` as a one-page PDF on `layout`.
///
/// # Errors
/// A [`SlipError`] when a required field is empty, a field holds a character outside Latin,
/// Devanagari and Bengali, the ID code or visit ID is malformed, or (A6 and A5 only) the content
/// cannot fit the page even in the smallest type.
pub fn render(slip: &Slip, layout: Layout) -> Result<Vec<u8>, SlipError> {
    let page = slip::lay_out(slip, layout)?;
    pdf::render(std::slice::from_ref(&page), SLIP_TITLE)
}

/// Renders `slip` on `layout` as an SVG document, for a screen: the page [`render`] prints,
/// from the same layout (same positions and sizes, the same shaped glyphs drawn as outlines,
/// the same code rectangles), with each line's text also present as invisible `<text>`.
///
/// # Errors
/// As [`render`].
pub fn render_svg(slip: &Slip, layout: Layout) -> Result<String, SlipError> {
    let page = slip::lay_out(slip, layout)?;
    svg::render(&page)
}

/// Where everything on `slip`'s page sits on `layout`, without making a PDF: the same layout
/// [`render`] draws.
///
/// # Errors
/// As [`render`].
pub fn layout_data(slip: &Slip, layout: Layout) -> Result<LayoutData, SlipError> {
    Ok(slip::lay_out(slip, layout)?.data(Some(layout)))
}

/// Renders the day-end report as an A4 PDF, one page or more.
///
/// # Errors
/// A [`SlipError`] when a name in the report holds a character the fonts cannot draw.
pub fn render_report(report: &Report) -> Result<Vec<u8>, SlipError> {
    let pages = report::lay_out(report)?;
    pdf::render(&pages, REPORT_TITLE)
}

/// Where everything on each page of the day-end report sits.
///
/// # Errors
/// As [`render_report`].
pub fn report_layout_data(report: &Report) -> Result<Vec<LayoutData>, SlipError> {
    Ok(report::lay_out(report)?
        .iter()
        .map(|p| p.data(None))
        .collect())
}

/// Renders an installation's recovery sheet (the key as text and as a QR code) as a one-page
/// A4 PDF, for the admin's safe.
///
/// # Errors
/// A [`SlipError`] when the key is empty or a field holds a character the fonts cannot draw.
pub fn render_recovery_sheet(sheet: &RecoverySheet) -> Result<Vec<u8>, SlipError> {
    let page = sheet::lay_out(sheet)?;
    pdf::render(std::slice::from_ref(&page), SHEET_TITLE)
}
