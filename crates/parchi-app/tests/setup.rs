//! First-run setup on a real data directory: the form becomes the counter's configuration and
//! store, a second setup is refused, bad input writes nothing, a hub that cannot be reached
//! leaves a working counter, and the test print comes out of CUPS' PDF printer.

mod support;

use parchi_app::setup::{self, SetupDepartment, SetupForm};
use parchi_app::{AppError, Counter, FixedEnv};

use support::print::{barcodes, printed_after, spool};

const NOW_MS: u64 = 1_780_300_800_000; // 2026-06-01, a Monday

fn form() -> SetupForm {
    SetupForm {
        hospital_name: "Sadar Hospital, Gaya".into(),
        hospital_name_local: "सदर अस्पताल, गया".into(),
        local_language: "hi".into(),
        counter_code: "B".into(),
        departments: setup::departments_from_csv(
            "code,name,name_local,room,days,fee\n\
             MED,General Medicine,सामान्य चिकित्सा,Room 4,Mon-Sat,10\n\
             EYE,Ophthalmology,नेत्र रोग,Room 9,\"Tue, Thu\",0\n",
        )
        .expect("csv"),
        waived: vec!["bpl".into()],
        printer: "PDF".into(),
        slip_layout: "thermal80".into(),
        ..SetupForm::default()
    }
}

fn env(seed: u64) -> Box<FixedEnv> {
    Box::new(FixedEnv::new(NOW_MS, seed))
}

#[test]
fn the_form_sets_up_a_counter_that_reopens_on_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let (c, done) = Counter::first_run(&data, &form(), env(1)).expect("setup");
    assert_eq!(done.counter, "B");
    assert!(done.enrolled.is_none() && done.enrol_error.is_none());
    let info = c.counter_info().expect("info");
    assert_eq!(info.hospital, "Sadar Hospital, Gaya");
    assert_eq!(info.counter, "B");
    assert!(info.needs_first_admin);
    // Monday: medicine runs, ophthalmology does not.
    let today: Vec<String> = c.departments_today().into_iter().map(|d| d.code).collect();
    assert_eq!(today, ["MED"]);
    drop(c);

    // The configuration on disk is what `parchi configure` reads.
    let written = parchi_app::config::HospitalConfig::load(&data.join("hospital.toml"))
        .expect("the written configuration validates");
    assert_eq!(written.departments.len(), 2);
    let c = Counter::open(&data, env(2)).expect("reopen");
    assert_eq!(c.counter_info().expect("info").counter, "B");
    drop(c);

    // A second setup is refused and changes nothing.
    let before = std::fs::read(data.join("hospital.toml")).expect("read");
    let mut other = form();
    other.hospital_name = "Another Hospital".into();
    let e = Counter::first_run(&data, &other, env(3)).expect_err("refused");
    assert!(matches!(e, AppError::Denied(_)), "{e}");
    assert!(Counter::init_demo(&data, env(4)).is_err());
    assert_eq!(
        std::fs::read(data.join("hospital.toml")).expect("read"),
        before
    );
}

#[test]
fn a_form_with_errors_writes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let mut f = form();
    f.departments.push(SetupDepartment {
        code: "X".into(),
        ..SetupDepartment::default()
    });
    let e = Counter::first_run(&data, &f, env(1)).expect_err("invalid");
    assert!(e.fields().is_some(), "{e}");
    assert!(!data.join("hospital.toml").exists());
    assert!(!parchi_app::desktop::is_initialised(&data));
}

#[test]
fn a_hub_that_cannot_be_reached_leaves_a_working_counter() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let mut f = form();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    f.hub = format!("http://127.0.0.1:{port}");
    f.enrol_code = "K7M2-QX9P".into();
    let (c, done) = Counter::first_run(&data, &f, env(1)).expect("setup");
    assert!(done.enrolled.is_none());
    assert!(done.enrol_error.is_some());
    assert_eq!(c.counter_info().expect("info").counter, "B");
}

#[test]
fn a_hub_enrols_the_new_counter() {
    let hub = support::Hub::start();
    let dir = tempfile::tempdir().expect("tmp");
    let mut f = form();
    f.hub = hub.url.clone();
    f.enrol_code = hub.code();
    let (c, done) = Counter::first_run(&dir.path().join("data"), &f, env(1)).expect("setup");
    assert_eq!(
        done.enrolled.as_deref(),
        Some(hub.url.as_str()),
        "{:?}",
        done.enrol_error
    );
    assert_eq!(
        c.sync_status().expect("status").hub.as_deref(),
        Some(hub.url.as_str())
    );
}

#[test]
fn the_test_print_comes_out_of_the_printer() {
    let before = spool();
    let job = setup::test_print(&form()).expect("printed");
    assert_eq!(job.printer, "PDF");
    let pdf = printed_after(&before).expect("the CUPS PDF printer wrote the test slip");
    // cups-pdf redraws the page (no text layer left): read it as a scanner would.
    let codes = barcodes(&pdf);
    assert!(
        codes.contains(&"CODE-128:TESTPRINT".to_owned()),
        "{codes:?}"
    );

    let mut f = form();
    f.printer = "NoSuchPrinter".into();
    let e = setup::test_print(&f).expect_err("no such printer");
    assert!(e.to_string().contains("NoSuchPrinter"), "{e}");
}
