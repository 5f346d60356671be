//! Faults: the hub killed mid-push, connections cut at any byte, duplicate delivery, clocks far
//! ahead and behind.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

use parchi_hub::workload::SiteGen;
use parchi_sync::wire::{Outcome, Role};
use parchi_sync::{ClientConfig, HubClient, MemoryStore, RoundOptions, sync_round};

use crate::common::{Backend, Proc, Server, enroll, now_ms};
use crate::e2e::{assert_identical, counters, round};

fn pull_ids(client: &HubClient) -> Vec<parchi_core::OpId> {
    let mut after = 0;
    let mut ids = Vec::new();
    loop {
        let p = client.pull(after, 5_000).expect("pull");
        ids.extend(p.ops.iter().map(|o| o.op.id));
        after = p.next;
        if !p.more {
            return ids;
        }
    }
}

#[test]
fn hub_killed_mid_push_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hub = Proc::spawn(dir.path(), &[]);
    let mut sg = SiteGen::new(0, 1, now_ms() - 3_600_000);
    let (client, _) = enroll(&hub.url, Role::Counter, sg.site, Some("A"));
    let token = client_token(&hub.url, &client);
    let mut store = MemoryStore::new(sg.site);
    let ops = sg.ops(40_000);
    for op in &ops {
        store.record(op.clone());
    }
    // Push from another thread; SIGKILL the hub while batches are in flight.
    let pusher = std::thread::spawn(move || {
        let opts = RoundOptions {
            push_batch: 2_000,
            pull_limit: 1_000,
            ..RoundOptions::default()
        };
        let r = sync_round(&mut store, &client, &opts, &mut |_| {});
        (store, r.is_ok())
    });
    std::thread::sleep(Duration::from_millis(400));
    hub.kill9();
    let (mut store, finished) = pusher.join().expect("pusher");
    assert!(!finished || store.outbox_len() == 0);
    let left = store.outbox_len();
    // Restart on the same data directory (a new port) and retry with the same credential.
    let hub2 = Proc::spawn(dir.path(), &[]);
    let client2 = HubClient::new(&hub2.url, ClientConfig::default())
        .expect("client")
        .with_token(token);
    let r = sync_round(&mut store, &client2, &RoundOptions::default(), &mut |_| {}).expect("retry");
    assert_eq!(store.outbox_len(), 0);
    eprintln!(
        "killed with {left} ops unacknowledged; retry applied {} and found {} duplicates",
        r.applied, r.duplicates
    );
    let ids = pull_ids(&client2);
    assert_eq!(ids.len(), ops.len(), "nothing lost, nothing twice");
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ops.len());
}

fn client_token(_url: &str, client: &HubClient) -> String {
    // The token lives inside the client; enrol-time tokens are only shown once, so tests keep
    // them by asking the client's Debug-free accessor.
    client.token().expect("token").to_string()
}

/// A TCP proxy that forwards one connection and cuts it: after `request_bytes` bytes of the
/// request, or (when `None`) after the full request but before any response byte.
fn cutting_proxy(
    upstream: &str,
    request_bytes: Option<usize>,
) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let upstream = upstream.trim_start_matches("http://").to_string();
    let h = std::thread::spawn(move || {
        let Ok((mut down, _)) = listener.accept() else {
            return;
        };
        let Ok(mut up) = TcpStream::connect(&upstream) else {
            return;
        };
        let _ = down.set_read_timeout(Some(Duration::from_millis(500)));
        let mut sent = 0usize;
        let mut buf = [0u8; 8192];
        loop {
            let n = match down.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let take = match request_bytes {
                Some(limit) => n.min(limit.saturating_sub(sent)),
                None => n,
            };
            if up.write_all(&buf[..take]).is_err() {
                break;
            }
            sent += take;
            if request_bytes.is_some_and(|l| sent >= l) {
                break;
            }
        }
        // Cut both ways; give the hub a moment to see the request first when it is whole.
        if request_bytes.is_none() {
            std::thread::sleep(Duration::from_millis(300));
        }
        let _ = up.shutdown(Shutdown::Both);
        let _ = down.shutdown(Shutdown::Both);
    });
    (format!("http://{addr}"), h)
}

