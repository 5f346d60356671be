//! The hub's merged state, one record at a time, by the core's merge rules.
//!
//! The hub cannot hold a whole [`parchi_core::Replica`] in memory (millions of patients), so it
//! keeps each patient and visit as a row and merges an op into the row it touches. The rules are
//! the core's, record by record: per-field last-writer-wins decided by [`wins`] on the
//! [`Stamp`], the earliest creation as origin, visits append-only, the earliest cancellation
//! shown, reprints a grow-only set (the hub applies each op ID once, so a count is that set's
//! size). The conformance story checks the result against a `Replica` fed the same ops.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use parchi_core::central::CentralLink;
use parchi_core::op::{Field, FieldValue, NewVisit, Op, OpBody, PairDecision, pair};
use parchi_core::patient::PatientFields;
use parchi_core::replica::{Origin, PatientView, VisitView, wins};
use parchi_core::{CounterCode, Hlc, OpId, PatientId, SiteId, Stamp, TempId, Uhid, VisitId};
use serde::{Deserialize, Serialize};

use crate::error::StorageError;

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

pub fn entity_of(op: &Op) -> Entity {
    match &op.body {
        OpBody::CreatePatient { .. }
        | OpBody::SetField { .. }
        | OpBody::AssignUhid { .. }
        | OpBody::Link { .. } => Entity::Patient(op.entity()),
        OpBody::Decide { a, b, .. } => Entity::Patient(*pair(*a, *b).0.as_bytes()),
        _ => Entity::Visit(op.entity()),
    }
}

// ---- Storage encoding -------------------------------------------------------------------------

/// A stamp as 80 hex digits: HLC (16), site (32), op (32). Sorts like the stamp.
fn stamp_hex(s: &Stamp) -> String {
    let mut out = String::with_capacity(80);
    let _ = write!(out, "{:016x}", s.hlc.0);
    for b in s.site.as_bytes().iter().chain(s.op.as_bytes()) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn parse_stamp(s: &str) -> Result<Stamp, StorageError> {
    let bad = || StorageError::Corrupt(format!("bad stamp of {} chars", s.len()));
    if s.len() != 80 || !s.is_ascii() {
        return Err(bad());
    }
    let hlc = u64::from_str_radix(&s[..16], 16).map_err(|_| bad())?;
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        let at = 16 + 2 * i;
        *b = u8::from_str_radix(&s[at..at + 2], 16).map_err(|_| bad())?;
    }
    let mut site = [0u8; 16];
    let mut op = [0u8; 16];
    site.copy_from_slice(&bytes[..16]);
    op.copy_from_slice(&bytes[16..]);
    Ok(Stamp {
        hlc: Hlc(hlc),
        site: SiteId::from_bytes(site),
        op: OpId::from_bytes(op),
    })
}

#[derive(Serialize, Deserialize)]
struct StoredOrigin {
    s: String,
    t: TempId,
    c: CounterCode,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    q: bool,
}

#[derive(Serialize, Deserialize)]
struct StoredField {
    /// Absent when equal to the origin's stamp (the common case: one stamp per patient).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<String>,
    v: FieldValue,
}

#[derive(Serialize, Deserialize)]
struct StoredPatient {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<StoredOrigin>,
    f: Vec<StoredField>,
    /// UHID: stamp and value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    u: Option<(String, Uhid)>,
    /// Decisions: other patient, stamp, decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    d: Vec<(PatientId, String, PairDecision)>,
    /// Link to the hospital's index: stamp and link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    l: Option<(String, CentralLink)>,
}

#[derive(Serialize, Deserialize)]
struct StoredCreated {
    s: String,
    v: NewVisit,
}

#[derive(Serialize, Deserialize)]
struct StoredCancel {
    s: String,
    c: CounterCode,
    r: String,
}

#[derive(Serialize, Deserialize)]
struct StoredVisit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<StoredCreated>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x: Option<StoredCancel>,
    #[serde(default)]
    n: u64,
}

/// A patient row as stored: the record's state as of the op `seq` (the last op merged into it).
#[derive(Clone, PartialEq, Eq)]
pub struct PatientRow {
    pub id: [u8; 16],
    pub seq: u64,
    pub temp_id: Option<String>,
    pub state: String,
}

