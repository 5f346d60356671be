//! PostgreSQL restarting under a running hub: the hub recovers by itself (its connection pools
//! replace closed connections), a push during the outage is refused with a clean 503 and stores
//! nothing; and TLS to PostgreSQL.

use parchi_hub::workload::SiteGen;
use parchi_hub::{HubConfig, PgStorage, PgTls, StorageError};
use parchi_sync::ClientError;
use parchi_sync::wire::{ErrorCode, Outcome, Role};

use crate::common::{Backend, Server, now_ms, unique_schema};
use crate::pgcluster::{Cluster, ClusterTls};

fn hub_on(cluster: &Cluster, dir: &std::path::Path) -> Server {
    let url = cluster.url();
    Server::start_custom(
        dir,
        Backend::Sqlite,
        Some(unique_schema("restart")),
        HubConfig::default(),
        move |o| o.database = Some(url),
    )
}

fn assert_storage_503(e: &ClientError, what: &str) {
    match e {
        ClientError::Hub { status, code, .. } => {
            assert_eq!(*status, 503, "{what}: status");
            assert_eq!(*code, ErrorCode::Storage, "{what}: JSON error code");
        }
        other => panic!("{what}: expected a 503 storage error as JSON, got {other}"),
    }
}

fn all_applied(r: &parchi_sync::wire::PushResponse) -> bool {
    r.results
        .iter()
        .all(|x| matches!(x.outcome, Outcome::Applied { .. }))
}

fn pulled(client: &parchi_sync::HubClient) -> Vec<parchi_core::OpId> {
    let mut after = 0;
    let mut ids = Vec::new();
    loop {
        let p = client.pull(after, 1_000).expect("pull");
        ids.extend(p.ops.iter().map(|o| o.op.id));
        after = p.next;
        if !p.more {
            return ids;
        }
    }
}

#[test]
fn the_hub_recovers_when_postgresql_restarts_and_refuses_cleanly_while_it_is_down() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = hub_on(&cluster, dir.path());
    let mut sg = SiteGen::new(0, 31, now_ms() - 3_600_000);
    let (client, _) = server.enroll(Role::Counter, sg.site, Some("A"));
    let first = sg.ops(50);
    assert!(all_applied(&client.push(&first).expect("push before")));
    assert_eq!(pulled(&client).len(), 50);

    // A restart ends every session the hub holds; the next push and pull just work.
    cluster.restart();
    let second = sg.ops(50);
    assert!(all_applied(
        &client.push(&second).expect("push after a restart")
    ));
    assert_eq!(pulled(&client).len(), 100, "pull after a restart");

    // Down: a push and a pull are refused with 503 `storage`, as JSON.
    cluster.stop();
    let third = sg.ops(50);
    assert_storage_503(
        &client.push(&third).expect_err("push while down"),
        "push while down",
    );
    assert_storage_503(
        &client.pull(0, 10).expect_err("pull while down"),
        "pull while down",
    );

    // Back: nothing of the refused push was stored, so it applies whole; nothing twice.
    cluster.start_again();
    let again = client.push(&third).expect("push after the outage");
    assert!(
        all_applied(&again),
        "nothing of the push refused during the outage was stored"
    );
    let ids = pulled(&client);
    assert_eq!(ids.len(), 150);
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 150, "no op twice");
    assert_eq!(server.stats().ops, 150);
}

fn tls_cert() -> (ClusterTls, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("cert");
    let pem = ck.cert.pem();
    (
        ClusterTls {
            cert_pem: pem.clone(),
            key_pem: ck.signing_key.serialize_pem(),
        },
        pem,
    )
}

#[test]
fn the_hub_reaches_postgresql_over_tls_with_a_verified_certificate() {
    let (tls, ca) = tls_cert();
    let cluster = Cluster::start_with(Some(tls));
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("pg-ca.pem");
    std::fs::write(&ca_file, ca).expect("write CA");
    let (_, other_ca) = tls_cert();
    let other_file = dir.path().join("other-ca.pem");
    std::fs::write(&other_file, other_ca).expect("write other CA");
    let rt = crate::common::rt();
    rt.block_on(async {
        let url = cluster.url();
        // The cluster refuses TCP without TLS.
        assert!(
            PgStorage::connect_in(&url, Some("t_plain")).await.is_err(),
            "plain TCP is refused by this cluster"
        );
        // A certificate from another CA is not trusted.
        let wrong = PgTls {
            enabled: true,
            ca_file: Some(other_file.clone()),
        };
        match PgStorage::connect_with(&url, Some("t_wrong"), &wrong).await {
            Err(StorageError::Postgres(_) | StorageError::Connect(_)) => {}
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("a certificate from an unknown CA was accepted"),
        }
        // Trusted: by flag, and by sslmode=require in the URL.
        let good = PgTls {
            enabled: true,
            ca_file: Some(ca_file.clone()),
        };
        let s = PgStorage::connect_with(&url, Some("t_tls"), &good)
            .await
            .expect("TLS with the right CA");
        drop(s);
        let ca_only = PgTls {
            enabled: false,
            ca_file: Some(ca_file.clone()),
        };
        PgStorage::connect_with(
            &format!("{url}?sslmode=require"),
            Some("t_tls_url"),
            &ca_only,
        )
        .await
        .expect("sslmode=require in the URL");
    });
    // A hub serving over it: sync works.
    let url = cluster.url();
    let ca2 = ca_file.clone();
    let server = Server::start_custom(
        dir.path(),
        Backend::Sqlite,
        Some("t_hub".into()),
        HubConfig::default(),
        move |o| {
            o.database = Some(url);
            o.database_tls = PgTls {
                enabled: true,
                ca_file: Some(ca2),
            };
        },
    );
    let mut sg = SiteGen::new(0, 32, now_ms() - 3_600_000);
    let (client, _) = server.enroll(Role::Counter, sg.site, Some("A"));
    assert!(all_applied(
        &client.push(&sg.ops(20)).expect("push over TLS")
    ));
    assert_eq!(pulled(&client).len(), 20);
}
