//! After the outage: every Parchi patient linked to the hospital's existing record, or marked
//! new, with the uncertain ones in a review queue for an admin.
//!
//! `link` runs the matcher (`parchi_dedup::link`) over every person not yet decided (no link, a
//! claim from a card, or a rejected proposal) against this counter's whole mirror, streamed in
//! batches. Sure links and "new" verdicts are recorded as operations; the rest go to the
//! review queue, where an admin accepts, rejects or marks them new (operations too, so two
//! admins converge). Persons linked to one UHID are one person: the run merges them.

use std::collections::{BTreeMap, BTreeSet};

use parchi_core::central::CentralLink;
use parchi_core::op::{Field, OpBody, PairDecision};
use parchi_core::{LinkBasis, PatientId, Uhid};
use parchi_dedup::link::{
    LinkBasis as Basis, LinkCandidate, LinkConfig, LinkInput, LinkOutcome, LinkVerdict, Linker,
};
use parchi_store::PatientRecord;
use serde::{Deserialize, Serialize};

use crate::counter::{Counter, PatientSummary, Result, with_stamping_pub};
use crate::error::AppError;
use crate::matching::{central_record, fields_record};
use crate::returning::CentralSummary;

/// Mirror records offered to the matcher per batch.
const SCAN_BATCH: usize = 10_000;

/// The verdict about one person, as `parchi link --json` lists it.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LinkRow {
    pub patient: PatientSummary,
    /// `linked`, `review` or `new`.
    pub verdict: LinkOutcome,
    /// The hospital's record linked to (or proposed first, for review).
    pub uhid: Option<String>,
    pub score: Option<f64>,
    pub basis: Option<Basis>,
    /// Why, in words; `notes` add what a reviewer should know.
    pub reasons: Vec<String>,
    pub notes: Vec<String>,
}

/// What a link run did.
#[derive(Clone, Debug, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LinkRun {
    /// Persons the run looked at (the undecided ones).
    pub patients: usize,
    pub linked: usize,
    pub review: usize,
    pub new: usize,
    /// Persons merged because they are linked to one hospital record.
    pub merged: usize,
    /// Mirror records the persons were matched against.
    pub index_records: u64,
    pub rows: Vec<LinkRow>,
}

/// A candidate in the review queue, stored as the run found it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct QueuedCandidate {
    uhid: String,
    score: f64,
    basis: Basis,
    reasons: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Queued {
    candidates: Vec<QueuedCandidate>,
    notes: Vec<String>,
}

/// One candidate as the review screen shows it: the hospital's record beside the score.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReviewCandidate {
    pub uhid: String,
    pub score: f64,
    pub basis: Basis,
    pub reasons: Vec<String>,
    /// The hospital's record, when this counter's mirror holds it.
    pub record: Option<CentralSummary>,
}

/// What Parchi captured beyond the summary, for the approved updates of an accept.
#[derive(Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReviewDetails {
    pub locality: Option<String>,
    pub district: Option<String>,
    pub state: Option<String>,
    pub pincode: Option<String>,
    pub abha_address: Option<String>,
}

parchi_core::redacted_debug!(ReviewDetails);

/// One person waiting for an admin's decision.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReviewItem {
    pub patient: PatientSummary,
    pub details: ReviewDetails,
    pub candidates: Vec<ReviewCandidate>,
    pub notes: Vec<String>,
}

/// What a reviewer's decision did.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LinkDecision {
    pub patient: PatientSummary,
    /// Other persons merged into this one because they hold the same hospital record.
    pub merged: usize,
}

/// Fields whose value Parchi captured an admin may approve for the hospital's record.
pub const UPDATABLE: [Field; 7] = [
    Field::Mobile,
    Field::Locality,
    Field::District,
    Field::State,
    Field::Pincode,
    Field::AbhaNumber,
    Field::AbhaAddress,
];

