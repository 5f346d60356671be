//! The patients' name index (`patient_fts`), caught up after the durable transaction.
//!
//! The fold does not write `patient_fts`: in the durable transaction that creates a patient,
//! changes a name or rebuilds a record, it marks the patient's rowid in `fts_pending`
//! ([`mark`]). [`catch_up`] writes the name keys of every marked rowid and clears the marks, in
//! a transaction of its own that the store runs right after each write commits, at open, and
//! before every name search ([`crate::Store::catch_up_names`]). That transaction may run at
//! `synchronous=NORMAL`: a power cut that loses it loses the clearing of the marks with it,
//! and the next open writes the keys again.
//!
//! **Architecture Invariant:** for every rowid, either `patient_fts` holds the name keys of
//! the patient with that rowid (none when there is no such patient), or `fts_pending` marks
//! it, and `indexed` says whether `patient_fts` holds terms for it. A mark is committed in the
//! transaction of the change it stands for.

use parchi_core::names;
use rusqlite::{Transaction, params};

use crate::Result;

/// Marks `rowid` for the next catch-up. `indexed`: `patient_fts` holds terms for this rowid
/// unless it is marked already (an existing patient renamed or rebuilt; not a new rowid). A
/// rowid marked already keeps its first mark: the index has not changed since.
pub(crate) fn mark(tx: &Transaction<'_>, rowid: i64, indexed: bool) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO fts_pending (rowid, indexed) VALUES (?1, ?2) ON CONFLICT (rowid) DO NOTHING",
    )?
    .execute(params![rowid, indexed])?;
    Ok(())
}

/// Whether any rowid waits for its name keys.
pub(crate) fn any_pending(conn: &rusqlite::Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM fts_pending)")?
        .query_row([], |r| r.get(0))?)
}

/// Writes the name keys of every marked rowid and clears the marks, in `tx` (which must hold
/// the write lock, so no mark arrives meanwhile). Returns how many rowids it caught up.
pub(crate) fn catch_up(tx: &Transaction<'_>) -> Result<usize> {
    let marked: Vec<(i64, bool)> = tx
        .prepare_cached("SELECT rowid, indexed FROM fts_pending")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    if marked.is_empty() {
        return Ok(0);
    }
    let mut drop_terms = tx.prepare_cached("DELETE FROM patient_fts WHERE rowid = ?1")?;
    let mut name_of = tx.prepare_cached("SELECT name FROM patients WHERE rowid = ?1")?;
    let mut add_terms =
        tx.prepare_cached("INSERT INTO patient_fts (rowid, terms) VALUES (?1, ?2)")?;
    for &(rowid, indexed) in &marked {
        if indexed {
            drop_terms.execute([rowid])?;
        }
        let mut rows = name_of.query([rowid])?;
        if let Some(row) = rows.next()? {
            let name: String = row.get(0)?;
            add_terms.execute(params![rowid, names::index_terms(&name)])?;
        }
    }
    tx.prepare_cached("DELETE FROM fts_pending")?.execute([])?;
    Ok(marked.len())
}
