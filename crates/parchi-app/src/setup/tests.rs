//! The setup form's rules, without a store.
use super::*;

pub(crate) fn form() -> SetupForm {
    SetupForm {
        hospital_name: "Sadar Hospital, Gaya".into(),
        hospital_name_local: "सदर अस्पताल, गया".into(),
        uhid_system: "https://sadar-gaya.bihar.gov.in/fhir/uhid".into(),
        uhid_pattern: "SHG[0-9]{8}".into(),
        local_language: "hi".into(),
        counter_code: "b".into(),
        counter_name: "New registration".into(),
        departments: vec![
            SetupDepartment {
                code: "med".into(),
                name: "General Medicine".into(),
                name_local: "सामान्य चिकित्सा".into(),
                room: "Room 4".into(),
                days: "Mon-Sat".into(),
                fee: "10".into(),
            },
            SetupDepartment {
                code: "EYE".into(),
                name: "Ophthalmology".into(),
                name_local: "नेत्र रोग".into(),
                room: "Room 9".into(),
                days: "tue, thu".into(),
                fee: " 0 ".into(),
            },
        ],
        waived: vec!["bpl".into(), "Staff".into()],
        printer: "PDF".into(),
        slip_layout: "a6".into(),
        hub: String::new(),
        enrol_code: String::new(),
    }
}

fn problems(e: AppError) -> Vec<(String, String)> {
    match e {
        AppError::Validation(v) => {
            v.0.into_iter()
                .map(|f| (f.field.to_owned(), f.message))
                .collect()
        }
        other => panic!("expected field errors, got {other}"),
    }
}

#[test]
fn days_are_read_as_people_write_them() {
    let all = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    assert_eq!(parse_days("Mon-Sat").expect("range"), all[..6]);
    assert_eq!(parse_days("mon – sat").expect("dash"), all[..6]);
    assert_eq!(parse_days("daily").expect("daily"), all);
    assert_eq!(
        parse_days("Friday, Monday wed").expect("list"),
        ["mon", "wed", "fri"]
    );
    assert_eq!(
        parse_days("Mon-Wed, Sat").expect("mixed"),
        ["mon", "tue", "wed", "sat"]
    );
    assert!(parse_days("").is_err());
    assert!(
        parse_days("Funday")
            .expect_err("no such day")
            .contains("funday")
    );
    assert!(
        parse_days("Sat-Mon")
            .expect_err("backwards")
            .contains("backwards")
    );
}

#[test]
fn a_filled_form_is_a_configuration_parchi_configure_accepts() {
    let cfg = form().config().expect("valid");
    assert_eq!(cfg.hospital.name, "Sadar Hospital, Gaya");
    assert_eq!(cfg.hospital.printer.as_deref(), Some("PDF"));
    assert_eq!(cfg.hospital.slip_layout, "a6");
    assert_eq!(cfg.counters.len(), 1);
    assert_eq!(cfg.counters[0].code.as_str(), "B");
    assert_eq!(cfg.departments[0].code.as_str(), "MED");
    assert_eq!(cfg.departments[0].days.len(), 6);
    assert_eq!(cfg.departments[1].fee, 0);
    assert_eq!(
        cfg.fees.waived,
        [parchi_core::Category::Bpl, parchi_core::Category::Staff]
    );
    assert!(cfg.sync.hub.is_none());
    // The TOML written for it reads back through the configuration's own checks, unchanged.
    let text = toml::to_string(&cfg).expect("toml");
    assert_eq!(HospitalConfig::from_toml(&text).expect("reads back"), cfg);
}

#[test]
fn every_problem_is_named_by_field_and_row() {
    let mut f = form();
    f.hospital_name = " ".into();
    f.counter_code = "I".into(); // not in the keyable alphabet
    f.departments[1].code = "MED".into();
    f.departments[1].fee = "ten".into();
    f.departments[1].days = "someday".into();
    f.waived.push("vip".into());
    let got = problems(f.config().expect_err("invalid"));
    let fields: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
    assert!(fields.contains(&"hospital_name"), "{got:?}");
    assert!(fields.contains(&"counter_code"), "{got:?}");
    assert!(fields.contains(&"waived"), "{got:?}");
    let rows: Vec<&str> = got
        .iter()
        .filter(|(f, _)| f == "departments")
        .map(|(_, m)| m.as_str())
        .collect();
    assert!(
        rows.iter().any(|m| m.starts_with("row 2, code")),
        "{rows:?}"
    );
    assert!(rows.iter().any(|m| m.starts_with("row 2, fee")), "{rows:?}");
    assert!(
        rows.iter().any(|m| m.starts_with("row 2, days")),
        "{rows:?}"
    );

    let none = SetupForm {
        departments: vec![],
        ..form()
    };
    assert_eq!(
        problems(none.config().expect_err("no departments"))[0].0,
        "departments"
    );
}

#[test]
fn what_only_the_schema_knows_is_refused_too() {
    let mut f = form();
    f.uhid_system = "not a uri".into();
    let e = f.config().expect_err("schema");
    assert!(e.to_string().contains("uhid_system"), "{e}");
    let mut f = form();
    f.local_language = "ta".into();
    assert!(
        f.config()
            .expect_err("schema")
            .to_string()
            .contains("local_language")
    );
}

#[test]
fn departments_come_from_a_csv_in_any_column_order() {
    let csv = "\u{feff}Fee,code,name,name_local,room,days,notes\n\
               10,MED,General Medicine,सामान्य चिकित्सा,Room 4,Mon-Sat,\n\
               \n\
               0,EYE,Ophthalmology,नेत्र रोग,\"Block C, Room 5\",\"Tue, Thu\",new\n";
    let rows = departments_from_csv(csv).expect("reads");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].room, "Block C, Room 5");
    assert_eq!(rows[1].days, "Tue, Thu");
    assert_eq!(rows[0].fee, "10");
    let f = SetupForm {
        departments: rows,
        ..form()
    };
    assert_eq!(f.config().expect("valid").departments.len(), 2);
}

#[test]
fn a_bad_department_csv_is_refused_whole_naming_the_line() {
    let missing = departments_from_csv("code,name,room\nMED,Medicine,4\n").expect_err("columns");
    assert!(missing.to_string().contains("name_local"), "{missing}");
    assert!(missing.to_string().contains("days"), "{missing}");

    let bad = "code,name,name_local,room,days,fee\n\
               MED,Medicine,चिकित्सा,4,Mon-Sat,10\n\
               SUR,Surgery,शल्य,5,Mon-Sat,free\n";
    let got = problems(departments_from_csv(bad).expect_err("row 3"));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "departments_csv");
    assert!(got[0].1.starts_with("line 3, fee"), "{got:?}");

    assert!(departments_from_csv("code,name,name_local,room,days,fee\n").is_err());
    assert!(departments_from_csv("").is_err());
}

#[test]
fn the_defaults_are_a_thermal_slip_with_the_usual_waivers() {
    let s = start();
    assert_eq!(s.form.counter_code, "A");
    assert_eq!(s.form.slip_layout, "thermal80");
    assert_eq!(s.form.waived, ["bpl", "staff", "free"]);
    assert!(s.categories.contains(&"senior"));
    // The defaults with a name and one department are a whole configuration.
    let f = SetupForm {
        hospital_name: "PHC Bikram".into(),
        departments: vec![form().departments[0].clone()],
        ..s.form
    };
    assert!(f.config().is_ok());
}
