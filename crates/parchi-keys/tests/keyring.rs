//! The key slots of a data directory, on real files.

use std::path::Path;

use parchi_keys::keyring::{self, MACHINE_KEY_FILE, MACHINE_KEY_NEXT_FILE, SLOTS_FILE};
use parchi_keys::{DataKey, KeyError, RecoveryKey};

fn rng(seed: u64) -> impl FnMut(&mut [u8]) {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move |b: &mut [u8]| {
        for x in b {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            *x = (s >> 24) as u8;
        }
    }
}

fn setup() -> (tempfile::TempDir, parchi_keys::NewKeys) {
    static SEED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    check_env();
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = SEED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let keys = keyring::create(dir.path(), None, &mut rng(seed)).expect("create");
    (dir, keys)
}

/// The key file is what CI tests (no TPM there).
fn check_env() {
    assert!(
        std::env::var("PARCHI_MACHINE_KEY_STORE")
            .map(|v| v == "file")
            .unwrap_or(true),
        "run with PARCHI_MACHINE_KEY_STORE unset or file"
    );
}

fn bytes_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .map(|p| (p.display().to_string(), std::fs::read(&p).expect("read")))
        .collect();
    v.sort();
    v
}

#[test]
fn the_machine_slot_opens_unattended_and_files_are_private() {
    let (dir, keys) = setup();
    let u = keyring::unlock(dir.path()).expect("unlock");
    assert_eq!(u.key, keys.data_key);
    assert!(u.pending.is_none());
    #[cfg(unix)]
    for f in [SLOTS_FILE, MACHINE_KEY_FILE] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(f))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
    let slots = std::fs::read_to_string(dir.path().join(SLOTS_FILE)).expect("slots");
    assert!(
        !slots.contains(
            keys.data_key
                .pragma_literal()
                .trim_matches(|c| c == '"' || c == 'x' || c == '\'')
        )
    );
    assert!(!format!("{:?}", keys).contains(keys.recovery.display().as_str()));
    let st = keyring::status(dir.path()).expect("status");
    assert_eq!(st.machine.as_deref(), Some("file"));
    assert!(st.recovery && st.recovery_recipient.is_some() && st.escrow_recipient.is_none());
    assert_eq!(st.recovery_recipient, keys.recovery.recipient());
}

#[test]
fn a_missing_or_foreign_machine_key_is_refused_and_changes_nothing() {
    let (dir, _) = setup();
    let (other, _) = setup();
    std::fs::copy(
        other.path().join(MACHINE_KEY_FILE),
        dir.path().join(MACHINE_KEY_FILE),
    )
    .expect("cp");
    let before = bytes_of(dir.path());
    let e = keyring::unlock(dir.path()).expect_err("foreign");
    assert!(matches!(e, KeyError::WrongKey { .. }), "{e}");
    assert!(e.to_string().contains("parchi unlock --recovery"), "{e}");
    assert_eq!(bytes_of(dir.path()), before);
    std::fs::remove_file(dir.path().join(MACHINE_KEY_FILE)).expect("rm");
    let before = bytes_of(dir.path());
    let e = keyring::unlock(dir.path()).expect_err("missing");
    assert!(matches!(e, KeyError::NoMachineKey { .. }), "{e}");
    assert!(e.to_string().contains("parchi unlock --recovery"), "{e}");
    assert_eq!(bytes_of(dir.path()), before);
}

#[test]
fn the_recovery_key_opens_on_a_new_machine_and_a_wrong_one_does_not() {
    let (dir, keys) = setup();
    std::fs::remove_file(dir.path().join(MACHINE_KEY_FILE)).expect("rm");
    let wrong = RecoveryKey::generate(&mut rng(99));
    let before = bytes_of(dir.path());
    let e = keyring::unlock_recovery(dir.path(), &wrong).expect_err("wrong");
    assert!(matches!(e, KeyError::WrongKey { .. }), "{e}");
    assert_eq!(bytes_of(dir.path()), before);
    let typed = RecoveryKey::parse(&keys.recovery.display()).expect("typed");
    let k = keyring::unlock_recovery(dir.path(), &typed).expect("recovery");
    assert_eq!(k, keys.data_key);
    keyring::replace_machine_slot(dir.path(), &k, &mut rng(5)).expect("new machine slot");
    assert_eq!(
        keyring::unlock(dir.path()).expect("unlock").key,
        keys.data_key
    );
    // The recovery slot is unchanged: the same recovery key still opens it.
    assert_eq!(
        keyring::unlock_recovery(dir.path(), &typed).expect("again"),
        keys.data_key
    );
}

