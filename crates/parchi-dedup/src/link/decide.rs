//! The decision about one patient, once the whole index has streamed past: card, then ABHA,
//! then the scorer's evidence.

use super::index::{
    Central, Kept, PatientIndex, PatientState, card_mismatches, logit, same_household,
};
use super::names::{initial_for_given, names_contradict};
use super::{CardMismatch, LinkBasis, LinkCandidate, LinkConfig, LinkNote, LinkOutcome};
use crate::name::SimCache;
use crate::prepare::Prepared;
use crate::score;
use crate::{Reason, Verdict};
use std::sync::Arc;

/// Candidates reported per patient.
const REPORTED: usize = 3;

pub struct Decision {
    pub outcome: LinkOutcome,
    pub candidates: Vec<LinkCandidate>,
    pub notes: Vec<LinkNote>,
}

/// A kept central record scored with the final frequencies.
struct Scored {
    central: Arc<Central>,
    /// The central record with what the stream taught about its names.
    prepared: Prepared,
    score: f64,
    reasons: Vec<Reason>,
    held_back: bool,
    card: bool,
    abha: bool,
    /// For card and ABHA records: how they differ sharply from the patient.
    warnings: Vec<CardMismatch>,
    /// The names do not contradict each other (see [`names_contradict`]).
    names_fit: bool,
}

impl Scored {
    fn uhid(&self) -> &str {
        &self.central.uhid
    }

    /// Fit to be linked on an identifier (card, ABHA): same sex, plausible age, names that fit,
    /// and no second ABHA number saying otherwise.
    fn sane(&self) -> bool {
        self.warnings.is_empty() && self.names_fit && !self.reasons.contains(&Reason::DifferentAbha)
    }

    /// [`Scored::sane`], and when the name gives only an initial (so it cannot contradict a
    /// sister's card) the scorer does not hold the pair back either: then the age must vouch.
    fn sane_for(&self, patient: &Prepared) -> bool {
        self.sane() && !(self.held_back && initial_for_given(&patient.name, &self.prepared.name))
    }

    /// Of the patient's household and age under another name (see `index::same_household`).
    fn same_household(&self) -> bool {
        same_household(&self.reasons)
    }

    /// Shares a contact detail with the patient: a mobile, an address or an ABHA. Without one,
    /// the match rests on what namesakes share by chance (name, guardian's name, age, PIN).
    fn contact(&self) -> bool {
        self.reasons.iter().any(|r| {
            matches!(
                r,
                Reason::SameMobile | Reason::SameAddress | Reason::SameAbha
            )
        })
    }
}

/// One patient's case: the patient, the kept records scored again, and the notes so far.
struct Judge<'a> {
    index: &'a PatientIndex,
    i: usize,
    cfg: &'a LinkConfig,
    cache: &'a mut SimCache,
    scored: Vec<Scored>,
    notes: Vec<LinkNote>,
}

/// Decides about patient `i` from what it met in the stream.
pub fn decide(
    index: &PatientIndex,
    i: usize,
    state: PatientState,
    cfg: &LinkConfig,
    cache: &mut SimCache,
) -> Decision {
    let scored = rescore(index, &index.patients[i], state, cfg, cache);
    let mut j = Judge {
        index,
        i,
        cfg,
        cache,
        scored,
        notes: Vec::new(),
    };
    let rejected_card = match j.card() {
        Ok(linked) => return linked,
        Err(rejected) => rejected,
    };
    if let Some(d) = j.abha(rejected_card) {
        return d;
    }
    j.probable(rejected_card)
}