fn basis_of(b: Basis) -> LinkBasis {
    match b {
        Basis::Card => LinkBasis::Card,
        Basis::Abha => LinkBasis::Abha,
        Basis::Probable => LinkBasis::Auto,
    }
}

fn words(c: &LinkCandidate) -> Vec<String> {
    let mut w: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
    w.extend(c.reasons.iter().map(ToString::to_string));
    w
}

fn uhid(s: &str) -> Result<Uhid> {
    Uhid::parse(s).map_err(|e| AppError::Invalid(format!("uhid: {e}")))
}

impl Counter {
    /// Links every undecided person to the hospital's index (see the module docs). Records the
    /// sure links and "new" verdicts as operations and replaces the review queue.
    pub fn link(&mut self, progress: &mut dyn FnMut(u64, u64)) -> Result<LinkRun> {
        let status = self.store().mirror_status()?;
        if status.records == 0 {
            return Err(AppError::Invalid(
                "this counter has no copy of the hospital's patient index: import one (parchi mirror import FILE) or sync with a hub that has it".into(),
            ));
        }
        let persons = self.store().all_patients()?;
        let mut undecided: Vec<(PatientRecord, Option<CentralLink>)> = Vec::new();
        let mut by_uhid: BTreeMap<Uhid, Vec<PatientId>> = BTreeMap::new();
        for p in persons {
            match self.store().person_link(p.id)? {
                Some(CentralLink::Linked { uhid, .. }) => {
                    by_uhid.entry(uhid).or_default().push(p.id)
                }
                Some(CentralLink::New) => {}
                link => undecided.push((p, link)),
            }
        }
        let inputs = undecided
            .iter()
            .enumerate()
            .map(|(i, (p, link))| LinkInput {
                record: fields_record(&p.fields, i),
                claimed: match link {
                    Some(CentralLink::Claimed { uhid }) => Some(uhid.to_string()),
                    _ => None,
                },
            })
            .collect();
        let mut linker = Linker::new(
            inputs,
            LinkConfig {
                threads: 2,
                ..LinkConfig::default()
            },
        );
        let mut after = 0;
        let mut seen = 0u64;
        loop {
            let page = self.store().mirror_scan(after, SCAN_BATCH)?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            let batch: Vec<_> = page.iter().map(|(_, c)| central_record(c)).collect();
            linker.offer(&batch);
            seen += batch.len() as u64;
            progress(seen, status.records);
        }
        let verdicts = linker.finish();
        let mut run = LinkRun {
            patients: undecided.len(),
            index_records: seen,
            ..LinkRun::default()
        };
        let mut ops = Vec::new();
        let mut queue = Vec::new();
        for v in verdicts {
            let (p, _) = &undecided[v.patient];
            let v = self.without_rejected(p.id, v)?;
            let row = self.row(p, &v);
            match v.outcome {
                LinkOutcome::Linked => {
                    if let Some(best) = v.candidates.first() {
                        let u = uhid(&best.uhid)?;
                        by_uhid.entry(u.clone()).or_default().push(p.id);
                        ops.push(OpBody::Link {
                            patient: p.id,
                            link: CentralLink::Linked {
                                uhid: u,
                                basis: basis_of(best.basis),
                                update: Vec::new(),
                            },
                            reason: format!("score {:.3}: {}", best.score, words(best).join(", ")),
                        });
                        run.linked += 1;
                    }
                }
                LinkOutcome::New => {
                    ops.push(OpBody::Link {
                        patient: p.id,
                        link: CentralLink::New,
                        reason: String::new(),
                    });
                    run.new += 1;
                }
                LinkOutcome::Review => {
                    let q = Queued {
                        candidates: v
                            .candidates
                            .iter()
                            .map(|c| QueuedCandidate {
                                uhid: c.uhid.clone(),
                                score: c.score,
                                basis: c.basis,
                                reasons: words(c),
                            })
                            .collect(),
                        notes: v.notes.iter().map(ToString::to_string).collect(),
                    };
                    let json =
                        serde_json::to_string(&q).map_err(|e| AppError::Invalid(e.to_string()))?;
                    queue.push((p.id, json));
                    run.review += 1;
                }
            }
            run.rows.push(row);
        }
        let merges = self.merges_for(&by_uhid)?;
        run.merged = merges.len();
        ops.extend(merges);
        if !ops.is_empty() {
            with_stamping_pub(self, |store, st| store.record_decisions(ops, st))?;
        }
        let now = self.now_ms();
        self.store_mut().set_link_queue(&queue, now)?;
        Ok(run)
    }

