//! Finding patients who were registered more than once.
//!
//! After an outage an admin holds two weeks of registrations from many counters, and the same
//! person is often in there twice: at two counters, on two days, as "Mohd. Irfan" and "Mohammad
//! Irfan", aged 40 on one slip and 42 on the next. This crate owns the question *which pairs of
//! registrations are probably one person, and why*. It does not merge anything: merging is an
//! admin decision recorded as an operation elsewhere (`parchi-core`'s merge rules).
//!
//! # Shape
//!
//! 1. **Prepare** each [`Record`] once: name tokens and sound keys ([`parchi_core::names`] plus
//!    this crate's filler/initial handling), normalised mobile, ABHA, PIN, address words.
//! 2. **Block**: records are filed under keys (mobile, ABHA, given-name + surname sound keys,
//!    given name + birth-year band + PIN, initial + surname + band, name token + guardian's name,
//!    guardian + band) and only records sharing a key are compared, so 250,000 registrations cost
//!    about 12 million comparisons, not 31 billion. A block bigger than [`Config::max_block`] is
//!    skipped (other keys still meet its pairs), and a mobile on more than
//!    [`Config::max_mobile_records`] records is a clinic's phone, not a family's. Blocks are
//!    scored one after another so their records stay in cache, each pair once.
//! 3. **Score** each pair: evidence for and against (name, age, sex, guardian, mobile, PIN,
//!    address, district, ABHA) is added up as log-odds points and squashed to a 0–1 score. How
//!    common a name is in this scan, and which spellings are real names rather than typos, are
//!    learnt from the scan itself. Every piece of evidence is kept as a [`Reason`].
//! 4. **Hold back** families: a pair with a conflict (two different given names, different sex,
//!    an age gap beyond tolerance, one person's guardian being the other, different ABHA numbers,
//!    or an initial that fits two different people) is never [`Verdict::Likely`], whatever its
//!    score. Relatives who share a phone are the commonest false match at an Indian OPD, and
//!    merging a father into his son is the mistake this crate exists to avoid.
//!
//! # Linking to the central index
//!
//! [`link`] answers the neighbouring question *which record in the hospital's central patient
//! index is this outage registration*: a card's UHID checked against sex, age and name, then the
//! ABHA number, then the same blocking and scoring as above between the patients and a stream of
//! central records, with guards for relatives, namesakes and the index's own duplicates.
//!
//! # Example
//!
//! ```
//! use parchi_dedup::{find_duplicates, Config, Record, Sex, Verdict};
//!
//! let irfan = Record {
//!     key: 1u32,
//!     name: "Mohd. Irfan Ansari".into(),
//!     sex: Some(Sex::Male),
//!     birth_year: Some(1975),
//!     birth_approximate: true,
//!     guardian_name: Some("Abdul Karim Ansari".into()),
//!     mobile: Some("98765 43210".into()),
//!     pincode: Some("800020".into()),
//!     ..Record::default()
//! };
//! let again = Record {
//!     key: 2,
//!     name: "Mohammad Irfan Ansari".into(),
//!     birth_year: Some(1977),
//!     ..irfan.clone()
//! };
//! let his_son = Record {
//!     key: 3,
//!     name: "Imran Ansari".into(),
//!     birth_year: Some(2001),
//!     guardian_name: Some("Mohd Irfan Ansari".into()),
//!     ..irfan.clone()
//! };
//! let found = find_duplicates(&[irfan, again, his_son], &Config::default());
//! assert_eq!((found[0].a, found[0].b, found[0].verdict), (1, 2, Verdict::Likely));
//! assert!(found.iter().all(|c| c.b != 3 || c.verdict == Verdict::Review));
//! let why: Vec<String> = found[0].reasons.iter().map(ToString::to_string).collect();
//! println!("{}", why.join(", "));
//! // same mobile, name similar (…), same guardian, age differs by 2 years, same sex, same PIN
//! ```
//!
//! **Architecture Invariant:** pure. No I/O, no clock reads, no randomness: the caller passes
//! birth years (computed from its own "today"), and the output is the same for the same input
//! and [`Config`], in the same order, whatever the thread count.
//!
//! **Architecture Invariant:** the finder does not know the store, the CLI or the hub exist:
//! callers map their patients into [`Record`]s and the [`Candidate`]s back to patient IDs. The
//! only concurrency is `std::thread::scope` over [`Config::threads`].
//!
//! **Architecture Invariant:** `Debug` of a [`Record`] prints no personal data. [`Reason`]s carry
//! no personal data either (no names, numbers or addresses), so candidates can be logged.

