//! A PostgreSQL hub's own backup: `pg_dump` of its schema (plain SQL), in the snapshot its
//! manifest's counts were read in ([`PgStorage::in_exported_snapshot`]), streamed through age
//! into a signed backup file, so no copy in clear ever lands on disk. The tools get the
//! connection through libpq's environment variables, never on their command line (a password
//! there would show in `/proc/*/cmdline`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use parchi_keys::backup::{self, Manifest};
use parchi_keys::{DataKey, DeviceKey};

use super::{HubBackup, backup_stem, hub_manifest, recipients_for};
use crate::error::HubError;
use crate::keys::os_random;
use crate::{PgStorage, PgTls};

/// The manifest's kind for a PostgreSQL hub's backup.
pub const KIND: &str = "hub-postgres";

fn cfg(e: impl std::fmt::Display) -> HubError {
    HubError::Config(e.to_string())
}

/// A libpq tool (`pg_dump`, `psql`) set up to reach the database at `url` through its
/// environment: host, port, user, password, database, and TLS with the server verified.
pub(crate) fn tool(program: &str, url: &str, tls: &PgTls) -> Result<Command, HubError> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| cfg(format!("the database URL: {e}")))?;
    let mut cmd = Command::new(program);
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    // A host name or address, or the directory of the server's socket.
    if let Some(h) = config.get_hosts().first() {
        cmd.env("PGHOST", parchi_platform::pg::libpq_host(h));
    }
    if let Some(p) = config.get_ports().first() {
        cmd.env("PGPORT", p.to_string());
    }
    if let Some(u) = config.get_user() {
        cmd.env("PGUSER", u);
    }
    if let Some(p) = config.get_password() {
        cmd.env("PGPASSWORD", String::from_utf8_lossy(p).as_ref());
    }
    if let Some(d) = config.get_dbname() {
        cmd.env("PGDATABASE", d);
    }
    if tls.wanted(config.get_ssl_mode()).map_err(cfg)? {
        cmd.env("PGSSLMODE", "verify-full");
        if let Some(ca) = &tls.ca_file {
            cmd.env("PGSSLROOTCERT", ca);
        }
    } else {
        cmd.env("PGSSLMODE", "disable");
    }
    Ok(cmd)
}

/// A tool's standard output, read to its end; the end is an error if the tool failed, so a
/// dump cut short never becomes a backup.
struct ToolOutput {
    name: &'static str,
    child: Child,
    stdout: ChildStdout,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl ToolOutput {
    fn spawn(name: &'static str, mut cmd: Command) -> Result<Self, HubError> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                cfg(format!(
                    "cannot run {name} (PostgreSQL's client tools): {e}"
                ))
            })?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| cfg(format!("{name}: no output")))?;
        let stderr = child.stderr.take().map(|mut e| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = (&mut e).take(4096).read_to_string(&mut s);
                s
            })
        });
        Ok(Self {
            name,
            child,
            stdout,
            stderr,
        })
    }
}

impl Read for ToolOutput {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.stdout.read(buf)?;
        if n == 0 && !buf.is_empty() {
            let status = self.child.wait()?;
            if !status.success() {
                let said = self
                    .stderr
                    .take()
                    .and_then(|h| h.join().ok())
                    .unwrap_or_default();
                return Err(std::io::Error::other(format!(
                    "{} failed ({status}): {}",
                    self.name,
                    said.trim()
                )));
            }
        }
        Ok(n)
    }
}

impl Drop for ToolOutput {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Takes one backup of a PostgreSQL hub's schema into `to.dir` now, encrypted to
/// `to.recipients` and the hub's recovery key, signed by the hub's key (kept in its `meta`
/// table, made the first time). Returns the file and its manifest.
pub async fn backup_postgres(
    storage: &PgStorage,
    data_dir: &Path,
    to: &HubBackup,
    now_ms: u64,
) -> Result<(PathBuf, Manifest), HubError> {
    let recipients = recipients_for(data_dir, to)?;
    let fresh = DeviceKey::generate(&mut |b| os_random(b));
    let dir = to.dir.clone();
    storage
        .in_exported_snapshot(fresh.to_stored().as_str(), move |snap| {
            let signer = DeviceKey::from_stored(&snap.signing_key)
                .ok_or_else(|| cfg("the hub's signing key is malformed"))?;
            let manifest = hub_manifest(
                KIND,
                &snap.hub_id,
                &signer,
                now_ms,
                snap.ops.clone(),
                snap.patients,
                recipients,
            );
            let mut dump = tool("pg_dump", &snap.url, &snap.tls)?;
            dump.args([
                "--format=plain",
                "--no-owner",
                "--no-privileges",
                "--quote-all-identifiers",
            ])
            .arg(format!("--snapshot={}", snap.snapshot))
            .arg(format!("--schema={}", snap.schema));
            let mut out = ToolOutput::spawn("pg_dump", dump)?;
            // The payload's own key is unused (the dump is plain SQL), but the format holds one.
            let unused = DataKey::generate(&mut |b| os_random(b));
            let stem = backup_stem(&snap.hub_id, now_ms);
            backup::write_stream(&dir, &stem, manifest, &signer, &unused, &mut out).map_err(cfg)
        })
        .await
}
