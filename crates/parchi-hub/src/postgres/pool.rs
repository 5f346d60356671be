//! Connections to PostgreSQL: pools that make a new connection when one is found closed (a
//! server restarted, a network cut), so the hub recovers by itself once the database is back;
//! and TLS (rustls) when asked for.
//!
//! Three pools: the writes (one connection, holding the session advisory lock that makes one
//! hub process the owner of a schema; a new connection takes it again, and fails with
//! [`StorageError::Locked`] if another process took it meanwhile), the reads (a few
//! connections), and the mirror's imports (one connection, so an import never queues behind a
//! push's commit). Every connection sets the schema (`search_path`) when it is made.
//!
//! TLS is used when [`PgTls::enabled`] is set (`--database-tls`) or the URL says
//! `sslmode=require`. The server's certificate is always verified, against the PEM roots of
//! [`PgTls::ca_file`] (`--database-ca`, for a hospital's own CA) or else the Mozilla roots, and
//! its name must match the URL's host. `sslmode=disable` with `--database-tls` is refused.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{
    ClientWrapper, Hook, HookError, Manager, ManagerConfig, Object, Pool, PoolError,
    RecyclingMethod, Runtime,
};
use tokio_postgres::NoTls;
use tokio_postgres::config::SslMode;

use crate::error::StorageError;

/// TLS to PostgreSQL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PgTls {
    /// Connect over TLS even if the URL does not say `sslmode=require`.
    pub enabled: bool,
    /// PEM certificates to trust for the server's certificate instead of the Mozilla roots.
    pub ca_file: Option<PathBuf>,
}

impl PgTls {
    /// Whether to reach the server over TLS, given the URL's `sslmode`: with `--database-tls`
    /// or `sslmode=require`. The flags and the URL contradicting each other is an error. The
    /// hub's pools and its backup tools (`pg_dump`, `psql`) follow this one rule.
    pub(crate) fn wanted(&self, url_mode: SslMode) -> Result<bool, &'static str> {
        let on = match (self.enabled, url_mode) {
            (true, SslMode::Disable) => {
                return Err("--database-tls contradicts sslmode=disable in the database URL");
            }
            (true, _) | (false, SslMode::Require) => true,
            (false, _) => false,
        };
        if !on && self.ca_file.is_some() {
            return Err(
                "--database-ca needs TLS: add --database-tls (or sslmode=require to the URL)",
            );
        }
        Ok(on)
    }
}

/// How long making one connection may take before the request fails (503).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Read connections at most.
const READ_POOL: usize = 4;
/// What a post-create hook says when another process holds the schema's lock.
const LOCKED: &str = "another hub process holds this PostgreSQL schema";
const LOCK_SQL: &str =
    "SELECT pg_try_advisory_lock(hashtext('parchi-hub:' || current_schema())::bigint)";

/// The hub's three pools.
#[derive(Clone)]
pub(super) struct Pools {
    pub(super) write: Pool,
    pub(super) read: Pool,
    pub(super) mirror: Pool,
}

impl std::fmt::Debug for Pools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pools")
            .field("write", &self.write.status())
            .field("read", &self.read.status())
            .field("mirror", &self.mirror.status())
            .finish()
    }
}

pub(super) fn quote_ident(s: &str) -> Result<String, StorageError> {
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StorageError::Corrupt(format!(
            "schema name {s:?} must be letters, digits and underscores"
        )));
    }
    Ok(format!("\"{s}\""))
}

fn connect_err(what: impl std::fmt::Display) -> StorageError {
    StorageError::Connect(what.to_string())
}

