//! Scoring a pair: evidence added up as log-odds points, squashed to 0–1.
//!
//! Points are a hand-set Fellegi–Sunter model: each field that agrees adds what agreement on it
//! is worth (a shared guardian's name is strong; a shared PIN is weak, because neighbours share
//! it), each field that disagrees subtracts what disagreement costs (a different mobile costs
//! little: people change numbers; a different sex costs a lot). The weights were set from what
//! duplicates and relatives look like at an Indian OPD, then checked on the labelled sample and
//! on synthetic sets (`BENCH_NOTES.md`).

use crate::block::Plan;
use crate::name::{self, NameKey, NameMatch, SimCache};
use crate::prepare::Prepared;
use crate::text::jaccard;
use crate::{Config, Reason, Verdict};
use std::collections::HashMap;

/// Before any evidence, a pair that shares a blocking key is more likely two people.
const PRIOR: f64 = -5.0;

/// A scored pair, by input position.
pub struct Found {
    pub a: u32,
    pub b: u32,
    pub score: f64,
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    /// Names agree and nothing says these are certainly two people.
    pub plausible: bool,
}

/// The evidence about one pair.
pub struct Assessment {
    pub score: f64,
    pub reasons: Vec<Reason>,
    /// Some reason holds the pair back from [`Verdict::Likely`].
    pub held_back: bool,
    /// The names agree (no token on each side that the other lacks).
    pub names_agree: bool,
    /// Certainly two people: two established, different given names, different sex, one the
    /// other's guardian, or two ABHA numbers.
    pub clearly_different: bool,
}

