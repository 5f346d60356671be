//! Checks an operation that arrived over the wire before anyone merges it.
//!
//! The core's value types deserialise without re-validating (serde is transparent over them), so
//! a buggy or hostile peer could send a name with digits or a 9-digit mobile. The hub rejects such
//! an op, alone, with [`RejectCode::InvalidValue`]; the rest of its batch is unaffected.
//!
//! [`validate_central`] holds a record of the hospital's index (a mirror import) to the same
//! normal forms.

use parchi_core::op::{FieldValue, OpBody};
use parchi_core::patient::{
    AadhaarLast4, AbhaAddress, AbhaNumber, Guardian, Mobile, Name, PatientFields, Pincode, Text,
};
use parchi_core::{CentralPatient, Hlc, Op, Uhid};

use crate::wire::RejectCode;

/// Longest cancellation reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Largest published configuration accepted, in bytes of JSON (a large hospital's runs to a
/// few kilobytes).
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;

/// A refused op: the code and a message that names the field, never its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    pub code: RejectCode,
    pub reason: String,
}

fn bad(field: &str, why: &str) -> Invalid {
    Invalid {
        code: RejectCode::InvalidValue,
        reason: format!("{field}: {why}"),
    }
}

fn name_ok(field: &'static str, n: &Name) -> Result<(), Invalid> {
    let unknown = ["Unknown Male", "Unknown Female", "Unknown"].contains(&n.as_str());
    match Name::parse(field, n.as_str()) {
        Ok(p) if p == *n => Ok(()),
        _ if unknown => Ok(()),
        Ok(_) => Err(bad(field, "is not in normal form (extra whitespace)")),
        Err(e) => Err(bad(field, &e.message)),
    }
}

fn same<T: PartialEq>(field: &str, given: &T, parsed: Result<T, String>) -> Result<(), Invalid> {
    match parsed {
        Ok(p) if p == *given => Ok(()),
        Ok(_) => Err(bad(field, "is not in normal form")),
        Err(m) => Err(bad(field, &m)),
    }
}

fn mobile_ok(m: &Option<Mobile>) -> Result<(), Invalid> {
    match m {
        Some(m) => same(
            "mobile",
            m,
            Mobile::parse(m.as_str()).map_err(|e| e.message),
        ),
        None => Ok(()),
    }
}

fn pincode_ok(p: &Option<Pincode>) -> Result<(), Invalid> {
    match p {
        Some(p) => same(
            "pincode",
            p,
            Pincode::parse(p.as_str()).map_err(|e| e.message),
        ),
        None => Ok(()),
    }
}

fn abha_number_ok(a: &Option<AbhaNumber>) -> Result<(), Invalid> {
    match a {
        Some(a) => same(
            "abha_number",
            a,
            AbhaNumber::parse(a.as_str())
                .map(|(n, _luhn)| n)
                .map_err(|e| e.message),
        ),
        None => Ok(()),
    }
}

fn abha_address_ok(a: &Option<AbhaAddress>) -> Result<(), Invalid> {
    match a {
        Some(a) => same(
            "abha_address",
            a,
            AbhaAddress::parse(a.as_str()).map_err(|e| e.message),
        ),
        None => Ok(()),
    }
}

fn aadhaar_ok(a: &Option<AadhaarLast4>) -> Result<(), Invalid> {
    match a {
        Some(a) => same(
            "aadhaar_last4",
            a,
            AadhaarLast4::parse(a.as_str()).map_err(|e| e.message),
        ),
        None => Ok(()),
    }
}

fn text_ok(field: &'static str, t: &Option<Text>) -> Result<(), Invalid> {
    match t {
        Some(t) => match Text::parse(field, t.as_str()) {
            Ok(Some(p)) if p == *t => Ok(()),
            Ok(_) => Err(bad(field, "is not in normal form")),
            Err(e) => Err(bad(field, &e.message)),
        },
        None => Ok(()),
    }
}

fn guardian_ok(g: &Option<Guardian>) -> Result<(), Invalid> {
    match g {
        Some(g) => name_ok("guardian", &g.name),
        None => Ok(()),
    }
}

fn fields_ok(f: &PatientFields) -> Result<(), Invalid> {
    name_ok("name", &f.name)?;
    guardian_ok(&f.guardian)?;
    mobile_ok(&f.mobile)?;
    text_ok("locality", &f.locality)?;
    text_ok("district", &f.district)?;
    text_ok("state", &f.state)?;
    pincode_ok(&f.pincode)?;
    abha_number_ok(&f.abha_number)?;
    abha_address_ok(&f.abha_address)?;
    aadhaar_ok(&f.aadhaar_last4)
}

fn value_ok(v: &FieldValue) -> Result<(), Invalid> {
    match v {
        FieldValue::Name(n) => name_ok("name", n),
        FieldValue::Guardian(g) => guardian_ok(g),
        FieldValue::Mobile(m) => mobile_ok(m),
        FieldValue::Locality(t) => text_ok("locality", t),
        FieldValue::District(t) => text_ok("district", t),
        FieldValue::State(t) => text_ok("state", t),
        FieldValue::Pincode(p) => pincode_ok(p),
        FieldValue::AbhaNumber(a) => abha_number_ok(a),
        FieldValue::AbhaAddress(a) => abha_address_ok(a),
        FieldValue::AadhaarLast4(a) => aadhaar_ok(a),
        FieldValue::Sex(_) | FieldValue::Birth(_) | FieldValue::Category(_) => Ok(()),
    }
}

