//! The records the store hands out, and how they are read from their rows.

use chrono::NaiveDate;
use parchi_core::central::CentralLink;
use parchi_core::op::Op;
use parchi_core::patient::PatientFields;
use parchi_core::{DeptCode, Hlc, PatientId, TempId, Token, Uhid, VisitId};
use rusqlite::Row;
use serde::Serialize;

/// A patient as stored.
#[derive(Clone, Debug, Serialize)]
pub struct PatientRecord {
    pub id: PatientId,
    pub temp_id: TempId,
    pub uhid: Option<Uhid>,
    pub fields: PatientFields,
    pub quick: bool,
    pub counter: String,
    pub created_hlc: Hlc,
    pub last_visit: Option<NaiveDate>,
    /// The surviving record this one was merged into, if an admin merged it.
    pub merged_into: Option<PatientId>,
    /// The record's link to the hospital's own index (its own; a person's link is
    /// `Store::person_link`).
    pub link: Option<CentralLink>,
}

/// A visit as stored, with its cancellation and reprints.
#[derive(Clone, Debug, Serialize)]
pub struct VisitRecord {
    pub id: VisitId,
    pub patient: PatientId,
    pub department: DeptCode,
    pub day: NaiveDate,
    pub token: Token,
    pub fee: u32,
    pub category: String,
    pub created_hlc: Hlc,
    pub cancelled: bool,
    pub cancel_reason: Option<String>,
    pub reprints: u32,
}

/// How a search hit matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    Mobile,
    TempId,
    Uhid,
    AbhaNumber,
    AbhaAddress,
    PatientId,
    Name,
}

/// One ranked search result.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    pub patient: PatientRecord,
    pub matched: MatchKind,
    /// 1.0 for exact identifier matches; name similarity otherwise.
    pub score: f64,
}

/// One operation in a record's history.
#[derive(Clone, Debug)]
pub struct HistoryEntry {
    pub op: Op,
    pub effective_hlc: Option<Hlc>,
    pub local: bool,
    pub sync_state: RecordSyncState,
}

/// Whether a record's changes have reached the hub.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordSyncState {
    /// Everything written here has been pushed (or the record came from the hub).
    Synced,
    /// Some changes wait to be pushed.
    Pending,
    /// The hub refused a change; see the error list.
    Error,
}

/// One row of the day report.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReportRow {
    pub key: String,
    pub registrations: u32,
    pub new_patients: u32,
    pub cancellations: u32,
    pub reprints: u32,
    /// Rupees collected on visits that were not cancelled.
    pub fees: u64,
    pub waived: u32,
}

/// Registrations, cancellations and fees for one day, per department and per counter.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DayReport {
    pub day: NaiveDate,
    pub by_department: Vec<ReportRow>,
    pub by_counter: Vec<ReportRow>,
    pub total: ReportRow,
}

pub(crate) const PATIENT_COLS: &str =
    "id, temp_id, uhid, fields, quick, counter, created_hlc, last_visit, merged_into, link";

pub(crate) fn bad(e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.to_string().into())
}

pub(crate) fn patient_from_row(r: &Row<'_>) -> rusqlite::Result<PatientRecord> {
    let id: Vec<u8> = r.get(0)?;
    let temp: String = r.get(1)?;
    let uhid: Option<String> = r.get(2)?;
    let fields: String = r.get(3)?;
    let last: Option<String> = r.get(7)?;
    Ok(PatientRecord {
        id: PatientId::from_slice(&id).map_err(bad)?,
        temp_id: TempId::parse(&temp).map_err(bad)?,
        uhid: uhid.map(|u| Uhid::parse(&u)).transpose().map_err(bad)?,
        fields: serde_json::from_str(&fields).map_err(bad)?,
        quick: r.get(4)?,
        counter: r.get(5)?,
        created_hlc: Hlc(r.get::<_, i64>(6)? as u64),
        last_visit: last.map(|d| d.parse()).transpose().map_err(bad)?,
        merged_into: r
            .get::<_, Option<Vec<u8>>>(8)?
            .map(|b| PatientId::from_slice(&b))
            .transpose()
            .map_err(bad)?,
        link: r
            .get::<_, Option<String>>(9)?
            .map(|l| serde_json::from_str(&l))
            .transpose()
            .map_err(bad)?,
    })
}

pub(crate) const VISIT_COLS: &str = "v.id, v.patient, v.department, v.day, v.token_counter, v.token_seq, v.fee, v.category,
    v.created_hlc, c.reason IS NOT NULL, c.reason, (SELECT COUNT(*) FROM reprints r WHERE r.visit = v.id)";

pub(crate) fn visit_from_row(r: &Row<'_>) -> rusqlite::Result<VisitRecord> {
    let id: Vec<u8> = r.get(0)?;
    let patient: Vec<u8> = r.get(1)?;
    let dept: String = r.get(2)?;
    let day: String = r.get(3)?;
    let counter: String = r.get(4)?;
    Ok(VisitRecord {
        id: VisitId::from_slice(&id).map_err(bad)?,
        patient: PatientId::from_slice(&patient).map_err(bad)?,
        department: DeptCode::parse(&dept).map_err(bad)?,
        day: day.parse().map_err(bad)?,
        token: Token {
            counter: parchi_core::CounterCode::parse(&counter).map_err(bad)?,
            seq: r.get(5)?,
        },
        fee: r.get(6)?,
        category: r.get(7)?,
        created_hlc: Hlc(r.get::<_, i64>(8)? as u64),
        cancelled: r.get(9)?,
        cancel_reason: r.get(10)?,
        reprints: r.get(11)?,
    })
}

/// A local user account: name, role and the stored secret (an argon2 hash).
#[derive(Clone, PartialEq, Eq)]
pub struct UserRow {
    pub name: String,
    pub role: String,
    pub secret: String,
    pub disabled: bool,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}
