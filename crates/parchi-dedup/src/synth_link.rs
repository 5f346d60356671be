//! A seeded generator of a central patient index and an outage to link to it, with ground truth,
//! and the figures that judge a linker against it.
//!
//! The people and households come from [`crate::synth`]. The central index registers most of
//! them once, carefully (the hospital's own records), and 6.5% of them a second time with the
//! usual variations (the index's own duplicates, under a second UHID). UHIDs are `DHP` and nine
//! digits, numbered in registration order from a seeded start, so the numbers are dense and a
//! mistyped UHID often lands on another real patient.
//!
//! The outage mixes, in the given shares: returning patients who show their card (35%), who
//! show it but the clerk mistypes it (5%: one digit changed or two neighbours swapped), who come
//! without it (20%, typed with the usual typos, age guesses and changed mobiles), new people
//! (30%), and hard negatives (10%): relatives of indexed patients who are not indexed themselves
//! (same household, phone and address; a third of them hold an indexed relative's card), and
//! namesakes of indexed patients (same name and sex, another family; half of them in the same
//! town, half of them of about the same age).
//!
//! Everything is a pure function of the seed.

use crate::link::{LinkBasis, LinkInput, LinkOutcome, LinkVerdict};
use crate::synth::{self, Household, Person, Rng};
use crate::{Record, Sex};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What an outage registration really is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageKind {
    /// Returning, with their own card typed correctly.
    Card,
    /// Returning, with their own card mistyped.
    MistypedCard,
    /// Returning, without a card.
    NoCard,
    /// Never registered at the hospital.
    New,
    /// Not indexed, but a relative of indexed patients (same household, phone, address).
    Relative,
    /// A relative holding an indexed relative's card.
    RelativeWithCard,
    /// Not indexed; carries the name of an indexed patient.
    Namesake,
}

impl OutageKind {
    /// Whether the person is in the central index.
    pub fn returning(self) -> bool {
        matches!(
            self,
            OutageKind::Card | OutageKind::MistypedCard | OutageKind::NoCard
        )
    }
}

/// How big and how hard a generated set is.
#[derive(Clone, Debug)]
pub struct LinkSynthConfig {
    pub seed: u64,
    /// Central records to produce (about).
    pub central: usize,
    /// Outage registrations to produce.
    pub outage: usize,
    /// Share of indexed people with a second central record.
    pub central_duplicate_rate: f64,
    /// The year ages are counted from.
    pub year: i32,
}

impl LinkSynthConfig {
    pub fn new(central: usize, outage: usize, seed: u64) -> LinkSynthConfig {
        LinkSynthConfig {
            seed,
            central,
            outage,
            central_duplicate_rate: 0.065,
            year: 2025,
        }
    }
}

/// A central index and an outage with the truth about every outage registration.
#[derive(Clone)]
pub struct LinkSet {
    /// Keys are UHIDs.
    pub central: Vec<Record<String>>,
    /// Keys are positions (0, 1, 2 …).
    pub outage: Vec<LinkInput<u64>>,
    /// Every central UHID of the person behind each outage registration; `None` when new.
    pub truth: Vec<Option<Vec<String>>>,
    pub kind: Vec<OutageKind>,
}

impl std::fmt::Debug for LinkSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSet")
            .field("central", &self.central.len())
            .field("outage", &self.outage.len())
            .finish()
    }
}

/// The outage mix, in percent, in the order of [`OutageKind`]'s variants (the two relative
/// kinds share one share; a third of them hold a card).
const MIX: &[(OutageKind, usize)] = &[
    (OutageKind::Card, 35),
    (OutageKind::MistypedCard, 5),
    (OutageKind::NoCard, 20),
    (OutageKind::New, 30),
    (OutageKind::Relative, 6),
    (OutageKind::Namesake, 4),
];

/// Share of non-head household members kept out of the index: the pool relatives come from.
const HELD_OUT: f64 = 0.06;

/// The people of a generated world and where each one stands.
struct World {
    households: Vec<Household>,
    people: Vec<Person>,
    /// Person → their central UHIDs (empty when not indexed).
    uhids: Vec<Vec<String>>,
    /// Household → its indexed members.
    indexed_in: Vec<Vec<usize>>,
    /// People kept out of the index whose household has indexed members.
    relatives: Vec<usize>,
    indexed: Vec<usize>,
}

/// The same registration under another key.
fn rekey<K, M>(r: Record<K>, key: M) -> Record<M> {
    Record {
        key,
        name: r.name,
        sex: r.sex,
        birth_year: r.birth_year,
        birth_approximate: r.birth_approximate,
        guardian_relation: r.guardian_relation,
        guardian_name: r.guardian_name,
        mobile: r.mobile,
        address: r.address,
        district: r.district,
        state: r.state,
        pincode: r.pincode,
        abha: r.abha,
    }
}

