//! Catching the name index up after the durable transaction (the marks and their rules are in
//! `fold/names.rs`).
//!
//! A write commits its change durably (`synchronous=FULL`), new patients above the index's
//! high-water mark and renamed ones marked, then writes the name keys in a second, lighter
//! transaction (`synchronous=NORMAL`: no fsync of its own; it becomes durable with the next
//! full commit or checkpoint, and if a power cut loses it, what it caught up waits again).
//! Opening the store and every name search catch up first too, so a search never misses a
//! committed patient, and a crash between the two transactions costs nothing but the catch-up
//! at the next open.

use std::time::Duration;

use rusqlite::{Transaction, TransactionBehavior};

use crate::fold::names;
use crate::{Result, Store};

/// How long a catch-up that must happen (open, search) waits for another connection's write.
const BUSY_WAIT: Duration = Duration::from_secs(5);

impl Store {
    /// Writes the name keys of every patient committed without them yet (new, renamed or
    /// rebuilt, by this connection or another one), in one transaction of its own. Returns how
    /// many records it indexed; 0, after one read, when the index is up to date.
    pub fn catch_up_names(&self) -> Result<usize> {
        self.catch_up_index(true)
    }

    /// How many patients wait for their name keys (above the high-water mark, or marked).
    #[doc(hidden)]
    pub fn names_waiting(&self) -> Result<i64> {
        names::waiting(&self.conn)
    }

    /// [`Store::catch_up_names`] right after a write's commit: gives way at once when another
    /// connection holds the write lock (every writer catches up after its own commit, and the
    /// next search catches up in any case). Its error is not the write's: the write committed,
    /// and what it did not catch up waits for the next catch-up.
    pub(crate) fn catch_up_after_write(&self) {
        let _ = self.catch_up_index(false);
    }

    fn catch_up_index(&self, wait: bool) -> Result<usize> {
        if !names::any_pending(&self.conn)? {
            return Ok(0);
        }
        if !wait {
            self.conn.busy_timeout(Duration::ZERO)?;
        }
        self.relaxed.set(true);
        let out = self.catch_up_relaxed();
        let durable = self.durable_again();
        let waits = self.conn.busy_timeout(BUSY_WAIT);
        let n = out?;
        durable?;
        waits?;
        Ok(n)
    }

    /// The catch-up transaction at `synchronous=NORMAL` (the caller puts FULL back).
    fn catch_up_relaxed(&self) -> Result<usize> {
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)?;
        let n = names::catch_up(&tx)?;
        tx.commit()?;
        Ok(n)
    }

    /// Puts the connection back to `synchronous=FULL` after a catch-up. Every durable write
    /// calls this first, so a connection left relaxed by a failure refuses to write rather
    /// than commit without its fsync.
    pub(crate) fn durable_again(&self) -> Result<()> {
        if self.relaxed.get() {
            self.conn.pragma_update(None, "synchronous", "FULL")?;
            self.relaxed.set(false);
        }
        Ok(())
    }
}
