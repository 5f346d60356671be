//! The HTTP API (axum): routes, auth, body limits, errors as `{code, message}` JSON.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use http_body_util::BodyExt;
use parchi_core::{CounterCode, SiteId};
use parchi_sync::wire::{
    EnrollResponse, ErrorBody, ErrorCode, Health, PROTOCOL_VERSION, PushResponse, Role,
};
use serde::Deserialize;
use serde::Serialize;

use crate::engine::{BodyError, Hub, Source, parse_push, secret_hash};

mod admin;
mod backups;

pub(crate) use backups::sync_pins;
mod mirror;

use crate::error::HubError;
use crate::storage::Storage;
use admin::*;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    fn new(status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message: message.into(),
        }
    }
}

impl From<HubError> for ApiError {
    fn from(e: HubError) -> Self {
        let (status, code) = e.status_code();
        if status >= 500 {
            tracing::error!(error = %e, "request failed");
        }
        let message = match &e {
            HubError::Storage(_) => {
                "the hub's storage failed; nothing of this request was stored. Retry later."
                    .to_string()
            }
            _ => e.to_string(),
        };
        ApiError::new(status, code, message)
    }
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        let (status, code) = match &e {
            BodyError::Truncated(_) => (400, ErrorCode::Truncated),
            BodyError::Malformed(_) => (400, ErrorCode::Malformed),
            BodyError::UnsupportedVersion(_) => (400, ErrorCode::UnsupportedVersion),
            BodyError::TooManyOps { .. } => (413, ErrorCode::TooManyOps),
            BodyError::TooManyRecords { .. } => (413, ErrorCode::TooManyRecords),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: self.message,
        };
        (self.status, axum::Json(body)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Shared state of the HTTP handlers.
pub struct AppState<S: Storage> {
    pub hub: Hub<S>,
    admin_hash: [u8; 32],
    /// The upstream hub this one relays to, if any.
    pub upstream: Option<parchi_sync::HubClient>,
    /// One relay round at a time (background or on request).
    pub relay_lock: tokio::sync::Mutex<()>,
    /// Mirror pages a relay round pulls at most.
    pub relay_mirror_pages: usize,
    /// The append-only store of uploaded backups (`DATA/backups`), if this hub keeps them.
    pub backups: Option<Arc<crate::backups::BackupStore>>,
}

impl<S: Storage> std::fmt::Debug for AppState<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("hub", &self.hub)
            .finish_non_exhaustive()
    }
}

impl<S: Storage> AppState<S> {
    pub fn new(hub: Hub<S>, admin_secret: &str) -> Self {
        Self {
            hub,
            admin_hash: secret_hash(admin_secret),
            upstream: None,
            relay_lock: tokio::sync::Mutex::new(()),
            relay_mirror_pages: crate::relay::MIRROR_PAGES_PER_ROUND,
            backups: None,
        }
    }

    /// Keeps uploaded backups in `store`.
    pub fn with_backups(mut self, store: Arc<crate::backups::BackupStore>) -> Self {
        self.backups = Some(store);
        self
    }

    /// Relays to `upstream` (a client carrying this hub's `hub`-role credential there).
    pub fn with_upstream(mut self, upstream: parchi_sync::HubClient) -> Self {
        self.upstream = Some(upstream);
        self
    }

