//! Linking outage registrations to the hospital's central patient index.
//!
//! After an outage every Parchi patient must be tied to the record the hospital already holds for
//! them (identified by a UHID such as `DHP000123456`), or marked new; uncertain ones go to a
//! person. The central index is large (a million records) and is streamed past the patients in
//! batches ([`Linker::offer`]), so memory is bounded by the patients, not by the index.
//!
//! # Rules, in order
//!
//! 1. **Card.** The clerk typed a UHID from the patient's card. When that record exists, passes
//!    [`card_check`] (same sex, birth years within [`LinkConfig::card_age_years`]) and the names
//!    do not contradict each other (a name part on each side, one of them like nothing on the
//!    other side: a relative's card, or a stranger's behind a mistyped UHID; slips in the
//!    spelling do not count), the patient is [`LinkOutcome::Linked`] on [`LinkBasis::Card`]. A card that fails is never linked on and
//!    leaves the patient at least in review; probabilistic matching still runs, because the
//!    patient may be elsewhere in the index (a mistyped UHID that hit another person's record).
//! 2. **ABHA.** The same ABHA number on both records, with the same sanity checks, links on
//!    [`LinkBasis::Abha`].
//! 3. **Probable.** Patients and central records meet on the duplicate finder's blocking keys
//!    and are scored by its scorer (with its family guards). The best record links when it
//!    scores at least [`LinkConfig::auto_threshold`] (or [`LinkConfig::demographic_threshold`]
//!    when it shares no mobile, address or ABHA with the patient: name, guardian's name, age
//!    and PIN are what namesakes share), nothing holds it back, the match does not rest on an
//!    initial for the given name ("R. Patil" fits every brother) unless the birth year is the
//!    same, and it beats the best record of *anyone else* by [`LinkConfig::margin`]. From
//!    [`LinkConfig::review_threshold`] the patient goes to review; below, the patient is new.
//!
//! The central index holds duplicates of its own (8–12% of people in real indexes). Two central
//! records that both fit the patient are not a reason for review when the scorer, applied to the
//! two of them, calls them one person on an identifier they share (ABHA, address, or the
//! patient's own uncommon mobile): then the patient is linked to the better one, the other is
//! listed beside it and [`LinkNote::SeveralRecordsOfOnePerson`] asks for the index to be cleaned.
//!
//! # Frequencies
//!
//! The scorer discounts a common name and a shared phone by how many records carry them. While
//! streaming, the linker counts, for each patient's name, guardian and mobile, how many central
//! records carry it (sums, so the order of the stream does not matter). Scores computed during
//! the stream leave those discounts out, which makes them upper bounds; the few kept records per
//! patient are scored again with the final counts in [`Linker::finish`]. Which spellings are
//! established names (Ramesh and Rakesh are two names, Iyer and Iye one) is learnt the same way,
//! from how often the patients' name tokens occur in the patients and the index together; until
//! then no spelling counts as established, which again only raises the stream's scores.
//!
//! # Example
//!
//! ```
//! use parchi_dedup::link::{LinkBasis, LinkConfig, LinkInput, LinkOutcome, Linker};
//! use parchi_dedup::{Record, Sex};
//!
//! let central = Record {
//!     key: "DHP000123456".to_string(),
//!     name: "Sunita Devi".into(),
//!     sex: Some(Sex::Female),
//!     birth_year: Some(1980),
//!     mobile: Some("9876543210".into()),
//!     ..Record::default()
//! };
//! let at_counter = LinkInput {
//!     record: Record {
//!         key: 7u32,
//!         name: "Suneeta Devi".into(),
//!         sex: Some(Sex::Female),
//!         birth_year: Some(1982),
//!         ..Record::default()
//!     },
//!     claimed: Some("DHP000123456".into()),
//! };
//! let mut linker = Linker::new(vec![at_counter], LinkConfig::default());
//! linker.offer(&[central]); // … the whole index, batch after batch
//! let v = &linker.finish()[0];
//! assert_eq!(v.outcome, LinkOutcome::Linked);
//! assert_eq!(v.candidates[0].uhid, "DHP000123456");
//! assert_eq!(v.candidates[0].basis, LinkBasis::Card);
//! ```
//!
//! **Architecture Invariant:** pure and deterministic, like the rest of the crate: the verdicts
//! depend only on the patients, the *set* of central records offered and the configuration, not
//! on the batch split, the order of the stream or [`LinkConfig::threads`].

