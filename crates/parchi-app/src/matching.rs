//! How Parchi's patients and the hospital's records look to the matcher (`parchi-dedup`).

use chrono::Datelike;
use parchi_core::CentralPatient;
use parchi_core::patient::PatientFields;
use parchi_dedup::Record;

/// A Parchi patient's fields as a matcher record.
pub(crate) fn fields_record<K>(f: &PatientFields, key: K) -> Record<K> {
    Record {
        key,
        name: f.name.to_string(),
        sex: Some(f.sex),
        birth_year: Some(f.birth.date.year()),
        birth_approximate: f.birth.approximate,
        guardian_relation: f.guardian.as_ref().map(|g| g.relation),
        guardian_name: f.guardian.as_ref().map(|g| g.name.to_string()),
        mobile: f.mobile.as_ref().map(|m| m.to_string()),
        address: f.locality.as_ref().map(|m| m.to_string()),
        district: f.district.as_ref().map(|m| m.to_string()),
        state: f.state.as_ref().map(|m| m.to_string()),
        pincode: f.pincode.as_ref().map(|m| m.to_string()),
        abha: f
            .abha_number
            .as_ref()
            .map(|a| a.to_string())
            .or_else(|| f.abha_address.as_ref().map(|a| a.to_string())),
    }
}

/// A record of the hospital's index as a matcher record, keyed by its UHID.
pub(crate) fn central_record(c: &CentralPatient) -> Record<String> {
    Record {
        key: c.uhid.to_string(),
        name: c.name.to_string(),
        sex: c.sex,
        birth_year: c.birth_year(),
        birth_approximate: c.birth.is_none_or(|b| b.approximate),
        guardian_relation: c.guardian_relation,
        guardian_name: c.guardian_name.as_ref().map(|g| g.to_string()),
        mobile: c.mobile.as_ref().map(|m| m.to_string()),
        address: c.address.as_ref().map(|a| a.to_string()),
        district: c.district.as_ref().map(|d| d.to_string()),
        state: c.state.as_ref().map(|s| s.to_string()),
        pincode: c.pincode.as_ref().map(|p| p.to_string()),
        abha: c.abha_number.as_ref().map(|a| a.to_string()),
    }
}
