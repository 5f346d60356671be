//! `parchi-hub`: the hub server on its own, with the flags of `parchi serve` (tests and
//! benchmarks start it as a real process).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use parchi_hub::{HubConfig, ServeOptions};

#[derive(Parser)]
#[command(
    name = "parchi-hub",
    about = "Parchi sync hub (the server behind `parchi serve`)"
)]
struct Args {
    /// Data directory (SQLite file, admin secret).
    #[arg(long)]
    data: PathBuf,
    /// Address to listen on, e.g. 0.0.0.0:7878; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: String,
    /// PostgreSQL URL (postgres://user@host:port/db) instead of the embedded SQLite.
    #[arg(long)]
    database: Option<String>,
    /// PostgreSQL schema for the hub's tables (created if missing).
    #[arg(long, requires = "database")]
    database_schema: Option<String>,
    /// TLS certificate chain (PEM).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Admin secret (else $PARCHI_HUB_ADMIN_SECRET, else DATA/admin.secret).
    #[arg(long, env = "PARCHI_HUB_ADMIN_SECRET", hide_env_values = true)]
    admin_secret: Option<String>,
    /// Upstream hub URL to relay to (LAN mode).
    #[arg(long, requires = "upstream_token")]
    upstream: Option<String>,
    /// This hub's credential at the upstream (enrolled there with role `hub`).
    #[arg(long, env = "PARCHI_HUB_UPSTREAM_TOKEN", hide_env_values = true)]
    upstream_token: Option<String>,
    /// Seconds between relay rounds (0: only on `POST /v1/admin/relay`).
    #[arg(long, default_value_t = 30)]
    upstream_interval: u64,
    /// Most ops accepted in one push.
    #[arg(long, default_value_t = parchi_sync::wire::DEFAULT_MAX_BATCH_OPS)]
    max_batch_ops: usize,
    /// Most bytes accepted in one request body.
    #[arg(long, default_value_t = parchi_sync::wire::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// How far ahead of the hub's clock an op's HLC may be before it is clamped (ms).
    #[arg(long, default_value_t = parchi_core::hlc::DEFAULT_MAX_DRIFT_MS)]
    max_drift_ms: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PARCHI_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let opts = ServeOptions {
        data_dir: args.data,
        listen: args.listen,
        database: args.database,
        database_schema: args.database_schema,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        admin_secret: args.admin_secret,
        upstream: match (args.upstream, args.upstream_token) {
            (Some(url), Some(token)) => Some(parchi_hub::Upstream {
                url,
                token,
                interval: std::time::Duration::from_secs(args.upstream_interval),
                client: parchi_sync::ClientConfig::default(),
            }),
            _ => None,
        },
        config: HubConfig {
            max_batch_ops: args.max_batch_ops,
            max_body_bytes: args.max_body_bytes,
            max_drift_ms: args.max_drift_ms,
        },
    };
    match parchi_hub::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parchi-hub: {e}");
            ExitCode::FAILURE
        }
    }
}
