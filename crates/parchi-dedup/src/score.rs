//! Scoring a pair: evidence added up as log-odds points, squashed to 0–1.
//!
//! Points are a hand-set Fellegi–Sunter model: each field that agrees adds what agreement on it
//! is worth (a shared guardian's name is strong; a shared PIN is weak, because neighbours share
//! it), each field that disagrees subtracts what disagreement costs (a different mobile costs
//! little: people change numbers; a different sex costs a lot). The weights were set from what
//! duplicates and relatives look like at an Indian OPD, then checked on the labelled sample and
//! on synthetic sets (`BENCH_NOTES.md`).

use crate::name::{self, NameKey, NameMatch};
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
fn names_person(guardian: &NameKey, person: &NameKey) -> bool {
    if guardian.is_empty() || person.is_empty() {
        return false;
    }
    let m = name::compare(guardian, person);
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
    one_sided && name::token_similarity(g, p) >= 0.9
}

/// Weighs the evidence about a pair (see the module docs).
pub fn assess(a: &Prepared, b: &Prepared, cfg: &Config) -> Assessment {
    let mut points = PRIOR;
    let mut reasons = Vec::with_capacity(8);

    if let (Some(x), Some(y)) = (&a.abha, &b.abha) {
        if x == y {
            points += 8.0;
            reasons.push(Reason::SameAbha);
        } else {
            points -= 6.0;
            reasons.push(Reason::DifferentAbha);
        }
    }

    if let (Some(x), Some(y)) = (a.mobile, b.mobile) {
        if x == y {
            let records = a.mobile_count.max(b.mobile_count);
            if records as usize > cfg.max_mobile_records {
                points += 0.3;
                reasons.push(Reason::CommonMobile { records });
            } else {
                points += 2.5;
                reasons.push(Reason::SameMobile);
            }
        } else {
            points -= 0.5;
            reasons.push(Reason::DifferentMobile);
        }
    }

    let nm: NameMatch = name::compare(&a.name, &b.name);
    let near_miss = nm.conflict && nm.any_match && !nm.distinct && nm.nearest_unmatched >= 0.7;
    if near_miss {
        // "Kaaja" / "Kajal": a token each side does not match, but nearly does, and neither is
        // a known name. Held back (the conflict stands) but kept for review: it may be one
        // person written badly.
        points += ((nm.matched_similarity - 0.75) * 22.0).clamp(-12.0, 5.5) - 1.0;
        reasons.push(Reason::NameDiffers {
            similarity: round2(nm.similarity),
        });
    } else if nm.conflict || !nm.any_match {
        // Two different names: judged on everything, so siblings who share a surname score low.
        points += ((nm.similarity - 0.75) * 22.0).clamp(-12.0, 5.5);
        reasons.push(Reason::NameDiffers {
            similarity: round2(nm.similarity),
        });
    } else {
        // One name, perhaps with a part left off: judged on the parts both records have, with a
        // price for each part only one of them has.
        points += ((nm.matched_similarity - 0.75) * 22.0).clamp(-12.0, 5.5);
        points -= 1.5 * f64::from(nm.missing.min(3));
        if nm.exact {
            reasons.push(Reason::SameName);
        } else {
            reasons.push(Reason::NameSimilar {
                similarity: round2(nm.matched_similarity),
            });
        }
        if nm.missing > 0 {
            reasons.push(Reason::NamePartMissing { parts: nm.missing });
        }
    }
    if nm.via_initial {
        points -= 0.3;
        reasons.push(Reason::InitialMatches);
    }
    if nm.conflict {
        points -= 4.0;
        reasons.push(Reason::GivenNamesDiffer);
    }
    let records = a.name_count.max(b.name_count);
    if records > 2 && !nm.conflict && nm.matched_similarity >= 0.8 {
        points -= (0.6 * (f64::from(records) / 2.0).ln()).min(2.5);
        reasons.push(Reason::CommonName { records });
    }

    let mut same_guardian = false;
    if !a.guardian.is_empty() && !b.guardian.is_empty() {
        let gm = name::compare(&a.guardian, &b.guardian);
        if gm.exact {
            same_guardian = true;
            points += 3.0;
            reasons.push(Reason::SameGuardian);
        } else if !gm.conflict && gm.any_match && gm.matched_similarity >= 0.85 {
            // "Dharmendra" and "Dharmendra Chaturvedi": one guardian, written shorter.
            same_guardian = true;
            points += if gm.missing == 0 && gm.matched_similarity >= 0.9 {
                2.5
            } else {
                1.5
            };
            reasons.push(Reason::GuardianSimilar {
                similarity: round2(gm.matched_similarity),
            });
        } else {
            points -= 2.5;
            reasons.push(Reason::DifferentGuardian);
        }
    }
    // With one guardian on both records they are the same generation: a name that fits that
    // guardian ("L. Sidhu" S/o Laksh Sidhu) or repeats it (a junior) says nothing about them.
    if !same_guardian && (names_person(&a.guardian, &b.name) || names_person(&b.guardian, &a.name))
    {
        points -= 4.0;
        reasons.push(Reason::GuardianIsOther);
    }

    if let (Some(x), Some(y)) = (a.birth_year, b.birth_year) {
        let years = x.abs_diff(y);
        let tolerance = if a.approximate || b.approximate {
            cfg.age_tolerance_approximate
        } else {
            cfg.age_tolerance_exact
        };
        if years == 0 {
            points += 1.5;
            reasons.push(Reason::SameBirthYear);
        } else if years <= tolerance {
            points += 1.2 - 0.4 * f64::from(years);
            reasons.push(Reason::AgeWithinTolerance { years });
        } else {
            points -= (1.0 + 1.5 * f64::from(years - tolerance)).min(5.0);
            reasons.push(Reason::AgeBeyondTolerance { years });
        }
    }

    if let (Some(x), Some(y)) = (a.sex, b.sex) {
        if x == y {
            points += 0.5;
            reasons.push(Reason::SameSex);
        } else {
            points -= 5.0;
            reasons.push(Reason::DifferentSex);
        }
    }

    if let (Some(x), Some(y)) = (a.pincode, b.pincode) {
        if x == y {
            points += 1.0;
            reasons.push(Reason::SamePincode);
        } else {
            points -= 1.5;
            reasons.push(Reason::DifferentPincode);
        }
    }
    if jaccard(&a.address, &b.address) >= 0.6 {
        points += 1.5;
        reasons.push(Reason::SameAddress);
    }
    if let (Some(x), Some(y)) = (&a.district, &b.district) {
        if x != y {
            // Two registrations of one person at one hospital seldom disagree on the district.
            points -= 3.0;
            reasons.push(Reason::DifferentDistrict);
        }
    }

    let held_back = reasons.iter().any(Reason::holds_back);
    let clearly_different = nm.distinct
        || reasons.iter().any(|r| {
            matches!(
                r,
                Reason::DifferentSex | Reason::GuardianIsOther | Reason::DifferentAbha
            )
        });
    Assessment {
        score: 1.0 / (1.0 + (-points).exp()),
        reasons,
        held_back,
        names_agree: !nm.conflict && nm.any_match,
        clearly_different,
    }
}

