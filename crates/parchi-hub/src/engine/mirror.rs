//! The hub's mirror of the hospital's patient index: imported in batches by an admin (`POST
//! /v1/admin/mirror`), pulled page by page by counters (`GET /v1/mirror`).
//!
//! Mirror records are not operations: they never enter the op log or the merged records in
//! memory, and a newer copy replaces the older one by UHID. Each copy stored gets a seq above
//! every seq before it, so a counter pulls by cursor and sees a changed record again.
//!
//! Mirror writes are serialised by a lock of their own ([`MirrorState::write`]), independent of
//! the op pushes' lock: a long import never holds up a push or a pull. Memory is bounded by the
//! batch whatever the mirror's size; only its head, record count and dates are kept here.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::NaiveDate;
use parchi_core::{CentralPatient, Uhid};
use parchi_sync::validate::validate_central;
use parchi_sync::wire::{
    MAX_MIRROR_BATCH, MAX_MIRROR_LIMIT, MirrorBatch, MirrorBatchResult, MirrorDone, MirrorStatus,
    valid_run_id,
};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{BodyError, Hub, payload_hash};
use crate::error::{HubError, StorageError};
use crate::storage::{Commit, MirrorRow, MirrorScan, Storage};

/// Meta key: when the hospital's index was copied (RFC 3339).
pub const META_MIRROR_AS_OF: &str = "mirror_as_of";
/// Meta key: the highest FHIR `meta.lastUpdated` imported (RFC 3339).
pub const META_MIRROR_FHIR_SINCE: &str = "mirror_fhir_since";
/// Meta key: the last import run reported done.
pub const META_MIRROR_LAST_RUN: &str = "mirror_last_run";

/// Batches of at least this many records are checked on a blocking thread.
const PREPARE_ON_THREAD: usize = 256;

#[derive(Debug, Default)]
struct MirrorInfo {
    as_of: Option<String>,
    fhir_since: Option<String>,
}

/// The mirror's bookkeeping in memory.
#[derive(Debug)]
pub(super) struct MirrorState {
    /// One mirror write at a time (batches, "done"), and no import while UHIDs are minted.
    pub(super) write: tokio::sync::Mutex<()>,
    /// One UHID minting or block change at a time.
    pub(super) uhids: tokio::sync::Mutex<()>,
    head: AtomicU64,
    records: AtomicU64,
    info: RwLock<MirrorInfo>,
}

impl MirrorState {
    pub(super) async fn load<S: Storage>(
        storage: &S,
        meta: &HashMap<String, String>,
    ) -> Result<Self, HubError> {
        let (records, head) = storage.mirror_stats().await?;
        Ok(Self {
            write: tokio::sync::Mutex::new(()),
            uhids: tokio::sync::Mutex::new(()),
            head: AtomicU64::new(head),
            records: AtomicU64::new(records),
            info: RwLock::new(MirrorInfo {
                as_of: meta.get(META_MIRROR_AS_OF).cloned(),
                fhir_since: meta.get(META_MIRROR_FHIR_SINCE).cloned(),
            }),
        })
    }

    pub(super) fn records(&self) -> u64 {
        self.records.load(Ordering::Acquire)
    }

    fn head(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    fn info(&self) -> Result<std::sync::RwLockReadGuard<'_, MirrorInfo>, HubError> {
        self.info
            .read()
            .map_err(|_| HubError::Config("mirror state lock poisoned".into()))
    }
}

/// What a serde error says about a body, without the value it choked on (a body holds patient
/// data, and serde quotes what it could not take).
fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax => "is not valid JSON".to_string(),
        Category::Eof => "ends early".to_string(),
        Category::Io => "could not be read".to_string(),
        Category::Data => {
            let msg = e.to_string();
            match msg
                .strip_prefix("missing field `")
                .and_then(|r| r.split('`').next())
            {
                Some(f) => format!("lacks the field `{f}`"),
                None => "has a value of the wrong type, or one that is not allowed".to_string(),
            }
        }
    };
    format!("{what} (line {}, column {})", e.line(), e.column())
}

/// Parses a `POST /v1/admin/mirror` body: the envelope strictly, then each record on its own,
/// so an error names the record's index. Nothing is checked beyond the JSON shape here (see
/// [`Hub::mirror_write`]).
pub fn parse_mirror_batch(body: &[u8]) -> Result<MirrorBatch, BodyError> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        run: String,
        #[serde(borrow)]
        records: Vec<&'a RawValue>,
    }
    let env: Envelope<'_> = serde_json::from_slice(body).map_err(|e| {
        let m = format!(
            "the body is not a mirror batch {{run, records}}: it {}",
            describe(&e)
        );
        if e.is_eof() {
            BodyError::Truncated(m)
        } else {
            BodyError::Malformed(m)
        }
    })?;
    if env.records.len() > MAX_MIRROR_BATCH {
        return Err(BodyError::TooManyRecords {
            got: env.records.len(),
            max: MAX_MIRROR_BATCH,
        });
    }
    let mut records = Vec::with_capacity(env.records.len());
    for (i, raw) in env.records.iter().enumerate() {
        let r: CentralPatient = serde_json::from_str(raw.get()).map_err(|e| {
            BodyError::Malformed(format!(
                "record {i} is not a patient record: it {}",
                describe(&e)
            ))
        })?;
        records.push(r);
    }
    Ok(MirrorBatch {
        run: env.run,
        records,
    })
}

