//! The page format on real files: databases of earlier versions (HMAC-SHA512 pages) open as they
//! are, convert once to the current format (HMAC-SHA256) with every row kept, crash-safely, and
//! a wrong key changes nothing.

use std::path::Path;

use parchi_keys::DataKey;
use parchi_keys::sqlcipher::{self, CipherError, Format};
use rusqlite::{Connection, OpenFlags};

const SECRET_ROW: &str = "Zeenat Parveen 9812345670";
const ROWS: i64 = 3_000;

fn key(b: u8) -> DataKey {
    DataKey::from_bytes(&[b; 32]).expect("key")
}

fn rw() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

/// Writes a database as an earlier version did: SQLCipher 4's defaults (HMAC-SHA512), keyed
/// with `k`, the page size given, WAL, `ROWS` rows and one that must never be readable.
fn write_legacy(path: &Path, k: &DataKey, page_size: Option<u32>) {
    let c = Connection::open(path).expect("open");
    c.execute_batch(&format!("PRAGMA key = {}", k.pragma_literal().as_str()))
        .expect("key");
    if let Some(p) = page_size {
        c.execute_batch(&format!("PRAGMA cipher_page_size = {p}"))
            .expect("page size");
    }
    c.execute_batch(
        "PRAGMA cipher_hmac_algorithm = HMAC_SHA512; PRAGMA journal_mode = WAL;
         CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);
         CREATE INDEX t_v ON t (v); PRAGMA user_version = 7;",
    )
    .expect("schema");
    c.execute_batch("BEGIN").expect("begin");
    for i in 0..ROWS {
        c.execute("INSERT INTO t (v) VALUES (?1)", [format!("row {i:05}")])
            .expect("row");
    }
    c.execute("INSERT INTO t (v) VALUES (?1)", [SECRET_ROW])
        .expect("secret row");
    c.execute_batch("COMMIT").expect("commit");
}

fn contains(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn dir_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .expect("ls")
        .flatten()
        .map(|e| {
            let p = e.path();
            (
                p.display().to_string(),
                std::fs::read(&p).unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Opens `path` in exactly one format, as a raw connection would.
fn reads_as(path: &Path, k: &DataKey, page_size: Option<u32>, hmac: &str) -> bool {
    let c = Connection::open_with_flags(path, rw()).expect("open");
    c.execute_batch(&format!("PRAGMA key = {}", k.pragma_literal().as_str()))
        .expect("key");
    if let Some(p) = page_size {
        c.execute_batch(&format!("PRAGMA cipher_page_size = {p}"))
            .expect("page size");
    }
    c.execute_batch(&format!("PRAGMA cipher_hmac_algorithm = {hmac}"))
        .expect("hmac");
    c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
        .is_ok()
}

fn check_converted(page_size: Option<u32>) {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.db");
    write_legacy(&db, &key(1), page_size);
    assert!(reads_as(&db, &key(1), page_size, "HMAC_SHA512"), "legacy");
    assert!(!reads_as(&db, &key(1), page_size, "HMAC_SHA256"));

    // Read as it is (a backup of an earlier version): nothing converted.
    let before = dir_files(dir.path());
    let (c, format) = sqlcipher::open(&db, rw(), &key(1), page_size).expect("open legacy");
    assert_eq!(format, Format::Legacy);
    let n: i64 = c
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, ROWS + 1);
    drop(c);
    assert_eq!(dir_files(dir.path()), before, "reading converts nothing");

    // A wrong key: refused, and nothing on disk changes.
    let e = sqlcipher::open_current(&db, &key(2), page_size).expect_err("wrong key");
    assert!(matches!(e, CipherError::WrongKey), "{e}");
    assert_eq!(dir_files(dir.path()), before, "a wrong key changes nothing");

    // Opened to write: converted once, every row and the schema's version kept.
    let c = sqlcipher::open_current(&db, &key(1), page_size).expect("convert");
    let (n, v, secret): (i64, i64, i64) = c
        .query_row(
            "SELECT count(*), (SELECT user_version FROM pragma_user_version), \
             (SELECT count(*) FROM t WHERE v = ?1) FROM t",
            [SECRET_ROW],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("rows");
    assert_eq!((n, v, secret), (ROWS + 1, 7, 1));
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(ok, "ok");
    drop(c);
    assert!(reads_as(&db, &key(1), page_size, "HMAC_SHA256"), "current");
    assert!(!reads_as(&db, &key(1), page_size, "HMAC_SHA512"));
    for (name, bytes) in dir_files(dir.path()) {
        assert!(!name.contains(".encrypt"), "{name} left behind");
        assert!(
            !contains(&bytes, SECRET_ROW),
            "{name} holds the row in clear"
        );
    }
    let (_, format) = sqlcipher::open(&db, rw(), &key(1), page_size).expect("reopen");
    assert_eq!(format, Format::Current, "converted once, not again");
}

#[test]
fn a_legacy_counter_store_converts_once_with_every_row() {
    check_converted(None);
}

#[test]
fn a_legacy_hub_database_with_64_kib_pages_converts_once_with_every_row() {
    check_converted(Some(65_536));
}

#[test]
fn a_conversion_cut_after_its_copy_is_finished_at_the_next_open() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("store.db");
    write_legacy(&db, &key(1), None);
    // The crash: the converted copy is complete, the legacy file not yet replaced.
    {
        // CREATE: the ATTACHed copy inherits the flags.
        let flags = rw() | OpenFlags::SQLITE_OPEN_CREATE;
        let (c, _) = sqlcipher::open(&db, flags, &key(1), None).expect("legacy");
        sqlcipher::export(&c, &dir.path().join("store.db.encrypted"), &key(1), None)
            .expect("export");
    }
    let c = sqlcipher::open_current(&db, &key(1), None).expect("finishes");
    let n: i64 = c
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, ROWS + 1);
    drop(c);
    assert!(reads_as(&db, &key(1), None, "HMAC_SHA256"));
    assert!(!dir.path().join("store.db.encrypted").exists());
}

#[test]
fn new_files_exports_and_rekeys_are_in_the_current_format() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("new.db");
    let c = sqlcipher::open_current(&db, &key(1), None).expect("create");
    c.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('x')",
    )
    .expect("write");
    let snap = dir.path().join("snap.db");
    sqlcipher::export(&c, &snap, &key(3), None).expect("export");
    sqlcipher::rekey(&c, &db, &key(4), None).expect("rekey");
    drop(c);
    assert!(
        reads_as(&db, &key(4), None, "HMAC_SHA256"),
        "rekeyed, current"
    );
    assert!(
        reads_as(&snap, &key(3), None, "HMAC_SHA256"),
        "snapshot, current"
    );
    assert!(!reads_as(&snap, &key(3), None, "HMAC_SHA512"));
}
