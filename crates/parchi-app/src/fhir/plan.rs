//! What the export sends for each person, decided once for files and for a push.
//!
//! - A person **linked** to the hospital's record goes out as a change to that existing
//!   Patient, found by its UHID: Parchi's temporary IDs are added as `old` identifiers, and only
//!   the fields an admin approved in the link review (a new mobile, say) are added. Nothing
//!   else a clerk typed in a hurry overwrites the hospital's record.
//! - A person **new** to the hospital is created, keyed on the UHID assigned to them (from the
//!   block the hospital allocated), so a resend creates nothing twice.
//! - Anyone else (a claim not yet verified, a person in the review queue, a new person still
//!   without a UHID) is held back and listed, with why.
//!
//! A counter that never had a copy of the hospital's index exports as before: everyone is
//! created, keyed on their UHID or, lacking one, their first temporary ID.

use parchi_core::central::CentralLink;
use parchi_core::op::Field;
use parchi_core::{PatientId, Uhid};
use parchi_store::{PatientRecord, VisitRecord};
use serde::Serialize;
use serde_json::{Value, json};

use super::{
    PATIENTS_PER_BUNDLE, Systems, encounter_resource, entry, identifier, patient_resource,
};
use crate::counter::{Counter, Result};

/// A change to an existing Patient of the hospital, by UHID.
#[derive(Clone, Debug, Serialize)]
pub struct PatientUpdate {
    pub uhid: String,
    /// Identifiers to add when the Patient lacks them (temporary IDs, as `old`).
    pub identifier: Vec<Value>,
    /// Approved phone numbers to add (FHIR `ContactPoint`s).
    pub telecom: Vec<Value>,
    /// An approved new address (FHIR `Address`), added first.
    pub address: Option<Value>,
}

/// A person the export holds back.
#[derive(Clone, Debug, Serialize)]
pub struct Held {
    pub patient_id: PatientId,
    pub temp_id: String,
    pub reason: &'static str,
}

/// The whole export.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Transaction Bundles: new persons (conditional creates) and every exported visit.
    pub bundles: Vec<Value>,
    pub updates: Vec<PatientUpdate>,
    pub held: Vec<Held>,
    pub created: usize,
    pub encounters: usize,
}

/// How one person goes out.
enum Fate {
    Create(Value, String),
    Update(PatientUpdate),
    Hold(&'static str),
}

impl Counter {
    fn fate(
        &self,
        sys: &Systems,
        person: &PatientRecord,
        merged: &[PatientRecord],
        mirror: bool,
    ) -> Result<Fate> {
        let link = self.store().person_link(person.id)?;
        let assigned = std::iter::once(person).chain(merged).find_map(|r| {
            r.uhid
                .clone()
                .filter(|_| !matches!(r.link, Some(CentralLink::Claimed { .. })))
        });
        let today = self.today();
        Ok(match (link, mirror) {
            (Some(CentralLink::Linked { uhid, update, .. }), _) => {
                Fate::Update(self.update_for(sys, &uhid, person, merged, &update))
            }
            (Some(CentralLink::New), _) | (None | Some(CentralLink::NotLinked { .. }), false) => {
                match &assigned {
                    Some(u) => {
                        let mut survivor = person.clone();
                        survivor.uhid = Some(u.clone());
                        let key = format!("identifier={}|{}", sys.uhid, u.as_str());
                        Fate::Create(patient_resource(sys, &survivor, merged, today), key)
                    }
                    None if mirror => Fate::Hold(
                        "new to the hospital, waiting for a UHID (parchi hub assign-uhids)",
                    ),
                    None => {
                        let key = format!("identifier={}|{}", sys.temp_id, person.temp_id.as_str());
                        Fate::Create(patient_resource(sys, person, merged, today), key)
                    }
                }
            }
            (Some(CentralLink::Claimed { .. }), true) => {
                Fate::Hold("UHID from a card not yet verified (run parchi link)")
            }
            (Some(CentralLink::Claimed { uhid }), false) => {
                let mut survivor = person.clone();
                survivor.uhid = Some(uhid.clone());
                let key = format!("identifier={}|{}", sys.uhid, uhid.as_str());
                Fate::Create(patient_resource(sys, &survivor, merged, today), key)
            }
            (_, true) => {
                Fate::Hold("not yet linked to the hospital's index (run parchi link, then review)")
            }
        })
    }

    fn update_for(
        &self,
        sys: &Systems,
        uhid: &Uhid,
        person: &PatientRecord,
        merged: &[PatientRecord],
        approved: &[Field],
    ) -> PatientUpdate {
        let mut ids = Vec::new();
        for r in std::iter::once(person).chain(merged) {
            ids.push(identifier(&sys.temp_id, r.temp_id.as_str(), "old", None));
        }
        let f = &person.fields;
        let telecom = match (approved.contains(&Field::Mobile), &f.mobile) {
            (true, Some(m)) => {
                vec![json!({ "system": "phone", "value": format!("+91{m}"), "use": "mobile" })]
            }
            _ => Vec::new(),
        };
        let wants_address = approved.iter().any(|a| {
            matches!(
                a,
                Field::Locality | Field::District | Field::State | Field::Pincode
            )
        });
        let address = wants_address.then(|| super::address(f)).flatten();
        if approved.contains(&Field::AbhaNumber)
            && let Some(a) = &f.abha_number
        {
            ids.push(super::abha_identifier(a));
        }
        PatientUpdate {
            uhid: uhid.to_string(),
            identifier: ids,
            telecom,
            address,
        }
    }

