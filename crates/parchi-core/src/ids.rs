//! Identifiers: machine IDs (UUIDv7) for records and operations, and the human ones clerks key in.
//!
//! Record identifiers are UUIDv7 built from the wall time and random bytes the caller passes in, so
//! two counters can mint them offline without meeting. Human identifiers (temporary IDs, tokens) are
//! short and carry their issuer, so they cannot collide either; see [`TempId`] and [`Token`].

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::code;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} must be {allowed}")]
    Format {
        what: &'static str,
        allowed: &'static str,
    },
    #[error(
        "temporary ID check character does not match: a character is mistyped or two are swapped"
    )]
    Check,
    #[error("{what} sequence for the day is exhausted (at most {max})")]
    Exhausted { what: &'static str, max: u64 },
    #[error("not a valid identifier: {0}")]
    Uuid(String),
}

macro_rules! uuid_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A UUIDv7 from wall time in Unix milliseconds and 10 random bytes.
            pub fn new_v7(unix_ms: u64, random: [u8; 10]) -> Self {
                Self(uuid::Builder::from_unix_timestamp_millis(unix_ms, &random).into_uuid())
            }
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
            pub fn from_bytes(b: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(b))
            }
            pub fn from_slice(b: &[u8]) -> Result<Self, IdError> {
                Uuid::from_slice(b).map(Self).map_err(|e| IdError::Uuid(e.to_string()))
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| IdError::Format {
                    what: stringify!($name),
                    allowed: "a UUID such as 0193a5c2-7f4e-7b1a-9c3d-2e5f6a7b8c9d",
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }
    };
}

uuid_id!(
    /// A patient record.
    PatientId
);
uuid_id!(
    /// A visit (one registration at a counter, with its token).
    VisitId
);
uuid_id!(
    /// One operation in the sync log.
    OpId
);
uuid_id!(
    /// One published hospital configuration (see `OpBody::PublishConfig`).
    ConfigId
);
uuid_id!(
    /// One installation of Parchi (a counter's database, or a hub). Random, minted at `init`; a
    /// reinstall gets a new one, so nothing it numbers can repeat its predecessor's numbers.
    SiteId
);

fn short_code(
    s: &str,
    what: &'static str,
    allowed: &'static str,
    max: usize,
) -> Result<String, IdError> {
    let s = s.trim().to_ascii_uppercase();
    let ok = !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(s)
    } else {
        Err(IdError::Format { what, allowed })
    }
}

/// A registration counter's code, such as `A` or `C2`. It is printed in every token and temporary
/// ID the counter issues, which is why it must come from the keyable alphabet.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Debug)]
#[serde(try_from = "String", into = "String")]
pub struct CounterCode(String);

impl CounterCode {
    pub const ALLOWED: &'static str =
        "1 to 3 characters from 0-9 and A-Z except I, L, O, S and U (e.g. A, B2, C12)";
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = short_code(s, "counter code", Self::ALLOWED, 3)?;
        if s.bytes().all(|b| code::ALPHABET.contains(&b)) {
            Ok(Self(s))
        } else {
            Err(IdError::Format {
                what: "counter code",
                allowed: Self::ALLOWED,
            })
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CounterCode {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}
impl From<CounterCode> for String {
    fn from(c: CounterCode) -> String {
        c.0
    }
}
impl fmt::Display for CounterCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A department (clinic) code such as `MED` or `ENT`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Debug)]
#[serde(try_from = "String", into = "String")]
pub struct DeptCode(String);

impl DeptCode {
    pub const ALLOWED: &'static str = "2 to 8 letters or digits (e.g. MED, ENT, OBG)";
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = short_code(s, "department code", Self::ALLOWED, 8)?;
        if s.len() >= 2 {
            Ok(Self(s))
        } else {
            Err(IdError::Format {
                what: "department code",
                allowed: Self::ALLOWED,
            })
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for DeptCode {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}
impl From<DeptCode> for String {
    fn from(c: DeptCode) -> String {
        c.0
    }
}
impl fmt::Display for DeptCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Three keyable symbols drawn at random when an installation is initialised. Every temporary ID
/// the installation issues carries it, so a reinstalled counter (same counter code, same day,
/// sequence starting again) still issues IDs its predecessor never printed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Debug)]
#[serde(try_from = "String", into = "String")]
pub struct SiteTag([u8; 3]);

impl SiteTag {
    /// Builds a tag from random bytes (uniform enough for 29,791 values).
    pub fn from_random(random: [u8; 4]) -> Self {
        let v = u32::from_le_bytes(random) as u64 % code::capacity(3);
        let s = code::encode_fixed(v, 3).unwrap_or_else(|| "000".into());
        let b = s.as_bytes();
        Self([b[0], b[1], b[2]])
    }
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let n: Vec<u8> = s.trim().bytes().map(code::normalise_char).collect();
        if n.len() == 3 && n.iter().all(|b| code::ALPHABET.contains(b)) {
            Ok(Self([n[0], n[1], n[2]]))
        } else {
            Err(IdError::Format {
                what: "site tag",
                allowed: "3 symbols from 0-9 and A-Z except I, L, O, S, U",
            })
        }
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("000")
    }
}
impl TryFrom<String> for SiteTag {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}
impl From<SiteTag> for String {
    fn from(t: SiteTag) -> String {
        t.as_str().to_owned()
    }
}

/// The first day temporary IDs count from.
pub fn id_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or(NaiveDate::MIN)
}

