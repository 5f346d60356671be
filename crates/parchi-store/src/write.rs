//! Writes: each public method is one transaction that records operations and folds them into the
//! materialised tables through [`Store::apply_in`].

use chrono::NaiveDate;
use parchi_core::hlc::Stamp;
use parchi_core::names;
use parchi_core::op::{Field, FieldValue, NewVisit, Op, OpBody};
use parchi_core::patient::{Category, PatientFields};
use parchi_core::replica::wins;
use parchi_core::{Clock, DeptCode, Hlc, OpId, PatientId, SiteId, TempId, Token, VisitId};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use crate::{Result, SiteInfo, Stamping, Store, StoreError, set_meta};

/// A new patient and their first visit.
#[derive(Clone, Debug)]
pub struct NewRegistration {
    pub fields: PatientFields,
    pub quick: bool,
    pub visit: NewVisitSpec,
}

/// What a visit needs besides the patient: the department and what was charged.
#[derive(Clone, Debug)]
pub struct NewVisitSpec {
    pub department: DeptCode,
    /// Rupees charged (0 when waived).
    pub fee: u32,
    pub category: Category,
}

/// What a registration committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registered {
    pub patient: PatientId,
    pub temp_id: TempId,
    pub visit: VisitId,
    pub token: Token,
    pub day: NaiveDate,
    pub hlc: Hlc,
}

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

fn next_seq(tx: &Transaction<'_>, site: &SiteInfo, scope: &str, day: NaiveDate) -> Result<u64> {
    let start = if day == site.install_day {
        site.install_floor + 1
    } else {
        1
    };
    let v: i64 = tx.query_row(
        "INSERT INTO sequences (scope, day, last) VALUES (?1, ?2, ?3)
         ON CONFLICT (scope, day) DO UPDATE SET last = last + 1 RETURNING last",
        params![scope, day.to_string(), start as i64],
        |r| r.get(0),
    )?;
    Ok(v as u64)
}

fn token_scope(dept: &DeptCode) -> String {
    format!("token:{dept}")
}

/// State shared by the operations of one write transaction.
pub(crate) struct Writer<'s, 'r> {
    clock: Clock,
    site: &'s SiteInfo,
    st: &'s mut Stamping<'r>,
}

impl Writer<'_, '_> {
    pub(crate) fn op(&mut self, body: OpBody) -> Op {
        let hlc = self.clock.tick(self.st.now_ms);
        Op {
            id: OpId::new_v7(hlc.wall_ms(), self.st.bytes()),
            hlc,
            site: self.site.site,
            body,
        }
    }

    fn visit_op(
        &mut self,
        tx: &Transaction<'_>,
        patient: PatientId,
        spec: &NewVisitSpec,
    ) -> Result<Op> {
        let day = self.st.today();
        let seq = next_seq(tx, self.site, &token_scope(&spec.department), day)?;
        let seq = u32::try_from(seq)
            .map_err(|_| StoreError::Invalid("token sequence exhausted".into()))?;
        let visit = VisitId::new_v7(self.st.now_ms, self.st.bytes());
        Ok(self.op(OpBody::CreateVisit(NewVisit {
            visit,
            patient,
            department: spec.department.clone(),
            day,
            token: Token {
                counter: self.site.counter.clone(),
                seq,
            },
            fee: spec.fee,
            category: spec.category,
        })))
    }
}

/// One registration inside a write transaction: temporary ID, patient, visit with token.
fn register_in(
    tx: &Transaction<'_>,
    w: &mut Writer<'_, '_>,
    reg: &NewRegistration,
) -> Result<Registered> {
    let day = w.st.today();
    let seq = next_seq(tx, w.site, "temp", day)?;
    let temp_id = TempId::issue(&w.site.counter, w.site.tag, day, seq)
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let patient = PatientId::new_v7(w.st.now_ms, w.st.bytes());
    let create = w.op(OpBody::CreatePatient {
        patient,
        temp_id: temp_id.clone(),
        counter: w.site.counter.clone(),
        quick: reg.quick,
        fields: reg.fields.clone(),
    });
    let visit_op = w.visit_op(tx, patient, &reg.visit)?;
    apply_in(tx, &create, Origin::Local, None)?;
    apply_in(tx, &visit_op, Origin::Local, None)?;
    let OpBody::CreateVisit(v) = &visit_op.body else {
        return Err(StoreError::Invalid("internal: visit op expected".into()));
    };
    Ok(Registered {
        patient,
        temp_id,
        visit: v.visit,
        token: v.token.clone(),
        day,
        hlc: visit_op.hlc,
    })
}

impl Store {
    /// Runs `f` in one immediate transaction with a copy of the clock; commits the clock's new
    /// state with the data, or leaves both untouched on error.
    pub(crate) fn write<T>(
        &mut self,
        st: &mut Stamping<'_>,
        f: impl FnOnce(&Transaction<'_>, &mut Writer<'_, '_>) -> Result<T>,
    ) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut w = Writer {
            clock: self.clock,
            site: &self.site,
            st,
        };
        let out = f(&tx, &mut w)?;
        let clock = w.clock;
        set_meta(&tx, "hlc", &clock.last().0.to_string())?;
        tx.commit()?;
        self.clock = clock;
        Ok(out)
    }

