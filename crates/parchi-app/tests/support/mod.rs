//! What the in-process tests of parchi-app share: the example configuration and a real hub
//! served in the test process.
#![allow(dead_code)] // each test binary uses its own part

pub mod print;

use std::path::Path;
use std::time::Duration;

/// A registration for General Medicine with a name, sex, age, mobile and PIN code.
pub fn request(name: &str, sex: &str, age: &str, mobile: &str) -> parchi_app::RegisterRequest {
    parchi_app::RegisterRequest {
        patient: parchi_core::patient::PatientInput {
            name: name.into(),
            sex: sex.into(),
            age: age.into(),
            mobile: mobile.into(),
            pincode: "800001".into(),
            ..Default::default()
        },
        department: "MED".into(),
        uhid: String::new(),
    }
}

/// The repository's example hospital.
pub fn config() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hospital.toml")
}

/// A real hub in this process (SQLite, its own data directory), on a free port.
pub struct Hub {
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

pub const ADMIN: &str = "parchi-app-tests-admin-secret";

impl Hub {
    pub fn start() -> Hub {
        let dir = tempfile::tempdir().expect("hub dir");
        let opts = parchi_hub::ServeOptions {
            data_dir: dir.path().to_owned(),
            listen: "127.0.0.1:0".into(),
            admin_secret: Some(ADMIN.into()),
            ..parchi_hub::ServeOptions::default()
        };
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            let _ = rt.block_on(parchi_hub::serve(
                opts,
                move |a| {
                    let _ = addr_tx.send(a);
                },
                async move {
                    let _ = stop_rx.await;
                },
            ));
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the hub listens");
        Hub {
            url: format!("http://{addr}"),
            stop: Some(stop_tx),
            thread: Some(thread),
            _dir: dir,
        }
    }

    pub fn admin(&self) -> parchi_sync::HubClient {
        parchi_sync::HubClient::new(&self.url, parchi_sync::ClientConfig::default())
            .expect("client")
    }

    pub fn code(&self) -> String {
        self.admin()
            .admin_enroll_code(ADMIN, parchi_sync::wire::Role::Counter, None)
            .expect("code")
            .code
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
