//! Backups and restore as use cases, with a pinned clock and a real hub in process: a restored
//! counter repeats no token issued after its backup (a reinstall's minute rule), pushes the ops
//! its predecessor never sent with the predecessor's credential (then forgets it), and a wrong
//! key or a non-empty directory changes nothing.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parchi_app::{Counter, Env, FixedEnv, RegisterRequest};
use parchi_keys::RecoveryKey;
use parchi_keys::backup::BackupKey;

use support::{Hub, config};

/// 2026-06-01 09:00 in the hospital's time zone (+05:30).
const NINE_AM: u64 = 1_780_284_600_000;
const MINUTE: u64 = 60_000;

struct Clocked {
    clock: Arc<AtomicU64>,
    random: FixedEnv,
}

impl Env for Clocked {
    fn now_ms(&self) -> u64 {
        self.clock.load(Ordering::Relaxed)
    }
    fn fill_random(&mut self, buf: &mut [u8]) {
        self.random.fill_random(buf);
    }
}

fn env(clock: &Arc<AtomicU64>, seed: u64) -> Box<dyn Env> {
    Box::new(Clocked {
        clock: clock.clone(),
        random: FixedEnv::new(NINE_AM, seed),
    })
}

fn request(name: &str, mobile: &str) -> RegisterRequest {
    RegisterRequest {
        patient: parchi_core::patient::PatientInput {
            name: name.into(),
            sex: "F".into(),
            age: "30".into(),
            mobile: mobile.into(),
            ..Default::default()
        },
        department: "MED".into(),
        uhid: String::new(),
    }
}

#[test]
fn a_restored_counter_repeats_no_token_and_pushes_what_its_predecessor_never_sent() {
    let hub = Hub::start();
    let clock = Arc::new(AtomicU64::new(NINE_AM));
    let (da, db, usb) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
        tempfile::tempdir().expect("usb"),
    );
    let mut a = Counter::init(da.path(), &config(), "A", env(&clock, 1)).expect("init A");
    let rk = a.take_recovery_key().expect("recovery key");
    a.enroll(&hub.url, &hub.code()).expect("enrol A");
    let mut b = Counter::init(db.path(), &config(), "B", env(&clock, 2)).expect("init B");
    b.enroll(&hub.url, &hub.code()).expect("enrol B");

    let mut issued = vec![
        a.register(&request("Parvati Mahto", "9430011001"))
            .expect("p1"),
    ];
    a.sync_once(&mut |_| {}).expect("sync");
    clock.fetch_add(MINUTE, Ordering::Relaxed);
    // Pending when the backup is taken, and never sent by this PC.
    issued.push(
        a.register(&request("Sunaina Oraon", "9430011002"))
            .expect("p2"),
    );
    let backup = a.backup(Some(usb.path())).expect("backup");
    assert!(backup.verified);
    clock.fetch_add(MINUTE, Ordering::Relaxed);
    // After the backup and never synced: lost with the disk, but its token must not repeat.
    issued.push(
        a.register(&request("Kamla Devi", "9430011003"))
            .expect("p3"),
    );
    drop(a);
    drop(da);

    // Half an hour later, on a new PC.
    clock.fetch_add(28 * MINUTE, Ordering::Relaxed);
    let key = BackupKey::from_recovery(&rk).expect("key");
    let dr = tempfile::tempdir().expect("restored");
    let wrong = RecoveryKey::parse(&b.take_recovery_key().expect("b's").display()).expect("rk");
    let e = Counter::restore(
        &backup.file,
        dr.path(),
        &BackupKey::from_recovery(&wrong).expect("k"),
        env(&clock, 3),
    )
    .expect_err("wrong key");
    assert_eq!(e.code(), "wrong_key", "{e}");
    assert_eq!(std::fs::read_dir(dr.path()).expect("ls").count(), 0);

    let (mut r, report) =
        Counter::restore(&backup.file, dr.path(), &key, env(&clock, 4)).expect("restore");
    assert_eq!(
        report.inherited_pending, 2,
        "p2's patient and visit ops: {report:?}"
    );
    assert_ne!(report.site, report.old_site);
    assert!(
        !r.sync_status().expect("status").enrolled,
        "enrolled afresh"
    );
    r.enroll(&hub.url, &hub.code())
        .expect("enrol the restored counter");
    r.sync_once(&mut |_| {})
        .expect("sync pushes the inherited ops");
    assert_eq!(r.sync_status().expect("status").pending, 0);

    // The hub has p2 now: another counter sees it.
    b.sync_once(&mut |_| {}).expect("B syncs");
    assert_eq!(
        b.counts().expect("counts").0,
        2,
        "p1 and p2 reached the hub"
    );

    // Registering goes on: no token and no temporary ID of before repeats, p3's included.
    let next = r
        .register(&request("Gita Kumari", "9430011004"))
        .expect("p4");
    for old in &issued {
        assert_ne!(next.token, old.token);
        assert_ne!(next.temp_id, old.temp_id);
    }
    // A second sync has nothing inherited left (the old credential is forgotten).
    r.sync_once(&mut |_| {}).expect("again");

    // Never over an existing installation.
    let e = Counter::restore(&backup.file, dr.path(), &key, env(&clock, 5)).expect_err("not empty");
    assert_eq!(e.code(), "invalid");
}

