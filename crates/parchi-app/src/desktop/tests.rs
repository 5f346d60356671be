//! The desktop use cases, in process on a real store with a fixed clock.
use super::*;
use crate::FixedEnv;
use parchi_core::patient::PatientInput;

// 2026-11-28 is a Saturday; 10:00 IST.
const SAT_MS: u64 = 1_795_840_200_000;

fn fresh() -> (tempfile::TempDir, Counter) {
    let dir = tempfile::tempdir().expect("tmp");
    let c = Counter::init_demo(&dir.path().join("data"), Box::new(FixedEnv::new(SAT_MS, 7)))
        .expect("init");
    (dir, c)
}

fn patient() -> PatientInput {
    PatientInput {
        name: "Sunita Devi".into(),
        sex: "F".into(),
        age: "34".into(),
        ..Default::default()
    }
}

#[test]
fn a_demo_counter_runs_on_the_example_hospital_and_reopens() {
    let (dir, c) = fresh();
    let info = c.counter_info().expect("info");
    assert_eq!(info.counter, "A");
    assert_eq!(info.hospital, "District Hospital, Patna");
    assert!(info.needs_first_admin);
    assert!(dir.path().join("data").join(CONFIG_FILE).exists());
    drop(c);
    let c = Counter::open(&dir.path().join("data"), Box::new(FixedEnv::new(SAT_MS, 8)))
        .expect("reopen");
    assert_eq!(c.counter_info().expect("info").site_tag, info.site_tag);
}

#[test]
fn the_first_admin_can_be_created_once_only() {
    let (_d, mut c) = fresh();
    let s = c
        .create_first_admin("Admin", "correct horse")
        .expect("admin");
    assert_eq!(s.role, Role::Admin);
    assert!(!c.counter_info().expect("info").needs_first_admin);
    assert_eq!(
        c.create_first_admin("other", "correct horse")
            .map_err(|e| e.code())
            .err(),
        Some("denied")
    );
    let clerk = Session {
        user: "asha".into(),
        role: Role::Clerk,
    };
    assert_eq!(clerk.require_admin().map_err(|e| e.code()), Err("denied"));
    assert!(s.require_admin().is_ok());
}

#[test]
fn only_departments_running_today_are_offered_and_accepted() {
    let (_d, mut c) = fresh();
    let codes: Vec<String> = c.departments_today().into_iter().map(|d| d.code).collect();
    // Saturday: surgery, ENT, dermatology do not run; orthopaedics, eye, psychiatry do.
    assert!(codes.contains(&"MED".to_string()) && codes.contains(&"ORT".to_string()));
    assert!(!codes.contains(&"SUR".to_string()) && !codes.contains(&"ENT".to_string()));
    let req = crate::RegisterRequest {
        patient: patient(),
        department: "SUR".into(),
        uhid: String::new(),
    };
    let e = c.register_today(&req).expect_err("closed");
    assert_eq!(e.code(), "validation");
    assert_eq!(e.fields().map(|f| f.0[0].field), Some("department"));
    let e = c
        .register_today(&crate::RegisterRequest {
            patient: patient(),
            department: "XYZ".into(),
            uhid: String::new(),
        })
        .expect_err("unknown");
    assert_eq!(e.code(), "unknown_department");
    let r = c
        .register_today(&crate::RegisterRequest {
            patient: patient(),
            department: "med".into(),
            uhid: String::new(),
        })
        .expect("open");
    assert!(r.token.starts_with("A-"));
    let v = c.new_visit_today(&r.temp_id, "ORT").expect("revisit");
    assert_eq!(v.department, "ORT");
    assert!(c.new_visit_today(&r.temp_id, "ENT").is_err());
}

#[test]
fn what_the_screens_show_never_prints_patient_data_in_debug() {
    let (_d, mut c) = fresh();
    let mut p = patient();
    p.mobile = "9876543210".into();
    let r = c
        .register_today(&crate::RegisterRequest {
            patient: p,
            department: "MED".into(),
            uhid: String::new(),
        })
        .expect("register");
    let found = c.search("Sunita", 5).expect("search");
    let history = c.history(&r.temp_id).expect("history");
    let detail = c.todays_visits().expect("today");
    assert!(!found.is_empty() && !history.is_empty() && !detail.is_empty());
    let shown = format!("{found:?} {history:?} {detail:?}");
    for secret in ["Sunita", "Devi", "9876543210"] {
        assert!(!shown.contains(secret), "{secret} in Debug output: {shown}");
    }
    assert!(
        shown.contains(&r.patient_id.to_string()),
        "IDs stay visible: {shown}"
    );
}

