//! A commit's statements inside its transaction: one multi-row statement per table.

use tokio_postgres::Transaction;

use super::{insert_segment, put_device};
use crate::error::StorageError;
use crate::storage::{Commit, Segment, hash_bytes, to_i64};

pub(super) async fn commit_in(
    tx: &Transaction<'_>,
    c: &Commit,
    segment: Option<&Segment>,
) -> Result<(), StorageError> {
    if let Some(s) = segment {
        insert_segment(tx, s).await?;
    }
    if !c.patients.is_empty() {
        let id: Vec<&[u8]> = c.patients.iter().map(|p| &p.id[..]).collect();
        let seq: Vec<i64> = c.patients.iter().map(|p| to_i64(p.seq)).collect();
        let temp: Vec<Option<&str>> = c.patients.iter().map(|p| p.temp_id.as_deref()).collect();
        let state: Vec<&str> = c.patients.iter().map(|p| p.state.as_str()).collect();
        tx.execute(
            "INSERT INTO patients (id, seq, temp_id, state) \
             SELECT * FROM UNNEST($1::bytea[], $2::int8[], $3::text[], $4::text[]) \
             ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, temp_id = EXCLUDED.temp_id, \
             state = EXCLUDED.state",
            &[&id, &seq, &temp, &state],
        )
        .await?;
    }
    if !c.visits.is_empty() {
        let v = &c.visits;
        let id: Vec<&[u8]> = v.iter().map(|x| &x.id[..]).collect();
        let seq: Vec<i64> = v.iter().map(|x| to_i64(x.seq)).collect();
        let patient: Vec<Option<&[u8]>> = v
            .iter()
            .map(|x| x.patient.as_ref().map(|p| &p[..]))
            .collect();
        let dept: Vec<Option<&str>> = v.iter().map(|x| x.department.as_deref()).collect();
        let day: Vec<Option<&str>> = v.iter().map(|x| x.day.as_deref()).collect();
        let token: Vec<Option<&str>> = v.iter().map(|x| x.token.as_deref()).collect();
        let cancelled: Vec<bool> = v.iter().map(|x| x.cancelled).collect();
        let reprints: Vec<i64> = v.iter().map(|x| x.reprints).collect();
        let state: Vec<&str> = v.iter().map(|x| x.state.as_str()).collect();
        tx.execute(
            "INSERT INTO visits (id, seq, patient, department, day, token, cancelled, reprints, state) \
             SELECT * FROM UNNEST($1::bytea[], $2::int8[], $3::bytea[], $4::text[], $5::text[], \
             $6::text[], $7::bool[], $8::int8[], $9::text[]) \
             ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, patient = EXCLUDED.patient, \
             department = EXCLUDED.department, day = EXCLUDED.day, token = EXCLUDED.token, \
             cancelled = EXCLUDED.cancelled, reprints = EXCLUDED.reprints, state = EXCLUDED.state",
            &[&id, &seq, &patient, &dept, &day, &token, &cancelled, &reprints, &state],
        )
        .await?;
    }
    for q in &c.quarantine {
        let op_id = q.op_id.as_bytes().to_vec();
        let site = q.site.as_bytes().to_vec();
        let hash = hash_bytes(q.hash).to_vec();
        tx.execute(
            "INSERT INTO quarantine (op_id, site, device_id, received_ms, hash, payload) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&op_id, &site, &q.device_id, &to_i64(q.received_ms), &hash, &q.payload],
        )
        .await?;
    }
    for s in &c.sites {
        let site = s.site.as_bytes().to_vec();
        tx.execute(
            "INSERT INTO sites (site, ops, clock_ahead, quarantined, last_push_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (site) DO UPDATE SET ops = EXCLUDED.ops, clock_ahead = EXCLUDED.clock_ahead, \
             quarantined = EXCLUDED.quarantined, last_push_ms = EXCLUDED.last_push_ms",
            &[&site, &to_i64(s.ops), &to_i64(s.clock_ahead), &to_i64(s.quarantined), &s.last_push_ms.map(to_i64)],
        )
        .await?;
    }
    for d in &c.devices {
        put_device(tx, d).await?;
    }
    for (k, v) in &c.meta {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[k, v],
        )
        .await?;
    }
    Ok(())
}
