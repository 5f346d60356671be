//! Export to the hospital information system as HL7 FHIR R4 transaction Bundles.
//!
//! One `Patient` per person (the surviving record of merged ones) and one `Encounter` (class
//! `AMB`) per visit. Every entry is a conditional create on its identifier, so sending the same
//! Bundle twice creates nothing twice. Identifiers follow the ABDM FHIR IG: the ABHA number under
//! `https://healthid.ndhm.gov.in` with type `HIN`, the ABHA address with type `ABHA`; the UHID and
//! temporary IDs under the hospital's own systems (there is no national UHID URI). Every temporary
//! ID the person was ever given is exported, so each printed slip stays traceable.

pub mod plan;
pub(crate) mod push;

pub use push::{FhirTarget, PushSummary};

use std::path::{Path, PathBuf};

use chrono::Datelike;
use parchi_core::patient::{Age, GuardianRelation, Sex};
use parchi_store::{PatientRecord, VisitRecord};
use serde_json::{Value, json};

use crate::counter::{Counter, Result};
use crate::error::AppError;

const ABHA_SYSTEM: &str = "https://healthid.ndhm.gov.in";
const NDHM_ID_TYPE: &str = "https://nrces.in/ndhm/fhir/r4/CodeSystem/ndhm-identifier-type-code";
const V2_ID_TYPE: &str = "http://terminology.hl7.org/CodeSystem/v2-0203";
const ROLE_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// Patients per Bundle (with their encounters).
pub const PATIENTS_PER_BUNDLE: usize = 200;

/// The identifier systems of one hospital.
#[derive(Clone, Debug)]
pub struct Systems {
    pub uhid: String,
    pub temp_id: String,
    pub visit: String,
    pub token: String,
}

impl Systems {
    /// From the configured UHID system (`…/uhid`): the others sit beside it.
    pub fn from_uhid_system(uhid: Option<&str>) -> Systems {
        let uhid = uhid
            .unwrap_or("urn:parchi:hospital:uhid")
            .trim_end_matches('/')
            .to_owned();
        let base = uhid
            .strip_suffix("/uhid")
            .or_else(|| uhid.strip_suffix(":uhid"))
            .unwrap_or(&uhid)
            .to_owned();
        let sep = if base.starts_with("urn:") { ":" } else { "/" };
        Systems {
            temp_id: format!("{base}{sep}temporary-id"),
            visit: format!("{base}{sep}opd-visit"),
            token: format!("{base}{sep}opd-token"),
            uhid,
        }
    }
}

/// What an export wrote.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExportSummary {
    pub bundles: Vec<PathBuf>,
    /// Patients created (people new to the hospital).
    pub patients: usize,
    pub encounters: usize,
    /// Existing Patients of the hospital to be updated (linked persons).
    pub updates: usize,
    pub updates_file: Option<PathBuf>,
    /// Persons not exported yet, with why.
    pub held: Vec<plan::Held>,
}

fn gender(s: Sex) -> &'static str {
    match s {
        Sex::Male => "male",
        Sex::Female => "female",
        Sex::Other => "other",
    }
}

fn relation(r: GuardianRelation) -> (&'static str, &'static str) {
    match r {
        GuardianRelation::SonOf | GuardianRelation::DaughterOf => ("PRN", "parent"),
        GuardianRelation::WifeOf => ("HUSB", "husband"),
        GuardianRelation::CareOf => ("GUARD", "guardian"),
    }
}

pub(super) fn identifier(
    system: &str,
    value: &str,
    use_: &str,
    type_: Option<(&str, &str, &str)>,
) -> Value {
    let mut id = json!({ "use": use_, "system": system, "value": value });
    if let Some((sys, code, display)) = type_ {
        id["type"] = json!({ "coding": [{ "system": sys, "code": code, "display": display }] });
    }
    id
}

/// The ABHA number as an identifier (ABDM FHIR IG).
pub(super) fn abha_identifier(a: &parchi_core::patient::AbhaNumber) -> Value {
    identifier(
        ABHA_SYSTEM,
        &a.formatted(),
        "official",
        Some((NDHM_ID_TYPE, "HIN", "ABHA number")),
    )
}

/// The home address of a patient, if any part of it is known.
pub(super) fn address(f: &parchi_core::PatientFields) -> Option<Value> {
    let mut addr = serde_json::Map::new();
    if let Some(l) = &f.locality {
        addr.insert("line".into(), json!([l.as_str()]));
    }
    if let Some(d) = &f.district {
        addr.insert("district".into(), json!(d.as_str()));
    }
    if let Some(s) = &f.state {
        addr.insert("state".into(), json!(s.as_str()));
    }
    if let Some(pc) = &f.pincode {
        addr.insert("postalCode".into(), json!(pc.as_str()));
    }
    if addr.is_empty() {
        return None;
    }
    addr.insert("use".into(), json!("home"));
    addr.insert("country".into(), json!("IN"));
    Some(Value::Object(addr))
}