#[test]
fn rewrapping_retires_the_old_machine_and_recovery_keys() {
    let (dir, keys) = setup();
    let old_machine = std::fs::read(dir.path().join(MACHINE_KEY_FILE)).expect("old");
    let new_rk = keyring::rewrap(dir.path(), &keys.data_key, None, &mut rng(7)).expect("rewrap");
    assert_eq!(
        keyring::unlock(dir.path()).expect("unlock").key,
        keys.data_key
    );
    assert!(keyring::unlock_recovery(dir.path(), &keys.recovery).is_err());
    assert_eq!(
        keyring::unlock_recovery(dir.path(), &new_rk).expect("new rk"),
        keys.data_key
    );
    std::fs::write(dir.path().join(MACHINE_KEY_FILE), &old_machine).expect("put old back");
    assert!(matches!(
        keyring::unlock(dir.path()),
        Err(KeyError::WrongKey { .. })
    ));
}

#[test]
fn a_rotation_interrupted_after_the_slot_file_finishes_at_the_next_unlock() {
    let (dir, keys) = setup();
    let old_machine = std::fs::read(dir.path().join(MACHINE_KEY_FILE)).expect("old");
    keyring::rewrap(dir.path(), &keys.data_key, None, &mut rng(8)).expect("rewrap");
    // Simulate the crash before the rename: new key at .next, old key at machine.key.
    std::fs::rename(
        dir.path().join(MACHINE_KEY_FILE),
        dir.path().join(MACHINE_KEY_NEXT_FILE),
    )
    .expect("mv");
    std::fs::write(dir.path().join(MACHINE_KEY_FILE), &old_machine).expect("old back");
    assert_eq!(
        keyring::unlock(dir.path()).expect("unlock").key,
        keys.data_key
    );
    assert!(!dir.path().join(MACHINE_KEY_NEXT_FILE).exists());
    assert_eq!(
        keyring::unlock(dir.path()).expect("again").key,
        keys.data_key
    );
}

#[test]
fn a_staged_rekey_is_offered_until_promoted_or_dropped() {
    let (dir, keys) = setup();
    let new = DataKey::generate(&mut rng(11));
    keyring::stage_rekey(dir.path(), &keys.data_key, &new, &mut rng(12)).expect("stage");
    let u = keyring::unlock(dir.path()).expect("unlock");
    assert_eq!(
        (u.key, u.pending),
        (keys.data_key.clone(), Some(new.clone()))
    );
    keyring::promote_pending(dir.path()).expect("promote");
    let u = keyring::unlock(dir.path()).expect("unlock");
    assert_eq!((u.key, u.pending), (new, None));
    assert!(!keyring::status(dir.path()).expect("status").recovery);
}

#[test]
fn the_escrow_slot_opens_only_with_the_hospitals_identity() {
    let (dir, keys) = setup();
    let hospital = age::x25519::Identity::generate();
    let recipient = hospital.to_public().to_string();
    keyring::set_escrow(dir.path(), &keys.data_key, &recipient).expect("escrow");
    let sealed = keyring::escrow_sealed(dir.path())
        .expect("read")
        .expect("slot");
    use age::secrecy::ExposeSecret;
    let id = hospital.to_string();
    let k = parchi_keys::open_escrow(id.expose_secret(), &sealed).expect("open");
    assert_eq!(k, keys.data_key);
    let other = age::x25519::Identity::generate().to_string();
    assert!(parchi_keys::open_escrow(other.expose_secret(), &sealed).is_err());
    assert!(keyring::set_escrow(dir.path(), &keys.data_key, "age1notakey").is_err());
    // A rotation seals the escrow slot again to the same recipient.
    keyring::rewrap(dir.path(), &keys.data_key, None, &mut rng(3)).expect("rewrap");
    assert_eq!(
        keyring::status(dir.path()).expect("st").escrow_recipient,
        Some(recipient)
    );
}
