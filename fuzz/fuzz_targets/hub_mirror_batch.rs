//! The hub's mirror batch route (`POST /v1/admin/mirror`): `parse_mirror_batch` (the envelope,
//! then each record), the run ID check, and `prepare_mirror` (`validate_central`, canonical JSON,
//! duplicates), then the page a counter would pull (`MirrorPageOut::to_json`) as the client
//! decodes it.
//!
//! Properties:
//! - a parsed batch holds at most `MAX_MIRROR_BATCH` records;
//! - `prepare_mirror` fails only if some record fails `validate_central`; when it succeeds,
//!   every record is either a row or a duplicate of an earlier row's UHID, rows have distinct
//!   UHIDs, each row's canonical JSON decodes to the record it came from, passes
//!   `validate_central`, is a fixpoint of encoding, and is hashed by `payload_hash`;
//! - the page written from those rows decodes as the wire's `MirrorPage` with the same records,
//!   and passes the client's `check_mirror_page`.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use parchi_core::CentralPatient;
use parchi_hub::engine::{MirrorPageOut, parse_mirror_batch, payload_hash, prepare_mirror};
use parchi_hub::storage::MirrorScan;
use parchi_sync::MirrorPage;
use parchi_sync::client::check_mirror_page;
use parchi_sync::validate::validate_central;
use parchi_sync::wire::{MAX_MIRROR_BATCH, valid_run_id};

fuzz_target!(|data: &[u8]| {
    let Ok(batch) = parse_mirror_batch(data) else {
        return;
    };
    assert!(batch.records.len() <= MAX_MIRROR_BATCH);
    if valid_run_id(&batch.run) {
        assert!((8..=64).contains(&batch.run.len()));
    }
    let (rows, dups) = match prepare_mirror(&batch.records) {
        Ok(r) => r,
        Err(_) => {
            assert!(
                batch.records.iter().any(|r| validate_central(r).is_err()),
                "a batch of valid records was refused"
            );
            return;
        }
    };
    assert_eq!(rows.len() + dups.len(), batch.records.len());
    let mut uhids = HashSet::new();
    for row in &rows {
        let original = &batch.records[row.index as usize];
        assert_eq!(row.uhid, original.uhid.as_str());
        assert!(uhids.insert(row.uhid.clone()), "two rows with one UHID");
        assert_eq!(row.hash, payload_hash(&row.record));
        let back: CentralPatient =
            serde_json::from_str(&row.record).expect("canonical record decodes");
        assert!(back == *original, "canonical record decodes to another record");
        assert!(validate_central(&back).is_ok(), "a stored record fails validation");
        let again = serde_json::to_string(&back).expect("encodes");
        assert_eq!(again, row.record, "canonical record is no fixpoint");
        assert_eq!(
            row.seen,
            original.seen.map(|d| d.format("%Y-%m-%d").to_string())
        );
    }
    for &d in &dups {
        let uhid = batch.records[d as usize].uhid.as_str();
        assert!(
            rows.iter().any(|r| r.uhid == uhid && r.index < d),
            "a duplicate without an earlier copy"
        );
    }
    // The page a counter pulls, written from the stored canonical JSON.
    let n = rows.len() as u64;
    let page = MirrorPageOut {
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, r)| MirrorScan {
                seq: i as u64 + 1,
                record: Some(r.record.clone()),
            })
            .collect(),
        next: n,
        more: false,
        head: n,
        as_of: Some("2026-11-30T22:00:00+05:30".into()),
    };
    let decoded: MirrorPage =
        serde_json::from_str(&page.to_json()).expect("the hub's mirror page decodes");
    assert_eq!(decoded.records.len(), rows.len());
    for (got, row) in decoded.records.iter().zip(&rows) {
        assert!(*got == batch.records[row.index as usize], "a pulled record differs");
    }
    let limit = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    assert!(check_mirror_page(0, limit, &decoded).is_ok(), "the hub's page fails the client's check");
});
