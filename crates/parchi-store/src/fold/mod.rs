//! The fold: every operation, local or pulled, enters the log and is folded into the
//! materialised tables here, with the core's merge rules. The tables are a function of the set
//! of operations seen, whatever their order.

pub(crate) mod cluster;
pub(crate) mod link;
pub(crate) mod names;
mod patient;

use parchi_core::hlc::Stamp;
use parchi_core::op::{NewVisit, Op, OpBody};
use parchi_core::{Hlc, OpId, SiteId};
use rusqlite::{OptionalExtension, Transaction, params};

use crate::{Result, StoreError};
use cluster::settle_cluster;
use patient::{create_patient, offer_field};

/// The outcome of applying one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// New to this store, folded in.
    New,
    /// Already in the log (same op ID): nothing changed.
    Duplicate,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Local = 0,
    Remote = 1,
}

fn stamp_of(op: &Op, effective: Option<Hlc>) -> Stamp {
    Stamp {
        hlc: effective.unwrap_or(op.hlc),
        site: op.site,
        op: op.id,
    }
}

pub(crate) fn read_stamp(hlc: i64, site: Vec<u8>, op: Vec<u8>) -> Result<Stamp> {
    Ok(Stamp {
        hlc: Hlc(hlc as u64),
        site: SiteId::from_slice(&site).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        op: OpId::from_slice(&op).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

/// Records `op` in the log and folds it into the materialised tables, in `tx`.
pub(crate) fn apply_in(
    tx: &Transaction<'_>,
    op: &Op,
    origin: Origin,
    effective: Option<Hlc>,
) -> Result<Applied> {
    let body = serde_json::to_string(op).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO ops (id, hlc, site, entity, kind, body, origin, sync_state, effective_hlc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            op.id.as_bytes(),
            op.hlc.0 as i64,
            op.site.as_bytes(),
            op.entity(),
            op.body.kind(),
            body,
            origin as i64,
            if origin == Origin::Local { 0 } else { 1 },
            effective.map(|h| h.0 as i64),
        ])?;
    if inserted == 0 {
        if origin == Origin::Remote {
            changed_effective_time(tx, op, effective)?;
        }
        return Ok(Applied::Duplicate);
    }
    materialise(tx, op, stamp_of(op, effective))?;
    Ok(Applied::New)
}

/// An op we hold came back from the hub with another effective time (our clock ran ahead and the
/// hub clamped it): record it and rebuild the record from its ops, so we merge as everyone does.
fn changed_effective_time(tx: &Transaction<'_>, op: &Op, effective: Option<Hlc>) -> Result<()> {
    let stored: Option<Option<i64>> = tx
        .prepare_cached("SELECT effective_hlc FROM ops WHERE id = ?1")?
        .query_row([op.id.as_bytes()], |r| r.get(0))
        .optional()?;
    let stored = stored.flatten().map(|h| Hlc(h as u64));
    if stored == effective {
        return Ok(());
    }
    tx.prepare_cached("UPDATE ops SET effective_hlc = ?2 WHERE id = ?1")?
        .execute(params![op.id.as_bytes(), effective.map(|h| h.0 as i64)])?;
    rematerialise(tx, op.entity())
}

/// Rebuilds one record's materialised rows from every op about it.
pub(crate) fn rematerialise(tx: &Transaction<'_>, entity: [u8; 16]) -> Result<()> {
    let e = &entity[..];
    let rowid: Option<i64> = tx
        .query_row("SELECT rowid FROM patients WHERE id = ?1", [e], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(rowid) = rowid {
        // The record is deleted and rebuilt under a new rowid: its old keys leave the index,
        // and the rebuilt record's keys wait above the high-water mark.
        names::mark(tx, rowid)?;
    }
    for sql in [
        "DELETE FROM patients WHERE id = ?1",
        "DELETE FROM field_stamps WHERE patient = ?1",
        "DELETE FROM field_edits WHERE patient = ?1",
        "DELETE FROM uhid_stamps WHERE patient = ?1",
        "DELETE FROM link_stamps WHERE patient = ?1",
        "DELETE FROM link_rejections WHERE patient = ?1",
        "DELETE FROM pair_decisions WHERE a = ?1",
        "DELETE FROM visits WHERE id = ?1",
        "DELETE FROM cancellations WHERE visit = ?1",
        "DELETE FROM reprints WHERE visit = ?1",
        "DELETE FROM published_configs WHERE id = ?1",
    ] {
        tx.execute(sql, [e])?;
    }
    let ops: Vec<(String, Option<i64>)> = tx
        .prepare("SELECT body, effective_hlc FROM ops WHERE entity = ?1 ORDER BY seq")?
        .query_map([e], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (body, eff) in ops {
        let op: Op = serde_json::from_str(&body)?;
        materialise(tx, &op, stamp_of(&op, eff.map(|h| Hlc(h as u64))))?;
    }
    let mut q = tx.prepare("SELECT DISTINCT patient FROM visits WHERE id = ?1")?;
    let patients: Vec<Vec<u8>> = q
        .query_map([e], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for p in patients {
        tx.execute(
            "UPDATE patients SET last_visit = (SELECT max(day) FROM visits WHERE patient = ?1) WHERE id = ?1",
            [p],
        )?;
    }
    Ok(())
}

/// Folds one op into the materialised tables at `stamp` (the op is already in the log).
fn materialise(tx: &Transaction<'_>, op: &Op, stamp: Stamp) -> Result<()> {
    match &op.body {
        OpBody::CreatePatient {
            patient,
            temp_id,
            counter,
            quick,
            fields,
        } => {
            create_patient(
                tx,
                *patient,
                temp_id,
                counter.as_str(),
                *quick,
                fields,
                stamp,
            )?;
        }
        OpBody::SetField {
            patient,
            value,
            prev,
        } => {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO field_edits (patient, field, prev, op, site, hlc, value)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                patient.as_bytes(),
                value.field().as_str(),
                prev.map(|p| p.0.into_bytes().to_vec()),
                op.id.as_bytes(),
                op.site.as_bytes(),
                stamp.hlc.0 as i64,
                serde_json::to_string(value).map_err(|e| StoreError::Invalid(e.to_string()))?,
            ])?;
            offer_field(tx, *patient, stamp, value)?
        }
        OpBody::AssignUhid { patient, uhid } => {
            let n = tx
                .prepare_cached(
                    "INSERT INTO uhid_stamps (patient, hlc, site, op, uhid) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (patient) DO UPDATE SET hlc = excluded.hlc, site = excluded.site, op = excluded.op,
                         uhid = excluded.uhid
                     WHERE (excluded.hlc, excluded.site, excluded.op) > (uhid_stamps.hlc, uhid_stamps.site, uhid_stamps.op)",
                )?
                .execute(params![
                    patient.as_bytes(),
                    stamp.hlc.0 as i64,
                    stamp.site.as_bytes(),
                    stamp.op.as_bytes(),
                    uhid.as_str()
                ])?;
            if n > 0 {
                link::refresh_identity(tx, *patient)?;
            }
        }
        OpBody::Link { patient, link, .. } => link::fold_link(tx, *patient, link, stamp)?,
        OpBody::Decide {
            a,
            b,
            decision,
            reason,
        } => {
            let (a, b) = parchi_core::op::pair(*a, *b);
            let n = tx
                .prepare_cached(
                    "INSERT INTO pair_decisions (a, b, decision, hlc, site, op, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (a, b) DO UPDATE SET decision = excluded.decision, hlc = excluded.hlc,
                         site = excluded.site, op = excluded.op, reason = excluded.reason
                     WHERE (excluded.hlc, excluded.site, excluded.op) > (pair_decisions.hlc, pair_decisions.site, pair_decisions.op)",
                )?
                .execute(params![
                    a.as_bytes(),
                    b.as_bytes(),
                    decision.as_str(),
                    stamp.hlc.0 as i64,
                    stamp.site.as_bytes(),
                    stamp.op.as_bytes(),
                    reason
                ])?;
            if let Some(other) = op.other_entity() {
                tx.prepare_cached("INSERT OR IGNORE INTO op_links (entity, op) VALUES (?1, ?2)")?
                    .execute(params![&other[..], op.id.as_bytes()])?;
            }
            if n > 0 {
                settle_cluster(tx, a)?;
                settle_cluster(tx, b)?;
            }
        }
        OpBody::CreateVisit(v) => create_visit(tx, v, stamp)?,
        OpBody::PublishConfig {
            config,
            effective_from,
            settings,
            note,
        } => {
            tx.prepare_cached(
                "INSERT INTO published_configs (id, effective_from, hlc, site, op, settings, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET effective_from = excluded.effective_from,
                     hlc = excluded.hlc, site = excluded.site, op = excluded.op,
                     settings = excluded.settings, note = excluded.note
                 WHERE (excluded.hlc, excluded.site, excluded.op)
                     < (published_configs.hlc, published_configs.site, published_configs.op)",
            )?
            .execute(params![
                config.as_bytes(),
                effective_from.to_string(),
                stamp.hlc.0 as i64,
                stamp.site.as_bytes(),
                stamp.op.as_bytes(),
                settings.to_string(),
                note
            ])?;
        }
        OpBody::CancelVisit {
            visit,
            counter,
            reason,
        } => {
            tx.prepare_cached(
                "INSERT INTO cancellations (visit, hlc, site, op, counter, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (visit) DO UPDATE SET hlc = excluded.hlc, site = excluded.site, op = excluded.op,
                     counter = excluded.counter, reason = excluded.reason
                 WHERE (excluded.hlc, excluded.site, excluded.op) < (cancellations.hlc, cancellations.site, cancellations.op)",
            )?
            .execute(params![
                visit.as_bytes(),
                stamp.hlc.0 as i64,
                stamp.site.as_bytes(),
                stamp.op.as_bytes(),
                counter.as_str(),
                reason
            ])?;
        }
        OpBody::RecordReprint { visit, counter } => {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO reprints (op, visit, hlc, counter) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                op.id.as_bytes(),
                visit.as_bytes(),
                stamp.hlc.0 as i64,
                counter.as_str()
            ])?;
        }
    }
    Ok(())
}

fn create_visit(tx: &Transaction<'_>, v: &NewVisit, stamp: Stamp) -> Result<()> {
    let holder: Option<Vec<u8>> = tx
        .prepare_cached(
            "SELECT id FROM visits WHERE department = ?1 AND day = ?2 AND token_counter = ?3 AND token_seq = ?4",
        )?
        .query_row(
            params![v.department.as_str(), v.day.to_string(), v.token.counter.as_str(), v.token.seq],
            |r| r.get(0),
        )
        .optional()?;
    if holder
        .as_ref()
        .is_some_and(|h| h.as_slice() != v.visit.as_bytes())
    {
        // Only a cloned installation can issue one token twice; an admin must see it.
        tx.execute(
            "INSERT INTO alarms (at_hlc, kind, detail) VALUES (?1, 'token_reused', ?2)",
            params![
                stamp.hlc.0 as i64,
                format!(
                    "token {} of {} on {} issued to two visits; visit {} not applied",
                    v.token, v.department, v.day, v.visit
                )
            ],
        )?;
        return Ok(());
    }
    // Two creations of one visit (a cloned site again): the earliest by stamp stands.
    tx.prepare_cached(
        "INSERT INTO visits (id, patient, department, day, token_counter, token_seq, fee, category,
             created_hlc, site, op)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (id) DO UPDATE SET patient = excluded.patient, department = excluded.department,
             day = excluded.day, token_counter = excluded.token_counter, token_seq = excluded.token_seq,
             fee = excluded.fee, category = excluded.category, created_hlc = excluded.created_hlc,
             site = excluded.site, op = excluded.op
         WHERE (excluded.created_hlc, excluded.site, excluded.op) < (visits.created_hlc, visits.site, visits.op)",
    )?
    .execute(params![
        v.visit.as_bytes(),
        v.patient.as_bytes(),
        v.department.as_str(),
        v.day.to_string(),
        v.token.counter.as_str(),
        v.token.seq,
        v.fee,
        v.category.code(),
        stamp.hlc.0 as i64,
        stamp.site.as_bytes(),
        stamp.op.as_bytes(),
    ])?;
    tx.prepare_cached(
        "UPDATE patients SET last_visit = ?2 WHERE id = ?1 AND (last_visit IS NULL OR last_visit < ?2)",
    )?
    .execute(params![v.patient.as_bytes(), v.day.to_string()])?;
    Ok(())
}
