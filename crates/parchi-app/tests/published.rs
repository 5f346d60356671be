//! One configuration for all counters, on real stores and a real hub in this process: an admin
//! publishes at one counter or at the hub, every counter receives it through sync and puts it
//! in force on its date with its own printer and slip layout kept, a configuration that fails
//! the checks is not taken, and a counter's own file cannot undo the hospital's configuration.

mod support;

use std::path::Path;

use parchi_app::config::{Day, Department, HospitalConfig};
use parchi_app::desktop::DesktopSettings;
use parchi_app::published::ChangeKind;
use parchi_app::{AppError, Counter, FixedEnv};
use parchi_core::DeptCode;
use parchi_sync::wire::PublishConfig;

use support::{ADMIN, Hub, request};

const NOW_MS: u64 = 1_780_300_800_000; // 2026-06-01, a Monday, 05:30 in the hospital
const DAY_MS: u64 = 86_400_000;

fn env(at_ms: u64, seed: u64) -> Box<FixedEnv> {
    Box::new(FixedEnv::new(at_ms, seed))
}

fn counter(dir: &Path, code: &str, seed: u64) -> Counter {
    Counter::init(dir, &support::config(), code, env(NOW_MS, seed)).expect("init")
}

fn enrolled(hub: &Hub, dir: &Path, code: &str, seed: u64) -> Counter {
    let mut c = counter(dir, code, seed);
    c.enroll(&hub.url, &hub.code()).expect("enrol");
    c
}

fn sync(c: &mut Counter) {
    c.sync_once(&mut |_| {}).expect("sync");
}

/// The example hospital with Nephrology opened and General Medicine's fee raised to Rs 15.
fn with_nephrology(base: &HospitalConfig) -> HospitalConfig {
    let mut cfg = base.clone();
    cfg.departments.push(Department {
        code: DeptCode::parse("NEP").expect("code"),
        name: "Nephrology".into(),
        name_local: "गुर्दा रोग".into(),
        room: "Room 21".into(),
        days: vec![Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri, Day::Sat],
        fee: 20,
    });
    set_fee(&mut cfg, "MED", 15);
    cfg
}

fn set_fee(cfg: &mut HospitalConfig, code: &str, fee: u32) {
    let dept = cfg.departments.iter_mut().find(|d| d.code.as_str() == code);
    dept.expect("the department").fee = fee;
}

/// Publishes `settings` at the hub with its admin's credential, in force from `day`.
fn publish_at_hub(
    hub: &Hub,
    day: chrono::NaiveDate,
    settings: serde_json::Value,
    note: &str,
) -> Result<parchi_sync::wire::ConfigPublished, parchi_sync::ClientError> {
    hub.admin().admin_publish_config(
        ADMIN,
        &PublishConfig {
            effective_from: day,
            settings,
            note: note.into(),
        },
    )
}

fn nephrology_fee(c: &mut Counter) -> Option<u32> {
    c.departments_now()
        .expect("departments")
        .into_iter()
        .find(|d| d.code == "NEP")
        .map(|d| d.fee)
}

fn nephrology(name: &str) -> parchi_app::RegisterRequest {
    let mut r = request(name, "F", "40", "9876543210");
    r.department = "NEP".into();
    r
}

