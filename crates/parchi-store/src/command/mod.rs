//! Writes: each public method is one transaction that records operations and folds them into
//! the materialised tables through [`crate::fold::apply_in`].

mod local;
mod reconcile;

use chrono::NaiveDate;
use parchi_core::central::CentralLink;
use parchi_core::op::{Field, FieldValue, NewVisit, Op, OpBody};
use parchi_core::patient::{Category, PatientFields};
use parchi_core::{Clock, DeptCode, Hlc, OpId, PatientId, TempId, Token, VisitId};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use crate::fold::{Applied, Origin, apply_in};
use crate::{Result, SiteInfo, Stamping, Store, StoreError, save_clock, set_meta};

/// A new patient and their first visit.
#[derive(Clone, Debug)]
pub struct NewRegistration {
    pub fields: PatientFields,
    pub quick: bool,
    pub visit: NewVisitSpec,
    /// The patient's record in the hospital's index, when the clerk took the UHID from their
    /// card: recorded as an operation in the same transaction.
    pub link: Option<CentralLink>,
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
    if let Some(link) = &reg.link {
        let op = w.op(OpBody::Link {
            patient,
            link: link.clone(),
            reason: String::new(),
        });
        apply_in(tx, &op, Origin::Local, None)?;
    }
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
    /// state with the data, or leaves both untouched on error. Then catches the name index up
    /// with the names the transaction marked (a transaction of its own: see `name_index.rs`).
    pub(crate) fn write<T>(
        &mut self,
        st: &mut Stamping<'_>,
        f: impl FnOnce(&Transaction<'_>, &mut Writer<'_, '_>) -> Result<T>,
    ) -> Result<T> {
        let out = self.write_durable(st, f)?;
        self.catch_up_after_write();
        Ok(out)
    }

    /// [`Store::write`] without the catch-up: the durable transaction alone.
    fn write_durable<T>(
        &mut self,
        st: &mut Stamping<'_>,
        f: impl FnOnce(&Transaction<'_>, &mut Writer<'_, '_>) -> Result<T>,
    ) -> Result<T> {
        self.durable_again()?;
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
        save_clock(&tx, self.clock.last(), clock.last())?;
        tx.commit()?;
        self.clock = clock;
        Ok(out)
    }

    /// Registers a new patient with a first visit: temporary ID, token, two operations, one
    /// durable transaction.
    pub fn register(&mut self, reg: &NewRegistration, st: &mut Stamping<'_>) -> Result<Registered> {
        self.write(st, |tx, w| register_in(tx, w, reg))
    }

    /// [`Store::register`]'s durable transaction alone, leaving the new name's keys to
    /// [`Store::catch_up_names`]: for the benchmarks, which time the two apart.
    #[doc(hidden)]
    pub fn register_durable_for_bench(
        &mut self,
        reg: &NewRegistration,
        st: &mut Stamping<'_>,
    ) -> Result<Registered> {
        self.write_durable(st, |tx, w| register_in(tx, w, reg))
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
        self.durable_again()?;
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
        save_clock(&tx, self.clock.last(), clock.last())?;
        tx.commit()?;
        self.clock = clock;
        self.catch_up_after_write();
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
