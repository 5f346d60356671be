//! What the counter reads: a visit, a patient, today's list, search (Parchi's own patients and
//! the hospital's index), a record's history, the day report, what waits for the hub.

use chrono::{NaiveDate, NaiveDateTime};
use parchi_core::PatientId;
use parchi_core::op::OpBody;
use parchi_core::patient::Age;
use parchi_store::{DayReport, MatchKind, PatientRecord, RecordSyncState, VisitRecord};
use serde::Serialize;

use crate::counter::{Counter, Result};
use crate::error::AppError;
use crate::returning::Found;

/// How many hits a search returns when the caller does not say, and the most it may ask for.
pub const SEARCH_LIMIT_DEFAULT: usize = 8;
pub const SEARCH_LIMIT_MAX: usize = 50;

/// A patient as a search result or a lookup shows them: enough to tell namesakes apart.
#[derive(Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PatientSummary {
    pub patient_id: PatientId,
    pub temp_id: String,
    pub uhid: Option<String>,
    pub name: String,
    pub age: String,
    pub sex: String,
    pub guardian: Option<String>,
    pub mobile: Option<String>,
    pub abha_number: Option<String>,
    pub category: String,
    pub quick: bool,
    pub last_visit: Option<NaiveDate>,
    /// The person's link to the hospital's index: `linked`, `claimed` (from a card, not yet
    /// verified), `new` or `not_linked`; absent when not yet decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "ts",
        ts(optional, type = "\"linked\" | \"claimed\" | \"new\" | \"not_linked\"")
    )]
    pub link: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub matched: Option<MatchKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub score: Option<f64>,
}

parchi_core::redacted_debug!(PatientSummary, patient_id, quick, matched, score);

/// One line of a record's history.
#[derive(Clone, Serialize)]
pub struct HistoryItem {
    /// Local time of the change.
    pub at: NaiveDateTime,
    pub op_id: String,
    pub kind: &'static str,
    pub summary: String,
    pub local: bool,
    pub sync: RecordSyncState,
    pub details: serde_json::Value,
}

parchi_core::redacted_debug!(HistoryItem, at, op_id, kind, local, sync);

/// The day report with department names.
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Report {
    pub hospital: String,
    #[serde(flatten)]
    pub report: DayReport,
    pub department_names: std::collections::BTreeMap<String, String>,
}

/// Counts for the status bar: whether sync is configured, and what waits.
#[derive(Clone, Debug, Serialize)]
pub struct OutboxStatus {
    pub pending: u64,
    pub rejected: u64,
}

/// The search connection's page cache without a mirror, in KiB.
pub const SEARCH_CACHE_KIB: u32 = 8_192;
/// The most [`Counter::search_cache_kib`] asks for, in KiB.
pub const SEARCH_CACHE_MAX_KIB: u32 = 262_144;

impl Counter {
    pub fn visit(&self, visit: &str) -> Result<VisitRecord> {
        let id = parse_visit(visit)?;
        self.store().visit(id)?.ok_or_else(|| {
            parchi_store::StoreError::NotFound {
                what: "visit",
                id: id.to_string(),
            }
            .into()
        })
    }

    pub fn patient(&self, patient_ref: &str) -> Result<PatientSummary> {
        Ok(self.summary(&self.store().resolve_patient(patient_ref)?, None, None))
    }

    pub fn patient_record(&self, patient_ref: &str) -> Result<PatientRecord> {
        Ok(self.store().resolve_patient(patient_ref)?)
    }

    pub fn visits_of(&self, patient_ref: &str) -> Result<Vec<VisitRecord>> {
        let p = self.store().resolve_patient(patient_ref)?;
        Ok(self.store().visits_of(p.id)?)
    }

    /// Today's visits at this counter, in issue order.
    pub fn todays_visits(&self) -> Result<Vec<(VisitRecord, PatientSummary)>> {
        let mut out = Vec::new();
        for v in self
            .store()
            .visits_on(self.today(), Some(self.counter_code().as_str()))?
        {
            if let Some(p) = self.store().patient(v.patient)? {
                let s = self.summary(&p, None, None);
                out.push((v, s));
            }
        }
        Ok(out)
    }

