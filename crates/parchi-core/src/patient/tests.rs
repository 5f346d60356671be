use super::*;
use chrono::Datelike;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).expect("date")
}

fn input() -> PatientInput {
    PatientInput {
        name: "Sunita Devi".into(),
        sex: "F".into(),
        age: "34".into(),
        ..Default::default()
    }
}

fn fields_of(e: &ValidationErrors) -> Vec<&'static str> {
    e.0.iter().map(|f| f.field).collect()
}

#[test]
fn mobile_normalises_prefixes() {
    for ok in [
        "9876543210",
        "+91 98765 43210",
        "09876543210",
        "919876543210",
        "+91-98765-43210",
    ] {
        assert_eq!(
            Mobile::parse(ok).map(|m| m.as_str().to_owned()),
            Ok("9876543210".into()),
            "{ok}"
        );
    }
    for bad in [
        "5876543210",
        "987654321",
        "98765432100",
        "+1 2025550100",
        "98765x3210",
        "",
    ] {
        assert!(Mobile::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn names_take_indic_scripts_but_not_digits() {
    assert!(Name::parse("name", "सुनीता देवी").is_ok());
    assert!(Name::parse("name", "সুনীতা দেবী").is_ok());
    assert!(Name::parse("name", "R. K. D'Souza-Iyer").is_ok());
    assert_eq!(
        Name::parse("name", "Ann D\u{2019}Souza").map(|n| n.to_string()),
        Ok("Ann D'Souza".into())
    );
    assert_eq!(
        Name::parse("name", "  Ram   Kumar ").map(|n| n.to_string()),
        Ok("Ram Kumar".into())
    );
    assert!(Name::parse("name", "Ram2").is_err());
    assert!(Name::parse("name", "राम१").is_err());
    assert!(Name::parse("name", "...").is_err());
    assert!(Name::parse("name", "<script>").is_err());
}

#[test]
fn ages_and_dates_of_birth() {
    let a = AgeInput::parse("34")
        .expect("age")
        .birth_date(today())
        .expect("dob");
    assert!(a.approximate);
    assert_eq!(Age::on(a.date, today()), Age::Years(34));
    let infant = AgeInput::parse("8m")
        .expect("age")
        .birth_date(today())
        .expect("dob");
    assert_eq!(Age::on(infant.date, today()), Age::Months(8));
    let newborn = AgeInput::parse("12 d")
        .expect("age")
        .birth_date(today())
        .expect("dob");
    assert_eq!(Age::on(newborn.date, today()), Age::Days(12));
    let mixed = AgeInput::parse("1y 6m")
        .expect("age")
        .birth_date(today())
        .expect("dob");
    assert_eq!(Age::on(mixed.date, today()), Age::Years(1));
    assert_eq!(AgeInput::parse("300").map_err(|e| e.code), Err("range"));
    assert_eq!(AgeInput::parse("34x").map_err(|e| e.code), Err("format"));
    assert_eq!(
        parse_dob("2030-01-01", today()).map_err(|e| e.code),
        Err("future")
    );
    assert_eq!(
        parse_dob("1890-01-01", today()).map_err(|e| e.code),
        Err("range")
    );
    assert_eq!(
        parse_dob("23/04/1990", today()).map(|b| (b.date.year(), b.approximate)),
        Ok((1990, false))
    );
}

#[test]
fn abha_number_and_address() {
    let (n, _) = AbhaNumber::parse("91-5238-6218-0384").expect("abha");
    assert_eq!(n.formatted(), "91-5238-6218-0384");
    assert!(AbhaNumber::parse("1234").is_err());
    assert!(AbhaAddress::parse("Sunita.Devi@abdm").is_ok());
    assert!(AbhaAddress::parse("sunita@gmail.com").is_err());
    assert!(AbhaAddress::parse("_sun@abdm").is_err());
}

#[test]
fn aadhaar_keeps_only_last_four() {
    // 234123412346 passes Verhoeff.
    assert_eq!(
        AadhaarLast4::parse("2341 2341 2346").map(|a| a.as_str().to_owned()),
        Ok("2346".into())
    );
    assert_eq!(
        AadhaarLast4::parse("234123412347").map_err(|e| e.code),
        Err("check")
    );
    assert_eq!(
        AadhaarLast4::parse("123412341234").map_err(|e| e.code),
        Err("format")
    );
    assert!(AadhaarLast4::parse("1234").is_ok());
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let bad = PatientInput {
        name: "R2D2".into(),
        sex: "X".into(),
        age: "300".into(),
        mobile: "12345".into(),
        pincode: "1234".into(),
        abha: "12".into(),
        ..Default::default()
    };
    let e = bad.validate(today()).expect_err("invalid");
    assert_eq!(
        fields_of(&e),
        ["sex", "name", "age", "mobile", "pincode", "abha_number"]
    );
}

#[test]
fn quick_registration_needs_only_sex_and_age() {
    let q = PatientInput {
        sex: "M".into(),
        age: "40".into(),
        quick: true,
        ..Default::default()
    };
    let v = q.validate(today()).expect("valid");
    assert_eq!(v.fields.name.as_str(), "Unknown Male");
    assert!(v.fields.birth.approximate);
    let not_quick = PatientInput { quick: false, ..q };
    assert_eq!(
        fields_of(&not_quick.validate(today()).expect_err("name required")),
        ["name"]
    );
}

#[test]
fn debug_output_holds_no_personal_data() {
    let v = input().validate(today()).expect("valid");
    let dbg = format!("{v:?} {:?}", input());
    assert!(!dbg.contains("Sunita"), "{dbg}");
}

#[test]
fn full_input_validates() {
    let i = PatientInput {
        guardian_relation: "W/o".into(),
        guardian_name: "Ramesh Kumar".into(),
        mobile: "+91 98765 43210".into(),
        locality: "12, MG Road".into(),
        district: "Patna".into(),
        state: "Bihar".into(),
        pincode: "800001".into(),
        abha: "91-5238-6218-0384".into(),
        category: "BPL".into(),
        ..input()
    };
    let v = i.validate(today()).expect("valid");
    assert_eq!(
        v.fields.guardian.as_ref().map(|g| g.relation),
        Some(GuardianRelation::WifeOf)
    );
    assert_eq!(v.fields.category, Category::Bpl);
}
