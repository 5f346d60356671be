//! The field rules, case by case from the table the desktop's keystroke checks also run
//! (`tests/data/field-rules.json`, `ui/test/field-rules.test.ts`): the core is the authority and
//! the front end must agree with it on every case.

use chrono::NaiveDate;
use parchi_core::patient::{
    AadhaarLast4, AbhaAddress, AbhaNumber, AgeInput, FieldError, Mobile, Name, Text, parse_dob,
};
use serde_json::Value;

fn table() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/field-rules.json"
    );
    let text = std::fs::read_to_string(path).expect("the shared table of field rules");
    serde_json::from_str(&text).expect("JSON")
}

fn code<T>(r: Result<T, FieldError>) -> Option<String> {
    r.err().map(|e| e.code.to_string())
}

fn check(field: &str, f: impl Fn(&str) -> Option<String>) {
    let t = table();
    let cases = t[field].as_array().expect("cases");
    assert!(!cases.is_empty());
    for c in cases {
        let input = c["input"].as_str().expect("input");
        let want = c["code"].as_str().map(str::to_owned);
        assert_eq!(f(input), want, "{field} {input:?}");
    }
}

#[test]
fn names() {
    check("name", |s| code(Name::parse("name", s)));
}

#[test]
fn mobiles() {
    check("mobile", |s| code(Mobile::parse(s)));
}

#[test]
fn aadhaar_numbers() {
    check("aadhaar", |s| code(AadhaarLast4::parse(s)));
}

#[test]
fn texts() {
    check("text", |s| code(Text::parse("address", s)));
}

#[test]
fn dates_of_birth() {
    let today: NaiveDate = table()["today"]
        .as_str()
        .expect("today")
        .parse()
        .expect("date");
    check("dob", |s| code(parse_dob(s, today)));
}

#[test]
fn ages() {
    let today: NaiveDate = table()["today"]
        .as_str()
        .expect("today")
        .parse()
        .expect("date");
    check("age", |s| {
        code(AgeInput::parse(s).and_then(|a| a.birth_date(today)))
    });
}

#[test]
fn abha_numbers_and_addresses() {
    let t = table();
    for c in t["abha"].as_array().expect("cases") {
        let input = c["input"].as_str().expect("input");
        let (field, got, warning) = if input.contains('@') {
            ("abha_address", code(AbhaAddress::parse(input)), None)
        } else {
            match AbhaNumber::parse(input) {
                Ok((_, luhn)) => ("abha_number", None, (!luhn).then(|| "check".to_string())),
                Err(e) => ("abha_number", Some(e.code.to_string()), None),
            }
        };
        assert_eq!(field, c["field"].as_str().expect("field"), "{input:?}");
        assert_eq!(got, c["code"].as_str().map(str::to_owned), "{input:?}");
        assert_eq!(
            warning,
            c["warning"].as_str().map(str::to_owned),
            "{input:?}"
        );
    }
}
