//! Table-driven page and batch boundaries: the classic off-by-one territory of cursor sync.

use parchi_hub::workload::SiteGen;
use parchi_sync::wire::Role;
use parchi_sync::{MemoryStore, RoundOptions, SyncStore, sync_round};

use crate::common::{Backend, Server, now_ms};

struct Case {
    name: &'static str,
    ops: usize,
    page: u32,
    batch: usize,
}

const CASES: &[Case] = &[
    Case {
        name: "empty",
        ops: 0,
        page: 10,
        batch: 10,
    },
    Case {
        name: "one op",
        ops: 1,
        page: 10,
        batch: 10,
    },
    Case {
        name: "exactly one page",
        ops: 10,
        page: 10,
        batch: 10,
    },
    Case {
        name: "one page plus one",
        ops: 11,
        page: 10,
        batch: 10,
    },
    Case {
        name: "one page minus one",
        ops: 9,
        page: 10,
        batch: 10,
    },
    Case {
        name: "two pages exactly",
        ops: 20,
        page: 10,
        batch: 7,
    },
    Case {
        name: "limit 1",
        ops: 5,
        page: 1,
        batch: 1,
    },
    Case {
        name: "batch larger than everything",
        ops: 13,
        page: 4,
        batch: 1000,
    },
];

#[test]
fn pages_and_batches_at_their_boundaries() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        for case in CASES {
            let server = Server::start(backend);
            let mut sg = SiteGen::new(0, 9, now_ms() - 60_000);
            let (writer, _) = server.enroll(Role::Counter, sg.site, Some("A"));
            let mut w = MemoryStore::new(sg.site);
            for op in sg.ops(case.ops) {
                w.record(op);
            }
            let opts = RoundOptions {
                push_batch: case.batch,
                pull_limit: case.page,
                ..RoundOptions::default()
            };
            let r = sync_round(&mut w, &writer, &opts, &mut |_| {}).expect("writer round");
            assert_eq!(r.applied, case.ops, "{}: pushed", case.name);

            // A fresh reader pulls page by page; check every page's contract by hand.
            let other = SiteGen::new(1, 9, now_ms());
            let (reader, _) = server.enroll(Role::Counter, other.site, Some("B"));
            let mut after = 0;
            let mut seen = Vec::new();
            let mut pages = 0;
            loop {
                let p = reader.pull(after, case.page).expect("pull");
                pages += 1;
                assert!(
                    p.ops.len() <= case.page as usize,
                    "{}: page size",
                    case.name
                );
                seen.extend(p.ops.iter().map(|o| o.op.id));
                after = p.next;
                if !p.more {
                    break;
                }
                assert!(pages < 10_000, "{}: endless paging", case.name);
            }
            let expected_pages = case.ops.div_ceil(case.page as usize).max(1);
            assert_eq!(pages, expected_pages, "{}: pages", case.name);
            assert_eq!(seen.len(), case.ops, "{}: every op once", case.name);
            let unique: std::collections::HashSet<_> = seen.iter().collect();
            assert_eq!(unique.len(), case.ops, "{}: no op twice", case.name);
            // Cursor at the end: an empty page, same cursor, no more.
            let end = reader.pull(after, case.page).expect("pull at end");
            assert!(
                end.ops.is_empty() && !end.more && end.next == after,
                "{}: at end",
                case.name
            );

            // The same through sync_round into a store.
            let mut r = MemoryStore::new(other.site);
            sync_round(&mut r, &reader, &opts, &mut |_| {}).expect("reader round");
            assert_eq!(r.cursor().expect("cursor"), after, "{}: cursor", case.name);
            assert_eq!(r.replica(), w.replica(), "{}: same state", case.name);
            server.stop();
        }
    }
}
