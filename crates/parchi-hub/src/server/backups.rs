//! The backup routes: a device uploads (`POST /v1/backups`) and lists its own; nothing a
//! credential sends changes or removes a stored one (`PUT`/`DELETE /v1/backups/{id}`: 403); the
//! admin lists, downloads and prunes by retention. See `crate::backups`.

use std::io::{Read, Write};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use parchi_sync::wire::ErrorCode;
use parchi_sync::wire::backups::{BackupList, PruneRequest};
use sha2::{Digest, Sha256};

use super::{ApiError, ApiResult, AppState, admin, bearer, device, json_response, read_body};
use crate::backups::BackupStore;
use crate::engine::Hub;
use crate::error::HubError;
use crate::storage::Storage;

fn store<S: Storage>(st: &AppState<S>) -> ApiResult<Arc<BackupStore>> {
    st.backups
        .clone()
        .ok_or_else(|| ApiError::new(404, ErrorCode::NotFound, "this hub keeps no backups"))
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(500, ErrorCode::Internal, e.to_string())
}

/// `POST /v1/backups`: the body is a backup file, streamed to disk and checked before it is
/// kept. 201 with the entry; 200 when the hub already held the same bytes.
pub(super) async fn upload<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let dev = device(&st, &headers)?;
    let backups = store(&st)?;
    let limit = backups.max_bytes;
    let too_large = || {
        ApiError::new(
            413,
            ErrorCode::PayloadTooLarge,
            format!("a backup larger than {limit} bytes is not accepted"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|l| l > limit) {
        return Err(too_large());
    }
    let tmp = backups.incoming_path()?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    let path = tmp.clone();
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<([u8; 32], u64)> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let mut h = Sha256::new();
        let mut n = 0u64;
        while let Some(chunk) = rx.blocking_recv() {
            f.write_all(&chunk)?;
            h.update(&chunk);
            n += chunk.len() as u64;
        }
        f.sync_all()?;
        Ok((h.finalize().into(), n))
    });
    let mut body = body;
    let mut seen = 0u64;
    let mut failed: Option<ApiError> = None;
    while let Some(frame) = body.frame().await {
        let data = match frame {
            Ok(f) => match f.into_data() {
                Ok(d) => d,
                Err(_) => continue,
            },
            Err(e) => {
                failed = Some(ApiError::new(
                    400,
                    ErrorCode::Truncated,
                    format!("the backup could not be read in full (cut connection?): {e}"),
                ));
                break;
            }
        };
        seen += data.len() as u64;
        if seen > limit {
            failed = Some(too_large());
            break;
        }
        if tx.send(data).await.is_err() {
            break;
        }
    }
    drop(tx);
    let written = writer.await.map_err(internal)?;
    if let Some(e) = failed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let (sha, bytes) = match written {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(ApiError::new(
                503,
                ErrorCode::Storage,
                format!("the hub could not store the backup: {e}"),
            ));
        }
    };
    if declared.is_some_and(|l| l != bytes) {
        let _ = std::fs::remove_file(&tmp);
        return Err(ApiError::new(
            400,
            ErrorCode::Truncated,
            format!("{bytes} bytes received, Content-Length said more"),
        ));
    }
    let now = st.hub.now_ms();
    let store = backups.clone();
    let stored = tokio::task::spawn_blocking(move || store.accept(&tmp, sha, bytes, &dev, now))
        .await
        .map_err(internal)??;
    remember_pin(&st.hub, &backups, &stored.entry.site).await?;
    let status = if stored.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, axum::Json(stored)).into_response())
}

/// Meta key prefix of the device keys pinned for the sites' backups. They are kept in the
/// hub's database as well as beside the backups, so a hub restored from its own backup still
/// refuses a backup signed by another key.
pub const META_PIN: &str = "backup_pin:";

/// Records `site`'s pin (as the backup store holds it) in the hub's database.
pub(crate) async fn remember_pin<S: Storage>(
    hub: &Hub<S>,
    store: &BackupStore,
    site: &str,
) -> Result<(), HubError> {
    let Some(key) = store.pinned_key(site)? else {
        return Ok(());
    };
    let k = format!("{META_PIN}{site}");
    if hub.meta(&k).await.as_deref() != Some(key.as_str()) {
        hub.set_meta(&k, &key).await?;
    }
    Ok(())
}

