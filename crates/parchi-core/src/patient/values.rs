//! The free-text and number fields of a patient, each a type that parses and checks itself:
//! name, mobile, PIN code, ABHA number and address, the last four digits of Aadhaar, and the
//! other text fields. Their `Debug` prints no personal data.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{FieldError, Sex};

macro_rules! private_string {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(<redacted>)"))
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

private_string!(
    /// A person's name in Latin or an Indic script, whitespace collapsed.
    Name
);
private_string!(
    /// An Indian mobile number: 10 digits starting 6 to 9, without +91 or 0.
    Mobile
);
private_string!(
    /// A 6-digit postal PIN code.
    Pincode
);
private_string!(
    /// A 14-digit ABHA number, stored as digits; shown as `XX-XXXX-XXXX-XXXX`.
    AbhaNumber
);
private_string!(
    /// An ABHA address such as `name@abdm`, lower case.
    AbhaAddress
);
private_string!(
    /// The last four digits of an Aadhaar number: all that is ever kept.
    AadhaarLast4
);
private_string!(
    /// Free text such as a locality, district or state.
    Text
);

impl Name {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(field: &'static str, input: &str) -> Result<Self, FieldError> {
        // Typographic apostrophes (D’Souza) are the same name as the plain one.
        let collapsed = input
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace(['\u{2018}', '\u{2019}', '`'], "'");
        let err = |code, message: String| FieldError {
            field,
            code,
            message,
        };
        if collapsed.is_empty() {
            return Err(err("required", "is required".into()));
        }
        if collapsed.chars().count() > Self::MAX_CHARS {
            return Err(err(
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if let Some(bad) = collapsed.chars().find(|&c| !name_char_allowed(c)) {
            let what = if bad.is_ascii_digit() {
                "digits".to_string()
            } else {
                format!("the character U+{:04X}", bad as u32)
            };
            return Err(err(
                "bad_character",
                format!(
                    "may hold letters in Latin or an Indian script, spaces, dots, hyphens and apostrophes, not {what}"
                ),
            ));
        }
        if !collapsed.chars().any(char::is_alphabetic) {
            return Err(err("no_letters", "must contain letters".into()));
        }
        Ok(Self(collapsed))
    }

    /// The placeholder name of an unidentified patient in quick registration.
    pub fn unknown(sex: Sex) -> Self {
        Self(
            match sex {
                Sex::Male => "Unknown Male",
                Sex::Female => "Unknown Female",
                Sex::Other => "Unknown",
            }
            .into(),
        )
    }
}

/// Letters of Latin and of the Indic scripts (Devanagari to Malayalam, with their vowel signs and
/// viramas), the joiners that Indic text needs, and a few name punctuation marks.
fn name_char_allowed(c: char) -> bool {
    let cp = c as u32;
    let indic =
        (0x0900..=0x0DFF).contains(&cp) && !is_indic_digit(cp) && !matches!(cp, 0x0964 | 0x0965);
    c.is_ascii_alphabetic()
        || ((0x00C0..=0x024F).contains(&cp) && c.is_alphabetic())
        || indic
        || matches!(c, ' ' | '.' | '\'' | '-' | '\u{200C}' | '\u{200D}')
}

fn is_indic_digit(cp: u32) -> bool {
    // Each Indic block is 128 code points with its digits at offsets 0x66..=0x6F.
    (0x0900..=0x0DFF).contains(&cp) && (0x66..=0x6F).contains(&(cp & 0x7F))
}

impl Mobile {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let err = |code, message: &str| FieldError {
            field: "mobile",
            code,
            message: message.into(),
        };
        let trimmed = input.trim();
        let plus = trimmed.starts_with('+');
        let digits: String = trimmed
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+'))
            .collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(err(
                "not_digits",
                "must be digits only (spaces, hyphens and a leading +91 or 0 are allowed)",
            ));
        }
        let national =
            if (plus || digits.len() == 12) && digits.starts_with("91") && digits.len() == 12 {
                &digits[2..]
            } else if digits.len() == 11 && digits.starts_with('0') {
                &digits[1..]
            } else if plus {
                return Err(err(
                    "foreign",
                    "must be an Indian number: +91 followed by 10 digits",
                ));
            } else {
                &digits[..]
            };
        if national.len() != 10 {
            return Err(err(
                "length",
                "must be 10 digits (after removing +91 or a leading 0)",
            ));
        }
        if !matches!(national.as_bytes()[0], b'6'..=b'9') {
            return Err(err("prefix", "must start with 6, 7, 8 or 9"));
        }
        Ok(Self(national.to_owned()))
    }
}

impl Pincode {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0') {
            Ok(Self(s))
        } else {
            Err(FieldError {
                field: "pincode",
                code: "format",
                message: "must be 6 digits, not starting with 0".into(),
            })
        }
    }
}

