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

use parchi_core::op::{Field, FieldValue, NewVisit, Op, OpBody, PairDecision, pair};
use parchi_core::patient::PatientFields;
use parchi_core::replica::{Origin, PatientView, VisitView, wins};
use parchi_core::{CounterCode, Hlc, OpId, PatientId, SiteId, Stamp, TempId, Uhid, VisitId};
use serde::{Deserialize, Serialize};

use crate::error::StorageError;

/// A patient as merged so far (possibly fields without a creation yet).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PatientState {
    pub origin: Option<Origin>,
    pub fields: BTreeMap<Field, (Stamp, FieldValue)>,
    /// The permanent UHID, last writer wins.
    pub uhid: Option<(Stamp, Uhid)>,
    /// Decisions about pairs whose smaller ID is this patient, last writer wins per pair.
    pub decisions: BTreeMap<PatientId, (Stamp, PairDecision)>,
}

/// A visit as merged so far.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct VisitState {
    pub created: Option<(Stamp, NewVisit)>,
    pub cancelled: Option<(Stamp, CounterCode, String)>,
    pub reprints: u64,
}

fn offer(fields: &mut BTreeMap<Field, (Stamp, FieldValue)>, stamp: Stamp, value: FieldValue) {
    match fields.get(&value.field()) {
        Some((current, _)) if !wins(&stamp, current) => {}
        _ => {
            fields.insert(value.field(), (stamp, value));
        }
    }
}

impl PatientState {
    /// Merges a patient op (already carrying its effective HLC). Other ops are ignored.
    pub fn apply(&mut self, op: &Op) {
        let stamp = op.stamp();
        match &op.body {
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
                        temp_id: temp_id.clone(),
                        counter: counter.clone(),
                        quick: *quick,
                    });
                }
                for f in Field::ALL {
                    offer(&mut self.fields, stamp, FieldValue::read(fields, f));
                }
            }
            OpBody::SetField { value, .. } => offer(&mut self.fields, stamp, value.clone()),
            OpBody::AssignUhid { uhid, .. }
                if self.uhid.as_ref().is_none_or(|(s, _)| wins(&stamp, s)) =>
            {
                self.uhid = Some((stamp, uhid.clone()));
            }
            OpBody::Decide { a, b, decision, .. } => {
                let (_, other) = pair(*a, *b);
                if self
                    .decisions
                    .get(&other)
                    .is_none_or(|(s, _)| wins(&stamp, s))
                {
                    self.decisions.insert(other, (stamp, *decision));
                }
            }
            _ => {}
        }
    }

    /// The patient as a replica shows it, once its creation has been seen.
    pub fn view(&self, id: PatientId) -> Option<PatientView> {
        let origin = self.origin.clone()?;
        let mut fields = PatientFields::blank();
        for (_, v) in self.fields.values() {
            v.apply_to(&mut fields);
        }
        Some(PatientView {
            id,
            origin,
            fields,
            uhid: self.uhid.as_ref().map(|(_, u)| u.clone()),
            merged_into: None,
        })
    }
}

