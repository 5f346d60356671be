//! The counter's pull decoders: a `GET /v1/pull` page (`PullResponse`) and a `GET /v1/mirror`
//! page (`MirrorPage`), decoded from any bytes as `HubClient` does (serde_json) and checked with
//! `check_page` / `check_mirror_page`, then applied to the in-memory counter store.
//!
//! Input: a first line `pull <after> <limit>` or `mirror <after> <limit>` (the request the page
//! answers), then the response body. Anything else is read as a pull page for `after=0
//! limit=500`.
//!
//! Properties of a page the check accepts:
//! - pull: at most `max(limit, 1)` ops, seqs strictly increasing after `after`, `next` the last
//!   seq (or `after`), no empty page saying more follow; applying it (twice) moves the store's
//!   cursor to `next`; the counter's clock, observing the ops' stamps, stays within the drift
//!   bound and its next stamp is after them; the valid ops of the page merge to the same state
//!   in any order and with repeats;
//! - mirror: at most `clamp(limit, 1, MAX_MIRROR_LIMIT)` records, `after <= next <= head`, a page
//!   that does not move says nothing follows; applying it moves the mirror cursor to `next`;
//! - both re-encode to JSON that decodes to the same page.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use parchi_core::hlc::{Clock, DEFAULT_MAX_DRIFT_MS};
use parchi_core::replica::Replica;
use parchi_core::{Hlc, Op, SiteId};
use parchi_sync::validate::validate_op;
use parchi_sync::client::{check_mirror_page, check_page};
use parchi_sync::wire::{MAX_MIRROR_LIMIT, PullResponse};
use parchi_sync::{MemoryStore, MirrorPage, SyncStore};

/// The counter's wall clock while it applies the page: 2026-12-01.
const NOW_MS: u64 = 1_796_083_200_000;

fn request(data: &[u8]) -> (bool, u64, u32, &[u8]) {
    let nl = data.iter().position(|&b| b == b'\n');
    if let Some(i) = nl
        && let Ok(line) = std::str::from_utf8(&data[..i])
    {
        let mut w = line.split(' ');
        let kind = w.next();
        let after = w.next().and_then(|a| a.parse::<u64>().ok());
        let limit = w.next().and_then(|l| l.parse::<u32>().ok());
        if let (Some(k @ ("pull" | "mirror")), Some(after), Some(limit), None) =
            (kind, after, limit, w.next())
        {
            return (k == "mirror", after, limit, &data[i + 1..]);
        }
    }
    (false, 0, 500, data)
}

fn pull(after: u64, limit: u32, body: &[u8]) {
    let Ok(resp) = serde_json::from_slice::<PullResponse>(body) else {
        return;
    };
    if check_page(after, limit, &resp).is_err() {
        return;
    }
    assert!(resp.ops.len() <= limit.max(1) as usize);
    let mut last = after;
    for op in &resp.ops {
        assert!(op.seq > last, "seqs not increasing");
        last = op.seq;
    }
    assert_eq!(resp.next, last);
    assert!(!(resp.ops.is_empty() && resp.more));
    let json = serde_json::to_vec(&resp).expect("encodes");
    let again: PullResponse = serde_json::from_slice(&json).expect("re-encoded page decodes");
    assert!(again == resp, "page does not survive re-encoding");

    // The in-memory counter store takes any page the check passed, twice (delivery repeats).
    let mut store = MemoryStore::new(SiteId::from_bytes([7; 16]));
    store.apply_pulled(&resp.ops, resp.next).expect("memory store");
    assert_eq!(store.cursor().expect("cursor"), resp.next);
    store.apply_pulled(&resp.ops, resp.next).expect("memory store");

    // The counter's clock observes every op's effective HLC (as the SQLite store does): it never
    // runs ahead of the drift bound, and the next local stamp is after all it saw.
    let mut clock = Clock::resume(Hlc::ZERO, DEFAULT_MAX_DRIFT_MS);
    let bound = Hlc::new(NOW_MS + DEFAULT_MAX_DRIFT_MS, 0);
    for op in &resp.ops {
        clock.observe(op.effective_hlc, NOW_MS);
        assert!(clock.last() <= bound, "a pulled stamp dragged the clock past the bound");
        assert!(clock.last() >= op.effective_hlc.min(bound));
    }
    let seen = clock.last();
    assert!(clock.tick(NOW_MS) > seen, "a local stamp not after the pulled ones");

    // The merge rules: the ops of a page (valid, with distinct IDs, as the hub hands out) give
    // the same state whatever the order and however often they arrive.
    let ops: Vec<Op> = resp
        .ops
        .iter()
        .map(|p| p.effective_op())
        .filter(|op| validate_op(op).is_ok())
        .collect();
    let ids: HashSet<_> = ops.iter().map(|o| o.id).collect();
    if ids.len() == ops.len() {
        let mut forward = Replica::new();
        for op in &ops {
            forward.apply(op);
        }
        let mut backward = Replica::new();
        for op in ops.iter().rev().chain(ops.iter()) {
            backward.apply(op);
        }
        assert!(forward == backward, "the merge depends on the order of a page's ops");
    }
}

fn mirror(after: u64, limit: u32, body: &[u8]) {
    let Ok(page) = serde_json::from_slice::<MirrorPage>(body) else {
        return;
    };
    if check_mirror_page(after, limit, &page).is_err() {
        return;
    }
    assert!(page.records.len() <= limit.clamp(1, MAX_MIRROR_LIMIT) as usize);
    assert!(after <= page.next && page.next <= page.head);
    if page.next == after {
        assert!(!page.more && page.records.is_empty());
    }
    let json = serde_json::to_vec(&page).expect("encodes");
    let again: MirrorPage = serde_json::from_slice(&json).expect("re-encoded page decodes");
    assert!(again == page, "page does not survive re-encoding");

    let mut store = MemoryStore::new(SiteId::from_bytes([7; 16]));
    store.apply_mirror(&page).expect("memory store");
    assert_eq!(store.mirror_cursor().expect("cursor"), page.next);
}

fuzz_target!(|data: &[u8]| {
    let (is_mirror, after, limit, body) = request(data);
    if is_mirror {
        mirror(after, limit, body);
    } else {
        pull(after, limit, body);
    }
});