fn uhid(n: u64) -> String {
    format!("DHP{n:09}")
}

/// A clerk's slip on a UHID: one digit changed, or two neighbouring digits swapped.
fn mistype(rng: &mut Rng, u: &str) -> String {
    let mut b: Vec<u8> = u.bytes().collect();
    let digits = 3..b.len();
    if rng.chance(0.5) {
        for _ in 0..8 {
            let i = rng.range(digits.start as i32, b.len() as i32 - 2) as usize;
            if b[i] != b[i + 1] {
                b.swap(i, i + 1);
                return String::from_utf8(b).unwrap_or_default();
            }
        }
    }
    let i = rng.range(digits.start as i32, b.len() as i32 - 1) as usize;
    let old = b[i] - b'0';
    b[i] = b'0' + ((old + 1 + rng.below(9) as u8) % 10);
    String::from_utf8(b).unwrap_or_default()
}

/// Builds the people, registers the indexed ones centrally (shuffled, then numbered).
fn build_world(cfg: &LinkSynthConfig, rng: &mut Rng) -> (World, Vec<Record<String>>) {
    let mut households = Vec::new();
    let mut people: Vec<Person> = Vec::new();
    let mut indexed = Vec::new();
    let mut relatives = Vec::new();
    let mut central: Vec<(usize, Record<u64>)> = Vec::with_capacity(cfg.central + 16);
    let shared: Vec<String> = (0..8).map(|_| synth::mobile(rng)).collect();
    while central.len() < cfg.central {
        let h = synth::make_household(rng);
        let first = people.len();
        synth::populate(rng, households.len(), &h, cfg.year, &mut people);
        for (i, p) in people.iter().enumerate().skip(first) {
            // The head stays indexed, so a held-out member always has indexed relatives.
            if i > first && rng.chance(HELD_OUT) {
                relatives.push(i);
                continue;
            }
            indexed.push(i);
            let copies = if rng.chance(cfg.central_duplicate_rate) {
                2
            } else {
                1
            };
            for k in 0..copies {
                // The hospital's own first registration is careful; a second one less so.
                let noise = if k == 0 { 0.3 } else { 0.8 };
                let mut r = synth::register(rng, p, &h, cfg.year, noise);
                if rng.chance(0.004) {
                    r.mobile = Some(rng.pick(&shared).clone());
                }
                central.push((i, r));
            }
        }
        households.push(h);
    }
    for i in (1..central.len()).rev() {
        let j = rng.below(i + 1);
        central.swap(i, j);
    }
    let start = 1 + rng.below(50_000) as u64;
    let mut uhids = vec![Vec::new(); people.len()];
    let records = central
        .into_iter()
        .enumerate()
        .map(|(pos, (person, r))| {
            let u = uhid(start + pos as u64);
            uhids[person].push(u.clone());
            rekey(r, u)
        })
        .collect();
    let mut indexed_in = vec![Vec::new(); households.len()];
    for &i in &indexed {
        indexed_in[people[i].household].push(i);
    }
    relatives.retain(|&i| !indexed_in[people[i].household].is_empty());
    let world = World {
        households,
        people,
        uhids,
        indexed_in,
        relatives,
        indexed,
    };
    (world, records)
}

/// A person from a fresh household, never indexed.
fn new_person(w: &mut World, rng: &mut Rng, year: i32) -> usize {
    let h = synth::make_household(rng);
    let first = w.people.len();
    synth::populate(rng, w.households.len(), &h, year, &mut w.people);
    w.households.push(h);
    w.uhids.resize(w.people.len(), Vec::new());
    first + rng.below(w.people.len() - first)
}

