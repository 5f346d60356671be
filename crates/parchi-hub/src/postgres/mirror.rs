//! The mirror of the hospital's index in PostgreSQL. A batch is one transaction of a handful of
//! statements whatever its size: one lookup of the batch's UHIDs (`= ANY`), one `INSERT …
//! SELECT FROM UNNEST` of the new copies, one `UPDATE … FROM UNNEST` of the changed ones, one
//! `UPDATE … = ANY` of the unchanged ones' run, and the meta rows. Mirror writes have a
//! connection of their own, so an import never queues behind a push's commit or the other way
//! round.

use std::collections::HashMap;

use chrono::NaiveDate;
use deadpool_postgres::ClientWrapper;
use tokio_postgres::Client;

use crate::error::StorageError;
use crate::storage::{
    META_MIRROR_HEAD, META_MIRROR_RECORDS, MirrorRow, MirrorScan, MirrorWritten, from_i64,
    hash_bytes, hash_from, to_i64,
};

/// Schema version 3. UHIDs compare bytewise (`COLLATE "C"`): only equality and order matter,
/// and a locale's collation costs on every comparison of 40 million keys. `fillfactor` leaves
/// room on each page so a run update stays a HOT update (no index entry).
pub(super) const SCHEMA_V3: &str = r#"
CREATE TABLE mirror (
    uhid text COLLATE "C" PRIMARY KEY,
    seq bigint NOT NULL UNIQUE,
    hash bytea NOT NULL,
    seen date,
    record text NOT NULL,
    run text NOT NULL
) WITH (fillfactor = 90);
"#;

fn parse_meta(key: &str, v: Option<String>) -> Result<u64, StorageError> {
    match v {
        None => Ok(0),
        Some(v) => v
            .parse()
            .map_err(|_| StorageError::Corrupt(format!("meta {key} is not a number"))),
    }
}

async fn counters<C: tokio_postgres::GenericClient>(c: &C) -> Result<(u64, u64), StorageError> {
    let mut records = None;
    let mut head = None;
    for r in c
        .query(
            "SELECT key, value FROM meta WHERE key = ANY($1::text[])",
            &[&vec![META_MIRROR_RECORDS, META_MIRROR_HEAD]],
        )
        .await?
    {
        let k: String = r.try_get(0)?;
        let v: String = r.try_get(1)?;
        if k == META_MIRROR_RECORDS {
            records = Some(v);
        } else {
            head = Some(v);
        }
    }
    Ok((
        parse_meta(META_MIRROR_RECORDS, records)?,
        parse_meta(META_MIRROR_HEAD, head)?,
    ))
}

/// A copy to store: the row, its new seq, its hash as bytes, and whether the UHID is new.
type Put<'a> = (&'a MirrorRow, i64, [u8; 16], bool);

