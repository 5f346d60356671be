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

/// Wraps the counter's client: before each push it tells the test which push it is about to
/// send and waits for a go; after it, it says how that push ended.
struct Tripwire {
    inner: HubClient,
    about_to_push: std::sync::mpsc::Sender<usize>,
    go: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
    ended: std::sync::Mutex<std::sync::mpsc::Sender<(usize, bool)>>,
    pushes: std::sync::atomic::AtomicUsize,
}

impl parchi_sync::Transport for Tripwire {
    fn push(
        &self,
        ops: &[parchi_core::Op],
    ) -> Result<parchi_sync::wire::PushResponse, parchi_sync::ClientError> {
        let n = self
            .pushes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let _ = self.about_to_push.send(n);
        let _ = self.go.lock().map(|g| g.recv());
        let r = self.inner.push(ops);
        let _ = self.ended.lock().map(|e| e.send((n, r.is_ok())));
        r
    }
    fn pull(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<parchi_sync::wire::PullResponse, parchi_sync::ClientError> {
        self.inner.pull(after, limit)
    }
    fn pull_mirror(
        &self,
        after: u64,
        limit: u32,
        seen_since: Option<chrono::NaiveDate>,
    ) -> Result<parchi_sync::wire::MirrorPage, parchi_sync::ClientError> {
        self.inner.pull_mirror(after, limit, seen_since)
    }
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(ok.success(), "kill {sig} {pid}");
}

#[test]
fn hub_killed_mid_push_loses_and_duplicates_nothing() {
    const BATCH: usize = 2_000;
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
    let (about_tx, about_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel();
    let (ended_tx, ended_rx) = std::sync::mpsc::channel();
    let wire = Tripwire {
        inner: client,
        about_to_push: about_tx,
        go: std::sync::Mutex::new(go_rx),
        ended: std::sync::Mutex::new(ended_tx),
        pushes: std::sync::atomic::AtomicUsize::new(0),
    };
    let pusher = std::thread::spawn(move || {
        let opts = RoundOptions {
            push_batch: BATCH,
            pull_limit: 1_000,
            ..RoundOptions::default()
        };
        let r = sync_round(&mut store, &wire, &opts, &mut |_| {});
        (store, r.is_ok())
    });
    // Let the first pushes through whole; then freeze the hub a little later after each push
    // is sent (SIGSTOP: from then on it neither reads, commits nor answers) until one is caught
    // in flight, and kill it there. The push may be anywhere: unread, mid-commit, committed but
    // unanswered.
    let pid = hub.child.id();
    let mut caught = None;
    for delay_ms in [
        u64::MAX,
        u64::MAX,
        40,
        20,
        10,
        5,
        2,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ] {
        let Ok(n) = about_rx.recv_timeout(Duration::from_secs(60)) else {
            break;
        };
        go_tx.send(()).expect("go");
        if delay_ms == u64::MAX {
            let ended = ended_rx
                .recv_timeout(Duration::from_secs(60))
                .expect("push ends");
            assert_eq!(ended, (n, true), "the first pushes go through");
            continue;
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        signal(pid, "-STOP");
        // A push the hub had already answered ends now; one still in flight hangs.
        match ended_rx.recv_timeout(Duration::from_millis(300)) {
            Ok((m, true)) if m == n => signal(pid, "-CONT"),
            Ok(other) => panic!("push {n} ended unexpectedly: {other:?}"),
            Err(_) => {
                caught = Some(n);
                break;
            }
        }
    }
    let caught = caught.expect("the kill never caught a push in flight");
    hub.kill9();
    let (ended_n, ended_ok) = ended_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the caught push ends once the hub is killed");
    assert_eq!(
        (ended_n, ended_ok),
        (caught, false),
        "the client saw the push in flight fail"
    );
    let (mut store, finished) = pusher.join().expect("pusher");
    assert!(!finished, "the round was interrupted");
    let left = store.outbox_len();
    let acknowledged = ops.len() - left;
    assert_eq!(
        acknowledged,
        caught * BATCH,
        "pushes before the caught one were acknowledged"
    );
    assert!(left > 0);

    // Restart on the same data directory (a new port): the log holds every acknowledged push
    // and the caught one either whole or not at all (one transaction), never part of it.
    let hub2 = Proc::spawn(dir.path(), &[]);
    let stored = HubClient::new(&hub2.url, ClientConfig::default())
        .expect("client")
        .admin_stats(crate::common::ADMIN)
        .expect("stats")
        .ops as usize;
    assert!(
        stored == acknowledged || stored == acknowledged + BATCH,
        "stored {stored} ops: the push in flight was cut part-way (acknowledged {acknowledged})"
    );
    assert!(stored < ops.len(), "the kill left the round incomplete");
    // Retry with the same credential.
    let client2 = HubClient::new(&hub2.url, ClientConfig::default())
        .expect("client")
        .with_token(token);
    let r = sync_round(&mut store, &client2, &RoundOptions::default(), &mut |_| {}).expect("retry");
    assert_eq!(store.outbox_len(), 0);
    assert_eq!(r.applied + r.duplicates, left);
    assert_eq!(
        r.duplicates,
        stored - acknowledged,
        "exactly the unanswered push was held"
    );
    eprintln!(
        "killed with push {caught} in flight ({left} ops unacknowledged, {} of them durable); \
         retry applied {} and found {} duplicates",
        stored - acknowledged,
        r.applied,
        r.duplicates
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