mod block;
pub mod link;
mod name;
mod prepare;
mod score;
mod text;

#[cfg(feature = "synth")]
pub mod synth;
#[cfg(feature = "synth")]
pub mod synth_link;

pub use parchi_core::Sex;
pub use parchi_core::patient::GuardianRelation;

use serde::Serialize;
use std::fmt;

/// One registration as the duplicate finder sees it. `K` is the caller's identifier (a patient
/// ID, a row number); it is copied into the [`Candidate`]s.
#[derive(Clone, Default)]
pub struct Record<K> {
    pub key: K,
    /// The name as typed, in any script Parchi accepts.
    pub name: String,
    pub sex: Option<Sex>,
    /// Year of birth: from the date of birth, or today's year minus the age given.
    pub birth_year: Option<i32>,
    /// True when the birth year comes from an age in years (so it may be off by a few years).
    pub birth_approximate: bool,
    pub guardian_relation: Option<GuardianRelation>,
    pub guardian_name: Option<String>,
    pub mobile: Option<String>,
    pub address: Option<String>,
    pub district: Option<String>,
    pub state: Option<String>,
    pub pincode: Option<String>,
    /// ABHA number (14 digits) or ABHA address (`name@abdm`).
    pub abha: Option<String>,
}

impl<K: fmt::Debug> fmt::Debug for Record<K> {
    /// Prints the key and which fields are filled, never their values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let filled = |o: &Option<String>| o.as_ref().is_some_and(|s| !s.trim().is_empty());
        f.debug_struct("Record")
            .field("key", &self.key)
            .field("has_name", &!self.name.trim().is_empty())
            .field("has_sex", &self.sex.is_some())
            .field("has_birth_year", &self.birth_year.is_some())
            .field("has_guardian", &filled(&self.guardian_name))
            .field("has_mobile", &filled(&self.mobile))
            .field("has_address", &filled(&self.address))
            .field("has_pincode", &filled(&self.pincode))
            .field("has_abha", &filled(&self.abha))
            .finish()
    }
}

/// Tuning knobs. [`Config::default`] is what the labelled sample and the synthetic sets were
/// measured with (see `BENCH_NOTES.md`).
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// A pair at or above this score, with nothing holding it back, is [`Verdict::Likely`].
    pub likely_threshold: f64,
    /// Pairs below this score are not reported at all.
    pub review_threshold: f64,
    /// Years two birth years may differ when either came from an age in years.
    pub age_tolerance_approximate: u32,
    /// Years two birth years may differ when both came from dates of birth.
    pub age_tolerance_exact: u32,
    /// Name blocks with more records than this are skipped (other keys still meet their pairs).
    pub max_block: usize,
    /// A mobile on more records than this is a shared phone (a clinic's, a chemist's): it is not
    /// used to find pairs and counts for little when two records share it.
    pub max_mobile_records: usize,
    /// A name token seen in at least this many records is a real name, not a typo: two such
    /// tokens that differ (Ramesh/Rakesh) are two different names.
    pub established_name_count: u32,
    /// Worker threads for scoring (1 = the calling thread only). The result does not depend on it.
    pub threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            likely_threshold: 0.9,
            review_threshold: 0.5,
            age_tolerance_approximate: 3,
            age_tolerance_exact: 1,
            max_block: 100,
            max_mobile_records: 12,
            established_name_count: 3,
            threads: 1,
        }
    }
}

