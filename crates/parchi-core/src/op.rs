//! Operations: every change to the shared state is one of these, stamped with an HLC and the
//! issuing site, and never edited or deleted once written. Corrections, cancellations and reprints
//! are operations of their own, so the whole history of a record can always be shown.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::central::CentralLink;
use crate::hlc::{Hlc, Stamp};
use crate::ids::{
    ConfigId, CounterCode, DeptCode, OpId, PatientId, SiteId, TempId, Token, Uhid, VisitId,
};
use crate::patient::{
    AadhaarLast4, AbhaAddress, AbhaNumber, BirthDate, Category, Guardian, Mobile, Name,
    PatientFields, Pincode, Sex, Text,
};

/// One operation in the log.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    pub id: OpId,
    pub hlc: Hlc,
    pub site: SiteId,
    #[serde(flatten)]
    pub body: OpBody,
}

impl Op {
    /// The op's place in the total order used by last-writer-wins.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            hlc: self.hlc,
            site: self.site,
            op: self.id,
        }
    }

    /// The record (patient or visit) the operation is about, as raw UUID bytes.
    pub fn entity(&self) -> [u8; 16] {
        match &self.body {
            OpBody::CreatePatient { patient, .. } | OpBody::SetField { patient, .. } => {
                *patient.as_bytes()
            }
            OpBody::CreateVisit(v) => *v.visit.as_bytes(),
            OpBody::CancelVisit { visit, .. } | OpBody::RecordReprint { visit, .. } => {
                *visit.as_bytes()
            }
            OpBody::AssignUhid { patient, .. } | OpBody::Link { patient, .. } => {
                *patient.as_bytes()
            }
            OpBody::Decide { a, .. } => *a.as_bytes(),
            OpBody::PublishConfig { config, .. } => *config.as_bytes(),
        }
    }

    /// The second record an operation is about (the other patient of a decision).
    pub fn other_entity(&self) -> Option<[u8; 16]> {
        match &self.body {
            OpBody::Decide { b, .. } => Some(*b.as_bytes()),
            _ => None,
        }
    }
}

/// Prints the kind and identifiers only: the bodies hold personal data.
impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Op")
            .field("id", &self.id)
            .field("hlc", &self.hlc)
            .field("kind", &self.body.kind())
            .finish_non_exhaustive()
    }
}

/// What an operation does.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
// A creation carries every field; ops are built once and passed by reference, so the size gap
// costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum OpBody {
    /// A new patient, with every field's first value.
    CreatePatient {
        patient: PatientId,
        temp_id: TempId,
        counter: CounterCode,
        /// Registered in quick mode: the rest is to be completed later.
        #[serde(default)]
        quick: bool,
        fields: PatientFields,
    },
    /// A correction of one field. `prev` is the write it replaced as the writer saw it (the
    /// creation or an earlier correction): two corrections with the same `prev` from different
    /// sites were made without seeing each other, which the admin's conflict list shows.
    SetField {
        patient: PatientId,
        value: FieldValue,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prev: Option<OpId>,
    },
    /// The permanent hospital ID the central hub assigned. A last-writer-wins register; the
    /// patient's temporary ID keeps resolving.
    AssignUhid { patient: PatientId, uhid: Uhid },
    /// An admin's decision about two records: the same person (merge) or not. The latest decision
    /// about a pair stands; records joined by `Same` decisions form one person, shown as the
    /// record registered first. An unmerge is a `Distinct` decision.
    Decide {
        a: PatientId,
        b: PatientId,
        decision: PairDecision,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
    },
    /// What is known of the patient's record in the hospital's own patient index: linked to a
    /// UHID (from the card, or matched after the outage), claimed from a card but unverified,
    /// new to the hospital, or not a proposed record. A last-writer-wins register per patient;
    /// every `NotLinked` is also remembered for good (see `central`).
    Link {
        patient: PatientId,
        link: CentralLink,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
    },
    /// A visit with its queue token. Visits are append-only.
    CreateVisit(NewVisit),
    /// Cancels a visit; the visit stays in the record, marked cancelled.
    CancelVisit {
        visit: VisitId,
        counter: CounterCode,
        reason: String,
    },
    /// A slip was printed again (the reprint is marked DUPLICATE).
    RecordReprint {
        visit: VisitId,
        counter: CounterCode,
    },
    /// The hospital's configuration (departments, rooms, days, fees, counters), published once
    /// by an admin at the hub or at one counter for every counter, in force from
    /// `effective_from` (the hospital's local date). `settings` is the configuration document
    /// without any counter's own settings (printer, slip layout, hub address); the core does not
    /// read it, the app checks it against the configuration's schema before it takes effect.
    /// Published configurations are a grow-only set; the one in force on a day is
    /// [`crate::replica::config_in_force`].
    PublishConfig {
        config: ConfigId,
        effective_from: NaiveDate,
        settings: serde_json::Value,
        /// What the admin said of the change.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
}

