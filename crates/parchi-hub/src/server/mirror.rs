//! The mirror's routes: `POST/GET /v1/admin/mirror`, `POST /v1/admin/mirror/done`, `GET
//! /v1/mirror`, and the UHID blocks at `GET/POST /v1/admin/uhid-blocks`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use parchi_sync::wire::{
    DEFAULT_MIRROR_LIMIT, ErrorCode, MAX_MIRROR_BODY_BYTES, MAX_MIRROR_LIMIT, MirrorDone, UhidRange,
};
use serde::Deserialize;

use super::{
    ApiError, ApiResult, AppState, admin, device, json_response, parse_limit, parse_param,
    read_body, to_the_end,
};
use crate::engine::parse_mirror_batch;
use crate::storage::Storage;

/// Bodies of the small admin requests.
const SMALL_BODY: usize = 64 * 1024;

/// Batches bigger than this are parsed on a blocking thread.
const PARSE_ON_THREAD: usize = 256 * 1024;

/// For bodies without patient data (run IDs, dates, UHID ranges): serde's message may quote them.
fn malformed(what: &str, e: &serde_json::Error) -> ApiError {
    let code = if e.is_eof() {
        ErrorCode::Truncated
    } else {
        ErrorCode::Malformed
    };
    ApiError::new(400, code, format!("expected {what}: {e}"))
}

pub(super) async fn admin_mirror_batch<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    let bytes = read_body(&headers, body, MAX_MIRROR_BODY_BYTES).await?;
    let batch = if bytes.len() > PARSE_ON_THREAD {
        tokio::task::spawn_blocking(move || parse_mirror_batch(&bytes))
            .await
            .map_err(|e| ApiError::new(500, ErrorCode::Internal, e.to_string()))??
    } else {
        parse_mirror_batch(&bytes)?
    };
    let st = st.clone();
    let r = to_the_end(async move { st.hub.mirror_write(batch).await }).await?;
    Ok(json_response(&r))
}

pub(super) async fn admin_mirror_done<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    let bytes = read_body(&headers, body, SMALL_BODY).await?;
    let done: MirrorDone = serde_json::from_slice(&bytes)
        .map_err(|e| malformed("{\"run\": …, \"as_of\": RFC 3339, \"fhir_since\"?: …}", &e))?;
    let st = st.clone();
    let r = to_the_end(async move { st.hub.mirror_done(done).await }).await?;
    Ok(json_response(&r))
}

pub(super) async fn admin_mirror_status<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    Ok(json_response(&st.hub.mirror_status()?))
}

#[derive(Deserialize)]
pub(super) struct MirrorQuery {
    after: Option<String>,
    limit: Option<String>,
    seen_since: Option<String>,
}

pub(super) async fn pull_mirror<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    q: Result<Query<MirrorQuery>, QueryRejection>,
) -> ApiResult<Response> {
    device(&st, &headers)?;
    let Query(q) = q.map_err(|_| {
        ApiError::new(
            400,
            ErrorCode::BadRequest,
            "query: after, limit and seen_since, each at most once",
        )
    })?;
    let after = parse_param("after", q.after.as_deref(), 0)?;
    let limit = parse_limit(q.limit.as_deref(), DEFAULT_MIRROR_LIMIT, MAX_MIRROR_LIMIT)?;
    let seen_since = match q.seen_since.as_deref() {
        None => None,
        Some(s) => Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            ApiError::new(
                400,
                ErrorCode::BadRequest,
                "seen_since must be a date, YYYY-MM-DD",
            )
        })?),
    };
    let page = st.hub.mirror_page(after, limit, seen_since).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], page.to_json()).into_response())
}

pub(super) async fn admin_uhid_blocks<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    Ok(json_response(&st.hub.uhid_blocks().await?))
}

pub(super) async fn admin_uhid_block_add<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    let bytes = read_body(&headers, body, SMALL_BODY).await?;
    let range: UhidRange = serde_json::from_slice(&bytes)
        .map_err(|e| malformed("{\"from\": UHID, \"to\": UHID}", &e))?;
    let st = st.clone();
    let r = to_the_end(async move { st.hub.add_uhid_block(range).await }).await?;
    Ok(json_response(&r))
}