/// Checks an op's identifiers, clock and values.
pub fn validate_op(op: &Op) -> Result<(), Invalid> {
    if op.id.0.is_nil() || op.site.0.is_nil() {
        return Err(Invalid {
            code: RejectCode::InvalidId,
            reason: "op id and site must not be the nil UUID".into(),
        });
    }
    if op.hlc == Hlc::ZERO {
        return Err(Invalid {
            code: RejectCode::InvalidHlc,
            reason: "hlc must not be zero".into(),
        });
    }
    match &op.body {
        OpBody::CreatePatient { fields, .. } => fields_ok(fields),
        OpBody::SetField { value, .. } => value_ok(value),
        OpBody::CreateVisit(_) | OpBody::RecordReprint { .. } | OpBody::AssignUhid { .. } => Ok(()),
        OpBody::Decide { a, b, .. } if a == b => {
            Err(bad("b", "a record cannot be merged with itself"))
        }
        OpBody::PublishConfig { settings, note, .. } => {
            if !settings.is_object() {
                return Err(bad("settings", "must be a configuration object"));
            }
            if settings.to_string().len() > MAX_CONFIG_BYTES {
                return Err(bad(
                    "settings",
                    &format!("must be at most {MAX_CONFIG_BYTES} bytes of JSON"),
                ));
            }
            reason_ok("note", note)
        }
        OpBody::CancelVisit { reason, .. }
        | OpBody::Decide { reason, .. }
        | OpBody::Link { reason, .. } => reason_ok("reason", reason),
    }
}

fn reason_ok(field: &str, reason: &str) -> Result<(), Invalid> {
    if reason.chars().count() > MAX_REASON_CHARS {
        Err(bad(
            field,
            &format!("must be at most {MAX_REASON_CHARS} characters"),
        ))
    } else if reason.chars().any(char::is_control) {
        Err(bad(field, "must not contain control characters"))
    } else {
        Ok(())
    }
}

/// Checks a record of the hospital's index as it arrived: the UHID and every field in the normal
/// form the core's parsers give. The reason names the field, never its value.
pub fn validate_central(c: &CentralPatient) -> Result<(), Invalid> {
    same(
        "uhid",
        &c.uhid,
        Uhid::parse(c.uhid.as_str()).map_err(|e| e.to_string()),
    )?;
    name_ok("name", &c.name)?;
    if let Some(g) = &c.guardian_name {
        name_ok("guardian_name", g)?;
    }
    mobile_ok(&c.mobile)?;
    text_ok("address", &c.address)?;
    text_ok("district", &c.district)?;
    text_ok("state", &c.state)?;
    pincode_ok(&c.pincode)?;
    abha_number_ok(&c.abha_number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parchi_core::testgen;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

    proptest! {
        #[test]
        fn generated_ops_are_valid(ops in testgen::arb_ops(30)) {
            // testgen numbers ops and sites from zero; the nil UUID is refused on the wire.
            for op in ops.iter().filter(|o| !o.id.0.is_nil() && !o.site.0.is_nil()) {
                prop_assert_eq!(validate_op(op), Ok(()));
            }
        }
    }

    #[test]
    fn a_name_with_digits_is_rejected_without_echoing_it() {
        let mut op = serde_json::to_value(
            testgen::arb_ops(2)
                .new_tree(&mut proptest::test_runner::TestRunner::deterministic())
                .expect("tree")
                .current()
                .remove(0),
        )
        .expect("json");
        op["type"] = "set_field".into();
        op["id"] = serde_json::to_value(parchi_core::OpId::from_bytes([3; 16])).expect("json");
        op["site"] = serde_json::to_value(testgen::site(2)).expect("json");
        op["patient"] = serde_json::to_value(testgen::patient_id(1)).expect("json");
        op["value"] = serde_json::json!({"field": "name", "value": "R4m 5ecret"});
        let op: Op = serde_json::from_value(op).expect("still an op");
        let err = validate_op(&op).expect_err("digits in a name");
        assert_eq!(err.code, RejectCode::InvalidValue);
        assert!(!err.reason.contains("5ecret"));
    }

    fn central() -> CentralPatient {
        serde_json::from_value(serde_json::json!({
            "uhid": "DHP000123",
            "name": "Sunita Devi",
            "sex": "F",
            "guardian_relation": "W/o",
            "guardian_name": "Ramesh Kumar",
            "mobile": "9876543210",
            "address": "Ward 7, Kankarbagh",
            "district": "Patna",
            "state": "Bihar",
            "pincode": "800020",
            "seen": "2025-01-31"
        }))
        .expect("a central patient")
    }

    #[test]
    fn a_central_record_in_normal_form_passes() {
        assert_eq!(validate_central(&central()), Ok(()));
    }

    #[test]
    fn each_bad_central_field_is_named_and_its_value_never_echoed() {
        let cases = [
            ("name", serde_json::json!("R4m 5ecret")),
            ("guardian_name", serde_json::json!("G0v1nd 5ecret")),
            ("mobile", serde_json::json!("1234567890")),
            ("pincode", serde_json::json!("012345")),
            ("address", serde_json::json!("  5ecret  lane ")),
            ("abha_number", serde_json::json!("5ecret")),
        ];
        for (field, value) in cases {
            let mut v = serde_json::to_value(central()).expect("json");
            v[field] = value;
            let c: CentralPatient = serde_json::from_value(v).expect("still parses");
            let err = validate_central(&c).expect_err(field);
            assert_eq!(err.code, RejectCode::InvalidValue, "{field}");
            assert!(err.reason.starts_with(field), "{field}: {}", err.reason);
            assert!(!err.reason.contains("5ecret"), "{field}: {}", err.reason);
            assert!(
                !err.reason.contains("1234567890"),
                "{field}: {}",
                err.reason
            );
        }
    }
}
