//! The outbox: the operations written here that wait to be pushed (`origin = 0`, `sync_state =
//! 0`), read from a low-water mark instead of an index.
//!
//! `meta.outbox_from` holds a `seq` at or below every waiting operation. Reading the outbox is
//! a range scan of the op log from there (its rowid), which at steady state passes a handful of
//! rows; a partial index of the waiting operations cost every registration a page. The mark
//! moves up when the hub accepts or refuses operations ([`advance`]) and down when refused
//! operations go back in the queue ([`lower_for_retry`]). A new operation takes a `seq` above
//! every other, so a write never moves it.
//!
//! **Architecture Invariant:** every local operation with `sync_state = 0` has `seq >=
//! outbox_from`; a missing row counts as 0 (all of the log).

use rusqlite::Connection;

use crate::Result;

/// The condition of a waiting operation, in SQL (the `ops` table, no parameters).
pub(crate) const WAITING: &str = "seq >= coalesce((SELECT CAST(value AS INTEGER) FROM meta
         WHERE key = 'outbox_from'), 0) AND origin = 0 AND sync_state = 0";

/// Moves the mark up to the oldest waiting operation (past the end of the log when none
/// waits), after operations left the queue. In the caller's transaction.
pub(crate) fn advance(tx: &Connection) -> Result<()> {
    tx.prepare_cached(&format!(
        "INSERT INTO meta (key, value) VALUES ('outbox_from', CAST(coalesce(
             (SELECT min(seq) FROM ops WHERE {WAITING}),
             (SELECT coalesce(max(seq), 0) + 1 FROM ops)) AS TEXT))
         ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE value <> excluded.value"
    ))?
    .execute([])?;
    Ok(())
}

/// Moves the mark down to the oldest of `site`'s refused operations, before they go back in
/// the queue. In the caller's transaction.
pub(crate) fn lower_for_retry(tx: &Connection, site: &[u8]) -> Result<()> {
    tx.prepare_cached(
        "UPDATE meta SET value = CAST(min(CAST(value AS INTEGER), coalesce(
             (SELECT min(seq) FROM ops WHERE origin = 0 AND sync_state = 2 AND site = ?1),
             CAST(value AS INTEGER))) AS TEXT)
         WHERE key = 'outbox_from'",
    )?
    .execute([site])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The plan of counting the operations that match `condition`, one line per step.
    fn plan(condition: &str) -> Vec<String> {
        let mut conn = rusqlite::Connection::open_in_memory().expect("db");
        crate::migrate(&mut conn, std::path::Path::new(":memory:")).expect("schema");
        let sql = format!("EXPLAIN QUERY PLAN SELECT count(*) FROM ops WHERE {condition}");
        let mut q = conn.prepare(&sql).expect("plan");
        q.query_map([], |r| r.get::<_, String>(3))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("plan rows")
    }

    /// The status bar counts the outbox and the refused operations every few seconds on a log
    /// of millions: a range of the log from the mark, and the refused ones' partial index;
    /// never a scan of all of it.
    #[test]
    fn the_outbox_is_read_from_the_mark_and_the_refused_from_their_index() {
        let waiting = plan(super::WAITING);
        assert!(
            waiting
                .iter()
                .any(|l| l.starts_with("SEARCH ops USING INTEGER PRIMARY KEY (rowid>?)")),
            "{waiting:?}"
        );
        let refused = plan("origin = 0 AND sync_state = 2");
        assert!(
            refused.iter().any(|l| l.contains("INDEX ops_rejected")),
            "{refused:?}"
        );
        for p in [waiting, refused] {
            let whole_log = |l: &&String| l.starts_with("SCAN ops") && !l.contains("INDEX");
            assert!(!p.iter().any(|l| whole_log(&l)), "{p:?}");
        }
    }
}
