//! `parchi`, the command line. A thin layer: it parses arguments, calls the use cases in
//! `parchi-app`, and prints results as text or, with `--json`, as JSON that scripts rely on.
//!
//! Exit codes: 0 ok; 2 bad input (validation, unknown department, bad arguments); 1 any other
//! failure (locked or corrupt database, full disk, I/O).

mod admin;
mod args;
mod backup;
mod config;
mod hub;
mod import;
mod keys;
mod output;
mod private;
mod run;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use parchi_app::{AppError, Counter, SystemEnv};

pub use args::Cli;
use output::Out;

pub(crate) fn read_secret() -> Result<String, CliError> {
    if let Ok(s) = std::env::var("PARCHI_PASSWORD") {
        return Ok(s);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CliError::BadInput(format!("cannot read the PIN/password from stdin: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Runs the CLI with the process arguments.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    let out = Out { json: cli.json };
    match run::run(&cli, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => out.fail(&e),
    }
}

pub(crate) fn parchi_dedup_verdict_likely() -> parchi_dedup::Verdict {
    parchi_dedup::Verdict::Likely
}

/// Where data lives when neither `--data` nor `PARCHI_DATA` is given: this OS's default
/// (`parchi_platform::default_data_dir`).
pub fn default_data_dir() -> PathBuf {
    parchi_platform::default_data_dir()
}

pub(crate) fn open(dir: &Path) -> Result<Counter, CliError> {
    Ok(Counter::open(dir, Box::new(SystemEnv))?)
}

/// A failure with its exit code class.
#[derive(Debug)]
pub enum CliError {
    App(AppError),
    BadInput(String),
    /// Bad input already reported line by line (e.g. refused import rows): only the summary
    /// goes to stderr, so `--json` output stays one object per line.
    Reported(String),
    Other(anyhow::Error),
}

impl From<AppError> for CliError {
    fn from(e: AppError) -> Self {
        CliError::App(e)
    }
}
impl From<parchi_store::StoreError> for CliError {
    fn from(e: parchi_store::StoreError) -> Self {
        CliError::App(e.into())
    }
}
impl From<parchi_app::ConfigError> for CliError {
    fn from(e: parchi_app::ConfigError) -> Self {
        CliError::App(e.into())
    }
}
impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError::Other(e)
    }
}

/// The admin secret of the hub in `hub_data` (or `PARCHI_HUB_ADMIN_SECRET`).
pub(crate) fn hub_secret(hub_data: &Option<PathBuf>) -> Result<String, CliError> {
    if let Ok(s) = std::env::var("PARCHI_HUB_ADMIN_SECRET") {
        return Ok(s);
    }
    match hub_data {
        Some(d) => std::fs::read_to_string(d.join("admin.secret"))
            .map(|s| s.trim().to_owned())
            .map_err(|e| {
                CliError::BadInput(format!(
                    "cannot read the hub's admin secret in {}: {e}",
                    d.display()
                ))
            }),
        None => Err(CliError::BadInput(
            "give --hub-data DIR (the hub's data directory) or set PARCHI_HUB_ADMIN_SECRET".into(),
        )),
    }
}

/// A hub's refusal or an unreachable hub, as the command's failure.
pub(crate) fn hub_failed(e: parchi_sync::ClientError) -> CliError {
    CliError::Other(anyhow::anyhow!("{e}"))
}

/// A client of the hub at `url` (`--hub`).
pub(crate) fn hub_client(url: &str) -> Result<parchi_sync::HubClient, CliError> {
    parchi_sync::HubClient::new(url, parchi_sync::ClientConfig::default())
        .map_err(|e| CliError::BadInput(format!("--hub: {e}")))
}
