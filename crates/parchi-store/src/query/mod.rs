//! Reads: lookups, history, the day report, the outbox and local accounts.

mod reconcile;
pub(crate) mod search;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use parchi_core::op::Op;
use parchi_core::{Hlc, PatientId, TempId, Uhid, VisitId};
use rusqlite::{OptionalExtension, params};

pub use reconcile::{Conflict, ConflictWrite, Decision};

use crate::outbox::WAITING;
use crate::records::{
    DayReport, HistoryEntry, PATIENT_COLS, PatientRecord, RecordSyncState, ReportRow, UserRow,
    VISIT_COLS, VisitRecord, patient_from_row, visit_from_row,
};
use crate::{Result, Store, StoreError};

/// The departments that have visits, each found by one seek in the token index (`UNIQUE
/// (department, day, token_counter, token_seq)`): a day's visits are read through that index
/// department by department (`FROM departments CROSS JOIN visits v WHERE v.department =
/// departments.d AND v.day = ?`), so registrations keep no index by day (a page each).
const DEPARTMENTS: &str = "WITH RECURSIVE departments(d) AS (
         SELECT min(department) FROM visits
         UNION ALL
         SELECT (SELECT min(department) FROM visits WHERE department > departments.d)
         FROM departments WHERE departments.d IS NOT NULL)";