fn score_chunk(prepared: &[Prepared], pairs: &[(u32, u32)], cfg: &Config) -> Vec<Found> {
    pairs
        .iter()
        .filter_map(|&(a, b)| {
            let x = assess(&prepared[a as usize], &prepared[b as usize], cfg);
            (x.score >= cfg.review_threshold).then(|| Found {
                a,
                b,
                score: x.score,
                verdict: x.verdict(cfg),
                plausible: x.names_agree && !x.clearly_different,
                reasons: x.reasons,
            })
        })
        .collect()
}

/// Scores every pair, on `cfg.threads` threads, keeping those at or above the review threshold
/// in pair order.
pub fn score_pairs(prepared: &[Prepared], pairs: &[(u32, u32)], cfg: &Config) -> Vec<Found> {
    let threads = cfg.threads.max(1);
    if threads == 1 || pairs.len() < 50_000 {
        return score_chunk(prepared, pairs, cfg);
    }
    let chunk = pairs.len().div_ceil(threads * 8);
    let parts: Vec<Option<Vec<Found>>> = std::thread::scope(|s| {
        // Small chunks handed out round-robin keep both cores busy when one part of the pair
        // list is denser in expensive comparisons.
        let chunks: Vec<&[(u32, u32)]> = pairs.chunks(chunk).collect();
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<(usize, &[(u32, u32)])> = chunks
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % threads == t)
                    .map(|(i, c)| (i, *c))
                    .collect();
                s.spawn(move || {
                    mine.into_iter()
                        .map(|(i, c)| (i, score_chunk(prepared, c, cfg)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut by_chunk: Vec<Option<Vec<Found>>> = (0..chunks.len()).map(|_| None).collect();
        for h in handles {
            if let Ok(done) = h.join() {
                for (i, f) in done {
                    by_chunk[i] = Some(f);
                }
            }
        }
        by_chunk
    });
    // A chunk whose worker died is scored again here, so the result never depends on threads.
    parts
        .into_iter()
        .zip(pairs.chunks(chunk))
        .flat_map(|(done, c)| done.unwrap_or_else(|| score_chunk(prepared, c, cfg)))
        .collect()
}

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
