//! Returning patients: the UHID on their hospital card, the mirror of the hospital's index, and
//! the link a new visit records.
//!
//! - A card's UHID that a Parchi patient already holds: the visit is theirs.
//! - A UHID found in the mirror whose record fits the person at the counter: the patient is
//!   linked to it (`Linked`, basis `Card`), as an operation in the registration's transaction.
//! - A UHID in the mirror whose record differs sharply (sex, or age by more than ten years):
//!   perhaps a relative's card. The clerk is warned and the UHID is kept as `Claimed`, to be
//!   verified after the outage; so is a UHID the mirror does not hold.
//! - A UHID that breaks the hospital's format is refused.

use chrono::Datelike;
use parchi_core::central::CentralLink;
use parchi_core::patient::{Age, FieldError, PatientFields};
use parchi_core::{CentralPatient, LinkBasis, Uhid, ValidationErrors};
use parchi_dedup::link::{LinkConfig, card_check};
use parchi_store::{MatchKind, PatientRecord};
use serde::Serialize;

use crate::counter::{Counter, PatientSummary, Result};
use crate::error::AppError;
use crate::matching::{central_record, fields_record};

/// What a card's UHID leads to.
pub(crate) enum CardLink {
    /// A Parchi patient already holds the UHID (their surviving record).
    Registered(Box<PatientRecord>),
    /// A new patient, with this link and what the clerk should know.
    New(CentralLink, Vec<FieldError>),
}

impl CardLink {
    /// What the clerk should know before saving.
    pub(crate) fn warnings(&self) -> Vec<FieldError> {
        match self {
            CardLink::Registered(p) => vec![FieldError {
                field: "uhid",
                code: "already_registered",
                message: format!(
                    "already registered here (temporary ID {}): the visit will be theirs",
                    p.temp_id
                ),
            }],
            CardLink::New(_, w) => w.clone(),
        }
    }
}

/// A record of the hospital's index as a search shows it: enough to tell namesakes apart.
#[derive(Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CentralSummary {
    pub uhid: String,
    pub name: String,
    pub age: Option<String>,
    pub sex: Option<String>,
    pub guardian: Option<String>,
    pub mobile: Option<String>,
    pub district: Option<String>,
    pub seen: Option<chrono::NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub matched: Option<MatchKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub score: Option<f64>,
}

parchi_core::redacted_debug!(CentralSummary, uhid, matched, score);

/// One search result: a Parchi patient, or a record of the hospital's index nobody here has
/// registered yet (marked "from the hospital index"; starting a visit for it registers them).
#[derive(Clone, Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Found {
    Parchi(PatientSummary),
    HospitalIndex(CentralSummary),
}

impl Found {
    pub fn score(&self) -> f64 {
        match self {
            Found::Parchi(p) => p.score.unwrap_or(1.0),
            Found::HospitalIndex(c) => c.score.unwrap_or(1.0),
        }
    }
}

fn uhid_error(e: AppError) -> AppError {
    match e {
        AppError::Invalid(m) => AppError::Validation(ValidationErrors(vec![FieldError {
            field: "uhid",
            code: "format",
            message: m.trim_start_matches("uhid: ").to_string(),
        }])),
        e => e,
    }
}

impl Counter {
    /// A card's UHID checked against the hospital's format, as a field error for the form.
    pub(crate) fn card_uhid(&self, text: &str) -> Result<Uhid> {
        self.parse_uhid(text).map_err(uhid_error)
    }

    /// What registering `fields` with the card's UHID `u` should record.
    pub(crate) fn card_link(&self, u: &Uhid, fields: &PatientFields) -> Result<CardLink> {
        if let Some(holder) = self.store().records_with_uhid(u)?.into_iter().next() {
            let person = self.store().survivor_of(holder)?;
            return Ok(CardLink::Registered(Box::new(person)));
        }
        let Some(central) = self.store().mirror_record(u)? else {
            let as_of = self.mirror_label()?;
            return Ok(CardLink::New(
                CentralLink::Claimed { uhid: u.clone() },
                vec![FieldError {
                    field: "uhid",
                    code: "not_in_index",
                    message: format!(
                        "{u} is not in the {as_of}; it is kept as claimed, to be verified after the outage"
                    ),
                }],
            ));
        };
        let warnings = self.card_warnings(&central, fields);
        let link = if warnings.is_empty() {
            CentralLink::Linked {
                uhid: u.clone(),
                basis: LinkBasis::Card,
                update: Vec::new(),
            }
        } else {
            CentralLink::Claimed { uhid: u.clone() }
        };
        Ok(CardLink::New(link, warnings))
    }

    /// Warnings when a card's record differs sharply from the person at the counter.
    pub(crate) fn card_warnings(
        &self,
        central: &CentralPatient,
        fields: &PatientFields,
    ) -> Vec<FieldError> {
        let found = card_check(
            &fields_record(fields, ()),
            &central_record(central),
            &LinkConfig::default(),
        );
        if found.is_empty() {
            return Vec::new();
        }
        let why: Vec<String> = found.iter().map(ToString::to_string).collect();
        vec![FieldError {
            field: "uhid",
            code: "card_mismatch",
            message: format!(
                "{}: it may be a relative's card; the UHID is kept as claimed, to be verified",
                why.join(" and ")
            ),
        }]
    }

    /// The fields of a new Parchi patient taken from the mirror, for a visit started from a
    /// hospital-index search hit.
    pub(crate) fn fields_from_mirror(&self, central: &CentralPatient) -> Result<PatientFields> {
        central.to_fields().map_err(|why| {
            AppError::Invalid(format!(
                "{why} for UHID {}: register the patient with the UHID and the missing details",
                central.uhid
            ))
        })
    }

    /// A hospital-index record as a search result.
    pub fn central_summary(&self, c: &CentralPatient) -> CentralSummary {
        CentralSummary {
            uhid: c.uhid.to_string(),
            name: c.name.to_string(),
            age: c.birth.map(
                |b| match b.approximate && b.date.month() == 7 && b.date.day() == 1 {
                    // A year of birth only: the age in years, as of this year.
                    true => format!("{}Y", (self.today().year() - b.date.year()).max(0)),
                    false => Age::on(b.date, self.today()).to_string(),
                },
            ),
            sex: c.sex.map(|s| s.code().to_owned()),
            guardian: c
                .guardian_name
                .as_ref()
                .map(|g| format!("{} {g}", c.guardian_relation.map_or("C/o", |r| r.code()))),
            mobile: c.mobile.as_ref().map(|m| m.to_string()),
            district: c.district.as_ref().map(|d| d.to_string()),
            seen: c.seen,
            matched: None,
            score: None,
        }
    }

    /// Mirror hits as the clerk sees them, leaving out records a Parchi patient here already
    /// holds (those show as the Parchi patient, with their visits).
    pub(crate) fn central_hits(
        &self,
        hits: Vec<parchi_store::MirrorHit>,
        shown: &[String],
    ) -> Result<Vec<CentralSummary>> {
        let mut out = Vec::new();
        for h in hits {
            let uhid = h.record.uhid.to_string();
            if shown.contains(&uhid) || !self.store().records_with_uhid(&h.record.uhid)?.is_empty()
            {
                continue;
            }
            let mut c = self.central_summary(&h.record);
            c.matched = Some(h.matched);
            c.score = Some((h.score * 1000.0).round() / 1000.0);
            out.push(c);
        }
        Ok(out)
    }
}
