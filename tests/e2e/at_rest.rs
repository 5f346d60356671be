//! Data at rest, through the real binary: nothing in clear under the data directory (database,
//! WAL, shared memory, kept slips), the hub's SQLite store encrypted too, a wrong or missing
//! key refused with nothing changed, the recovery key opening a copy on a new machine, key
//! rotation and rekey.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::util::{PARCHI, Site, example_config};

pub(crate) const PATIENTS: &[(&str, &str)] = &[
    ("Parvati Kumari Mahto", "9430011223"),
    ("Mohammed Irfan Ansari", "8210044556"),
    ("Sunaina Oraon", "7004077889"),
];

pub(crate) fn register_all(site: &Site) -> Vec<serde_json::Value> {
    PATIENTS
        .iter()
        .map(|(name, mobile)| {
            site.json(&[
                "register",
                "--name",
                name,
                "--sex",
                "F",
                "--age",
                "33",
                "--mobile",
                mobile,
                "--department",
                "MED",
            ])
        })
        .collect()
}

pub(crate) fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("ls").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            let b = std::fs::read(&p).unwrap_or_default();
            out.push((p, b));
        }
    }
    out.sort();
    out
}

pub(crate) fn assert_nothing_in_clear(dir: &Path) {
    let all = files(dir);
    assert!(!all.is_empty());
    for (path, bytes) in &all {
        for (name, mobile) in PATIENTS {
            for needle in name.split(' ').chain([*mobile]) {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{} holds {needle:?} in clear",
                    path.display()
                );
            }
        }
        assert!(
            !bytes.starts_with(b"%PDF"),
            "{} is a PDF in clear",
            path.display()
        );
    }
}

pub(crate) fn with_stdin(mut cmd: Command, input: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(mut s) = child.stdin.take() {
        s.write_all(input.as_bytes()).expect("stdin");
    }
    child.wait_with_output().expect("wait")
}

fn unlock(dir: &Path, key: &str) -> std::process::Output {
    let mut c = Command::new(PARCHI);
    c.arg("--data")
        .arg(dir)
        .args(["--json", "unlock", "--recovery"]);
    c.env_remove("PARCHI_DATA");
    with_stdin(c, &format!("{key}\n"))
}

fn copy_without_machine_key(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().expect("tmp");
    for (p, b) in files(from) {
        let rel = p.strip_prefix(from).expect("rel");
        if rel == Path::new("machine.key") {
            continue;
        }
        let dest = to.path().join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(dest, b).expect("write");
    }
    to
}

