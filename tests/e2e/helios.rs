//! A real FHIR R4 server for the tests: Helios (`hfs`, crates.io `helios-hfs` 0.2.7, features
//! R4 and sqlite), started on 127.0.0.1 with an empty database of its own. `.ci/run` builds it
//! into a cache directory; `PARCHI_HFS` points at another binary.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::repo_root;

pub fn hfs_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("PARCHI_HFS") {
        return p.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_default();
    PathBuf::from(home).join(".cache/parchi/helios-hfs-0.2.7/bin/hfs")
}

pub struct Helios {
    child: Child,
    pub url: String,
    pub dir: tempfile::TempDir,
    agent: ureq::Agent,
}

impl Drop for Helios {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Helios {
    pub fn start() -> Helios {
        let bin = hfs_binary();
        assert!(
            bin.exists(),
            "the Helios FHIR server is needed at {} (scripts/install-hfs builds it; or set PARCHI_HFS)",
            bin.display()
        );
        let dir = tempfile::tempdir().expect("tmp");
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path().join("hfs.log")).expect("log");
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .env("HFS_DATA_DIR", repo_root().join("tests/data/fhir"))
            .env("HFS_DATABASE_URL", dir.path().join("fhir.db"))
            .env("HFS_BASE_URL", &url)
            .env("HFS_VALIDATION_MODE", "enforce")
            .env("HFS_MAX_PAGE_SIZE", "1000")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start hfs");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let h = Helios {
            child,
            url,
            dir,
            agent,
        };
        let start = Instant::now();
        loop {
            let ready = h
                .agent
                .get(format!("{}/metadata", h.url))
                .call()
                .is_ok_and(|r| r.status().as_u16() == 200);
            if ready {
                return h;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "hfs did not start: {}",
                std::fs::read_to_string(h.dir.path().join("hfs.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn read(mut resp: ureq::http::Response<ureq::Body>) -> (u16, Value) {
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_vec()
            .expect("body");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    pub fn get(&self, path_or_url: &str) -> Value {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.url)
        };
        let (status, v) = Self::read(
            self.agent
                .get(&url)
                .header("accept", "application/fhir+json")
                .call()
                .expect("GET"),
        );
        assert_eq!(status, 200, "GET {url}: {v}");
        v
    }

    /// POSTs a transaction Bundle; returns the transaction-response.
    pub fn transaction(&self, bundle: &Value) -> Value {
        let (status, v) = Self::read(
            self.agent
                .post(&self.url)
                .header("content-type", "application/fhir+json")
                .send(bundle.to_string().as_bytes())
                .expect("POST"),
        );
        assert_eq!(status, 200, "transaction: {v}");
        v
    }

    /// Every resource of a type, following the `next` links.
    pub fn all(&self, kind: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut page = self.get(&format!("/{kind}?_count=1000"));
        loop {
            for e in page["entry"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                out.push(e["resource"].clone());
            }
            let next = page["link"]
                .as_array()
                .and_then(|l| l.iter().find(|x| x["relation"] == "next"))
                .and_then(|x| x["url"].as_str())
                .map(str::to_owned);
            match next {
                Some(url) => page = self.get(&url),
                None => return out,
            }
        }
    }
}