#[test]
fn a_configuration_published_at_one_counter_comes_into_force_everywhere_on_its_date() {
    let hub = Hub::start();
    let (da, db) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let mut a = enrolled(&hub, da.path(), "A", 1);
    let mut b = enrolled(&hub, db.path(), "B", 2);
    // Counter B prints on its own queue, on A6.
    let mut own = b.desktop_settings().expect("settings");
    own.printer = "Counter-B-Printer".into();
    own.slip_layout = "a6".into();
    let own: DesktopSettings = b.save_desktop_settings(&own).expect("own settings");

    let tomorrow = a.today().succ_opt().expect("tomorrow");
    let cfg = with_nephrology(a.config());
    a.publish_config(&cfg, tomorrow, "Nephrology opens on Tuesday")
        .expect("publish");
    sync(&mut a);
    sync(&mut b);

    // Received, announced, not yet in force.
    let status = b.config_status().expect("status");
    assert!(status.in_force.is_none() && status.refused.is_none());
    let [coming] = status.upcoming.as_slice() else {
        panic!("one configuration to come: {:?}", status.upcoming);
    };
    assert_eq!(coming.effective_from, tomorrow);
    assert!(!coming.here, "published at counter A");
    assert_eq!(coming.note, "Nephrology opens on Tuesday");
    let kinds: Vec<(ChangeKind, &str, &str, &str)> = coming
        .changes
        .iter()
        .map(|c| (c.kind, c.code.as_str(), c.before.as_str(), c.after.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (ChangeKind::Fee, "MED", "10", "15"),
            (
                ChangeKind::DepartmentAdded,
                "NEP",
                "",
                "Room 21, Rs 20, Mon, Tue, Wed, Thu, Fri, Sat"
            ),
        ]
    );
    assert_eq!(nephrology_fee(&mut b), None);
    assert!(matches!(
        b.register(&nephrology("Sunita Devi")),
        Err(AppError::UnknownDepartment { .. })
    ));
    drop(b);

    // Tuesday, with the hub gone: B takes it from its own store.
    drop(hub);
    let mut b = Counter::open(db.path(), env(NOW_MS + DAY_MS, 3)).expect("reopen B");
    assert_eq!(nephrology_fee(&mut b), Some(20));
    let status = b.config_status().expect("status");
    assert!(status.changed_today && status.upcoming.is_empty());
    let in_force = status.in_force.expect("in force");
    assert_eq!(in_force.effective_from, tomorrow);
    assert_eq!(in_force.changes, coming.changes);
    let r = b.register(&nephrology("Sunita Devi")).expect("register");
    assert_eq!((r.department.as_str(), r.fee), ("NEP", 20));
    let mut med = request("Ram Kumar", "M", "52", "9876501234");
    med.department = "MED".into();
    assert_eq!(b.register(&med).expect("register").fee, 15);
    // B's own settings survived the hospital's change.
    assert_eq!(b.desktop_settings().expect("settings"), own);
    // Its configuration file is the configuration it runs on.
    let file = HospitalConfig::load(&db.path().join("hospital.toml")).expect("file");
    assert_eq!(&file, b.config());
    drop(b);

    // A reopened the day after: still in force, no longer "changed today".
    let mut b = Counter::open(db.path(), env(NOW_MS + 2 * DAY_MS, 4)).expect("reopen B");
    let status = b.config_status().expect("status");
    assert!(!status.changed_today && status.in_force.is_some());
    assert_eq!(nephrology_fee(&mut b), Some(20));
}

