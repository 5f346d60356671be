//! Reading an export of the hospital's patient index, one record at a time.
//!
//! Two formats:
//! - **FHIR R4 Patient ndjson**, one resource a line, as a Bulk Data `Patient/$export` writes
//!   it; the UHID is the identifier under the configuration's `uhid_system`.
//! - **CSV** with a header naming the columns `uhid,name,sex,birth_year,guardian_name,mobile,
//!   address,district,state,pincode` (`dob` may stand in for `birth_year`; `guardian_relation`,
//!   `abha` and `last_visit` are read when present; other columns are ignored).
//!
//! A record without a usable UHID or name is refused with the reason, and the line number is the
//! caller's to report; a bad optional field (a malformed mobile, say) is dropped with a warning
//! and the rest of the record kept: the hospital's index is what it is, and a patient missing from
//! the mirror cannot be found at all. No message echoes a value.

use chrono::NaiveDate;
use parchi_core::central::birth_from_year;
use parchi_core::patient::{
    AbhaNumber, BirthDate, GuardianRelation, Mobile, Name, Pincode, Sex, Text,
};
use parchi_core::{CentralPatient, Uhid};
use serde_json::Value;

/// One record read, with the optional fields that had to be dropped.
#[derive(Debug)]
pub struct Parsed {
    pub record: CentralPatient,
    /// Why an optional field was left out (field name and what was wrong).
    pub warnings: Vec<String>,
}

/// What one line or row gave.
#[derive(Debug)]
pub enum Entry {
    Record(Box<Parsed>),
    /// Deliberately not imported (an inactive record, a blank line), with the reason.
    Skipped(&'static str),
}

const ABHA_SYSTEM: &str = "https://healthid.ndhm.gov.in";

/// Optional fields are collected here: a bad value becomes a warning, not a refusal.
struct Soft {
    warnings: Vec<String>,
}

impl Soft {
    fn take<T, E: std::fmt::Display>(&mut self, field: &str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.warnings.push(format!("{field} left out: {e}"));
                None
            }
        }
    }

    fn text(&mut self, field: &'static str, s: &str) -> Option<Text> {
        self.take(field, Text::parse(field, s).map_err(|e| e.message))
            .flatten()
    }
}

fn required_name(s: &str) -> Result<Name, String> {
    Name::parse("name", s).map_err(|e| format!("name: {}", e.message))
}

fn uhid_of(s: &str, format: &Option<regex::Regex>) -> Result<Uhid, String> {
    let u = Uhid::parse(s).map_err(|e| format!("uhid: {e}"))?;
    match format {
        Some(re) if !re.is_match(u.as_str()) => Err(
            "uhid: does not match the hospital's UHID format (hospital.uhid_pattern)".to_string(),
        ),
        _ => Ok(u),
    }
}

