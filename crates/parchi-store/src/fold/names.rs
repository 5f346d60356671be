//! The patients' name index (`patient_fts`), caught up after the durable transaction.
//!
//! The fold does not write `patient_fts`. A new patient takes a rowid above every document the
//! index holds ([`new_rowid`]), and that alone says its keys are still to be written: it is
//! above the index's *high-water mark*, the largest rowid `patient_fts` holds a document for.
//! A patient the index does hold, when renamed or rebuilt, is marked in `fts_pending`
//! ([`mark`]). [`catch_up`] writes the keys of every patient above the mark and of every marked
//! rowid, and clears the marks, in a transaction of its own that the store runs right after
//! each write commits, at open, and before every name search
//! ([`crate::Store::catch_up_names`]). That transaction may run at `synchronous=NORMAL`: a power
//! cut that loses it loses its documents with it, the high-water mark falls back with them, and
//! the next open writes the keys again.
//!
//! Registering writes no mark: a mark row costs a page in the durable transaction and another
//! when the catch-up clears it, about a tenth of what an encrypted registration writes.
//!
//! **Architecture Invariant:** for every patient, either `patient_fts` holds the keys of its
//! name, or its rowid is above the high-water mark, or `fts_pending` marks its rowid; and
//! `patient_fts` holds no document for a rowid that no patient has unless `fts_pending` marks
//! it. A mark's `indexed` says whether `patient_fts` holds a document for its rowid. Only the
//! catch-up and a rebuild of the whole index write documents, so the mark moves only there; a
//! mark is committed in the transaction of the change it stands for.

use parchi_core::names;
use rusqlite::{Connection, Transaction, params};

use crate::Result;

/// The largest rowid `patient_fts` holds a document for (0: none), in SQL. FTS5 keeps one
/// `docsize` row per document.
macro_rules! high_water_sql {
    () => {
        "SELECT coalesce(max(id), 0) FROM patient_fts_docsize"
    };
}
const HIGH_WATER: &str = high_water_sql!();

/// A patient row above the high-water mark and not marked: new, its keys to be written.
const FRESH: &str = concat!(
    "rowid > (",
    high_water_sql!(),
    ") AND rowid NOT IN (SELECT rowid FROM fts_pending)"
);

fn high_water(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(HIGH_WATER)?
        .query_row([], |r| r.get(0))?)
}

/// The rowid for a new patient: above every patient's and above the high-water mark (a rowid
/// whose old document waits to be dropped is never reused before the catch-up drops it).
pub(crate) fn new_rowid(tx: &Transaction<'_>) -> Result<i64> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT max(coalesce((SELECT max(rowid) FROM patients), 0), ({HIGH_WATER})) + 1"
        ))?
        .query_row([], |r| r.get(0))?)
}

/// Marks the existing patient `rowid` (renamed, or deleted to be rebuilt) for the next
/// catch-up: the index holds their old keys. Nothing to mark above the high-water mark, where
/// the catch-up finds the patient anyway and the index holds nothing to drop. A rowid marked
/// already keeps its first mark: the index has not changed since.
pub(crate) fn mark(tx: &Transaction<'_>, rowid: i64) -> Result<()> {
    if rowid > high_water(tx)? {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO fts_pending (rowid, indexed) VALUES (?1, 1) ON CONFLICT (rowid) DO NOTHING",
    )?
    .execute([rowid])?;
    Ok(())
}

/// Whether any patient waits for its name keys.
pub(crate) fn any_pending(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM fts_pending)
                 OR EXISTS (SELECT 1 FROM patients WHERE {FRESH})"
        ))?
        .query_row([], |r| r.get(0))?)
}

/// How many patients and marks wait for the catch-up (tests, diagnostics).
pub(crate) fn waiting(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT (SELECT count(*) FROM fts_pending)
                  + (SELECT count(*) FROM patients WHERE {FRESH})"
        ))?
        .query_row([], |r| r.get(0))?)
}

/// Writes the name keys of every patient above the high-water mark and of every marked rowid,
/// and clears the marks, in `tx` (which must hold the write lock, so nothing arrives
/// meanwhile). Returns how many rowids it caught up.
pub(crate) fn catch_up(tx: &Transaction<'_>) -> Result<usize> {
    // Marks from before the high-water rule may stand for new patients (`indexed` = 0).
    let marked: Vec<(i64, bool)> = tx
        .prepare_cached("SELECT rowid, indexed FROM fts_pending")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let fresh: Vec<i64> = tx
        .prepare_cached(&format!(
            "SELECT rowid FROM patients WHERE {FRESH} ORDER BY rowid"
        ))?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if marked.is_empty() && fresh.is_empty() {
        return Ok(0);
    }
    let mut drop_terms = tx.prepare_cached("DELETE FROM patient_fts WHERE rowid = ?1")?;
    let mut name_of = tx.prepare_cached("SELECT name FROM patients WHERE rowid = ?1")?;
    let mut add_terms =
        tx.prepare_cached("INSERT INTO patient_fts (rowid, terms) VALUES (?1, ?2)")?;
    let all = marked
        .iter()
        .copied()
        .chain(fresh.iter().map(|&r| (r, false)));
    for (rowid, indexed) in all {
        if indexed {
            drop_terms.execute([rowid])?;
        }
        let mut rows = name_of.query([rowid])?;
        if let Some(row) = rows.next()? {
            let name: String = row.get(0)?;
            add_terms.execute(params![rowid, names::index_terms(&name)])?;
        }
    }
    if !marked.is_empty() {
        tx.prepare_cached("DELETE FROM fts_pending")?.execute([])?;
    }
    Ok(marked.len() + fresh.len())
}
