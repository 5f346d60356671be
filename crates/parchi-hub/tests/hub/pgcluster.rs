//! A private PostgreSQL cluster a test starts, stops and restarts itself (never the shared
//! server at `PARCHI_TEST_PG`, which other tests use): `initdb` in a temp directory, `pg_ctl` on a
//! free port, as the `postgres` user when the test runs as root (as in CI).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin_dir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs.into_iter()
        .rev()
        .find(|d| d.join("initdb").exists())
        .unwrap_or_else(|| {
            panic!(
                "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: run \
                 scripts/start-postgres.sh once (it installs the postgresql package)"
            )
        })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Runs a command as the cluster's owner (the `postgres` user when we are root).
fn as_owner(args: &[String]) -> std::process::Output {
    let line = args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
    let out = if is_root() {
        Command::new("su")
            .args(["postgres", "-s", "/bin/sh", "-c", &line])
            .output()
    } else {
        Command::new("sh").args(["-c", &line]).output()
    };
    out.expect("run a PostgreSQL command")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// TLS for the cluster: its certificate and key (PEM), and whether plain TCP is refused.
pub struct ClusterTls {
    pub cert_pem: String,
    pub key_pem: String,
}

pub struct Cluster {
    _tmp: tempfile::TempDir,
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
    opts: String,
}

impl Cluster {
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// With `tls`, the cluster serves TLS and refuses TCP connections without it.
    pub fn start_with(tls: Option<ClusterTls>) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().to_path_buf();
        let data = root.join("data");
        let sock = root.join("sock");
        std::fs::create_dir_all(&sock).expect("socket dir");
        if is_root() {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&root)
                .status()
                .expect("chown");
            assert!(ok.success(), "chown the cluster's directory to postgres");
        }
        let bin = bin_dir();
        let out = as_owner(&[
            bin.join("initdb").display().to_string(),
            "-D".into(),
            data.display().to_string(),
            "-U".into(),
            "postgres".into(),
            "--auth=trust".into(),
            "-E".into(),
            "UTF8".into(),
        ]);
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            sock.display()
        );
        if let Some(t) = tls {
            let cert = data.join("server.crt");
            let key = data.join("server.key");
            write_owned(&cert, &t.cert_pem);
            write_owned(&key, &t.key_pem);
            opts.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                cert.display(),
                key.display()
            ));
            // TCP only over TLS; the socket stays open to the owner.
            write_owned(
                &data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            );
        }
        let c = Self {
            _tmp: tmp,
            bin,
            data,
            port,
            opts,
        };
        c.pg_start();
        c
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) {
        let mut a = vec![
            self.bin.join("pg_ctl").display().to_string(),
            "-D".into(),
            self.data.display().to_string(),
        ];
        a.extend(args.iter().map(|s| s.to_string()));
        let out = as_owner(&a);
        assert!(
            out.status.success(),
            "pg_ctl {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pg_start(&self) {
        let log = self.data.join("log").display().to_string();
        self.pg_ctl(&["-l", &log, "-w", "-o", &self.opts, "start"]);
    }

    /// A fast shutdown: every session is ended.
    pub fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "-w", "stop"]);
    }

    pub fn start_again(&self) {
        self.pg_start();
    }

    /// `pg_ctl restart -m fast`: every session is ended, the server is back when this returns.
    pub fn restart(&self) {
        let log = self.data.join("log").display().to_string();
        self.pg_ctl(&["-m", "fast", "-w", "-l", &log, "-o", &self.opts, "restart"]);
    }
}

fn write_owned(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    if is_root() {
        let ok = Command::new("chown")
            .arg("postgres:postgres")
            .arg(path)
            .status()
            .expect("chown");
        assert!(ok.success());
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_owner(&[
            self.bin.join("pg_ctl").display().to_string(),
            "-D".into(),
            self.data.display().to_string(),
            "-m".into(),
            "immediate".into(),
            "stop".into(),
        ]);
    }
}