/// The FHIR Patient for a person: `survivor` and every record merged into it.
pub fn patient_resource(
    sys: &Systems,
    survivor: &PatientRecord,
    merged: &[PatientRecord],
    today: chrono::NaiveDate,
) -> Value {
    let f = &survivor.fields;
    let mut ids = Vec::new();
    if let Some(u) = &survivor.uhid {
        ids.push(identifier(
            &sys.uhid,
            u.as_str(),
            "official",
            Some((V2_ID_TYPE, "MR", "Medical record number")),
        ));
    }
    ids.push(identifier(
        &sys.temp_id,
        survivor.temp_id.as_str(),
        if survivor.uhid.is_some() {
            "old"
        } else {
            "temp"
        },
        None,
    ));
    for m in merged {
        ids.push(identifier(&sys.temp_id, m.temp_id.as_str(), "old", None));
        if let Some(u) = &m.uhid {
            ids.push(identifier(
                &sys.uhid,
                u.as_str(),
                "old",
                Some((V2_ID_TYPE, "MR", "Medical record number")),
            ));
        }
    }
    if let Some(a) = &f.abha_number {
        ids.push(abha_identifier(a));
    }
    if let Some(a) = &f.abha_address {
        ids.push(identifier(
            ABHA_SYSTEM,
            a.as_str(),
            "secondary",
            Some((NDHM_ID_TYPE, "ABHA", "ABHA address")),
        ));
    }
    let name = f.name.as_str();
    let parts: Vec<&str> = name.split(' ').collect();
    let mut human = json!({ "use": "official", "text": name });
    if parts.len() > 1 {
        human["family"] = json!(parts[parts.len() - 1]);
        human["given"] = json!(parts[..parts.len() - 1]);
    } else {
        human["given"] = json!([name]);
    }
    // An age given instead of a date of birth is exported at the precision it has: the year
    // (for infants, the full estimated date, which is what their age in months means).
    let birth = if f.birth.approximate
        && !matches!(Age::on(f.birth.date, today), Age::Months(_) | Age::Days(_))
    {
        format!("{:04}", f.birth.date.year())
    } else {
        f.birth.date.to_string()
    };
    let mut p = json!({
        "resourceType": "Patient",
        "identifier": ids,
        "active": true,
        "name": [human],
        "gender": gender(f.sex),
        "birthDate": birth,
    });
    if let Some(m) = &f.mobile {
        p["telecom"] = json!([{ "system": "phone", "value": format!("+91{m}"), "use": "mobile" }]);
    }
    if let Some(a) = address(f) {
        p["address"] = json!([a]);
    }
    if let Some(g) = &f.guardian {
        let (code, display) = relation(g.relation);
        p["contact"] = json!([{
            "relationship": [{ "coding": [{ "system": ROLE_CODE, "code": code, "display": display }], "text": g.relation.code() }],
            "name": { "text": g.name.as_str() },
        }]);
    }
    p
}

/// The FHIR Encounter for a visit, referring to its patient's entry.
pub fn encounter_resource(
    sys: &Systems,
    v: &VisitRecord,
    patient_ref: &str,
    dept_name: &str,
    start: &str,
) -> Value {
    json!({
        "resourceType": "Encounter",
        "identifier": [
            { "use": "official", "system": sys.visit, "value": v.id.to_string() },
            { "use": "secondary", "system": sys.token, "value": format!("{}/{}/{}", v.day, v.department, v.token) },
        ],
        "status": if v.cancelled { "cancelled" } else { "finished" },
        "class": { "system": ACT_CODE, "code": "AMB", "display": "ambulatory" },
        "serviceType": { "coding": [{ "system": format!("{}-department", sys.visit), "code": v.department.as_str(), "display": dept_name }], "text": dept_name },
        "subject": { "reference": patient_ref },
        "period": { "start": start },
    })
}

pub(super) fn entry(resource: Value, full_url: String, if_none_exist: String, kind: &str) -> Value {
    json!({
        "fullUrl": full_url,
        "resource": resource,
        "request": { "method": "POST", "url": kind, "ifNoneExist": if_none_exist },
    })
}

impl Counter {
    /// Writes the export into `dir`: the transaction Bundles as `bundle-0001.json.age`, …, the
    /// changes to the hospital's existing Patients as `patient-updates.json.age` (what a push
    /// adds to each, found by UHID), and who was held back, with why. Every file is sealed to
    /// the backup keys (`parchi_keys::sealed`): patient data never lies on a disk in clear.
    /// Nothing is written when there is no key to seal to.
    pub fn export_fhir(&self, dir: &Path) -> Result<ExportSummary> {
        let to = self.backup_recipients("the FHIR export")?;
        let plan = self.fhir_plan()?;
        std::fs::create_dir_all(dir)
            .map_err(|e| AppError::Invalid(format!("cannot create {}: {e}", dir.display())))?;
        let write = |name: &str, v: &Value| -> Result<PathBuf> {
            let path = dir.join(format!("{name}{}", parchi_keys::sealed::SUFFIX));
            let text = zeroize::Zeroizing::new(
                serde_json::to_vec_pretty(v).map_err(|e| AppError::Invalid(e.to_string()))?,
            );
            let sealed = parchi_keys::sealed::seal(&to, &text).map_err(AppError::Backup)?;
            std::fs::write(&path, sealed)
                .map_err(|e| AppError::Invalid(format!("cannot write {}: {e}", path.display())))?;
            Ok(path)
        };
        let mut bundles = Vec::new();
        for (i, b) in plan.bundles.iter().enumerate() {
            bundles.push(write(&format!("bundle-{:04}.json", i + 1), b)?);
        }
        let updates = match plan.updates.is_empty() {
            true => None,
            false => Some(write(
                "patient-updates.json",
                &serde_json::to_value(&plan.updates)
                    .map_err(|e| AppError::Invalid(e.to_string()))?,
            )?),
        };
        Ok(ExportSummary {
            bundles,
            patients: plan.created,
            encounters: plan.encounters,
            updates: plan.updates.len(),
            updates_file: updates,
            held: plan.held,
        })
    }
}