impl OpBody {
    pub fn kind(&self) -> &'static str {
        match self {
            OpBody::CreatePatient { .. } => "create_patient",
            OpBody::SetField { .. } => "set_field",
            OpBody::CreateVisit(_) => "create_visit",
            OpBody::CancelVisit { .. } => "cancel_visit",
            OpBody::RecordReprint { .. } => "record_reprint",
            OpBody::PublishConfig { .. } => "publish_config",
            OpBody::AssignUhid { .. } => "assign_uhid",
            OpBody::Link { .. } => "link",
            OpBody::Decide {
                decision: PairDecision::Same,
                ..
            } => "merge",
            OpBody::Decide {
                decision: PairDecision::Distinct,
                ..
            } => "not_duplicate",
        }
    }
}

/// Whether two patient records are the same person.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairDecision {
    Same,
    Distinct,
}

impl PairDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            PairDecision::Same => "same",
            PairDecision::Distinct => "distinct",
        }
    }
}

/// The two records of a pair in a canonical order (smaller ID first).
pub fn pair(a: PatientId, b: PatientId) -> (PatientId, PatientId) {
    if a <= b { (a, b) } else { (b, a) }
}

/// A visit as created.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct NewVisit {
    pub visit: VisitId,
    pub patient: PatientId,
    pub department: DeptCode,
    pub day: NaiveDate,
    pub token: Token,
    /// Fee charged, in rupees (0 when waived).
    pub fee: u32,
    pub category: Category,
}

/// A patient field's name.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    Sex,
    Birth,
    Guardian,
    Mobile,
    Locality,
    District,
    State,
    Pincode,
    AbhaNumber,
    AbhaAddress,
    AadhaarLast4,
    Category,
}

impl Field {
    pub const ALL: [Field; 13] = [
        Field::Name,
        Field::Sex,
        Field::Birth,
        Field::Guardian,
        Field::Mobile,
        Field::Locality,
        Field::District,
        Field::State,
        Field::Pincode,
        Field::AbhaNumber,
        Field::AbhaAddress,
        Field::AadhaarLast4,
        Field::Category,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Sex => "sex",
            Field::Birth => "birth",
            Field::Guardian => "guardian",
            Field::Mobile => "mobile",
            Field::Locality => "locality",
            Field::District => "district",
            Field::State => "state",
            Field::Pincode => "pincode",
            Field::AbhaNumber => "abha_number",
            Field::AbhaAddress => "abha_address",
            Field::AadhaarLast4 => "aadhaar_last4",
            Field::Category => "category",
        }
    }

    /// Fields whose concurrent edits an admin should review even though last-writer-wins settles
    /// them: they decide who the person is.
    pub fn is_identity(self) -> bool {
        matches!(self, Field::Name | Field::Sex | Field::Birth)
    }
}

