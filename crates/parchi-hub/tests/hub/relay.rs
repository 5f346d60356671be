//! LAN mode: counters → LAN hub → central hub → another counter, nothing duplicated or lost.

use std::collections::BTreeMap;
use std::path::Path;

use parchi_core::{CentralPatient, Replica, Uhid};
use parchi_hub::relay::{MIRROR_PAGES_PER_ROUND, RelayReport};
use parchi_hub::workload::CentralGen;
use parchi_hub::{HubConfig, Upstream};
use parchi_sync::wire::{MirrorDone, Role};
use parchi_sync::{ClientConfig, RoundOptions};

use crate::common::{ADMIN, Backend, Server, now_ms, site};
use crate::e2e::{Counter, assert_identical, round};
use crate::mirror::import;

/// A LAN hub in `dir` (SQLite) relaying to `central` on request only.
fn lan_hub(dir: &Path, central: &Server, mirror_pages: usize) -> Server {
    let token = up_token(central);
    Server::start_custom(dir, Backend::Sqlite, None, HubConfig::default(), |o| {
        o.upstream = Some(Upstream {
            url: central.url.clone(),
            token: token.clone(),
            interval: std::time::Duration::ZERO,
            client: ClientConfig::default(),
            mirror_pages,
        });
    })
}

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
    let lan_dir = tempfile::tempdir().expect("tempdir");
    let lan = lan_hub(lan_dir.path(), &central, MIRROR_PAGES_PER_ROUND);
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

/// Imports `records` at `hub` as one run (in batches of 10,000) copied from the hospital at
/// `as_of`.
fn import_index(hub: &Server, run: &str, records: &[CentralPatient], as_of: &str) {
    let admin = hub.client();
    for chunk in records.chunks(10_000) {
        import(&admin, run, chunk);
    }
    admin
        .admin_mirror_done(
            ADMIN,
            &MirrorDone {
                run: run.into(),
                as_of: as_of.into(),
                fhir_since: None,
            },
        )
        .expect("mirror done");
}

fn by_uhid(records: &[CentralPatient]) -> BTreeMap<Uhid, CentralPatient> {
    records
        .iter()
        .map(|r| (r.uhid.clone(), r.clone()))
        .collect()
}

/// The hospital's index imported at the central hub reaches a counter that syncs only with a
/// LAN hub: whole, a few pages a round, then only what changed, with the date of the copy. A
/// LAN hub moved to an upstream whose mirror is behind its cursor pulls that one from the
/// start.
#[test]
fn lan_hub_relays_the_mirror_of_the_hospitals_index() {
    let central = Server::start(Backend::Sqlite);
    let lan_dir = tempfile::tempdir().expect("tempdir");
    let lan = lan_hub(lan_dir.path(), &central, 2);
    let mut g = CentralGen::new(41, "DHP");
    let mut records = g.records(25_000);
    import_index(
        &central,
        "index-run-0001",
        &records,
        "2026-11-30T22:00:00+05:30",
    );

    // Two pages of 10,000 a round: the copy is not whole yet, so it claims no date.
    let r1 = relay(&lan);
    assert_eq!((r1.mirror_pulled, r1.mirror_more), (20_000, true));
    let status = lan.client().admin_mirror_status(ADMIN).expect("status");
    assert_eq!((status.records, status.as_of), (20_000, None));
    let r2 = relay(&lan);
    assert_eq!((r2.mirror_pulled, r2.mirror_more), (5_000, false));
    assert_eq!(relay(&lan).mirror_pulled, 0, "nothing new upstream");

    let mut a = counter_at(&lan, 0);
    let opts = RoundOptions::default();
    assert_eq!(round(&mut a, &opts).mirror_pulled, 25_000);
    assert_eq!(*a.store.mirror(), by_uhid(&records));
    assert_eq!(a.store.mirror_as_of(), Some("2026-11-30T22:00:00+05:30"));

    // The hospital changes 300 records and adds 10; only those come down, and the new date.
    for r in records.iter_mut().take(300) {
        let mut c = g.record(r.uhid.clone());
        while c == *r {
            c = g.record(r.uhid.clone());
        }
        *r = c;
    }
    let fresh = CentralGen::new(42, "NEW").records(10);
    records.extend(fresh);
    let mut second = records[..300].to_vec();
    second.extend_from_slice(&records[25_000..]);
    import_index(
        &central,
        "index-run-0002",
        &second,
        "2026-12-01T06:00:00+05:30",
    );
    let r = relay(&lan);
    assert_eq!((r.mirror_pulled, r.mirror_more), (310, false));
    assert_eq!(round(&mut a, &opts).mirror_pulled, 310);
    assert_eq!(*a.store.mirror(), by_uhid(&records));
    assert_eq!(a.store.mirror_as_of(), Some("2026-12-01T06:00:00+05:30"));

    // The LAN hub moves to another central hub holding a smaller mirror: its cursor is ahead
    // there, so it pulls that mirror from the start (what it held stays).
    lan.stop();
    let other = Server::start(Backend::Sqlite);
    let elsewhere = CentralGen::new(43, "OTH").records(7);
    import_index(
        &other,
        "index-run-0003",
        &elsewhere,
        "2026-12-01T07:00:00+05:30",
    );
    let lan = lan_hub(lan_dir.path(), &other, 2);
    let r = relay(&lan);
    assert_eq!((r.mirror_pulled, r.mirror_more), (7, false));
    let status = lan.client().admin_mirror_status(ADMIN).expect("status");
    assert_eq!(status.records, 25_017);
    assert_eq!(status.as_of.as_deref(), Some("2026-12-01T07:00:00+05:30"));
}
