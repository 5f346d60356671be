//! Hooks for tests and benchmarks, hidden from the documentation: the store's own search as a
//! baseline, the write lock held, and the schema turned back for the package upgrade test.

use crate::counter::{Counter, Result};

impl Counter {
    /// The store's own search, without the use case's composition around it: the baseline the
    /// benchmarks measure the use case against.
    #[doc(hidden)]
    pub fn bench_store_search(&self, query: &str, limit: usize) -> Result<usize> {
        Ok(self.store().search(query, limit)?.len())
    }

    /// The store's search of the mirror alone, for benchmarks.
    #[doc(hidden)]
    pub fn bench_mirror_search(&self, query: &str, limit: usize) -> Result<usize> {
        Ok(self.store().mirror_search(query, limit)?.len())
    }

    /// Turns the store back into schema 8, as the release before published configurations
    /// (migration 9), the visits read through the token index (10) and the outbox's mark (11)
    /// wrote it: for the package test that upgrades across migrations.
    /// Refused once a configuration was published here (the old schema cannot hold it).
    #[doc(hidden)]
    pub fn roll_back_schema_for_tests(&mut self) -> Result<()> {
        Ok(self.store().roll_back_schema_for_tests()?)
    }

    /// Takes the database's write lock and keeps it until this counter is dropped: for tests of
    /// what another process sees while a counter holds the lock.
    #[doc(hidden)]
    pub fn hold_write_lock_for_tests(&self) -> Result<()> {
        Ok(self
            .store()
            .connection()
            .execute_batch("BEGIN EXCLUSIVE")
            .map_err(parchi_store::StoreError::from)?)
    }
}
