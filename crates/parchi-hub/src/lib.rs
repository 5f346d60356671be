//! Parchi's sync hub: `parchi serve`.
//!
//! Counters push the operations they wrote offline and pull everyone else's; the hub stores every
//! op once, in its own acceptance order, and keeps the merged patients and visits by the core's
//! merge rules. It runs on embedded SQLite by default and on PostgreSQL when given a database URL.
//!
//! Code map:
//! - [`engine`]: the logic every backend shares: a push classified by a pure function
//!   (`engine/classify.rs`: dedupe by op ID, quarantine, clock clamp, seqs) then committed and
//!   merged by a thin shell (`engine/push.rs`), enrolment, admin queries; the mirror of the hospital's patient index
//!   (`engine/mirror.rs`: imported in batches, pulled by counters page by page, never an op) and
//!   permanent UHIDs (`engine/uhids.rs`: who gets one, from the hospital's UHID blocks first);
//! - [`storage`]: the [`Storage`] trait and its rows; [`sqlite`] and [`postgres`] implement it;
//! - [`state`]: merged records and their stored encoding;
//! - [`server`]: the axum routes of protocol v1 (see `schemas/hub.openapi.yaml`; the mirror's in
//!   `server/mirror.rs`);
//! - [`relay`]: a LAN hub syncing with an upstream hub over the same protocol;
//! - [`clock`]: where the hub reads the time (injected, so tests can pin it).
//!
//! **Architecture Invariant:** the server is generic over [`Storage`]; nothing above
//! [`storage`] knows which database is underneath, and one conformance story runs against both.
//!
//! **Architecture Invariant:** an op's payload (patient data) never reaches a log line or a
//! `Debug` output; logs carry op IDs, site IDs and device IDs only.

pub mod backups;
pub mod cli;
pub mod clock;
pub mod engine;
pub mod error;
pub mod keys;
pub mod postgres;
pub mod relay;
pub mod server;
pub mod snapshot;
pub mod sqlite;
pub mod state;
pub mod storage;
pub mod workload;

use std::fmt;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use clock::Clock;
pub use engine::{Hub, HubConfig, Source};
pub use error::{HubError, StorageError};
pub use postgres::{PgStorage, PgTls};
pub use sqlite::SqliteStorage;
pub use storage::Storage;

/// The SQLite file inside the data directory.
pub const SQLITE_FILE: &str = "hub.sqlite3";
/// The admin secret file inside the data directory.
pub const ADMIN_SECRET_FILE: &str = "admin.secret";
/// How often a serving hub checkpoints the merged state of the records that changed (see
/// [`Hub::checkpoint`]); it also checkpoints when it shuts down.
pub const CHECKPOINT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);
/// Environment variable that may carry the admin secret instead of the file.
pub const ADMIN_SECRET_ENV: &str = "PARCHI_HUB_ADMIN_SECRET";

/// How to run a hub (the flags of `parchi serve`).
#[derive(Clone, Default)]
pub struct ServeOptions {
    /// Data directory: the SQLite file and the admin secret.
    pub data_dir: PathBuf,
    /// Address to listen on, e.g. `0.0.0.0:7878` or `127.0.0.1:0`.
    pub listen: String,
    /// `postgres://…` to store in PostgreSQL instead of SQLite.
    pub database: Option<String>,
    /// PostgreSQL schema to keep the tables in (created if missing); default: the URL's default.
    pub database_schema: Option<String>,
    /// TLS to PostgreSQL (also used when the URL says `sslmode=require`).
    pub database_tls: PgTls,
    /// PEM certificate chain and private key: serve HTTPS (rustls).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The admin secret; else `PARCHI_HUB_ADMIN_SECRET`, else `DATA/admin.secret` (generated at
    /// first start).
    pub admin_secret: Option<String>,
    pub config: HubConfig,
    /// Relay to an upstream hub (LAN mode): push everything there and pull back, periodically.
    pub upstream: Option<Upstream>,
    /// Where the hub reads the time (default: the system clock; tests pin it).
    pub clock: Clock,
    /// Most bytes of one uploaded backup (default `DEFAULT_MAX_BACKUP_BYTES`).
    pub max_backup_bytes: Option<u64>,
    /// The hub backing itself up on a schedule (SQLite backend).
    pub backup: Option<snapshot::HubBackup>,
}