/// What the finder proposes for a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Probably one person: merge when the admin accepts.
    Likely,
    /// Uncertain, or something holds it back (see the reasons): the admin decides.
    Review,
}

/// One piece of evidence about a pair. Serialised with a `code` the UI can switch on; `Display`
/// gives the English an admin reads. No variant carries personal data.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    SameAbha,
    /// Holds back: two ABHA numbers are two people (or a typing error to look at).
    DifferentAbha,
    SameMobile,
    /// The mobile is on many records (a shared or institutional phone), so it says little.
    CommonMobile {
        records: u32,
    },
    DifferentMobile,
    SameName,
    NameSimilar {
        similarity: f64,
    },
    NameDiffers {
        similarity: f64,
    },
    /// One record has name parts the other lacks (a surname or middle name left off).
    NamePartMissing {
        parts: u32,
    },
    /// An initial on one record stands for a full name on the other.
    InitialMatches,
    /// Many records carry this name, so a match on it alone says less.
    CommonName {
        records: u32,
    },
    /// Holds back: each record has a name the other lacks (Faris Rao / Fitan Rao): siblings,
    /// spouses or namesakes.
    GivenNamesDiffer,
    SameSex,
    /// Holds back.
    DifferentSex,
    SameBirthYear,
    AgeWithinTolerance {
        years: u32,
    },
    /// Holds back: parent and child, or a badly guessed age.
    AgeBeyondTolerance {
        years: u32,
    },
    SameGuardian,
    GuardianSimilar {
        similarity: f64,
    },
    DifferentGuardian,
    /// Holds back: one record's guardian (father, husband) is the other record's name.
    GuardianIsOther,
    SamePincode,
    DifferentPincode,
    SameAddress,
    DifferentDistrict,
    /// Holds back: a record also matches another record that is clearly someone else (an
    /// initial that fits two brothers), so this match is not safe to accept alone.
    AmbiguousMatch,
}

impl Reason {
    /// Whether this reason stops the pair from being [`Verdict::Likely`].
    pub fn holds_back(&self) -> bool {
        matches!(
            self,
            Reason::DifferentAbha
                | Reason::GivenNamesDiffer
                | Reason::DifferentSex
                | Reason::AgeBeyondTolerance { .. }
                | Reason::GuardianIsOther
                | Reason::AmbiguousMatch
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: u32| if n == 1 { "" } else { "s" };
        match self {
            Reason::SameAbha => write!(f, "same ABHA"),
            Reason::DifferentAbha => write!(f, "different ABHA numbers"),
            Reason::SameMobile => write!(f, "same mobile"),
            Reason::CommonMobile { records } => {
                write!(f, "same mobile, but it is on {records} records")
            }
            Reason::DifferentMobile => write!(f, "different mobiles"),
            Reason::SameName => write!(f, "same name"),
            Reason::NameSimilar { similarity } => write!(f, "name similar ({similarity:.2})"),
            Reason::NameDiffers { similarity } => write!(f, "names differ ({similarity:.2})"),
            Reason::NamePartMissing { parts } => {
                write!(f, "{parts} name part{} on one record only", plural(*parts))
            }
            Reason::InitialMatches => write!(f, "an initial matches a full name"),
            Reason::CommonName { records } => write!(f, "common name ({records} records)"),
            Reason::GivenNamesDiffer => write!(f, "different given names"),
            Reason::SameSex => write!(f, "same sex"),
            Reason::DifferentSex => write!(f, "different sex"),
            Reason::SameBirthYear => write!(f, "same age"),
            Reason::AgeWithinTolerance { years } | Reason::AgeBeyondTolerance { years } => {
                write!(f, "age differs by {years} year{}", plural(*years))
            }
            Reason::SameGuardian => write!(f, "same guardian"),
            Reason::GuardianSimilar { similarity } => {
                write!(f, "guardian similar ({similarity:.2})")
            }
            Reason::DifferentGuardian => write!(f, "different guardians"),
            Reason::GuardianIsOther => write!(f, "one is the other's guardian"),
            Reason::SamePincode => write!(f, "same PIN"),
            Reason::DifferentPincode => write!(f, "different PIN"),
            Reason::SameAddress => write!(f, "same address"),
            Reason::DifferentDistrict => write!(f, "different district"),
            Reason::AmbiguousMatch => write!(f, "also matches someone clearly different"),
        }
    }
}

/// A pair of records that may be one person.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate<K> {
    /// The key of the record that comes first in the input.
    pub a: K,
    pub b: K,
    /// 0.0 to 1.0: how sure the finder is that `a` and `b` are one person.
    pub score: f64,
    pub verdict: Verdict,
    /// The evidence, strongest identifiers first.
    pub reasons: Vec<Reason>,
}