/// A record checked, with its canonical JSON and hash.
fn encode(i: usize, r: &CentralPatient) -> Result<(String, u128), HubError> {
    validate_central(r)
        .map_err(|inv| HubError::BadRequest(format!("record {i}: {}", inv.reason)))?;
    let record = serde_json::to_string(r)
        .map_err(|e| HubError::BadRequest(format!("record {i}: cannot encode: {e}")))?;
    let hash = payload_hash(&record);
    Ok((record, hash))
}

/// Batches of at least this many records are checked on two threads.
const PREPARE_SPLIT: usize = 2_048;

/// Checks every record and gives each its canonical JSON and hash (a big batch on two
/// threads). A UHID listed again in the batch is a duplicate (its index is returned; the first
/// copy is the one kept). An invalid record fails the batch, the first one named.
pub fn prepare_mirror(records: &[CentralPatient]) -> Result<(Vec<MirrorRow>, Vec<u32>), HubError> {
    let n = records.len();
    if u32::try_from(n).is_err() {
        return Err(HubError::TooManyRecords {
            got: n,
            max: MAX_MIRROR_BATCH,
        });
    }
    let encode_all = |from: usize, part: &[CentralPatient]| {
        part.iter()
            .enumerate()
            .map(|(j, r)| encode(from + j, r))
            .collect::<Result<Vec<_>, HubError>>()
    };
    let encoded = if n >= PREPARE_SPLIT {
        let mid = n / 2;
        let (a, b) = records.split_at(mid);
        let (first, second) = std::thread::scope(|s| {
            let second = s.spawn(|| encode_all(mid, b));
            (encode_all(0, a), second.join())
        });
        let second =
            second.map_err(|_| HubError::Config("checking a mirror batch panicked".into()))?;
        let mut all = first?;
        all.extend(second?);
        all
    } else {
        encode_all(0, records)?
    };
    let mut rows = Vec::with_capacity(n);
    let mut dups = Vec::new();
    let mut uhids: HashSet<&str> = HashSet::with_capacity(n);
    for (i, (r, (record, hash))) in records.iter().zip(encoded).enumerate() {
        let index = i as u32; // n fits in u32 (checked above)
        if !uhids.insert(r.uhid.as_str()) {
            dups.push(index);
            continue;
        }
        rows.push(MirrorRow {
            index,
            uhid: r.uhid.as_str().to_string(),
            hash,
            seen: r.seen.map(|d| d.format("%Y-%m-%d").to_string()),
            record,
        });
    }
    Ok((rows, dups))
}

fn rfc3339(field: &str, v: &str) -> Result<(), HubError> {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|_| ())
        .map_err(|_| {
            HubError::BadRequest(format!(
                "{field}: must be an RFC 3339 date and time, e.g. 2026-05-01T06:00:00+05:30"
            ))
        })
}

fn check_run(run: &str) -> Result<(), HubError> {
    if valid_run_id(run) {
        Ok(())
    } else {
        Err(HubError::BadRequest(
            "run: 8 to 64 letters, digits or hyphens".into(),
        ))
    }
}

/// A page of the mirror as read from storage.
#[derive(Debug)]
pub struct MirrorPageOut {
    pub rows: Vec<MirrorScan>,
    pub next: u64,
    pub more: bool,
    pub head: u64,
    pub as_of: Option<String>,
}

impl MirrorPageOut {
    /// The records the page returns (canonical JSON), in seq order.
    pub fn records(&self) -> impl Iterator<Item = &str> {
        self.rows.iter().filter_map(|r| r.record.as_deref())
    }

    /// The page as the wire's `MirrorPage` JSON, written from the stored canonical JSON (no
    /// record is parsed again).
    pub fn to_json(&self) -> String {
        use std::fmt::Write as _;
        let bytes: usize = self.records().map(|r| r.len() + 1).sum();
        let mut s = String::with_capacity(bytes + 128);
        s.push_str("{\"records\":[");
        for (i, r) in self.records().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(r);
        }
        let as_of = serde_json::to_string(&self.as_of).unwrap_or_else(|_| "null".into());
        let _ = write!(
            s,
            "],\"next\":{},\"more\":{},\"head\":{},\"as_of\":{as_of}}}",
            self.next, self.more, self.head
        );
        s
    }
}

