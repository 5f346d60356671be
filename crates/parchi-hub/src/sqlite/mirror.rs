//! The mirror of the hospital's index in SQLite: one row per UHID with the seq of its stored
//! copy, the copy's hash, when the hospital last saw the patient, the canonical JSON and the
//! import run that last wrote it.
//!
//! A batch is one transaction of cached prepared statements: one lookup of the batch's UHIDs
//! (through `json_each`), then an insert, a replacement or a run update per row.

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::StorageError;
use crate::storage::{
    META_MIRROR_HEAD, META_MIRROR_RECORDS, MirrorRow, MirrorScan, MirrorWritten, from_i64,
    hash_bytes, hash_from, to_i64,
};

/// Schema version 3. `WITHOUT ROWID`: the rows live in the UHID's B-tree (a lookup is one
/// descent); the seq index is what pages read in order.
pub(super) const SCHEMA_V3: &str = "
CREATE TABLE mirror (
    uhid TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    hash BLOB NOT NULL,
    seen TEXT,
    record TEXT NOT NULL,
    run TEXT NOT NULL
) WITHOUT ROWID;
";

fn meta_u64(tx: &Transaction<'_>, key: &str) -> Result<u64, StorageError> {
    let v: Option<String> = tx
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    match v {
        None => Ok(0),
        Some(v) => v
            .parse()
            .map_err(|_| StorageError::Corrupt(format!("meta {key} is not a number"))),
    }
}

fn json_list(uhids: impl Iterator<Item = impl AsRef<str>>) -> Result<String, StorageError> {
    let v: Vec<String> = uhids.map(|u| u.as_ref().to_string()).collect();
    serde_json::to_string(&v).map_err(|e| StorageError::Corrupt(format!("UHID list: {e}")))
}

pub(super) fn write(
    conn: &mut Connection,
    run: &str,
    rows: &[MirrorRow],
) -> Result<MirrorWritten, StorageError> {
    let tx = conn.transaction()?;
    let mut out = MirrorWritten {
        head: meta_u64(&tx, META_MIRROR_HEAD)?,
        records: meta_u64(&tx, META_MIRROR_RECORDS)?,
        ..MirrorWritten::default()
    };
    let mut held: HashMap<String, (u128, String)> = HashMap::with_capacity(rows.len());
    {
        let mut st = tx.prepare_cached(
            "SELECT uhid, hash, run FROM mirror WHERE uhid IN (SELECT value FROM json_each(?1))",
        )?;
        let mut found = st.query([json_list(rows.iter().map(|r| &r.uhid))?])?;
        while let Some(r) = found.next()? {
            held.insert(r.get(0)?, (hash_from(r.get_ref(1)?.as_blob()?)?, r.get(2)?));
        }
    }
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO mirror (uhid, seq, hash, seen, record, run) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut replace = tx.prepare_cached(
            "UPDATE mirror SET seq = ?2, hash = ?3, seen = ?4, record = ?5, run = ?6 WHERE uhid = ?1",
        )?;
        let mut touch = tx.prepare_cached("UPDATE mirror SET run = ?2 WHERE uhid = ?1")?;
        for row in rows {
            let stmt = match held.get(&row.uhid) {
                Some((_, r)) if r == run => {
                    out.duplicates.push(row.index);
                    continue;
                }
                Some((h, _)) if *h == row.hash => {
                    touch.execute(params![row.uhid, run])?;
                    out.unchanged += 1;
                    continue;
                }
                Some(_) => {
                    out.updated += 1;
                    &mut replace
                }
                None => {
                    out.inserted += 1;
                    out.records += 1;
                    &mut insert
                }
            };
            out.head += 1;
            stmt.execute(params![
                row.uhid,
                to_i64(out.head),
                &hash_bytes(row.hash)[..],
                row.seen,
                row.record,
                run
            ])?;
        }
        let mut meta =
            tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
        meta.execute(params![META_MIRROR_HEAD, out.head.to_string()])?;
        meta.execute(params![META_MIRROR_RECORDS, out.records.to_string()])?;
    }
    tx.commit()?;
    Ok(out)
}

pub(super) fn page(
    conn: &Connection,
    after: u64,
    limit: u32,
    seen_since: Option<NaiveDate>,
) -> Result<Vec<MirrorScan>, StorageError> {
    let since = seen_since.map(|d| d.format("%Y-%m-%d").to_string());
    let mut st = conn.prepare_cached(
        "SELECT seq, CASE WHEN ?3 IS NULL OR seen IS NULL OR seen >= ?3 THEN record END \
         FROM mirror WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let mut rows = st.query(params![to_i64(after), i64::from(limit), since])?;
    let mut out = Vec::with_capacity((limit as usize).min(10_000));
    while let Some(r) = rows.next()? {
        out.push(MirrorScan {
            seq: from_i64(r.get(0)?),
            record: r.get(1)?,
        });
    }
    Ok(out)
}

pub(super) fn get(conn: &Connection, uhid: &str) -> Result<Option<String>, StorageError> {
    Ok(conn
        .prepare_cached("SELECT record FROM mirror WHERE uhid = ?1")?
        .query_row([uhid], |r| r.get(0))
        .optional()?)
}

pub(super) fn known(conn: &Connection, uhids: &[String]) -> Result<Vec<String>, StorageError> {
    let mut st = conn.prepare_cached(
        "SELECT uhid FROM mirror WHERE uhid IN (SELECT value FROM json_each(?1))",
    )?;
    let mut rows = st.query([json_list(uhids.iter())?])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(r.get(0)?);
    }
    Ok(out)
}

pub(super) fn stats(conn: &mut Connection) -> Result<(u64, u64), StorageError> {
    let tx = conn.transaction()?;
    let s = (
        meta_u64(&tx, META_MIRROR_RECORDS)?,
        meta_u64(&tx, META_MIRROR_HEAD)?,
    );
    tx.commit()?;
    Ok(s)
}
