//! Folding what is known of a record's place in the hospital's own index: its link (a
//! last-writer-wins register), the links an admin rejected (grow-only), and the UHID the record
//! is known by, which follows from its link and its assigned UHID (`central::effective_uhid`).

use parchi_core::central::{CentralLink, effective_uhid};
use parchi_core::hlc::Stamp;
use parchi_core::{PatientId, Uhid};
use rusqlite::{OptionalExtension, Transaction, params};

use crate::{Result, StoreError};

/// Offers a link at `stamp` to the patient's register, and remembers a rejection for good.
pub(super) fn fold_link(
    tx: &Transaction<'_>,
    patient: PatientId,
    link: &CentralLink,
    stamp: Stamp,
) -> Result<()> {
    if let CentralLink::NotLinked { uhid } = link {
        tx.prepare_cached("INSERT OR IGNORE INTO link_rejections (patient, uhid) VALUES (?1, ?2)")?
            .execute(params![patient.as_bytes(), uhid.as_str()])?;
    }
    let json = serde_json::to_string(link).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let n = tx
        .prepare_cached(
            "INSERT INTO link_stamps (patient, hlc, site, op, link) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (patient) DO UPDATE SET hlc = excluded.hlc, site = excluded.site, op = excluded.op,
                 link = excluded.link
             WHERE (excluded.hlc, excluded.site, excluded.op) > (link_stamps.hlc, link_stamps.site, link_stamps.op)",
        )?
        .execute(params![
            patient.as_bytes(),
            stamp.hlc.0 as i64,
            stamp.site.as_bytes(),
            stamp.op.as_bytes(),
            json
        ])?;
    if n > 0 {
        refresh_identity(tx, patient)?;
    }
    Ok(())
}

/// Copies the record's winning link and the UHID it is known by into its `patients` row (a
/// no-op until the record's creation has arrived; the creation calls this too).
pub(crate) fn refresh_identity(tx: &Transaction<'_>, patient: PatientId) -> Result<()> {
    let link: Option<String> = tx
        .prepare_cached("SELECT link FROM link_stamps WHERE patient = ?1")?
        .query_row([patient.as_bytes()], |r| r.get(0))
        .optional()?;
    let assigned: Option<String> = tx
        .prepare_cached("SELECT uhid FROM uhid_stamps WHERE patient = ?1")?
        .query_row([patient.as_bytes()], |r| r.get(0))
        .optional()?;
    let parsed: Option<CentralLink> = link.as_deref().map(serde_json::from_str).transpose()?;
    let assigned = assigned
        .map(|u| Uhid::parse(&u).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()?;
    let uhid = effective_uhid(parsed.as_ref(), assigned.as_ref());
    tx.prepare_cached("UPDATE patients SET uhid = ?2, link = ?3 WHERE id = ?1")?
        .execute(params![
            patient.as_bytes(),
            uhid.as_ref().map(|u| u.as_str()),
            link
        ])?;
    Ok(())
}