/// What a scan did, for benchmarks and for telling an admin why a pair may have been missed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub records: usize,
    /// Blocks (groups of two or more records sharing a key) that were compared.
    pub blocks: usize,
    /// Blocks skipped for being larger than the configured caps.
    pub oversized_blocks: usize,
    /// Distinct pairs scored.
    pub pairs_compared: usize,
    pub likely: usize,
    pub review: usize,
}

/// Candidates and what it took to find them.
#[derive(Clone, Debug, PartialEq)]
pub struct Report<K> {
    pub candidates: Vec<Candidate<K>>,
    pub stats: Stats,
}

/// Finds likely duplicates among `records`.
///
/// Candidates come out [`Verdict::Likely`] first, then by descending score, then by input
/// position; `a` is always the record earlier in the input.
pub fn find_duplicates<K: Clone + Send + Sync>(
    records: &[Record<K>],
    cfg: &Config,
) -> Vec<Candidate<K>> {
    scan(records, cfg).candidates
}

/// [`find_duplicates`], with counts of what the scan did.
pub fn scan<K: Clone + Send + Sync>(records: &[Record<K>], cfg: &Config) -> Report<K> {
    let mut prepared = prepare::prepare_all(records, cfg);
    let plan = block::plan(&mut prepared, cfg);
    let (mut found, pairs_compared) = score::score_plan(&prepared, &plan, cfg);
    score::hold_back_ambiguous(&prepared, &mut found, cfg);
    found.sort_by(|x, y| {
        x.verdict
            .cmp(&y.verdict)
            .then(y.score.total_cmp(&x.score))
            .then(x.a.cmp(&y.a))
            .then(x.b.cmp(&y.b))
    });
    let likely = found
        .iter()
        .filter(|c| c.verdict == Verdict::Likely)
        .count();
    let stats = Stats {
        records: records.len(),
        blocks: plan.block_count(),
        oversized_blocks: plan.oversized,
        pairs_compared,
        likely,
        review: found.len() - likely,
    };
    let candidates = found
        .into_iter()
        .map(|c| Candidate {
            a: records[c.a as usize].key.clone(),
            b: records[c.b as usize].key.clone(),
            score: c.score,
            verdict: c.verdict,
            reasons: c.reasons,
        })
        .collect();
    Report { candidates, stats }
}

/// Scores one pair of records on its own, without blocking or the frequency information a full
/// scan has (every name counts as rare; only the built-in common given names count as
/// established). For a counter checking a new registration against the few records a search
/// returned. The verdict is `Review` for any pair that is not `Likely`, however low its score.
pub fn compare_pair<K: Clone + Send + Sync>(
    a: &Record<K>,
    b: &Record<K>,
    cfg: &Config,
) -> Candidate<K> {
    let pa = prepare::Prepared::new(a);
    let pb = prepare::Prepared::new(b);
    let assessed = score::assess(&pa, &pb, cfg);
    Candidate {
        a: a.key.clone(),
        b: b.key.clone(),
        score: assessed.score,
        verdict: assessed.verdict(cfg),
        reasons: assessed.reasons,
    }
}