/// A visit row as stored; the token columns make "which tokens were issued" a plain query.
#[derive(Clone, PartialEq, Eq)]
pub struct VisitRow {
    pub id: [u8; 16],
    pub seq: u64,
    pub patient: Option<[u8; 16]>,
    pub department: Option<String>,
    pub day: Option<String>,
    pub token: Option<String>,
    pub cancelled: bool,
    pub reprints: i64,
    pub state: String,
}

macro_rules! redacted_debug {
    ($t:ty) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("id", &uuid_hex(&self.id))
                    .field("seq", &self.seq)
                    .finish_non_exhaustive()
            }
        }
    };
}
redacted_debug!(PatientRow);
redacted_debug!(VisitRow);

fn uuid_hex(b: &[u8; 16]) -> String {
    PatientId::from_bytes(*b).0.hyphenated().to_string()
}

fn to_json<T: Serialize>(v: &T) -> String {
    // Serialising plain data structs to a String cannot fail.
    serde_json::to_string(v).unwrap_or_default()
}

impl PatientState {
    pub fn encode(&self, id: [u8; 16], seq: u64) -> PatientRow {
        let base = self.origin.as_ref().map(|o| o.stamp);
        let stored = StoredPatient {
            o: self.origin.as_ref().map(|o| StoredOrigin {
                s: stamp_hex(&o.stamp),
                t: o.temp_id.clone(),
                c: o.counter.clone(),
                q: o.quick,
            }),
            f: self
                .fields()
                .map(|(f, s)| StoredField {
                    s: (Some(*s) != base).then(|| stamp_hex(s)),
                    v: read_one(&self.values, f),
                })
                .collect(),
            u: self.uhid().map(|(s, u)| (stamp_hex(s), u.clone())),
            d: self
                .decisions()
                .map(|(o, (s, d))| (*o, stamp_hex(s), *d))
                .collect(),
            l: self.link().map(|(s, l)| (stamp_hex(s), l.clone())),
        };
        PatientRow {
            id,
            seq,
            temp_id: self.origin.as_ref().map(|o| o.temp_id.as_str().to_string()),
            state: to_json(&stored),
        }
    }

    pub fn decode(state: &str) -> Result<Self, StorageError> {
        let stored: StoredPatient = serde_json::from_str(state)
            .map_err(|e| StorageError::Corrupt(format!("patient state: {e}")))?;
        let mut out = PatientState::default();
        if let Some(o) = stored.o {
            out.origin = Some(Origin {
                stamp: parse_stamp(&o.s)?,
                temp_id: o.t,
                counter: o.c,
                quick: o.q,
            });
        }
        let base = out.origin.as_ref().map(|o| o.stamp);
        for f in stored.f {
            let stamp = match (f.s, base) {
                (Some(s), _) => parse_stamp(&s)?,
                (None, Some(b)) => b,
                (None, None) => {
                    return Err(StorageError::Corrupt(
                        "patient field without a stamp".to_string(),
                    ));
                }
            };
            out.offer(stamp, f.v);
        }
        if let Some((s, u)) = stored.u {
            out.extra_mut().uhid = Some((parse_stamp(&s)?, u));
        }
        for (other, s, d) in stored.d {
            let stamp = parse_stamp(&s)?;
            out.extra_mut().decisions.insert(other, (stamp, d));
        }
        if let Some((s, l)) = stored.l {
            out.extra_mut().link = Some((parse_stamp(&s)?, l));
        }
        Ok(out)
    }
}

impl VisitState {
    pub fn encode(&self, id: [u8; 16], seq: u64) -> VisitRow {
        let stored = StoredVisit {
            c: self.created.as_ref().map(|(s, v)| StoredCreated {
                s: stamp_hex(s),
                v: v.clone(),
            }),
            x: self.cancelled.as_ref().map(|c| StoredCancel {
                s: stamp_hex(&c.0),
                c: c.1.clone(),
                r: c.2.clone(),
            }),
            n: self.reprints,
        };
        let v = self.created.as_ref().map(|(_, v)| v);
        VisitRow {
            id,
            seq,
            patient: v.map(|v| *v.patient.as_bytes()),
            department: v.map(|v| v.department.as_str().to_string()),
            day: v.map(|v| v.day.to_string()),
            token: v.map(|v| format!("{}-{}", v.token.counter, v.token.seq)),
            cancelled: self.cancelled.is_some(),
            reprints: i64::try_from(self.reprints).unwrap_or(i64::MAX),
            state: to_json(&stored),
        }
    }

