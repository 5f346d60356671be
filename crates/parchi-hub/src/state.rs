//! The hub's merged state, one record at a time, by the core's merge rules.
//!
//! The hub cannot hold a whole [`parchi_core::Replica`] in memory (millions of patients), so it
//! keeps each patient and visit as a row and merges an op into the row it touches. The rules are
//! the core's, record by record: per-field last-writer-wins decided by [`wins`] on the
//! [`Stamp`], the earliest creation as origin, visits append-only, the earliest cancellation
//! shown, reprints a grow-only set (the hub applies each op ID once, so a count is that set's
//! size). The conformance story checks the result against a `Replica` fed the same ops.

use std::collections::BTreeMap;

use parchi_core::central::CentralLink;
use parchi_core::op::{Field, FieldValue, NewVisit, Op, OpBody, PairDecision, pair};
use parchi_core::patient::PatientFields;
use parchi_core::replica::{Origin, PatientView, VisitView, wins};
use parchi_core::{CounterCode, PatientId, Stamp, Uhid};

/// A field's slot in [`PatientState`]: its position in [`Field::ALL`].
fn slot(f: Field) -> usize {
    f as usize
}

/// "No value yet" in [`PatientState`]'s per-field stamp index.
const UNSET: u8 = u8::MAX;

/// Every field of `f` as a value, moved out (in [`Field::ALL`] order).
fn take_all(f: PatientFields) -> [FieldValue; 13] {
    [
        FieldValue::Name(f.name),
        FieldValue::Sex(f.sex),
        FieldValue::Birth(f.birth),
        FieldValue::Guardian(f.guardian),
        FieldValue::Mobile(f.mobile),
        FieldValue::Locality(f.locality),
        FieldValue::District(f.district),
        FieldValue::State(f.state),
        FieldValue::Pincode(f.pincode),
        FieldValue::AbhaNumber(f.abha_number),
        FieldValue::AbhaAddress(f.abha_address),
        FieldValue::AadhaarLast4(f.aadhaar_last4),
        FieldValue::Category(f.category),
    ]
}

/// One field of `f` as a value (cloning only that field).
fn read_one(f: &PatientFields, field: Field) -> FieldValue {
    match field {
        Field::Name => FieldValue::Name(f.name.clone()),
        Field::Sex => FieldValue::Sex(f.sex),
        Field::Birth => FieldValue::Birth(f.birth),
        Field::Guardian => FieldValue::Guardian(f.guardian.clone()),
        Field::Mobile => FieldValue::Mobile(f.mobile.clone()),
        Field::Locality => FieldValue::Locality(f.locality.clone()),
        Field::District => FieldValue::District(f.district.clone()),
        Field::State => FieldValue::State(f.state.clone()),
        Field::Pincode => FieldValue::Pincode(f.pincode.clone()),
        Field::AbhaNumber => FieldValue::AbhaNumber(f.abha_number.clone()),
        Field::AbhaAddress => FieldValue::AbhaAddress(f.abha_address.clone()),
        Field::AadhaarLast4 => FieldValue::AadhaarLast4(f.aadhaar_last4.clone()),
        Field::Category => FieldValue::Category(f.category),
    }
}

/// What a patient record holds besides its fields, rarely present: kept behind one pointer.
#[derive(Clone, Default)]
pub struct PatientExtra {
    /// The permanent UHID, last writer wins.
    pub uhid: Option<(Stamp, Uhid)>,
    /// Decisions about pairs whose smaller ID is this patient, last writer wins per pair.
    pub decisions: BTreeMap<PatientId, (Stamp, PairDecision)>,
    /// The link to the hospital's own index, last writer wins.
    pub link: Option<(Stamp, CentralLink)>,
}

impl std::fmt::Debug for PatientExtra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientExtra")
            .field("uhid", &self.uhid.as_ref().map(|u| u.0))
            .field("decisions", &self.decisions.len())
            .field("link", &self.link.as_ref().map(|l| (l.0, l.1.status())))
            .finish()
    }
}

