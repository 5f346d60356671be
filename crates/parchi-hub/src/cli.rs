//! The hub's command-line flags, shared by `parchi serve` and the stand-alone `parchi-hub`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::{HubConfig, ServeOptions};

/// The flags of `parchi serve` (and of the stand-alone `parchi-hub` binary). The settings an
/// installation keeps can also come from `PARCHI_HUB_*` variables: the hub package's systemd unit
/// reads them from `/etc/parchi/hub.env`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 0.0.0.0:7878; port 0 picks a free port.
    #[arg(long, env = "PARCHI_HUB_LISTEN", default_value = "127.0.0.1:7878")]
    pub listen: String,
    /// PostgreSQL URL (postgres://user@host:port/db) instead of the embedded SQLite.
    #[arg(long, env = "PARCHI_HUB_DATABASE", hide_env_values = true)]
    pub database: Option<String>,
    /// PostgreSQL schema for the hub's tables (created if missing).
    #[arg(long, env = "PARCHI_HUB_DATABASE_SCHEMA", requires = "database")]
    pub database_schema: Option<String>,
    /// Connect to PostgreSQL over TLS (rustls), verifying the server's certificate and name;
    /// also on when the URL says sslmode=require.
    #[arg(long, requires = "database")]
    pub database_tls: bool,
    /// PEM certificates to trust for PostgreSQL's certificate (a hospital's own CA) instead of
    /// the Mozilla roots.
    #[arg(long, requires = "database")]
    pub database_ca: Option<PathBuf>,
    /// TLS certificate chain (PEM).
    #[arg(long, env = "PARCHI_HUB_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "PARCHI_HUB_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Admin secret (else $PARCHI_HUB_ADMIN_SECRET, else DATA/admin.secret).
    #[arg(long, env = "PARCHI_HUB_ADMIN_SECRET", hide_env_values = true)]
    pub admin_secret: Option<String>,
    /// Upstream hub URL to relay to (LAN mode).
    #[arg(long, env = "PARCHI_HUB_UPSTREAM", requires = "upstream_token")]
    pub upstream: Option<String>,
    /// This hub's credential at the upstream (enrolled there with role `hub`).
    #[arg(long, env = "PARCHI_HUB_UPSTREAM_TOKEN", hide_env_values = true)]
    pub upstream_token: Option<String>,
    /// Seconds between relay rounds (0: only on `POST /v1/admin/relay`).
    #[arg(long, default_value_t = 30)]
    pub upstream_interval: u64,
    /// Most ops accepted in one push.
    #[arg(long, default_value_t = parchi_sync::wire::DEFAULT_MAX_BATCH_OPS)]
    pub max_batch_ops: usize,
    /// Most bytes accepted in one request body.
    #[arg(long, default_value_t = parchi_sync::wire::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// How far ahead of the hub's clock an op's HLC may be before it is clamped (ms).
    #[arg(long, default_value_t = parchi_core::hlc::DEFAULT_MAX_DRIFT_MS)]
    pub max_drift_ms: u64,
    /// Back the hub's store up into this directory on a schedule (see --backup-every and
    /// --backup-day-end): an SQLCipher snapshot, or for PostgreSQL a `pg_dump` of the hub's
    /// schema, either one encrypted and signed.
    #[arg(long, env = "PARCHI_HUB_BACKUP_DIR", value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Minutes between the hub's own backups.
    #[arg(
        long,
        env = "PARCHI_HUB_BACKUP_EVERY",
        default_value_t = 15,
        requires = "backup_dir"
    )]
    pub backup_every: u64,
    /// Local time (HH:MM, the machine's time zone) of the day-end backup, or `off`.
    #[arg(
        long,
        env = "PARCHI_HUB_BACKUP_DAY_END",
        default_value = "17:00",
        value_name = "HH:MM",
        value_parser = day_end,
        requires = "backup_dir"
    )]
    pub backup_day_end: DayEnd,
    /// The hospital's backup key (an age recipient, age1…) the hub's backups are encrypted
    /// to, besides the hub's recovery key.
    #[arg(
        long,
        env = "PARCHI_HUB_BACKUP_RECIPIENT",
        value_name = "AGE1…",
        requires = "backup_dir"
    )]
    pub backup_recipient: Option<String>,
    /// Most bytes of one backup a device may upload.
    #[arg(long)]
    pub max_backup_bytes: Option<u64>,
    /// Create the SQLite store's key slots with a recovery key, print the key once and exit
    /// (before the first start, or with the hub stopped when it has no recovery key yet).
    #[arg(long)]
    pub init_keys: bool,
}

/// Runs the hub with these flags until Ctrl-C or SIGTERM; logs go to stderr (`PARCHI_LOG`).
/// The day-end backup's time as minutes after midnight (none: `off`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayEnd(pub Option<u32>);

fn day_end(s: &str) -> Result<DayEnd, String> {
    crate::snapshot::parse_day_end(s).map(DayEnd)
}

pub fn serve_main(data: PathBuf, args: ServeArgs) -> ExitCode {
    if args.init_keys {
        return match crate::keys::init_keys(&data) {
            Ok(rk) => {
                println!(
                    "RECOVERY KEY of the hub in {} (shown this once; keep it in the safe):\n\n    {}\n",
                    data.display(),
                    rk.display().as_str()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("parchi serve --init-keys: {e}");
                ExitCode::FAILURE
            }
        };
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PARCHI_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let opts = ServeOptions {
        data_dir: data,
        listen: args.listen,
        database: args.database,
        database_schema: args.database_schema,
        database_tls: crate::PgTls {
            enabled: args.database_tls,
            ca_file: args.database_ca,
        },
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        admin_secret: args.admin_secret,
        upstream: match (args.upstream, args.upstream_token) {
            (Some(url), Some(token)) => Some(crate::Upstream {
                url,
                token,
                interval: std::time::Duration::from_secs(args.upstream_interval),
                client: parchi_sync::ClientConfig::default(),
                mirror_pages: crate::relay::MIRROR_PAGES_PER_ROUND,
            }),
            _ => None,
        },
        clock: crate::Clock::system(),
        max_backup_bytes: args.max_backup_bytes,
        backup: args.backup_dir.map(|dir| crate::snapshot::HubBackup {
            day_end_minute: args.backup_day_end.0,
            ..crate::snapshot::HubBackup::new(
                dir,
                std::time::Duration::from_secs(args.backup_every.max(1) * 60),
                args.backup_recipient.into_iter().collect(),
            )
        }),
        config: HubConfig {
            max_batch_ops: args.max_batch_ops,
            max_body_bytes: args.max_body_bytes,
            max_drift_ms: args.max_drift_ms,
        },
    };
    match crate::run(opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parchi serve: {e}");
            ExitCode::FAILURE
        }
    }
}