    pub fn decode(state: &str) -> Result<Self, StorageError> {
        let stored: StoredVisit = serde_json::from_str(state)
            .map_err(|e| StorageError::Corrupt(format!("visit state: {e}")))?;
        Ok(Self {
            created: match stored.c {
                Some(c) => Some((parse_stamp(&c.s)?, c.v)),
                None => None,
            },
            cancelled: match stored.x {
                Some(x) => Some(Box::new((parse_stamp(&x.s)?, x.c, x.r))),
                None => None,
            },
            reprints: stored.n,
        })
    }
}

/// Views of merged patients, sorted by ID (as a `Replica` lists them). Records joined by `same`
/// decisions are one person, shown as the earliest-registered record (the core's
/// `Replica::survivor`).
pub fn patient_views<'a>(
    states: impl IntoIterator<Item = (PatientId, &'a PatientState)>,
) -> Vec<PatientView> {
    let mut states: Vec<(PatientId, &PatientState)> = states.into_iter().collect();
    states.sort_unstable_by_key(|(id, _)| *id);
    let created = |p: &PatientId| -> Option<Stamp> {
        states
            .binary_search_by_key(p, |(id, _)| *id)
            .ok()
            .and_then(|i| states[i].1.origin.as_ref())
            .map(|o| o.stamp)
    };
    let mut parent: BTreeMap<PatientId, PatientId> = BTreeMap::new();
    fn find(parent: &mut BTreeMap<PatientId, PatientId>, x: PatientId) -> PatientId {
        let mut root = x;
        while let Some(&p) = parent.get(&root) {
            if p == root {
                break;
            }
            root = p;
        }
        parent.insert(x, root);
        root
    }
    for (a, st) in &states {
        for (b, (_, d)) in st.decisions() {
            if *d == PairDecision::Same {
                let (ra, rb) = (find(&mut parent, *a), find(&mut parent, *b));
                if ra != rb {
                    parent.insert(ra.max(rb), ra.min(rb));
                }
            }
        }
    }
    let mut clusters: BTreeMap<PatientId, Vec<PatientId>> = BTreeMap::new();
    let ids: Vec<PatientId> = parent.keys().copied().collect();
    for id in ids {
        let root = find(&mut parent, id);
        clusters.entry(root).or_default().push(id);
    }
    let mut survivor_of: BTreeMap<PatientId, PatientId> = BTreeMap::new();
    for members in clusters.values() {
        let survivor = members
            .iter()
            .min_by_key(|p| {
                let c = created(p);
                (c.is_none(), c, **p)
            })
            .copied();
        if let Some(s) = survivor {
            for m in members {
                survivor_of.insert(*m, s);
            }
        }
    }
    let mut out = Vec::with_capacity(states.len());
    for (id, st) in &states {
        if let Some(mut v) = st.view(*id) {
            v.merged_into = survivor_of.get(id).copied().filter(|s| s != id);
            out.push(v);
        }
    }
    out
}

/// Views of merged visits, sorted by visit ID.
pub fn visit_views<'a>(
    states: impl IntoIterator<Item = (VisitId, &'a VisitState)>,
) -> Vec<VisitView> {
    let mut out: Vec<(VisitId, VisitView)> = states
        .into_iter()
        .filter_map(|(id, s)| s.view().map(|v| (id, v)))
        .collect();
    out.sort_unstable_by_key(|(id, _)| *id);
    out.into_iter().map(|(_, v)| v).collect()
}

/// Views of stored patient rows (decoding each state).
pub fn patient_views_of_rows(
    rows: &[([u8; 16], String)],
) -> Result<Vec<PatientView>, StorageError> {
    let states = rows
        .iter()
        .map(|(id, s)| Ok((PatientId::from_bytes(*id), PatientState::decode(s)?)))
        .collect::<Result<Vec<_>, StorageError>>()?;
    Ok(patient_views(states.iter().map(|(id, s)| (*id, s))))
}