/// A FHIR `birthDate` (YYYY, YYYY-MM or YYYY-MM-DD).
fn fhir_birth(s: &str) -> Result<BirthDate, &'static str> {
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str| p.parse::<u32>().map_err(|_| "is not a FHIR date");
    match parts.as_slice() {
        [y] => birth_from_year(num(y)? as i32).ok_or("is not a FHIR date"),
        [y, m] => NaiveDate::from_ymd_opt(num(y)? as i32, num(m)?, 1)
            .map(|date| BirthDate {
                date,
                approximate: true,
            })
            .ok_or("is not a FHIR date"),
        [_, _, _] => s
            .parse::<NaiveDate>()
            .map(|date| BirthDate {
                date,
                approximate: false,
            })
            .map_err(|_| "is not a FHIR date"),
        _ => Err("is not a FHIR date"),
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A HumanName as one string: its `text`, else given names and family.
fn human_name(n: &Value) -> Option<String> {
    if let Some(t) = str_at(n, "text").filter(|t| !t.trim().is_empty()) {
        return Some(t.to_string());
    }
    let mut parts: Vec<&str> = array(n, "given").iter().filter_map(Value::as_str).collect();
    parts.extend(str_at(n, "family"));
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The official (else usual, else first) name of a resource.
fn best_name(resource: &Value) -> Option<String> {
    let names = array(resource, "name");
    let by_use = |u: &str| names.iter().find(|n| str_at(n, "use") == Some(u));
    by_use("official")
        .or_else(|| by_use("usual"))
        .or_else(|| names.first())
        .and_then(human_name)
}

fn relation_of(code: &str) -> Option<GuardianRelation> {
    match code {
        // v3 RoleCode: father, mother, parent; husband; anyone else who looks after them.
        "FTH" | "MTH" | "PRN" | "NPRN" => None,
        "HUSB" => Some(GuardianRelation::WifeOf),
        "GUARD" => Some(GuardianRelation::CareOf),
        _ => None,
    }
}

/// Maps one FHIR R4 Patient resource (a JSON value) to a mirror record.
pub fn patient_from_fhir(
    resource: &Value,
    uhid_system: &str,
    format: &Option<regex::Regex>,
) -> Result<Entry, String> {
    if str_at(resource, "resourceType") != Some("Patient") {
        return Err("not a FHIR Patient resource".into());
    }
    if resource.get("active") == Some(&Value::Bool(false)) {
        return Ok(Entry::Skipped(
            "inactive record (merged or retired by the hospital)",
        ));
    }
    let ids = array(resource, "identifier");
    let uhid = ids
        .iter()
        .find(|i| str_at(i, "system") == Some(uhid_system))
        .and_then(|i| str_at(i, "value"))
        .ok_or_else(|| format!("no identifier under the UHID system {uhid_system}"))?;
    let uhid = uhid_of(uhid, format)?;
    let name = required_name(&best_name(resource).ok_or("name: is missing")?)?;
    let mut soft = Soft {
        warnings: Vec::new(),
    };
    let sex = match str_at(resource, "gender") {
        Some("male") => Some(Sex::Male),
        Some("female") => Some(Sex::Female),
        Some("other") => Some(Sex::Other),
        Some("unknown") | None => None,
        Some(_) => soft.take::<Sex, _>("gender", Err("is not male, female, other or unknown")),
    };
    let birth = str_at(resource, "birthDate").and_then(|b| soft.take("birthDate", fhir_birth(b)));
    let mobile = array(resource, "telecom")
        .iter()
        .filter(|t| str_at(t, "system") == Some("phone"))
        .filter_map(|t| str_at(t, "value"))
        .find_map(|v| Mobile::parse(v).ok());
    let address = array(resource, "address").first();
    let line = address.map(|a| {
        array(a, "line")
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    });
    let mut text = |field, key: &str| {
        address
            .and_then(|a| str_at(a, key))
            .and_then(|s| soft.text(field, s))
    };
    let district = text("district", "district");
    let state = text("state", "state");
    let pincode = address
        .and_then(|a| str_at(a, "postalCode"))
        .and_then(|p| soft.take("postalCode", Pincode::parse(p).map_err(|e| e.message)));
    let address = line.and_then(|l| soft.text("address", &l));
    let contact = array(resource, "contact").first();
    let guardian_name = contact
        .and_then(|c| c.get("name"))
        .and_then(human_name)
        .and_then(|n| {
            soft.take(
                "contact.name",
                Name::parse("guardian", &n).map_err(|e| e.message),
            )
        });
    let guardian_relation = contact
        .map(|c| array(c, "relationship"))
        .and_then(|r| r.first())
        .and_then(|r| array(r, "coding").first())
        .and_then(|c| str_at(c, "code"))
        .and_then(relation_of);
    let abha_number = ids
        .iter()
        .filter(|i| str_at(i, "system") == Some(ABHA_SYSTEM))
        .filter_map(|i| str_at(i, "value"))
        .find_map(|v| AbhaNumber::parse(v).ok().map(|(a, _)| a));
    let seen = resource
        .pointer("/meta/lastUpdated")
        .and_then(Value::as_str)
        .and_then(|s| s.get(..10))
        .and_then(|d| d.parse().ok());
    Ok(Entry::Record(Box::new(Parsed {
        record: CentralPatient {
            uhid,
            name,
            sex,
            birth,
            guardian_relation,
            guardian_name,
            mobile,
            address,
            district,
            state,
            pincode,
            abha_number,
            seen,
        },
        warnings: soft.warnings,
    })))
}

/// One ndjson line of a Bulk Data export.
pub fn patient_from_ndjson(
    line: &str,
    uhid_system: &str,
    format: &Option<regex::Regex>,
) -> Result<Entry, String> {
    if line.trim().is_empty() {
        return Ok(Entry::Skipped("blank line"));
    }
    let v: Value = serde_json::from_str(line).map_err(|e| {
        // serde's message names a position, never the content.
        format!("not a JSON object: {e}")
    })?;
    patient_from_fhir(&v, uhid_system, format)
}

/// Where each known CSV column is in the header.
#[derive(Debug, Default)]
pub struct CsvColumns {
    uhid: usize,
    name: usize,
    sex: Option<usize>,
    birth_year: Option<usize>,
    dob: Option<usize>,
    guardian_name: Option<usize>,
    guardian_relation: Option<usize>,
    mobile: Option<usize>,
    address: Option<usize>,
    district: Option<usize>,
    state: Option<usize>,
    pincode: Option<usize>,
    abha: Option<usize>,
    seen: Option<usize>,
}

impl CsvColumns {
    /// Reads the header; `uhid` and `name` are required.
    pub fn from_header(header: &csv::StringRecord) -> Result<CsvColumns, String> {
        let find = |n: &str| {
            header.iter().position(|h| {
                h.trim()
                    .trim_start_matches('\u{feff}')
                    .eq_ignore_ascii_case(n)
            })
        };
        let need = |n: &str| {
            find(n).ok_or_else(|| {
                format!(
                    "the header has no {n:?} column (expected uhid,name,sex,birth_year,guardian_name,mobile,address,district,state,pincode)"
                )
            })
        };
        Ok(CsvColumns {
            uhid: need("uhid")?,
            name: need("name")?,
            sex: find("sex"),
            birth_year: find("birth_year"),
            dob: find("dob"),
            guardian_name: find("guardian_name"),
            guardian_relation: find("guardian_relation"),
            mobile: find("mobile"),
            address: find("address"),
            district: find("district"),
            state: find("state"),
            pincode: find("pincode"),
            abha: find("abha"),
            seen: find("last_visit").or_else(|| find("seen")),
        })
    }
}

/// A date as hospital exports write it: ISO, or day first with / or -.
fn loose_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    s.parse()
        .ok()
        .or_else(|| NaiveDate::parse_from_str(s, "%d/%m/%Y").ok())
        .or_else(|| NaiveDate::parse_from_str(s, "%d-%m-%Y").ok())
}

/// One CSV row.
pub fn patient_from_csv(
    row: &csv::StringRecord,
    cols: &CsvColumns,
    format: &Option<regex::Regex>,
) -> Result<Entry, String> {
    let get = |i: Option<usize>| i.and_then(|i| row.get(i)).map(str::trim).unwrap_or("");
    if row.iter().all(|f| f.trim().is_empty()) {
        return Ok(Entry::Skipped("blank line"));
    }
    let uhid = uhid_of(get(Some(cols.uhid)), format)?;
    let name = required_name(get(Some(cols.name)))?;
    let mut soft = Soft {
        warnings: Vec::new(),
    };
    let opt = |s: &str| (!s.is_empty()).then_some(s.to_owned());
    let sex =
        opt(get(cols.sex)).and_then(|s| soft.take("sex", Sex::parse(&s).map_err(|e| e.message)));
    let birth = match (opt(get(cols.dob)), opt(get(cols.birth_year))) {
        (Some(d), _) => soft.take(
            "dob",
            loose_date(&d)
                .map(|date| BirthDate {
                    date,
                    approximate: false,
                })
                .ok_or("is not a date (YYYY-MM-DD or DD/MM/YYYY)"),
        ),
        (None, Some(y)) => soft.take(
            "birth_year",
            y.parse::<i32>()
                .ok()
                .filter(|y| (1880..=2200).contains(y))
                .and_then(birth_from_year)
                .ok_or("is not a year"),
        ),
        (None, None) => None,
    };
    let guardian_name = opt(get(cols.guardian_name)).and_then(|g| {
        soft.take(
            "guardian_name",
            Name::parse("guardian", &g).map_err(|e| e.message),
        )
    });
    let guardian_relation = opt(get(cols.guardian_relation)).and_then(|r| {
        soft.take(
            "guardian_relation",
            GuardianRelation::parse(&r).map_err(|e| e.message),
        )
    });
    let mobile = opt(get(cols.mobile))
        .and_then(|m| soft.take("mobile", Mobile::parse(&m).map_err(|e| e.message)));
    let address = soft.text("address", get(cols.address));
    let district = soft.text("district", get(cols.district));
    let state = soft.text("state", get(cols.state));
    let pincode = opt(get(cols.pincode))
        .and_then(|p| soft.take("pincode", Pincode::parse(&p).map_err(|e| e.message)));
    let abha_number = opt(get(cols.abha)).and_then(|a| {
        soft.take(
            "abha",
            AbhaNumber::parse(&a).map(|(n, _)| n).map_err(|e| e.message),
        )
    });
    let seen = opt(get(cols.seen))
        .and_then(|d| soft.take("last_visit", loose_date(&d).ok_or("is not a date")));
    Ok(Entry::Record(Box::new(Parsed {
        record: CentralPatient {
            uhid,
            name,
            sex,
            birth,
            guardian_relation,
            guardian_name,
            mobile,
            address,
            district,
            state,
            pincode,
            abha_number,
            seen,
        },
        warnings: soft.warnings,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYS: &str = "https://dh.example.org/fhir/uhid";

    fn record(e: Entry) -> Parsed {
        match e {
            Entry::Record(p) => *p,
            Entry::Skipped(why) => panic!("skipped: {why}"),
        }
    }

    #[test]
    fn a_bulk_export_line_becomes_a_mirror_record() {
        let line = serde_json::json!({
            "resourceType": "Patient", "id": "p1",
            "meta": {"lastUpdated": "2026-11-30T22:00:00.123Z"},
            "identifier": [
                {"system": SYS, "value": "dhp000000123"},
                {"system": ABHA_SYSTEM, "value": "91-5238-6218-0384"}
            ],
            "name": [{"use": "usual", "text": "Sunny"}, {"use": "official", "given": ["Sunita"], "family": "Devi"}],
            "gender": "female", "birthDate": "1981",
            "telecom": [{"system": "email", "value": "x@y"}, {"system": "phone", "value": "+91 98765 43210"}],
            "address": [{"line": ["12, MG Road"], "district": "Patna", "state": "Bihar", "postalCode": "800001"}],
            "contact": [{"relationship": [{"coding": [{"code": "HUSB"}]}], "name": {"text": "Ramesh Kumar"}}]
        })
        .to_string();
        let p = record(patient_from_ndjson(&line, SYS, &None).expect("parsed"));
        let r = &p.record;
        assert_eq!(r.uhid.as_str(), "DHP000000123");
        assert_eq!(r.name.as_str(), "Sunita Devi");
        assert_eq!(r.sex, Some(Sex::Female));
        assert_eq!(r.birth_year(), Some(1981));
        assert_eq!(r.mobile.as_ref().map(|m| m.as_str()), Some("9876543210"));
        assert_eq!(r.pincode.as_ref().map(|p| p.as_str()), Some("800001"));
        assert_eq!(r.guardian_relation, Some(GuardianRelation::WifeOf));
        assert_eq!(
            r.abha_number.as_ref().map(|a| a.as_str()),
            Some("91523862180384")
        );
        assert_eq!(r.seen, "2026-11-30".parse().ok());
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn a_record_without_the_uhid_or_name_is_refused_and_bad_optional_fields_are_dropped() {
        let no_uhid = r#"{"resourceType":"Patient","identifier":[{"system":"other","value":"X1234"}],"name":[{"text":"Asha"}]}"#;
        let e = patient_from_ndjson(no_uhid, SYS, &None).expect_err("no uhid");
        assert!(e.contains("no identifier under the UHID system"), "{e}");
        let digits = format!(
            r#"{{"resourceType":"Patient","identifier":[{{"system":"{SYS}","value":"DHP1234"}}],"name":[{{"text":"R4m S3cret"}}]}}"#
        );
        let e = patient_from_ndjson(&digits, SYS, &None).expect_err("digits");
        assert!(e.starts_with("name:") && !e.contains("S3cret"), "{e}");
        let bad_pin = format!(
            r#"{{"resourceType":"Patient","identifier":[{{"system":"{SYS}","value":"DHP1234"}}],"name":[{{"text":"Asha"}}],"birthDate":"19x","address":[{{"postalCode":"0123"}}]}}"#
        );
        let p = record(patient_from_ndjson(&bad_pin, SYS, &None).expect("kept"));
        assert_eq!(p.record.pincode, None);
        assert_eq!(p.record.birth, None);
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        assert!(patient_from_ndjson("{not json", SYS, &None).is_err());
        assert!(patient_from_ndjson(r#"{"resourceType":"Encounter"}"#, SYS, &None).is_err());
        let inactive = format!(
            r#"{{"resourceType":"Patient","active":false,"identifier":[{{"system":"{SYS}","value":"DHP1234"}}],"name":[{{"text":"Asha"}}]}}"#
        );
        assert!(matches!(
            patient_from_ndjson(&inactive, SYS, &None),
            Ok(Entry::Skipped(_))
        ));
    }

    #[test]
    fn csv_rows_take_the_documented_columns_and_the_hospital_format() {
        let header = csv::StringRecord::from(vec![
            "UHID",
            "name",
            "sex",
            "dob",
            "guardian_name",
            "mobile",
            "address",
            "district",
            "state",
            "pincode",
            "extra",
        ]);
        let cols = CsvColumns::from_header(&header).expect("cols");
        let row = csv::StringRecord::from(vec![
            "DHP000000777",
            "Mohd Irfan Ansari",
            "M",
            "14/03/1974",
            "Abdul Ansari",
            "98765-01234",
            "Ward 5",
            "Patna",
            "Bihar",
            "800020",
            "x",
        ]);
        let re = Some(regex::Regex::new("^DHP[0-9]{9}$").expect("re"));
        let p = record(patient_from_csv(&row, &cols, &re).expect("row"));
        assert_eq!(p.record.birth.map(|b| b.approximate), Some(false));
        assert_eq!(
            p.record.mobile.as_ref().map(|m| m.as_str()),
            Some("9876501234")
        );
        let mut bad = row.iter().map(str::to_owned).collect::<Vec<_>>();
        bad[0] = "XYZ12".into();
        let e = patient_from_csv(&csv::StringRecord::from(bad), &cols, &re).expect_err("format");
        assert!(e.contains("UHID format"), "{e}");
        let missing = csv::StringRecord::from(vec!["name", "sex"]);
        assert!(CsvColumns::from_header(&missing).is_err());
    }
}