#[test]
fn a_connection_cut_at_any_byte_is_resumable() {
    let server = Server::start(Backend::Sqlite);
    let mut sg = SiteGen::new(0, 2, now_ms() - 3_600_000);
    let (direct, _) = server.enroll(Role::Counter, sg.site, Some("A"));
    let token = direct.token().expect("token").to_string();
    let ops = sg.ops(300);
    let body_len = serde_json::to_vec(&serde_json::json!({"version": 1, "ops": ops.iter().map(|o| serde_json::json!({"op": o})).collect::<Vec<_>>()})).expect("json").len();
    for cut in [
        Some(10),
        Some(200),
        Some(body_len / 2),
        Some(body_len - 1),
        None,
    ] {
        let before = server.stats();
        let (url, h) = cutting_proxy(&server.url, cut);
        let c = HubClient::new(
            &url,
            ClientConfig {
                timeout: Duration::from_secs(5),
                ..ClientConfig::default()
            },
        )
        .expect("client")
        .with_token(token.clone());
        assert!(c.push(&ops).is_err(), "cut {cut:?} must fail at the client");
        let _ = h.join();
        std::thread::sleep(Duration::from_millis(100));
        let after = server.stats();
        match cut {
            Some(_) => assert_eq!(after, before, "a cut request stores nothing (cut {cut:?})"),
            None => assert_eq!(
                after.ops,
                ops.len() as u64,
                "a whole request commits before the reply"
            ),
        }
    }
    // Retrying after the cut reply: every op is a duplicate, nothing twice.
    let r = direct.push(&ops).expect("retry");
    assert!(r.results.iter().all(|x| x.outcome == Outcome::Duplicate));
    assert_eq!(server.stats().ops, ops.len() as u64);
}

#[test]
fn duplicate_delivery_and_clocks_far_ahead_or_behind_converge() {
    let server = Server::start(Backend::Sqlite);
    let mut cs = counters(&server, 3, 21);
    // Counter 0 runs two days ahead, counter 1 thirty days behind.
    cs[0].sg.set_wall_ms(now_ms() + 2 * 24 * 3_600_000);
    cs[1].sg.set_wall_ms(now_ms() - 30 * 24 * 3_600_000);
    for c in cs.iter_mut() {
        for op in c.sg.ops(200) {
            c.store.record(op.clone());
            c.store.record(op);
        }
    }
    let opts = RoundOptions {
        push_batch: 64,
        pull_limit: 50,
        ..RoundOptions::default()
    };
    let r0 = round(&mut cs[0], &opts);
    assert_eq!(
        r0.clock_ahead, 200,
        "every op from the fast clock is flagged"
    );
    let r1 = round(&mut cs[1], &opts);
    assert_eq!(r1.clock_ahead, 0, "a slow clock is not flagged");
    round(&mut cs[2], &opts);
    // Everyone pulls; the same ops delivered again change nothing.
    for c in cs.iter_mut() {
        round(c, &opts);
        let again = c.client.push(&c.sg.clone().ops(0)).expect("empty push");
        assert!(again.results.is_empty());
    }
    assert_identical(&[
        cs[0].store.replica(),
        cs[1].store.replica(),
        cs[2].store.replica(),
    ]);

    // A patient of the fast counter, corrected now by counter 2: the correction wins everywhere,
    // because the fast counter's stamps were clamped to the hub's receive time.
    let patient = cs[0]
        .store
        .replica()
        .patients()
        .find(|p| p.origin.counter == cs[0].sg.counter)
        .expect("fast counter's patient");
    let fix = parchi_core::Op {
        id: parchi_core::OpId::new_v7(now_ms(), [5; 10]),
        hlc: parchi_core::Hlc::new(now_ms() + 1_000, 0),
        site: cs[2].sg.site,
        body: parchi_core::OpBody::SetField {
            patient: patient.id,
            value: parchi_core::FieldValue::Name(
                parchi_core::patient::Name::parse("name", "Corrected Name").expect("name"),
            ),
            prev: None,
        },
    };
    cs[2].store.record(fix);
    for _ in 0..2 {
        for c in cs.iter_mut() {
            round(c, &opts);
        }
    }
    for c in &cs {
        let p = c.store.replica().patient(&patient.id).expect("patient");
        assert_eq!(p.fields.name.as_str(), "Corrected Name");
    }
    assert_identical(&[
        cs[0].store.replica(),
        cs[1].store.replica(),
        cs[2].store.replica(),
    ]);
    let sites = server
        .client()
        .admin_sites(crate::common::ADMIN)
        .expect("sites");
    let fast = sites
        .sites
        .iter()
        .find(|s| s.site == cs[0].sg.site)
        .expect("fast site");
    assert_eq!(fast.clock_ahead, 200);
}