    /// Drops candidates an admin rejected for this person; a verdict left without its record
    /// goes to review (others remain) or becomes new.
    fn without_rejected(
        &self,
        p: PatientId,
        mut v: LinkVerdict<usize>,
    ) -> Result<LinkVerdict<usize>> {
        let rejected: BTreeSet<String> = self
            .store()
            .rejected_links(p)?
            .into_iter()
            .map(|u| u.to_string())
            .collect();
        if rejected.is_empty() {
            return Ok(v);
        }
        let before = v.candidates.first().map(|c| c.uhid.clone());
        v.candidates.retain(|c| !rejected.contains(&c.uhid));
        if v.candidates.first().map(|c| &c.uhid) != before.as_ref() {
            v.outcome = if v.candidates.is_empty() {
                LinkOutcome::New
            } else {
                LinkOutcome::Review
            };
        }
        Ok(v)
    }

    fn row(&self, p: &PatientRecord, v: &LinkVerdict<usize>) -> LinkRow {
        let best = v.candidates.first();
        LinkRow {
            patient: self.summary(p, None, None),
            verdict: v.outcome,
            uhid: best
                .filter(|_| v.outcome != LinkOutcome::New)
                .map(|c| c.uhid.clone()),
            score: best.map(|c| (c.score * 1000.0).round() / 1000.0),
            basis: best.map(|c| c.basis),
            reasons: best.map(words).unwrap_or_default(),
            notes: v.notes.iter().map(ToString::to_string).collect(),
        }
    }

    /// `same` decisions joining the persons linked to one hospital record, unless an admin said
    /// two of them are different people (then the pair is left for the admin).
    fn merges_for(&self, by_uhid: &BTreeMap<Uhid, Vec<PatientId>>) -> Result<Vec<OpBody>> {
        let mut out = Vec::new();
        for (u, ids) in by_uhid {
            let Some((first, rest)) = ids.split_first() else {
                continue;
            };
            for other in rest {
                if self.store().decision(*first, *other)? == Some(PairDecision::Distinct) {
                    continue;
                }
                out.push(OpBody::Decide {
                    a: *first,
                    b: *other,
                    decision: PairDecision::Same,
                    reason: format!("both linked to the hospital's record {u}"),
                });
            }
        }
        Ok(out)
    }

    /// The review queue of the last link run, each person beside the hospital records proposed.
    pub fn link_review(&self) -> Result<Vec<ReviewItem>> {
        let mut out = Vec::new();
        for (id, json) in self.store().link_queue()? {
            let Some(p) = self.store().patient(id)? else {
                continue;
            };
            let p = self.store().survivor_of(p)?;
            if self
                .store()
                .person_link(p.id)?
                .is_some_and(|l| l.is_decided())
            {
                continue;
            }
            let q: Queued = serde_json::from_str(&json)
                .map_err(|e| AppError::Invalid(format!("the link review queue: {e}")))?;
            let mut candidates = Vec::new();
            for c in q.candidates {
                let record = match Uhid::parse(&c.uhid) {
                    Ok(u) => self
                        .store()
                        .mirror_record(&u)?
                        .map(|r| self.central_summary(&r)),
                    Err(_) => None,
                };
                candidates.push(ReviewCandidate {
                    uhid: c.uhid,
                    score: (c.score * 1000.0).round() / 1000.0,
                    basis: c.basis,
                    reasons: c.reasons,
                    record,
                });
            }
            let f = &p.fields;
            let details = ReviewDetails {
                locality: f.locality.as_ref().map(|v| v.to_string()),
                district: f.district.as_ref().map(|v| v.to_string()),
                state: f.state.as_ref().map(|v| v.to_string()),
                pincode: f.pincode.as_ref().map(|v| v.to_string()),
                abha_address: f.abha_address.as_ref().map(|v| v.to_string()),
            };
            out.push(ReviewItem {
                patient: self.summary(&p, None, None),
                details,
                candidates,
                notes: q.notes,
            });
        }
        Ok(out)
    }

