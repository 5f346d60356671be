//! The convergence property through a real hub: N replicas, random ops, random delivery order,
//! duplicates and cuts; all end identical.

use parchi_core::testgen::arb_ops;
use parchi_core::{Op, Replica};
use parchi_sync::wire::{MirrorPage, PullResponse, PushResponse, Role};
use parchi_sync::{ClientError, HubClient, MemoryStore, RoundOptions, Transport, sync_round};
use proptest::prelude::*;
use std::cell::Cell;

use crate::common::{Backend, Server, site};

/// A transport that fails every `cut_every`-th call, as a flaky link does.
struct Flaky<'a> {
    inner: &'a HubClient,
    calls: Cell<usize>,
    cut_every: usize,
}

impl Transport for Flaky<'_> {
    fn push(&self, ops: &[Op]) -> Result<PushResponse, ClientError> {
        self.tick()?;
        self.inner.push(ops)
    }
    fn pull(&self, after: u64, limit: u32) -> Result<PullResponse, ClientError> {
        self.tick()?;
        self.inner.pull(after, limit)
    }
    fn pull_mirror(
        &self,
        after: u64,
        limit: u32,
        seen_since: Option<chrono::NaiveDate>,
    ) -> Result<MirrorPage, ClientError> {
        self.tick()?;
        self.inner.pull_mirror(after, limit, seen_since)
    }
}

impl Flaky<'_> {
    fn tick(&self) -> Result<(), ClientError> {
        let n = self.calls.get() + 1;
        self.calls.set(n);
        if self.cut_every > 0 && n.is_multiple_of(self.cut_every) {
            Err(ClientError::Unreachable("cut".into()))
        } else {
            Ok(())
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    #[test]
    fn replicas_converge_through_a_hub(
        ops in arb_ops(50),
        order in proptest::collection::vec(0usize..1000, 1..200),
        dup in proptest::collection::vec(any::<bool>(), 50),
        cut_every in 0usize..5,
        batch in 1usize..8,
    ) {
        let server = Server::start(Backend::Sqlite);
        // testgen ops come from sites 0..3 (bytes [0;16], [1;16], [2;16]); nil site 0 is not a
        // valid site on the wire, so move it to 3 (and the nil op ID likewise).
        let ops: Vec<Op> = ops.into_iter().map(|mut o| {
            if o.site.0.is_nil() { o.site = site(3); }
            if o.id.0.is_nil() { o.id = parchi_core::OpId::from_bytes([0xFF; 16]); }
            o
        }).collect();
        let sites = [site(3), site(1), site(2)];
        let mut replicas: Vec<(MemoryStore, HubClient)> = sites.iter().map(|s| {
            let (c, _) = server.enroll(Role::Counter, *s, Some("A"));
            (MemoryStore::new(*s), c)
        }).collect();
        // Each op is written at its own site, in a random order, some twice.
        let mut idx: Vec<usize> = (0..ops.len()).collect();
        for (i, o) in order.iter().enumerate() { let n = idx.len(); idx.swap(i % n, o % n); }
        for i in idx {
            let op = &ops[i];
            let r = sites.iter().position(|s| *s == op.site).expect("site");
            replicas[r].0.record(op.clone());
            if dup[i % dup.len()] { replicas[r].0.record(op.clone()); }
        }
        // Rounds over a flaky link until every round succeeds twice in a row for everyone.
        let opts = RoundOptions { push_batch: batch, pull_limit: batch as u32, ..RoundOptions::default() };
        // The cut pattern shifts from round to round (the call counter carries over).
        let calls: Vec<Cell<usize>> = (0..replicas.len()).map(|_| Cell::new(0)).collect();
        for _ in 0..6 {
            for (i, (store, client)) in replicas.iter_mut().enumerate() {
                let t = Flaky { inner: client, calls: Cell::new(calls[i].get()), cut_every };
                let _ = sync_round(store, &t, &opts, &mut |_| {});
                calls[i].set(t.calls.get() + 1);
            }
        }
        // Then the link heals: one round to push what is left, one to pull everything.
        for _ in 0..2 {
            for (store, client) in replicas.iter_mut() {
                sync_round(store, client, &opts, &mut |_| {}).expect("clean round");
            }
        }
        let mut reference = Replica::new();
        for op in &ops { reference.apply(op); }
        for (store, _) in &replicas {
            prop_assert_eq!(store.replica().patients().collect::<Vec<_>>(), reference.patients().collect::<Vec<_>>());
            prop_assert_eq!(store.replica().visits().collect::<Vec<_>>(), reference.visits().collect::<Vec<_>>());
        }
        prop_assert_eq!(server.stats().ops as usize, ops.len());
    }
}
