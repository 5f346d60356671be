//! The plain data a slip and a report are drawn from.
//!
//! These types depend on no other Parchi crate: the use-case layer fills them in (dates already
//! formatted, fees already worded), and this crate only draws them.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::SlipError;

/// The second language printed beside English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Hindi, in Devanagari.
    Hindi,
    /// Bengali, in Bengali script.
    Bengali,
}

impl Language {
    /// The name used in configuration files: `hindi` or `bengali`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Hindi => "hindi",
            Language::Bengali => "bengali",
        }
    }
}

impl FromStr for Language {
    type Err = SlipError;

    /// Accepts `hindi`/`hi` and `bengali`/`bn`/`bangla`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hindi" | "hi" => Ok(Language::Hindi),
            "bengali" | "bangla" | "bn" => Ok(Language::Bengali),
            _ => Err(SlipError::UnknownLanguage(s.to_string())),
        }
    }
}

/// Which kind of identifier the patient holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    /// A temporary ID issued by a counter while the central system is down.
    TemporaryId,
    /// The hospital's permanent Unique Health ID.
    Uhid,
}

/// The page a slip is printed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// An 80 mm thermal roll (72 mm printable); the page is as long as the content.
    Thermal80,
    /// ISO A6 portrait, 105 x 148 mm.
    A6,
    /// ISO A5 portrait, 148 x 210 mm.
    A5,
}

impl Layout {
    /// Every layout, in the order the tests and benchmarks walk them.
    pub const ALL: [Layout; 3] = [Layout::Thermal80, Layout::A6, Layout::A5];

    /// The name used in configuration files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Thermal80 => "thermal80",
            Layout::A6 => "a6",
            Layout::A5 => "a5",
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Layout {
    type Err = SlipError;

    /// Accepts `thermal80`, `a6` and `a5`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "thermal80" => Ok(Layout::Thermal80),
            "a6" => Ok(Layout::A6),
            "a5" => Ok(Layout::A5),
            _ => Err(SlipError::UnknownLayout(s.to_string())),
        }
    }
}

/// Everything printed on one OPD slip, already worded and formatted.
///
/// Its `Debug` output names no patient: it shows only the layout-relevant flags, so a slip can be
/// logged or put in an error without leaking who it belongs to.
#[derive(Clone, PartialEq, Eq)]
pub struct Slip {
    /// The hospital's name in English, e.g. "District Hospital, Gaya".
    pub hospital_name: String,
    /// The hospital's name in the second language, if it has one.
    pub hospital_name_local: Option<String>,
    /// The second language of every label.
    pub language: Language,
    /// The patient's name as registered (any of Latin, Devanagari or Bengali script).
    pub patient_name: String,
    /// Age and sex, e.g. "34Y / F".
    pub age_sex: String,
    /// Guardian relation and name, e.g. "W/o Ramesh Kumar".
    pub guardian_line: Option<String>,
    /// Whether `id_display` is a temporary ID or a UHID.
    pub id_kind: IdKind,
    /// The ID as people read it, e.g. "A-K3M7Q2-0017X".
    pub id_display: String,
    /// The canonical ID for machines, e.g. "AK3M7Q20017X": ASCII letters and digits only. This is
    /// what the Code128 barcode holds.
    pub id_code: String,
    /// The visit's UUID, e.g. "0190f3a4-6b1c-7d2e-8f00-1a2b3c4d5e6f".
    pub visit_id: String,
    /// The department in English, e.g. "Medicine".
    pub department_en: String,
    /// The department in the second language, e.g. "मेडिसिन".
    pub department_local: String,
    /// The room, e.g. "12" or "OPD Block, Room 12".
    pub room: String,
    /// The days the department runs, e.g. "Mon, Wed, Fri".
    pub days: String,
    /// The queue token, e.g. "A-017".
    pub token: String,
    /// Date and time of issue, already formatted, e.g. "28-11-2026 10:42".
    pub issued_at: String,
    /// The counter that issued the slip, e.g. "A".
    pub counter: String,
    /// The fee line, e.g. "Rs 10 paid" or "Fee waived (BPL)".
    pub fee_line: String,
    /// Until when the slip is valid, e.g. "28-11-2026".
    pub valid_till: String,
    /// One line of instructions in English.
    pub instruction_en: String,
    /// The same instructions in the second language.
    pub instruction_local: String,
    /// A reprint: the slip carries a DUPLICATE mark.
    pub duplicate: bool,
}

impl fmt::Debug for Slip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slip")
            .field("language", &self.language)
            .field("id_kind", &self.id_kind)
            .field("duplicate", &self.duplicate)
            .finish_non_exhaustive()
    }
}

/// One row of the day-end report: a counter or a department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// The counter's or department's name, e.g. "A" or "Medicine".
    pub name: String,
    /// New registrations and visits issued.
    pub registrations: u64,
    /// Visits cancelled.
    pub cancellations: u64,
    /// Fees collected, in paise (1 rupee = 100 paise), so that no rupee is lost to rounding.
    pub fees_paise: u64,
}

/// The day-end report: registrations, cancellations and fees per counter and per department.
///
/// It holds counts and names of counters and departments only, no patient data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The hospital's name in English.
    pub hospital_name: String,
    /// The hospital's name in the second language, if it has one.
    pub hospital_name_local: Option<String>,
    /// The language of the second heading.
    pub language: Language,
    /// The day reported, already formatted, e.g. "28-11-2026".
    pub date: String,
    /// When the report was made, already formatted, e.g. "28-11-2026 18:05".
    pub generated_at: String,
    /// One row per counter.
    pub counters: Vec<ReportRow>,
    /// One row per department.
    pub departments: Vec<ReportRow>,
}