    /// Registers a new patient with a first visit: temporary ID, token, two operations, one
    /// durable transaction.
    pub fn register(&mut self, reg: &NewRegistration, st: &mut Stamping<'_>) -> Result<Registered> {
        self.write(st, |tx, w| register_in(tx, w, reg))
    }

    /// Registers many patients in one transaction (bulk import): all or nothing.
    pub fn register_many(
        &mut self,
        regs: &[NewRegistration],
        st: &mut Stamping<'_>,
    ) -> Result<Vec<Registered>> {
        self.write(st, |tx, w| {
            regs.iter().map(|reg| register_in(tx, w, reg)).collect()
        })
    }

    /// A new visit (and token) for a patient already known.
    pub fn add_visit(
        &mut self,
        patient: PatientId,
        spec: &NewVisitSpec,
        st: &mut Stamping<'_>,
    ) -> Result<NewVisit> {
        self.write(st, |tx, w| {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM patients WHERE id = ?1)",
                [patient.as_bytes()],
                |r| r.get(0),
            )?;
            if !exists {
                return Err(StoreError::NotFound {
                    what: "patient",
                    id: patient.to_string(),
                });
            }
            let op = w.visit_op(tx, patient, spec)?;
            apply_in(tx, &op, Origin::Local, None)?;
            match op.body {
                OpBody::CreateVisit(v) => Ok(v),
                _ => Err(StoreError::Invalid("internal: visit op expected".into())),
            }
        })
    }

    /// Cancels a visit. The visit stays, marked cancelled; cancelling twice is refused.
    pub fn cancel_visit(
        &mut self,
        visit: VisitId,
        reason: &str,
        st: &mut Stamping<'_>,
    ) -> Result<()> {
        self.write(st, |tx, w| {
            visit_must_be_active(tx, visit)?;
            let op = w.op(OpBody::CancelVisit {
                visit,
                counter: w.site.counter.clone(),
                reason: reason.to_owned(),
            });
            apply_in(tx, &op, Origin::Local, None)?;
            Ok(())
        })
    }

    /// Records that a visit's slip was printed again. Returns how many reprints it now has.
    pub fn record_reprint(&mut self, visit: VisitId, st: &mut Stamping<'_>) -> Result<u32> {
        self.write(st, |tx, w| {
            visit_must_be_active(tx, visit)?;
            let op = w.op(OpBody::RecordReprint {
                visit,
                counter: w.site.counter.clone(),
            });
            apply_in(tx, &op, Origin::Local, None)?;
            let n: u32 = tx.query_row(
                "SELECT COUNT(*) FROM reprints WHERE visit = ?1",
                [visit.as_bytes()],
                |r| r.get(0),
            )?;
            Ok(n)
        })
    }

    /// Corrects fields of a patient: one operation per changed field. Returns the fields changed.
    pub fn set_fields(
        &mut self,
        patient: PatientId,
        values: &[FieldValue],
        st: &mut Stamping<'_>,
    ) -> Result<Vec<Field>> {
        self.write(st, |tx, w| {
            let current: Option<String> = tx
                .query_row(
                    "SELECT fields FROM patients WHERE id = ?1",
                    [patient.as_bytes()],
                    |r| r.get(0),
                )
                .optional()?;
            let current: PatientFields = match current {
                Some(json) => serde_json::from_str(&json)?,
                None => {
                    return Err(StoreError::NotFound {
                        what: "patient",
                        id: patient.to_string(),
                    });
                }
            };
            let mut changed = Vec::new();
            for v in values {
                if FieldValue::read(&current, v.field()) == *v {
                    continue;
                }
                let prev = current_write(tx, patient, v.field())?;
                let op = w.op(OpBody::SetField {
                    patient,
                    value: v.clone(),
                    prev,
                });
                apply_in(tx, &op, Origin::Local, None)?;
                changed.push(v.field());
            }
            Ok(changed)
        })
    }

    /// Applies operations pulled from a hub, each with the HLC the hub merges it with. Already
    /// known operations are skipped. All or nothing: on error nothing is applied.
    pub fn apply_remote(&mut self, ops: &[(Op, Option<Hlc>)], now_ms: u64) -> Result<usize> {
        self.apply_remote_at(ops, now_ms, None)
    }

    /// [`Store::apply_remote`], also moving a sync cursor (a `meta` key) to `cursor` in the same
    /// transaction: the cursor never runs ahead of what is applied.
    pub fn apply_remote_at(
        &mut self,
        ops: &[(Op, Option<Hlc>)],
        now_ms: u64,
        cursor: Option<(&str, u64)>,
    ) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some((key, value)) = cursor {
            set_meta(&tx, key, &value.to_string())?;
        }
        let mut clock = self.clock;
        let mut new = 0;
        for (op, effective) in ops {
            clock.observe(effective.unwrap_or(op.hlc), now_ms);
            if apply_in(&tx, op, Origin::Remote, *effective)? == Applied::New {
                new += 1;
                if let OpBody::CreateVisit(v) = &op.body
                    && v.token.counter == self.site.counter
                {
                    // A reinstalled counter learning what its predecessor issued.
                    tx.execute(
                            "INSERT INTO sequences (scope, day, last) VALUES (?1, ?2, ?3)
                             ON CONFLICT (scope, day) DO UPDATE SET last = max(last, excluded.last)",
                            params![token_scope(&v.department), v.day.to_string(), i64::from(v.token.seq)],
                        )?;
                }
            }
        }
        set_meta(&tx, "hlc", &clock.last().0.to_string())?;
        tx.commit()?;
        self.clock = clock;
        Ok(new)
    }
}