#[test]
fn the_hub_publishes_a_later_publication_for_the_day_wins_and_a_bad_one_is_not_taken() {
    let hub = Hub::start();
    let db = tempfile::tempdir().expect("b");
    let mut b = enrolled(&hub, db.path(), "B", 5);
    let today = b.today();
    let publish = |settings, note| publish_at_hub(&hub, today, settings, note);
    let first = with_nephrology(b.config());
    publish(first.shared(), "first").expect("published");
    sync(&mut b);
    assert_eq!(nephrology_fee(&mut b), Some(20));
    let status = b.config_status().expect("status");
    assert!(status.changed_today);

    // Published later for the same day: it replaces the first.
    let mut corrected = first.clone();
    set_fee(&mut corrected, "NEP", 25);
    publish(corrected.shared(), "Nephrology's fee corrected").expect("published");
    sync(&mut b);
    assert_eq!(nephrology_fee(&mut b), Some(25));
    let status = b.config_status().expect("status");
    let changes = &status.in_force.expect("in force").changes;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (
            changes[0].kind,
            changes[0].before.as_str(),
            changes[0].after.as_str()
        ),
        (ChangeKind::Fee, "20", "25")
    );

    // A configuration the schema refuses (a negative fee) arrives but is not taken.
    let mut broken = corrected.shared();
    broken["departments"][0]["fee"] = serde_json::json!(-5);
    publish(broken, "broken").expect("the hub stores any object");
    sync(&mut b);
    assert_eq!(nephrology_fee(&mut b), Some(25), "the last good one stays");
    let refused = b.config_status().expect("status").refused.expect("refused");
    assert!(refused.reason.contains("departments"), "{}", refused.reason);
    b.register(&nephrology("Asha Kumari"))
        .expect("registration goes on");

    // One that no longer lists this counter is not taken either.
    let mut without_b = corrected.clone();
    without_b.counters.retain(|c| c.code.as_str() != "B");
    set_fee(&mut without_b, "NEP", 99);
    publish(without_b.shared(), "").expect("published");
    sync(&mut b);
    assert_eq!(nephrology_fee(&mut b), Some(25));
    let refused = b.config_status().expect("status").refused.expect("refused");
    assert!(
        refused.reason.contains("does not list this counter"),
        "{}",
        refused.reason
    );

    // The hub refuses what is not a configuration object, and nothing reaches the counter.
    let e = publish(serde_json::json!(["not", "an", "object"]), "").expect_err("refused");
    assert!(e.to_string().contains("settings"), "{e}");
    let before = b.config_status().expect("status");
    sync(&mut b);
    assert_eq!(b.config_status().expect("status"), before);
}

#[test]
fn a_counter_s_own_file_cannot_undo_the_hospital_s_configuration() {
    let dir = tempfile::tempdir().expect("a");
    let mut a = counter(dir.path(), "A", 7);
    let today = a.today();
    let cfg = with_nephrology(a.config());

    // Refused, writing nothing: a date in the past, a configuration without this counter, a
    // note over several lines.
    let yesterday = today.pred_opt().expect("yesterday");
    assert!(matches!(
        a.publish_config(&cfg, yesterday, ""),
        Err(AppError::Invalid(m)) if m.contains("past")
    ));
    let mut without_a = cfg.clone();
    without_a.counters.retain(|c| c.code.as_str() != "A");
    assert!(matches!(
        a.publish_config(&without_a, today, ""),
        Err(AppError::UnknownCounter { .. })
    ));
    assert!(a.publish_config(&cfg, today, "one\ntwo").is_err());
    assert_eq!(a.outbox().expect("outbox").pending, 0);

    a.publish_config(&cfg, today, "").expect("publish");
    assert_eq!(nephrology_fee(&mut a), Some(20));

    // The counter's file may not change what the hospital published...
    let file = dir.path().join("other.toml");
    let mut changed = a.config().clone();
    changed.departments.retain(|d| d.code.as_str() != "NEP");
    std::fs::write(&file, toml::to_string(&changed).expect("toml")).expect("write");
    let e = a.apply_config(&file).expect_err("refused");
    assert!(e.to_string().contains("parchi config publish"), "{e}");
    assert_eq!(nephrology_fee(&mut a), Some(20));
    // ...only this counter's own settings.
    let mut local = a.config().clone();
    local.hospital.printer = Some("Front-Desk".into());
    std::fs::write(&file, toml::to_string(&local).expect("toml")).expect("write");
    a.apply_config(&file).expect("own settings");
    assert_eq!(a.config().hospital.printer.as_deref(), Some("Front-Desk"));
    drop(a);
    let mut a = Counter::open(dir.path(), env(NOW_MS, 8)).expect("reopen");
    assert_eq!(a.config().hospital.printer.as_deref(), Some("Front-Desk"));
    assert_eq!(nephrology_fee(&mut a), Some(20));
}