/// Someone else with an indexed person's name and sex: another family, half the time in the
/// same town, half the time of about the same age.
fn namesake(w: &mut World, rng: &mut Rng, year: i32) -> usize {
    let x = w.indexed[rng.below(w.indexed.len())];
    let xh = w.households[w.people[x].household].clone();
    let mut h = synth::make_household(rng);
    h.community = xh.community;
    h.surname = xh.surname.clone();
    if rng.chance(0.5) {
        h.place = xh.place;
    }
    let father = synth::name_for(rng, &h, Sex::Male);
    let mut q = w.people[x].clone();
    q.id = w.people.len() as u64;
    q.household = w.households.len();
    q.guardian_name = [
        father.0,
        Some(father.1.as_str()),
        father.2,
        father.3.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    q.birth_year = if rng.chance(0.5) {
        q.birth_year + rng.range(-3, 3)
    } else {
        year - rng.range(1, 80)
    };
    q.own_mobile = None;
    q.abha = None;
    w.people.push(q);
    w.households.push(h);
    w.uhids.push(Vec::new());
    w.people.len() - 1
}

fn pick_kind(rng: &mut Rng) -> OutageKind {
    let total: usize = MIX.iter().map(|m| m.1).sum();
    let mut roll = rng.below(total);
    for &(kind, share) in MIX {
        if roll < share {
            return kind;
        }
        roll -= share;
    }
    OutageKind::New
}

/// Generates a central index of about `cfg.central` records and an outage of `cfg.outage`.
pub fn generate_link_set(cfg: &LinkSynthConfig) -> LinkSet {
    let mut rng = Rng::new(cfg.seed ^ 0x11AC_0DE5);
    let (mut w, central) = build_world(cfg, &mut rng);
    let mut set = LinkSet {
        central,
        outage: Vec::with_capacity(cfg.outage),
        truth: Vec::with_capacity(cfg.outage),
        kind: Vec::with_capacity(cfg.outage),
    };
    let mut relatives = std::mem::take(&mut w.relatives);
    for pos in 0..cfg.outage {
        let mut kind = pick_kind(&mut rng);
        if kind == OutageKind::Relative && relatives.is_empty() {
            kind = OutageKind::New;
        }
        let (person, claimed) = match kind {
            OutageKind::Card | OutageKind::MistypedCard | OutageKind::NoCard => {
                let p = w.indexed[rng.below(w.indexed.len())];
                let card = w.uhids[p][0].clone();
                let claimed = match kind {
                    OutageKind::Card => Some(card),
                    OutageKind::MistypedCard => Some(mistype(&mut rng, &card)),
                    _ => None,
                };
                (p, claimed)
            }
            OutageKind::Relative => {
                let p = relatives.swap_remove(rng.below(relatives.len()));
                let kin = &w.indexed_in[w.people[p].household];
                if rng.chance(1.0 / 3.0) {
                    kind = OutageKind::RelativeWithCard;
                    let k = kin[rng.below(kin.len())];
                    (p, Some(w.uhids[k][0].clone()))
                } else {
                    (p, None)
                }
            }
            OutageKind::Namesake => (namesake(&mut w, &mut rng, cfg.year), None),
            _ => (new_person(&mut w, &mut rng, cfg.year), None),
        };
        let p = &w.people[person];
        let h = &w.households[p.household];
        let record = Record {
            key: pos as u64,
            ..synth::register(&mut rng, p, h, cfg.year, 1.0)
        };
        set.outage.push(LinkInput { record, claimed });
        let uhids = &w.uhids[person];
        set.truth.push((!uhids.is_empty()).then(|| uhids.clone()));
        set.kind.push(kind);
    }
    set
}

/// How a linker did on a [`LinkSet`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinkQuality {
    pub outage: usize,
    /// Outage registrations whose person is in the index.
    pub returning: usize,
    pub linked: usize,
    pub review: usize,
    pub new: usize,
    /// Linked to a record of the right person.
    pub correct_links: usize,
    /// Linked to someone else's record, or linked although new.
    pub wrong_links: usize,
    /// Correct links / links.
    pub auto_precision: f64,
    /// Correct links / returning.
    pub auto_recall: f64,
    /// (Correct links + returning patients in review with a record of theirs among the
    /// candidates) / returning.
    pub recall_with_review: f64,
    /// Review / all outage.
    pub review_share: f64,
    /// Truly new among those called new.
    pub new_precision: f64,
    /// Called new among the truly new.
    pub new_recall: f64,
    /// Returning patients called new: they would get a second UHID.
    pub returning_called_new: usize,
    pub wrong_links_by_kind: BTreeMap<OutageKind, usize>,
    pub linked_by_basis: BTreeMap<LinkBasis, usize>,
    /// Outcomes per kind: (linked, review, new).
    pub outcomes_by_kind: BTreeMap<OutageKind, (usize, usize, usize)>,
}

