//! The wire types of the hub's mirror of the hospital's patient index, and of the UHID blocks the
//! hospital set aside for Parchi.
//!
//! - `POST /v1/admin/mirror` takes a [`MirrorBatch`] (one batch of an import run) and answers a
//!   [`MirrorBatchResult`]; `POST /v1/admin/mirror/done` takes a [`MirrorDone`]; `GET
//!   /v1/admin/mirror` answers a [`MirrorStatus`].
//! - `GET /v1/mirror?after=SEQ&limit=N&seen_since=YYYY-MM-DD` (a device credential) answers a
//!   [`MirrorPage`]: the stored copies with seq after `after`, in seq order.
//! - `GET`/`POST /v1/admin/uhid-blocks` answer [`UhidBlocks`]; the POST takes a [`UhidRange`].
//!
//! Mirror records are not operations: a newer copy replaces the older one by UHID, and each copy
//! stored gets a new seq (strictly increasing in commit order, not gap-free).

use std::fmt;

use parchi_core::{CentralPatient, Uhid};
use serde::{Deserialize, Serialize};

/// Most records in one [`MirrorBatch`].
pub const MAX_MIRROR_BATCH: usize = 10_000;
/// Largest body of `POST /v1/admin/mirror`.
pub const MAX_MIRROR_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Mirror page size when the client names none.
pub const DEFAULT_MIRROR_LIMIT: u32 = 2_000;
/// The largest mirror page a hub hands out; larger requests are cut to this.
pub const MAX_MIRROR_LIMIT: u32 = 10_000;

/// Whether `run` is a valid import-run ID: 8 to 64 characters `A-Z a-z 0-9 -`.
pub fn valid_run_id(run: &str) -> bool {
    (8..=64).contains(&run.len()) && run.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `POST /v1/admin/mirror`: one batch of an import of the hospital's index.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorBatch {
    /// An opaque ID of the import run, chosen by the client (8 to 64 of `A-Za-z0-9-`): a UHID the
    /// same run already wrote is reported as a duplicate instead of overwriting the first copy.
    pub run: String,
    /// 1 to [`MAX_MIRROR_BATCH`] records.
    pub records: Vec<CentralPatient>,
}

impl fmt::Debug for MirrorBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MirrorBatch")
            .field("run", &self.run)
            .field("records", &self.records.len())
            .finish()
    }
}

/// What storing one [`MirrorBatch`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorBatchResult {
    /// UHIDs the mirror did not hold.
    pub inserted: u64,
    /// UHIDs held with a different record: replaced (and given a new seq).
    pub updated: u64,
    /// UHIDs held with the same record: nothing to pull again.
    pub unchanged: u64,
    /// Indices in this batch of records whose UHID this run already wrote (in an earlier batch or
    /// earlier in this one): the first copy stays, these were not stored.
    pub duplicates: Vec<u32>,
    /// The mirror's highest seq after the batch.
    pub head: u64,
}

/// `POST /v1/admin/mirror/done`: an import run is complete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorDone {
    pub run: String,
    /// When the hospital's index was copied (RFC 3339).
    pub as_of: String,
    /// For a FHIR pull: the highest `meta.lastUpdated` seen (RFC 3339), where the next pull
    /// starts. Absent: the one stored stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fhir_since: Option<String>,
}

/// `GET /v1/admin/mirror`: how current the hub's mirror is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorStatus {
    pub records: u64,
    /// The highest seq stored.
    pub head: u64,
    pub as_of: Option<String>,
    pub fhir_since: Option<String>,
}

/// `GET /v1/mirror`: a page of the mirror.
///
/// The hub reads the copies with seq > `after` in seq order, at most `limit` of them, then drops
/// those the hospital last saw before `seen_since` (records without `seen` are kept). `next` is
/// the last seq read (returned or dropped), `after` when none was; `more` says the page was full.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorPage {
    pub records: Vec<CentralPatient>,
    pub next: u64,
    pub more: bool,
    pub head: u64,
    pub as_of: Option<String>,
}

impl fmt::Debug for MirrorPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MirrorPage")
            .field("records", &self.records.len())
            .field("next", &self.next)
            .field("more", &self.more)
            .field("head", &self.head)
            .field("as_of", &self.as_of)
            .finish()
    }
}

/// `POST /v1/admin/uhid-blocks`: a range of UHIDs the hospital set aside for people new to it
/// (downtime numbers). Both ends have the same letter prefix and the same number of digits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UhidRange {
    pub from: Uhid,
    pub to: Uhid,
}

/// A block of UHIDs and how far minting got in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UhidBlock {
    pub from: Uhid,
    pub to: Uhid,
    /// The next UHID not yet used; `None` when the block is used up.
    pub next: Option<Uhid>,
}

/// Every UHID block, in the order they were added (and are used).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UhidBlocks {
    pub blocks: Vec<UhidBlock>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use parchi_core::patient::Name;

    fn rec(uhid: &str) -> CentralPatient {
        CentralPatient {
            uhid: Uhid::parse(uhid).expect("uhid"),
            name: Name::parse("name", "Sunita Devi").expect("name"),
            sex: None,
            birth: None,
            guardian_relation: None,
            guardian_name: None,
            mobile: None,
            address: None,
            district: None,
            state: None,
            pincode: None,
            abha_number: None,
            seen: "2024-03-01".parse().ok(),
        }
    }

    #[test]
    fn run_ids_are_eight_to_sixty_four_safe_characters() {
        assert!(valid_run_id("import-2026-05-01"));
        assert!(valid_run_id(&"a".repeat(64)));
        for bad in [
            "short",
            "",
            "has space-in-it",
            "semi;colon-x",
            &"a".repeat(65),
        ] {
            assert!(!valid_run_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn pages_and_batches_round_trip_and_debug_shows_no_patient() {
        let page = MirrorPage {
            records: vec![rec("DHP0001"), rec("DHP0002")],
            next: 7,
            more: true,
            head: 9,
            as_of: Some("2026-05-01T00:00:00Z".into()),
        };
        let json = serde_json::to_string(&page).expect("json");
        let back: MirrorPage = serde_json::from_str(&json).expect("back");
        assert_eq!(back, page);
        assert!(!format!("{page:?}").contains("Sunita"));
        let batch = MirrorBatch {
            run: "run-00000001".into(),
            records: page.records.clone(),
        };
        assert!(!format!("{batch:?}").contains("Sunita"));
        let done: MirrorDone =
            serde_json::from_str(r#"{"run":"run-00000001","as_of":"2026-05-01T00:00:00Z"}"#)
                .expect("done without fhir_since");
        assert_eq!(done.fhir_since, None);
    }
}
