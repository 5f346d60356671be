//! The mirror: a read-only copy of the hospital's patient index, kept beside the Parchi
//! patients so a returning patient is found by the UHID on their card with no network.
//!
//! Mirror records are not operations and never enter the fold: a newer copy of a record
//! replaces the older one by UHID, and nothing else writes them. They come from a local import
//! (`parchi mirror import`) or, page by page, from the hub (the cursor moves in the same
//! transaction as the records it covers).

use chrono::NaiveDate;
use parchi_core::names;
use parchi_core::{CentralPatient, Uhid};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;

use crate::query::search::{NameIndex, Query, classify, prefix_upper_bound};
use crate::records::MatchKind;
use crate::{Result, Store, StoreError, get_meta, set_meta};

/// What writing a batch of mirror records did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MirrorWrite {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Positions in the batch of records whose UHID this import run had already written (a
    /// UHID listed twice in one file): the first stays, these are skipped.
    pub duplicates: Vec<usize>,
}

/// How current this installation's mirror is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MirrorStatus {
    pub records: u64,
    /// When the hospital's index was copied (as its export said, or the import's time).
    pub as_of: Option<String>,
    /// How far this counter has pulled the hub's mirror.
    pub cursor: u64,
}

/// One mirror record a search found.
#[derive(Clone, Debug, Serialize)]
pub struct MirrorHit {
    pub record: CentralPatient,
    pub matched: MatchKind,
    pub score: f64,
}

const MIRROR_COLS: &str = "rowid, record";
const META_AS_OF: &str = "mirror_as_of";
const META_CURSOR: &str = "mirror_cursor";
/// The `seen_since` the hub's mirror was last pulled with (`all`: everyone).
const META_WINDOW: &str = "mirror_window";

fn decode(rowid: i64, json: &str) -> Result<(i64, CentralPatient)> {
    Ok((rowid, serde_json::from_str(json)?))
}

