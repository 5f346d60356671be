//! Changes to what is registered: correcting a patient's details, cancelling a visit, recording
//! a reprint. Each is an operation; nothing is overwritten or deleted.

use parchi_core::op::FieldValue;
use parchi_core::patient::PatientInput;
use parchi_store::{PatientRecord, VisitRecord};

use crate::counter::{Counter, Result, with_stamping_pub};
use crate::error::AppError;
use crate::lookup::parse_visit;

impl Counter {
    /// Corrects a patient's details: only the fields given (non-empty) change, each as its own
    /// operation. Returns the names of the fields changed.
    pub fn edit_patient(
        &mut self,
        patient_ref: &str,
        changes: &PatientInput,
    ) -> Result<Vec<&'static str>> {
        let p = self.store().resolve_patient(patient_ref)?;
        // Validate the merged input so every rule (age or date of birth, guardian pairs) holds.
        let mut merged = input_from(&p);
        let given = |s: &str| !s.trim().is_empty();
        macro_rules! take {
            ($($f:ident),*) => { $( if given(&changes.$f) { merged.$f = changes.$f.clone(); } )* };
        }
        take!(
            name,
            sex,
            guardian_relation,
            guardian_name,
            mobile,
            locality,
            district,
            state,
            pincode,
            abha,
            aadhaar,
            category
        );
        if given(&changes.age) {
            merged.age = changes.age.clone();
            merged.dob.clear();
        }
        if given(&changes.dob) {
            merged.dob = changes.dob.clone();
            merged.age.clear();
        }
        let v = merged.validate(self.today())?;
        let mut new = v.fields;
        if !given(&changes.age) && !given(&changes.dob) {
            new.birth = p.fields.birth; // keep the stored date of birth, not one re-estimated today
        }
        if !given(&changes.aadhaar) {
            new.aadhaar_last4 = p.fields.aadhaar_last4.clone();
        }
        let values = FieldValue::diff(&p.fields, &new);
        let changed = with_stamping_pub(self, |store, st| store.set_fields(p.id, &values, st))?;
        Ok(changed.into_iter().map(|f| f.as_str()).collect())
    }

    /// Cancels a visit (recorded, never deleted).
    pub fn cancel_visit(&mut self, visit: &str, reason: &str) -> Result<VisitRecord> {
        let id = parse_visit(visit)?;
        let reason = reason.trim();
        if reason.chars().count() > 200 {
            return Err(AppError::Invalid("reason: at most 200 characters".into()));
        }
        with_stamping_pub(self, |store, st| store.cancel_visit(id, reason, st))?;
        self.visit(visit)
    }

    /// Records a reprint of a visit's slip; returns the visit with its reprint count.
    pub fn record_reprint(&mut self, visit: &str) -> Result<VisitRecord> {
        let id = parse_visit(visit)?;
        with_stamping_pub(self, |store, st| store.record_reprint(id, st))?;
        self.visit(visit)
    }
}

/// The stored patient as raw input, so an edit can be validated as a whole.
fn input_from(p: &PatientRecord) -> PatientInput {
    let f = &p.fields;
    let s = |o: Option<&dyn std::fmt::Display>| o.map(|v| v.to_string()).unwrap_or_default();
    PatientInput {
        name: f.name.to_string(),
        sex: f.sex.code().into(),
        age: String::new(),
        dob: f.birth.date.to_string(),
        guardian_relation: f
            .guardian
            .as_ref()
            .map(|g| g.relation.code().to_owned())
            .unwrap_or_default(),
        guardian_name: f
            .guardian
            .as_ref()
            .map(|g| g.name.to_string())
            .unwrap_or_default(),
        mobile: s(f.mobile.as_ref().map(|v| v as &dyn std::fmt::Display)),
        locality: s(f.locality.as_ref().map(|v| v as &dyn std::fmt::Display)),
        district: s(f.district.as_ref().map(|v| v as &dyn std::fmt::Display)),
        state: s(f.state.as_ref().map(|v| v as &dyn std::fmt::Display)),
        pincode: s(f.pincode.as_ref().map(|v| v as &dyn std::fmt::Display)),
        abha: f
            .abha_number
            .as_ref()
            .map(|a| a.to_string())
            .or_else(|| f.abha_address.as_ref().map(|a| a.to_string()))
            .unwrap_or_default(),
        aadhaar: String::new(),
        category: f.category.code().into(),
        quick: p.quick,
    }
}
