//! The registration row path: `PatientInput::validate` with arbitrary strings in every field
//! (what a clerk types, a scanner sends or a CSV row holds).
//!
//! Input: the fields separated by U+001F (unit separator) in the order name, sex, age, dob,
//! guardian_relation, guardian_name, mobile, locality, district, state, pincode, abha, aadhaar,
//! category, then `quick` (any non-empty 15th field). Missing fields are empty.
//!
//! Properties:
//! - validation is deterministic;
//! - accepted fields survive the JSON they are stored and pushed in, and a `create_patient`
//!   operation carrying them passes the hub's `validate_op` (what a counter registers, the hub
//!   takes); quick mode accepts whatever full mode accepts;
//! - a refusal names at least one field, and neither the messages nor `Debug` of the input, the
//!   result or the errors echo a field's value (personal data).
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use parchi_core::ids::{CounterCode, OpId, PatientId, SiteId, SiteTag, TempId};
use parchi_core::{Hlc, Op, OpBody, PatientFields, PatientInput};
use parchi_sync::validate::validate_op;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).expect("date")
}

/// Whether `v` is distinctive enough that finding it in a message means it was echoed.
fn distinctive(v: &str) -> Option<&str> {
    let v = v.trim();
    let n = v.chars().count();
    let non_ascii = v.chars().filter(|c| !c.is_ascii()).count();
    let mixed = v.chars().any(|c| c.is_ascii_digit()) && v.chars().any(|c| c.is_ascii_alphabetic());
    ((n >= 4 && non_ascii >= 2) || (n >= 10 && mixed)).then_some(v)
}

fn create_op(fields: PatientFields, quick: bool) -> Op {
    let counter = CounterCode::parse("A").expect("counter");
    let tag = SiteTag::parse("K3M").expect("site tag");
    let temp_id = TempId::issue(&counter, tag, today(), 17).expect("temp id");
    Op {
        id: OpId::from_bytes([1; 16]),
        hlc: Hlc::new(1_796_083_200_000, 0),
        site: SiteId::from_bytes([2; 16]),
        body: OpBody::CreatePatient {
            patient: PatientId::from_bytes([3; 16]),
            temp_id,
            counter,
            quick,
            fields,
        },
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\u{1f}').map(str::to_owned);
    let mut next = || parts.next().unwrap_or_default();
    let input = PatientInput {
        name: next(),
        sex: next(),
        age: next(),
        dob: next(),
        guardian_relation: next(),
        guardian_name: next(),
        mobile: next(),
        locality: next(),
        district: next(),
        state: next(),
        pincode: next(),
        abha: next(),
        aadhaar: next(),
        category: next(),
        quick: !next().is_empty(),
    };
    let values = [
        &input.name,
        &input.sex,
        &input.age,
        &input.dob,
        &input.guardian_relation,
        &input.guardian_name,
        &input.mobile,
        &input.locality,
        &input.district,
        &input.state,
        &input.pincode,
        &input.abha,
        &input.aadhaar,
        &input.category,
    ];
    let result = input.validate(today());
    let again = input.validate(today());
    // The validator's own wording with field `i` replaced by a character no rule accepts and
    // every other field as given: a value still in it is part of some message (the fuzzer
    // types "date like 1990-04-23" or "at most 80 charac" too), not an echo of that field.
    let wording = |i: usize| {
        let mut n = input.clone();
        if let Some(slot) = n.field_mut(PatientInput::FIELDS[i]) {
            *slot = "\u{1}".into();
        }
        match n.validate(today()) {
            Ok(v) => v.warnings.iter().map(|w| w.message.clone()).collect::<Vec<_>>(),
            Err(e) => e.0.iter().map(|e| e.message.clone()).collect(),
        }
        .join("\n")
    };
    let echoes = |s: &str| {
        values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| distinctive(v).map(|v| (i, v)))
            .any(|(i, v)| s.contains(v) && !wording(i).contains(v))
    };
    assert!(!echoes(&format!("{input:?}")), "Debug of the input echoes a value");
    match (&result, &again) {
        (Ok(a), Ok(b)) => assert!(a.fields == b.fields, "validation is not deterministic"),
        (Err(a), Err(b)) => assert!(a == b, "validation is not deterministic"),
        _ => panic!("validation is not deterministic"),
    }
    match result {
        Ok(v) => {
            assert!(!echoes(&format!("{v:?}")), "Debug of the validated fields echoes a value");
            for w in &v.warnings {
                assert!(!echoes(&w.message), "a warning echoes a value");
            }
            let json = serde_json::to_string(&v.fields).expect("encodes");
            let back: PatientFields = serde_json::from_str(&json).expect("stored fields decode");
            assert!(back == v.fields, "fields do not survive JSON");
            let op = create_op(v.fields.clone(), input.quick);
            if let Err(inv) = validate_op(&op) {
                panic!("the hub refuses what the counter accepts: {}", inv.reason);
            }
            let op_json = serde_json::to_string(&op).expect("encodes");
            let op_back: Op = serde_json::from_str(&op_json).expect("op decodes");
            assert!(op_back == op, "the op does not survive JSON");
            if !input.quick {
                let quick = PatientInput {
                    quick: true,
                    ..input.clone()
                };
                let q = quick.validate(today()).expect("quick mode refuses a full registration");
                assert!(q.fields == v.fields, "quick mode changes a full registration");
            }
        }
        Err(errs) => {
            assert!(!errs.0.is_empty(), "a refusal names no field");
            assert!(!echoes(&format!("{errs:?}")), "Debug of the errors echoes a value");
            for e in &errs.0 {
                assert!(!echoes(&e.message), "an error message echoes a value");
            }
        }
    }
});
