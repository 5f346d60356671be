//! The reads of the PostgreSQL backend, each on one pooled connection.

use futures_util::TryStreamExt;
use parchi_core::{OpId, SiteId};
use tokio_postgres::Client;

use super::{DEVICE_COLS, device_from_row, opt_u64, params_iter, states};
use crate::error::StorageError;
use crate::storage::{
    Counts, Loaded, QuarantineRow, SiteRow, StoredOp, decode_keys, from_i64, hash_from, id16,
    read_segment, to_i64,
};

pub(super) async fn load(c: &Client) -> Result<Loaded, StorageError> {
    let mut l = Loaded::default();
    {
        let rows = c
            .query_raw(
                "SELECT first_seq, n, keys FROM op_log ORDER BY first_seq",
                params_iter(&[]),
            )
            .await?;
        futures_util::pin_mut!(rows);
        while let Some(r) = rows.try_next().await? {
            let first = from_i64(r.try_get(0)?);
            let n = from_i64(r.try_get(1)?);
            if first != l.head + 1 {
                return Err(StorageError::Corrupt(format!(
                    "op log has a gap: segment at seq {first} after {}",
                    l.head
                )));
            }
            let keys: &[u8] = r.try_get(2)?;
            l.index
                .extend(decode_keys(keys, n)?.map(|k| (k.op_id, k.hash)));
            l.head = first + n - 1;
        }
    }
    for r in c.query("SELECT op_id, hash FROM quarantine", &[]).await? {
        let id: &[u8] = r.try_get(0)?;
        let h: &[u8] = r.try_get(1)?;
        l.quarantine_keys
            .push((OpId::from_bytes(id16(id)?), hash_from(h)?));
    }
    l.patients = states(c, "SELECT id, seq, state FROM patients").await?;
    l.visits = states(c, "SELECT id, seq, state FROM visits").await?;
    for r in c
        .query(&format!("SELECT {DEVICE_COLS} FROM devices"), &[])
        .await?
    {
        l.devices.push(device_from_row(&r)?);
    }
    for r in c
        .query(
            "SELECT site, ops, clock_ahead, quarantined, last_push_ms FROM sites",
            &[],
        )
        .await?
    {
        let site: &[u8] = r.try_get(0)?;
        l.sites.push(SiteRow {
            site: SiteId::from_bytes(id16(site)?),
            ops: from_i64(r.try_get(1)?),
            clock_ahead: from_i64(r.try_get(2)?),
            quarantined: from_i64(r.try_get(3)?),
            last_push_ms: opt_u64(r.try_get(4)?),
        });
    }
    for r in c.query("SELECT key, value FROM meta", &[]).await? {
        l.meta.push((r.try_get(0)?, r.try_get(1)?));
    }
    Ok(l)
}

pub(super) async fn pull(
    c: &Client,
    after: u64,
    limit: u32,
) -> Result<Vec<StoredOp>, StorageError> {
    // The segment holding `after` (segments are contiguous), then those after it, a few at
    // a time.
    let limit = limit as usize;
    let mut out = Vec::with_capacity(limit.min(10_000));
    let mut from: i64 = c
        .query_one(
            "SELECT coalesce(max(first_seq), 0) FROM op_log WHERE first_seq <= $1",
            &[&to_i64(after)],
        )
        .await?
        .try_get(0)?;
    loop {
        let rows = c
            .query(
                "SELECT first_seq, n, keys, body FROM op_log WHERE first_seq >= $1 \
                 ORDER BY first_seq LIMIT 8",
                &[&from],
            )
            .await?;
        let last_page = rows.len() < 8;
        for r in &rows {
            let first = from_i64(r.try_get(0)?);
            let n = from_i64(r.try_get(1)?);
            let keys: &[u8] = r.try_get(2)?;
            let body: &[u8] = r.try_get(3)?;
            read_segment(first, n, keys, body, after, limit, &mut out)?;
            from = to_i64(first + n);
            if out.len() >= limit {
                return Ok(out);
            }
        }
        if last_page {
            return Ok(out);
        }
    }
}

pub(super) async fn quarantined(
    c: &Client,
    limit: u32,
) -> Result<Vec<(u64, QuarantineRow)>, StorageError> {
    let rows = c
        .query(
            "SELECT id, op_id, site, device_id, received_ms, hash, payload FROM quarantine ORDER BY id LIMIT $1",
            &[&i64::from(limit)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let op_id: &[u8] = r.try_get(1)?;
            let site: &[u8] = r.try_get(2)?;
            let hash: &[u8] = r.try_get(5)?;
            Ok((
                from_i64(r.try_get(0)?),
                QuarantineRow {
                    op_id: OpId::from_bytes(id16(op_id)?),
                    site: SiteId::from_bytes(id16(site)?),
                    device_id: r.try_get(3)?,
                    received_ms: from_i64(r.try_get(4)?),
                    hash: hash_from(hash)?,
                    payload: r.try_get(6)?,
                },
            ))
        })
        .collect()
}

pub(super) async fn counts(c: &Client) -> Result<Counts, StorageError> {
    let r = c
        .query_one(
            "SELECT (SELECT coalesce(sum(n), 0)::bigint FROM op_log), (SELECT count(*) FROM quarantine), \
             (SELECT count(*) FROM patients), (SELECT count(*) FROM visits), (SELECT count(*) FROM devices)",
            &[],
        )
        .await?;
    Ok(Counts {
        ops: from_i64(r.try_get(0)?),
        quarantined: from_i64(r.try_get(1)?),
        patients: from_i64(r.try_get(2)?),
        visits: from_i64(r.try_get(3)?),
        devices: from_i64(r.try_get(4)?),
    })
}