impl VisitState {
    /// Merges a visit op (already carrying its effective HLC). Other ops are ignored.
    pub fn apply(&mut self, op: &Op) {
        let stamp = op.stamp();
        match &op.body {
            OpBody::CreateVisit(v) if self.created.as_ref().is_none_or(|(s, _)| stamp < *s) => {
                self.created = Some((stamp, v.clone()));
            }
            OpBody::CancelVisit {
                counter, reason, ..
            } if self.cancelled.as_ref().is_none_or(|(s, _, _)| stamp < *s) => {
                self.cancelled = Some((stamp, counter.clone(), reason.clone()));
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
        OpBody::CreatePatient { .. } | OpBody::SetField { .. } | OpBody::AssignUhid { .. } => {
            Entity::Patient(op.entity())
        }
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

/// A patient row as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct PatientRow {
    pub id: [u8; 16],
    pub temp_id: Option<String>,
    pub state: String,
}

/// A visit row as stored; the token columns make "which tokens were issued" a plain query.
#[derive(Clone, PartialEq, Eq)]
pub struct VisitRow {
    pub id: [u8; 16],
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
    pub fn encode(&self, id: [u8; 16]) -> PatientRow {
        let base = self.origin.as_ref().map(|o| o.stamp);
        let stored = StoredPatient {
            o: self.origin.as_ref().map(|o| StoredOrigin {
                s: stamp_hex(&o.stamp),
                t: o.temp_id.clone(),
                c: o.counter.clone(),
                q: o.quick,
            }),
            f: self
                .fields
                .values()
                .map(|(s, v)| StoredField {
                    s: (Some(*s) != base).then(|| stamp_hex(s)),
                    v: v.clone(),
                })
                .collect(),
            u: self.uhid.as_ref().map(|(s, u)| (stamp_hex(s), u.clone())),
            d: self
                .decisions
                .iter()
                .map(|(o, (s, d))| (*o, stamp_hex(s), *d))
                .collect(),
        };
        PatientRow {
            id,
            temp_id: self.origin.as_ref().map(|o| o.temp_id.as_str().to_string()),
            state: to_json(&stored),
        }
    }

    pub fn decode(state: &str) -> Result<Self, StorageError> {
        let stored: StoredPatient = serde_json::from_str(state)
            .map_err(|e| StorageError::Corrupt(format!("patient state: {e}")))?;
        let origin = match stored.o {
            Some(o) => Some(Origin {
                stamp: parse_stamp(&o.s)?,
                temp_id: o.t,
                counter: o.c,
                quick: o.q,
            }),
            None => None,
        };
        let base = origin.as_ref().map(|o| o.stamp);
        let mut fields = BTreeMap::new();
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
            fields.insert(f.v.field(), (stamp, f.v));
        }
        let uhid = match stored.u {
            Some((s, u)) => Some((parse_stamp(&s)?, u)),
            None => None,
        };
        let mut decisions = BTreeMap::new();
        for (other, s, d) in stored.d {
            decisions.insert(other, (parse_stamp(&s)?, d));
        }
        Ok(Self {
            origin,
            fields,
            uhid,
            decisions,
        })
    }
}

impl VisitState {
    pub fn encode(&self, id: [u8; 16]) -> VisitRow {
        let stored = StoredVisit {
            c: self.created.as_ref().map(|(s, v)| StoredCreated {
                s: stamp_hex(s),
                v: v.clone(),
            }),
            x: self.cancelled.as_ref().map(|(s, c, r)| StoredCancel {
                s: stamp_hex(s),
                c: c.clone(),
                r: r.clone(),
            }),
            n: self.reprints,
        };
        let v = self.created.as_ref().map(|(_, v)| v);
        VisitRow {
            id,
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
                Some(x) => Some((parse_stamp(&x.s)?, x.c, x.r)),
                None => None,
            },
            reprints: stored.n,
        })
    }
}

/// Views of stored rows, sorted by ID (as a `Replica` lists them).
pub fn patient_views(rows: &[([u8; 16], String)]) -> Result<Vec<PatientView>, StorageError> {
    let mut states = BTreeMap::new();
    for (id, state) in rows {
        states.insert(PatientId::from_bytes(*id), PatientState::decode(state)?);
    }
    // Records joined by `same` decisions are one person, shown as the earliest-registered record
    // (the core's `Replica::survivor`).
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
        for (b, (_, d)) in &st.decisions {
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
                let created = states
                    .get(p)
                    .and_then(|s| s.origin.as_ref())
                    .map(|o| o.stamp);
                (created.is_none(), created, **p)
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
    Ok(out)
}

pub fn visit_views(rows: &[([u8; 16], String)]) -> Result<Vec<VisitView>, StorageError> {
    let mut out = Vec::with_capacity(rows.len());
    for (id, state) in rows {
        if let Some(v) = VisitState::decode(state)?.view() {
            out.push((VisitId::from_bytes(*id), v));
        }
    }
    out.sort_by_key(|(id, _)| *id);
    Ok(out.into_iter().map(|(_, v)| v).collect())
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
                        rows.insert(e, s.encode(id).state);
                    }
                    Entity::Visit(id) => {
                        let mut s = rows.get(&e).map(|r| VisitState::decode(r).expect("decode")).unwrap_or_default();
                        s.apply(op);
                        rows.insert(e, s.encode(id).state);
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
            prop_assert_eq!(patient_views(&p).expect("views"), replica.patients().collect::<Vec<_>>());
            prop_assert_eq!(visit_views(&v).expect("views"), replica.visits().collect::<Vec<_>>());
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
