//! The printed labels, in English and in each second language.
//!
//! The translations are written for patients at a hospital counter: plain words that a person
//! reading Hindi or Bengali recognises from other hospital forms, not literal calques.

use crate::model::{IdKind, Language};

/// A label in English and in the second language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Label {
    pub en: &'static str,
    pub local: &'static str,
}

/// Every label a slip or a report prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    OpdSlip,
    Token,
    Name,
    AgeSex,
    Guardian,
    TemporaryId,
    Uhid,
    Department,
    Room,
    Days,
    DateTime,
    Counter,
    Fee,
    ValidTill,
    Instructions,
    Duplicate,
    VisitId,
    DayEndReport,
    Date,
    PerCounter,
    PerDepartment,
    Registrations,
    Cancellations,
    FeesCollected,
    Total,
    Page,
    Generated,
}

impl Key {
    pub(crate) const ALL: [Key; 27] = [
        Key::OpdSlip,
        Key::Token,
        Key::Name,
        Key::AgeSex,
        Key::Guardian,
        Key::TemporaryId,
        Key::Uhid,
        Key::Department,
        Key::Room,
        Key::Days,
        Key::DateTime,
        Key::Counter,
        Key::Fee,
        Key::ValidTill,
        Key::Instructions,
        Key::Duplicate,
        Key::VisitId,
        Key::DayEndReport,
        Key::Date,
        Key::PerCounter,
        Key::PerDepartment,
        Key::Registrations,
        Key::Cancellations,
        Key::FeesCollected,
        Key::Total,
        Key::Page,
        Key::Generated,
    ];

    /// The key's name for other programs, in snake case (`DayEndReport` is `day_end_report`).
    pub(crate) fn name(self) -> String {
        let mut out = String::new();
        for (i, c) in format!("{self:?}").chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    /// The label for an identifier of this kind.
    pub(crate) fn for_id(kind: IdKind) -> Key {
        match kind {
            IdKind::TemporaryId => Key::TemporaryId,
            IdKind::Uhid => Key::Uhid,
        }
    }
}

/// The label for `key`, with its second-language form in `lang`.
pub(crate) fn label(key: Key, lang: Language) -> Label {
    let (en, hi, bn) = match key {
        Key::OpdSlip => ("OPD SLIP", "ओपीडी पर्ची", "বহির্বিভাগ টিকিট"),
        Key::Token => ("TOKEN", "टोकन", "টোকেন"),
        Key::Name => ("Name", "नाम", "নাম"),
        Key::AgeSex => ("Age / Sex", "आयु / लिंग", "বয়স / লিঙ্গ"),
        Key::Guardian => ("Guardian", "अभिभावक", "অভিভাবক"),
        Key::TemporaryId => ("Temporary ID", "अस्थायी आईडी", "অস্থায়ী আইডি"),
        Key::Uhid => ("UHID", "यूएचआईडी", "ইউএইচআইডি"),
        Key::Department => ("Department", "विभाग", "বিভাগ"),
        Key::Room => ("Room", "कमरा", "কক্ষ"),
        Key::Days => ("Days", "दिन", "বার"),
        Key::DateTime => ("Date & time", "दिनांक व समय", "তারিখ ও সময়"),
        Key::Counter => ("Counter", "काउंटर", "কাউন্টার"),
        Key::Fee => ("Fee", "शुल्क", "ফি"),
        Key::ValidTill => ("Valid till", "मान्य तिथि तक", "বৈধ পর্যন্ত"),
        Key::Instructions => ("Instructions", "निर्देश", "নির্দেশ"),
        // The word clerks, doctors and patients already read on reissued papers (duplicate
        // tickets, receipts, cards), not प्रतिलिपि / প্রতিলিপি ("copy"), which on official
        // papers marks a copy sent for information, not a second issue of the original.
        Key::Duplicate => ("DUPLICATE", "डुप्लीकेट", "ডুপ্লিকেট"),
        Key::VisitId => ("Visit ID", "विज़िट आईडी", "ভিজিট আইডি"),
        Key::DayEndReport => ("Day-end report", "दैनिक रिपोर्ट", "দৈনিক প্রতিবেদন"),
        Key::Date => ("Date", "दिनांक", "তারিখ"),
        Key::PerCounter => ("Per counter", "काउंटर अनुसार", "কাউন্টার অনুযায়ী"),
        Key::PerDepartment => ("Per department", "विभाग अनुसार", "বিভাগ অনুযায়ী"),
        Key::Registrations => ("Registrations", "पंजीकरण", "নিবন্ধন"),
        Key::Cancellations => ("Cancellations", "रद्द", "বাতিল"),
        Key::FeesCollected => ("Fees collected", "शुल्क संग्रह", "সংগৃহীত ফি"),
        Key::Total => ("Total", "कुल", "মোট"),
        Key::Page => ("Page", "पृष्ठ", "পৃষ্ঠা"),
        Key::Generated => ("Generated", "तैयार", "প্রস্তুত"),
    };
    Label {
        en,
        local: match lang {
            Language::Hindi => hi,
            Language::Bengali => bn,
        },
    }
}

/// One printed label in English and in each second language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LabelText {
    pub en: &'static str,
    pub hi: &'static str,
    pub bn: &'static str,
}

/// Every label slips and reports print, by name (`duplicate`, `opd_slip`, ...): the one table of
/// these words. The desktop app's screens take the ones they show from it
/// (`ui/src/generated/slip-labels.json`, generated from this), so the screen and the paper
/// cannot name a thing differently.
pub fn labels() -> std::collections::BTreeMap<String, LabelText> {
    Key::ALL
        .into_iter()
        .map(|key| {
            let text = LabelText {
                en: label(key, Language::Hindi).en,
                hi: label(key, Language::Hindi).local,
                bn: label(key, Language::Bengali).local,
            };
            (key.name(), text)
        })
        .collect()
}

impl Label {
    /// "English / local", the form used where a label sits on one line.
    pub(crate) fn joined(self) -> String {
        format!("{} / {}", self.en, self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [Key; 27] = Key::ALL;

    #[test]
    fn names_are_snake_case_and_unique() {
        let table = labels();
        assert_eq!(table.len(), KEYS.len());
        assert_eq!(table["day_end_report"].en, "Day-end report");
        assert_eq!(table["duplicate"].hi, "डुप्लीकेट");
        assert!(
            table
                .keys()
                .all(|k| k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
    }

    #[test]
    fn every_hindi_label_is_devanagari_and_every_bengali_label_is_bengali() {
        for key in KEYS {
            let hi = label(key, Language::Hindi).local;
            let bn = label(key, Language::Bengali).local;
            assert!(
                hi.chars().any(|c| ('\u{0900}'..='\u{097F}').contains(&c)),
                "{key:?} Hindi label has no Devanagari"
            );
            assert!(
                bn.chars().any(|c| ('\u{0980}'..='\u{09FF}').contains(&c)),
                "{key:?} Bengali label has no Bengali"
            );
            assert!(
                !hi.chars().any(|c| ('\u{0980}'..='\u{09FF}').contains(&c)),
                "{key:?} Hindi label mixes in Bengali"
            );
            assert!(
                !bn.chars().any(|c| ('\u{0900}'..='\u{097F}').contains(&c)),
                "{key:?} Bengali label mixes in Devanagari"
            );
        }
    }
}