impl<S: Storage> Hub<S> {
    /// Stores one batch of an import run (see [`Storage::mirror_write`]): every record is
    /// checked first, and if one is invalid nothing is stored.
    pub async fn mirror_write(&self, batch: MirrorBatch) -> Result<MirrorBatchResult, HubError> {
        check_run(&batch.run)?;
        let n = batch.records.len();
        if n == 0 {
            return Err(HubError::BadRequest(
                "records: a batch holds at least one record".into(),
            ));
        }
        if n > MAX_MIRROR_BATCH {
            return Err(HubError::TooManyRecords {
                got: n,
                max: MAX_MIRROR_BATCH,
            });
        }
        let MirrorBatch { run, records } = batch;
        let (rows, mut dups) = if n >= PREPARE_ON_THREAD {
            tokio::task::spawn_blocking(move || prepare_mirror(&records))
                .await
                .map_err(|e| StorageError::Task(e.to_string()))??
        } else {
            prepare_mirror(&records)?
        };
        let _w = self.mirror.write.lock().await;
        let written = match self.storage.mirror_write(run, rows).await {
            Ok(w) => w,
            Err(e) => {
                // Did it land? Take the counts from storage again before going on.
                if let Ok((records, head)) = self.storage.mirror_stats().await {
                    self.mirror.records.store(records, Ordering::Release);
                    self.mirror.head.store(head, Ordering::Release);
                }
                return Err(e.into());
            }
        };
        self.mirror
            .records
            .store(written.records, Ordering::Release);
        self.mirror.head.store(written.head, Ordering::Release);
        dups.extend(written.duplicates);
        dups.sort_unstable();
        Ok(MirrorBatchResult {
            inserted: written.inserted,
            updated: written.updated,
            unchanged: written.unchanged,
            duplicates: dups,
            head: written.head,
        })
    }

    /// Records that an import run is complete: when the hospital's index was copied and, for a
    /// FHIR pull, where the next one starts.
    pub async fn mirror_done(&self, done: MirrorDone) -> Result<MirrorStatus, HubError> {
        check_run(&done.run)?;
        rfc3339("as_of", &done.as_of)?;
        if let Some(f) = &done.fhir_since {
            rfc3339("fhir_since", f)?;
        }
        let _w = self.mirror.write.lock().await;
        let mut meta = vec![
            (META_MIRROR_AS_OF.to_string(), done.as_of.clone()),
            (META_MIRROR_LAST_RUN.to_string(), done.run.clone()),
        ];
        if let Some(f) = &done.fhir_since {
            meta.push((META_MIRROR_FHIR_SINCE.to_string(), f.clone()));
        }
        self.storage
            .commit(Commit {
                meta,
                ..Commit::default()
            })
            .await?;
        {
            let mut info = self
                .mirror
                .info
                .write()
                .map_err(|_| HubError::Config("mirror state lock poisoned".into()))?;
            info.as_of = Some(done.as_of);
            if done.fhir_since.is_some() {
                info.fhir_since = done.fhir_since;
            }
        }
        self.mirror_status()
    }

    /// How current the mirror is.
    pub fn mirror_status(&self) -> Result<MirrorStatus, HubError> {
        let info = self.mirror.info()?;
        Ok(MirrorStatus {
            records: self.mirror.records(),
            head: self.mirror.head(),
            as_of: info.as_of.clone(),
            fhir_since: info.fhir_since.clone(),
        })
    }

    /// The stored copies after `after` (see [`Storage::mirror_page`]). `next` is the last seq
    /// read, `more` whether the page was full.
    pub async fn mirror_page(
        &self,
        after: u64,
        limit: u32,
        seen_since: Option<NaiveDate>,
    ) -> Result<MirrorPageOut, HubError> {
        let head = self.mirror.head();
        if after > head {
            return Err(HubError::MirrorCursorAhead { after, head });
        }
        let limit = limit.clamp(1, MAX_MIRROR_LIMIT);
        let rows = if after == head {
            Vec::new()
        } else {
            self.storage.mirror_page(after, limit, seen_since).await?
        };
        let next = rows.last().map_or(after, |r| r.seq);
        let more = rows.len() == limit as usize;
        let as_of = self.mirror.info()?.as_of.clone();
        Ok(MirrorPageOut {
            rows,
            next,
            more,
            head: head.max(next),
            as_of,
        })
    }

    /// The mirror's record of a UHID.
    pub async fn mirror_get(&self, uhid: &Uhid) -> Result<Option<CentralPatient>, HubError> {
        match self.storage.mirror_get(uhid.as_str().to_string()).await? {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json).map(Some).map_err(|e| {
                HubError::Storage(StorageError::Corrupt(format!("mirror record: {e}")))
            }),
        }
    }
}