const TEMP_DAY_WIDTH: usize = 3;
const TEMP_SITE_WIDTH: usize = 3;
const TEMP_SEQ_WIDTH: usize = 4;
/// Characters after the counter code: day, site tag, sequence and check.
const TEMP_TAIL: usize = TEMP_DAY_WIDTH + TEMP_SITE_WIDTH + TEMP_SEQ_WIDTH + 1;

/// A temporary patient ID, issued offline by a counter:
/// counter code, day, site tag, sequence and a check character.
///
/// Shown as `A-K3M7Q2-0017X` (at most 16 characters); keyed in with or without the hyphens, in any
/// case, with O/0 and I/L/1 confusions forgiven. The check character catches every single mistyped
/// character and every swap of two neighbours.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TempId(String);

impl TempId {
    pub const MAX_SEQ: u64 = 923_521 - 1;

    /// Mints the ID for `seq` (starting at 1) issued by `counter`/`site` on `day`.
    pub fn issue(
        counter: &CounterCode,
        site: SiteTag,
        day: NaiveDate,
        seq: u64,
    ) -> Result<Self, IdError> {
        let day_no = (day - id_epoch()).num_days();
        let day_no = u64::try_from(day_no).map_err(|_| IdError::Format {
            what: "registration date",
            allowed: "on or after 2020-01-01",
        })?;
        let day_s = code::encode_fixed(day_no, TEMP_DAY_WIDTH).ok_or(IdError::Format {
            what: "registration date",
            allowed: "before 2101",
        })?;
        let seq_s = code::encode_fixed(seq, TEMP_SEQ_WIDTH).ok_or(IdError::Exhausted {
            what: "temporary ID",
            max: Self::MAX_SEQ,
        })?;
        let mut s = format!("{}{}{}{}", counter.as_str(), day_s, site.as_str(), seq_s);
        let check = code::check_symbol(s.as_bytes()).ok_or(IdError::Check)?;
        s.push(check);
        Ok(Self(s))
    }

    /// Parses what a clerk typed or a scanner read.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let s: Vec<u8> = input
            .bytes()
            .filter(|b| !matches!(b, b'-' | b' ' | b'/' | b'.'))
            .map(code::normalise_char)
            .collect();
        let fmt_err = IdError::Format {
            what: "temporary ID",
            allowed: "a counter code followed by 11 symbols, like A-K3M7Q2-0017X",
        };
        if s.len() <= TEMP_TAIL
            || s.len() > TEMP_TAIL + 3
            || !s.iter().all(|b| code::ALPHABET.contains(b))
        {
            return Err(fmt_err);
        }
        if !code::verify(&s) {
            return Err(IdError::Check);
        }
        String::from_utf8(s).map(Self).map_err(|_| fmt_err)
    }

    /// True if `input` has the shape of a temporary ID (length and alphabet), whatever its check.
    pub fn looks_like(input: &str) -> bool {
        let n = input.bytes().filter(|b| !matches!(b, b'-' | b' ')).count();
        n > TEMP_TAIL && n <= TEMP_TAIL + 3 && input.bytes().any(|b| b.is_ascii_digit())
    }

    /// The canonical form without hyphens (what is stored and encoded in barcodes).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn split(&self) -> (&str, &str, &str) {
        let n = self.0.len() - TEMP_TAIL;
        let mid = n + TEMP_DAY_WIDTH + TEMP_SITE_WIDTH;
        (&self.0[..n], &self.0[n..mid], &self.0[mid..])
    }

    pub fn counter(&self) -> &str {
        self.split().0
    }

    /// The day the ID was issued.
    pub fn day(&self) -> Option<NaiveDate> {
        let (c, mid, _) = self.split();
        let _ = c;
        let n = code::decode(&mid.as_bytes()[..TEMP_DAY_WIDTH])?;
        id_epoch().checked_add_days(chrono::Days::new(n))
    }
}

impl TryFrom<String> for TempId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}
impl From<TempId> for String {
    fn from(t: TempId) -> String {
        t.0
    }
}
impl fmt::Display for TempId {
    /// `A-K3M7Q2-0017X`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (c, mid, tail) = self.split();
        write!(f, "{c}-{mid}-{tail}")
    }
}
impl fmt::Debug for TempId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TempId({self})")
    }
}

/// A queue token: the issuing counter's code and its sequence for the department and day, shown as
/// `A-017`. Two counters can never print the same token for a department and day, by construction.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Debug)]
pub struct Token {
    pub counter: CounterCode,
    pub seq: u32,
}

