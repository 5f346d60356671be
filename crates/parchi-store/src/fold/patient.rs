//! Folding patient operations: a creation, a field's last-writer-wins register, the columns
//! kept for lookup and the marks that bring the name index up to date (`names.rs`).

use parchi_core::hlc::Stamp;
use parchi_core::op::{Field, FieldValue};
use parchi_core::patient::PatientFields;
use parchi_core::replica::wins;
use parchi_core::{PatientId, TempId};
use rusqlite::{OptionalExtension, Transaction, params};

use super::cluster::settle_cluster;
use super::read_stamp;
use crate::{Result, StoreError};

fn sex_code(fields: &PatientFields) -> &'static str {
    fields.sex.code()
}

fn write_patient_columns(
    tx: &Transaction<'_>,
    rowid: i64,
    fields: &PatientFields,
    name_changed: bool,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE patients SET name = ?2, sex = ?3, birth_date = ?4, mobile = ?5, abha_number = ?6,
             abha_address = ?7, fields = ?8 WHERE rowid = ?1",
    )?
    .execute(params![
        rowid,
        fields.name.as_str(),
        sex_code(fields),
        fields.birth.date.to_string(),
        fields.mobile.as_ref().map(|m| m.as_str()),
        fields.abha_number.as_ref().map(|m| m.as_str()),
        fields.abha_address.as_ref().map(|m| m.as_str()),
        serde_json::to_string(fields).map_err(|e| StoreError::Invalid(e.to_string()))?,
    ])?;
    if name_changed {
        // An existing patient: the index holds their old name's keys unless marked already.
        super::names::mark(tx, rowid)?;
    }
    Ok(())
}

pub(super) fn create_patient(
    tx: &Transaction<'_>,
    patient: PatientId,
    temp_id: &TempId,
    counter: &str,
    quick: bool,
    fields: &PatientFields,
    stamp: Stamp,
) -> Result<()> {
    let existing: Option<(i64, i64, Vec<u8>, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT rowid, created_hlc, created_site, created_op FROM patients WHERE id = ?1",
        )?
        .query_row([patient.as_bytes()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    if let Some((_, hlc, site, op)) = existing {
        // A second creation of the same patient (only a cloned site could do this): the earliest
        // creation names the record, and each field is offered like any other write.
        let origin = read_stamp(hlc, site, op)?;
        if stamp < origin {
            // The fields still carry the old creation's values at its stamp: pin those stamps
            // before the record's origin moves to the earlier creation.
            let json: String = tx.query_row(
                "SELECT fields FROM patients WHERE id = ?1",
                [patient.as_bytes()],
                |r| r.get(0),
            )?;
            let current: PatientFields = serde_json::from_str(&json)?;
            for f in Field::ALL {
                tx.execute(
                    "INSERT OR IGNORE INTO field_stamps (patient, field, hlc, site, op, value)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        patient.as_bytes(),
                        f.as_str(),
                        origin.hlc.0 as i64,
                        origin.site.as_bytes(),
                        origin.op.as_bytes(),
                        serde_json::to_string(&FieldValue::read(&current, f))
                            .map_err(|e| StoreError::Invalid(e.to_string()))?
                    ],
                )?;
            }
            tx.execute(
                "UPDATE patients SET temp_id = ?2, counter = ?3, quick = ?4, created_hlc = ?5, created_site = ?6,
                     created_op = ?7 WHERE id = ?1",
                params![
                    patient.as_bytes(),
                    temp_id.as_str(),
                    counter,
                    quick,
                    stamp.hlc.0 as i64,
                    stamp.site.as_bytes(),
                    stamp.op.as_bytes()
                ],
            )?;
        }
        for f in Field::ALL {
            offer_field(tx, patient, stamp, &FieldValue::read(fields, f))?;
        }
        if stamp < origin {
            // The record's registration moved earlier: it may now be its person's survivor.
            settle_cluster(tx, patient)?;
        }
        return Ok(());
    }
    // Writes that arrived before the creation: each wins over the creation's value if newer.
    let mut fields = fields.clone();
    let mut early: Vec<(String, Stamp, String)> = Vec::new();
    {
        let mut q = tx.prepare_cached(
            "SELECT field, hlc, site, op, value FROM field_stamps WHERE patient = ?1",
        )?;
        let rows = q.query_map([patient.as_bytes()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        for row in rows {
            let (field, hlc, site, op, value) = row?;
            early.push((field, read_stamp(hlc, site, op)?, value));
        }
    }
    for (field, s, value) in early {
        if wins(&s, &stamp) {
            let v: FieldValue = serde_json::from_str(&value)?;
            v.apply_to(&mut fields);
        } else {
            tx.execute(
                "DELETE FROM field_stamps WHERE patient = ?1 AND field = ?2",
                params![patient.as_bytes(), field],
            )?;
        }
    }
    tx.prepare_cached(
        "INSERT INTO patients (id, temp_id, name, sex, birth_date, mobile, abha_number, abha_address, fields, quick,
             counter, created_hlc, created_site, created_op, last_visit, rowid)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
             (SELECT max(day) FROM visits WHERE patient = ?1), ?15)",
    )?
    .execute(params![
        patient.as_bytes(),
        temp_id.as_str(),
        fields.name.as_str(),
        sex_code(&fields),
        fields.birth.date.to_string(),
        fields.mobile.as_ref().map(|m| m.as_str()),
        fields.abha_number.as_ref().map(|m| m.as_str()),
        fields.abha_address.as_ref().map(|m| m.as_str()),
        serde_json::to_string(&fields).map_err(|e| StoreError::Invalid(e.to_string()))?,
        quick,
        counter,
        stamp.hlc.0 as i64,
        stamp.site.as_bytes(),
        stamp.op.as_bytes(),
        // Above the name index's high-water mark: its keys wait for the catch-up, unmarked.
        super::names::new_rowid(tx)?,
    ])?;
    // Facts that arrived before the creation: a UHID, a link, merge decisions.
    super::link::refresh_identity(tx, patient)?;
    let decided: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM pair_decisions WHERE (a = ?1 OR b = ?1) AND decision = 'same')")?
        .query_row([patient.as_bytes()], |r| r.get(0))?;
    if decided {
        settle_cluster(tx, patient)?;
    }
    Ok(())
}

