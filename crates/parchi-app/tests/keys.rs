//! A counter's keys at rest, on real files: the recovery key shown once, unlocking a copy
//! without machine.key, rotation and rekey, escrow, the device's signing key, upgrades from
//! plaintext and kept slips.

use std::path::{Path, PathBuf};

use parchi_app::{Counter, FixedEnv, RegisterRequest};
use parchi_core::patient::PatientInput;
use parchi_keys::keyring::{self, MACHINE_KEY_FILE, SLOTS_FILE};
use parchi_store::{Store, StoreError};

const NOW_MS: u64 = 1_795_840_200_000; // Saturday 2026-11-28, 10:00 IST

fn config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hospital.toml")
}

fn env(seed: u64) -> Box<FixedEnv> {
    Box::new(FixedEnv::new(NOW_MS, seed))
}

fn init(dir: &Path) -> Counter {
    let mut c = Counter::init(dir, &config(), "A", env(1)).expect("init");
    c.register(&RegisterRequest {
        patient: PatientInput {
            name: "Rukhsana Khatoon".into(),
            sex: "F".into(),
            age: "29".into(),
            mobile: "9123456780".into(),
            ..Default::default()
        },
        department: "MED".into(),
        uhid: String::new(),
    })
    .expect("register");
    c
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("ls").flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("cp");
        }
    }
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("ls")
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    v.sort();
    v
}

fn found(c: &Counter) -> usize {
    c.search("Rukhsana", 5).expect("search").len()
}

#[test]
fn the_recovery_key_is_given_once_and_opens_a_copy_without_machine_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = init(dir.path());
    let rk = c.take_recovery_key().expect("shown once");
    assert!(c.take_recovery_key().is_none(), "and only once");
    let text = rk.display().to_string();
    assert!(!format!("{c:?}").contains(&text));
    drop(c);

    let copy = dir.path().join("copy");
    copy_dir(dir.path(), &copy);
    std::fs::remove_file(copy.join(MACHINE_KEY_FILE)).expect("rm");
    let e = Counter::open(&copy, env(2)).expect_err("no machine key");
    assert_eq!(e.code(), "no_machine_key", "{e}");
    assert!(e.to_string().contains("parchi unlock --recovery"), "{e}");

    let before = snapshot(&copy);
    let mut wrong =
        Counter::init(&dir.path().join("other"), &config(), "A", env(3)).expect("other");
    let wrong_text = wrong.take_recovery_key().expect("rk").display().to_string();
    let e = Counter::unlock_with_recovery(&copy, &wrong_text, env(4)).expect_err("wrong key");
    assert_eq!(e.code(), "wrong_key", "{e}");
    let mut typo: Vec<char> = text.chars().collect();
    typo[0] = if typo[0] == 'A' { 'B' } else { 'A' };
    let e = Counter::unlock_with_recovery(&copy, &typo.into_iter().collect::<String>(), env(4))
        .expect_err("typo");
    assert_eq!(e.code(), "invalid_recovery_key", "{e}");
    assert_eq!(snapshot(&copy), before, "a refused key changes nothing");

    let c = Counter::unlock_with_recovery(&copy, &text.to_lowercase(), env(5)).expect("unlock");
    assert_eq!(found(&c), 1);
    drop(c);
    let c = Counter::open(&copy, env(6)).expect("opens unattended again");
    assert_eq!(found(&c), 1);
    let st = c.key_status().expect("status");
    assert!(st.slots.recovery && st.slots.machine.as_deref() == Some("file"));
}

#[test]
fn rotation_and_rekey_keep_the_data_and_retire_the_old_keys() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = init(dir.path());
    let first = c.take_recovery_key().expect("rk");
    let old_slots = dir.path().join("old");
    std::fs::create_dir_all(&old_slots).expect("mkdir");
    for f in [SLOTS_FILE, MACHINE_KEY_FILE] {
        std::fs::copy(dir.path().join(f), old_slots.join(f)).expect("cp");
    }
    let old_key = keyring::unlock(&old_slots).expect("old").key;
    let id_before = c.key_status().expect("st").slots.key_id;

    let second = c.rotate_keys().expect("rotate");
    assert_eq!(
        c.key_status().expect("st").slots.key_id,
        id_before,
        "same data key"
    );
    assert!(keyring::unlock_recovery(dir.path(), &first).is_err());
    assert!(keyring::unlock_recovery(dir.path(), &second).is_ok());

    let third = c.rekey().expect("rekey");
    assert_eq!(found(&c), 1, "the open counter goes on");
    assert_ne!(
        c.key_status().expect("st").slots.key_id,
        id_before,
        "a new data key"
    );
    assert!(!c.key_status().expect("st").slots.rekey_pending);
    drop(c);
    assert!(matches!(
        Store::open(dir.path(), &old_key),
        Err(StoreError::WrongKey { .. })
    ));
    assert!(keyring::unlock_recovery(dir.path(), &second).is_err());
    let c = Counter::open(dir.path(), env(8)).expect("open");
    assert_eq!(found(&c), 1);
    drop(c);
    std::fs::remove_file(dir.path().join(MACHINE_KEY_FILE)).expect("rm");
    let c = Counter::unlock_with_recovery(dir.path(), &third.display(), env(9)).expect("newest rk");
    assert_eq!(found(&c), 1);
}

