//! After the outage: likely duplicates, the admin's merge decisions, conflicting edits.
//!
//! Decisions are operations (`Decide`), so two admins deciding at once converge, every decision is
//! in the history, and an unmerge is just another decision. Merged records keep every temporary ID
//! and UHID they had: looking any of them up leads to the surviving record.

use parchi_core::PairDecision;
use parchi_dedup::{Config as DedupConfig, Record, Verdict};
use parchi_store::PatientRecord;
use serde::Serialize;

use crate::counter::{Counter, PatientSummary, Result, with_stamping_pub};
use crate::error::AppError;

/// A likely duplicate for the admin's queue.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DuplicatePair {
    pub a: String,
    pub b: String,
    pub score: f64,
    pub verdict: Verdict,
    /// Why, in words ("same mobile", "name similar (0.93)", …).
    pub reasons: Vec<String>,
    /// The same reasons with stable codes for the UI.
    pub reason_codes: Vec<parchi_dedup::Reason>,
    pub a_patient: PatientSummary,
    pub b_patient: PatientSummary,
}

/// The person after a merge or unmerge.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MergeOutcome {
    /// The surviving record.
    pub survivor: PatientSummary,
    /// Every record of the person (IDs), the survivor included.
    pub records: Vec<String>,
}

/// A field two sites corrected without seeing each other.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConflictView {
    pub patient: PatientSummary,
    pub field: String,
    /// Name, sex and date of birth decide who the person is: review these first.
    pub identity: bool,
    pub writes: Vec<ConflictWriteView>,
}

/// One of the values written, as the admin compares them: when (the hospital's local time of
/// its stamp, decoded here so no screen does arithmetic on a 64-bit clock), by which site,
/// and whether it is the one kept.
#[derive(Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConflictWriteView {
    pub op: parchi_core::OpId,
    pub site: parchi_core::SiteId,
    /// `YYYY-MM-DD HH:MM:SS`, the hospital's time.
    pub at: String,
    pub value: serde_json::Value,
    pub won: bool,
}
parchi_core::redacted_debug!(ConflictWriteView, op, site, at, won);

fn dedup_record(p: &PatientRecord, key: usize) -> Record<usize> {
    crate::matching::fields_record(&p.fields, key)
}

impl Counter {
    /// Likely duplicate patients among the surviving records, best first; pairs an admin has
    /// already decided are left out.
    pub fn duplicates(&self) -> Result<Vec<DuplicatePair>> {
        let patients = self.store().all_patients()?;
        let records: Vec<Record<usize>> = patients
            .iter()
            .enumerate()
            .map(|(i, p)| dedup_record(p, i))
            .collect();
        let cfg = DedupConfig {
            threads: 2,
            ..DedupConfig::default()
        };
        let mut out = Vec::new();
        for c in parchi_dedup::find_duplicates(&records, &cfg) {
            let (pa, pb) = (&patients[c.a], &patients[c.b]);
            if self.store().decision(pa.id, pb.id)?.is_some() {
                continue;
            }
            out.push(DuplicatePair {
                a: pa.id.to_string(),
                b: pb.id.to_string(),
                score: (c.score * 1000.0).round() / 1000.0,
                verdict: c.verdict,
                reasons: c.reasons.iter().map(|r| r.to_string()).collect(),
                reason_codes: c.reasons,
                a_patient: self.summary(pa, None, None),
                b_patient: self.summary(pb, None, None),
            });
        }
        Ok(out)
    }

    fn decide(
        &mut self,
        a: &str,
        b: &str,
        decision: PairDecision,
        reason: &str,
    ) -> Result<MergeOutcome> {
        let ra = self.store().find_record(a)?;
        let rb = self.store().find_record(b)?;
        if ra.id == rb.id {
            return Err(AppError::Invalid(
                "both references name the same record".into(),
            ));
        }
        let same_person = self.store().cluster_of(ra.id)?.contains(&rb.id);
        if decision == PairDecision::Same && same_person {
            return Err(AppError::Invalid("these records are already merged".into()));
        }
        let (ia, ib) = (ra.id, rb.id);
        with_stamping_pub(self, |store, st| store.decide(ia, ib, decision, reason, st))?;
        self.outcome(ia)
    }

    fn outcome(&self, id: parchi_core::PatientId) -> Result<MergeOutcome> {
        let record = self
            .store()
            .patient(id)?
            .ok_or_else(|| AppError::Invalid("record vanished".into()))?;
        let survivor = self.store().survivor_of(record)?;
        Ok(MergeOutcome {
            records: self
                .store()
                .cluster_of(survivor.id)?
                .iter()
                .map(|p| p.to_string())
                .collect(),
            survivor: self.summary(&survivor, None, None),
        })
    }

    /// Accepts a duplicate: the two records are one person from now on (every ID keeps working).
    pub fn merge(&mut self, a: &str, b: &str, reason: &str) -> Result<MergeOutcome> {
        self.decide(a, b, PairDecision::Same, reason)
    }

    /// Rejects a duplicate: the two records are different people (relatives sharing a phone).
    pub fn not_duplicate(&mut self, a: &str, b: &str, reason: &str) -> Result<MergeOutcome> {
        self.decide(a, b, PairDecision::Distinct, reason)
    }

    /// Takes a record back out of the person it was merged into.
    pub fn unmerge(&mut self, record: &str, reason: &str) -> Result<MergeOutcome> {
        let r = self.store().find_record(record)?;
        let id = r.id;
        with_stamping_pub(self, |store, st| store.unmerge(id, reason, st))?;
        self.outcome(id)
    }

    /// Fields corrected concurrently at two sites, with both values and the winner.
    pub fn conflicts(&self) -> Result<Vec<ConflictView>> {
        let mut out = Vec::new();
        for c in self.store().conflicts()? {
            let Some(p) = self.store().patient(c.patient)? else {
                continue;
            };
            out.push(ConflictView {
                patient: self.summary(&p, None, None),
                identity: parchi_store::Store::is_identity_field(&c.field),
                field: c.field,
                writes: c
                    .writes
                    .into_iter()
                    .map(|w| ConflictWriteView {
                        op: w.op,
                        site: w.site,
                        at: self
                            .local_time_of(w.hlc)
                            .format("%Y-%m-%d %H:%M:%S")
                            .to_string(),
                        value: w.value,
                        won: w.won,
                    })
                    .collect(),
            });
        }
        out.sort_by_key(|c| !c.identity);
        Ok(out)
    }
}