/// At start-up: pins the database holds and the backup store does not (a hub restored from
/// its own backup) are written again beside the backups; pins only there (from a hub before
/// this) go into the database.
pub(crate) async fn sync_pins<S: Storage>(
    hub: &Hub<S>,
    store: &BackupStore,
) -> Result<(), HubError> {
    for (k, key) in hub.meta_prefixed(META_PIN).await {
        let site = &k[META_PIN.len()..];
        if let Err(e) = store.pin(site, &key) {
            tracing::warn!(site, error = %e, "the device key pinned in the database differs from the one beside the backups; the one there stays");
        }
    }
    for (site, _) in store.pins()? {
        remember_pin(hub, store, &site).await?;
    }
    Ok(())
}

/// `GET /v1/backups`: the device's own site's backups, newest first.
pub(super) async fn list_own<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let dev = device(&st, &headers)?;
    let backups = store(&st)?;
    let site = dev.site.to_string();
    let list = tokio::task::spawn_blocking(move || backups.list(Some(&site)))
        .await
        .map_err(internal)??;
    Ok(json_response(&BackupList { backups: list }))
}

/// `PUT` and `DELETE /v1/backups/{id}`: refused for every credential, device or admin (the
/// store is append-only; the admin prunes by retention). 401 without a valid credential.
pub(super) async fn refuse_change<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path(_id): Path<String>,
) -> ApiResult<Response> {
    if admin(&st, &headers).is_err() {
        let dev = device(&st, &headers)?;
        tracing::warn!(device = %dev.device_id, site = %dev.site, "refused an attempt to change or delete a backup");
    }
    let _ = bearer(&headers);
    Err(ApiError::new(
        403,
        ErrorCode::Forbidden,
        "backups are append-only: no credential may overwrite or delete one (the admin prunes old ones with POST /v1/admin/backups/prune)",
    ))
}

/// `GET /v1/admin/backups`: every stored backup, newest first.
pub(super) async fn admin_list<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    let backups = store(&st)?;
    let list = tokio::task::spawn_blocking(move || backups.list(None))
        .await
        .map_err(internal)??;
    Ok(json_response(&BackupList { backups: list }))
}

/// `GET /v1/admin/backups/{id}`: the backup file.
pub(super) async fn admin_download<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    let backups = store(&st)?;
    let (entry, path) = tokio::task::spawn_blocking(move || backups.find(&id))
        .await
        .map_err(internal)??;
    let mut f = std::fs::File::open(&path)
        .map_err(|e| ApiError::new(503, ErrorCode::Storage, format!("backup file: {e}")))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, entry.bytes.to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// `PruneRequest` as JSON Schema reads it: an integer may be written `30.0`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PruneBody {
    keep_days: serde_json::Number,
    /// Absent means the default; present it must be a number (`null` is refused).
    #[serde(default, deserialize_with = "present")]
    keep_last: Option<serde_json::Value>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde::Deserialize::deserialize(d).map(Some)
}

/// `POST /v1/admin/backups/prune` with `{keep_days, keep_last}`.
pub(super) async fn admin_prune<S: Storage>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    admin(&st, &headers)?;
    let backups = store(&st)?;
    let bytes = read_body(&headers, body, 64 * 1024).await?;
    let malformed = |why: String| {
        ApiError::new(
            400,
            ErrorCode::Malformed,
            format!("expected {{\"keep_days\": 30, \"keep_last\": 4}}: {why}"),
        )
    };
    let body: PruneBody = serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
    let count = |n: &serde_json::Number, what: &str| {
        super::whole_number(n)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| {
                malformed(format!(
                    "{what} must be a whole number from 0 to 4294967295"
                ))
            })
    };
    let req = PruneRequest {
        keep_days: count(&body.keep_days, "keep_days")?,
        keep_last: match &body.keep_last {
            Some(serde_json::Value::Number(n)) => count(n, "keep_last")?,
            Some(_) => return Err(malformed("keep_last must be a number".into())),
            None => PruneRequest::DEFAULT_KEEP_LAST,
        },
    };
    let now = st.hub.now_ms();
    let report = tokio::task::spawn_blocking(move || backups.prune(&req, now))
        .await
        .map_err(internal)??;
    Ok(json_response(&report))
}
