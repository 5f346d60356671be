//! Devices: enrolment codes, enrolment, tokens (only their SHA-256 is kept), revocation.

use std::collections::HashMap;

use parchi_core::{CounterCode, SiteId};
use parchi_sync::wire::{DeviceState, Role};
use sha2::{Digest, Sha256};

use super::Hub;
use crate::error::HubError;
use crate::storage::{DeviceRow, Storage};

/// The enrolled devices by the hash of their token.
#[derive(Default)]
pub(super) struct Devices {
    pub(super) by_token: HashMap<[u8; 32], DeviceRow>,
}

/// SHA-256 of a secret (tokens, enrolment codes, the admin secret).
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Random bytes from the OS.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], HubError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| HubError::Config(format!("no OS randomness: {e}")))?;
    Ok(b)
}

pub(super) fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Symbols of enrolment codes: no 0/O, 1/I/L, U or S, so a code read aloud is typed right.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRTVWXYZ";

/// Normalises a typed enrolment code: upper case, without separators.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl<S: Storage> Hub<S> {
    // ---- Auth ----------------------------------------------------------------------------------

    /// The device holding `token`: 401 if none, 403 if revoked.
    pub fn authenticate(&self, token: &str) -> Result<DeviceRow, HubError> {
        let h = secret_hash(token);
        let devices = self
            .devices
            .read()
            .map_err(|_| HubError::Config("device table lock poisoned".into()))?;
        match devices.by_token.get(&h) {
            None => Err(HubError::Unauthorized),
            Some(d) if d.revoked_ms.is_some() => Err(HubError::Revoked),
            Some(d) => Ok(d.clone()),
        }
    }

    pub(super) fn update_device(&self, d: &DeviceRow) {
        if let Ok(mut devices) = self.devices.write() {
            devices.by_token.insert(d.token_hash, d.clone());
        }
    }

    /// A fresh one-time enrolment code, valid for `ttl_ms`.
    pub async fn create_enroll_code(
        &self,
        role: Role,
        ttl_ms: u64,
        now_ms: u64,
    ) -> Result<(String, u64), HubError> {
        let raw = random_bytes::<20>()?;
        let symbols: String = raw
            .iter()
            .map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char)
            .collect();
        let code = format!(
            "{}-{}-{}-{}",
            &symbols[0..5],
            &symbols[5..10],
            &symbols[10..15],
            &symbols[15..20]
        );
        let expires = now_ms.saturating_add(ttl_ms);
        self.storage
            .put_enroll_code(secret_hash(&normalise_code(&code)), role, expires)
            .await?;
        Ok((code, expires))
    }

    /// Trades a one-time code for a device credential. Returns the device and its token (shown
    /// once, stored only hashed).
    pub async fn enroll(
        &self,
        code: &str,
        site: SiteId,
        counter: Option<CounterCode>,
        now_ms: u64,
    ) -> Result<(DeviceRow, String), HubError> {
        if site.0.is_nil() {
            return Err(HubError::BadRequest("site must not be the nil UUID".into()));
        }
        let token = format!("pt_{}", hex(&random_bytes::<32>()?));
        let device = DeviceRow {
            device_id: format!("dev_{}", hex(&random_bytes::<8>()?)),
            token_hash: secret_hash(&token),
            site,
            counter: counter.as_ref().map(|c| c.as_str().to_string()),
            role: Role::Counter,
            enrolled_ms: now_ms,
            revoked_ms: None,
            last_push_ms: None,
            last_pull_ms: None,
            last_pull_cursor: None,
        };
        let stored = self
            .storage
            .enroll(secret_hash(&normalise_code(code)), now_ms, device)
            .await?
            .ok_or(HubError::InvalidEnrollCode)?;
        self.update_device(&stored);
        Ok((stored, token))
    }

    /// Revokes a device: its token is refused from now on.
    pub async fn revoke(&self, device_id: &str, now_ms: u64) -> Result<DeviceState, HubError> {
        let found = {
            let devices = self
                .devices
                .read()
                .map_err(|_| HubError::Config("device table lock poisoned".into()))?;
            devices
                .by_token
                .values()
                .find(|d| d.device_id == device_id)
                .cloned()
        };
        let mut d = found.ok_or_else(|| HubError::NotFound(format!("device {device_id}")))?;
        if d.revoked_ms.is_none() {
            d.revoked_ms = Some(now_ms);
            self.storage.put_device(d.clone()).await?;
            self.update_device(&d);
            tracing::warn!(device = %d.device_id, site = %d.site, "device revoked");
        }
        Ok(device_state(&d))
    }
}

pub(super) fn device_state(d: &DeviceRow) -> DeviceState {
    DeviceState {
        device_id: d.device_id.clone(),
        site: d.site,
        counter: d
            .counter
            .as_deref()
            .and_then(|c| CounterCode::parse(c).ok()),
        role: d.role,
        enrolled_ms: d.enrolled_ms,
        revoked_ms: d.revoked_ms,
        last_push_ms: d.last_push_ms,
        last_pull_ms: d.last_pull_ms,
        last_pull_cursor: d.last_pull_cursor,
    }
}