impl AbhaNumber {
    /// Parses 14 digits, with or without the `XX-XXXX-XXXX-XXXX` hyphens. Returns the number and
    /// whether it passes a Luhn check: every real-looking sample does, but no authority says it
    /// must, so a failure is a warning for the clerk, not a refusal.
    pub fn parse(input: &str) -> Result<(Self, bool), FieldError> {
        let s: String = input.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        if s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()) {
            let luhn_ok = luhn_valid(&s);
            Ok((Self(s), luhn_ok))
        } else {
            Err(FieldError {
                field: "abha_number",
                code: "format",
                message: "must be 14 digits, written as XX-XXXX-XXXX-XXXX".into(),
            })
        }
    }
    /// `XX-XXXX-XXXX-XXXX`
    pub fn formatted(&self) -> String {
        let s = &self.0;
        format!("{}-{}-{}-{}", &s[0..2], &s[2..6], &s[6..10], &s[10..14])
    }
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

impl AbhaAddress {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim().to_lowercase();
        let err = || {
            FieldError {
            field: "abha_address",
            code: "format",
            message: "must be like name@abdm: 4 to 32 letters, digits, dots or underscores before @abdm (or @sbx), starting with a letter or digit".into(),
        }
        };
        let (local, domain) = s.split_once('@').ok_or_else(err)?;
        let local_ok = (4..=32).contains(&local.len())
            && local
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
            && local.as_bytes()[0].is_ascii_alphanumeric();
        if local_ok && matches!(domain, "abdm" | "sbx") {
            Ok(Self(s))
        } else {
            Err(err())
        }
    }
}

impl AadhaarLast4 {
    /// Accepts a full 12-digit Aadhaar (checked with Verhoeff, then all but the last four digits
    /// dropped here, before anything is stored) or just the last four digits.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s: String = input.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        let err = |code, message: &str| FieldError {
            field: "aadhaar",
            code,
            message: message.into(),
        };
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(
                "format",
                "must be the 12-digit Aadhaar number or its last 4 digits",
            ));
        }
        match s.len() {
            4 => Ok(Self(s)),
            12 => {
                if !matches!(s.as_bytes()[0], b'2'..=b'9') {
                    return Err(err(
                        "format",
                        "a 12-digit Aadhaar number starts with 2 to 9",
                    ));
                }
                if !verhoeff_valid(&s) {
                    return Err(err(
                        "check",
                        "check digit does not match: a digit is mistyped",
                    ));
                }
                Ok(Self(s[8..].to_owned()))
            }
            _ => Err(err(
                "format",
                "must be the 12-digit Aadhaar number or its last 4 digits",
            )),
        }
    }
}

fn verhoeff_valid(digits: &str) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut c = 0u8;
    for (i, b) in digits.bytes().rev().enumerate() {
        c = D[c as usize][P[i % 8][(b - b'0') as usize] as usize];
    }
    c == 0
}

impl Text {
    pub const MAX_CHARS: usize = 120;
    pub fn parse(field: &'static str, input: &str) -> Result<Option<Self>, FieldError> {
        let collapsed = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            return Ok(None);
        }
        if collapsed.chars().count() > Self::MAX_CHARS {
            return Err(FieldError {
                field,
                code: "too_long",
                message: format!("must be at most {} characters", Self::MAX_CHARS),
            });
        }
        if collapsed.chars().any(char::is_control) {
            return Err(FieldError {
                field,
                code: "bad_character",
                message: "must not contain control characters".into(),
            });
        }
        Ok(Some(Self(collapsed)))
    }
}
