//! Backups and restore through the real binary: nothing in clear in a backup or anywhere under
//! the data directory, verify with the hospital's key and with the recovery key, tampered,
//! truncated and wrongly keyed backups refused, and the restore drill. The hub's append-only
//! store is `hub_backups.rs`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use age::secrecy::ExposeSecret;

use crate::at_rest::{PATIENTS, assert_nothing_in_clear, register_all, with_stdin};
use crate::sync::Hub;
use crate::util::{PARCHI, Site, example_config};

/// The example configuration with `security.backup_recipient` set to a fresh key, whose
/// identity file is returned beside it.
pub(crate) struct Keys {
    dir: tempfile::TempDir,
    config: PathBuf,
    pub(crate) identity: PathBuf,
    pub(crate) recipient: String,
}

pub(crate) fn keys() -> Keys {
    let dir = tempfile::tempdir().expect("tmp");
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    let identity = dir.path().join("backup.key");
    std::fs::write(
        &identity,
        format!(
            "# created: test\n# public key: {recipient}\n{}\n",
            id.to_string().expose_secret()
        ),
    )
    .expect("identity");
    let mut cfg = std::fs::read_to_string(example_config()).expect("config");
    cfg.push_str(&format!(
        "\n[security]\nbackup_recipient = \"{recipient}\"\n"
    ));
    let config = dir.path().join("hospital.toml");
    std::fs::write(&config, cfg).expect("config");
    Keys {
        dir,
        config,
        identity,
        recipient,
    }
}

pub(crate) fn init(keys: &Keys, counter: &str) -> (Site, String) {
    let site = Site {
        dir: tempfile::tempdir().expect("tmp"),
    };
    let v = site.json(&[
        "init",
        "--config",
        keys.config.to_str().expect("utf8"),
        "--counter",
        counter,
    ]);
    let rk = v["recovery_key"].as_str().expect("recovery key").to_owned();
    (site, rk)
}

fn parchi(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(PARCHI);
    c.arg("--data").arg(dir).arg("--json").args(args);
    c.env_remove("PARCHI_DATA");
    c
}

pub(crate) fn verify(file: &Path, identity: &Path) -> std::process::Output {
    parchi(
        Path::new("/nonexistent"),
        &[
            "backup",
            "verify",
            file.to_str().expect("utf8"),
            "--identity",
        ],
    )
    .arg(identity)
    .output()
    .expect("verify")
}