impl Token {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let err = IdError::Format {
            what: "token",
            allowed: "a counter code, a hyphen and a number, like A-017",
        };
        let (c, n) = s.trim().split_once('-').ok_or(err.clone())?;
        let counter = CounterCode::parse(c).map_err(|_| err.clone())?;
        let seq = n.parse::<u32>().map_err(|_| err.clone())?;
        if seq == 0 {
            return Err(err);
        }
        Ok(Self { counter, seq })
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:03}", self.counter, self.seq)
    }
}

/// A permanent hospital ID assigned by the central system.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uhid(String);

impl Uhid {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let s = s.trim().to_ascii_uppercase();
        let ok = (4..=24).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'-')
            && s.bytes().any(|b| b.is_ascii_digit());
        if ok {
            Ok(Self(s))
        } else {
            Err(IdError::Format {
                what: "UHID",
                allowed: "4 to 24 letters, digits, / or -, with at least one digit",
            })
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Uhid {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}
impl From<Uhid> for String {
    fn from(u: Uhid) -> String {
        u.0
    }
}
impl fmt::Display for Uhid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for Uhid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uhid({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn temp_id_shape_and_round_trip() {
        let c = CounterCode::parse("a").expect("code");
        let t = TempId::issue(
            &c,
            SiteTag::parse("K3M").expect("tag"),
            day("2026-11-28"),
            17,
        )
        .expect("id");
        let shown = t.to_string();
        assert!(shown.len() <= 16, "{shown}");
        assert_eq!(TempId::parse(&shown), Ok(t.clone()));
        assert_eq!(
            TempId::parse(&shown.to_lowercase().replace('-', "")),
            Ok(t.clone())
        );
        assert_eq!(t.day(), Some(day("2026-11-28")));
        assert_eq!(t.counter(), "A");
        let long = TempId::issue(
            &CounterCode::parse("C12").expect("code"),
            SiteTag::parse("ZZZ").expect("tag"),
            day("2100-12-31"),
            TempId::MAX_SEQ,
        )
        .expect("id");
        assert_eq!(long.to_string().len(), 16);
        assert!(
            TempId::issue(
                &c,
                SiteTag::parse("K3M").expect("tag"),
                day("2026-11-28"),
                TempId::MAX_SEQ + 1
            )
            .is_err()
        );
    }

    #[test]
    fn mistyped_temp_id_is_refused_with_a_check_error() {
        let c = CounterCode::parse("B").expect("code");
        let t = TempId::issue(
            &c,
            SiteTag::parse("7Q2").expect("tag"),
            day("2026-11-28"),
            3,
        )
        .expect("id");
        let mut s: Vec<u8> = t.as_str().bytes().collect();
        s.swap(5, 6);
        if s[5] != s[6] {
            assert_eq!(
                TempId::parse(std::str::from_utf8(&s).expect("ascii")),
                Err(IdError::Check)
            );
        }
        assert!(matches!(
            TempId::parse("hello"),
            Err(IdError::Format { .. })
        ));
    }

    #[test]
    fn counter_codes_refuse_look_alike_letters() {
        assert!(CounterCode::parse("O1").is_err());
        assert!(CounterCode::parse("ABCD").is_err());
        assert!(CounterCode::parse("").is_err());
        assert_eq!(
            CounterCode::parse(" b2 ").map(|c| c.to_string()),
            Ok("B2".into())
        );
    }

    #[test]
    fn token_shows_counter_and_zero_padded_number() {
        let t = Token {
            counter: CounterCode::parse("A").expect("code"),
            seq: 17,
        };
        assert_eq!(t.to_string(), "A-017");
        assert_eq!(Token::parse("A-017"), Ok(t));
        assert_eq!(
            Token {
                counter: CounterCode::parse("B").expect("code"),
                seq: 1234
            }
            .to_string(),
            "B-1234"
        );
    }

    proptest! {
        #[test]
        fn temp_ids_round_trip(
            counter in "[0-9ABCDEFGHJKMNPQRTVWXYZ]{1,3}",
            tag in 0u32..29_791,
            days in 0u64..29_000,
            seq in 1u64..=TempId::MAX_SEQ,
        ) {
            let c = CounterCode::parse(&counter).expect("counter");
            let d = id_epoch().checked_add_days(chrono::Days::new(days)).expect("day");
            let t = TempId::issue(&c, SiteTag::from_random(tag.to_le_bytes()), d, seq).expect("issue");
            prop_assert!(t.to_string().len() <= 16);
            prop_assert_eq!(TempId::parse(&t.to_string()), Ok(t.clone()));
            prop_assert_eq!(TempId::parse(t.as_str()), Ok(t.clone()));
            prop_assert_eq!(t.day(), Some(d));
        }

        #[test]
        fn uuid_ids_round_trip(ms in 0u64..(1 << 47), r in any::<[u8; 10]>()) {
            let id = PatientId::new_v7(ms, r);
            prop_assert_eq!(id.to_string().parse::<PatientId>(), Ok(id));
            prop_assert_eq!(PatientId::from_slice(id.as_bytes()), Ok(id));
            prop_assert_eq!(id.0.get_version_num(), 7);
        }
    }
}
