//! The PostgreSQL hub's own backups: `pg_dump` of its schema (plain SQL) streamed through age
//! into a signed backup file, so no copy in clear ever lands on disk. The manifest's counts are
//! read in the very snapshot the dump is taken in (`pg_export_snapshot`, `pg_dump
//! --snapshot`), so a verify can hold the file to them exactly. The tools get the connection
//! through libpq's environment variables, never on their command line (a password there would
//! show in `/proc/*/cmdline`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use parchi_keys::backup::{self, Manifest, OpRange};
use parchi_keys::{DataKey, DeviceKey};
use tokio_postgres::config::{Host, SslMode};

use super::{PgStorage, pool};
use crate::error::{HubError, StorageError};
use crate::snapshot::{HubBackup, backup_stem, random_bytes, recipients_for};

/// Meta key of the hub's Ed25519 signing key (as in the SQLite hub).
const SIGNING_KEY: &str = "secret:signing_key";
/// The manifest's kind for a PostgreSQL hub's backup.
pub const KIND: &str = "hub-postgres";

/// Where the tools connect: the hub's URL, schema and TLS settings.
#[derive(Clone)]
pub(crate) struct DumpTarget {
    pub(crate) url: String,
    pub(crate) tls: super::PgTls,
}

impl std::fmt::Debug for DumpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DumpTarget").finish_non_exhaustive()
    }
}

fn cfg(e: impl std::fmt::Display) -> HubError {
    HubError::Config(e.to_string())
}

/// A libpq tool (`pg_dump`, `psql`) set up to reach the database at `url` through its
/// environment: host, port, user, password, database, and TLS with the server verified.
pub(crate) fn tool(program: &str, url: &str, tls: &super::PgTls) -> Result<Command, HubError> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| cfg(format!("the database URL: {e}")))?;
    let mut cmd = Command::new(program);
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    match config.get_hosts().first() {
        Some(Host::Tcp(h)) => {
            cmd.env("PGHOST", h);
        }
        #[cfg(unix)]
        Some(Host::Unix(p)) => {
            cmd.env("PGHOST", p);
        }
        None => {}
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
    if tls.enabled || config.get_ssl_mode() == SslMode::Require {
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
pub(crate) struct ToolOutput {
    name: &'static str,
    child: Child,
    stdout: ChildStdout,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl ToolOutput {
    pub(crate) fn spawn(name: &'static str, mut cmd: Command) -> Result<Self, HubError> {
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

fn pg(e: tokio_postgres::Error) -> HubError {
    HubError::Storage(StorageError::Postgres(e))
}

impl PgStorage {
    /// Takes one backup of the hub's schema into `to.dir` now: `pg_dump` in the snapshot its
    /// counts are read in, encrypted to `to.recipients` and the hub's recovery key, signed by
    /// the hub's key (kept in its `meta` table, made the first time). Returns the file.
    pub async fn backup_now(
        &self,
        data_dir: &Path,
        to: &HubBackup,
        now_ms: u64,
    ) -> Result<(PathBuf, Manifest), HubError> {
        let recipients = recipients_for(data_dir, to)?;
        let mut c = pool::get(&self.pools.read).await?;
        let fresh = DeviceKey::generate(&mut |b| {
            random_bytes(b);
        });
        c.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[&SIGNING_KEY, &fresh.to_stored().as_str()],
        )
        .await
        .map_err(pg)?;
        let tx = c
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let snapshot: String = tx
            .query_one("SELECT pg_export_snapshot()", &[])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(pg)?;
        let row = tx
            .query_one(
                "SELECT coalesce(sum(n), 0)::bigint, min(first_seq), max(first_seq + n - 1), \
                 (SELECT count(*) FROM patients), current_schema() FROM op_log",
                &[],
            )
            .await
            .map_err(pg)?;
        let (count, first, last, patients, schema): (i64, Option<i64>, Option<i64>, i64, String) = (
            row.try_get(0).map_err(pg)?,
            row.try_get(1).map_err(pg)?,
            row.try_get(2).map_err(pg)?,
            row.try_get(3).map_err(pg)?,
            row.try_get(4).map_err(pg)?,
        );
        let meta = |key: &'static str| {
            let tx = &tx;
            async move {
                tx.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
                    .await
                    .and_then(|r| r.map(|r| r.try_get::<_, String>(0)).transpose())
                    .map_err(pg)
            }
        };
        let hub_id = meta("hub_id").await?.unwrap_or_default();
        let signer = meta(SIGNING_KEY)
            .await?
            .and_then(|s| DeviceKey::from_stored(&s))
            .ok_or_else(|| cfg("the hub's signing key is malformed"))?;
        let created = chrono::DateTime::from_timestamp_millis(now_ms as i64).unwrap_or_default();
        let manifest = Manifest {
            format: backup::MAGIC.into(),
            kind: KIND.into(),
            site: hub_id.clone(),
            site_tag: None,
            counter: None,
            device: None,
            signing_key: crate::snapshot::hex(signer.public().as_bytes()),
            created_ms: now_ms,
            created: created.format("%Y-%m-%d %H:%M UTC").to_string(),
            schema_version: 0,
            ops: OpRange {
                count: count as u64,
                first_seq: first.map(|v| v as u64),
                last_seq: last.map(|v| v as u64),
                max_hlc: 0,
            },
            patients: patients as u64,
            recipients,
            ciphertext: backup::Ciphertext::default(),
        };
        let mut dump = tool("pg_dump", &self.dump.url, &self.dump.tls)?;
        dump.args([
            "--format=plain",
            "--no-owner",
            "--no-privileges",
            "--quote-all-identifiers",
        ])
        .arg(format!("--snapshot={snapshot}"))
        .arg(format!("--schema={schema}"));
        let (dir, stem) = (to.dir.clone(), backup_stem(&hub_id, now_ms));
        let written = tokio::task::spawn_blocking(move || {
            let mut out = ToolOutput::spawn("pg_dump", dump)?;
            // The payload's own key is unused (the dump is plain SQL), but the format holds one.
            let unused = DataKey::generate(&mut |b| random_bytes(b));
            backup::write_stream(&dir, &stem, manifest, &signer, &unused, &mut out).map_err(cfg)
        })
        .await
        .map_err(|e| cfg(format!("the backup task: {e}")))?;
        // The snapshot had to stay open until pg_dump was done with it.
        tx.commit().await.map_err(pg)?;
        written
    }
}