    /// An admin's decision: the person is the hospital's record `uhid`. `update` names the
    /// fields whose value Parchi captured that go to the hospital's record on export.
    pub fn link_accept(
        &mut self,
        patient: &str,
        uhid_text: &str,
        update: &[Field],
    ) -> Result<LinkDecision> {
        if let Some(f) = update.iter().find(|f| !UPDATABLE.contains(f)) {
            return Err(AppError::Invalid(format!(
                "--update: {} cannot be sent to the hospital's record (only mobile, address, district, state, PIN and ABHA)",
                f.as_str()
            )));
        }
        let u = self.parse_uhid(uhid_text)?;
        let p = self.store().resolve_patient(patient)?;
        let mut ops = vec![OpBody::Link {
            patient: p.id,
            link: CentralLink::Linked {
                uhid: u.clone(),
                basis: LinkBasis::Admin,
                update: update.to_vec(),
            },
            reason: String::new(),
        }];
        let mut by_uhid = BTreeMap::from([(u.clone(), vec![p.id])]);
        for other in self.store().records_with_uhid(&u)? {
            let other = self.store().survivor_of(other)?;
            if other.id != p.id
                && matches!(
                    self.store().person_link(other.id)?,
                    Some(CentralLink::Linked { .. })
                )
            {
                by_uhid.entry(u.clone()).or_default().push(other.id);
            }
        }
        let merges = self.merges_for(&by_uhid)?;
        let merged = merges.len();
        ops.extend(merges);
        self.decide_link(p.id, ops)?;
        Ok(LinkDecision {
            patient: self.patient(&p.id.to_string())?,
            merged,
        })
    }

    /// An admin's decision: the person is not the hospital's record `uhid` (remembered for
    /// good: the link never proposes it for them again).
    pub fn link_reject(
        &mut self,
        patient: &str,
        uhid_text: &str,
        reason: &str,
    ) -> Result<LinkDecision> {
        let u = uhid(uhid_text)?;
        let p = self.store().resolve_patient(patient)?;
        let ops = vec![OpBody::Link {
            patient: p.id,
            link: CentralLink::NotLinked { uhid: u },
            reason: reason.trim().to_owned(),
        }];
        self.decide_link(p.id, ops)?;
        Ok(LinkDecision {
            patient: self.patient(&p.id.to_string())?,
            merged: 0,
        })
    }

    /// An admin's decision: the person is new to the hospital.
    pub fn link_new(&mut self, patient: &str, reason: &str) -> Result<LinkDecision> {
        let p = self.store().resolve_patient(patient)?;
        let ops = vec![OpBody::Link {
            patient: p.id,
            link: CentralLink::New,
            reason: reason.trim().to_owned(),
        }];
        self.decide_link(p.id, ops)?;
        Ok(LinkDecision {
            patient: self.patient(&p.id.to_string())?,
            merged: 0,
        })
    }

    fn decide_link(&mut self, patient: PatientId, ops: Vec<OpBody>) -> Result<()> {
        with_stamping_pub(self, |store, st| store.record_decisions(ops, st))?;
        self.store_mut().drop_from_link_queue(patient)?;
        Ok(())
    }
}