#[test]
fn the_admin_s_table_publishes_only_what_was_edited_and_refuses_bad_rows_by_field() {
    let dir = tempfile::tempdir().expect("a");
    let mut a = counter(dir.path(), "A", 9);
    let mut form = a.publish_form();
    assert_eq!(form.departments.len(), a.config().departments.len());
    assert_eq!(
        form.effective_from,
        a.today().succ_opt().expect("day").to_string()
    );

    let mut bad = form.clone();
    bad.departments[0].fee = "ten".into();
    bad.departments[1].days = "someday".into();
    bad.effective_from = "2026-05-31".into();
    let Err(AppError::Validation(errs)) = a.publish_from_form(&bad) else {
        panic!("refused by field");
    };
    let fields: Vec<(&str, &str)> = errs
        .0
        .iter()
        .map(|e| (e.field, e.message.as_str()))
        .collect();
    assert!(
        fields
            .iter()
            .any(|(f, m)| *f == "departments" && m.starts_with("row 1, fee")),
        "{fields:?}"
    );
    assert!(
        fields
            .iter()
            .any(|(f, m)| *f == "departments" && m.starts_with("row 2, days")),
        "{fields:?}"
    );
    assert!(
        fields.iter().any(|(f, _)| *f == "effective_from"),
        "{fields:?}"
    );
    assert_eq!(a.outbox().expect("outbox").pending, 0, "nothing written");

    form.departments[0].fee = "12".into();
    form.note = "Medicine Rs 12".into();
    let status = a.publish_from_form(&form).expect("published");
    let [coming] = status.upcoming.as_slice() else {
        panic!("one to come: {:?}", status.upcoming);
    };
    assert!(coming.here);
    let kinds: Vec<(ChangeKind, &str, &str)> = coming
        .changes
        .iter()
        .map(|c| (c.kind, c.before.as_str(), c.after.as_str()))
        .collect();
    assert_eq!(kinds, [(ChangeKind::Fee, "10", "12")]);
    assert_eq!(
        a.outbox().expect("outbox").pending,
        1,
        "one operation to sync"
    );
}

fn seen_on(uhid: &str, name: &str, seen: &str) -> parchi_core::CentralPatient {
    serde_json::from_value(serde_json::json!({
        "uhid": uhid, "name": name, "sex": "F", "seen": seen,
        "birth": { "date": "1980-01-01", "approximate": true },
    }))
    .expect("record")
}

#[test]
fn raising_the_mirror_s_years_in_a_published_configuration_pulls_the_older_patients() {
    let hub = Hub::start();
    hub.admin()
        .admin_mirror_batch(
            ADMIN,
            &parchi_sync::wire::MirrorBatch {
                run: "import-run-1".into(),
                records: vec![
                    seen_on("DHP000000001", "Sunita Devi", "2026-01-10"),
                    seen_on("DHP000000002", "Kamla Devi", "2019-05-01"),
                ],
            },
        )
        .expect("mirror");
    // Counter B keeps only the patients seen in the last two years.
    let dir = tempfile::tempdir().expect("b");
    let file = dir.path().join("two-years.toml");
    let mut text = std::fs::read_to_string(support::config()).expect("example");
    text.push_str("\n[mirror]\nrecent_years = 2\n");
    std::fs::write(&file, text).expect("write");
    let data = dir.path().join("data");
    let mut b = Counter::init(&data, &file, "B", env(NOW_MS, 11)).expect("init");
    b.enroll(&hub.url, &hub.code()).expect("enrol");
    sync(&mut b);
    assert_eq!(b.mirror_view().expect("mirror").records, 1);

    // The hospital keeps ten years from today: the next rounds take the configuration, then
    // pull the mirror again over the wider window.
    let mut cfg = b.config().clone();
    cfg.mirror.recent_years = Some(10);
    publish_at_hub(&hub, b.today(), cfg.shared(), "ten years of patients").expect("published");
    sync(&mut b);
    assert_eq!(b.config().mirror.recent_years, Some(10));
    sync(&mut b);
    assert_eq!(b.mirror_view().expect("mirror").records, 2);
    // Narrowing again keeps what is held and pulls nothing again.
    cfg.mirror.recent_years = Some(1);
    publish_at_hub(&hub, b.today(), cfg.shared(), "").expect("published");
    sync(&mut b);
    sync(&mut b);
    assert_eq!(b.config().mirror.recent_years, Some(1));
    assert_eq!(b.mirror_view().expect("mirror").records, 2);
}
