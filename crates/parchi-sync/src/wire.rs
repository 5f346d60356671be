//! The sync wire protocol, version 1: JSON over HTTP.
//!
//! These are the boundary types; `schemas/sync-wire.schema.json` and `schemas/hub.openapi.yaml`
//! describe the same shapes for other languages. Operations travel as `parchi_core::Op` serialised
//! with serde, unchanged.
//!
//! - `POST /v1/push` takes a [`PushRequest`] and answers a [`PushResponse`] with one
//!   [`OpResult`] per item, in order.
//! - `GET /v1/pull?after=N&limit=M` answers a [`PullResponse`]: ops in the hub's acceptance order
//!   (its sequence numbers), strictly after `N`, at most `M`.
//! - `GET /v1/mirror` and the `/v1/admin/mirror` and `/v1/admin/uhid-blocks` routes: see
//!   [`mirror`].
//! - Every error is an [`ErrorBody`] with a stable [`ErrorCode`].

use std::fmt;

pub mod backups;
pub mod config;
pub mod mirror;
pub use config::{ConfigPublished, PublishConfig};
pub use mirror::{
    DEFAULT_MIRROR_LIMIT, MAX_MIRROR_BATCH, MAX_MIRROR_BODY_BYTES, MAX_MIRROR_LIMIT, MirrorBatch,
    MirrorBatchResult, MirrorDone, MirrorPage, MirrorStatus, UhidBlock, UhidBlocks, UhidRange,
    valid_run_id,
};

use parchi_core::{CounterCode, Hlc, Op, OpId, SiteId};
use serde::{Deserialize, Serialize};

/// The protocol version this crate speaks. A hub answers any other with
/// [`ErrorCode::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u32 = 1;
/// Default limit on operations in one push.
pub const DEFAULT_MAX_BATCH_OPS: usize = 5_000;
/// Default limit on the bytes of one request body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Pull page size when the client names none.
pub const DEFAULT_PULL_LIMIT: u32 = 1_000;
/// The largest pull page a hub hands out; larger requests are cut to this.
pub const MAX_PULL_LIMIT: u32 = 10_000;

/// A batch of operations for the hub.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PushRequest {
    pub version: u32,
    pub ops: Vec<PushItem>,
}

/// One operation in a push.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushItem {
    pub op: Op,
    /// Only from a hub relaying upstream: the effective HLC the first hub gave this op (see
    /// [`PulledOp::effective_hlc`]), so every hub merges it with the same stamp. Counters never
    /// send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_hlc: Option<Hlc>,
}

impl PushItem {
    pub fn new(op: Op) -> Self {
        Self {
            op,
            effective_hlc: None,
        }
    }
}

/// The hub's answer to a push: one result per item, in the items' order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    pub version: u32,
    pub results: Vec<OpResult>,
}

impl PushResponse {
    pub fn count(&self, pred: impl Fn(&Outcome) -> bool) -> usize {
        self.results.iter().filter(|r| pred(&r.outcome)).count()
    }
}

/// What became of one pushed item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpResult {
    /// Position of the item in the request.
    pub index: u32,
    /// The op's ID, when the item could be read far enough to have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<OpId>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The per-op outcome of a push. Every variant except `Rejected` means "the hub holds this op ID
/// now": the counter may stop sending it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Stored and merged, durable before the response was sent.
    Applied {
        /// The hub's sequence number for it (its place in pull order).
        seq: u64,
        /// The HLC every replica merges it with (differs from the op's own when clamped).
        effective_hlc: Hlc,
        /// The op's HLC was too far ahead of the hub's clock and was clamped.
        #[serde(default)]
        clock_ahead: bool,
    },
    /// The hub already had this op, with the same payload.
    Duplicate,
    /// The hub already had this op ID with a *different* payload (a cloned disk or a bug). This
    /// payload was stored aside for an admin and an alarm raised; it is not merged.
    Quarantined { reason: String },
    /// Refused; nothing stored. The counter moves the op to its error list and goes on.
    Rejected { code: RejectCode, reason: String },
}

/// Why one op was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// The item is valid JSON but not an operation this hub understands.
    InvalidOp,
    /// A value in the op fails validation (a name with digits, a 9-digit mobile, ...).
    InvalidValue,
    /// The op ID or site ID is the nil UUID.
    InvalidId,
    /// The HLC is zero.
    InvalidHlc,
    /// Only a hub relaying upstream may send `effective_hlc`.
    EffectiveHlcNotAllowed,
    /// `effective_hlc` is later than the op's own HLC (an effective stamp only ever moves earlier).
    BadEffectiveHlc,
    /// A code from a newer hub.
    #[serde(other)]
    Unknown,
}

