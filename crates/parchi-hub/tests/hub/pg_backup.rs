//! A PostgreSQL hub's own backups: taken by the serving hub on its schedule (`pg_dump` in the
//! snapshot its counts are read in), encrypted and signed, nothing in clear; verified without a
//! server; refused when altered; restored with `psql` into another database, where a hub
//! serves every op again; and never restored over a database that holds the hub already.

use std::path::{Path, PathBuf};
use std::time::Duration;

use parchi_hub::snapshot::{HubBackup, restore_postgres, verify_postgres};
use parchi_hub::{HubConfig, PgTls};
use parchi_keys::RecoveryKey;
use parchi_keys::backup::BackupKey;
use parchi_sync::RoundOptions;
use parchi_sync::wire::Role;

use crate::common::{Backend, Server, now_ms, pg_url, rt, unique_schema};
use crate::e2e::{Counter, round};

fn backups(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "pbak"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The test database's URL with another database name.
fn url_of(db: &str) -> String {
    let url = pg_url();
    let (base, query) = url
        .split_once('?')
        .map_or((url.as_str(), ""), |(b, q)| (b, q));
    let (server, _) = base.rsplit_once('/').expect("a database in the URL");
    if query.is_empty() {
        format!("{server}/{db}")
    } else {
        format!("{server}/{db}?{query}")
    }
}

/// The test database's server reached through its Unix socket (`PARCHI_TEST_PG_SOCKET`), with
/// the database `db`: a hub on the same machine as its PostgreSQL may be configured so, and its
/// own backups and restores run libpq's tools through the socket too.
fn socket_url_of(db: &str) -> String {
    let dir = std::env::var("PARCHI_TEST_PG_SOCKET").unwrap_or_else(|_| {
        panic!(
            "PARCHI_TEST_PG_SOCKET is not set. Start PostgreSQL with \
             `eval \"$(scripts/start-postgres.sh)\"` (tests never skip the PostgreSQL backend)"
        )
    });
    let config: tokio_postgres::Config = pg_url().parse().expect("the test database's URL");
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    format!("postgres://{user}@{}:{port}/{db}", dir.replace('/', "%2F"))
}

/// The test database's name.
fn test_db() -> String {
    let config: tokio_postgres::Config = pg_url().parse().expect("the test database's URL");
    config
        .get_dbname()
        .expect("a database in the URL")
        .to_owned()
}

/// Runs `sql` in the test database.
fn admin_sql(sql: &str) {
    rt().block_on(async {
        let (c, conn) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        c.batch_execute(sql).await.expect(sql);
    });
}

// The hub reaches PostgreSQL through its Unix socket here (the command-line test of the same
// flow, `tests/e2e/hub_pg_backup.rs`, through TCP).
#[test]
fn a_postgres_hub_backs_itself_up_and_is_restored_into_another_database() {
    let schema = unique_schema("pgbk");
    let data = tempfile::tempdir().expect("data");
    let out = tempfile::tempdir().expect("backups");
    let hospital = BackupKey::from_recovery(&RecoveryKey::generate(&mut |b| {
        getrandom::fill(b).expect("random")
    }))
    .expect("key");
    let recipient = hospital.recipient();
    let server = Server::start_custom(
        data.path(),
        Backend::Postgres,
        Some(schema.clone()),
        HubConfig::default(),
        |o| {
            o.database = Some(socket_url_of(&test_db()));
            o.backup = Some(HubBackup {
                check_every: Duration::from_millis(50),
                day_end_minute: None,
                ..HubBackup::new(
                    out.path().to_owned(),
                    Duration::from_millis(500),
                    vec![recipient.clone()],
                )
            });
        },
    );
    let sg = parchi_hub::workload::SiteGen::new(0, 91, now_ms() - 3_600_000);
    let (client, _) = server.enroll(Role::Counter, sg.site, Some(sg.counter.as_str()));
    let mut a = Counter {
        store: parchi_sync::MemoryStore::new(sg.site),
        client,
        sg,
    };
    for op in a.sg.ops(250) {
        a.store.record(op);
    }
    round(&mut a, &RoundOptions::default());
    // Wait for a backup taken after the push (the schedule runs every half second).
    let mut file = None;
    for _ in 0..400 {
        if let Some(f) = backups(out.path())
            .into_iter()
            .rev()
            .find(|f| parchi_keys::backup::read_file_manifest(f).is_ok_and(|m| m.ops.count == 250))
        {
            file = Some(f);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let file = file.expect("a scheduled backup with the 250 ops");
    server.stop();

    // Encrypted: none of the dump's SQL, nor the schema's name, is in the file.
    let bytes = std::fs::read(&file).expect("read");
    for clear in [&b"COPY "[..], b"CREATE TABLE", schema.as_bytes()] {
        assert!(
            !bytes.windows(clear.len()).any(|w| w == clear),
            "the backup holds {:?} in clear",
            String::from_utf8_lossy(clear)
        );
    }
    let v = verify_postgres(&file, &hospital).expect("verify");
    assert_eq!(v.ops, 250);
    assert_eq!(v.manifest.kind, "hub-postgres");

    // One byte changed in the ciphertext, or the file cut short: refused.
    let bad = out.path().join("altered.pbak");
    let mut altered = bytes.clone();
    let at = altered.len() - 100;
    altered[at] ^= 1;
    std::fs::write(&bad, &altered).expect("write");
    let e = verify_postgres(&bad, &hospital).expect_err("altered");
    assert!(e.to_string().contains("altered"), "{e}");
    std::fs::write(&bad, &bytes[..bytes.len() - 10]).expect("write");
    let e = verify_postgres(&bad, &hospital).expect_err("truncated");
    assert!(e.to_string().contains("truncated"), "{e}");
    // An altered backup is not restored either, and leaves nothing behind.
    let db = format!("parchi_restore_{}", std::process::id());
    admin_sql(&format!("DROP DATABASE IF EXISTS {db}"));
    admin_sql(&format!("CREATE DATABASE {db}"));
    std::fs::write(&bad, &altered).expect("write");
    restore_postgres(&bad, &hospital, &socket_url_of(&db), &PgTls::default()).expect_err("altered");

    // Restored into the new database: a hub there serves every op again.
    let r = restore_postgres(&file, &hospital, &socket_url_of(&db), &PgTls::default())
        .expect("restore through the socket");
    assert_eq!(r.ops, 250);
    let e = restore_postgres(&file, &hospital, &url_of(&db), &PgTls::default())
        .expect_err("the schema is there already");
    assert!(e.to_string().contains("psql refused"), "{e}");
    let restored_dir = tempfile::tempdir().expect("restored");
    let restored = Server::start_custom(
        restored_dir.path(),
        Backend::Postgres,
        Some(schema.clone()),
        HubConfig::default(),
        |o| o.database = Some(socket_url_of(&db)),
    );
    assert_eq!(restored.stats().ops, 250);
    // The counter's credential came back with the devices: it pulls everything.
    let token = a.client.token().expect("token").to_owned();
    let again = parchi_sync::HubClient::new(&restored.url, parchi_sync::ClientConfig::default())
        .expect("client")
        .with_token(token);
    assert_eq!(again.pull(0, 1_000).expect("pull").ops.len(), 250);
    restored.stop();
    admin_sql(&format!("DROP DATABASE {db} WITH (FORCE)"));
}
