//! The page functions against OpenSSL's: the same bytes for the same inputs, databases written
//! by either read by the other, and an IV of its own for every page. One test: the provider is the process's.

use parchi_cipher::page;
use rusqlite::Connection;

/// A seeded xorshift: the inputs differ run to run only if the seed does.
struct Rng(u64);
impl Rng {
    fn fill(&mut self, b: &mut [u8]) {
        for x in b {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *x = self.0 as u8;
        }
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill(&mut v);
        v
    }
}

const KEY: &str = "PRAGMA cipher_log_level = NONE; PRAGMA key = \"x'2b7e151628aed2a6abf7158809cf4f3c762e7160f38b4da56a784d9045190cfe'\"; PRAGMA cipher_hmac_algorithm = HMAC_SHA256";

fn keyed(path: &std::path::Path) -> Connection {
    let c = Connection::open(path).expect("open");
    c.execute_batch(KEY).expect("key");
    c
}

fn rows(c: &Connection) -> rusqlite::Result<(i64, String)> {
    let n = c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
    let ok = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    Ok((n, ok))
}

fn write(c: &Connection, from: i64, rng: &mut Rng) {
    let tx = c.unchecked_transaction().expect("tx");
    for i in from..from + 2_000 {
        let blob = rng.bytes(40 + (i as usize % 300));
        tx.execute("INSERT INTO t VALUES (?1, ?2)", rusqlite::params![i, blob])
            .expect("insert");
    }
    tx.commit().expect("commit");
}

#[test]
fn the_page_functions_match_openssl_and_read_each_others_databases() {
    // Initialises SQLite, and with it SQLCipher's provider.
    drop(Connection::open_in_memory().expect("sqlite"));
    assert!(
        parchi_cipher::install(),
        "SQLCipher has a provider once SQLite is initialised"
    );
    assert!(parchi_cipher::installed());
    assert!(parchi_cipher::install(), "a second install changes nothing");

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for len in [0usize, 16, 32, 48, 128, 144, 4048, 65_488] {
        let key: [u8; 32] = rng.bytes(32).try_into().expect("32");
        let iv: [u8; 16] = rng.bytes(16).try_into().expect("16");
        let plain = rng.bytes(len);
        let theirs =
            parchi_cipher::openssl_cbc_for_tests(true, &key, &iv, &plain).expect("openssl");
        let mut ours = vec![0; len];
        page::cbc(true, &key, &iv, &plain, &mut ours).expect("whole blocks");
        assert_eq!(ours, theirs, "encryption of {len} bytes");
        let back = parchi_cipher::openssl_cbc_for_tests(false, &key, &iv, &ours).expect("openssl");
        assert_eq!(back, plain);
        let mut again = vec![0; len];
        page::cbc(false, &key, &iv, &theirs, &mut again).expect("whole blocks");
        assert_eq!(again, plain, "decryption of {len} bytes");

        let pgno = rng.bytes(4);
        let ours = page::hmac_sha256(&key, &plain, &pgno);
        let theirs =
            parchi_cipher::openssl_hmac_for_tests(&key, &plain, &pgno, 1).expect("openssl");
        assert_eq!(ours[..], theirs[..32], "HMAC-SHA256 of {len} bytes");
    }
    let mut out = [0u8; 20];
    assert!(
        page::cbc(true, &[0; 32], &[0; 16], &[0; 20], &mut out).is_none(),
        "not whole blocks"
    );

    // A database written by OpenSSL's functions, read and extended by ours, and read by
    // OpenSSL's again; every page of both kinds checks and decrypts.
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("t.db");
    parchi_cipher::restore_openssl_for_tests();
    assert!(!parchi_cipher::installed());
    {
        let c = keyed(&path);
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)")
            .expect("schema");
        write(&c, 0, &mut rng);
    }
    assert!(parchi_cipher::install());
    {
        let c = keyed(&path);
        assert_eq!(rows(&c).expect("read by ours"), (2_000, "ok".into()));
        write(&c, 2_000, &mut rng);
        c.execute_batch("VACUUM")
            .expect("every page rewritten by ours");
    }
    // Every page ours wrote has an IV of its own (the first 16 bytes of the page's 48-byte
    // reserve; random from the operating system).
    let file = std::fs::read(&path).expect("file");
    let ivs: std::collections::HashSet<&[u8]> = file
        .chunks_exact(4096)
        .map(|page| &page[4048..4064])
        .collect();
    assert!(file.len() / 4096 > 100, "a file of many pages");
    assert_eq!(ivs.len(), file.len() / 4096, "no IV repeats");
    assert!(!ivs.contains(&[0u8; 16][..]));
    parchi_cipher::restore_openssl_for_tests();
    {
        let c = keyed(&path);
        assert_eq!(rows(&c).expect("read by OpenSSL's"), (4_000, "ok".into()));
    }
    assert!(parchi_cipher::install());
    // A flipped byte in a page is refused, as OpenSSL's HMAC check refuses it.
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("file");
        f.seek(SeekFrom::Start(4096 * 3 + 100)).expect("seek");
        f.write_all(&[0x5a]).expect("flip");
    }
    let c = keyed(&path);
    assert!(rows(&c).is_err(), "a tampered page must not read back");
}
