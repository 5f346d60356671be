//! How the hub stores a merged record: a row of JSON with hex stamps, and back.

use std::fmt::Write as _;

use parchi_core::central::CentralLink;
use parchi_core::op::{FieldValue, NewVisit, PairDecision};
use parchi_core::replica::Origin;
use parchi_core::{CounterCode, Hlc, OpId, PatientId, SiteId, Stamp, TempId, Uhid};
use serde::{Deserialize, Serialize};

use crate::error::StorageError;

use super::*;

/// A stamp as 80 hex digits: HLC (16), site (32), op (32). Sorts like the stamp.
pub(super) fn stamp_hex(s: &Stamp) -> String {
    let mut out = String::with_capacity(80);
    let _ = write!(out, "{:016x}", s.hlc.0);
    for b in s.site.as_bytes().iter().chain(s.op.as_bytes()) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

pub(super) fn parse_stamp(s: &str) -> Result<Stamp, StorageError> {
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
