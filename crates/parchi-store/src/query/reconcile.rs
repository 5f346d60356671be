//! Reads for reconciliation: the standing decisions, each person's records, conflicting edits.

use std::collections::HashSet;

use parchi_core::central::{CentralLink, person_link};
use parchi_core::hlc::Stamp;
use parchi_core::op::{Field, FieldValue, PairDecision, pair};
use parchi_core::{Hlc, OpId, PatientId, SiteId, Uhid};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::fold::cluster::{cluster, pid};
use crate::fold::read_stamp;
use crate::records::PatientRecord;
use crate::{Result, Store, StoreError};

/// Two corrections of the same field made without seeing each other.
#[derive(Clone, Debug, Serialize)]
pub struct Conflict {
    pub patient: PatientId,
    pub field: String,
    /// Each concurrent write: its value, when it was made, which site, and whether it won.
    pub writes: Vec<ConflictWrite>,
}

#[derive(Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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

    /// The link of the person `id` belongs to, from the links of all their records (the core's
    /// `central::person_link`).
    pub fn person_link(&self, id: PatientId) -> Result<Option<CentralLink>> {
        let mut q = self
            .conn
            .prepare_cached("SELECT hlc, site, op, link FROM link_stamps WHERE patient = ?1")?;
        let mut links: Vec<(Stamp, CentralLink)> = Vec::new();
        for member in cluster(&self.conn, id)? {
            let row: Option<(i64, Vec<u8>, Vec<u8>, String)> = q
                .query_row([member.as_bytes()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            if let Some((hlc, site, op, json)) = row {
                links.push((read_stamp(hlc, site, op)?, serde_json::from_str(&json)?));
            }
        }
        Ok(person_link(links.iter().map(|(s, l)| (s, l))).cloned())
    }

    /// The hospital records an admin said the person `id` belongs to is not.
    pub fn rejected_links(&self, id: PatientId) -> Result<Vec<Uhid>> {
        let mut q = self
            .conn
            .prepare_cached("SELECT uhid FROM link_rejections WHERE patient = ?1")?;
        let mut out = Vec::new();
        for member in cluster(&self.conn, id)? {
            let rows = q.query_map([member.as_bytes()], |r| r.get::<_, String>(0))?;
            for u in rows {
                out.push(Uhid::parse(&u?).map_err(|e| StoreError::Corrupt(e.to_string()))?);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The records known by a UHID (linked, assigned or claimed), merged or not.
    pub fn records_with_uhid(&self, uhid: &Uhid) -> Result<Vec<PatientRecord>> {
        self.patients_where("uhid = ?1", uhid.as_str(), 100)
    }

    /// The link review queue of the last link run: (patient, verdict JSON).
    pub fn link_queue(&self) -> Result<Vec<(PatientId, String)>> {
        let mut q = self
            .conn
            .prepare_cached("SELECT patient, verdict FROM link_queue ORDER BY run_at, patient")?;
        let rows = q.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (p, v) = row?;
            out.push((pid(p)?, v));
        }
        Ok(out)
    }
}