mod decide;
mod index;
mod names;

use crate::name::SimCache;
use crate::{Config, Reason, Record};
use index::{Central, Hit, PatientIndex, PatientState};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// Tuning knobs for linking. The defaults were tuned on synthetic sets (see `BENCH_NOTES.md`).
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// A probabilistic match at or above this score, with nothing holding it back and no close
    /// rival, is linked.
    pub auto_threshold: f64,
    /// What a probabilistic match must reach instead of `auto_threshold` when the records share
    /// no contact detail (mobile, address, ABHA): name, guardian's name, age, sex and PIN are
    /// what namesakes share by chance.
    pub demographic_threshold: f64,
    /// From this score a patient goes to review; below it (and with no card trouble) the
    /// patient is new.
    pub review_threshold: f64,
    /// How far, in log-odds points, the best record must lead the best record of someone else
    /// (2.0: the best is e² ≈ 7 times likelier).
    pub margin: f64,
    /// Birth years on a card's record and at the counter may differ by this much before the card
    /// is doubted (central records are old, and ages at an OPD are guesses).
    pub card_age_years: u32,
    /// Worker threads (1 = the calling thread only). The result does not depend on it.
    pub threads: usize,
    /// A blocking key shared by more patients than this is too common to block on (other keys
    /// still meet the pairs); it keeps a million-record stream from meeting every "Sunita Devi".
    pub max_patients_per_key: usize,
    /// Scoring settings shared with the duplicate finder (age tolerances, shared-phone cap,
    /// which counts make a name established). Its `threads` is ignored: `threads` above counts.
    pub scoring: Config,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            auto_threshold: 0.95,
            demographic_threshold: 0.995,
            review_threshold: 0.5,
            margin: 2.0,
            card_age_years: 10,
            threads: 1,
            max_patients_per_key: 20,
            scoring: Config::default(),
        }
    }
}

/// One outage registration to link.
#[derive(Clone)]
pub struct LinkInput<K> {
    pub record: Record<K>,
    /// A UHID the clerk typed from the patient's card (upper-cased and trimmed by the caller).
    /// It may be mistyped, or a relative's card.
    pub claimed: Option<String>,
}

impl<K: fmt::Debug> fmt::Debug for LinkInput<K> {
    /// The record's own `Debug` (no personal data) and whether a card was typed, not its number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkInput")
            .field("record", &self.record)
            .field("has_claimed", &self.claimed.is_some())
            .finish()
    }
}

/// What happens to a patient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LinkOutcome {
    /// Tied to the first candidate.
    Linked,
    /// A person decides among the candidates (or that the patient is new).
    Review,
    /// Not in the index: gets a new UHID.
    New,
}

/// Why a central record is a candidate.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LinkBasis {
    /// The UHID the clerk typed from the card.
    Card,
    /// The same ABHA number.
    Abha,
    /// The scorer's evidence alone.
    Probable,
}

/// A central record that may be the patient.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinkCandidate {
    pub uhid: String,
    /// 0.0 to 1.0: the scorer's confidence that this record is the patient.
    pub score: f64,
    pub basis: LinkBasis,
    /// The scorer's evidence, as for a duplicate pair.
    pub reasons: Vec<Reason>,
    /// For a card or ABHA candidate: how its record differs sharply from the person at the
    /// counter (empty when it does not).
    pub warnings: Vec<CardMismatch>,
}

/// Something a reviewer should know about a verdict. No personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum LinkNote {
    /// The UHID typed from the card is not in the index (mistyped, or another hospital's).
    ClaimedNotInIndex,
    /// The card's record differs in sex or age from the person at the counter.
    CardMismatch,
    /// The card's record has a different given name: perhaps a relative's card.
    CardNameDiffers,
    /// Two or more central records of one person fit the patient: the index needs cleaning.
    SeveralRecordsOfOnePerson,
    /// Another person's record fits almost as well.
    CloseRival,
    /// The patient's name gives an initial that fits the records of several people.
    InitialFitsSeveral,
    /// One ABHA number is on records of different people.
    AbhaOnSeveralPeople,
    /// A record of the patient's household and age, under another name: the same person
    /// written differently, or a twin.
    SameHousehold,
}