fn write_one(
    tx: &Transaction<'_>,
    rec: &CentralPatient,
    run: Option<i64>,
    out: &mut MirrorWrite,
    index: usize,
) -> Result<()> {
    let json = serde_json::to_string(rec).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let existing: Option<(i64, String, String, Option<i64>)> = tx
        .prepare_cached("SELECT rowid, record, name, run FROM mirror WHERE uhid = ?1")?
        .query_row([rec.uhid.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((rowid, old, old_name, old_run)) = existing else {
        tx.prepare_cached(
            "INSERT INTO mirror (uhid, name, mobile, abha_number, seen, record, run)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            rec.uhid.as_str(),
            rec.name.as_str(),
            rec.mobile.as_ref().map(|m| m.as_str()),
            rec.abha_number.as_ref().map(|a| a.as_str()),
            rec.seen.map(|d| d.to_string()),
            json,
            run
        ])?;
        let rowid = tx.last_insert_rowid();
        tx.prepare_cached("INSERT INTO mirror_fts (rowid, terms) VALUES (?1, ?2)")?
            .execute(params![rowid, names::index_terms(rec.name.as_str())])?;
        out.inserted += 1;
        return Ok(());
    };
    if run.is_some() && old_run == run {
        out.duplicates.push(index);
        return Ok(());
    }
    if old == json {
        if run.is_some() {
            tx.prepare_cached("UPDATE mirror SET run = ?2 WHERE rowid = ?1")?
                .execute(params![rowid, run])?;
        }
        out.unchanged += 1;
        return Ok(());
    }
    tx.prepare_cached(
        "UPDATE mirror SET name = ?2, mobile = ?3, abha_number = ?4, seen = ?5, record = ?6, run = ?7
         WHERE rowid = ?1",
    )?
    .execute(params![
        rowid,
        rec.name.as_str(),
        rec.mobile.as_ref().map(|m| m.as_str()),
        rec.abha_number.as_ref().map(|a| a.as_str()),
        rec.seen.map(|d| d.to_string()),
        json,
        run
    ])?;
    if old_name != rec.name.as_str() {
        tx.prepare_cached("DELETE FROM mirror_fts WHERE rowid = ?1")?
            .execute([rowid])?;
        tx.prepare_cached("INSERT INTO mirror_fts (rowid, terms) VALUES (?1, ?2)")?
            .execute(params![rowid, names::index_terms(rec.name.as_str())])?;
    }
    out.updated += 1;
    Ok(())
}

impl Store {
    /// Writes a batch of mirror records from a local import, in one transaction. `run`
    /// identifies the import (one file), so a UHID the same run already wrote is reported as a
    /// duplicate instead of silently overwriting the first.
    pub fn mirror_write(&mut self, records: &[CentralPatient], run: u64) -> Result<MirrorWrite> {
        let run = i64::from_ne_bytes(run.to_ne_bytes());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = MirrorWrite::default();
        for (i, rec) in records.iter().enumerate() {
            write_one(&tx, rec, Some(run), &mut out, i)?;
        }
        tx.commit()?;
        Ok(out)
    }

    /// Applies a page of the hub's mirror and moves the mirror cursor to `next`, in one
    /// transaction (the cursor never runs ahead of what is stored).
    pub fn mirror_apply_page(
        &mut self,
        records: &[CentralPatient],
        next: u64,
        as_of: Option<&str>,
    ) -> Result<MirrorWrite> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = MirrorWrite::default();
        for (i, rec) in records.iter().enumerate() {
            write_one(&tx, rec, None, &mut out, i)?;
        }
        set_meta(&tx, META_CURSOR, &next.to_string())?;
        if let Some(a) = as_of {
            set_meta(&tx, META_AS_OF, a)?;
        }
        tx.commit()?;
        Ok(out)
    }

    /// Records when the hospital's index was copied (after a local import).
    pub fn set_mirror_as_of(&mut self, as_of: &str) -> Result<()> {
        set_meta(&self.conn, META_AS_OF, as_of)
    }

    /// How far this counter has pulled the hub's mirror.
    pub fn mirror_cursor(&self) -> Result<u64> {
        Ok(get_meta(&self.conn, META_CURSOR)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Records the window the hub's mirror is pulled with from now on: patients the hospital
    /// saw since this day (`None`: everyone). A wider window than the last pull's (an earlier
    /// day, or everyone) starts the pull over from the beginning, since the hub left out the
    /// patients the narrower one did not cover; records already held are replaced by UHID as
    /// they come again. Returns whether it started over. A narrower window (every day moves
    /// it on) changes nothing held.
    pub fn mirror_set_window(&mut self, since: Option<NaiveDate>) -> Result<bool> {
        let text = since.map_or_else(|| "all".to_owned(), |d| d.to_string());
        let tx = self.conn.transaction()?;
        let wider = match get_meta(&tx, META_WINDOW)?.as_deref() {
            // Never recorded (a store from before windows were): the current one is assumed.
            None => false,
            Some("all") => false,
            Some(old) => match (old.parse::<NaiveDate>(), since) {
                (Ok(old), Some(new)) => new < old,
                _ => true,
            },
        };
        if wider {
            set_meta(&tx, META_CURSOR, "0")?;
        }
        set_meta(&tx, META_WINDOW, &text)?;
        tx.commit()?;
        Ok(wider)
    }

    /// Whether this installation holds any mirror at all (cheap: no count).
    pub fn has_mirror(&self) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM mirror)")?
            .query_row([], |r| r.get(0))?)
    }

    /// When the hospital's index was copied, as recorded.
    pub fn mirror_as_of(&self) -> Result<Option<String>> {
        get_meta(&self.conn, META_AS_OF)
    }

    /// About how many records the mirror holds (its highest rowid: one lookup, where
    /// [`Store::mirror_status`] counts them all).
    pub fn mirror_size_estimate(&self) -> Result<u64> {
        let top: Option<i64> = self
            .conn
            .query_row("SELECT max(rowid) FROM mirror", [], |r| r.get(0))?;
        Ok(top.unwrap_or(0).max(0) as u64)
    }

    /// How many records, as of when, how far pulled. Counts every record: not for a hot path.
    pub fn mirror_status(&self) -> Result<MirrorStatus> {
        let records: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM mirror", [], |r| r.get(0))?;
        Ok(MirrorStatus {
            records: records.max(0) as u64,
            as_of: get_meta(&self.conn, META_AS_OF)?,
            cursor: self.mirror_cursor()?,
        })
    }

    /// The mirror's record of a UHID.
    pub fn mirror_record(&self, uhid: &Uhid) -> Result<Option<CentralPatient>> {
        let json: Option<String> = self
            .conn
            .prepare_cached("SELECT record FROM mirror WHERE uhid = ?1")?
            .query_row([uhid.as_str()], |r| r.get(0))
            .optional()?;
        Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
    }

    /// Mirror records in storage order after `after` (a rowid), at most `limit`: for streaming
    /// the whole mirror past the link without holding it in memory.
    pub fn mirror_scan(&self, after: i64, limit: usize) -> Result<Vec<(i64, CentralPatient)>> {
        let mut q = self.conn.prepare_cached(&format!(
            "SELECT {MIRROR_COLS} FROM mirror WHERE rowid > ?1 ORDER BY rowid LIMIT ?2"
        ))?;
        let rows = q.query_map(params![after, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::with_capacity(limit.min(10_000));
        for row in rows {
            let (rowid, json) = row?;
            out.push(decode(rowid, &json)?);
        }
        Ok(out)
    }

    fn mirror_where(&self, cond: &str, args: &[&str], limit: usize) -> Result<Vec<MirrorHitRow>> {
        let sql = format!("SELECT {MIRROR_COLS} FROM mirror WHERE {cond} LIMIT {limit}");
        let mut q = self.conn.prepare_cached(&sql)?;
        let rows = q.query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        rows.map(|r| {
            let (rowid, json) = r?;
            decode(rowid, &json)
        })
        .collect()
    }

    /// Search as you type in the mirror: UHID (exact, or by prefix while a scanner or the clerk
    /// types it), mobile, ABHA number, or a misspelt name. Same rules as [`Store::search`].
    pub fn mirror_search(&self, query: &str, limit: usize) -> Result<Vec<MirrorHit>> {
        let hits = |kind, rows: Vec<MirrorHitRow>| -> Vec<MirrorHit> {
            rows.into_iter()
                .map(|(_, record)| MirrorHit {
                    record,
                    matched: kind,
                    score: 1.0,
                })
                .collect()
        };
        Ok(match classify(query, limit)? {
            Query::Nothing | Query::PatientId(_) | Query::AbhaAddress(_) => Vec::new(),
            Query::Mobile(m) => hits(
                MatchKind::Mobile,
                self.mirror_where("mobile = ?1", &[m.as_str()], limit)?,
            ),
            Query::AbhaNumber(a) => hits(
                MatchKind::AbhaNumber,
                self.mirror_where("abha_number = ?1", &[a.as_str()], limit)?,
            ),
            Query::MobilePrefix(d) => hits(
                MatchKind::Mobile,
                self.mirror_where(
                    "mobile >= ?1 AND mobile < ?2 ORDER BY mobile",
                    &[&d, &prefix_upper_bound(&d)],
                    limit,
                )?,
            ),
            Query::Identifier { uhid: None, .. } => Vec::new(),
            Query::Identifier { uhid: Some(u), .. } => {
                let exact = self.mirror_where("uhid = ?1", &[u.as_str()], 1)?;
                if exact.is_empty() {
                    hits(
                        MatchKind::Uhid,
                        self.mirror_where(
                            "uhid >= ?1 AND uhid < ?2 ORDER BY uhid",
                            &[u.as_str(), &prefix_upper_bound(u.as_str())],
                            limit,
                        )?,
                    )
                } else {
                    hits(MatchKind::Uhid, exact)
                }
            }
            Query::Name(q) => {
                let ranked = self.rank_names(NameIndex::Mirror, &q)?;
                self.mirror_name_hits(ranked, limit)?
            }
        })
    }

    /// The mirror records of ranked name candidates, at most `limit`, best first.
    pub(crate) fn mirror_name_hits(
        &self,
        mut ranked: Vec<(f64, i64)>,
        limit: usize,
    ) -> Result<Vec<MirrorHit>> {
        ranked.truncate(limit);
        let mut out = Vec::with_capacity(ranked.len());
        let mut qy = self.conn.prepare_cached(&format!(
            "SELECT {MIRROR_COLS} FROM mirror WHERE rowid = ?1"
        ))?;
        for (score, rowid) in ranked {
            let row: Option<String> = qy.query_row([rowid], |r| r.get(1)).optional()?;
            if let Some(json) = row {
                out.push(MirrorHit {
                    record: decode(rowid, &json)?.1,
                    matched: MatchKind::Name,
                    score,
                });
            }
        }
        Ok(out)
    }
}

type MirrorHitRow = (i64, CentralPatient);