impl RejectCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectCode::InvalidOp => "invalid_op",
            RejectCode::InvalidValue => "invalid_value",
            RejectCode::InvalidId => "invalid_id",
            RejectCode::InvalidHlc => "invalid_hlc",
            RejectCode::EffectiveHlcNotAllowed => "effective_hlc_not_allowed",
            RejectCode::BadEffectiveHlc => "bad_effective_hlc",
            RejectCode::Unknown => "unknown",
        }
    }
}

/// A page of operations from the hub.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullResponse {
    pub version: u32,
    pub ops: Vec<PulledOp>,
    /// The cursor to ask `after` next time: the last op's `seq`, or the request's `after` when
    /// the page is empty.
    pub next: u64,
    /// More ops wait after `next`.
    pub more: bool,
    /// The hub's highest sequence number when the page was read (for progress).
    pub head: u64,
}

/// One operation as the hub hands it out, with the hub's metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PulledOp {
    pub seq: u64,
    /// The HLC to merge this op with. Equal to `op.hlc` unless the op arrived stamped too far in
    /// the future, in which case it is the hub's receive time: the op then cannot win
    /// last-writer-wins forever.
    pub effective_hlc: Hlc,
    #[serde(default)]
    pub clock_ahead: bool,
    pub op: Op,
}

impl PulledOp {
    /// The operation as every replica merges it: a copy whose HLC is the effective one.
    pub fn effective_op(&self) -> Op {
        let mut op = self.op.clone();
        op.hlc = self.effective_hlc;
        op
    }
}

/// A device's role at a hub.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A registration counter: may push only its own site's ops.
    Counter,
    /// A hub relaying upstream (a LAN hub): may push any site's ops, with their effective HLC.
    Hub,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Counter => "counter",
            Role::Hub => "hub",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "counter" => Some(Role::Counter),
            "hub" => Some(Role::Hub),
            _ => None,
        }
    }
}

/// `POST /v1/enroll`: a counter (or a LAN hub) trades a one-time code for its own credential.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnrollRequest {
    pub version: u32,
    pub code: String,
    pub site: SiteId,
    /// The counter's code (A, B2, ...); absent for a hub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<CounterCode>,
    /// The device's Ed25519 public key (64 hex digits), pinned for the site's backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<String>,
}

/// The credential a device receives once. The hub keeps only its hash.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: String,
    pub token: String,
    pub role: Role,
    pub hub_id: String,
}

impl fmt::Debug for EnrollResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollResponse")
            .field("device_id", &self.device_id)
            .field("token", &"<redacted>")
            .field("role", &self.role)
            .field("hub_id", &self.hub_id)
            .finish()
    }
}

/// `GET /v1/health`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: u32,
    pub hub_id: String,
    pub backend: String,
}

/// `POST /v1/admin/enroll-codes`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreateEnrollCode {
    pub role: Role,
    /// How long the code stays valid; default 24 hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_secs: Option<u64>,
}

/// A fresh one-time enrolment code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollCode {
    pub code: String,
    pub role: Role,
    pub expires_ms: u64,
}

impl fmt::Debug for EnrollCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnrollCode")
            .field("code", &"<redacted>")
            .field("role", &self.role)
            .field("expires_ms", &self.expires_ms)
            .finish()
    }
}

/// `GET /v1/admin/sites`: every enrolled device and every site the hub holds ops of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SitesReport {
    pub devices: Vec<DeviceState>,
    pub sites: Vec<SiteState>,
}

/// One enrolled device's sync state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceState {
    pub device_id: String,
    pub site: SiteId,
    pub counter: Option<CounterCode>,
    pub role: Role,
    pub enrolled_ms: u64,
    pub revoked_ms: Option<u64>,
    pub last_push_ms: Option<u64>,
    pub last_pull_ms: Option<u64>,
    /// The cursor the device last pulled after: it holds everything up to here.
    pub last_pull_cursor: Option<u64>,
}

/// Per-site counts of what the hub holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteState {
    pub site: SiteId,
    pub ops: u64,
    /// Ops clamped for a clock too far ahead.
    pub clock_ahead: u64,
    pub quarantined: u64,
    pub last_push_ms: Option<u64>,
}