    /// One relay round now.
    pub async fn relay_now(&self) -> Result<crate::relay::RelayReport, HubError> {
        let up = self
            .upstream
            .as_ref()
            .ok_or_else(|| HubError::BadRequest("this hub has no upstream configured".into()))?;
        let _guard = self.relay_lock.lock().await;
        crate::relay::relay_round(&self.hub, up, 1_000, self.relay_mirror_pages).await
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn device<S: Storage>(
    state: &AppState<S>,
    headers: &HeaderMap,
) -> ApiResult<crate::storage::DeviceRow> {
    let token = bearer(headers).ok_or(HubError::Unauthorized)?;
    Ok(state.hub.authenticate(token)?)
}

fn admin<S: Storage>(state: &AppState<S>, headers: &HeaderMap) -> ApiResult<()> {
    let ok = bearer(headers).is_some_and(|t| {
        let h = secret_hash(t);
        // Constant-time comparison of the hashes.
        h.iter()
            .zip(state.admin_hash.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            401,
            ErrorCode::Unauthorized,
            "admin endpoints need `Authorization: Bearer <admin secret>`",
        ))
    }
}

/// Bytes of an oversized body still read (and dropped) before answering 413, so a client that
/// sent too much reads the JSON answer instead of a reset connection.
const DRAIN_MAX: u64 = 32 * 1024 * 1024;

/// Reads the body up to `limit` bytes: 413 past it, 400 `truncated` if it ends early.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> ApiResult<axum::body::Bytes> {
    let too_large = || {
        ApiError::new(
            413,
            ErrorCode::PayloadTooLarge,
            format!("request body larger than {limit} bytes; send less at a time"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut over = declared.is_some_and(|len| len > limit as u64);
    if declared.is_some_and(|len| len > limit as u64 + DRAIN_MAX) {
        return Err(too_large());
    }
    let mut buf = Vec::with_capacity(if over {
        0
    } else {
        declared.map_or(0, |l| l as usize)
    });
    let mut seen = 0u64;
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(_) if over => return Err(too_large()),
            Err(e) => {
                return Err(ApiError::new(
                    400,
                    ErrorCode::Truncated,
                    format!("the request body could not be read in full (cut connection?): {e}"),
                ));
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len() as u64;
        if over || seen > limit as u64 {
            over = true;
            buf = Vec::new();
            if seen > limit as u64 + DRAIN_MAX {
                break;
            }
            continue;
        }
        buf.extend_from_slice(&data);
    }
    if over {
        return Err(too_large());
    }
    Ok(buf.into())
}

fn json_response<T: Serialize>(v: &T) -> Response {
    axum::Json(v).into_response()
}

async fn health<S: Storage>(State(st): State<Arc<AppState<S>>>) -> Response {
    json_response(&Health {
        status: "ok".into(),
        version: PROTOCOL_VERSION,
        hub_id: st.hub.hub_id().to_string(),
        backend: st.hub.storage().backend().to_string(),
    })
}

/// Runs a write as a task of its own, so that a client hanging up does not cancel it part-way
/// (the hub would then reload everything from storage: correct, but seconds on a big hub).
async fn to_the_end<T: Send + 'static>(
    write: impl std::future::Future<Output = Result<T, HubError>> + Send + 'static,
) -> ApiResult<T> {
    tokio::spawn(write)
        .await
        .map_err(|e| ApiError::new(500, ErrorCode::Internal, e.to_string()))?
        .map_err(ApiError::from)
}

async fn push<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let dev = device(&st, &headers)?;
    let bytes = read_body(&headers, body, st.hub.config().max_body_bytes).await?;
    let max_ops = st.hub.config().max_batch_ops;
    let items = if bytes.len() > 256 * 1024 {
        tokio::task::spawn_blocking(move || parse_push(&bytes, max_ops))
            .await
            .map_err(|e| ApiError::new(500, ErrorCode::Internal, e.to_string()))??
    } else {
        parse_push(&bytes, max_ops)?
    };
    let st = st.clone();
    let results = to_the_end(async move {
        st.hub
            .push(Source::Device(&dev), items, st.hub.now_ms())
            .await
    })
    .await?;
    Ok(json_response(&PushResponse {
        version: PROTOCOL_VERSION,
        results,
    }))
}

#[derive(Deserialize)]
struct PullQuery {
    after: Option<String>,
    limit: Option<String>,
}

fn parse_param(name: &str, v: Option<&str>, default: u64) -> ApiResult<u64> {
    match v {
        None => Ok(default),
        Some(s) => s.parse().map_err(|_| {
            ApiError::new(
                400,
                ErrorCode::BadRequest,
                format!("{name} must be a non-negative integer"),
            )
        }),
    }
}

/// The `limit` of a page: `default` when absent, else 1 to `max` (a client asking for more is
/// told so rather than silently given less, as the contract says).
fn parse_limit(v: Option<&str>, default: u32, max: u32) -> ApiResult<u32> {
    let limit = parse_param("limit", v, u64::from(default))?;
    match u32::try_from(limit) {
        Ok(l) if (1..=max).contains(&l) => Ok(l),
        _ => Err(ApiError::new(
            400,
            ErrorCode::BadRequest,
            format!("limit must be between 1 and {max}"),
        )),
    }
}

async fn pull<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    q: Result<Query<PullQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let dev = device(&st, &headers)?;
    let Query(q) = q.map_err(|_| {
        ApiError::new(
            400,
            ErrorCode::BadRequest,
            "query: after and limit, each at most once",
        )
    })?;
    let after = parse_param("after", q.after.as_deref(), 0)?;
    let limit = parse_limit(
        q.limit.as_deref(),
        parchi_sync::wire::DEFAULT_PULL_LIMIT,
        parchi_sync::wire::MAX_PULL_LIMIT,
    )?;
    let page = st
        .hub
        .pull(Some(&dev), after, limit, st.hub.now_ms())
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], page.to_json()).into_response())
}

