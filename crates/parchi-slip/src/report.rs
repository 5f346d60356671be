//! The day-end report's layout: A4 portrait, English with the local heading, a table per counter
//! and a table per department, totals at the foot of each, page numbers on every page.

use crate::SlipError;
use crate::labels::{Key, label};
use crate::layout::{MM_PER_PT, Page, ascent, line_height};
use crate::model::{Language, Report, ReportRow};
use crate::text;

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 15.0;
const FOOTER: f32 = 10.0;
const ROW_PT: f32 = 9.5;
const HEAD_PT: f32 = 8.5;

/// Right edges of the three number columns, from the left margin, and the name column's width.
const NAME_W: f32 = 78.0;
const COL_RIGHT: [f32; 3] = [108.0, 138.0, 180.0];

/// Rupees from paise with Indian digit grouping: 12345650 paise is "Rs 1,23,456.50".
pub(crate) fn format_inr(paise: u64) -> String {
    let rupees = (paise / 100).to_string();
    let p = paise % 100;
    let grouped = if rupees.len() <= 3 {
        rupees
    } else {
        let (head, last3) = rupees.split_at(rupees.len() - 3);
        let mut groups: Vec<&str> = Vec::new();
        let mut rest = head;
        while rest.len() > 2 {
            let (a, b) = rest.split_at(rest.len() - 2);
            groups.push(b);
            rest = a;
        }
        if !rest.is_empty() {
            groups.push(rest);
        }
        groups.reverse();
        format!("{},{}", groups.join(","), last3)
    };
    format!("Rs {grouped}.{p:02}")
}

struct Cursor {
    pages: Vec<Page>,
    y: f32,
}

impl Cursor {
    fn page(&mut self) -> &mut Page {
        // A cursor always holds at least one page: `lay_out` starts it with one.
        let last = self.pages.len().saturating_sub(1);
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Page::new(PAGE_W, PAGE_H));
        self.y = MARGIN;
    }

    fn room_for(&self, h: f32) -> bool {
        self.y + h <= PAGE_H - MARGIN - FOOTER
    }
}

/// Lays the report out on as many A4 pages as it needs.
pub(crate) fn lay_out(report: &Report) -> Result<Vec<Page>, SlipError> {
    text::with_cache(|| lay_out_cached(report))
}

fn lay_out_cached(report: &Report) -> Result<Vec<Page>, SlipError> {
    let lang = report.language;
    let hospital = text::clean(&report.hospital_name);
    text::check_drawable("hospital_name", &hospital)?;
    let local = report
        .hospital_name_local
        .as_deref()
        .map(text::clean)
        .filter(|s| !s.is_empty());
    if let Some(l) = &local {
        text::check_drawable("hospital_name_local", l)?;
    }
    let date = text::clean(&report.date);
    text::check_drawable("date", &date)?;
    let generated = text::clean(&report.generated_at);
    text::check_drawable("generated_at", &generated)?;
    for row in report.counters.iter().chain(&report.departments) {
        text::check_drawable("name", &text::clean(&row.name))?;
    }

    let w = PAGE_W - 2.0 * MARGIN;
    let mut c = Cursor {
        pages: vec![Page::new(PAGE_W, PAGE_H)],
        y: MARGIN,
    };

    // Heading.
    for line in text::wrap(&hospital, 16.0, true, w / MM_PER_PT, 2)? {
        let y = c.y;
        c.page().text_centred(line, MARGIN, w, y + ascent(16.0));
        c.y += line_height(16.0);
    }
    if let Some(l) = &local {
        let line = text::fit(l, 13.0, 9.0, true, w / MM_PER_PT)?;
        let y = c.y;
        c.page().text_centred(line, MARGIN, w, y + ascent(13.0));
        c.y += line_height(13.0);
    }
    let title = label(Key::DayEndReport, lang).joined();
    let y = c.y;
    c.page().text_centred(
        text::shape(&title, 13.0, true)?,
        MARGIN,
        w,
        y + ascent(13.0),
    );
    c.y += line_height(13.0);
    let when = format!(
        "{}: {}      {}: {}",
        label(Key::Date, lang).joined(),
        date,
        label(Key::Generated, lang).joined(),
        generated
    );
    let y = c.y;
    c.page().text_centred(
        text::fit(&when, 9.0, 7.0, false, w / MM_PER_PT)?,
        MARGIN,
        w,
        y + ascent(9.0),
    );
    c.y += line_height(9.0) + 2.0;
    let y = c.y;
    c.page().rule(MARGIN, y, w, 1.0);
    c.y += 5.0;

    table(
        &mut c,
        lang,
        Key::PerCounter,
        Key::Counter,
        &report.counters,
    )?;
    c.y += 6.0;
    table(
        &mut c,
        lang,
        Key::PerDepartment,
        Key::Department,
        &report.departments,
    )?;

    // Footers, now that the page count is known.
    let n = c.pages.len();
    let page_word = label(Key::Page, lang).joined();
    let left = format!("Parchi · {} · {}", label(Key::DayEndReport, lang).en, date);
    for (i, page) in c.pages.iter_mut().enumerate() {
        let base = PAGE_H - MARGIN;
        page.rule(MARGIN, base - 5.5, w, 0.5);
        page.text(text::shape(&left, 8.0, false)?, MARGIN, base);
        let right = format!("{page_word} {} / {n}", i + 1);
        page.text_right(text::shape(&right, 8.0, false)?, MARGIN + w, base);
    }
    Ok(c.pages)
}

