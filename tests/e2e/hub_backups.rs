//! The hub's append-only store of backups through the real binaries: a counter's credential
//! can upload but never overwrite or delete, another site's backup and garbage are refused, and
//! a backup of the site signed by another device key than the one pinned for it is refused.

use std::path::{Path, PathBuf};

use crate::at_rest::register_all;
use crate::backup::{Keys, init, keys, verify};
use crate::sync::Hub;
use crate::util::Site;

/// A second credential of `site`'s own site (as good as the one inside its store).
fn device_client(site: &Site, hub: &Hub) -> parchi_sync::HubClient {
    device_client_at(site, &hub.url, &hub.admin(&["hub", "enroll-code"]))
}

pub(crate) fn device_client_at(
    site: &Site,
    url: &str,
    code: &serde_json::Value,
) -> parchi_sync::HubClient {
    let site_id: parchi_core::SiteId = site.json(&["status"])["site_id"]
        .as_str()
        .expect("site id")
        .parse()
        .expect("uuid");
    let client =
        parchi_sync::HubClient::new(url, parchi_sync::ClientConfig::default()).expect("client");
    let enrolled = client
        .enroll(code["code"].as_str().expect("code"), site_id, None)
        .expect("enrol");
    client.with_token(enrolled.token)
}

fn append_only(hub: &Hub, keys: &Keys) {
    let work = tempfile::tempdir().expect("work");
    let (a, _) = init(keys, "A");
    let (b, _) = init(keys, "B");
    hub.enroll(&a);
    hub.enroll(&b);
    register_all(&a);
    let up = a.json(&["backup", "--hub"]);
    let id = up["hub"]["id"].as_str().expect("hub id").to_owned();
    assert_eq!(up["hub"]["duplicate"], false, "{up}");
    assert_eq!(a.json(&["backup", "status"])["hub_id"], id.as_str());
    let file = PathBuf::from(up["file"].as_str().expect("file"));
    let client = device_client(&a, hub);
    // The same bytes again: a duplicate, nothing new.
    let again = client.upload_backup(&file).expect("again");
    assert!(again.duplicate);
    assert_eq!(again.entry.id, id);
    // Never overwritten, never deleted: 403, and the file stays as it was.
    let before = hub.admin(&["hub", "backups", "list"]);
    let e = client.delete_backup(&id).expect_err("delete");
    assert_eq!(
        e.code(),
        Some(parchi_sync::wire::ErrorCode::Forbidden),
        "{e}"
    );
    let e = client.overwrite_backup(&id, b"ransom").expect_err("put");
    assert_eq!(
        e.code(),
        Some(parchi_sync::wire::ErrorCode::Forbidden),
        "{e}"
    );
    assert!(matches!(
        e,
        parchi_sync::ClientError::Hub { status: 403, .. }
    ));
    // Nor does the admin's credential delete one (only prune does).
    let admin_secret =
        std::fs::read_to_string(hub.dir.path().join("admin.secret")).unwrap_or_default();
    let admin_client = parchi_sync::HubClient::new(&hub.url, parchi_sync::ClientConfig::default())
        .expect("client")
        .with_token(admin_secret.trim());
    assert!(matches!(
        admin_client.delete_backup(&id),
        Err(parchi_sync::ClientError::Hub { status: 403, .. })
    ));
    // Another counter's backup under this credential, and garbage: refused.
    let b_backup = b.json(&["backup"]);
    let e = client
        .upload_backup(Path::new(b_backup["file"].as_str().expect("file")))
        .expect_err("another site");
    assert_eq!(
        e.code(),
        Some(parchi_sync::wire::ErrorCode::ForbiddenSite),
        "{e}"
    );
    let junk = work.path().join("junk.pbak");
    std::fs::write(&junk, b"parchi-backup/1\n{}\n").expect("junk");
    assert!(matches!(
        client.upload_backup(&junk),
        Err(parchi_sync::ClientError::Hub { status: 400, .. })
    ));
    assert_eq!(
        hub.admin(&["hub", "backups", "list"]),
        before,
        "nothing changed"
    );
    // The admin downloads it intact, and prunes by retention.
    let down = work.path().join("down.pbak");
    hub.admin(&[
        "hub",
        "backups",
        "download",
        &id,
        "--out",
        down.to_str().expect("utf8"),
    ]);
    assert_eq!(std::fs::read(&down).ok(), std::fs::read(&file).ok());
    assert!(verify(&down, &keys.identity).status.success());
    let kept = hub.admin(&[
        "hub",
        "backups",
        "prune",
        "--keep-days",
        "0",
        "--keep-last",
        "1",
    ]);
    assert_eq!(kept["removed"].as_array().map(Vec::len), Some(0), "{kept}");
    let pruned = hub.admin(&[
        "hub",
        "backups",
        "prune",
        "--keep-days",
        "0",
        "--keep-last",
        "0",
    ]);
    assert_eq!(pruned["removed"][0], id.as_str(), "{pruned}");
    assert_eq!(
        hub.admin(&["hub", "backups", "list"])["backups"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
}

#[test]
fn a_counter_credential_can_upload_but_never_overwrite_or_delete_hub_backups() {
    let keys = keys();
    let hub = Hub::start(None);
    append_only(&hub, &keys);
    if let Ok(url) = std::env::var("PARCHI_TEST_PG") {
        let schema = format!("backups_{}", std::process::id());
        let pg = Hub::start(Some((&url, &schema)));
        append_only(&pg, &keys);
    }
}

/// `backup` with its manifest re-signed by a key of an attacker's own: a store fabricated
/// under the same site ID, written into `dir`.
pub(crate) fn forge(backup: &Path, dir: &Path) -> PathBuf {
    let bytes = std::fs::read(backup).expect("read");
    let mut manifest = parchi_keys::backup::read_header(&mut &bytes[..]).expect("the backup reads");
    let mut seed = 7u8;
    let forger = parchi_keys::DeviceKey::generate(&mut |b: &mut [u8]| {
        for x in b {
            seed = seed.wrapping_mul(31).wrapping_add(17);
            *x = seed;
        }
    });
    manifest.signing_key = forger
        .public()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    manifest.created_ms += 1;
    let mut forged = std::io::Cursor::new(bytes);
    parchi_keys::backup::write_header(&mut forged, &manifest, &forger).expect("re-signed");
    let file = dir.join("forged.pbak");
    std::fs::write(&file, forged.into_inner()).expect("write");
    file
}

#[test]
fn a_backup_of_the_site_signed_by_another_device_key_is_refused() {
    let keys = keys();
    let hub = Hub::start(None);
    let (a, _) = init(&keys, "A");
    hub.enroll(&a);
    let up = a.json(&["backup", "--hub"]);
    assert_eq!(up["hub"]["duplicate"], false, "{up}");
    // The same payload, its manifest re-signed by a key of the attacker's own: a store
    // fabricated under A's site ID, uploaded with a credential of A's.
    let work = tempfile::tempdir().expect("work");
    let file = forge(Path::new(up["file"].as_str().expect("file")), work.path());
    let forged_key = parchi_keys::backup::read_file_manifest(&file)
        .expect("forged header")
        .signing_key;
    // With the device's key as the signer, verify refuses it from its signed header before
    // decrypting anything (a store fabricated whole, its own key inside, would otherwise
    // verify), and still passes A's own backup.
    let device_key = a.json(&["key", "status"])["signing_public_key"]
        .as_str()
        .expect("key")
        .to_owned();
    let real = PathBuf::from(up["file"].as_str().expect("file"));
    let with_signer = |f: &Path| {
        std::process::Command::new(crate::util::PARCHI)
            .args(["backup", "verify", f.to_str().expect("utf8"), "--identity"])
            .arg(&keys.identity)
            .args(["--signer", &device_key])
            .output()
            .expect("verify")
    };
    assert!(with_signer(&real).status.success(), "A's own backup");
    let out = with_signer(&file);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not made by that device"));
    // The same with the key the hub pinned for A's site, looked up by the admin's `--hub`.
    let with_pin = |f: &Path| {
        std::process::Command::new(crate::util::PARCHI)
            .args(["backup", "verify", f.to_str().expect("utf8"), "--identity"])
            .arg(&keys.identity)
            .args(["--hub", &hub.url, "--hub-data"])
            .arg(hub.dir.path())
            .output()
            .expect("verify")
    };
    let out = with_pin(&real);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = with_pin(&file);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not made by that device"));
    let before = hub.admin(&["hub", "backups", "list"]);
    let e = device_client(&a, &hub)
        .upload_backup(&file)
        .expect_err("another key");
    assert_eq!(
        e.code(),
        Some(parchi_sync::wire::ErrorCode::Forbidden),
        "{e}"
    );
    assert!(e.to_string().contains("pinned"), "{e}");
    assert_eq!(
        hub.admin(&["hub", "backups", "list"]),
        before,
        "nothing stored"
    );
    // Enrolling A's site again with the forger's key is refused before the code is spent.
    let site_id: parchi_core::SiteId = a.json(&["status"])["site_id"]
        .as_str()
        .expect("site id")
        .parse()
        .expect("uuid");
    let code = hub.admin(&["hub", "enroll-code"]);
    let code = code["code"].as_str().expect("code");
    let client =
        parchi_sync::HubClient::new(&hub.url, parchi_sync::ClientConfig::default()).expect("c");
    let e = client
        .enroll_signed(code, site_id, None, Some(forged_key.clone()))
        .expect_err("another key for a pinned site");
    assert_eq!(
        e.code(),
        Some(parchi_sync::wire::ErrorCode::Forbidden),
        "{e}"
    );
    client
        .enroll(code, site_id, None)
        .expect("the code still works");
    // A's own next backup still goes in.
    register_all(&a);
    let again = a.json(&["backup", "--hub"]);
    assert_eq!(again["hub"]["duplicate"], false, "{again}");
}