/// Judges `verdicts` (keys are positions in `set.outage`) against the truth. A link to any
/// central record of the true person is correct.
pub fn evaluate_links(set: &LinkSet, verdicts: &[LinkVerdict<u64>]) -> LinkQuality {
    let by_key: HashMap<u64, &LinkVerdict<u64>> = verdicts.iter().map(|v| (v.patient, v)).collect();
    let mut q = LinkQuality {
        outage: set.outage.len(),
        returning: 0,
        linked: 0,
        review: 0,
        new: 0,
        correct_links: 0,
        wrong_links: 0,
        auto_precision: 1.0,
        auto_recall: 1.0,
        recall_with_review: 1.0,
        review_share: 0.0,
        new_precision: 1.0,
        new_recall: 1.0,
        returning_called_new: 0,
        wrong_links_by_kind: BTreeMap::new(),
        linked_by_basis: BTreeMap::new(),
        outcomes_by_kind: BTreeMap::new(),
    };
    let (mut reviewed_right, mut truly_new, mut new_right) = (0, 0, 0);
    for (i, input) in set.outage.iter().enumerate() {
        let truth = set.truth[i].as_deref();
        let kind = set.kind[i];
        q.returning += usize::from(truth.is_some());
        truly_new += usize::from(truth.is_none());
        let Some(v) = by_key.get(&input.record.key) else {
            continue;
        };
        let is_true = |u: &str| truth.is_some_and(|t| t.iter().any(|x| x == u));
        let per_kind = q.outcomes_by_kind.entry(kind).or_insert((0, 0, 0));
        match v.outcome {
            LinkOutcome::Linked => {
                q.linked += 1;
                per_kind.0 += 1;
                let first = v.candidates.first();
                if let Some(c) = first {
                    *q.linked_by_basis.entry(c.basis).or_insert(0) += 1;
                }
                if first.is_some_and(|c| is_true(&c.uhid)) {
                    q.correct_links += 1;
                } else {
                    q.wrong_links += 1;
                    *q.wrong_links_by_kind.entry(kind).or_insert(0) += 1;
                }
            }
            LinkOutcome::Review => {
                q.review += 1;
                per_kind.1 += 1;
                reviewed_right += usize::from(v.candidates.iter().any(|c| is_true(&c.uhid)));
            }
            LinkOutcome::New => {
                q.new += 1;
                per_kind.2 += 1;
                new_right += usize::from(truth.is_none());
                q.returning_called_new += usize::from(truth.is_some());
            }
        }
    }
    let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
    q.auto_precision = ratio(q.correct_links, q.linked);
    q.auto_recall = ratio(q.correct_links, q.returning);
    q.recall_with_review = ratio(q.correct_links + reviewed_right, q.returning);
    q.review_share = ratio(q.review, q.outage);
    q.new_precision = ratio(new_right, q.new);
    q.new_recall = ratio(new_right, truly_new);
    q
}

/// Prepares every record the way the linker does and nothing more, on `threads` threads: the
/// least any linker over these records must pay. Returns the number of name tokens seen, so the
/// work cannot be optimised away. For benchmarks.
pub fn prepare_only(records: &[Record<String>], threads: usize) -> usize {
    let count = |part: &[Record<String>]| {
        part.iter()
            .map(|r| crate::prepare::Prepared::new(r).name.toks.len())
            .sum::<usize>()
    };
    let threads = threads.max(1);
    if threads == 1 || records.len() < 512 {
        return count(records);
    }
    let chunk = records.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks(chunk)
            .map(|part| s.spawn(move || count(part)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mistyped_uhid_differs_by_one_slip() {
        let mut rng = Rng::new(9);
        for _ in 0..500 {
            let u = uhid(100_000 + rng.below(900_000) as u64);
            let m = mistype(&mut rng, &u);
            assert_ne!(m, u);
            assert_eq!(m.len(), u.len());
            assert!(m.starts_with("DHP"));
            let diff: Vec<usize> = (0..u.len())
                .filter(|&i| u.as_bytes()[i] != m.as_bytes()[i])
                .collect();
            let swapped = diff.len() == 2
                && diff[1] == diff[0] + 1
                && u.as_bytes()[diff[0]] == m.as_bytes()[diff[1]];
            assert!(diff.len() == 1 || swapped, "{u} -> {m}");
        }
    }

    #[test]
    fn the_set_has_the_promised_shape() {
        let set = generate_link_set(&LinkSynthConfig::new(3_000, 1_000, 4));
        assert!(set.central.len() >= 3_000 && set.outage.len() == 1_000);
        let uhids: std::collections::HashSet<&str> =
            set.central.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(uhids.len(), set.central.len(), "UHIDs are unique");
        for (i, kind) in set.kind.iter().enumerate() {
            assert_eq!(kind.returning(), set.truth[i].is_some());
            for u in set.truth[i].iter().flatten() {
                assert!(uhids.contains(u.as_str()));
            }
            let claimed = set.outage[i].claimed.as_deref();
            match kind {
                OutageKind::Card => {
                    assert!(claimed.is_some_and(|c| set.truth[i].iter().flatten().any(|u| u == c)))
                }
                OutageKind::MistypedCard => {
                    assert!(claimed.is_some_and(|c| set.truth[i].iter().flatten().all(|u| u != c)))
                }
                OutageKind::RelativeWithCard => assert!(claimed.is_some_and(|c| uhids.contains(c))),
                _ => assert!(claimed.is_none()),
            }
        }
        let share = |k: OutageKind| set.kind.iter().filter(|&&x| x == k).count() as f64 / 1_000.0;
        assert!(
            (0.30..0.40).contains(&share(OutageKind::Card)),
            "{}",
            share(OutageKind::Card)
        );
        assert!((0.25..0.35).contains(&share(OutageKind::New)));
    }
}