impl Store {
    pub fn patient(&self, id: PatientId) -> Result<Option<PatientRecord>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {PATIENT_COLS} FROM patients WHERE id = ?1"
            ))?
            .query_row([id.as_bytes()], patient_from_row)
            .optional()?)
    }

    fn patients_where(&self, cond: &str, arg: &str, limit: usize) -> Result<Vec<PatientRecord>> {
        let sql = format!(
            "SELECT {PATIENT_COLS} FROM patients WHERE {cond} ORDER BY rowid DESC LIMIT ?2"
        );
        let mut q = self.conn.prepare_cached(&sql)?;
        let rows = q.query_map(params![arg, limit as i64], patient_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Resolves what a clerk or script gave as a patient reference: a patient UUID, a temporary
    /// ID or a UHID.
    /// Resolves a reference to the person's surviving record: a temporary ID or UHID of a record
    /// that was merged into another keeps working and leads to the survivor.
    pub fn resolve_patient(&self, reference: &str) -> Result<PatientRecord> {
        let record = self.find_record(reference)?;
        self.survivor_of(record)
    }

    /// Follows a merge to the surviving record.
    pub fn survivor_of(&self, record: PatientRecord) -> Result<PatientRecord> {
        match record.merged_into {
            Some(s) => Ok(self.patient(s)?.unwrap_or(record)),
            None => Ok(record),
        }
    }

    /// The exact record a reference names (a patient UUID, temporary ID or UHID), merged or not.
    pub fn find_record(&self, reference: &str) -> Result<PatientRecord> {
        let not_found = || StoreError::NotFound {
            what: "patient",
            id: reference.trim().to_owned(),
        };
        if let Ok(id) = reference.parse::<PatientId>() {
            return self.patient(id)?.ok_or_else(not_found);
        }
        if let Ok(t) = TempId::parse(reference)
            && let Some(p) = self.patients_where("temp_id = ?1", t.as_str(), 1)?.pop()
        {
            return Ok(p);
        }
        if let Ok(u) = Uhid::parse(reference)
            && let Some(p) = self.patients_where("uhid = ?1", u.as_str(), 1)?.pop()
        {
            return Ok(p);
        }
        if TempId::looks_like(reference)
            && let Err(e) = TempId::parse(reference)
        {
            return Err(StoreError::Invalid(e.to_string()));
        }
        Err(not_found())
    }

    pub fn visit(&self, id: VisitId) -> Result<Option<VisitRecord>> {
        let sql = format!(
            "SELECT {VISIT_COLS} FROM visits v LEFT JOIN cancellations c ON c.visit = v.id WHERE v.id = ?1"
        );
        Ok(self
            .conn
            .prepare_cached(&sql)?
            .query_row([id.as_bytes()], visit_from_row)
            .optional()?)
    }

    /// A person's visits (over every record merged into theirs), newest first.
    pub fn visits_of(&self, patient: PatientId) -> Result<Vec<VisitRecord>> {
        let mut all = Vec::new();
        for member in self.cluster_of(patient)? {
            all.extend(self.visits_of_record(member)?);
        }
        all.sort_by_key(|v| std::cmp::Reverse(v.created_hlc));
        Ok(all)
    }

    /// One record's own visits, newest first.
    pub fn visits_of_record(&self, patient: PatientId) -> Result<Vec<VisitRecord>> {
        let sql = format!(
            "SELECT {VISIT_COLS} FROM visits v LEFT JOIN cancellations c ON c.visit = v.id
             WHERE v.patient = ?1 ORDER BY v.created_hlc DESC"
        );
        let mut q = self.conn.prepare_cached(&sql)?;
        let rows = q.query_map([patient.as_bytes()], visit_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Visits of a day, optionally only one counter's, in issue order.
    pub fn visits_on(&self, day: NaiveDate, counter: Option<&str>) -> Result<Vec<VisitRecord>> {
        let sql = format!(
            "{DEPARTMENTS} SELECT {VISIT_COLS} FROM departments CROSS JOIN visits v
                 LEFT JOIN cancellations c ON c.visit = v.id
             WHERE v.department = departments.d AND v.day = ?1
                 AND (?2 IS NULL OR v.token_counter = ?2)
             ORDER BY v.created_hlc"
        );
        let mut q = self.conn.prepare_cached(&sql)?;
        let rows = q.query_map(params![day.to_string(), counter], visit_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every operation on a patient (and on their visits) or on a visit, oldest first.
    pub fn history(&self, entity: [u8; 16]) -> Result<Vec<HistoryEntry>> {
        let mut q = self.conn.prepare_cached(
            "SELECT body, effective_hlc, origin, sync_state FROM ops
             WHERE entity = ?1 OR entity IN (SELECT id FROM visits WHERE patient = ?1)
                OR id IN (SELECT op FROM op_links WHERE entity = ?1)
             ORDER BY coalesce(effective_hlc, hlc), seq",
        )?;
        let rows = q.query_map([&entity[..]], |r| {
            let body: String = r.get(0)?;
            let eff: Option<i64> = r.get(1)?;
            let origin: i64 = r.get(2)?;
            let state: i64 = r.get(3)?;
            Ok((body, eff, origin, state))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (body, eff, origin, state) = row?;
            let local = origin == 0;
            out.push(HistoryEntry {
                op: serde_json::from_str(&body)?,
                effective_hlc: eff.map(|h| Hlc(h as u64)),
                local,
                sync_state: match (local, state) {
                    (false, _) | (true, 1) => RecordSyncState::Synced,
                    (true, 2) => RecordSyncState::Error,
                    _ => RecordSyncState::Pending,
                },
            });
        }
        Ok(out)
    }

    /// The sync state of a patient or visit: pending if any change made here waits to be pushed.
    pub fn record_sync_state(&self, entity: [u8; 16]) -> Result<RecordSyncState> {
        let (pending, errors): (i64, i64) = self.conn.prepare_cached(
            "SELECT coalesce(sum(sync_state = 0), 0), coalesce(sum(sync_state = 2), 0) FROM ops
             WHERE origin = 0 AND (entity = ?1 OR entity IN (SELECT id FROM visits WHERE patient = ?1))",
        )?
        .query_row([&entity[..]], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(if errors > 0 {
            RecordSyncState::Error
        } else if pending > 0 {
            RecordSyncState::Pending
        } else {
            RecordSyncState::Synced
        })
    }

    /// Counts and fees for `day`, per department and per counter.
    pub fn day_report(&self, day: NaiveDate) -> Result<DayReport> {
        let mut q = self.conn.prepare_cached(&format!(
            "{DEPARTMENTS} SELECT v.department, v.token_counter, v.fee, v.category, c.visit IS NOT NULL,
                 (SELECT COUNT(*) FROM reprints r WHERE r.visit = v.id),
                 v.id = (SELECT v2.id FROM visits v2 WHERE v2.patient = v.patient ORDER BY v2.created_hlc LIMIT 1)
             FROM departments CROSS JOIN visits v
             LEFT JOIN cancellations c ON c.visit = v.id
             WHERE v.department = departments.d AND v.day = ?1"
        ))?;
        let rows = q.query_map([day.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, bool>(6)?,
            ))
        })?;
        let mut by_dept: BTreeMap<String, ReportRow> = BTreeMap::new();
        let mut by_counter: BTreeMap<String, ReportRow> = BTreeMap::new();
        let mut total = ReportRow {
            key: "TOTAL".into(),
            ..Default::default()
        };
        for row in rows {
            let (dept, counter, fee, category, cancelled, reprints, new_patient) = row?;
            for r in [
                by_dept.entry(dept.clone()).or_insert_with(|| ReportRow {
                    key: dept.clone(),
                    ..Default::default()
                }),
                by_counter
                    .entry(counter.clone())
                    .or_insert_with(|| ReportRow {
                        key: counter.clone(),
                        ..Default::default()
                    }),
                &mut total,
            ] {
                r.registrations += 1;
                r.reprints += reprints as u32;
                r.new_patients += u32::from(new_patient);
                if cancelled {
                    r.cancellations += 1;
                } else {
                    r.fees += fee.max(0) as u64;
                    r.waived += u32::from(fee == 0 && category != "general");
                }
            }
        }
        Ok(DayReport {
            day,
            by_department: by_dept.into_values().collect(),
            by_counter: by_counter.into_values().collect(),
            total,
        })
    }

    /// Alarms an admin must see (tokens issued twice, clocks far off).
    pub fn alarms(&self) -> Result<Vec<(String, String)>> {
        let mut q = self
            .conn
            .prepare_cached("SELECT kind, detail FROM alarms ORDER BY id")?;
        let rows = q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Operations written here that wait to be pushed, oldest first.
    pub fn pending_ops(&self, limit: usize) -> Result<Vec<Op>> {
        let mut q = self.conn.prepare_cached(&format!(
            "SELECT body FROM ops WHERE {WAITING} ORDER BY seq LIMIT ?1"
        ))?;
        let rows = q.query_map([limit as i64], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for body in rows {
            out.push(serde_json::from_str(&body?)?);
        }
        Ok(out)
    }

    /// How many local operations wait to be pushed, and how many the hub refused.
    pub fn outbox_counts(&self) -> Result<(u64, u64)> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT (SELECT count(*) FROM ops WHERE {WAITING}), \
                    (SELECT count(*) FROM ops WHERE origin = 0 AND sync_state = 2)"
            ))?
            .query_row([], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })?)
    }

    /// The refused operations with the hub's reasons.
    pub fn rejected_ops(&self) -> Result<Vec<(Op, String)>> {
        let mut q = self.conn.prepare_cached(
            "SELECT body, coalesce(error, '') FROM ops WHERE origin = 0 AND sync_state = 2 ORDER BY seq",
        )?;
        let rows = q.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (body, err) = row?;
            out.push((serde_json::from_str(&body)?, err));
        }
        Ok(out)
    }

    /// Every surviving patient record (not merged into another), oldest first.
    pub fn all_patients(&self) -> Result<Vec<PatientRecord>> {
        let mut q = self.conn.prepare(&format!(
            "SELECT {PATIENT_COLS} FROM patients WHERE merged_into IS NULL ORDER BY rowid"
        ))?;
        let rows = q.query_map([], patient_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Total patients and visits stored.
    pub fn counts(&self) -> Result<(u64, u64)> {
        Ok(self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM patients), (SELECT COUNT(*) FROM visits)",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }

    pub fn user(&self, name: &str) -> Result<Option<UserRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT name, role, secret, disabled FROM users WHERE name = ?1",
                [name],
                |r| {
                    Ok(UserRow {
                        name: r.get(0)?,
                        role: r.get(1)?,
                        secret: r.get(2)?,
                        disabled: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn users(&self) -> Result<Vec<UserRow>> {
        let mut q = self
            .conn
            .prepare("SELECT name, role, secret, disabled FROM users ORDER BY name")?;
        let rows = q.query_map([], |r| {
            Ok(UserRow {
                name: r.get(0)?,
                role: r.get(1)?,
                secret: r.get(2)?,
                disabled: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