/// Every kept record once, scored again with the final frequencies, best first.
fn rescore(
    index: &PatientIndex,
    patient: &Prepared,
    state: PatientState,
    cfg: &LinkConfig,
    cache: &mut SimCache,
) -> Vec<Scored> {
    let card_uhid = state.card.as_ref().map(|k| k.central.uhid.clone());
    let abha: Vec<String> = state.abha.iter().map(|k| k.central.uhid.clone()).collect();
    let mut kept: Vec<Kept> = state.card.into_iter().chain(state.abha).collect();
    kept.extend(state.top);
    kept.sort_by(|a, b| a.central.uhid.cmp(&b.central.uhid));
    kept.dedup_by(|a, b| a.central.uhid == b.central.uhid);
    let mut out: Vec<Scored> = kept
        .into_iter()
        .map(|k| {
            let mut prepared = k.central.prepared.clone();
            index.teach(&mut prepared);
            let p = &prepared;
            let a = score::assess_bounded(patient, p, &cfg.scoring, cache, f64::NEG_INFINITY);
            let card = card_uhid.as_deref() == Some(k.central.uhid.as_str());
            let abha = abha.contains(&k.central.uhid);
            let warnings = if card || abha {
                let (at_counter, central) =
                    ((patient.sex, patient.birth_year), (p.sex, p.birth_year));
                card_mismatches(at_counter, central, cfg)
            } else {
                Vec::new()
            };
            let names_fit = !names_contradict(&patient.name, &p.name, cache);
            let (score, reasons, held_back) = a.map_or((0.0, Vec::new(), true), |a| {
                (a.score, a.reasons, a.held_back)
            });
            Scored {
                central: k.central,
                prepared,
                score,
                reasons,
                held_back,
                card,
                abha,
                warnings,
                names_fit,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.uhid().cmp(b.uhid()))
    });
    out
}