/// The write a local correction of `field` replaces: the latest correction, or the creation.
fn current_write(tx: &Transaction<'_>, patient: PatientId, field: Field) -> Result<Option<OpId>> {
    let op: Option<Vec<u8>> = tx
        .query_row(
            "SELECT coalesce((SELECT op FROM field_stamps WHERE patient = ?1 AND field = ?2),
                             (SELECT created_op FROM patients WHERE id = ?1))",
            params![patient.as_bytes(), field.as_str()],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    op.map(|b| OpId::from_slice(&b).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

fn visit_must_be_active(tx: &Transaction<'_>, visit: VisitId) -> Result<()> {
    let row: Option<bool> = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM cancellations c WHERE c.visit = v.id) FROM visits v WHERE v.id = ?1",
            [visit.as_bytes()],
            |r| r.get(0),
        )
        .optional()?;
    match row {
        None => Err(StoreError::NotFound {
            what: "visit",
            id: visit.to_string(),
        }),
        Some(true) => Err(StoreError::Invalid(format!("visit {visit} is cancelled"))),
        Some(false) => Ok(()),
    }
}

fn stamp_of(op: &Op, effective: Option<Hlc>) -> Stamp {
    Stamp {
        hlc: effective.unwrap_or(op.hlc),
        site: op.site,
        op: op.id,
    }
}

fn read_stamp(hlc: i64, site: Vec<u8>, op: Vec<u8>) -> Result<Stamp> {
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
    tx.execute(
        "DELETE FROM patient_fts WHERE rowid = (SELECT rowid FROM patients WHERE id = ?1)",
        [e],
    )?;
    for sql in [
        "DELETE FROM patients WHERE id = ?1",
        "DELETE FROM field_stamps WHERE patient = ?1",
        "DELETE FROM field_edits WHERE patient = ?1",
        "DELETE FROM uhid_stamps WHERE patient = ?1",
        "DELETE FROM pair_decisions WHERE a = ?1",
        "DELETE FROM visits WHERE id = ?1",
        "DELETE FROM cancellations WHERE visit = ?1",
        "DELETE FROM reprints WHERE visit = ?1",
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
                tx.prepare_cached("UPDATE patients SET uhid = ?2 WHERE id = ?1")?
                    .execute(params![patient.as_bytes(), uhid.as_str()])?;
            }
        }
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
                crate::merge::settle_cluster(tx, a)?;
                crate::merge::settle_cluster(tx, b)?;
            }
        }
        OpBody::CreateVisit(v) => create_visit(tx, v, stamp)?,
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
        tx.prepare_cached("DELETE FROM patient_fts WHERE rowid = ?1")?
            .execute([rowid])?;
        tx.prepare_cached("INSERT INTO patient_fts (rowid, terms) VALUES (?1, ?2)")?
            .execute(params![rowid, names::index_terms(fields.name.as_str())])?;
    }
    Ok(())
}

fn create_patient(
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
            crate::merge::settle_cluster(tx, patient)?;
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
             counter, created_hlc, created_site, created_op, last_visit)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
             (SELECT max(day) FROM visits WHERE patient = ?1))",
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
    ])?;
    let rowid = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO patient_fts (rowid, terms) VALUES (?1, ?2)")?
        .execute(params![rowid, names::index_terms(fields.name.as_str())])?;
    // Facts that arrived before the creation: a UHID, merge decisions.
    tx.prepare_cached("UPDATE patients SET uhid = (SELECT uhid FROM uhid_stamps WHERE patient = ?1) WHERE id = ?1")?
        .execute([patient.as_bytes()])?;
    let decided: bool = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM pair_decisions WHERE (a = ?1 OR b = ?1) AND decision = 'same')")?
        .query_row([patient.as_bytes()], |r| r.get(0))?;
    if decided {
        crate::merge::settle_cluster(tx, patient)?;
    }
    Ok(())
}

/// A patient's rowid, creation stamp (hlc, site, op) and fields JSON.
type PatientStampRow = (i64, i64, Vec<u8>, Vec<u8>, String);

/// Offers one field value at `stamp` to a patient's last-writer-wins register.
fn offer_field(
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