/// `GET /v1/admin/quarantine`: an op stored aside because its ID was already taken by a
/// different payload.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedOp {
    pub id: u64,
    pub op_id: OpId,
    pub site: SiteId,
    pub device_id: String,
    pub received_ms: u64,
    /// The diverging op as received (holds patient data: admin eyes only).
    pub payload: serde_json::Value,
}

impl fmt::Debug for QuarantinedOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuarantinedOp")
            .field("id", &self.id)
            .field("op_id", &self.op_id)
            .field("site", &self.site)
            .field("device_id", &self.device_id)
            .field("received_ms", &self.received_ms)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/admin/devices/{id}/revoke` answer, and hub-wide counts (`GET /v1/admin/stats`).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HubStats {
    pub ops: u64,
    pub quarantined: u64,
    pub patients: u64,
    pub visits: u64,
    pub devices: u64,
    pub head: u64,
}

/// Every error response body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

/// Stable error codes: clients tell errors apart by these, never by the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the body is not the JSON this endpoint takes.
    Malformed,
    /// 400: the body ended early (a cut connection).
    Truncated,
    /// 400: the request's `version` is not one this hub speaks.
    UnsupportedVersion,
    /// 400: a query parameter or field is invalid.
    BadRequest,
    /// 413: the body is larger than the hub accepts.
    PayloadTooLarge,
    /// 413: more ops in one push than the hub accepts.
    TooManyOps,
    /// 413: more records in one mirror batch than the hub accepts.
    TooManyRecords,
    /// 401: no credential, or not one the hub issued.
    Unauthorized,
    /// 403: the device's credential was revoked.
    Revoked,
    /// 403: a counter pushed an op of another site.
    ForbiddenSite,
    /// 403: the credential is valid but not for this endpoint.
    Forbidden,
    /// 400: the enrolment code is unknown, used or expired.
    InvalidEnrollCode,
    /// 409: the cursor is beyond the hub's last op: the hub is not the one the cursor came from,
    /// or was restored from an older backup. Pull again from 0 (it is idempotent).
    CursorAhead,
    /// 404.
    NotFound,
    /// 500/503: the hub's storage failed; nothing of the request was stored. Retry later.
    Storage,
    /// 500.
    Internal,
    /// A code from a newer hub.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Malformed => "malformed",
            ErrorCode::Truncated => "truncated",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::TooManyOps => "too_many_ops",
            ErrorCode::TooManyRecords => "too_many_records",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Revoked => "revoked",
            ErrorCode::ForbiddenSite => "forbidden_site",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::InvalidEnrollCode => "invalid_enroll_code",
            ErrorCode::CursorAhead => "cursor_ahead",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Storage => "storage",
            ErrorCode::Internal => "internal",
            ErrorCode::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parchi_core::testgen;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn push_request_round_trips(ops in testgen::arb_ops(20)) {
            let req = PushRequest { version: PROTOCOL_VERSION, ops: ops.into_iter().map(PushItem::new).collect() };
            let json = serde_json::to_string(&req).expect("serialise");
            let back: PushRequest = serde_json::from_str(&json).expect("parse");
            prop_assert_eq!(back.ops, req.ops);
        }
    }

    #[test]
    fn outcomes_have_stable_tags() {
        let r = OpResult {
            index: 0,
            id: None,
            outcome: Outcome::Rejected {
                code: RejectCode::InvalidValue,
                reason: "x".into(),
            },
        };
        let v = serde_json::to_value(&r).expect("json");
        assert_eq!(v["status"], "rejected");
        assert_eq!(v["code"], "invalid_value");
        let unknown: ErrorBody =
            serde_json::from_str(r#"{"code":"from_the_future","message":"m"}"#).expect("parse");
        assert_eq!(unknown.code, ErrorCode::Unknown);
    }

    #[test]
    fn codes_serialise_as_their_names() {
        for c in [
            ErrorCode::Malformed,
            ErrorCode::CursorAhead,
            ErrorCode::TooManyOps,
            ErrorCode::TooManyRecords,
        ] {
            assert_eq!(
                serde_json::to_value(c).expect("json"),
                serde_json::Value::String(c.as_str().into())
            );
        }
        for c in [RejectCode::InvalidOp, RejectCode::BadEffectiveHlc] {
            assert_eq!(
                serde_json::to_value(c).expect("json"),
                serde_json::Value::String(c.as_str().into())
            );
        }
    }
}