/// Views of stored visit rows (decoding each state).
pub fn visit_views_of_rows(rows: &[([u8; 16], String)]) -> Result<Vec<VisitView>, StorageError> {
    let states = rows
        .iter()
        .map(|(id, s)| Ok((VisitId::from_bytes(*id), VisitState::decode(s)?)))
        .collect::<Result<Vec<_>, StorageError>>()?;
    Ok(visit_views(states.iter().map(|(id, s)| (*id, s))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use parchi_core::Replica;
    use parchi_core::testgen::{arb_ops, shuffled};
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// Record-by-record merging through the storage encoding equals the core's replica.
        #[test]
        fn row_merge_equals_replica((ops, order) in arb_ops(60).prop_flat_map(|ops| {
            let n = ops.len();
            (Just(ops), shuffled(n))
        })) {
            let mut replica = Replica::new();
            for op in &ops { replica.apply(op); }
            let mut rows: HashMap<Entity, String> = HashMap::new();
            for &i in &order {
                let op = &ops[i];
                let e = entity_of(op);
                match e {
                    Entity::Patient(id) => {
                        let mut s = rows.get(&e).map(|r| PatientState::decode(r).expect("decode")).unwrap_or_default();
                        s.apply(op);
                        rows.insert(e, s.encode(id, 0).state);
                    }
                    Entity::Visit(id) => {
                        let mut s = rows.get(&e).map(|r| VisitState::decode(r).expect("decode")).unwrap_or_default();
                        s.apply(op);
                        rows.insert(e, s.encode(id, 0).state);
                    }
                }
            }
            let mut p = Vec::new();
            let mut v = Vec::new();
            for (e, state) in rows {
                match e {
                    Entity::Patient(id) => p.push((id, state)),
                    Entity::Visit(id) => v.push((id, state)),
                }
            }
            prop_assert_eq!(patient_views_of_rows(&p).expect("views"), replica.patients().collect::<Vec<_>>());
            prop_assert_eq!(visit_views_of_rows(&v).expect("views"), replica.visits().collect::<Vec<_>>());
        }
    }

    proptest! {
        /// The in-memory merge the hub runs on its hot path (ops taken by value, never encoded)
        /// equals the core's replica; and a state encoded and decoded at any point (a checkpoint
        /// and a restart) merges on to the same result.
        #[test]
        fn in_memory_merge_equals_replica((ops, order, cut) in arb_ops(60).prop_flat_map(|ops| {
            let n = ops.len();
            (Just(ops), shuffled(n), 0..=n)
        })) {
            let mut replica = Replica::new();
            for op in &ops { replica.apply(op); }
            let mut ps: HashMap<[u8; 16], PatientState> = HashMap::new();
            let mut vs: HashMap<[u8; 16], VisitState> = HashMap::new();
            for (k, &i) in order.iter().enumerate() {
                if k == cut {
                    ps = ps.into_iter().map(|(id, s)| (id, PatientState::decode(&s.encode(id, 1).state).expect("decode"))).collect();
                    vs = vs.into_iter().map(|(id, s)| (id, VisitState::decode(&s.encode(id, 1).state).expect("decode"))).collect();
                }
                let op = ops[i].clone();
                match entity_of(&op) {
                    Entity::Patient(id) => ps.entry(id).or_default().apply_owned(op),
                    Entity::Visit(id) => vs.entry(id).or_default().apply_owned(op),
                }
            }
            prop_assert_eq!(
                patient_views(ps.iter().map(|(id, s)| (PatientId::from_bytes(*id), s))),
                replica.patients().collect::<Vec<_>>()
            );
            prop_assert_eq!(
                visit_views(vs.iter().map(|(id, s)| (VisitId::from_bytes(*id), s))),
                replica.visits().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn field_slots_follow_field_all() {
        for (i, f) in Field::ALL.into_iter().enumerate() {
            assert_eq!(slot(f), i);
        }
    }

    #[test]
    fn stamps_round_trip_through_hex() {
        let s = Stamp {
            hlc: Hlc(u64::MAX - 5),
            site: SiteId::from_bytes([0xab; 16]),
            op: OpId::from_bytes([3; 16]),
        };
        assert_eq!(parse_stamp(&stamp_hex(&s)).expect("parse"), s);
        assert!(parse_stamp("zz").is_err());
    }
}
