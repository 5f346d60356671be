//! Pulls by cursor, and the reads admins and tests make: merged patients and visits, counts,
//! meta, sites and quarantined ops.

use parchi_core::replica::{PatientView, VisitView};
use parchi_core::{PatientId, VisitId};
use parchi_sync::wire::{
    DeviceState, HubStats, PROTOCOL_VERSION, QuarantinedOp, SiteState, SitesReport,
};

use super::Hub;
use super::devices::device_state;
use crate::error::{HubError, StorageError};
use crate::state::{patient_views, visit_views};
use crate::storage::{Commit, Counts, DeviceRow, FLAG_CLOCK_AHEAD, Storage, StoredOp};

impl<S: Storage> Hub<S> {
    // ---- Pull ----------------------------------------------------------------------------------

    /// Ops strictly after `after`, at most `limit`, and whether more follow. Records the pull
    /// against the device when one is given.
    pub async fn pull(
        &self,
        device: Option<&DeviceRow>,
        after: u64,
        limit: u32,
        now_ms: u64,
    ) -> Result<PullPage, HubError> {
        let head = self.head();
        if after > head {
            return Err(HubError::CursorAhead { after, head });
        }
        let limit = limit.clamp(1, parchi_sync::wire::MAX_PULL_LIMIT);
        let mut ops = if after == head {
            // Nothing after the head: no read (counters poll like this all day).
            Vec::new()
        } else {
            self.storage.pull(after, limit.saturating_add(1)).await?
        };
        let more = ops.len() > limit as usize;
        ops.truncate(limit as usize);
        let next = ops.last().map_or(after, |o| o.seq);
        if let Some(d) = device
            && d.last_pull_cursor != Some(after)
        {
            let mut d = d.clone();
            d.last_pull_ms = Some(now_ms);
            d.last_pull_cursor = Some(after);
            self.storage.put_device(d.clone()).await?;
            self.update_device(&d);
        }
        Ok(PullPage {
            ops,
            next,
            more,
            head: head.max(next),
        })
    }

    // ---- Queries -------------------------------------------------------------------------------

    /// Every patient as merged (sorted by ID, like `Replica::patients`).
    pub async fn patients(&self) -> Result<Vec<PatientView>, HubError> {
        let mut inner = self.lock().await?;
        Ok(patient_views(
            inner
                .merged()
                .await?
                .patients
                .iter()
                .map(|(id, r)| (PatientId::from_bytes(*id), &r.state)),
        ))
    }

    /// Every visit as merged (sorted by ID).
    pub async fn visits(&self) -> Result<Vec<VisitView>, HubError> {
        let mut inner = self.lock().await?;
        Ok(visit_views(
            inner
                .merged()
                .await?
                .visits
                .iter()
                .map(|(id, r)| (VisitId::from_bytes(*id), &r.state)),
        ))
    }

    /// Row counts; patients and visits are the records held in memory (the tables hold them as
    /// of the last checkpoint).
    pub async fn counts(&self) -> Result<Counts, HubError> {
        let mut c = self.storage.counts().await?;
        let mut inner = self.lock().await?;
        let m = inner.merged().await?;
        c.patients = m.patients.len() as u64;
        c.visits = m.visits.len() as u64;
        Ok(c)
    }

    pub async fn stats(&self) -> Result<HubStats, HubError> {
        let c = self.counts().await?;
        Ok(HubStats {
            ops: c.ops,
            quarantined: c.quarantined,
            patients: c.patients,
            visits: c.visits,
            devices: c.devices,
            head: self.head(),
        })
    }

    /// Sets a value in the hub's meta table, durably.
    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), HubError> {
        let mut inner = self.inner.lock().await;
        self.storage
            .commit(Commit {
                meta: vec![(key.to_string(), value.to_string())],
                ..Commit::default()
            })
            .await?;
        inner.meta.insert(key.to_string(), value.to_string());
        Ok(())
    }

    /// Every meta entry whose key starts with `prefix`, sorted by key.
    pub async fn meta_prefixed(&self, prefix: &str) -> Vec<(String, String)> {
        let inner = self.inner.lock().await;
        let mut v: Vec<(String, String)> = inner
            .meta
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        v.sort();
        v
    }

    /// A value from the hub's meta table (relay cursors and the like).
    pub async fn meta(&self, key: &str) -> Option<String> {
        self.inner.lock().await.meta.get(key).cloned()
    }

    /// Devices and sites with their sync state.
    pub async fn sites(&self) -> Result<SitesReport, HubError> {
        let mut devices: Vec<DeviceState> = self
            .devices
            .read()
            .map_err(|_| HubError::Config("device table lock poisoned".into()))?
            .by_token
            .values()
            .map(device_state)
            .collect();
        devices.sort_by_key(|d| d.enrolled_ms);
        let mut sites: Vec<SiteState> = self
            .inner
            .lock()
            .await
            .sites
            .values()
            .map(|s| SiteState {
                site: s.site,
                ops: s.ops,
                clock_ahead: s.clock_ahead,
                quarantined: s.quarantined,
                last_push_ms: s.last_push_ms,
            })
            .collect();
        sites.sort_by_key(|s| s.site);
        Ok(SitesReport { devices, sites })
    }

    /// Quarantined ops, oldest first.
    pub async fn quarantined(&self, limit: u32) -> Result<Vec<QuarantinedOp>, HubError> {
        let rows = self.storage.quarantined(limit).await?;
        rows.into_iter()
            .map(|(id, q)| {
                Ok(QuarantinedOp {
                    id,
                    op_id: q.op_id,
                    site: q.site,
                    device_id: q.device_id,
                    received_ms: q.received_ms,
                    payload: serde_json::from_str(&q.payload).map_err(|e| {
                        HubError::Storage(StorageError::Corrupt(format!("quarantined op: {e}")))
                    })?,
                })
            })
            .collect()
    }
}

/// A page of stored ops.
#[derive(Debug)]
pub struct PullPage {
    pub ops: Vec<StoredOp>,
    pub next: u64,
    pub more: bool,
    pub head: u64,
}

impl PullPage {
    /// The page as the wire's `PullResponse` JSON, written directly from the stored canonical op
    /// JSON (no re-parsing of payloads).
    pub fn to_json(&self) -> String {
        use std::fmt::Write as _;
        let bytes: usize = self.ops.iter().map(|o| o.payload.len() + 64).sum();
        let mut s = String::with_capacity(bytes + 96);
        let _ = write!(s, "{{\"version\":{PROTOCOL_VERSION},\"ops\":[");
        for (i, o) in self.ops.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(
                s,
                "{{\"seq\":{},\"effective_hlc\":{},\"clock_ahead\":{},\"op\":{}}}",
                o.seq,
                o.eff_hlc.0,
                o.flags & FLAG_CLOCK_AHEAD != 0,
                o.payload
            );
        }
        let _ = write!(
            s,
            "],\"next\":{},\"more\":{},\"head\":{}}}",
            self.next, self.more, self.head
        );
        s
    }
}
