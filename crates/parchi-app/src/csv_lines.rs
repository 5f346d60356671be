//! Line numbers for the rows of a CSV, as a person finds them in an editor.
//!
//! The `csv` reader ends a record at a bare CR too (old Mac exports) but counts only LFs as
//! lines, and a bad record's error may carry no position. So a row's line is the reader's, but
//! never the line of the row before it.

/// The line of each row in turn, starting after the header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowLines {
    last: u64,
}

impl RowLines {
    /// Starts after the header at `header` (the reader's position of the header row).
    pub(crate) fn after(header: Option<&csv::Position>) -> Self {
        Self {
            last: header.map_or(1, csv::Position::line),
        }
    }

    /// The line of the next row, which the reader placed at `pos`.
    pub(crate) fn next(&mut self, pos: Option<&csv::Position>) -> u64 {
        self.last = pos.map_or(0, csv::Position::line).max(self.last + 1);
        self.last
    }
}
