//! A blocking HTTP client for the hub (ureq, rustls), with timeouts on every call.
//!
//! Errors say whether the hub was unreachable (retry later, with backoff), answered with a coded
//! error (see [`ErrorCode`]), or answered something this client cannot read.

use std::fmt;
use std::time::Duration;

mod backups;

use chrono::NaiveDate;
use parchi_core::{CounterCode, Op, SiteId, Uhid};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::wire::{
    CreateEnrollCode, EnrollCode, EnrollRequest, EnrollResponse, ErrorBody, ErrorCode, Health,
    HubStats, MAX_MIRROR_LIMIT, MirrorBatch, MirrorBatchResult, MirrorDone, MirrorPage,
    MirrorStatus, PROTOCOL_VERSION, PullResponse, PushItem, PushResponse, QuarantinedOp, Role,
    SitesReport, UhidBlocks, UhidRange,
};

/// What went wrong talking to the hub.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer: the hub is down, unreachable, or too slow. Retry with backoff.
    #[error("hub unreachable: {0}")]
    Unreachable(String),
    /// The hub answered with an error.
    #[error("hub refused the request ({status} {code}): {message}")]
    Hub {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    /// The hub answered something this client cannot read.
    #[error("unexpected answer from the hub: {0}")]
    Protocol(String),
    /// The client was configured wrongly (a bad URL or certificate).
    #[error("sync client configuration: {0}")]
    Config(String),
}