/// The upstream hub a LAN hub relays to.
#[derive(Clone)]
pub struct Upstream {
    pub url: String,
    /// This hub's credential at the upstream (enrolled there with role `hub`).
    pub token: String,
    /// Time between background relay rounds; zero means only on request
    /// (`POST /v1/admin/relay`).
    pub interval: std::time::Duration,
    pub client: parchi_sync::ClientConfig,
    /// Pages of the upstream's mirror of the hospital's index (10,000 records each) a relay
    /// round pulls at most ([`relay::MIRROR_PAGES_PER_ROUND`]); a round with more to pull is
    /// followed by the next at once.
    pub mirror_pages: usize,
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upstream")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ServeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeOptions")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("database", &self.database.as_ref().map(|_| "<url>"))
            .field("database_schema", &self.database_schema)
            .field("database_tls", &self.database_tls)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field(
                "admin_secret",
                &self.admin_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("config", &self.config)
            .field("upstream", &self.upstream)
            .field("clock", &self.clock)
            .field("max_backup_bytes", &self.max_backup_bytes)
            .field("backup", &self.backup)
            .finish()
    }
}

/// Reads the admin secret from `DATA/admin.secret`, creating it (mode 0600) if missing.
pub fn admin_secret(data_dir: &Path) -> Result<String, HubError> {
    let path = data_dir.join(ADMIN_SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(HubError::Config(format!("reading {}: {e}", path.display())));
        }
    }
    let secret: String = engine::random_bytes::<32>()?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut f = parchi_platform::create_private_file(&path)
        .map_err(|e| HubError::Config(format!("creating {}: {e}", path.display())))?;
    f.write_all(secret.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| HubError::Config(format!("writing {}: {e}", path.display())))?;
    Ok(secret)
}

fn resolve_admin_secret(opts: &ServeOptions) -> Result<String, HubError> {
    if let Some(s) = opts.admin_secret.as_ref().filter(|s| !s.is_empty()) {
        return Ok(s.clone());
    }
    if let Ok(s) = std::env::var(ADMIN_SECRET_ENV)
        && !s.trim().is_empty()
    {
        return Ok(s.trim().to_string());
    }
    admin_secret(&opts.data_dir)
}

/// Runs a hub until `shutdown` resolves. `on_ready` gets the bound address once the hub
/// accepts connections.
pub async fn serve(
    opts: ServeOptions,
    on_ready: impl FnOnce(SocketAddr) + Send,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), HubError> {
    std::fs::create_dir_all(&opts.data_dir).map_err(|e| {
        HubError::Config(format!("data directory {}: {e}", opts.data_dir.display()))
    })?;
    let secret = resolve_admin_secret(&opts)?;
    match &opts.database {
        Some(url) => {
            let storage =
                PgStorage::connect_with(url, opts.database_schema.as_deref(), &opts.database_tls)
                    .await?;
            schedule_backups(&storage, &opts);
            serve_with(storage, &opts, &secret, on_ready, shutdown).await
        }
        None => {
            let key = keys::data_key(&opts.data_dir)?;
            let storage = SqliteStorage::open(&opts.data_dir.join(SQLITE_FILE), &key)?;
            schedule_backups(&storage, &opts);
            serve_with(storage, &opts, &secret, on_ready, shutdown).await
        }
    }
}

/// Starts the hub's own backups, if `opts` asks for them.
fn schedule_backups<T: snapshot::SelfBackup>(storage: &T, opts: &ServeOptions) {
    if let Some(b) = &opts.backup {
        snapshot::spawn_backups(
            storage,
            opts.data_dir.clone(),
            b.clone(),
            opts.clock.clone(),
        );
    }
}

