//! Reconciliation decisions: merges, unmerges, permanent UHIDs. Each is an operation.

use parchi_core::central::CentralLink;
use parchi_core::op::{OpBody, PairDecision};
use parchi_core::{PatientId, Uhid};
use rusqlite::OptionalExtension;

use crate::fold::cluster::pid;
use crate::fold::{Origin, apply_in};
use crate::{Result, Stamping, Store, StoreError};

impl Store {
    /// Records an admin's decision about two records (merge, or not the same person).
    pub fn decide(
        &mut self,
        a: PatientId,
        b: PatientId,
        decision: PairDecision,
        reason: &str,
        st: &mut Stamping<'_>,
    ) -> Result<()> {
        if a == b {
            return Err(StoreError::Invalid(
                "a record cannot be merged with itself".into(),
            ));
        }
        self.write(st, |tx, w| {
            for p in [a, b] {
                let exists: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM patients WHERE id = ?1)",
                    [p.as_bytes()],
                    |r| r.get(0),
                )?;
                if !exists {
                    return Err(StoreError::NotFound {
                        what: "patient",
                        id: p.to_string(),
                    });
                }
            }
            let op = w.op(OpBody::Decide {
                a,
                b,
                decision,
                reason: reason.to_owned(),
            });
            apply_in(tx, &op, Origin::Local, None)?;
            Ok(())
        })
    }

    /// Takes one record out of the person it was merged into: every `same` decision that joins it
    /// becomes `distinct`. Returns the records it was joined to directly.
    pub fn unmerge(
        &mut self,
        p: PatientId,
        reason: &str,
        st: &mut Stamping<'_>,
    ) -> Result<Vec<PatientId>> {
        self.write(st, |tx, w| {
            let rows: Vec<(Vec<u8>, Vec<u8>)> = tx
                .prepare_cached("SELECT a, b FROM pair_decisions WHERE decision = 'same' AND (a = ?1 OR b = ?1)")?
                .query_map([p.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            if rows.is_empty() {
                return Err(StoreError::Invalid(format!("patient {p} is not merged with any record")));
            }
            let mut others = Vec::new();
            for (a, b) in rows {
                let (a, b) = (pid(a)?, pid(b)?);
                let op = w.op(OpBody::Decide { a, b, decision: PairDecision::Distinct, reason: reason.to_owned() });
                apply_in(tx, &op, Origin::Local, None)?;
                others.push(if a == p { b } else { a });
            }
            Ok(others)
        })
    }

    /// Assigns a permanent UHID (the central hub's job).
    pub fn assign_uhid(
        &mut self,
        patient: PatientId,
        uhid: &Uhid,
        st: &mut Stamping<'_>,
    ) -> Result<()> {
        self.write(st, |tx, w| {
            let taken: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT id FROM patients WHERE uhid = ?1",
                    [uhid.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            if taken.is_some_and(|t| t.as_slice() != patient.as_bytes()) {
                return Err(StoreError::Invalid(format!(
                    "UHID {uhid} is already assigned to another patient"
                )));
            }
            let op = w.op(OpBody::AssignUhid {
                patient,
                uhid: uhid.clone(),
            });
            apply_in(tx, &op, Origin::Local, None)?;
            Ok(())
        })
    }

    /// Records decisions about records in one transaction: links to the hospital's index
    /// (`Link`) and merges or not-duplicates (`Decide`), as a link run or a review makes them.
    /// Every patient named must be known here; anything else is refused and nothing is written.
    pub fn record_decisions(
        &mut self,
        bodies: Vec<OpBody>,
        st: &mut Stamping<'_>,
    ) -> Result<usize> {
        self.write(st, |tx, w| {
            for body in &bodies {
                let named: Vec<PatientId> = match body {
                    OpBody::Link { patient, .. } => vec![*patient],
                    OpBody::Decide { a, b, .. } if a != b => vec![*a, *b],
                    _ => {
                        return Err(StoreError::Invalid(format!(
                            "internal: {} is not a decision",
                            body.kind()
                        )));
                    }
                };
                for p in named {
                    patient_must_exist(tx, p)?;
                }
            }
            let n = bodies.len();
            for body in bodies {
                let op = w.op(body);
                apply_in(tx, &op, Origin::Local, None)?;
            }
            Ok(n)
        })
    }

    /// Records one link decision about a patient.
    pub fn link(
        &mut self,
        patient: PatientId,
        link: CentralLink,
        reason: &str,
        st: &mut Stamping<'_>,
    ) -> Result<()> {
        self.record_decisions(
            vec![OpBody::Link {
                patient,
                link,
                reason: reason.to_owned(),
            }],
            st,
        )
        .map(|_| ())
    }

    /// Replaces this installation's link review queue (the last link run's verdicts for the
    /// patients an admin must look at; local, never synced: the decisions are the ops).
    pub fn set_link_queue(&mut self, items: &[(PatientId, String)], run_at_ms: u64) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM link_queue", [])?;
        {
            let mut q = tx.prepare_cached(
                "INSERT OR REPLACE INTO link_queue (patient, verdict, run_at) VALUES (?1, ?2, ?3)",
            )?;
            for (p, verdict) in items {
                q.execute(rusqlite::params![p.as_bytes(), verdict, run_at_ms as i64])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Takes a patient off the review queue (after a decision about them).
    pub fn drop_from_link_queue(&mut self, patient: PatientId) -> Result<()> {
        self.conn.execute(
            "DELETE FROM link_queue WHERE patient = ?1",
            [patient.as_bytes()],
        )?;
        Ok(())
    }
}

fn patient_must_exist(tx: &rusqlite::Transaction<'_>, p: PatientId) -> Result<()> {
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM patients WHERE id = ?1)",
        [p.as_bytes()],
        |r| r.get(0),
    )?;
    if exists {
        Ok(())
    } else {
        Err(StoreError::NotFound {
            what: "patient",
            id: p.to_string(),
        })
    }
}