impl ClientError {
    /// The hub's error code, if it answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Hub { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Worth retrying later unchanged (network trouble or a hub-side storage failure), as opposed
    /// to a refusal that will repeat.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Unreachable(_) => true,
            ClientError::Hub { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// Client settings.
#[derive(Clone)]
pub struct ClientConfig {
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Timeout for establishing the connection.
    pub connect_timeout: Duration,
    /// PEM certificate(s) to trust for an `https://` hub with its own CA or a self-signed
    /// certificate. Without it the public web roots are used.
    pub ca_pem: Option<Vec<u8>>,
    /// Largest response body read.
    pub max_response_bytes: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            ca_pem: None,
            max_response_bytes: 256 * 1024 * 1024,
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "<pem>"))
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// A connection to one hub, with an optional device credential.
#[derive(Clone)]
pub struct HubClient {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
    max_response_bytes: u64,
    /// The whole-request timeout of every call but a backup upload (which scales with size).
    timeout: Duration,
}

impl fmt::Debug for HubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubClient")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

fn transport(e: ureq::Error) -> ClientError {
    match e {
        ureq::Error::BadUri(u) => ClientError::Config(format!("bad hub URL: {u}")),
        ureq::Error::BodyExceedsLimit(n) => {
            ClientError::Protocol(format!("response larger than {n} bytes"))
        }
        other => ClientError::Unreachable(other.to_string()),
    }
}

impl HubClient {
    /// A client for the hub at `base_url` (`http://host:port` or `https://...`).
    pub fn new(base_url: &str, config: ClientConfig) -> Result<Self, ClientError> {
        let base = base_url.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Config(format!(
                "hub URL must start with http:// or https://, got {base:?}"
            )));
        }
        let mut builder = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .timeout_connect(Some(config.connect_timeout))
            .http_status_as_error(false)
            .user_agent(format!("parchi-sync/{}", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &config.ca_pem {
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(pem) {
                match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                    Ok(_) => {}
                    Err(e) => return Err(ClientError::Config(format!("CA certificate: {e}"))),
                }
            }
            if certs.is_empty() {
                return Err(ClientError::Config(
                    "CA file holds no certificate".to_string(),
                ));
            }
            builder = builder.tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                    .build(),
            );
        }
        Ok(Self {
            agent: builder.build().into(),
            base,
            token: None,
            max_response_bytes: config.max_response_bytes,
            timeout: config.timeout,
        })
    }

    /// The same client, sending `token` as its bearer credential.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The bearer credential this client sends, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn finish<T: DeserializeOwned>(
        &self,
        resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ClientError> {
        let mut resp = resp.map_err(transport)?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(self.max_response_bytes)
            .read_to_vec()
            .map_err(transport)?;
        if (200..300).contains(&status) {
            serde_json::from_slice(&body)
                .map_err(|e| ClientError::Protocol(format!("status {status}: {e}")))
        } else {
            match serde_json::from_slice::<ErrorBody>(&body) {
                Ok(e) => Err(ClientError::Hub {
                    status,
                    code: e.code,
                    message: e.message,
                }),
                Err(_) => Err(ClientError::Hub {
                    status,
                    code: ErrorCode::Unknown,
                    message: String::from_utf8_lossy(&body).chars().take(200).collect(),
                }),
            }
        }
    }

    fn auth(&self, bearer: Option<&str>) -> Option<String> {
        bearer
            .or(self.token.as_deref())
            .map(|t| format!("Bearer {t}"))
    }

    /// GETs a path with this client's credential (tests use it for raw queries).
    pub fn get_path<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.get(path, None)
    }

    fn get<T: DeserializeOwned>(&self, path: &str, bearer: Option<&str>) -> Result<T, ClientError> {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(a) = self.auth(bearer) {
            req = req.header("authorization", a);
        }
        self.finish(req.call())
    }

    fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        bearer: Option<&str>,
    ) -> Result<T, ClientError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ClientError::Protocol(format!("cannot encode request: {e}")))?;
        self.post_raw(path, bytes, bearer)
    }

    /// Posts an already encoded body (tests use it to send hostile bytes).
    pub fn post_raw<T: DeserializeOwned>(
        &self,
        path: &str,
        bytes: Vec<u8>,
        bearer: Option<&str>,
    ) -> Result<T, ClientError> {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .content_type("application/json");
        if let Some(a) = self.auth(bearer) {
            req = req.header("authorization", a);
        }
        self.finish(req.send(&bytes[..]))
    }

    /// `GET /v1/health`.
    pub fn health(&self) -> Result<Health, ClientError> {
        self.get("/v1/health", None)
    }

    /// `POST /v1/enroll`: trades a one-time code for this device's credential.
    pub fn enroll(
        &self,
        code: &str,
        site: SiteId,
        counter: Option<CounterCode>,
    ) -> Result<EnrollResponse, ClientError> {
        self.enroll_signed(code, site, counter, None)
    }

    /// [`HubClient::enroll`] with the device's Ed25519 public key (hex), which the hub pins:
    /// every backup of the site it later accepts must be signed by it.
    pub fn enroll_signed(
        &self,
        code: &str,
        site: SiteId,
        counter: Option<CounterCode>,
        signing_key: Option<String>,
    ) -> Result<EnrollResponse, ClientError> {
        self.post(
            "/v1/enroll",
            &EnrollRequest {
                version: PROTOCOL_VERSION,
                code: code.to_string(),
                site,
                counter,
                signing_key,
            },
            None,
        )
    }

    /// `POST /v1/push` of items (a relaying hub sends effective HLCs along).
    pub fn push_items(&self, items: &[PushItem]) -> Result<PushResponse, ClientError> {
        #[derive(Serialize)]
        struct Req<'a> {
            version: u32,
            ops: &'a [PushItem],
        }
        let resp: PushResponse = self.post(
            "/v1/push",
            &Req {
                version: PROTOCOL_VERSION,
                ops: items,
            },
            None,
        )?;
        if resp.results.len() != items.len() {
            return Err(ClientError::Protocol(format!(
                "pushed {} ops, got {} results",
                items.len(),
                resp.results.len()
            )));
        }
        Ok(resp)
    }

    /// `POST /v1/push` of a counter's own ops.
    pub fn push(&self, ops: &[Op]) -> Result<PushResponse, ClientError> {
        let items: Vec<PushItem> = ops.iter().cloned().map(PushItem::new).collect();
        self.push_items(&items)
    }

    /// `GET /v1/pull`: ops strictly after `after`, at most `limit`.
    pub fn pull(&self, after: u64, limit: u32) -> Result<PullResponse, ClientError> {
        let resp: PullResponse =
            self.get(&format!("/v1/pull?after={after}&limit={limit}"), None)?;
        check_page(after, limit, &resp)?;
        Ok(resp)
    }

    /// `GET /v1/mirror`: the mirror's copies with seq after `after`, at most `limit` read, less
    /// those the hospital last saw before `seen_since`.
    pub fn pull_mirror(
        &self,
        after: u64,
        limit: u32,
        seen_since: Option<NaiveDate>,
    ) -> Result<MirrorPage, ClientError> {
        let mut path = format!("/v1/mirror?after={after}&limit={limit}");
        if let Some(d) = seen_since {
            path.push_str(&format!("&seen_since={}", d.format("%Y-%m-%d")));
        }
        let page: MirrorPage = self.get(&path, None)?;
        check_mirror_page(after, limit, &page)?;
        Ok(page)
    }

    /// Admin: stores one batch of an import of the hospital's index.
    pub fn admin_mirror_batch(
        &self,
        admin_secret: &str,
        batch: &MirrorBatch,
    ) -> Result<MirrorBatchResult, ClientError> {
        self.post("/v1/admin/mirror", batch, Some(admin_secret))
    }

    /// Admin: records that an import run is complete, and when the index was copied.
    pub fn admin_mirror_done(
        &self,
        admin_secret: &str,
        done: &MirrorDone,
    ) -> Result<MirrorStatus, ClientError> {
        self.post("/v1/admin/mirror/done", done, Some(admin_secret))
    }

    /// Admin: how current the hub's mirror is.
    pub fn admin_mirror_status(&self, admin_secret: &str) -> Result<MirrorStatus, ClientError> {
        self.get("/v1/admin/mirror", Some(admin_secret))
    }

    /// Admin: adds a block of UHIDs the hospital set aside for new patients.
    pub fn admin_uhid_block_add(
        &self,
        admin_secret: &str,
        from: &Uhid,
        to: &Uhid,
    ) -> Result<UhidBlocks, ClientError> {
        self.post(
            "/v1/admin/uhid-blocks",
            &UhidRange {
                from: from.clone(),
                to: to.clone(),
            },
            Some(admin_secret),
        )
    }

    /// Admin: every UHID block and how far minting got in it.
    pub fn admin_uhid_blocks(&self, admin_secret: &str) -> Result<UhidBlocks, ClientError> {
        self.get("/v1/admin/uhid-blocks", Some(admin_secret))
    }

    /// Admin: a one-time enrolment code for a counter or a hub.
    pub fn admin_enroll_code(
        &self,
        admin_secret: &str,
        role: Role,
        ttl_secs: Option<u64>,
    ) -> Result<EnrollCode, ClientError> {
        self.post(
            "/v1/admin/enroll-codes",
            &CreateEnrollCode { role, ttl_secs },
            Some(admin_secret),
        )
    }

    /// Admin: every device and site with its sync state.
    pub fn admin_sites(&self, admin_secret: &str) -> Result<SitesReport, ClientError> {
        self.get("/v1/admin/sites", Some(admin_secret))
    }

    /// Admin, at the central hub: assigns permanent UHIDs (from the UHID blocks, then `PREFIX` +
    /// 9 digits) to every person new to the hospital who has only temporary IDs. Returns
    /// `{"assigned": [[patient_id, uhid], …], "skipped_linked": n, "skipped_undecided": n}`.
    pub fn admin_assign_uhids(
        &self,
        admin_secret: &str,
        prefix: &str,
    ) -> Result<serde_json::Value, ClientError> {
        self.post(
            "/v1/admin/assign-uhids",
            &serde_json::json!({ "prefix": prefix }),
            Some(admin_secret),
        )
    }

    /// Admin, at the central hub: publishes the hospital's configuration for every counter.
    pub fn admin_publish_config(
        &self,
        admin_secret: &str,
        req: &crate::wire::PublishConfig,
    ) -> Result<crate::wire::ConfigPublished, ClientError> {
        self.post("/v1/admin/config", req, Some(admin_secret))
    }

    /// Admin: ops stored aside because their ID arrived with two payloads.
    pub fn admin_quarantine(&self, admin_secret: &str) -> Result<Vec<QuarantinedOp>, ClientError> {
        self.get("/v1/admin/quarantine", Some(admin_secret))
    }

    /// Admin: hub-wide counts.
    pub fn admin_stats(&self, admin_secret: &str) -> Result<HubStats, ClientError> {
        self.get("/v1/admin/stats", Some(admin_secret))
    }

    /// Admin: revokes a device; its credential is refused from now on.
    pub fn admin_revoke(&self, admin_secret: &str, device_id: &str) -> Result<(), ClientError> {
        let _: serde_json::Value = self.post(
            &format!("/v1/admin/devices/{device_id}/revoke"),
            &serde_json::json!({}),
            Some(admin_secret),
        )?;
        Ok(())
    }
}