pub(super) async fn write(
    client: &mut Client,
    run: &str,
    rows: &[MirrorRow],
) -> Result<MirrorWritten, StorageError> {
    let tx = client.transaction().await?;
    let (records, head) = counters(&tx).await?;
    let mut out = MirrorWritten {
        head,
        records,
        ..MirrorWritten::default()
    };
    let uhids: Vec<&str> = rows.iter().map(|r| r.uhid.as_str()).collect();
    let mut held: HashMap<String, (u128, String)> = HashMap::with_capacity(rows.len());
    for r in tx
        .query(
            "SELECT uhid, hash, run FROM mirror WHERE uhid = ANY($1::text[])",
            &[&uhids],
        )
        .await?
    {
        let h: &[u8] = r.try_get(1)?;
        held.insert(r.try_get(0)?, (hash_from(h)?, r.try_get(2)?));
    }
    let mut put: Vec<Put<'_>> = Vec::with_capacity(rows.len());
    let mut touch: Vec<&str> = Vec::new();
    for row in rows {
        match held.get(&row.uhid) {
            Some((_, r)) if r == run => out.duplicates.push(row.index),
            Some((h, _)) if *h == row.hash => {
                touch.push(&row.uhid);
                out.unchanged += 1;
            }
            found => {
                let new = found.is_none();
                if new {
                    out.inserted += 1;
                    out.records += 1;
                } else {
                    out.updated += 1;
                }
                out.head += 1;
                put.push((row, to_i64(out.head), hash_bytes(row.hash), new));
            }
        }
    }
    let (fresh, replaced): (Vec<&Put<'_>>, Vec<&Put<'_>>) = put.iter().partition(|p| p.3);
    for (rows, sql) in [
        (
            fresh,
            "INSERT INTO mirror (uhid, seq, hash, seen, record, run) \
             SELECT u, s, h, d::date, r, $6 \
             FROM UNNEST($1::text[], $2::int8[], $3::bytea[], $4::text[], $5::text[]) AS t(u, s, h, d, r)",
        ),
        (
            replaced,
            "UPDATE mirror SET seq = t.s, hash = t.h, seen = t.d::date, record = t.r, run = $6 \
             FROM UNNEST($1::text[], $2::int8[], $3::bytea[], $4::text[], $5::text[]) AS t(u, s, h, d, r) \
             WHERE mirror.uhid = t.u",
        ),
    ] {
        if rows.is_empty() {
            continue;
        }
        let uhid: Vec<&str> = rows.iter().map(|p| p.0.uhid.as_str()).collect();
        let seq: Vec<i64> = rows.iter().map(|p| p.1).collect();
        let hash: Vec<&[u8]> = rows.iter().map(|p| &p.2[..]).collect();
        let seen: Vec<Option<&str>> = rows.iter().map(|p| p.0.seen.as_deref()).collect();
        let record: Vec<&str> = rows.iter().map(|p| p.0.record.as_str()).collect();
        tx.execute(sql, &[&uhid, &seq, &hash, &seen, &record, &run])
            .await?;
    }
    if !touch.is_empty() {
        tx.execute(
            "UPDATE mirror SET run = $2 WHERE uhid = ANY($1::text[])",
            &[&touch, &run],
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO meta (key, value) SELECT * FROM UNNEST($1::text[], $2::text[]) \
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        &[
            &vec![META_MIRROR_HEAD, META_MIRROR_RECORDS],
            &vec![out.head.to_string(), out.records.to_string()],
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}

const PAGE_SQL: &str = "SELECT seq, CASE WHEN $3::text IS NULL OR seen IS NULL OR seen >= $3::text::date \
     THEN record END FROM mirror WHERE seq > $1 ORDER BY seq LIMIT $2";
const GET_SQL: &str = "SELECT record FROM mirror WHERE uhid = $1";
const KNOWN_SQL: &str = "SELECT uhid FROM mirror WHERE uhid = ANY($1::text[])";

// The reads' statements are prepared once per connection (each pooled connection caches its
// own).

pub(super) async fn page(
    client: &ClientWrapper,
    after: u64,
    limit: u32,
    seen_since: Option<NaiveDate>,
) -> Result<Vec<MirrorScan>, StorageError> {
    let since = seen_since.map(|d| d.format("%Y-%m-%d").to_string());
    let st = client.prepare_cached(PAGE_SQL).await?;
    let rows = client
        .query(&st, &[&to_i64(after), &i64::from(limit), &since])
        .await?;
    rows.iter()
        .map(|r| {
            Ok(MirrorScan {
                seq: from_i64(r.try_get(0)?),
                record: r.try_get(1)?,
            })
        })
        .collect()
}

pub(super) async fn get(
    client: &ClientWrapper,
    uhid: &str,
) -> Result<Option<String>, StorageError> {
    let st = client.prepare_cached(GET_SQL).await?;
    Ok(client
        .query_opt(&st, &[&uhid])
        .await?
        .map(|r| r.try_get(0))
        .transpose()?)
}

pub(super) async fn known(
    client: &ClientWrapper,
    uhids: &[String],
) -> Result<Vec<String>, StorageError> {
    let st = client.prepare_cached(KNOWN_SQL).await?;
    client
        .query(&st, &[&uhids])
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

pub(super) async fn stats(client: &Client) -> Result<(u64, u64), StorageError> {
    counters(client).await
}