impl Assessment {
    pub fn verdict(&self, cfg: &Config) -> Verdict {
        if !self.held_back && self.score >= cfg.likely_threshold {
            Verdict::Likely
        } else {
            Verdict::Review
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Whether a guardian's name is this person's name: the guardian line names the other record.
fn names_person(guardian: &NameKey, person: &NameKey, cache: &mut SimCache) -> bool {
    if guardian.is_empty() || person.is_empty() {
        return false;
    }
    let m = name::compare_cached(guardian, person, cache);
    if m.conflict || m.via_initial {
        // An initial ("A. Ansari") fits too many people to say who is whose guardian.
        return false;
    }
    if m.similarity >= 0.88 {
        return true;
    }
    // "S/o Ramesh" against "Ramesh Sharma": the guardian line often has the given name only.
    let (Some(g), Some(p)) = (guardian.given_full(), person.given_full()) else {
        return false;
    };
    let one_sided = guardian.surname().is_none() || person.surname().is_none();
    one_sided && cache.similarity(g, p) >= 0.9
}

/// The most each later stage can still add, for stopping early on pairs that cannot reach the
/// review threshold (most blocked pairs are plainly two people).
const MAX_NAME: f64 = 5.5;
const MAX_GUARDIAN: f64 = 3.0;

/// Namesakes cluster: people called alike tend to have fathers called alike (same community,
/// same naming pool), so chance agreement on the guardian is this many times likelier than the
/// guardian's share of all records suggests.
const GUARDIAN_SHARE_SCALE: f64 = 20.0;

/// Weighs the evidence about a pair (see the module docs).
pub fn assess(a: &Prepared, b: &Prepared, cfg: &Config) -> Assessment {
    let mut cache = SimCache::new(0);
    assess_bounded(a, b, cfg, &mut cache, f64::NEG_INFINITY).unwrap_or(Assessment {
        score: 0.0,
        reasons: Vec::new(),
        held_back: true,
        names_agree: false,
        clearly_different: false,
    })
}

/// Birth years closer than this are one generation: neither can be the other's guardian.
const GUARDIAN_GAP_YEARS: u32 = 12;

/// [`assess`], giving up (`None`) as soon as the points cannot reach `floor` any more.
pub fn assess_bounded(
    a: &Prepared,
    b: &Prepared,
    cfg: &Config,
    cache: &mut SimCache,
    floor: f64,
) -> Option<Assessment> {
    let mut points = PRIOR;
    // Cheap fields first; the reasons are put in reading order at the end.
    let mut abha = None;
    if let (Some(x), Some(y)) = (a.abha, b.abha) {
        if x == y {
            points += 8.0;
            abha = Some(Reason::SameAbha);
        } else {
            points -= 6.0;
            abha = Some(Reason::DifferentAbha);
        }
    }
    let mut mobile = None;
    if let (Some(x), Some(y)) = (a.mobile, b.mobile) {
        if x == y {
            let records = a.mobile_count.max(b.mobile_count);
            if records as usize > cfg.max_mobile_records {
                points += 0.3;
                mobile = Some(Reason::CommonMobile { records });
            } else {
                points += 2.5;
                mobile = Some(Reason::SameMobile);
            }
        } else {
            points -= 0.5;
            mobile = Some(Reason::DifferentMobile);
        }
    }
    let mut age = None;
    if let (Some(x), Some(y)) = (a.birth_year, b.birth_year) {
        let years = x.abs_diff(y);
        let tolerance = if a.approximate || b.approximate {
            cfg.age_tolerance_approximate
        } else {
            cfg.age_tolerance_exact
        };
        if years == 0 {
            points += 1.5;
            age = Some(Reason::SameBirthYear);
        } else if years <= tolerance {
            points += 1.2 - 0.4 * f64::from(years);
            age = Some(Reason::AgeWithinTolerance { years });
        } else {
            points -= (1.0 + 1.5 * f64::from(years - tolerance)).min(5.0);
            age = Some(Reason::AgeBeyondTolerance { years });
        }
    }
    let mut sex = None;
    if let (Some(x), Some(y)) = (a.sex, b.sex) {
        if x == y {
            points += 0.5;
            sex = Some(Reason::SameSex);
        } else {
            points -= 5.0;
            sex = Some(Reason::DifferentSex);
        }
    }
    let mut pin = None;
    if let (Some(x), Some(y)) = (a.pincode, b.pincode) {
        if x == y {
            points += 1.0;
            pin = Some(Reason::SamePincode);
        } else {
            points -= 2.0;
            pin = Some(Reason::DifferentPincode);
        }
    }
    let mut address = None;
    if jaccard(a.address(), b.address()) >= 0.6 {
        points += 1.5;
        address = Some(Reason::SameAddress);
    }
    let mut district = None;
    // The district, or the state when a district is missing.
    let places = match (a.district, b.district) {
        (Some(x), Some(y)) => Some((x, y)),
        _ => a.state.zip(b.state),
    };
    if let Some((x, y)) = places
        && x != y
    {
        // Two registrations of one person at one hospital seldom disagree on the district.
        points -= 3.0;
        district = Some(Reason::DifferentDistrict);
    }
    if points + MAX_NAME + MAX_GUARDIAN < floor {
        return None;
    }

    let mut name_reasons: Vec<Reason> = Vec::with_capacity(4);
    let nm: NameMatch = name::compare_cached(&a.name, &b.name, cache);
    let near_miss = nm.conflict && nm.any_match && !nm.distinct && nm.nearest_unmatched >= 0.7;
    if near_miss {
        // "Kaaja" / "Kajal": a token each side does not match, but nearly does, and neither is
        // a known name. Held back (the conflict stands) but kept for review: it may be one
        // person written badly.
        points += ((nm.matched_similarity - 0.75) * 22.0).clamp(-12.0, MAX_NAME) - 1.0;
        name_reasons.push(Reason::NameDiffers {
            similarity: round2(nm.similarity),
        });
    } else if nm.conflict || !nm.any_match {
        // Two different names: judged on everything, so siblings who share a surname score low.
        points += ((nm.similarity - 0.75) * 22.0).clamp(-12.0, MAX_NAME);
        name_reasons.push(Reason::NameDiffers {
            similarity: round2(nm.similarity),
        });
    } else {
        // One name, perhaps with a part left off: judged on the parts both records have, with a
        // price for each part only one of them has.
        points += ((nm.matched_similarity - 0.75) * 22.0).clamp(-12.0, MAX_NAME);
        points -= 1.5 * f64::from(nm.missing.min(3));
        if nm.exact {
            name_reasons.push(Reason::SameName);
        } else {
            name_reasons.push(Reason::NameSimilar {
                similarity: round2(nm.matched_similarity),
            });
        }
        if nm.missing > 0 {
            name_reasons.push(Reason::NamePartMissing { parts: nm.missing });
        }
    }
    if nm.via_initial {
        points -= 0.3;
        name_reasons.push(Reason::InitialMatches);
    }
    if nm.conflict {
        points -= 4.0;
        name_reasons.push(Reason::GivenNamesDiffer);
    }
    if points + MAX_GUARDIAN < floor {
        return None;
    }

    let mut guardian = None;
    let mut same_guardian = false;
    if !a.guardian.is_empty() && !b.guardian.is_empty() {
        let gm = name::compare_cached(&a.guardian, &b.guardian, cache);
        if gm.exact {
            same_guardian = true;
            points += 3.0;
            guardian = Some(Reason::SameGuardian);
        } else if !gm.conflict && gm.any_match && gm.matched_similarity >= 0.85 {
            // "Dharmendra" and "Dharmendra Chaturvedi": one guardian, written shorter.
            same_guardian = true;
            points += if gm.missing == 0 && gm.matched_similarity >= 0.9 {
                2.5
            } else {
                1.5
            };
            guardian = Some(Reason::GuardianSimilar {
                similarity: round2(gm.matched_similarity),
            });
        } else {
            points -= 2.5;
            guardian = Some(Reason::DifferentGuardian);
        }
    }
    // A common name ("Rakesh Kumar", "Manpreet Kaur") agreeing says less: there are many such
    // people. What counts is how many namesakes one would expect to agree by chance: none once
    // the phone or the house agrees; among those with the same guardian's name, the namesakes
    // times the share of records naming that guardian ("Harpreet Singh S/o Gurdeep Singh" is
    // not rare in Punjab); otherwise all of them.
    let records = a.name_count.max(b.name_count);
    let owned = matches!(mobile, Some(Reason::SameMobile))
        || matches!(abha, Some(Reason::SameAbha))
        || address.is_some();
    if records > 2 && !owned && !nm.conflict && nm.matched_similarity >= 0.8 {
        let others = f64::from(records - 2);
        let expected = if same_guardian {
            others * a.guardian_share.max(b.guardian_share) * GUARDIAN_SHARE_SCALE
        } else {
            others
        };
        let penalty = (0.8 * expected.ln_1p()).min(2.5);
        if penalty >= 0.1 {
            points -= penalty;
            name_reasons.push(Reason::CommonName { records });
        }
    }
    if points < floor {
        return None;
    }
    // With one guardian on both records they are the same generation: a name that fits that
    // guardian ("L. Sidhu" S/o Laksh Sidhu) or repeats it (a junior) says nothing about them.
    // A guardian (a parent, a husband, whoever looks after them) is not the same age as the
    // one they look after: with both birth years known and close, a guardian line that repeats
    // the other record's name is a junior named after the father, not the father himself.
    let same_generation = matches!((a.birth_year, b.birth_year), (Some(x), Some(y)) if x.abs_diff(y) < GUARDIAN_GAP_YEARS);
    let mut guardian_is_other = None;
    if !same_guardian
        && !same_generation
        && (names_person(&a.guardian, &b.name, cache) || names_person(&b.guardian, &a.name, cache))
    {
        points -= 4.0;
        guardian_is_other = Some(Reason::GuardianIsOther);
    }

    let mut reasons = Vec::with_capacity(12);
    reasons.extend(abha);
    reasons.extend(mobile);
    reasons.append(&mut name_reasons);
    reasons.extend(guardian);
    reasons.extend(guardian_is_other);
    reasons.extend(age);
    reasons.extend(sex);
    reasons.extend(pin);
    reasons.extend(address);
    reasons.extend(district);
    let held_back = reasons.iter().any(Reason::holds_back);
    let clearly_different = nm.distinct
        || reasons.iter().any(|r| {
            matches!(
                r,
                Reason::DifferentSex | Reason::GuardianIsOther | Reason::DifferentAbha
            )
        });
    Some(Assessment {
        score: 1.0 / (1.0 + (-points).exp()),
        reasons,
        held_back,
        names_agree: !nm.conflict && nm.any_match,
        clearly_different,
    })
}

/// The log-odds points a score corresponds to.
fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    (p / (1.0 - p)).ln()
}

/// Scores the pairs of blocks `range` of the plan (each pair once: in the first block its two
/// records share), keeping those at or above the review threshold.
fn score_blocks(
    prepared: &[Prepared],
    plan: &Plan,
    range: std::ops::Range<usize>,
    cfg: &Config,
) -> (Vec<Found>, usize) {
    let mut cache = SimCache::new(16);
    let floor = logit(cfg.review_threshold);
    let mut found = Vec::new();
    let mut compared = 0usize;
    for j in range {
        let block = plan.block(j);
        for (i, &a) in block.iter().enumerate() {
            for &b in &block[i + 1..] {
                if plan.first_shared_block(a, b) != Some(j as u32) {
                    continue;
                }
                compared += 1;
                let Some(x) = assess_bounded(
                    &prepared[a as usize],
                    &prepared[b as usize],
                    cfg,
                    &mut cache,
                    floor,
                ) else {
                    continue;
                };
                if x.score >= cfg.review_threshold {
                    found.push(Found {
                        a,
                        b,
                        score: x.score,
                        verdict: x.verdict(cfg),
                        plausible: x.names_agree && !x.clearly_different,
                        reasons: x.reasons,
                    });
                }
            }
        }
    }
    (found, compared)
}

/// Scores every planned pair on `cfg.threads` threads. The result is sorted by `(a, b)` and
/// does not depend on the thread count. Also returns how many pairs were compared.
pub fn score_plan(prepared: &[Prepared], plan: &Plan, cfg: &Config) -> (Vec<Found>, usize) {
    let threads = cfg.threads.max(1);
    let n = plan.block_count();
    let (mut found, compared) = if threads == 1 || n < 1_000 {
        score_blocks(prepared, plan, 0..n, cfg)
    } else {
        // Contiguous runs of blocks with about equal numbers of pairs, several per thread, handed
        // out round-robin so both cores stay busy.
        let parts = threads * 8;
        let total: usize = (0..n).map(|j| plan.block_pairs(j)).sum();
        let per = total.div_ceil(parts).max(1);
        let mut ranges = Vec::with_capacity(parts + 1);
        let (mut start, mut acc) = (0, 0);
        for j in 0..n {
            acc += plan.block_pairs(j);
            if acc >= per {
                ranges.push(start..j + 1);
                start = j + 1;
                acc = 0;
            }
        }
        if start < n {
            ranges.push(start..n);
        }
        let results: Vec<Option<(Vec<Found>, usize)>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let mine: Vec<(usize, std::ops::Range<usize>)> = ranges
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % threads == t)
                        .map(|(i, r)| (i, r.clone()))
                        .collect();
                    s.spawn(move || {
                        mine.into_iter()
                            .map(|(i, r)| (i, score_blocks(prepared, plan, r, cfg)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut by_range: Vec<Option<(Vec<Found>, usize)>> =
                (0..ranges.len()).map(|_| None).collect();
            for h in handles {
                if let Ok(done) = h.join() {
                    for (i, r) in done {
                        by_range[i] = Some(r);
                    }
                }
            }
            by_range
        });
        // A range whose worker died is scored again here, so the result never depends on threads.
        let mut found = Vec::new();
        let mut compared = 0;
        for (r, range) in results.into_iter().zip(ranges) {
            let (f, c) = r.unwrap_or_else(|| score_blocks(prepared, plan, range, cfg));
            found.extend(f);
            compared += c;
        }
        (found, compared)
    };
    found.sort_unstable_by_key(|f| (f.a, f.b));
    (found, compared)
}

/// More plausible partners than this make a record ambiguous without further checks (and keep
/// the pairwise check below from growing quadratically).
const MAX_PLAUSIBLE_PARTNERS: usize = 24;

/// Holds back matches that are ambiguous: when a record's name fits two records that are
/// clearly two different people (an initial "A. Arora" fitting both Archana and Anita Arora, the
/// daughters of one father), no match of it is safe to accept alone.
pub fn hold_back_ambiguous(prepared: &[Prepared], found: &mut [Found], cfg: &Config) {
    let mut partners: HashMap<u32, Vec<(u32, usize)>> = HashMap::new();
    for (i, f) in found.iter().enumerate() {
        if f.plausible {
            partners.entry(f.a).or_default().push((f.b, i));
            partners.entry(f.b).or_default().push((f.a, i));
        }
    }
    let mut ambiguous: Vec<usize> = Vec::new();
    let mut hubs: Vec<(&u32, &Vec<(u32, usize)>)> =
        partners.iter().filter(|(_, v)| v.len() >= 2).collect();
    hubs.sort_unstable_by_key(|(k, _)| **k);
    for (_, list) in hubs {
        if list.len() > MAX_PLAUSIBLE_PARTNERS {
            // A record that fits this many others ("A.", "Rakesh Kumar" with nothing else) is
            // ambiguous by itself.
            ambiguous.extend(list.iter().map(|&(_, f)| f));
            continue;
        }
        for (i, &(y, fy)) in list.iter().enumerate() {
            for &(z, fz) in &list[i + 1..] {
                let any_likely =
                    found[fy].verdict == Verdict::Likely || found[fz].verdict == Verdict::Likely;
                if !any_likely {
                    continue;
                }
                let between = assess(&prepared[y as usize], &prepared[z as usize], cfg);
                if between.clearly_different {
                    ambiguous.push(fy);
                    ambiguous.push(fz);
                }
            }
        }
    }
    ambiguous.sort_unstable();
    ambiguous.dedup();
    for i in ambiguous {
        let f = &mut found[i];
        if f.verdict == Verdict::Likely {
            f.verdict = Verdict::Review;
            f.reasons.push(Reason::AmbiguousMatch);
        }
    }
}