/// A patient's rowid, creation stamp (hlc, site, op) and fields JSON.
type PatientStampRow = (i64, i64, Vec<u8>, Vec<u8>, String);

/// Offers one field value at `stamp` to a patient's last-writer-wins register.
pub(super) fn offer_field(
    tx: &Transaction<'_>,
    patient: PatientId,
    stamp: Stamp,
    value: &FieldValue,
) -> Result<()> {
    let field = value.field().as_str();
    let current: Option<(i64, Vec<u8>, Vec<u8>)> = tx
        .prepare_cached("SELECT hlc, site, op FROM field_stamps WHERE patient = ?1 AND field = ?2")?
        .query_row(params![patient.as_bytes(), field], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let row: Option<PatientStampRow> = tx
        .prepare_cached("SELECT rowid, created_hlc, created_site, created_op, fields FROM patients WHERE id = ?1")?
        .query_row([patient.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .optional()?;
    let current = match (current, &row) {
        (Some((h, s, o)), _) => Some(read_stamp(h, s, o)?),
        (None, Some((_, h, s, o, _))) => Some(read_stamp(*h, s.clone(), o.clone())?),
        (None, None) => None,
    };
    if current.is_some_and(|c| !wins(&stamp, &c)) {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO field_stamps (patient, field, hlc, site, op, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (patient, field) DO UPDATE SET hlc = excluded.hlc, site = excluded.site, op = excluded.op,
             value = excluded.value",
    )?
    .execute(params![
        patient.as_bytes(),
        field,
        stamp.hlc.0 as i64,
        stamp.site.as_bytes(),
        stamp.op.as_bytes(),
        serde_json::to_string(value).map_err(|e| StoreError::Invalid(e.to_string()))?
    ])?;
    if let Some((rowid, _, _, _, json)) = row {
        let mut fields: PatientFields = serde_json::from_str(&json)?;
        value.apply_to(&mut fields);
        write_patient_columns(tx, rowid, &fields, value.field() == Field::Name)?;
    }
    Ok(())
}
