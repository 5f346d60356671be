//! The client's side of the hub's append-only backup store.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::{ClientError, HubClient, transport};
use crate::wire::backups::{BackupList, BackupStored, PruneReport, PruneRequest};
use crate::wire::{ErrorBody, ErrorCode};

/// The slowest link a backup upload is allowed: 256 KiB/s (a congested hospital WAN).
pub const UPLOAD_MIN_BYTES_PER_SEC: u64 = 256 * 1024;

/// How long uploading `len` bytes may take in all: the client's usual timeout, plus the time
/// the bytes take at [`UPLOAD_MIN_BYTES_PER_SEC`].
pub fn upload_timeout(base: Duration, len: u64) -> Duration {
    base + Duration::from_secs(len.div_ceil(UPLOAD_MIN_BYTES_PER_SEC))
}

impl HubClient {
    /// `POST /v1/backups`: uploads a backup file with this client's device credential. The
    /// hub keeps it under an ID of its own; sending the same bytes again answers `duplicate`.
    /// The whole upload may take [`upload_timeout`] (a large store's backup over a slow link
    /// takes minutes, not the seconds of a sync call).
    pub fn upload_backup(&self, file: &Path) -> Result<BackupStored, ClientError> {
        let f = std::fs::File::open(file)
            .map_err(|e| ClientError::Config(format!("{}: {e}", file.display())))?;
        let len = f
            .metadata()
            .map_err(|e| ClientError::Config(format!("{}: {e}", file.display())))?
            .len();
        let mut req = self
            .agent
            .post(format!("{}/v1/backups", self.base))
            .config()
            .timeout_global(Some(upload_timeout(self.timeout, len)))
            .build()
            .content_type("application/octet-stream");
        if let Some(a) = self.auth(None) {
            req = req.header("authorization", a);
        }
        self.finish(req.send(f))
    }

    /// `GET /v1/backups`: this device's site's backups, newest first.
    pub fn backups(&self) -> Result<BackupList, ClientError> {
        self.get("/v1/backups", None)
    }

    /// `DELETE /v1/backups/{id}` (always refused: the store is append-only; for tests).
    pub fn delete_backup(&self, id: &str) -> Result<serde_json::Value, ClientError> {
        let mut req = self.agent.delete(format!("{}/v1/backups/{id}", self.base));
        if let Some(a) = self.auth(None) {
            req = req.header("authorization", a);
        }
        self.finish(req.call())
    }

    /// `PUT /v1/backups/{id}` with `bytes` (always refused: nothing is overwritten; for tests).
    pub fn overwrite_backup(
        &self,
        id: &str,
        bytes: &[u8],
    ) -> Result<serde_json::Value, ClientError> {
        let mut req = self
            .agent
            .put(format!("{}/v1/backups/{id}", self.base))
            .content_type("application/octet-stream");
        if let Some(a) = self.auth(None) {
            req = req.header("authorization", a);
        }
        self.finish(req.send(bytes))
    }

    /// Admin: every stored backup, newest first.
    pub fn admin_backups(&self, admin_secret: &str) -> Result<BackupList, ClientError> {
        self.get("/v1/admin/backups", Some(admin_secret))
    }

    /// Admin: removes backups past the retention (the newest `keep_last` per site stay).
    pub fn admin_prune_backups(
        &self,
        admin_secret: &str,
        keep_days: u32,
        keep_last: u32,
    ) -> Result<PruneReport, ClientError> {
        self.post(
            "/v1/admin/backups/prune",
            &PruneRequest {
                keep_days,
                keep_last,
            },
            Some(admin_secret),
        )
    }

    /// Admin: downloads backup `id` into a new file `out` (refused if it exists); returns
    /// the bytes written. A partial download is removed.
    pub fn admin_download_backup(
        &self,
        admin_secret: &str,
        id: &str,
        out: &Path,
    ) -> Result<u64, ClientError> {
        let local = |e: std::io::Error| ClientError::Config(format!("{}: {e}", out.display()));
        let mut resp = self
            .agent
            .get(format!("{}/v1/admin/backups/{id}", self.base))
            .header("authorization", format!("Bearer {admin_secret}"))
            .call()
            .map_err(transport)?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let body = resp
                .body_mut()
                .with_config()
                .limit(64 * 1024)
                .read_to_vec()
                .map_err(transport)?;
            let e = serde_json::from_slice::<ErrorBody>(&body).unwrap_or(ErrorBody {
                code: ErrorCode::Unknown,
                message: String::from_utf8_lossy(&body).chars().take(200).collect(),
            });
            return Err(ClientError::Hub {
                status,
                code: e.code,
                message: e.message,
            });
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(out)
            .map_err(local)?;
        let mut reader = resp.body_mut().with_config().limit(u64::MAX).reader();
        let copied = std::io::copy(&mut reader, &mut f)
            .and_then(|n| f.flush().and_then(|()| f.sync_all()).map(|()| n));
        match copied {
            Ok(n) => Ok(n),
            Err(e) => {
                let _ = std::fs::remove_file(out);
                Err(ClientError::Unreachable(format!("download cut off: {e}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_backup_gets_time_for_its_bytes() {
        let base = Duration::from_secs(30);
        assert_eq!(upload_timeout(base, 0), base);
        // 400 MiB, a store of about a million patients, at 256 KiB/s: 1600 s more.
        assert_eq!(
            upload_timeout(base, 400 * 1024 * 1024),
            Duration::from_secs(30 + 1600)
        );
    }
}