/// The rustls client configuration: the roots to trust, ring as the crypto provider.
fn rustls_config(tls: &PgTls) -> Result<rustls::ClientConfig, StorageError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match &tls.ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| connect_err(format!("reading {}: {e}", path.display())))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| connect_err(format!("reading {}: {e}", path.display())))?;
                roots.add(cert).map_err(|e| {
                    connect_err(format!("a certificate in {}: {e}", path.display()))
                })?;
            }
            if roots.is_empty() {
                return Err(connect_err(format!(
                    "{} holds no PEM certificate",
                    path.display()
                )));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(connect_err)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Sets the schema on every new connection, and on the write connection takes the lock.
fn setup_hook(schema: Option<String>, lock: bool) -> Hook {
    Hook::async_fn(move |c: &mut ClientWrapper, _| {
        let schema = schema.clone();
        Box::pin(async move {
            if let Some(q) = schema {
                c.batch_execute(&format!(
                    "CREATE SCHEMA IF NOT EXISTS {q}; SET search_path TO {q}"
                ))
                .await
                .map_err(HookError::Backend)?;
            }
            if lock {
                let locked: bool = c
                    .query_one(LOCK_SQL, &[])
                    .await
                    .and_then(|r| r.try_get(0))
                    .map_err(HookError::Backend)?;
                if !locked {
                    return Err(HookError::message(LOCKED));
                }
            }
            Ok(())
        })
    })
}

fn pool_err(e: PoolError) -> StorageError {
    match e {
        PoolError::Backend(e) => StorageError::Postgres(e),
        PoolError::PostCreateHook(HookError::Backend(e)) => StorageError::Postgres(e),
        PoolError::PostCreateHook(HookError::Message(m)) if m == LOCKED => {
            StorageError::Locked(LOCKED.into())
        }
        other => connect_err(other),
    }
}

/// Opens the pools (no connection is made yet).
pub(super) fn pools(url: &str, schema: Option<&str>, tls: &PgTls) -> Result<Pools, StorageError> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| connect_err(format!("the database URL: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let use_tls = tls.wanted(config.get_ssl_mode()).map_err(connect_err)?;
    if use_tls {
        config.ssl_mode(SslMode::Require);
    }
    let schema = schema.map(quote_ident).transpose()?;
    let rustls = use_tls.then(|| rustls_config(tls)).transpose()?;
    let manager = || {
        let mc = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        match &rustls {
            Some(c) => Manager::from_config(
                config.clone(),
                tokio_postgres_rustls::MakeRustlsConnect::new(c.clone()),
                mc,
            ),
            None => Manager::from_config(config.clone(), NoTls, mc),
        }
    };
    let build = |size: usize, lock: bool| {
        Pool::builder(manager())
            .max_size(size)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .post_create(setup_hook(schema.clone(), lock))
            .build()
            .map_err(connect_err)
    };
    Ok(Pools {
        write: build(1, true)?,
        read: build(READ_POOL, false)?,
        mirror: build(1, false)?,
    })
}

/// A connection from `pool`; one found closed is dropped for a new one.
pub(super) async fn get(pool: &Pool) -> Result<Object, StorageError> {
    let c = pool.get().await.map_err(pool_err)?;
    if !c.is_closed() {
        return Ok(c);
    }
    discard(c);
    pool.get().await.map_err(pool_err)
}

/// Drops a connection for good (the pool makes a new one when next asked).
pub(super) fn discard(c: Object) {
    drop(Object::take(c));
}

/// Whether an error says the connection was closed before the request reached the server (it
/// can be sent again on a new connection).
pub(super) fn closed(e: &StorageError) -> bool {
    matches!(e, StorageError::Postgres(e) if e.is_closed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_refused_against_sslmode_disable_and_a_ca_needs_tls() {
        let url = "postgres://u@127.0.0.1:1/db";
        let on = PgTls {
            enabled: true,
            ca_file: None,
        };
        assert!(pools(&format!("{url}?sslmode=disable"), None, &on).is_err());
        assert!(pools(url, None, &on).is_ok());
        assert!(pools(&format!("{url}?sslmode=require"), None, &PgTls::default()).is_ok());
        let ca_only = PgTls {
            enabled: false,
            ca_file: Some("/nonexistent.pem".into()),
        };
        assert!(pools(url, None, &ca_only).is_err());
        let bad_ca = PgTls {
            enabled: true,
            ca_file: Some("/nonexistent.pem".into()),
        };
        assert!(pools(url, None, &bad_ca).is_err());
        assert!(pools(url, Some("bad-name"), &PgTls::default()).is_err());
    }
}