/// A patient as merged so far (possibly fields without a creation yet).
///
/// Compact for a hub that keeps every record in memory: the field values live in one
/// [`PatientFields`] (fields not yet written hold the placeholder a replica shows), and each field
/// points into a short list of distinct stamps (usually one: the creation's).
#[derive(Clone)]
pub struct PatientState {
    pub origin: Option<Origin>,
    stamps: Vec<Stamp>,
    /// Per field (in [`Field::ALL`] order): index into `stamps`, or [`UNSET`].
    at: [u8; 13],
    values: PatientFields,
    pub extra: Option<Box<PatientExtra>>,
}

impl Default for PatientState {
    fn default() -> Self {
        Self {
            origin: None,
            stamps: Vec::new(),
            at: [UNSET; 13],
            values: PatientFields::blank(),
            extra: None,
        }
    }
}

/// Stamps only: the values are patient data.
impl std::fmt::Debug for PatientState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatientState")
            .field("origin", &self.origin.as_ref().map(|o| o.stamp))
            .field("stamps", &self.stamps)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

/// A visit as merged so far.
#[derive(Clone, Default)]
pub struct VisitState {
    pub created: Option<(Stamp, NewVisit)>,
    pub cancelled: Option<Box<(Stamp, CounterCode, String)>>,
    pub reprints: u64,
}

impl std::fmt::Debug for VisitState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisitState")
            .field("created", &self.created.as_ref().map(|c| c.0))
            .field("cancelled", &self.cancelled.as_ref().map(|c| c.0))
            .field("reprints", &self.reprints)
            .finish()
    }
}

impl PatientState {
    /// The stamp of a field's current value, if it has one.
    pub fn stamp_of(&self, f: Field) -> Option<&Stamp> {
        match self.at[slot(f)] {
            UNSET => None,
            k => self.stamps.get(usize::from(k)),
        }
    }

    /// The index of `stamp` in `stamps`, adding it (in a slot no field uses any more, if any).
    fn intern(&mut self, stamp: Stamp) -> u8 {
        if let Some(k) = self.stamps.iter().position(|s| *s == stamp) {
            return k as u8;
        }
        if let Some(k) = (0..self.stamps.len()).find(|k| !self.at.contains(&(*k as u8))) {
            self.stamps[k] = stamp;
            return k as u8;
        }
        self.stamps.push(stamp);
        (self.stamps.len() - 1) as u8
    }

    /// Last writer wins for one field.
    fn offer(&mut self, stamp: Stamp, value: FieldValue) {
        let i = slot(value.field());
        if let Some(current) = self.stamps.get(usize::from(self.at[i]))
            && !wins(&stamp, current)
        {
            return;
        }
        let k = self.intern(stamp);
        self.at[i] = k;
        value.put_into(&mut self.values);
    }

    fn extra_mut(&mut self) -> &mut PatientExtra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Merges a patient op (already carrying its effective HLC). Other ops are ignored.
    pub fn apply(&mut self, op: &Op) {
        self.apply_owned(op.clone());
    }

    /// [`PatientState::apply`] taking the op by value: values move in, nothing is cloned.
    pub fn apply_owned(&mut self, op: Op) {
        let stamp = op.stamp();
        match op.body {
            OpBody::CreatePatient {
                temp_id,
                counter,
                quick,
                fields,
                ..
            } => {
                if self.origin.as_ref().is_none_or(|o| stamp < o.stamp) {
                    self.origin = Some(Origin {
                        stamp,
                        temp_id,
                        counter,
                        quick,
                    });
                }
                if self.at.iter().all(|k| *k == UNSET) {
                    // The common case: a new record takes every field at once.
                    self.stamps.clear();
                    self.stamps.push(stamp);
                    self.at = [0; 13];
                    self.values = fields;
                } else {
                    for v in take_all(fields) {
                        self.offer(stamp, v);
                    }
                }
            }
            OpBody::SetField { value, .. } => self.offer(stamp, value),
            OpBody::AssignUhid { uhid, .. } => {
                let x = self.extra_mut();
                if x.uhid.as_ref().is_none_or(|(s, _)| wins(&stamp, s)) {
                    x.uhid = Some((stamp, uhid));
                }
            }
            OpBody::Link { link, .. } => {
                let x = self.extra_mut();
                if x.link.as_ref().is_none_or(|(s, _)| wins(&stamp, s)) {
                    x.link = Some((stamp, link));
                }
            }
            OpBody::Decide { a, b, decision, .. } => {
                let (_, other) = pair(a, b);
                let x = self.extra_mut();
                if x.decisions.get(&other).is_none_or(|(s, _)| wins(&stamp, s)) {
                    x.decisions.insert(other, (stamp, decision));
                }
            }
            _ => {}
        }
    }