impl fmt::Display for LinkNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkNote::ClaimedNotInIndex => "the UHID from the card is not in the index",
            LinkNote::CardMismatch => "the card's record differs in sex or age",
            LinkNote::CardNameDiffers => "the card's record has a different given name",
            LinkNote::SeveralRecordsOfOnePerson => "several index records of one person fit",
            LinkNote::CloseRival => "another person's record fits almost as well",
            LinkNote::InitialFitsSeveral => "the initial fits the records of several people",
            LinkNote::AbhaOnSeveralPeople => "the ABHA number is on records of different people",
            LinkNote::SameHousehold => "a record of the same household and age under another name",
        })
    }
}

/// The decision about one patient.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinkVerdict<K> {
    pub patient: K,
    pub outcome: LinkOutcome,
    /// Best first (the linked record first when linked), at most three.
    pub candidates: Vec<LinkCandidate>,
    pub notes: Vec<LinkNote>,
}

/// A sharp difference between a card's central record and the person at the counter.
/// Serialised with a `code`; `Display` gives English. No personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CardMismatch {
    /// The record is of another sex.
    Sex,
    /// The birth years are this many years apart (more than the configured tolerance).
    Age { years: u32 },
    /// The names contradict each other (a given name like nothing on the other record).
    Name,
}

impl fmt::Display for CardMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardMismatch::Sex => write!(f, "the card's record is of a different sex"),
            CardMismatch::Age { years } => {
                write!(f, "the card's record is {years} years older or younger")
            }
            CardMismatch::Name => write!(f, "the card's record has another name"),
        }
    }
}

/// At the counter: does the central record behind a card differ sharply from the person at the
/// counter (sex differs, birth years more than `cfg.card_age_years` apart, or names that
/// contradict each other, as the link judges a card)? Empty means the card fits. Missing
/// fields never warn.
pub fn card_check<K, M>(
    at_counter: &Record<K>,
    central: &Record<M>,
    cfg: &LinkConfig,
) -> Vec<CardMismatch> {
    let mut out = index::card_mismatches(
        (at_counter.sex, at_counter.birth_year),
        (central.sex, central.birth_year),
        cfg,
    );
    let (a, b) = (
        crate::name::NameKey::new(&at_counter.name),
        crate::name::NameKey::new(&central.name),
    );
    if names::names_contradict(&a, &b, &mut SimCache::new(8)) {
        out.push(CardMismatch::Name);
    }
    out
}

/// What a linker did, for benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LinkStats {
    pub patients: usize,
    /// Central records offered.
    pub central: u64,
    /// Patient–central pairs scored during the stream.
    pub pairs_scored: u64,
    /// Pairs kept for the final scoring.
    pub kept: usize,
}

/// Scratch a worker thread keeps between batches.
struct Worker {
    cache: SimCache,
    scratch: index::Scratch,
}

/// Links patients to the central index: build with the patients, [`offer`](Linker::offer) the
/// whole index in batches, then [`finish`](Linker::finish).
pub struct Linker<K> {
    keys: Vec<K>,
    index: PatientIndex,
    states: Vec<PatientState>,
    /// Central records carrying each indexed patient key, and each patient name token.
    slot_counts: Vec<u32>,
    tok_counts: Vec<u32>,
    workers: Vec<Worker>,
    stats: LinkStats,
    cfg: LinkConfig,
}

impl<K> fmt::Debug for Linker<K> {
    /// Counts only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Linker")
            .field("stats", &self.stats)
            .finish()
    }
}

/// One worker's findings over part of a batch: the central records that hit some patient
/// (prepared once, shared by every patient they hit), and the indexed keys seen.
#[derive(Default)]
struct Found {
    hits: Vec<(Arc<Central>, Vec<Hit>)>,
    seen: index::Seen,
}

