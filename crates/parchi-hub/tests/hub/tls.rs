//! The hub serves HTTPS (rustls) when given a certificate and key; the client trusts a given CA.

use parchi_hub::HubConfig;
use parchi_sync::wire::Role;
use parchi_sync::{ClientConfig, HubClient, MemoryStore, RoundOptions, sync_round};

use crate::common::{ADMIN, Backend, Server, now_ms};

#[test]
fn counters_sync_over_tls_and_plain_http_is_refused() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("hub.crt");
    let key = dir.path().join("hub.key");
    std::fs::write(&cert, ck.cert.pem()).expect("write cert");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("write key");
    let (c2, k2) = (cert.clone(), key.clone());
    let server = Server::start_custom(
        dir.path(),
        Backend::Sqlite,
        None,
        HubConfig::default(),
        move |o| {
            o.tls_cert = Some(c2);
            o.tls_key = Some(k2);
        },
    );
    let url = server.url.replace("127.0.0.1", "localhost");
    assert!(url.starts_with("https://"));
    let config = ClientConfig {
        ca_pem: Some(ck.cert.pem().into_bytes()),
        ..ClientConfig::default()
    };
    let admin = HubClient::new(&url, config.clone()).expect("client");
    assert_eq!(admin.health().expect("health over TLS").status, "ok");
    // Without the CA the certificate is not trusted.
    let untrusting = HubClient::new(&url, ClientConfig::default()).expect("client");
    assert!(untrusting.health().is_err());
    // Plain HTTP to the TLS port gets no answer.
    let plain = HubClient::new(&url.replace("https://", "http://"), ClientConfig::default())
        .expect("client");
    assert!(plain.health().is_err());

    let mut sg = parchi_hub::workload::SiteGen::new(0, 4, now_ms() - 60_000);
    let code = admin
        .admin_enroll_code(ADMIN, Role::Counter, None)
        .expect("code");
    let e = admin
        .enroll(&code.code, sg.site, Some(sg.counter.clone()))
        .expect("enrol");
    let client = admin.clone().with_token(e.token);
    let mut store = MemoryStore::new(sg.site);
    for op in sg.ops(50) {
        store.record(op);
    }
    let r = sync_round(&mut store, &client, &RoundOptions::default(), &mut |_| {}).expect("round");
    assert_eq!(r.applied, 50);
    assert_eq!(r.pulled, 50);
}
