//! The admin routes (`/v1/admin/…`, the admin secret): enrolment codes, sites, stats,
//! quarantine and revocation, a relay round, and UHIDs for new patients from the blocks.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use parchi_sync::wire::{EnrollCode, ErrorCode, Role};
use serde::Deserialize;

use super::*;

/// `CreateEnrollCode` as JSON Schema reads it: an integer may be written `3600.0`.
#[derive(Deserialize)]
struct EnrollCodeBody {
    role: Role,
    #[serde(default)]
    ttl_secs: Option<serde_json::Number>,
}

/// A JSON number with no fractional part, within `u64` (JSON Schema's `integer` allows `30.0`).
pub(crate) fn whole_number(n: &serde_json::Number) -> Option<u64> {
    /// 2^64, exactly representable; `u64::MAX as f64` rounds up to it.
    const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
    n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < TWO_POW_64)
            .map(|f| f as u64)
    })
}

pub(super) async fn admin_enroll_code<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    let bytes = read_body(&headers, body, 64 * 1024).await?;
    let req: EnrollCodeBody = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(400, ErrorCode::Malformed, e.to_string()))?;
    let ttl_secs = match &req.ttl_secs {
        None => 24 * 3600,
        Some(n) => whole_number(n).ok_or_else(|| {
            ApiError::new(
                400,
                ErrorCode::Malformed,
                "ttl_secs must be a whole, non-negative number of seconds",
            )
        })?,
    };
    let ttl_ms = ttl_secs.saturating_mul(1000);
    let (code, expires_ms) = st
        .hub
        .create_enroll_code(req.role, ttl_ms, st.hub.now_ms())
        .await?;
    Ok(json_response(&EnrollCode {
        code,
        role: req.role,
        expires_ms,
    }))
}

pub(super) async fn admin_sites<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    Ok(json_response(&st.hub.sites().await?))
}

pub(super) async fn admin_stats<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    Ok(json_response(&st.hub.stats().await?))
}

pub(super) async fn admin_quarantine<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    Ok(json_response(&st.hub.quarantined(10_000).await?))
}

pub(super) async fn admin_revoke<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    device_id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    let Path(device_id) = device_id.map_err(|_| {
        ApiError::new(
            400,
            ErrorCode::BadRequest,
            "the device ID in the path is not valid UTF-8",
        )
    })?;
    Ok(json_response(
        &st.hub.revoke(&device_id, st.hub.now_ms()).await?,
    ))
}

pub(super) async fn admin_relay<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    if st.upstream.is_none() {
        // The request is fine; this hub's setup is what does not allow it.
        return Err(ApiError::new(
            409,
            ErrorCode::BadRequest,
            "this hub has no upstream configured (serve --upstream)",
        ));
    }
    Ok(json_response(&st.relay_now().await?))
}

/// Refuses (409) what only the central hub does, on a hub that relays to an upstream one: the
/// request is fine, this hub's place is not. `instead` says where it is done.
fn central_only<S: Storage>(st: &AppState<S>, instead: &str) -> ApiResult<()> {
    if st.upstream.is_some() {
        return Err(ApiError::new(
            409,
            ErrorCode::BadRequest,
            format!("this hub relays to an upstream hub: {instead}"),
        ));
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct AssignUhids {
    prefix: String,
}

pub(super) async fn admin_assign_uhids<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    let body = read_body(&headers, body, 64 * 1024).await?;
    central_only(&st, "UHIDs are assigned by the central hub")?;
    let req: AssignUhids = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            400,
            ErrorCode::Malformed,
            format!("expected {{\"prefix\": \"DHP\"}}: {e}"),
        )
    })?;
    let st = st.clone();
    let report =
        to_the_end(async move { st.hub.assign_uhids(&req.prefix, st.hub.now_ms()).await }).await?;
    Ok(json_response(&report))
}

/// Publishes the hospital's configuration for every counter (the central hub only).
pub(super) async fn admin_publish_config<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    let body = read_body(
        &headers,
        body,
        parchi_sync::validate::MAX_CONFIG_BYTES + 64 * 1024,
    )
    .await?;
    central_only(&st, "publish the configuration at the central hub")?;
    let req: parchi_sync::wire::PublishConfig = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            400,
            ErrorCode::Malformed,
            format!(
                "expected {{\"effective_from\": \"YYYY-MM-DD\", \"settings\": {{…}}, \"note\": \"…\"}}: {e}"
            ),
        )
    })?;
    let st = st.clone();
    let published = to_the_end(async move {
        st.hub
            .publish_config(req.effective_from, req.settings, req.note, st.hub.now_ms())
            .await
    })
    .await?;
    Ok(json_response(&published))
}