impl Judge<'_> {
    /// Rule 1: the card. `Ok` when linked on it; otherwise the position of a rejected card's
    /// record, if one was found.
    fn card(&mut self) -> Result<Decision, Option<usize>> {
        let patient = &self.index.patients[self.i];
        match self.scored.iter().position(|s| s.card) {
            Some(c) if self.scored[c].sane_for(patient) => Ok(self.linked(c, LinkBasis::Card)),
            Some(c) => {
                self.notes.push(if self.scored[c].warnings.is_empty() {
                    LinkNote::CardNameDiffers
                } else {
                    LinkNote::CardMismatch
                });
                Err(Some(c))
            }
            None => {
                if self.index.claimed_by[self.i].is_some() {
                    self.notes.push(LinkNote::ClaimedNotInIndex);
                }
                Err(None)
            }
        }
    }

    /// Rule 2: the best sane record with the patient's ABHA, unless the number is on records of
    /// several people.
    fn abha(&mut self, rejected_card: Option<usize>) -> Option<Decision> {
        let patient = &self.index.patients[self.i];
        let found: Vec<usize> = (0..self.scored.len())
            .filter(|&j| {
                let s = &self.scored[j];
                s.abha && s.sane_for(patient) && Some(j) != rejected_card
            })
            .collect();
        let (&best, rest) = found.split_first()?;
        if rest.iter().all(|&j| self.one_person(best, j)) {
            return Some(self.linked(best, LinkBasis::Abha));
        }
        self.notes.push(LinkNote::AbhaOnSeveralPeople);
        Some(self.finish(LinkOutcome::Review, None))
    }

    /// Rule 3: the scorer's evidence. A rejected card's record is never linked on, and leaves
    /// the patient in review at least.
    fn probable(mut self, rejected_card: Option<usize>) -> Decision {
        let at_least = if rejected_card.is_some() {
            LinkOutcome::Review
        } else {
            LinkOutcome::New
        };
        let Some(best) = (0..self.scored.len()).find(|&j| Some(j) != rejected_card) else {
            return self.finish(at_least, None);
        };
        let b = &self.scored[best];
        // An initial fits every brother; the same birth year still tells them apart (twins
        // aside), unless the initial also fits someone else in the index.
        let initial = initial_for_given(&self.index.patients[self.i].name, &b.prepared.name);
        let initial_only = initial && !b.reasons.contains(&Reason::SameBirthYear);
        let needed = if b.contact() {
            self.cfg.auto_threshold
        } else {
            self.cfg.demographic_threshold.max(self.cfg.auto_threshold)
        };
        if b.score >= needed && !b.held_back && !initial_only {
            if initial && self.initial_fits_another(best) {
                self.notes.push(LinkNote::InitialFitsSeveral);
                return self.finish(LinkOutcome::Review, None);
            }
            if self.clear_of_rivals(best) {
                return self.linked(best, LinkBasis::Probable);
            }
            self.notes.push(LinkNote::CloseRival);
            return self.finish(LinkOutcome::Review, None);
        }
        if b.score >= self.cfg.review_threshold {
            return self.finish(LinkOutcome::Review, None);
        }
        let household = (0..self.scored.len())
            .find(|&j| Some(j) != rejected_card && self.scored[j].same_household());
        if let Some(h) = household {
            self.notes.push(LinkNote::SameHousehold);
            return self.finish(LinkOutcome::Review, Some((h, LinkBasis::Probable)));
        }
        self.finish(at_least, None)
    }

    /// Whether `best` leads the best record of anyone else by the margin. Other records of the
    /// same person (the index's own duplicates) are not rivals.
    fn clear_of_rivals(&mut self, best: usize) -> bool {
        let Some(rival) = (0..self.scored.len())
            .filter(|&j| j != best)
            .find(|&j| !self.one_person(best, j))
        else {
            return true;
        };
        logit(self.scored[best].score) - logit(self.scored[rival].score) >= self.cfg.margin
    }

    /// Whether the patient's initial also fits another person's record well enough to review
    /// ("R. Arora" against the brothers Rajesh and Radheshyam Arora), as the duplicate finder
    /// holds back an initial that fits two people.
    fn initial_fits_another(&mut self, best: usize) -> bool {
        let patient = &self.index.patients[self.i];
        let fits: Vec<usize> = (0..self.scored.len())
            .filter(|&j| {
                let s = &self.scored[j];
                j != best
                    && s.score >= self.cfg.review_threshold
                    && initial_for_given(&patient.name, &s.prepared.name)
            })
            .collect();
        fits.into_iter().any(|j| !self.one_person(best, j))
    }

    /// Whether two central records are one person: the scorer calls them a likely duplicate and
    /// they share an identifier whose frequency is known (so the discounts a full scan would
    /// apply for common names cannot be missing): the same ABHA, the same address, or the
    /// patient's own mobile when few records carry it.
    fn one_person(&mut self, a: usize, b: usize) -> bool {
        let (pa, pb) = (&self.scored[a].prepared, &self.scored[b].prepared);
        let Some(x) =
            score::assess_bounded(pa, pb, &self.cfg.scoring, self.cache, f64::NEG_INFINITY)
        else {
            return false;
        };
        let patient = &self.index.patients[self.i];
        let rare_own_mobile = pa.mobile.is_some()
            && pa.mobile == patient.mobile
            && self.index.mobile_count(self.i) as usize <= self.cfg.scoring.max_mobile_records;
        x.verdict(&self.cfg.scoring) == Verdict::Likely
            && x.reasons.iter().any(|r| match r {
                Reason::SameAbha | Reason::SameAddress => true,
                Reason::SameMobile => rare_own_mobile,
                _ => false,
            })
    }

    /// Linked to record `j`; other records of the same person that fit are reported beside it.
    fn linked(&mut self, j: usize, basis: LinkBasis) -> Decision {
        let several = (0..self.scored.len()).any(|k| {
            k != j && self.scored[k].score >= self.cfg.review_threshold && self.one_person(j, k)
        });
        if several {
            self.notes.push(LinkNote::SeveralRecordsOfOnePerson);
        }
        self.finish(LinkOutcome::Linked, Some((j, basis)))
    }

    /// The reported candidates: the linked record first, then the rest best first; records
    /// below the review threshold only when a card or an ABHA points at them. The card's record
    /// is always reported when it was found: the reviewer must see what the clerk typed.
    fn finish(&mut self, outcome: LinkOutcome, primary: Option<(usize, LinkBasis)>) -> Decision {
        let scored = &self.scored;
        let first = primary.map(|p| p.0);
        let mut order: Vec<usize> = first.into_iter().collect();
        order.extend((0..scored.len()).filter(|&k| {
            Some(k) != first
                && (scored[k].score >= self.cfg.review_threshold
                    || scored[k].card
                    || scored[k].abha)
        }));
        if let Some(c) = order.iter().position(|&k| scored[k].card)
            && c >= REPORTED
        {
            let card = order.remove(c);
            order.insert(REPORTED - 1, card);
        }
        order.truncate(REPORTED);
        let candidates = order
            .into_iter()
            .map(|k| {
                let s = &scored[k];
                let basis = match primary {
                    Some((p, basis)) if p == k => basis,
                    _ if s.card => LinkBasis::Card,
                    _ if s.abha => LinkBasis::Abha,
                    _ => LinkBasis::Probable,
                };
                LinkCandidate {
                    uhid: s.central.uhid.clone(),
                    score: s.score,
                    basis,
                    reasons: s.reasons.clone(),
                    warnings: s.warnings.clone(),
                }
            })
            .collect();
        let mut notes = std::mem::take(&mut self.notes);
        notes.sort_unstable();
        notes.dedup();
        Decision {
            outcome,
            candidates,
            notes,
        }
    }
}
