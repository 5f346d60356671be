//! LAN mode: counters → LAN hub → central hub → another counter, nothing duplicated or lost.

use parchi_core::Replica;
use parchi_hub::relay::RelayReport;
use parchi_hub::{HubConfig, Upstream};
use parchi_sync::wire::Role;
use parchi_sync::{ClientConfig, RoundOptions};

use crate::common::{ADMIN, Backend, Server, now_ms, site};
use crate::e2e::{Counter, assert_identical, round};

fn relay(lan: &Server) -> RelayReport {
    lan.client()
        .post_raw("/v1/admin/relay", b"{}".to_vec(), Some(ADMIN))
        .expect("relay")
}

fn counter_at(server: &Server, index: usize) -> Counter {
    let sg = parchi_hub::workload::SiteGen::new(index, 77, now_ms() - 3_600_000);
    let (client, _) = server.enroll(Role::Counter, sg.site, Some(sg.counter.as_str()));
    Counter {
        store: parchi_sync::MemoryStore::new(sg.site),
        client,
        sg,
    }
}

fn lan_to_central(central_backend: Backend) {
    let central = Server::start(central_backend);
    let token = up_token(&central);
    let lan_dir = tempfile::tempdir().expect("tempdir");
    let lan = Server::start_custom(
        lan_dir.path(),
        Backend::Sqlite,
        None,
        HubConfig::default(),
        |o| {
            o.upstream = Some(Upstream {
                url: central.url.clone(),
                token: token.clone(),
                interval: std::time::Duration::ZERO,
                client: ClientConfig::default(),
            });
        },
    );
    let mut a = counter_at(&lan, 0);
    let mut b = counter_at(&lan, 1);
    let mut c = counter_at(&central, 2);
    for ctr in [&mut a, &mut b, &mut c] {
        for op in ctr.sg.ops(300) {
            ctr.store.record(op);
        }
    }
    // A clock two days ahead at counter A: the LAN hub clamps it; the central must use the same
    // effective stamp.
    a.sg.set_wall_ms(now_ms() + 2 * 24 * 3_600_000);
    for op in a.sg.ops(20) {
        a.store.record(op);
    }
    let opts = RoundOptions {
        push_batch: 128,
        pull_limit: 100,
        ..RoundOptions::default()
    };
    let ra = round(&mut a, &opts);
    assert_eq!(ra.clock_ahead, 20);
    round(&mut b, &opts);
    round(&mut c, &opts);

    let r1 = relay(&lan);
    assert_eq!(r1.pushed, 620);
    assert_eq!(r1.applied_upstream, 620);
    assert_eq!(r1.refused_upstream, 0);
    assert_eq!(r1.applied_here, 300, "C's ops came down");
    // Relaying again sends nothing new and pulls only what it pushed (as duplicates).
    let r2 = relay(&lan);
    assert_eq!(r2.pushed, 0);
    assert_eq!(r2.applied_here, 0);

    for ctr in [&mut a, &mut b, &mut c] {
        round(ctr, &opts);
    }
    assert_identical(&[a.store.replica(), b.store.replica(), c.store.replica()]);
    assert_eq!(central.stats().ops, 920);
    assert_eq!(lan.stats().ops, 920);
    // Every op exactly once at the central hub.
    let reader = counter_at(&central, 5);
    let mut after = 0;
    let mut ids = std::collections::HashSet::new();
    let mut r = Replica::new();
    loop {
        let p = reader.client.pull(after, 250).expect("pull");
        for o in &p.ops {
            assert!(ids.insert(o.op.id), "op twice at the central hub");
            r.apply(&o.effective_op());
        }
        after = p.next;
        if !p.more {
            break;
        }
    }
    assert_eq!(ids.len(), 920);
    assert_identical(&[&r, a.store.replica()]);
}

fn up_token(central: &Server) -> String {
    let c = central.client();
    let code = c.admin_enroll_code(ADMIN, Role::Hub, None).expect("code");
    c.enroll(&code.code, site(0xAB), None)
        .expect("enrol hub")
        .token
}

#[test]
fn lan_hub_relays_to_a_sqlite_central_hub() {
    lan_to_central(Backend::Sqlite);
}

#[test]
fn lan_hub_relays_to_a_postgres_central_hub() {
    lan_to_central(Backend::Postgres);
}
