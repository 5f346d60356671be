//! Reconciliation in the store: merge decisions, the surviving record of each person, UHIDs and
//! the list of conflicting edits. The rules are the core's (`Replica::survivor`): records joined
//! by `same` decisions are one person, shown as the record registered first.

use std::collections::{BTreeSet, HashSet};

use parchi_core::op::{Field, FieldValue, OpBody, PairDecision, pair};
use parchi_core::{Hlc, OpId, PatientId, SiteId, Uhid};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use crate::{Result, Stamping, Store, StoreError};

fn pid(b: Vec<u8>) -> Result<PatientId> {
    PatientId::from_slice(&b).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The records joined to `start` by `same` decisions, including `start`.
pub(crate) fn cluster(tx: &rusqlite::Connection, start: PatientId) -> Result<BTreeSet<PatientId>> {
    let mut seen = BTreeSet::from([start]);
    let mut todo = vec![start];
    let mut q = tx.prepare_cached(
        "SELECT a, b FROM pair_decisions WHERE decision = 'same' AND (a = ?1 OR b = ?1)",
    )?;
    while let Some(x) = todo.pop() {
        let rows: Vec<(Vec<u8>, Vec<u8>)> = q
            .query_map([x.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (a, b) in rows {
            let (a, b) = (pid(a)?, pid(b)?);
            let other = if a == x { b } else { a };
            if seen.insert(other) {
                todo.push(other);
            }
        }
    }
    Ok(seen)
}

/// Orders records for survival: creation seen first, then by creation stamp (hlc, site, op).
type SurvivorKey = (bool, i64, Vec<u8>, Vec<u8>);

/// Recomputes the surviving record for the person `member` belongs to and marks every other
/// record of that person as merged into it.
pub(crate) fn settle_cluster(tx: &Transaction<'_>, member: PatientId) -> Result<()> {
    let members = cluster(tx, member)?;
    let mut q = tx.prepare_cached(
        "SELECT created_hlc, created_site, created_op FROM patients WHERE id = ?1",
    )?;
    let mut best: Option<(SurvivorKey, PatientId)> = None;
    for m in &members {
        let created: Option<(i64, Vec<u8>, Vec<u8>)> = q
            .query_row([m.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        // Records whose creation has not arrived yet sort last (then by ID), as in the core.
        let key = match created {
            Some((h, s, o)) => (false, h, s, o),
            None => (true, 0, Vec::new(), Vec::new()),
        };
        if best.as_ref().is_none_or(|(k, id)| (&key, m) < (k, id)) {
            best = Some((key, *m));
        }
    }
    let survivor = best.map(|(_, id)| id).unwrap_or(member);
    let mut up = tx.prepare_cached("UPDATE patients SET merged_into = ?2 WHERE id = ?1")?;
    for m in &members {
        let target = (*m != survivor).then(|| survivor.as_bytes().to_vec());
        up.execute(params![m.as_bytes(), target])?;
    }
    Ok(())
}

/// Two corrections of the same field made without seeing each other.
#[derive(Clone, Debug, Serialize)]
pub struct Conflict {
    pub patient: PatientId,
    pub field: String,
    /// Each concurrent write: its value, when it was made, which site, and whether it won.
    pub writes: Vec<ConflictWrite>,
}

#[derive(Clone, Serialize)]
pub struct ConflictWrite {
    pub op: OpId,
    pub site: SiteId,
    pub hlc: Hlc,
    pub value: serde_json::Value,
    pub won: bool,
}
parchi_core::redacted_debug!(ConflictWrite, op, site, hlc, won);

/// A standing decision about two records.
#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    pub a: PatientId,
    pub b: PatientId,
    pub decision: PairDecision,
    pub reason: String,
    pub hlc: Hlc,
}

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
            crate::write::apply_in(tx, &op, crate::write::Origin::Local, None)?;
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
                crate::write::apply_in(tx, &op, crate::write::Origin::Local, None)?;
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
            crate::write::apply_in(tx, &op, crate::write::Origin::Local, None)?;
            Ok(())
        })
    }

    /// Surviving records (not merged into another) that have no UHID yet, oldest first.
    pub fn patients_without_uhid(&self, limit: usize) -> Result<Vec<PatientId>> {
        let mut q = self.conn.prepare_cached(
            "SELECT id FROM patients WHERE uhid IS NULL AND merged_into IS NULL ORDER BY created_hlc, rowid LIMIT ?1",
        )?;
        let rows = q.query_map([limit as i64], |r| r.get::<_, Vec<u8>>(0))?;
        rows.map(|r| pid(r?)).collect()
    }

    /// All records of the person `id` belongs to (including `id`).
    pub fn cluster_of(&self, id: PatientId) -> Result<Vec<PatientId>> {
        Ok(cluster(&self.conn, id)?.into_iter().collect())
    }

    /// The standing decision about a pair, if any.
    pub fn decision(&self, a: PatientId, b: PatientId) -> Result<Option<PairDecision>> {
        let (a, b) = pair(a, b);
        let d: Option<String> = self
            .conn
            .query_row(
                "SELECT decision FROM pair_decisions WHERE a = ?1 AND b = ?2",
                params![a.as_bytes(), b.as_bytes()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(d.map(|d| {
            if d == "same" {
                PairDecision::Same
            } else {
                PairDecision::Distinct
            }
        }))
    }

    /// Every standing decision.
    pub fn decisions(&self) -> Result<Vec<Decision>> {
        let mut q = self.conn.prepare_cached(
            "SELECT a, b, decision, reason, hlc FROM pair_decisions ORDER BY hlc",
        )?;
        let rows = q.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (a, b, d, reason, hlc) = row?;
            out.push(Decision {
                a: pid(a)?,
                b: pid(b)?,
                decision: if d == "same" {
                    PairDecision::Same
                } else {
                    PairDecision::Distinct
                },
                reason,
                hlc: Hlc(hlc as u64),
            });
        }
        Ok(out)
    }

    /// Fields that two sites corrected without seeing each other's correction. Last-writer-wins
    /// settled each; the admin sees both values and which won.
    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        let mut q = self.conn.prepare_cached(
            "SELECT e.patient, e.field, e.prev, e.op, e.site, e.hlc, e.value,
                    e.op = coalesce(s.op, x'') AS won
             FROM field_edits e
             LEFT JOIN field_stamps s ON s.patient = e.patient AND s.field = e.field
             WHERE e.prev IS NOT NULL AND EXISTS (
                 SELECT 1 FROM field_edits o
                 WHERE o.patient = e.patient AND o.field = e.field AND o.prev = e.prev
                   AND o.site != e.site AND o.value != e.value)
             ORDER BY e.patient, e.field, e.prev, e.hlc",
        )?;
        let rows = q.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, bool>(7)?,
            ))
        })?;
        let mut out: Vec<Conflict> = Vec::new();
        let mut last: Option<(Vec<u8>, String, Vec<u8>)> = None;
        for row in rows {
            let (patient, field, prev, op, site, hlc, value, won) = row?;
            let key = (patient.clone(), field.clone(), prev);
            let write = ConflictWrite {
                op: OpId::from_slice(&op).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                site: SiteId::from_slice(&site).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                hlc: Hlc(hlc as u64),
                value: serde_json::from_str::<FieldValue>(&value)
                    .ok()
                    .and_then(|v| serde_json::to_value(v).ok())
                    .and_then(|v| v.get("value").cloned())
                    .unwrap_or(serde_json::Value::Null),
                won,
            };
            if last.as_ref() == Some(&key) {
                if let Some(c) = out.last_mut() {
                    c.writes.push(write);
                }
            } else {
                out.push(Conflict {
                    patient: pid(patient)?,
                    field,
                    writes: vec![write],
                });
                last = Some(key);
            }
        }
        Ok(out)
    }

    /// Whether a field is one whose conflicts decide who the person is.
    pub fn is_identity_field(field: &str) -> bool {
        Field::ALL
            .iter()
            .any(|f| f.as_str() == field && f.is_identity())
    }

    /// IDs of patients known here, for scans such as duplicate detection.
    pub fn all_patient_ids(&self) -> Result<HashSet<PatientId>> {
        let mut q = self.conn.prepare("SELECT id FROM patients")?;
        let rows = q.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
        rows.map(|r| pid(r?)).collect()
    }
}