fn init_json(dir: &Path, pdf: Option<&Path>) -> serde_json::Value {
    let mut c = Command::new(PARCHI);
    c.arg("--data")
        .arg(dir)
        .args(["--json", "init", "--counter", "A", "--config"]);
    c.arg(example_config());
    if let Some(p) = pdf {
        c.arg("--recovery-pdf").arg(p);
    }
    c.env_remove("PARCHI_DATA");
    let out = c.output().expect("init");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn nothing_under_the_data_directories_holds_a_name_mobile_or_slip_in_clear() {
    let site = Site::init("A");
    // Held open here so the WAL and shared-memory files stay on disk to be searched.
    let held =
        parchi_app::Counter::open(site.path(), Box::new(parchi_app::SystemEnv)).expect("open");
    let regs = register_all(&site);
    let visit = regs[0]["visit_id"].as_str().expect("visit");
    let out = site.run(&["print", visit, "--printer", "NO_SUCH_PRINTER"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("encrypted store") && err.contains("--kept"),
        "{err}"
    );
    // An admin's FHIR export into the data directory is sealed too (to the recovery key made
    // at init, as no hospital backup key is configured here).
    let fhir = site.path().join("fhir-export");
    let summary = site.json(&["export-fhir", "--out", fhir.to_str().expect("utf8")]);
    assert!(!summary["bundles"].as_array().expect("bundles").is_empty());
    assert!(site.path().join("parchi.db-wal").exists());
    assert_nothing_in_clear(site.path());
    drop(held);
    assert_nothing_in_clear(site.path());

    // The kept slip comes back out only when asked, where asked.
    let out_dir = tempfile::tempdir().expect("out");
    let pdf = out_dir.path().join("kept.pdf");
    site.json(&[
        "slip",
        visit,
        "--kept",
        "--out",
        pdf.to_str().expect("utf8"),
    ]);
    assert!(std::fs::read(&pdf).expect("pdf").starts_with(b"%PDF"));

    // The hub's SQLite store, while it runs (its WAL on disk) and after.
    let hub = crate::sync::Hub::start(None);
    hub.enroll(&site);
    site.json(&["sync"]);
    assert!(
        files(hub.dir.path())
            .iter()
            .any(|(p, _)| p.ends_with("hub.sqlite3-wal"))
    );
    assert_nothing_in_clear(hub.dir.path());
    assert!(
        hub.dir.path().join("keys.json").exists() && hub.dir.path().join("machine.key").exists()
    );
}

#[test]
fn a_wrong_or_missing_machine_key_is_refused_clearly_and_changes_nothing() {
    let site = Site::init("A");
    register_all(&site);
    let other = Site::init("B");
    let machine = site.path().join("machine.key");
    let mine = std::fs::read(&machine).expect("mine");
    std::fs::copy(other.path().join("machine.key"), &machine).expect("foreign key");
    let before = files(site.path());
    let out = site.run(&["search", "Oraon"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not open") && err.contains("parchi unlock --recovery"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(files(site.path()), before, "nothing changed");

    std::fs::remove_file(&machine).expect("rm");
    let before = files(site.path());
    let (code, v) = site.json_err(&["search", "Oraon"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["code"], "no_machine_key", "{v}");
    assert_eq!(files(site.path()), before, "nothing changed");

    std::fs::write(&machine, mine).expect("put back");
    assert_eq!(
        site.json(&["search", "Oraon"]).as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn the_recovery_key_opens_a_copy_without_machine_key_and_a_wrong_one_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let sheet = dir.path().join("recovery.pdf");
    let init = init_json(&data, Some(&sheet));
    let key = init["recovery_key"]
        .as_str()
        .expect("recovery key")
        .to_owned();
    assert_eq!(key.len(), 64);
    let reg = Command::new(PARCHI)
        .arg("--data")
        .arg(&data)
        .args([
            "--json",
            "register",
            "--name",
            PATIENTS[2].0,
            "--sex",
            "F",
            "--age",
            "20",
            "--department",
            "MED",
        ])
        .output()
        .expect("register");
    assert!(
        reg.status.success(),
        "{}",
        String::from_utf8_lossy(&reg.stderr)
    );

    // The sheet: the key as text and as a QR code.
    let text = Command::new("pdftotext")
        .arg(&sheet)
        .arg("-")
        .output()
        .expect("pdftotext");
    let text = String::from_utf8_lossy(&text.stdout).replace(char::is_whitespace, "");
    assert!(
        text.contains(&key.replace('-', "")),
        "the key is printed on the sheet"
    );
    let png = dir.path().join("sheet");
    let r = Command::new("pdftoppm")
        .args(["-r", "150", "-png", "-singlefile"])
        .arg(&sheet)
        .arg(&png)
        .status()
        .expect("pdftoppm");
    assert!(r.success());
    let z = Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(png.with_extension("png"))
        .output()
        .expect("zbarimg");
    assert_eq!(
        String::from_utf8_lossy(&z.stdout).trim(),
        key,
        "the QR code holds the key"
    );

    let copy = copy_without_machine_key(&data);
    let before = files(copy.path());
    let other = init_json(&dir.path().join("other"), None);
    let wrong = unlock(copy.path(), other["recovery_key"].as_str().expect("k"));
    assert_eq!(
        wrong.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    assert!(String::from_utf8_lossy(&wrong.stdout).contains("wrong_key"));
    let typo = unlock(
        copy.path(),
        &key.replacen(&key[..1], if &key[..1] == "A" { "B" } else { "A" }, 1),
    );
    assert_eq!(typo.status.code(), Some(2), "a typo is bad input");
    assert!(String::from_utf8_lossy(&typo.stderr).contains("typo"));
    assert_eq!(files(copy.path()), before, "nothing changed");

    let ok = unlock(copy.path(), &key);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let found = Command::new(PARCHI)
        .arg("--data")
        .arg(copy.path())
        .args(["--json", "search", "Sunaina"])
        .output()
        .expect("search");
    assert!(found.status.success());
    let hits: serde_json::Value = serde_json::from_slice(&found.stdout).expect("json");
    assert_eq!(hits.as_array().map(Vec::len), Some(1));
    assert!(copy.path().join("machine.key").exists());
}

#[test]
fn rotate_and_rekey_keep_the_data_and_the_old_keys_no_longer_open_it() {
    let site = Site::init("A");
    register_all(&site);
    let saved = tempfile::tempdir().expect("saved");
    for f in ["keys.json", "machine.key"] {
        std::fs::copy(site.path().join(f), saved.path().join(f)).expect("save");
    }
    let st = site.json(&["key", "status"]);
    assert_eq!(st["machine"], "file");
    assert_eq!(st["recovery"], true);

    let r1 = site.json(&["key", "rotate"]);
    let k1 = r1["recovery_key"].as_str().expect("k1").to_owned();
    assert_eq!(r1["key_id"], st["key_id"], "the data key stays");
    let r2 = site.json(&["key", "rotate", "--rekey"]);
    let k2 = r2["recovery_key"].as_str().expect("k2").to_owned();
    assert_ne!(r2["key_id"], st["key_id"], "a new data key");
    assert_eq!(
        site.json(&["search", "Mahto"]).as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(site.patient_count(), 3);

    // The old slots (and their machine key) no longer open the data.
    let old = copy_without_machine_key(site.path());
    for f in ["keys.json", "machine.key"] {
        std::fs::copy(saved.path().join(f), old.path().join(f)).expect("old back");
    }
    let out = Command::new(PARCHI)
        .arg("--data")
        .arg(old.path())
        .args(["search", "Mahto"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("corrupt"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The first rotation's recovery key no longer opens a copy; the last one does.
    let copy = copy_without_machine_key(site.path());
    assert_eq!(unlock(copy.path(), &k1).status.code(), Some(1));
    assert!(unlock(copy.path(), &k2).status.success());
}

pub(crate) fn serve(dir: &Path) -> (Child, String) {
    let mut child = Command::new(PARCHI)
        .arg("--data")
        .arg(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("address");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_default()
        .to_owned();
    (child, format!("http://{addr}"))
}

#[test]
fn the_hub_prints_a_recovery_key_once_and_unlocks_with_it_on_a_new_machine() {
    let dir = tempfile::tempdir().expect("hub");
    let out = Command::new(PARCHI)
        .arg("--data")
        .arg(dir.path())
        .args(["serve", "--init-keys"])
        .output()
        .expect("init keys");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let key = text
        .split_whitespace()
        .find(|w| w.len() == 64 && w.matches('-').count() == 12)
        .expect("the recovery key is printed")
        .to_owned();
    let again = Command::new(PARCHI)
        .arg("--data")
        .arg(dir.path())
        .args(["serve", "--init-keys"])
        .output()
        .expect("again");
    assert!(!again.status.success(), "a second --init-keys is refused");

    let (mut hub, _url) = serve(dir.path());
    let _ = hub.kill();
    let _ = hub.wait();
    std::fs::remove_file(dir.path().join("machine.key")).expect("rm");
    let (mut refused, url) = serve(dir.path());
    assert!(
        url == "http://",
        "a hub without its machine key does not start"
    );
    let _ = refused.wait();
    let ok = unlock(dir.path(), &key);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let (mut hub, url) = serve(dir.path());
    assert!(url.len() > "http://".len(), "the hub starts again");
    let _ = hub.kill();
    let _ = hub.wait();
}