fn error_code(out: &std::process::Output) -> String {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["error"]["code"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn backups_hold_nothing_in_clear_and_only_the_private_keys_open_them() {
    let keys = keys();
    let (site, rk) = init(&keys, "A");
    register_all(&site);
    let b = site.json(&["backup"]);
    assert_eq!(b["verified"], true, "{b}");
    let file = PathBuf::from(b["file"].as_str().expect("file"));
    assert!(file.starts_with(site.path().join("backups")), "{b}");
    assert_eq!(
        b["manifest"]["ops"]["count"].as_u64().map(|n| n > 0),
        Some(true)
    );
    assert_eq!(b["manifest"]["patients"], 3);
    let recipients = b["manifest"]["recipients"].as_array().expect("recipients");
    assert!(recipients.iter().any(|r| r == keys.recipient.as_str()));
    assert_eq!(
        recipients.len(),
        2,
        "the hospital's key and the recovery key"
    );
    // Held open while searching, so the WAL is there too; nothing under the data directory
    // (database, WAL, backups, temporary directory) holds a name or mobile.
    let held =
        parchi_app::Counter::open(site.path(), Box::new(parchi_app::SystemEnv)).expect("open");
    register_all(&site);
    site.json(&["backup"]);
    assert!(site.path().join("tmp").is_dir());
    assert_eq!(
        std::fs::read_dir(site.path().join("tmp"))
            .expect("tmp")
            .count(),
        0,
        "no snapshot left behind"
    );
    assert_nothing_in_clear(site.path());
    drop(held);

    let status = site.json(&["backup", "status"]);
    assert_eq!(status["verified"], true, "{status}");
    assert!(
        status["at"].as_str().is_some_and(|t| t.len() == 5),
        "{status}"
    );

    // The hospital's key opens it, and so does the recovery key.
    let ok = verify(&file, &keys.identity);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("json");
    assert_eq!(v["integrity"], "ok");
    assert_eq!(v["ops"], b["manifest"]["ops"]["count"]);
    let out = with_stdin(
        parchi(
            Path::new("/nonexistent"),
            &[
                "backup",
                "verify",
                file.to_str().expect("utf8"),
                "--recovery",
            ],
        ),
        &format!("{rk}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Another key is refused.
    let other = keys_dir_identity(&keys.dir);
    let out = verify(&file, &other);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(error_code(&out), "wrong_key");

    // Tampered: a ciphertext byte, a manifest byte; truncated.
    let bytes = std::fs::read(&file).expect("read");
    let bad = keys.dir.path().join("bad.pbak");
    let mut flipped = bytes.clone();
    let at = flipped.len() - 1000;
    flipped[at] ^= 0x40;
    std::fs::write(&bad, &flipped).expect("write");
    let out = verify(&bad, &keys.identity);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        error_code(&out),
        "backup_tampered",
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut forged = bytes.clone();
    let at = forged
        .windows(10)
        .position(|w| w == b"\"patients\"")
        .expect("manifest");
    forged[at + 11] = b'9';
    std::fs::write(&bad, &forged).expect("write");
    let out = verify(&bad, &keys.identity);
    assert_eq!(error_code(&out), "backup_tampered");
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).expect("write");
    let out = verify(&bad, &keys.identity);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(error_code(&out), "backup_truncated");
    let text: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert!(
        text["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("truncated")),
        "{text}"
    );
    std::fs::write(&bad, b"not a backup").expect("write");
    assert_eq!(error_code(&verify(&bad, &keys.identity)), "not_a_backup");
}

fn keys_dir_identity(dir: &tempfile::TempDir) -> PathBuf {
    let p = dir.path().join("other.key");
    let id = age::x25519::Identity::generate();
    std::fs::write(&p, id.to_string().expose_secret()).expect("other");
    p
}

fn register(site: &Site, name: &str, mobile: &str) -> serde_json::Value {
    site.json(&[
        "register",
        "--name",
        name,
        "--sex",
        "M",
        "--age",
        "41",
        "--mobile",
        mobile,
        "--department",
        "MED",
    ])
}

#[test]
fn restore_drill_a_counter_destroyed_mid_day_comes_back_from_its_backup_and_the_hub() {
    let keys = keys();
    let hub = Hub::start(None);
    let (a, rk) = init(&keys, "A");
    hub.enroll(&a);
    let usb = tempfile::tempdir().expect("usb");
    let mut issued: Vec<serde_json::Value> = Vec::new();
    issued.push(register(&a, "Ramesh Paswan", "9431100001"));
    issued.push(register(&a, "Sita Devi Manjhi", "9431100002"));
    a.json(&["sync"]);
    // Registered but not yet pushed when the backup is taken.
    issued.push(register(&a, "Kamla Oraon", "9431100003"));
    let b = a.json(&["backup", "--to", usb.path().to_str().expect("utf8")]);
    let file = PathBuf::from(b["file"].as_str().expect("file"));
    // After the backup: registered and synced, so the hub has it.
    issued.push(register(&a, "Bhola Mahto", "9431100004"));
    a.json(&["sync"]);
    let old_site = a.json(&["status"]);

    // Mid-day the PC is lost: its data directory is destroyed.
    let old_dir = a.path().to_owned();
    drop(a);
    assert!(!old_dir.exists());

    // A wrong recovery key is refused and leaves the new directory empty.
    let new = Site {
        dir: tempfile::tempdir().expect("new pc"),
    };
    let (_, other_rk) = init(&keys, "B");
    let out = with_stdin(
        parchi(
            new.path(),
            &["restore", file.to_str().expect("utf8"), "--recovery"],
        ),
        &format!("{other_rk}\n"),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(error_code(&out), "wrong_key");
    assert_eq!(
        std::fs::read_dir(new.path()).expect("ls").count(),
        0,
        "nothing kept"
    );

    // The recovery key restores it.
    let out = with_stdin(
        parchi(
            new.path(),
            &["restore", file.to_str().expect("utf8"), "--recovery"],
        ),
        &format!("{rk}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(r["patients"], 3, "{r}");
    assert_eq!(
        r["inherited_pending"].as_u64().map(|n| n > 0),
        Some(true),
        "{r}"
    );
    assert_ne!(r["site"], r["old_site"], "a new site identity");
    assert_eq!(r["old_site"], old_site["site_id"], "{old_site}");
    assert_ne!(
        r["recovery_key"].as_str(),
        Some(rk.as_str()),
        "a new recovery key"
    );
    let again = with_stdin(
        parchi(
            new.path(),
            &["restore", file.to_str().expect("utf8"), "--recovery"],
        ),
        &format!("{rk}\n"),
    );
    assert!(!again.status.success(), "never over an installation");

    // Enrolled afresh, it pulls what the old site synced after the backup, and pushes what the
    // old site had not, with the old site's credential.
    hub.enroll(&new);
    let s = new.json(&["sync"]);
    assert!(s.is_object(), "{s}");
    let st = new.json(&["status"]);
    assert_eq!(st["patients"], 4, "nothing synced is lost: {st}");
    assert_eq!(new.json(&["sync", "--status"])["pending"], 0);
    for reg in &issued {
        let t = reg["temp_id"].as_str().expect("temp id");
        let shown = new.json(&["show", t]);
        assert!(shown.to_string().contains(t), "{t} resolves");
    }

    // It keeps registering: no token and no temporary ID repeats.
    let more = register(&new, "Gita Kumari Ram", "9431100005");
    let mut tokens: BTreeSet<String> = issued
        .iter()
        .map(|r| r["token"].as_str().unwrap_or_default().to_owned())
        .collect();
    let mut temps: BTreeSet<String> = issued
        .iter()
        .map(|r| r["temp_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        tokens.insert(more["token"].as_str().expect("token").to_owned()),
        "{more}"
    );
    assert!(
        temps.insert(more["temp_id"].as_str().expect("temp").to_owned()),
        "{more}"
    );
    new.json(&["sync"]);
    let b2 = new.json(&["backup"]);
    assert_eq!(b2["manifest"]["site"], r["site"]);
    assert!(
        verify(
            Path::new(b2["file"].as_str().expect("file")),
            &keys.identity
        )
        .status
        .success()
    );
    let _ = PATIENTS;
}

#[test]
fn a_hub_backs_itself_up_and_restores_onto_a_new_machine_with_its_devices() {
    let keys = keys();
    let hub_dir = tempfile::tempdir().expect("hub");
    let (mut child, url) = crate::at_rest::serve(hub_dir.path());
    let admin = |args: &[&str]| {
        let out = Command::new(PARCHI)
            .arg("--json")
            .args(args)
            .args(["--hub", &url, "--hub-data"])
            .arg(hub_dir.path())
            .output()
            .expect("admin");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")
    };
    let (a, _) = init(&keys, "A");
    let code = admin(&["hub", "enroll-code"]);
    a.json(&[
        "enroll",
        "--hub",
        &url,
        "--code",
        code["code"].as_str().expect("code"),
    ]);
    register_all(&a);
    a.json(&["sync"]);
    let device = crate::hub_backups::device_client_at(&a, &url, &admin(&["hub", "enroll-code"]));
    let _ = child.kill();
    let _ = child.wait();

    // The hub's own backup (what `serve --backup-dir` runs on its schedule).
    let out_dir = tempfile::tempdir().expect("backups");
    let key = parchi_hub::keys::data_key(hub_dir.path()).expect("key");
    let storage =
        parchi_hub::SqliteStorage::open(&hub_dir.path().join(parchi_hub::SQLITE_FILE), &key)
            .expect("open");
    let to = parchi_hub::snapshot::HubBackup::new(
        out_dir.path().to_owned(),
        std::time::Duration::from_secs(900),
        vec![keys.recipient.clone()],
    );
    let (file, manifest) =
        parchi_hub::snapshot::backup_now(&storage, hub_dir.path(), &to, 1_780_300_800_000)
            .expect("hub backup");
    drop(storage);
    assert_eq!(manifest.kind, "hub");
    assert!(manifest.ops.count > 0);
    assert_nothing_in_clear(out_dir.path());
    let v = verify(&file, &keys.identity);
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));

    // Onto a new machine: restored with the hospital's key, it serves the counter as before.
    let new_dir = tempfile::tempdir().expect("new hub");
    let out = parchi(
        new_dir.path(),
        &["restore", file.to_str().expect("utf8"), "--identity"],
    )
    .arg(&keys.identity)
    .output()
    .expect("restore");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(r["ops"], manifest.ops.count);
    let (mut child, new_url) = crate::at_rest::serve(new_dir.path());
    assert!(new_url.len() > "http://".len(), "the restored hub starts");
    // The counter's credential is still good there, and every op is back.
    let device = parchi_sync::HubClient::new(&new_url, parchi_sync::ClientConfig::default())
        .expect("client")
        .with_token(device.token().expect("token").to_owned());
    let page = device.pull(0, 10_000).expect("pull from the restored hub");
    assert_eq!(page.ops.len() as u64, manifest.ops.count);
    // A's device key came back pinned with the hub's database: a backup of A's site signed by
    // another key is still refused there.
    let own = a.json(&["backup"]);
    let work = tempfile::tempdir().expect("work");
    let forged =
        crate::hub_backups::forge(Path::new(own["file"].as_str().expect("file")), work.path());
    let e = device.upload_backup(&forged).expect_err("another key");
    assert_eq!(
        e.code(),
        Some(parchi_sync::wire::ErrorCode::Forbidden),
        "{e}"
    );
    assert!(e.to_string().contains("pinned"), "{e}");
    let _ = child.kill();
    let _ = child.wait();
    assert_nothing_in_clear(new_dir.path());
}