    /// The page cache for the connection search and registration use: 8 MiB, and 1 KiB more
    /// for every 20 records of the hospital's index held here, up to 256 MiB (at 5M records).
    /// Every page of the encrypted store read past the cache is decrypted again, and a name
    /// search over millions of mirrored records reads thousands: at 5M records the misspelt
    /// name p99 falls from about 36 ms with 8 MiB to about 25 ms (`cargo bench -p parchi-app
    /// --bench central`).
    pub fn search_cache_kib(&self) -> Result<u32> {
        let records = self.store().mirror_size_estimate()?;
        let extra = u32::try_from(records / 20).unwrap_or(u32::MAX);
        Ok(SEARCH_CACHE_KIB
            .saturating_add(extra)
            .min(SEARCH_CACHE_MAX_KIB))
    }

    /// Finds patients as the clerk types: Parchi's own, and those of the hospital's index
    /// nobody here has registered yet, best first (on equal scores, Parchi's own first).
    /// `limit` is 1 to [`SEARCH_LIMIT_MAX`] (the screens ask for [`SEARCH_LIMIT_DEFAULT`]); an
    /// empty query finds nothing.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Found>> {
        if !(1..=SEARCH_LIMIT_MAX).contains(&limit) {
            return Err(AppError::Invalid(format!(
                "limit: must be 1 to {SEARCH_LIMIT_MAX}"
            )));
        }
        if query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let invalid = |e| match e {
            parchi_store::StoreError::Invalid(m) => AppError::Invalid(m),
            e => e.into(),
        };
        let (hits, mirror) = if self.store().has_mirror()? {
            self.store()
                .search_with_mirror(query, limit)
                .map_err(invalid)?
        } else {
            (
                self.store().search(query, limit).map_err(invalid)?,
                Vec::new(),
            )
        };
        let own: Vec<PatientSummary> = hits
            .into_iter()
            .map(|h| self.summary(&h.patient, Some(h.matched), Some(h.score)))
            .collect();
        let shown: Vec<String> = own.iter().filter_map(|p| p.uhid.clone()).collect();
        let central = self.central_hits(mirror, &shown)?;
        let mut found: Vec<Found> = own
            .into_iter()
            .map(Found::Parchi)
            .chain(central.into_iter().map(Found::HospitalIndex))
            .collect();
        found.sort_by(|a, b| b.score().total_cmp(&a.score()));
        found.truncate(limit);
        Ok(found)
    }

    pub fn summary(
        &self,
        p: &PatientRecord,
        matched: Option<MatchKind>,
        score: Option<f64>,
    ) -> PatientSummary {
        let f = &p.fields;
        let link = self.store().person_link(p.id).ok().flatten();
        let uhid = match &link {
            Some(parchi_core::CentralLink::Linked { uhid, .. }) => Some(uhid.to_string()),
            _ => p.uhid.as_ref().map(|u| u.to_string()),
        };
        PatientSummary {
            patient_id: p.id,
            temp_id: p.temp_id.to_string(),
            uhid,
            link: link.as_ref().map(|l| l.status()),
            name: f.name.to_string(),
            age: Age::on(f.birth.date, self.today()).to_string(),
            sex: f.sex.code().to_owned(),
            guardian: f
                .guardian
                .as_ref()
                .map(|g| format!("{} {}", g.relation.code(), g.name)),
            mobile: f.mobile.as_ref().map(|m| m.to_string()),
            abha_number: f.abha_number.as_ref().map(|a| a.formatted()),
            category: f.category.code().to_owned(),
            quick: p.quick,
            last_visit: p.last_visit,
            matched,
            score: score.map(|s| (s * 1000.0).round() / 1000.0),
        }
    }

    /// Every change to a patient (with their visits) or to one visit, oldest first.
    pub fn history(&self, reference: &str) -> Result<Vec<HistoryItem>> {
        let entity = match parse_visit(reference) {
            Ok(v) if self.store().visit(v)?.is_some() => *v.as_bytes(),
            _ => *self.store().resolve_patient(reference)?.id.as_bytes(),
        };
        let entries = self.store().history(entity)?;
        Ok(entries
            .into_iter()
            .map(|e| {
                let hlc = e.effective_hlc.unwrap_or(e.op.hlc);
                HistoryItem {
                    at: self.local_time_of(hlc),
                    op_id: e.op.id.to_string(),
                    kind: e.op.body.kind(),
                    summary: describe(&e.op.body),
                    local: e.local,
                    sync: e.sync_state,
                    details: serde_json::to_value(&e.op.body).unwrap_or(serde_json::Value::Null),
                }
            })
            .collect())
    }

    /// A day as an admin types it (`2026-11-28`); empty or absent means today.
    pub fn parse_day(text: Option<&str>) -> Result<Option<NaiveDate>> {
        match text.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| AppError::Invalid("date: must be a date like 2026-11-28".into())),
            None => Ok(None),
        }
    }

    /// Registrations, cancellations and fees per department and counter for a day.
    pub fn day_report(&self, day: Option<NaiveDate>) -> Result<Report> {
        let day = day.unwrap_or_else(|| self.today());
        Ok(Report {
            hospital: self.config().hospital.name.clone(),
            report: self.store().day_report(day)?,
            department_names: self
                .config()
                .departments
                .iter()
                .map(|d| (d.code.to_string(), d.name.clone()))
                .collect(),
        })
    }

    pub fn outbox(&self) -> Result<OutboxStatus> {
        let (pending, rejected) = self.store().outbox_counts()?;
        Ok(OutboxStatus { pending, rejected })
    }

    /// The sync state of one record (patient or visit).
    pub fn record_sync_state(&self, reference: &str) -> Result<RecordSyncState> {
        let entity = match parse_visit(reference) {
            Ok(v) if self.store().visit(v)?.is_some() => *v.as_bytes(),
            _ => *self.store().resolve_patient(reference)?.id.as_bytes(),
        };
        Ok(self.store().record_sync_state(entity)?)
    }
}