#[test]
fn verify_refuses_a_backup_of_one_counter_whose_header_was_moved_to_another() {
    // A forged pairing: the header (signed manifest) of A's backup on B's ciphertext.
    let clock = Arc::new(AtomicU64::new(NINE_AM));
    let (da, db, out, work) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
        tempfile::tempdir().expect("out"),
        tempfile::tempdir().expect("work"),
    );
    let id = age::x25519::Identity::generate();
    let mut cfg = std::fs::read_to_string(config()).expect("cfg");
    cfg.push_str(&format!(
        "\n[security]\nbackup_recipient = \"{}\"\n",
        id.to_public()
    ));
    let cfg_path = out.path().join("hospital.toml");
    std::fs::write(&cfg_path, cfg).expect("cfg");
    let mut a = Counter::init(da.path(), &cfg_path, "A", env(&clock, 1)).expect("A");
    let mut b = Counter::init(db.path(), &cfg_path, "B", env(&clock, 2)).expect("B");
    a.register(&request("Parvati Mahto", "9430011001"))
        .expect("a");
    let fa = a.backup(Some(out.path())).expect("backup A").file;
    let fb = b.backup(Some(out.path())).expect("backup B").file;
    let (ba, bb) = (
        std::fs::read(&fa).expect("a"),
        std::fs::read(&fb).expect("b"),
    );
    let mut forged = ba[..4096].to_vec();
    forged.extend_from_slice(&bb[4096..]);
    let f = out.path().join("forged.pbak");
    std::fs::write(&f, forged).expect("write");
    let text = age::secrecy::ExposeSecret::expose_secret(&id.to_string()).to_string();
    let key = BackupKey::from_identity_file(&text).expect("identity");
    let mut fixed = FixedEnv::new(NINE_AM, 9);
    let ok = parchi_app::backup::verify_backup(&fa, &key, work.path(), &mut fixed).expect("A");
    assert_eq!(ok.patients, 1);
    let e =
        parchi_app::backup::verify_backup(&f, &key, work.path(), &mut fixed).expect_err("forged");
    assert!(
        matches!(e.code(), "backup_tampered" | "backup_truncated"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_dir(work.path()).expect("ls").count(),
        0,
        "nothing left"
    );
}

#[test]
fn scheduled_backups_to_a_drive_keep_the_newest_and_one_a_day() {
    let tmp = tempfile::tempdir().expect("tmp");
    let drive = tmp.path().join("usb");
    std::fs::create_dir_all(&drive).expect("drive");
    // Another counter's backup on the same drive is never touched.
    let other = drive.join("parchi-B-9XY-20260520-091500-cd34.pbk");
    std::fs::write(&other, b"counter B's").expect("write");
    let file = tmp.path().join("hospital.toml");
    let mut cfg = parchi_app::HospitalConfig::load(&config()).expect("example");
    cfg.backup.dir = Some(drive.to_str().expect("utf8").to_owned());
    cfg.backup.every_minutes = 60;
    cfg.backup.keep_recent = 2;
    cfg.backup.keep_days = 2;
    std::fs::write(&file, toml::to_string(&cfg).expect("toml")).expect("write");
    let clock = Arc::new(AtomicU64::new(NINE_AM));
    let mut c = Counter::init(&tmp.path().join("data"), &file, "A", env(&clock, 1)).expect("init");
    c.register(&request("Sunita Devi", "")).expect("register");
    // Three days, three backups a day (09:00, 11:00, 13:00).
    let mut taken = Vec::new();
    for day in 0..3u64 {
        for hour in [0u64, 2, 4] {
            clock.store(
                NINE_AM + day * 1440 * MINUTE + hour * 60 * MINUTE,
                Ordering::Relaxed,
            );
            let done = c.scheduled_backup().expect("backup").expect("due");
            taken.push(done.file);
        }
    }
    let mut kept: Vec<std::path::PathBuf> = std::fs::read_dir(&drive)
        .expect("read")
        .flatten()
        .map(|e| e.path())
        .filter(|p| *p != other)
        .collect();
    kept.sort();
    // Today's last two, and yesterday's last; the first day's are gone.
    assert_eq!(kept, [taken[5].clone(), taken[7].clone(), taken[8].clone()]);
    assert!(other.exists());
}