/// A new value for one field.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "field", content = "value", rename_all = "snake_case")]
pub enum FieldValue {
    Name(Name),
    Sex(Sex),
    Birth(BirthDate),
    Guardian(Option<Guardian>),
    Mobile(Option<Mobile>),
    Locality(Option<Text>),
    District(Option<Text>),
    State(Option<Text>),
    Pincode(Option<Pincode>),
    AbhaNumber(Option<AbhaNumber>),
    AbhaAddress(Option<AbhaAddress>),
    AadhaarLast4(Option<AadhaarLast4>),
    Category(Category),
}

impl FieldValue {
    pub fn field(&self) -> Field {
        match self {
            FieldValue::Name(_) => Field::Name,
            FieldValue::Sex(_) => Field::Sex,
            FieldValue::Birth(_) => Field::Birth,
            FieldValue::Guardian(_) => Field::Guardian,
            FieldValue::Mobile(_) => Field::Mobile,
            FieldValue::Locality(_) => Field::Locality,
            FieldValue::District(_) => Field::District,
            FieldValue::State(_) => Field::State,
            FieldValue::Pincode(_) => Field::Pincode,
            FieldValue::AbhaNumber(_) => Field::AbhaNumber,
            FieldValue::AbhaAddress(_) => Field::AbhaAddress,
            FieldValue::AadhaarLast4(_) => Field::AadhaarLast4,
            FieldValue::Category(_) => Field::Category,
        }
    }

    /// Writes this value into `fields`.
    pub fn apply_to(&self, fields: &mut PatientFields) {
        self.clone().put_into(fields);
    }

    /// Moves this value into its field of `fields`.
    pub fn put_into(self, fields: &mut PatientFields) {
        match self {
            FieldValue::Name(v) => fields.name = v,
            FieldValue::Sex(v) => fields.sex = v,
            FieldValue::Birth(v) => fields.birth = v,
            FieldValue::Guardian(v) => fields.guardian = v,
            FieldValue::Mobile(v) => fields.mobile = v,
            FieldValue::Locality(v) => fields.locality = v,
            FieldValue::District(v) => fields.district = v,
            FieldValue::State(v) => fields.state = v,
            FieldValue::Pincode(v) => fields.pincode = v,
            FieldValue::AbhaNumber(v) => fields.abha_number = v,
            FieldValue::AbhaAddress(v) => fields.abha_address = v,
            FieldValue::AadhaarLast4(v) => fields.aadhaar_last4 = v,
            FieldValue::Category(v) => fields.category = v,
        }
    }

    /// The value of `field` in `fields`.
    pub fn read(fields: &PatientFields, field: Field) -> FieldValue {
        let f = fields.clone();
        match field {
            Field::Name => FieldValue::Name(f.name),
            Field::Sex => FieldValue::Sex(f.sex),
            Field::Birth => FieldValue::Birth(f.birth),
            Field::Guardian => FieldValue::Guardian(f.guardian),
            Field::Mobile => FieldValue::Mobile(f.mobile),
            Field::Locality => FieldValue::Locality(f.locality),
            Field::District => FieldValue::District(f.district),
            Field::State => FieldValue::State(f.state),
            Field::Pincode => FieldValue::Pincode(f.pincode),
            Field::AbhaNumber => FieldValue::AbhaNumber(f.abha_number),
            Field::AbhaAddress => FieldValue::AbhaAddress(f.abha_address),
            Field::AadhaarLast4 => FieldValue::AadhaarLast4(f.aadhaar_last4),
            Field::Category => FieldValue::Category(f.category),
        }
    }

    /// The values that differ between `old` and `new`, as operations would carry them.
    pub fn diff(old: &PatientFields, new: &PatientFields) -> Vec<FieldValue> {
        Field::ALL
            .iter()
            .map(|&f| FieldValue::read(new, f))
            .filter(|v| *v != FieldValue::read(old, v.field()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_match_their_serde_tags() {
        for f in Field::ALL {
            let tag = serde_json::to_value(f).expect("json");
            assert_eq!(tag, serde_json::Value::String(f.as_str().into()));
        }
    }
}