/// Serves a hub over an already opened storage.
pub async fn serve_with<S: Storage>(
    storage: S,
    opts: &ServeOptions,
    admin_secret: &str,
    on_ready: impl FnOnce(SocketAddr) + Send,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), HubError> {
    let hub = Hub::open_with_clock(storage, opts.config, opts.clock.clone()).await?;
    tracing::info!(
        hub_id = hub.hub_id(),
        backend = hub.storage().backend(),
        head = hub.head(),
        "hub opened"
    );
    let store = Arc::new(backups::BackupStore::open(
        &opts.data_dir,
        opts.max_backup_bytes
            .unwrap_or(parchi_sync::wire::backups::DEFAULT_MAX_BACKUP_BYTES),
    )?);
    server::sync_pins(&hub, &store).await?;
    let mut state = server::AppState::new(hub, admin_secret).with_backups(store);
    if let Some(up) = &opts.upstream {
        let client =
            parchi_sync::HubClient::new(&up.url, up.client.clone())?.with_token(up.token.clone());
        state = state.with_upstream(client);
        state.relay_mirror_pages = up.mirror_pages;
    }
    let state = Arc::new(state);
    if let Some(up) = opts.upstream.as_ref().filter(|u| !u.interval.is_zero()) {
        let st = state.clone();
        let interval = up.interval;
        tokio::spawn(async move {
            let mut backoff = parchi_sync::Backoff::new(interval, interval * 30);
            loop {
                let wait = match st.relay_now().await {
                    Ok(r) => {
                        backoff.reset();
                        tracing::info!(
                            pushed = r.pushed,
                            pulled = r.pulled,
                            mirror = r.mirror_pulled,
                            "relay round"
                        );
                        // A first copy of the hospital's index comes down round after round.
                        if r.mirror_more {
                            std::time::Duration::ZERO
                        } else {
                            interval
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "relay round failed; backing off");
                        // Random, not the clock: LAN hubs that lost their upstream together
                        // must not retry together.
                        let jitter = engine::random_bytes::<8>()
                            .map(|b| (u64::from_le_bytes(b) % 1000) as f64 / 1000.0)
                            .unwrap_or(0.5);
                        backoff.next_delay(jitter)
                    }
                };
                tokio::time::sleep(wait).await;
            }
        });
    }
    {
        let st = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                if matches!(st.hub.dirty_records().await, Ok(0)) {
                    continue;
                }
                match st.hub.checkpoint().await {
                    Ok(r) => {
                        tracing::debug!(records = r.records, state_seq = r.state_seq, "checkpoint")
                    }
                    Err(e) => tracing::warn!(error = %e, "checkpoint failed; retrying later"),
                }
            }
        });
    }
    let app = server::router(state.clone());
    let listener = std::net::TcpListener::bind(&opts.listen)
        .map_err(|e| HubError::Config(format!("cannot listen on {}: {e}", opts.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| HubError::Config(format!("listening socket: {e}")))?;
    let handle = axum_server::Handle::<SocketAddr>::new();
    let h2 = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        h2.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
    });
    let io = |e: std::io::Error| HubError::Config(format!("server: {e}"));
    let served = match (&opts.tls_cert, &opts.tls_key) {
        (Some(cert), Some(key)) => {
            let _ = rustls_provider();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .map_err(|e| HubError::Config(format!("TLS certificate or key: {e}")))?;
            let server = axum_server::from_tcp_rustls(listener, tls)
                .map_err(io)?
                .handle(handle);
            on_ready(addr);
            server.serve(app.into_make_service()).await.map_err(io)
        }
        (None, None) => {
            let server = axum_server::from_tcp(listener).map_err(io)?.handle(handle);
            on_ready(addr);
            server.serve(app.into_make_service()).await.map_err(io)
        }
        _ => Err(HubError::Config(
            "give both --tls-cert and --tls-key, or neither".into(),
        )),
    };
    // A clean stop leaves nothing for the next start to merge from the log.
    if served.is_ok()
        && let Err(e) = state.hub.checkpoint().await
    {
        tracing::warn!(error = %e, "checkpoint at shutdown failed; the next start merges the log");
    }
    served
}

fn rustls_provider() -> bool {
    // axum-server is built with rustls' ring provider; make it the process default once.
    rustls::crypto::ring::default_provider()
        .install_default()
        .is_ok()
}

/// Runs `parchi serve` in the foreground: prints `listening on <addr>` to stdout once ready and
/// stops on Ctrl-C or SIGTERM.
pub fn run(opts: ServeOptions) -> Result<(), HubError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| HubError::Config(format!("runtime: {e}")))?;
    rt.block_on(serve(
        opts,
        |addr| {
            let mut out = std::io::stdout();
            let _ = writeln!(out, "listening on {addr}");
            let _ = out.flush();
        },
        parchi_platform::signal::shutdown_signal(),
    ))
}

/// Creates a one-time enrolment code through a running hub's admin endpoint (what
/// `parchi hub enroll-code` calls). The admin secret is read from `data_dir` unless given.
pub fn enroll_code(
    hub_url: &str,
    data_dir: &Path,
    admin_secret_override: Option<&str>,
    role: parchi_sync::wire::Role,
    ttl_secs: Option<u64>,
    client_config: parchi_sync::ClientConfig,
) -> Result<parchi_sync::wire::EnrollCode, HubError> {
    let secret = match admin_secret_override {
        Some(s) => s.to_string(),
        None => {
            let path = data_dir.join(ADMIN_SECRET_FILE);
            std::fs::read_to_string(&path)
                .map(|s| s.trim().to_string())
                .map_err(|e| HubError::Config(format!("reading {}: {e}", path.display())))?
        }
    };
    let client = parchi_sync::HubClient::new(hub_url, client_config)?;
    Ok(client.admin_enroll_code(&secret, role, ttl_secs)?)
}
