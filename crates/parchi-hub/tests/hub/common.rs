//! Helpers: hubs in-process and as processes, enrolment, PostgreSQL settings.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parchi_core::{CounterCode, SiteId};
use parchi_hub::{HubConfig, ServeOptions};
use parchi_sync::wire::{HubStats, Role};
use parchi_sync::{ClientConfig, HubClient};

pub const ADMIN: &str = "test-admin-secret";

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The PostgreSQL URL for tests. Tests that need PostgreSQL fail (never skip) without it.
pub fn pg_url() -> String {
    match std::env::var("PARCHI_TEST_PG") {
        Ok(u) if !u.is_empty() => u,
        _ => panic!(
            "PARCHI_TEST_PG is not set. Start PostgreSQL with `eval \"$(scripts/start-postgres.sh)\"` \
             (tests never skip the PostgreSQL backend)"
        ),
    }
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A schema name no other test uses.
pub fn unique_schema(tag: &str) -> String {
    format!(
        "t_{tag}_{}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        now_ms() % 1_000_000
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn site(i: u8) -> SiteId {
    SiteId::from_bytes([i.max(1); 16])
}

/// A hub running in this process on 127.0.0.1:0, on its own runtime thread.
#[allow(dead_code)] // dir, backend and schema are for diagnosing a failing test
pub struct Server {
    pub url: String,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub backend: Backend,
    pub schema: Option<String>,
}

impl Server {
    pub fn start(backend: Backend) -> Self {
        Self::start_with(backend, HubConfig::default())
    }

    pub fn start_with(backend: Backend, config: HubConfig) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let schema = (backend == Backend::Postgres).then(|| unique_schema("srv"));
        let mut s = Self::start_in(&dir, backend, schema, config);
        s._tmp = Some(tmp);
        s
    }

    pub fn start_in(
        dir: &Path,
        backend: Backend,
        schema: Option<String>,
        config: HubConfig,
    ) -> Self {
        Self::start_custom(dir, backend, schema, config, |_| {})
    }

    /// A hub whose options `f` adjusts (an upstream, TLS).
    pub fn start_custom(
        dir: &Path,
        backend: Backend,
        schema: Option<String>,
        config: HubConfig,
        f: impl FnOnce(&mut ServeOptions),
    ) -> Self {
        Self::try_start_custom(dir, backend, schema, config, f).expect("hub did not start")
    }

    /// A hub on a database another hub just let go of: PostgreSQL releases the previous
    /// process's lock when it notices the connection closed, so this retries for a while.
    #[allow(dead_code)] // used by some test modules only
    pub fn start_again(dir: &Path, backend: Backend, schema: Option<String>) -> Self {
        for _ in 0..100 {
            if let Some(s) =
                Self::try_start_custom(dir, backend, schema.clone(), HubConfig::default(), |_| {})
            {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("hub did not start again");
    }

    fn try_start_custom(
        dir: &Path,
        backend: Backend,
        schema: Option<String>,
        config: HubConfig,
        f: impl FnOnce(&mut ServeOptions),
    ) -> Option<Self> {
        let mut opts = ServeOptions {
            data_dir: dir.to_path_buf(),
            listen: "127.0.0.1:0".into(),
            database: (backend == Backend::Postgres).then(pg_url),
            database_schema: schema.clone(),
            admin_secret: Some(ADMIN.into()),
            config,
            ..ServeOptions::default()
        };
        f(&mut opts);
        let scheme = if opts.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            let r = rt.block_on(parchi_hub::serve(
                opts,
                move |a| {
                    let _ = addr_tx.send(a);
                },
                async move {
                    let _ = stop_rx.await;
                },
            ));
            if let Err(e) = r {
                eprintln!("test hub stopped: {e}");
            }
        });
        let addr = match addr_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                // The hub stopped before it listened (its error is on stderr).
                let _ = thread.join();
                return None;
            }
            Err(e) => panic!("hub did not start: {e}"),
        };
        Some(Self {
            url: format!("{scheme}://{addr}"),
            dir: dir.to_path_buf(),
            _tmp: None,
            stop: Some(stop_tx),
            thread: Some(thread),
            backend,
            schema,
        })
    }

    pub fn client(&self) -> HubClient {
        HubClient::new(&self.url, ClientConfig::default()).expect("client")
    }

    pub fn stats(&self) -> HubStats {
        self.client().admin_stats(ADMIN).expect("stats")
    }

    /// Enrols a device and returns a client carrying its token, and its device ID.
    pub fn enroll(&self, role: Role, site: SiteId, counter: Option<&str>) -> (HubClient, String) {
        enroll(&self.url, role, site, counter)
    }

    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub fn enroll(url: &str, role: Role, site: SiteId, counter: Option<&str>) -> (HubClient, String) {
    let c = HubClient::new(url, ClientConfig::default()).expect("client");
    let code = c.admin_enroll_code(ADMIN, role, None).expect("enrol code");
    let e = c
        .enroll(
            &code.code,
            site,
            counter.map(|x| CounterCode::parse(x).expect("counter")),
        )
        .expect("enrol");
    (c.with_token(e.token), e.device_id)
}

/// A hub as a separate process (the `parchi-hub` binary), for kill -9 tests.
pub struct Proc {
    pub child: Child,
    pub url: String,
}

impl Proc {
    pub fn spawn(dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_parchi-hub"))
            .arg("--data")
            .arg(dir)
            .args(["--listen", "127.0.0.1:0", "--admin-secret", ADMIN])
            .args(extra)
            .env("PARCHI_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn parchi-hub");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read listening line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Self {
            child,
            url: format!("http://{addr}"),
        }
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A two-thread runtime for the async storage tests.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Opens the PostgreSQL storage in `schema`, waiting while another hub still holds it.
pub async fn pg_open(url: &str, schema: &str) -> parchi_hub::PgStorage {
    loop {
        match parchi_hub::PgStorage::connect_in(url, Some(schema)).await {
            Ok(p) => return p,
            Err(parchi_hub::StorageError::Locked(_)) => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            Err(e) => panic!("connect: {e}"),
        }
    }
}

/// The data key of every SQLite hub store in these tests.
pub fn test_key() -> parchi_keys::DataKey {
    parchi_keys::DataKey::from_bytes(&[9u8; 32]).expect("key")
}
