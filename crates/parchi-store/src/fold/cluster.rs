//! The person a record belongs to: records joined by `same` decisions are one person, shown as
//! the record registered first (the core's `Replica::survivor`).

use std::collections::BTreeSet;

use parchi_core::PatientId;
use rusqlite::{OptionalExtension, Transaction, params};

use crate::{Result, StoreError};

pub(crate) fn pid(b: Vec<u8>) -> Result<PatientId> {
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