    pub fn uhid(&self) -> Option<&(Stamp, Uhid)> {
        self.extra.as_ref().and_then(|x| x.uhid.as_ref())
    }

    pub fn link(&self) -> Option<&(Stamp, CentralLink)> {
        self.extra.as_ref().and_then(|x| x.link.as_ref())
    }

    /// Decisions about pairs whose smaller ID is this patient.
    pub fn decisions(&self) -> impl Iterator<Item = (&PatientId, &(Stamp, PairDecision))> {
        self.extra.iter().flat_map(|x| x.decisions.iter())
    }

    /// The fields that have a value, with their stamps, in [`Field::ALL`] order.
    pub fn fields(&self) -> impl Iterator<Item = (Field, &Stamp)> {
        Field::ALL
            .into_iter()
            .filter_map(|f| self.stamp_of(f).map(|s| (f, s)))
    }

    /// The patient as a replica shows it, once its creation has been seen.
    pub fn view(&self, id: PatientId) -> Option<PatientView> {
        let origin = self.origin.clone()?;
        Some(PatientView {
            id,
            origin,
            fields: self.values.clone(),
            uhid: self.uhid().map(|(_, u)| u.clone()),
            link: self.link().map(|(_, l)| l.clone()),
            merged_into: None,
        })
    }
}

impl VisitState {
    /// Merges a visit op (already carrying its effective HLC). Other ops are ignored.
    pub fn apply(&mut self, op: &Op) {
        self.apply_owned(op.clone());
    }

    /// [`VisitState::apply`] taking the op by value.
    pub fn apply_owned(&mut self, op: Op) {
        let stamp = op.stamp();
        match op.body {
            OpBody::CreateVisit(v) if self.created.as_ref().is_none_or(|(s, _)| stamp < *s) => {
                self.created = Some((stamp, v));
            }
            OpBody::CancelVisit {
                counter, reason, ..
            } if self.cancelled.as_ref().is_none_or(|c| stamp < c.0) => {
                self.cancelled = Some(Box::new((stamp, counter, reason)));
            }
            OpBody::RecordReprint { .. } => self.reprints += 1,
            _ => {}
        }
    }

    pub fn view(&self) -> Option<VisitView> {
        let (created, visit) = self.created.clone()?;
        Some(VisitView {
            created,
            visit,
            cancelled: self.cancelled.as_ref().map(|c| c.0),
            reprints: usize::try_from(self.reprints).unwrap_or(usize::MAX),
        })
    }
}

/// Which record an op merges into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entity {
    Patient([u8; 16]),
    Visit([u8; 16]),
}

/// `None` for a published configuration: the hub keeps no merged record of it (counters take
/// configurations from the log, like every other op).
pub fn entity_of(op: &Op) -> Option<Entity> {
    Some(match &op.body {
        OpBody::CreatePatient { .. }
        | OpBody::SetField { .. }
        | OpBody::AssignUhid { .. }
        | OpBody::Link { .. } => Entity::Patient(op.entity()),
        OpBody::Decide { a, b, .. } => Entity::Patient(*pair(*a, *b).0.as_bytes()),
        OpBody::CreateVisit(_) | OpBody::CancelVisit { .. } | OpBody::RecordReprint { .. } => {
            Entity::Visit(op.entity())
        }
        OpBody::PublishConfig { .. } => return None,
    })
}

mod stored;
mod views;

pub use stored::*;
pub use views::*;

#[cfg(test)]
mod tests;
