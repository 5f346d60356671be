//! Reads: lookups, search as you type, history, the day report and the outbox.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use parchi_core::names;
use parchi_core::op::Op;
use parchi_core::patient::{AbhaAddress, AbhaNumber, Mobile, PatientFields};
use parchi_core::{DeptCode, Hlc, OpId, PatientId, TempId, Token, Uhid, VisitId};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use crate::{Result, Store, StoreError};

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
pub struct DayReport {
    pub day: NaiveDate,
    pub by_department: Vec<ReportRow>,
    pub by_counter: Vec<ReportRow>,
    pub total: ReportRow,
}

const PATIENT_COLS: &str =
    "id, temp_id, uhid, fields, quick, counter, created_hlc, last_visit, merged_into";

fn bad(e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.to_string().into())
}

fn patient_from_row(r: &Row<'_>) -> rusqlite::Result<PatientRecord> {
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
    })
}

const VISIT_COLS: &str = "v.id, v.patient, v.department, v.day, v.token_counter, v.token_seq, v.fee, v.category,
    v.created_hlc, c.reason IS NOT NULL, c.reason, (SELECT COUNT(*) FROM reprints r WHERE r.visit = v.id)";

fn visit_from_row(r: &Row<'_>) -> rusqlite::Result<VisitRecord> {
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

/// Longest a query may be; anything longer is no name or ID anyone types.
const MAX_QUERY_CHARS: usize = 100;
/// How many name-search candidates are scored before ranking.
const NAME_CANDIDATES: usize = 300;
/// A best strict-key match at least this good ends the name search early.
const STRICT_GOOD_ENOUGH: f64 = 0.85;

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
            "SELECT {VISIT_COLS} FROM visits v LEFT JOIN cancellations c ON c.visit = v.id
             WHERE v.day = ?1 AND (?2 IS NULL OR v.token_counter = ?2) ORDER BY v.created_hlc"
        );
        let mut q = self.conn.prepare_cached(&sql)?;
        let rows = q.query_map(params![day.to_string(), counter], visit_from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Search as you type: exact by mobile, temporary ID, UHID, ABHA number or address (and by
    /// prefix while a mobile or ID is being typed); otherwise by name, tolerant of misspelling,
    /// ranked best first.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>> {
        let hits = self.search_records(query, limit)?;
        if hits.iter().all(|h| h.patient.merged_into.is_none()) {
            return Ok(hits);
        }
        // A merged record stands for its person: show the surviving record once.
        let mut out: Vec<Hit> = Vec::with_capacity(hits.len());
        for h in hits {
            let patient = self.survivor_of(h.patient)?;
            if !out.iter().any(|o| o.patient.id == patient.id) {
                out.push(Hit { patient, ..h });
            }
        }
        Ok(out)
    }

    fn search_records(&self, query: &str, limit: usize) -> Result<Vec<Hit>> {
        let q = query.trim();
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(StoreError::Invalid(format!(
                "search text is longer than {MAX_QUERY_CHARS} characters"
            )));
        }
        if q.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let exact = |kind, recs: Vec<PatientRecord>| -> Vec<Hit> {
            recs.into_iter()
                .map(|patient| Hit {
                    patient,
                    matched: kind,
                    score: 1.0,
                })
                .collect()
        };
        if let Ok(id) = q.parse::<PatientId>() {
            return Ok(exact(
                MatchKind::PatientId,
                self.patient(id)?.into_iter().collect(),
            ));
        }
        if q.contains('@') {
            return Ok(match AbhaAddress::parse(q) {
                Ok(a) => exact(
                    MatchKind::AbhaAddress,
                    self.patients_where("abha_address = ?1", a.as_str(), limit)?,
                ),
                Err(_) => Vec::new(),
            });
        }
        let digits: String = q
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '+' | '(' | ')'))
            .collect();
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(m) = Mobile::parse(q) {
                return Ok(exact(
                    MatchKind::Mobile,
                    self.patients_where("mobile = ?1", m.as_str(), limit)?,
                ));
            }
            if let Ok((a, _)) = AbhaNumber::parse(q) {
                return Ok(exact(
                    MatchKind::AbhaNumber,
                    self.patients_where("abha_number = ?1", a.as_str(), limit)?,
                ));
            }
            if digits.len() >= 4 && digits.len() < 10 {
                // A mobile number being typed.
                let hi = prefix_upper_bound(&digits);
                let mut qy = self.conn.prepare_cached(&format!(
                    "SELECT {PATIENT_COLS} FROM patients WHERE mobile >= ?1 AND mobile < ?2 ORDER BY mobile LIMIT ?3"
                ))?;
                let rows = qy.query_map(params![digits, hi, limit as i64], patient_from_row)?;
                return Ok(exact(
                    MatchKind::Mobile,
                    rows.collect::<rusqlite::Result<_>>()?,
                ));
            }
            return Ok(Vec::new());
        }
        if q.bytes().any(|b| b.is_ascii_digit()) {
            // An identifier: temporary ID or UHID, complete or being typed.
            if let Ok(t) = TempId::parse(q) {
                return Ok(exact(
                    MatchKind::TempId,
                    self.patients_where("temp_id = ?1", t.as_str(), limit)?,
                ));
            }
            if let Ok(u) = Uhid::parse(q) {
                let hits = self.patients_where("uhid = ?1", u.as_str(), limit)?;
                if !hits.is_empty() {
                    return Ok(exact(MatchKind::Uhid, hits));
                }
            }
            let canon: String = q
                .bytes()
                .filter(|b| !matches!(b, b'-' | b' '))
                .map(|b| parchi_core::code::normalise_char(b) as char)
                .collect();
            if canon.len() >= 3 {
                let hi = prefix_upper_bound(&canon);
                let mut qy = self.conn.prepare_cached(&format!(
                    "SELECT {PATIENT_COLS} FROM patients WHERE temp_id >= ?1 AND temp_id < ?2 ORDER BY temp_id LIMIT ?3"
                ))?;
                let rows = qy.query_map(params![canon, hi, limit as i64], patient_from_row)?;
                return Ok(exact(
                    MatchKind::TempId,
                    rows.collect::<rusqlite::Result<_>>()?,
                ));
            }
            return Ok(Vec::new());
        }
        self.search_name(q, limit)
    }

    fn search_name(&self, q: &str, limit: usize) -> Result<Vec<Hit>> {
        let qt = names::tokens(q);
        // First the sound keys alone (dropped vowels, doubled letters, transliterations: most
        // slips), which touch short lists; only if that finds nothing good, the deletion
        // neighbours too (one more slip), which touch longer ones.
        // Fastest: the pairs of sound keys a full name is also indexed under.
        // Every pair must be there (AND): each list is short, so this reads little.
        let pairs: Vec<Vec<String>> = names::pair_terms(q).into_iter().map(|t| vec![t]).collect();
        let mut ranked = self.name_candidates(&pairs, &qt)?;
        if ranked.first().is_none_or(|(s, _)| *s < STRICT_GOOD_ENOUGH) {
            let strict = self.name_candidates(&names::query_groups(q, true, false), &qt)?;
            merge_ranked(&mut ranked, strict);
        }
        if ranked.first().is_none_or(|(s, _)| *s < STRICT_GOOD_ENOUGH) {
            let wide = self.name_candidates(&names::query_groups(q, true, true), &qt)?;
            merge_ranked(&mut ranked, wide);
        }
        ranked.truncate(limit);
        let mut hits = Vec::with_capacity(ranked.len());
        let mut qy = self.conn.prepare_cached(&format!(
            "SELECT {PATIENT_COLS} FROM patients WHERE rowid = ?1"
        ))?;
        for (score, rowid) in ranked {
            if let Some(patient) = qy.query_row([rowid], patient_from_row).optional()? {
                hits.push(Hit {
                    patient,
                    matched: MatchKind::Name,
                    score,
                });
            }
        }
        // Equal scores: the patient seen most recently first.
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| b.patient.last_visit.cmp(&a.patient.last_visit))
                .then_with(|| b.patient.created_hlc.cmp(&a.patient.created_hlc))
        });
        Ok(hits)
    }

    /// Scores the records an FTS query over `groups` finds; best first, as (score, rowid).
    fn name_candidates(&self, groups: &[Vec<String>], qt: &[String]) -> Result<Vec<(f64, i64)>> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let fts = groups
            .iter()
            .map(|g| format!("({})", g.join(" OR ")))
            .collect::<Vec<_>>()
            .join(" AND ");
        let mut qy = self.conn.prepare_cached(
            "SELECT p.rowid, p.name FROM patients p WHERE p.rowid IN
                (SELECT rowid FROM patient_fts WHERE patient_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2)",
        )?;
        let rows = qy.query_map(params![fts, NAME_CANDIDATES as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (rowid, name) = row?;
            out.push((names::score_tokens(qt, &names::tokens(&name), true), rowid));
        }
        out.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
        Ok(out)
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
        let mut q = self.conn.prepare_cached(
            "SELECT v.department, v.token_counter, v.fee, v.category, c.visit IS NOT NULL,
                 (SELECT COUNT(*) FROM reprints r WHERE r.visit = v.id),
                 v.id = (SELECT v2.id FROM visits v2 WHERE v2.patient = v.patient ORDER BY v2.created_hlc LIMIT 1)
             FROM visits v
             LEFT JOIN cancellations c ON c.visit = v.id
             WHERE v.day = ?1",
        )?;
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
        let mut q = self.conn.prepare_cached(
            "SELECT body FROM ops WHERE origin = 0 AND sync_state = 0 ORDER BY seq LIMIT ?1",
        )?;
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
            .prepare_cached(
                "SELECT (SELECT count(*) FROM ops WHERE origin = 0 AND sync_state = 0), \
                    (SELECT count(*) FROM ops WHERE origin = 0 AND sync_state = 2)",
            )?
            .query_row([], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })?)
    }

    /// Marks local operations as accepted by the hub.
    pub fn mark_pushed(&mut self, ids: &[OpId]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut q = tx.prepare_cached(
                "UPDATE ops SET sync_state = 1, error = NULL WHERE id = ?1 AND origin = 0",
            )?;
            for id in ids {
                q.execute([id.as_bytes()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Moves a local operation the hub refused to the error list, so the rest keeps flowing.
    pub fn mark_rejected(&mut self, id: OpId, reason: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE ops SET sync_state = 2, error = ?2 WHERE id = ?1 AND origin = 0",
            params![id.as_bytes(), reason],
        )?;
        Ok(())
    }

    /// Puts refused operations back in the queue (after the cause was fixed at the hub).
    pub fn retry_rejected(&mut self) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE ops SET sync_state = 0 WHERE origin = 0 AND sync_state = 2",
            [],
        )?)
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

impl Store {
    pub fn add_user(&mut self, user: &UserRow, created: &str) -> Result<()> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO users (name, role, secret, created, disabled) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![user.name, user.role, user.secret, created, user.disabled],
        )?;
        if n == 0 {
            return Err(StoreError::Invalid(format!(
                "user {:?} already exists",
                user.name
            )));
        }
        Ok(())
    }

    pub fn set_user_secret(&mut self, name: &str, secret: &str) -> Result<()> {
        match self.conn.execute(
            "UPDATE users SET secret = ?2 WHERE name = ?1",
            params![name, secret],
        )? {
            0 => Err(StoreError::NotFound {
                what: "user",
                id: name.to_owned(),
            }),
            _ => Ok(()),
        }
    }

    pub fn set_user_disabled(&mut self, name: &str, disabled: bool) -> Result<()> {
        match self.conn.execute(
            "UPDATE users SET disabled = ?2 WHERE name = ?1",
            params![name, disabled],
        )? {
            0 => Err(StoreError::NotFound {
                what: "user",
                id: name.to_owned(),
            }),
            _ => Ok(()),
        }
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

/// Adds candidates not already ranked, keeping best-first order.
fn merge_ranked(ranked: &mut Vec<(f64, i64)>, more: Vec<(f64, i64)>) {
    for m in more {
        if !ranked.iter().any(|(_, r)| *r == m.1) {
            ranked.push(m);
        }
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
}

/// The smallest string greater than every string starting with `prefix` (ASCII).
fn prefix_upper_bound(prefix: &str) -> String {
    let mut s = prefix.to_owned();
    s.push('\u{7f}');
    s
}
