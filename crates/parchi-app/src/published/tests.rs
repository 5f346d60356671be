use super::*;

fn example() -> HospitalConfig {
    HospitalConfig::from_toml(crate::desktop::EMBEDDED_CONFIG).expect("example")
}

#[test]
fn the_shared_part_leaves_out_every_counter_s_own_settings() {
    let mut cfg = example();
    cfg.hospital.printer = Some("Front-Desk".into());
    cfg.sync.hub = Some("http://hub.local:8080".into());
    cfg.backup.dir = Some("/media/usb".into());
    let shared = cfg.shared();
    for pointer in LOCAL_SETTINGS {
        assert!(shared.pointer(pointer).is_none(), "{pointer} travels");
    }
    assert!(shared.pointer("/departments/0/fee").is_some());
    assert!(shared.pointer("/hospital/name").is_some());
}

#[test]
fn a_published_configuration_keeps_the_counter_s_own_settings() {
    let mut local = example();
    local.hospital.printer = Some("Counter-B".into());
    local.hospital.slip_layout = "a6".into();
    local.hospital.local_language = "bn".into();
    local.sync.hub = Some("http://hub.local:8080".into());
    local.backup.dir = Some("/media/usb".into());
    let mut published = example();
    published.hospital.printer = Some("Somewhere-Else".into());
    published.departments[0].fee = 50;
    let taken = HospitalConfig::from_shared(&published.shared(), &local).expect("valid");
    assert_eq!(taken.departments[0].fee, 50);
    assert_eq!(taken.hospital.printer.as_deref(), Some("Counter-B"));
    assert_eq!(taken.hospital.slip_layout, "a6");
    assert_eq!(taken.hospital.local_language, "bn");
    assert_eq!(taken.sync.hub.as_deref(), Some("http://hub.local:8080"));
    assert_eq!(taken.backup.dir.as_deref(), Some("/media/usb"));
    // And a counter without a backup directory gets none from elsewhere.
    let plain = example();
    let mut elsewhere = example();
    elsewhere.backup.dir = Some("/mnt/share".into());
    let taken = HospitalConfig::from_shared(&elsewhere.shared(), &plain).expect("valid");
    assert_eq!(taken.backup.dir, None);
}

#[test]
fn a_published_configuration_is_checked_like_a_file() {
    let mut shared = example().shared();
    shared["departments"][1]["code"] = shared["departments"][0]["code"].clone();
    let e = HospitalConfig::from_shared(&shared, &example()).expect_err("duplicate code");
    assert!(e.to_string().contains("used twice"), "{e}");
}

#[test]
fn changes_name_each_department_and_setting_that_differs() {
    let before = example();
    let mut after = before.clone();
    after.departments[0].room = "Room 99".into();
    after.departments[0].days.pop();
    let removed = after.departments.remove(1);
    after.fees.waived.clear();
    let got: Vec<(ChangeKind, String)> = changes(&before, &after)
        .into_iter()
        .map(|c| (c.kind, c.code))
        .collect();
    let first = before.departments[0].code.to_string();
    assert_eq!(
        got,
        [
            (ChangeKind::Room, first.clone()),
            (ChangeKind::Days, first),
            (ChangeKind::DepartmentRemoved, removed.code.to_string()),
            (ChangeKind::Waived, String::new()),
        ]
    );
    assert!(changes(&before, &before).is_empty());
}