impl<K: Clone + Send + Sync> Linker<K> {
    pub fn new(patients: Vec<LinkInput<K>>, cfg: LinkConfig) -> Self {
        let mut records = Vec::with_capacity(patients.len());
        let mut claimed = Vec::with_capacity(patients.len());
        for p in patients {
            records.push(p.record);
            claimed.push(p.claimed);
        }
        let index = PatientIndex::build(&records, claimed, &cfg);
        let threads = cfg.threads.max(1);
        Linker {
            keys: records.into_iter().map(|r| r.key).collect(),
            states: (0..index.len()).map(|_| PatientState::default()).collect(),
            slot_counts: vec![0; index.slot_len()],
            tok_counts: vec![0; index.vocab_len()],
            workers: (0..threads)
                .map(|_| Worker {
                    cache: SimCache::new(16),
                    scratch: index::Scratch::default(),
                })
                .collect(),
            stats: LinkStats {
                patients: index.len(),
                ..LinkStats::default()
            },
            index,
            cfg,
        }
    }

    /// Offers central-index records (key = UHID), streamed in any order, in batches; memory
    /// stays bounded by the patients, not the index: nothing of a record is kept unless it may
    /// be one of a patient's best few matches. Offer each record once (a record offered twice
    /// counts twice in the name and phone frequencies).
    pub fn offer(&mut self, batch: &[Record<String>]) {
        let threads = self.workers.len();
        let found: Vec<Found> = if threads == 1 || batch.len() < 512 {
            vec![scan_part(
                &self.index,
                batch,
                &mut self.workers[0],
                &self.cfg,
            )]
        } else {
            let chunk = batch.len().div_ceil(threads);
            let (index, cfg) = (&self.index, &self.cfg);
            let parts: Vec<&[Record<String>]> = batch.chunks(chunk).collect();
            let done: Vec<Option<Found>> = std::thread::scope(|s| {
                let handles: Vec<_> = parts
                    .iter()
                    .zip(self.workers.iter_mut())
                    .map(|(part, w)| s.spawn(move || scan_part(index, part, w, cfg)))
                    .collect();
                handles.into_iter().map(|h| h.join().ok()).collect()
            });
            // A part whose worker died is scanned again here, so the result never depends on
            // threads (a worker's cache holds only exact values, so reusing it is safe).
            done.into_iter()
                .zip(&parts)
                .map(|(f, part)| {
                    f.unwrap_or_else(|| scan_part(index, part, &mut self.workers[0], cfg))
                })
                .collect()
        };
        self.stats.central += batch.len() as u64;
        for f in found {
            self.stats.pairs_scored += f.seen.pairs;
            for s in f.seen.slots {
                self.slot_counts[s as usize] += 1;
            }
            for t in f.seen.toks {
                self.tok_counts[t as usize] += 1;
            }
            for (central, hits) in f.hits {
                for h in hits {
                    self.states[h.patient as usize].keep(&central, h.upper, h.flags);
                }
            }
        }
    }

    /// What the linker has done so far.
    pub fn stats(&self) -> LinkStats {
        LinkStats {
            kept: self.states.iter().map(PatientState::len).sum(),
            ..self.stats.clone()
        }
    }

    /// One verdict per patient, in input order.
    pub fn finish(self) -> Vec<LinkVerdict<K>> {
        let Linker {
            keys,
            mut index,
            states,
            slot_counts,
            tok_counts,
            cfg,
            stats,
            ..
        } = self;
        let min = cfg.scoring.established_name_count;
        index.apply_counts(&slot_counts, &tok_counts, stats.central, min);
        let mut cache = SimCache::new(16);
        keys.into_iter()
            .zip(states)
            .enumerate()
            .map(|(i, (key, state))| {
                let d = decide::decide(&index, i, state, &cfg, &mut cache);
                LinkVerdict {
                    patient: key,
                    outcome: d.outcome,
                    candidates: d.candidates,
                    notes: d.notes,
                }
            })
            .collect()
    }
}

/// Passes part of a batch by the patients.
fn scan_part(
    index: &PatientIndex,
    part: &[Record<String>],
    w: &mut Worker,
    cfg: &LinkConfig,
) -> Found {
    let mut found = Found::default();
    for rec in part {
        let mut hits = Vec::new();
        let prepared = index.visit(
            rec,
            &mut w.scratch,
            &mut w.cache,
            cfg,
            &mut found.seen,
            &mut hits,
        );
        if let Some(p) = prepared.filter(|_| !hits.is_empty()) {
            let central = Arc::new(Central {
                uhid: rec.key.clone(),
                prepared: p,
            });
            found.hits.push((central, hits));
        }
    }
    found
}