#[test]
fn checking_a_form_reports_one_problem_per_field_and_writes_nothing() {
    let (_d, c) = fresh();
    let mut p = patient();
    p.mobile = "12345".into();
    p.age = "300".into();
    let check = c.check_patient(&p, Some("SUR"), None);
    let fields: Vec<&str> = check.errors.iter().map(|e| e.field).collect();
    assert_eq!(fields, vec!["age", "mobile", "department"]);
    assert!(check.check_is_clean_of_values());
    assert!(
        c.check_patient(&patient(), Some("MED"), None)
            .errors
            .is_empty()
    );
    assert_eq!(c.store().counts().expect("counts"), (0, 0));
}

impl PatientCheck {
    /// Messages never echo what was typed.
    fn check_is_clean_of_values(&self) -> bool {
        self.errors
            .iter()
            .all(|e| !e.message.contains("12345") && !e.message.contains("300"))
    }
}

#[test]
fn settings_are_this_counters_configuration_and_are_validated() {
    let (dir, mut c) = fresh();
    let s = c.desktop_settings().expect("settings");
    assert_eq!(s.printer, "PDF");
    assert_eq!(s.slip_layout, "thermal80");
    assert_eq!(s.ui_language, "en");
    assert_eq!(s.slip_language, "hi");
    assert_eq!(s.hub, "", "not enrolled anywhere yet");
    let bad = DesktopSettings {
        printer: "My Printer".into(),
        slip_layout: "letter".into(),
        ui_language: "fr".into(),
        slip_language: "ta".into(),
        hub: String::new(),
    };
    let e = c.save_desktop_settings(&bad).expect_err("bad");
    let fields: Vec<&str> = e
        .fields()
        .map(|f| f.0.iter().map(|x| x.field).collect())
        .unwrap_or_default();
    assert_eq!(
        fields,
        vec!["printer", "slip_layout", "ui_language", "slip_language"]
    );
    let good = DesktopSettings {
        printer: " Thermal_1 ".into(),
        slip_layout: "A5".into(),
        ui_language: "hi".into(),
        slip_language: "bn".into(),
        hub: "ignored: set by enrolling".into(),
    };
    let saved = c.save_desktop_settings(&good).expect("good");
    assert_eq!(saved.printer, "Thermal_1");
    assert_eq!(saved.slip_layout, "a5");
    assert_eq!(saved.hub, "");
    // What printing reads, and what survives a restart.
    assert_eq!(c.config().hospital.printer.as_deref(), Some("Thermal_1"));
    assert_eq!(c.config().hospital.local_language, "bn");
    drop(c);
    let c = Counter::open(&dir.path().join("data"), Box::new(FixedEnv::new(SAT_MS, 9)))
        .expect("reopen");
    assert_eq!(c.desktop_settings().expect("reread"), saved);
    let mut c = c;
    c.set_ui_language("en").expect("en");
    assert_eq!(c.desktop_settings().expect("reread").ui_language, "en");
    assert!(c.set_ui_language("xx").is_err());
}

#[test]
fn the_slip_preview_is_the_next_print_drawn_by_parchi_slip() {
    let (_d, mut c) = fresh();
    let r = c
        .register_today(&crate::RegisterRequest {
            patient: patient(),
            department: "MED".into(),
            uhid: String::new(),
        })
        .expect("reg");
    let visit = r.visit_id.to_string();
    let svg = c.slip_preview_svg(&visit).expect("preview");
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.contains(">Sunita Devi</text>") && svg.contains(&format!(">{}</text>", r.token)));
    assert!(!svg.contains("DUPLICATE"), "the original is still to print");
    c.record_reprint(&visit).expect("reprint");
    let svg = c.slip_preview_svg(&visit).expect("preview");
    assert!(
        svg.contains("DUPLICATE"),
        "once reprinted, every copy is marked"
    );
    c.cancel_visit(&visit, "test").expect("cancel");
    assert!(
        c.slip_preview_svg(&visit).is_err(),
        "no slip for a cancelled visit"
    );
}

#[test]
fn the_overview_lists_every_counter_with_this_ones_outbox() {
    let (_d, mut c) = fresh();
    c.register_today(&crate::RegisterRequest {
        patient: patient(),
        department: "MED".into(),
        uhid: String::new(),
    })
    .expect("reg");
    let o = c.counters_overview().expect("overview");
    assert_eq!(o.len(), 3);
    assert!(o[0].this_counter && o[0].registrations_today == 1);
    assert!(o[0].pending.unwrap_or(0) > 0);
    assert!(o[1].pending.is_none() && o[1].registrations_today == 0);
}