#[test]
fn the_escrow_slot_opens_with_the_hospitals_identity_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = init(dir.path());
    let hospital = age::x25519::Identity::generate();
    let r = c
        .write_escrow(Some(&hospital.to_public().to_string()))
        .expect("escrow");
    assert!(r.starts_with("age1"));
    assert!(c.write_escrow(Some("age1nope")).is_err());
    drop(c);
    let sealed = keyring::escrow_sealed(dir.path())
        .expect("read")
        .expect("slot");
    use age::secrecy::ExposeSecret;
    let key =
        parchi_keys::open_escrow(hospital.to_string().expose_secret(), &sealed).expect("open");
    let s = Store::open(dir.path(), &key).expect("the escrowed key opens the store");
    assert_eq!(s.counts().expect("counts").0, 1);
}

#[test]
fn the_device_signs_with_a_key_kept_inside_the_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let c = init(dir.path());
    let sig = c.sign(b"manifest v1").expect("sign");
    let pk = c.signing_public_key().expect("pk");
    assert!(parchi_keys::verify(&pk, b"manifest v1", &sig));
    assert!(!parchi_keys::verify(&pk, b"manifest v2", &sig));
    drop(c);
    let c = Counter::open(dir.path(), env(2)).expect("reopen");
    assert_eq!(
        c.signing_public_key().expect("pk"),
        pk,
        "the same key after reopening"
    );
    let hex: String = pk.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(c.key_status().expect("st").signing_public_key, hex);
}

#[test]
fn a_plaintext_store_of_an_earlier_version_gets_a_machine_slot_and_is_encrypted() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = parchi_app::HospitalConfig::load(&config()).expect("cfg");
    let json = serde_json::to_string(&cfg).expect("json");
    {
        let mut fill = |b: &mut [u8]| b.fill(3);
        let mut st = parchi_store::Stamping {
            now_ms: NOW_MS,
            local: chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
                .and_then(|d| d.and_hms_opt(10, 0, 0))
                .expect("t"),
            random: &mut fill,
        };
        Store::create_unencrypted_for_bench(
            dir.path(),
            parchi_core::CounterCode::parse("A").expect("c"),
            &json,
            &mut st,
        )
        .expect("plain");
    }
    assert!(!keyring::has_slots(dir.path()));
    let c = Counter::open(dir.path(), env(2)).expect("upgrade");
    let st = c.key_status().expect("st");
    assert_eq!(st.slots.machine.as_deref(), Some("file"));
    assert!(
        !st.slots.recovery,
        "no recovery key until `parchi key rotate`"
    );
    drop(c);
    assert!(!parchi_keys::sqlcipher::is_plaintext(&dir.path().join("parchi.db")).expect("head"));
}

#[test]
fn a_slip_the_printer_refused_is_kept_inside_the_store_not_as_a_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = init(dir.path());
    let v = c.todays_visits().expect("today")[0].0.id.to_string();
    let e = c
        .print_original(&v, Some("NO_SUCH_PRINTER_KEYS_TEST"))
        .expect_err("no such printer");
    assert_eq!(e.code(), "print");
    assert!(e.to_string().contains("--kept"), "{e}");
    let pdf = c.kept_slip_pdf(&v).expect("kept");
    assert!(pdf.starts_with(b"%PDF"));
    drop(c);
    assert!(!dir.path().join("slips").exists());
    for (name, bytes) in snapshot(dir.path()) {
        assert!(
            !bytes.windows(4).any(|w| w == b"%PDF"),
            "{name} holds a PDF in clear"
        );
        assert!(!bytes.windows(8).any(|w| w == b"Rukhsana"), "{name}");
    }
}