fn table(
    c: &mut Cursor,
    lang: Language,
    title: Key,
    name_col: Key,
    rows: &[ReportRow],
) -> Result<(), SlipError> {
    let row_h = line_height(ROW_PT) + 0.6;
    let head_h = 2.0 * line_height(HEAD_PT) + 2.0;
    let title_h = line_height(11.0) + 1.0;
    // Keep the title, the header and at least one row together.
    if !c.room_for(title_h + head_h + row_h) {
        c.new_page();
    }
    section_title(c, lang, title, false)?;
    header(c, lang, name_col)?;

    let mut total = ReportRow {
        name: String::new(),
        registrations: 0,
        cancellations: 0,
        fees_paise: 0,
    };
    for row in rows {
        if !c.room_for(row_h * 2.0) {
            c.new_page();
            section_title(c, lang, title, true)?;
            header(c, lang, name_col)?;
        }
        table_row(c, &text::clean(&row.name), row, false)?;
        total.registrations = total.registrations.saturating_add(row.registrations);
        total.cancellations = total.cancellations.saturating_add(row.cancellations);
        total.fees_paise = total.fees_paise.saturating_add(row.fees_paise);
    }
    let y = c.y;
    c.page().rule(MARGIN, y, PAGE_W - 2.0 * MARGIN, 0.8);
    c.y += 0.8;
    table_row(c, &label(Key::Total, lang).joined(), &total, true)?;
    Ok(())
}

fn section_title(
    c: &mut Cursor,
    lang: Language,
    title: Key,
    continued: bool,
) -> Result<(), SlipError> {
    let mut t = label(title, lang).joined();
    if continued {
        t.push_str(" (continued)");
    }
    let y = c.y;
    c.page()
        .text(text::shape(&t, 11.0, true)?, MARGIN, y + ascent(11.0));
    c.y += line_height(11.0) + 1.0;
    Ok(())
}

fn header(c: &mut Cursor, lang: Language, name_col: Key) -> Result<(), SlipError> {
    let keys = [
        name_col,
        Key::Registrations,
        Key::Cancellations,
        Key::FeesCollected,
    ];
    let y = c.y;
    for (i, key) in keys.iter().enumerate() {
        let l = label(*key, lang);
        let en = text::shape(l.en, HEAD_PT, true)?;
        let local = text::shape(l.local, HEAD_PT, false)?;
        let b1 = y + ascent(HEAD_PT);
        let b2 = b1 + line_height(HEAD_PT);
        let page = c.page();
        if i == 0 {
            page.text(en, MARGIN, b1);
            page.text(local, MARGIN, b2);
        } else {
            let right = MARGIN + COL_RIGHT[i - 1];
            page.text_right(en, right, b1);
            page.text_right(local, right, b2);
        }
    }
    c.y += 2.0 * line_height(HEAD_PT) + 1.0;
    let y = c.y;
    c.page().rule(MARGIN, y, PAGE_W - 2.0 * MARGIN, 0.8);
    c.y += 1.0;
    Ok(())
}

fn table_row(c: &mut Cursor, name: &str, row: &ReportRow, bold: bool) -> Result<(), SlipError> {
    let baseline = c.y + ascent(ROW_PT);
    let name_line = text::fit(name, ROW_PT, ROW_PT * 0.7, bold, NAME_W / MM_PER_PT)?;
    let cells = [
        row.registrations.to_string(),
        row.cancellations.to_string(),
        format_inr(row.fees_paise),
    ];
    let mut lines = Vec::with_capacity(3);
    for cell in &cells {
        lines.push(text::shape(cell, ROW_PT, bold)?);
    }
    let page = c.page();
    page.text(name_line, MARGIN, baseline);
    for (i, line) in lines.into_iter().enumerate() {
        page.text_right(line, MARGIN + COL_RIGHT[i], baseline);
    }
    c.y += line_height(ROW_PT) + 0.6;
    if !bold {
        let y = c.y - 0.5;
        c.page().rule(MARGIN, y, PAGE_W - 2.0 * MARGIN, 0.25);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rupees_use_indian_grouping() {
        assert_eq!(format_inr(0), "Rs 0.00");
        assert_eq!(format_inr(1000), "Rs 10.00");
        assert_eq!(format_inr(99_999), "Rs 999.99");
        assert_eq!(format_inr(100_000), "Rs 1,000.00");
        assert_eq!(format_inr(12_345_650), "Rs 1,23,456.50");
        assert_eq!(format_inr(1_234_567_800), "Rs 1,23,45,678.00");
    }
}