fn describe(body: &OpBody) -> String {
    match body {
        OpBody::CreatePatient {
            temp_id,
            counter,
            quick,
            ..
        } => format!(
            "registered{} at counter {counter}, temporary ID {temp_id}",
            if *quick { " (quick registration)" } else { "" }
        ),
        OpBody::SetField { value, .. } => {
            format!("{} corrected", value.field().as_str().replace('_', " "))
        }
        OpBody::CreateVisit(v) => {
            format!(
                "visit to {} on {}, token {}, fee Rs {} ({})",
                v.department,
                v.day,
                v.token,
                v.fee,
                v.category.code()
            )
        }
        OpBody::CancelVisit {
            counter, reason, ..
        } => {
            format!(
                "visit cancelled at counter {counter}{}",
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(": {reason}")
                }
            )
        }
        OpBody::RecordReprint { counter, .. } => {
            format!("slip reprinted at counter {counter} (marked DUPLICATE)")
        }
        OpBody::AssignUhid { uhid, .. } => format!("permanent UHID {uhid} assigned"),
        OpBody::PublishConfig { effective_from, .. } => {
            format!("hospital configuration published, in force from {effective_from}")
        }
        OpBody::Link { link, reason, .. } => {
            let what = match link {
                parchi_core::CentralLink::Claimed { uhid } => {
                    format!("UHID {uhid} taken from the patient's card, not yet verified")
                }
                parchi_core::CentralLink::Linked { uhid, basis, .. } => format!(
                    "linked to the hospital's record {uhid} ({})",
                    match basis {
                        parchi_core::LinkBasis::Card =>
                            "the card's UHID, found in the hospital index",
                        parchi_core::LinkBasis::Abha => "same ABHA number",
                        parchi_core::LinkBasis::Auto => "matched after the outage",
                        parchi_core::LinkBasis::Admin => "accepted in the link review",
                    }
                ),
                parchi_core::CentralLink::New => "marked new to the hospital".to_string(),
                parchi_core::CentralLink::NotLinked { uhid } => {
                    format!("not the hospital's record {uhid} (rejected in the link review)")
                }
            };
            if reason.is_empty() {
                what
            } else {
                format!("{what}: {reason}")
            }
        }
        OpBody::Decide {
            a,
            b,
            decision,
            reason,
        } => format!(
            "records {a} and {b} {}{}",
            match decision {
                parchi_core::PairDecision::Same => "merged as one person",
                parchi_core::PairDecision::Distinct => "marked as different people",
            },
            if reason.is_empty() {
                String::new()
            } else {
                format!(": {reason}")
            }
        ),
    }
}

/// A visit ID as typed or scanned.
pub(crate) fn parse_visit(s: &str) -> Result<parchi_core::VisitId> {
    s.trim().parse::<parchi_core::VisitId>().map_err(|_| {
        AppError::Invalid(format!(
            "{:?} is not a visit ID (a UUID like 0193a5c2-7f4e-7b1a-9c3d-2e5f6a7b8c9d)",
            s.trim()
        ))
    })
}