#[derive(Deserialize)]
struct EnrollBody {
    version: u64,
    code: String,
    site: SiteId,
    #[serde(default)]
    counter: Option<CounterCode>,
    #[serde(default)]
    signing_key: Option<String>,
}

async fn enroll<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let bytes = read_body(&headers, body, 64 * 1024).await?;
    let req: EnrollBody = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(400, ErrorCode::Malformed, e.to_string()))?;
    if req.version != u64::from(PROTOCOL_VERSION) {
        return Err(BodyError::UnsupportedVersion(req.version).into());
    }
    // The device's backup signing key is pinned for its site: checked before the code is
    // spent, written once it is.
    let pin = match (&st.backups, &req.signing_key) {
        (Some(store), Some(key)) => {
            store.check_pin(&req.site.to_string(), key)?;
            Some((store.clone(), key.clone()))
        }
        _ => None,
    };
    let (dev, token) = st
        .hub
        .enroll(&req.code, req.site, req.counter.clone(), st.hub.now_ms())
        .await?;
    if let Some((store, key)) = pin {
        store.pin(&dev.site.to_string(), &key)?;
        backups::remember_pin(&st.hub, &store, &dev.site.to_string()).await?;
    }
    if dev.role == Role::Counter && dev.counter.is_none() {
        // Enrolled already (the code is spent); the counter code is only a label, so say so.
        tracing::warn!(device = %dev.device_id, "counter enrolled without a counter code");
    }
    tracing::info!(device = %dev.device_id, site = %dev.site, role = dev.role.as_str(), "device enrolled");
    Ok(json_response(&EnrollResponse {
        device_id: dev.device_id,
        token,
        role: dev.role,
        hub_id: st.hub.hub_id().to_string(),
    }))
}

async fn not_found() -> ApiError {
    ApiError::new(404, ErrorCode::NotFound, "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        405,
        ErrorCode::NotFound,
        "this endpoint does not take that method",
    )
}

/// Every error answer in the `{code, message}` format, also those axum writes itself (a query,
/// path or body its extractors refuse, a fallback): their plain-text body becomes the message.
async fn json_errors(res: Response) -> Response {
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let code = match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 | 405 => ErrorCode::NotFound,
        413 => ErrorCode::PayloadTooLarge,
        s if s >= 500 => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let mut out = ApiError {
        status,
        code,
        message,
    }
    .into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

/// The router over a hub.
pub fn router<S: Storage>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/v1/health", get(health::<S>))
        .route("/v1/enroll", post(enroll::<S>))
        .route("/v1/push", post(push::<S>))
        .route("/v1/pull", get(pull::<S>))
        .route("/v1/admin/enroll-codes", post(admin_enroll_code::<S>))
        .route("/v1/admin/sites", get(admin_sites::<S>))
        .route("/v1/admin/stats", get(admin_stats::<S>))
        .route("/v1/admin/quarantine", get(admin_quarantine::<S>))
        .route(
            "/v1/admin/devices/{device_id}/revoke",
            post(admin_revoke::<S>),
        )
        .route("/v1/admin/relay", post(admin_relay::<S>))
        .route("/v1/admin/assign-uhids", post(admin_assign_uhids::<S>))
        .route("/v1/admin/config", post(admin_publish_config::<S>))
        .route(
            "/v1/backups",
            post(backups::upload::<S>).get(backups::list_own::<S>),
        )
        .route(
            "/v1/backups/{id}",
            put(backups::refuse_change::<S>).delete(backups::refuse_change::<S>),
        )
        .route("/v1/admin/backups", get(backups::admin_list::<S>))
        .route("/v1/admin/backups/prune", post(backups::admin_prune::<S>))
        .route("/v1/admin/backups/{id}", get(backups::admin_download::<S>))
        .route("/v1/mirror", get(mirror::pull_mirror::<S>))
        .route(
            "/v1/admin/mirror",
            post(mirror::admin_mirror_batch::<S>).get(mirror::admin_mirror_status::<S>),
        )
        .route(
            "/v1/admin/mirror/done",
            post(mirror::admin_mirror_done::<S>),
        )
        .route(
            "/v1/admin/uhid-blocks",
            post(mirror::admin_uhid_block_add::<S>).get(mirror::admin_uhid_blocks::<S>),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies are limited by `read_body`, which answers 413 in our own error format.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::map_response(json_errors))
        .with_state(state)
}

/// Address a server bound to.
pub type BoundAddr = SocketAddr;