    /// The export: Bundles for what is created (with every exported visit), changes to the
    /// hospital's existing Patients, and who is held back.
    pub fn fhir_plan(&self) -> Result<Plan> {
        let sys = Systems::from_uhid_system(self.config().hospital.uhid_system.as_deref());
        let mirror = self.store().mirror_status()?.records > 0;
        let mut plan = Plan::default();
        let mut entries = Vec::new();
        let mut persons = 0;
        for s in self.store().all_patients()? {
            let mut merged = Vec::new();
            for id in self.store().cluster_of(s.id)? {
                if id != s.id
                    && let Some(m) = self.store().patient(id)?
                {
                    merged.push(m);
                }
            }
            let subject = match self.fate(&sys, &s, &merged, mirror)? {
                Fate::Hold(reason) => {
                    plan.held.push(Held {
                        patient_id: s.id,
                        temp_id: s.temp_id.to_string(),
                        reason,
                    });
                    continue;
                }
                Fate::Create(resource, key) => {
                    let full = format!("urn:uuid:{}", s.id);
                    entries.push(entry(resource, full.clone(), key, "Patient"));
                    plan.created += 1;
                    full
                }
                Fate::Update(u) => {
                    // The Patient exists at the hospital: refer to it by its UHID.
                    let subject = format!("Patient?identifier={}|{}", sys.uhid, u.uhid);
                    plan.updates.push(u);
                    subject
                }
            };
            for v in self.store().visits_of(s.id)? {
                entries.push(self.encounter_entry(&sys, &v, &subject));
                plan.encounters += 1;
            }
            persons += 1;
            if persons % PATIENTS_PER_BUNDLE == 0 {
                plan.bundles.push(bundle(std::mem::take(&mut entries)));
            }
        }
        if !entries.is_empty() {
            plan.bundles.push(bundle(entries));
        }
        Ok(plan)
    }

    fn encounter_entry(&self, sys: &Systems, v: &VisitRecord, subject: &str) -> Value {
        let offset = self
            .config()
            .offset()
            .map(|o| o.to_string())
            .unwrap_or_else(|| "+05:30".into());
        let dept = self
            .config()
            .department(v.department.as_str())
            .map(|d| d.name.clone())
            .unwrap_or_else(|| v.department.to_string());
        let start = format!(
            "{}{}",
            self.local_time_of(v.created_hlc)
                .format("%Y-%m-%dT%H:%M:%S"),
            offset
        );
        let key = format!("identifier={}|{}", sys.visit, v.id);
        entry(
            encounter_resource(sys, v, subject, &dept, &start),
            format!("urn:uuid:{}", v.id),
            key,
            "Encounter",
        )
    }
}

fn bundle(entries: Vec<Value>) -> Value {
    json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries })
}

/// Adds to an existing Patient what `u` carries and it lacks. Returns whether anything changed
/// (a resend changes nothing).
pub fn apply_update(patient: &mut Value, u: &PatientUpdate) -> bool {
    let mut changed = false;
    let same_id = |a: &Value, b: &Value| a["system"] == b["system"] && a["value"] == b["value"];
    changed |= add_missing(patient, "identifier", &u.identifier, same_id);
    let same_phone = |a: &Value, b: &Value| a["system"] == b["system"] && a["value"] == b["value"];
    changed |= add_missing(patient, "telecom", &u.telecom, same_phone);
    if let Some(addr) = &u.address {
        let list = patient["address"].as_array().cloned().unwrap_or_default();
        let known = list.iter().any(|a| {
            ["line", "district", "state", "postalCode"]
                .iter()
                .all(|k| a.get(*k) == addr.get(*k))
        });
        if !known {
            let mut new = vec![addr.clone()];
            new.extend(list);
            patient["address"] = Value::Array(new);
            changed = true;
        }
    }
    changed
}

fn add_missing(
    patient: &mut Value,
    key: &str,
    items: &[Value],
    same: impl Fn(&Value, &Value) -> bool,
) -> bool {
    if items.is_empty() {
        return false;
    }
    let mut list = patient[key].as_array().cloned().unwrap_or_default();
    let before = list.len();
    for it in items {
        if !list.iter().any(|x| same(x, it)) {
            list.push(it.clone());
        }
    }
    let changed = list.len() != before;
    if changed {
        patient[key] = Value::Array(list);
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_adds_only_what_is_missing_and_a_resend_changes_nothing() {
        let mut p = json!({
            "resourceType": "Patient", "id": "x",
            "identifier": [{"system": "s:uhid", "value": "DHP1"}],
            "name": [{"text": "Hospital's spelling"}],
            "telecom": [{"system": "phone", "value": "+919876543210"}]
        });
        let u = PatientUpdate {
            uhid: "DHP1".into(),
            identifier: vec![json!({"use": "old", "system": "s:temp", "value": "A-1"})],
            telecom: vec![json!({"system": "phone", "value": "+919876543210", "use": "mobile"})],
            address: None,
        };
        assert!(apply_update(&mut p, &u));
        assert_eq!(p["identifier"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            p["telecom"].as_array().map(Vec::len),
            Some(1),
            "the phone it has stays one"
        );
        assert_eq!(p["name"][0]["text"], "Hospital's spelling");
        assert!(!apply_update(&mut p, &u), "a resend changes nothing");
    }
}