/// Refuses a page that breaks the cursor contract, before anything of it is applied.
pub fn check_page(after: u64, limit: u32, resp: &PullResponse) -> Result<(), ClientError> {
    let bad = |m: String| Err(ClientError::Protocol(m));
    if resp.ops.len() > limit.max(1) as usize {
        return bad(format!(
            "asked for at most {limit} ops, got {}",
            resp.ops.len()
        ));
    }
    let mut last = after;
    for op in &resp.ops {
        if op.seq <= last {
            return bad(format!(
                "ops out of order: seq {} after {last} (cursor {after})",
                op.seq
            ));
        }
        last = op.seq;
    }
    if resp.next != last {
        return bad(format!(
            "next cursor {} is not the last seq {last}",
            resp.next
        ));
    }
    if resp.ops.is_empty() && resp.more {
        return bad("an empty page that says more follow".into());
    }
    Ok(())
}

/// Refuses a mirror page that breaks the cursor contract, before anything of it is applied.
pub fn check_mirror_page(after: u64, limit: u32, page: &MirrorPage) -> Result<(), ClientError> {
    let bad = |m: String| Err(ClientError::Protocol(m));
    let limit = limit.clamp(1, MAX_MIRROR_LIMIT);
    if page.records.len() > limit as usize {
        return bad(format!(
            "asked for at most {limit} mirror records, got {}",
            page.records.len()
        ));
    }
    if page.next < after || (page.next == after && (page.more || !page.records.is_empty())) {
        return bad(format!(
            "mirror cursor {} does not follow {after} over the page read",
            page.next
        ));
    }
    if page.head < page.next {
        return bad(format!(
            "mirror head {} is before the page's end {}",
            page.head, page.next
        ));
    }
    Ok(())
}
