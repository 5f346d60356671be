//! The thread under the desktop app's background jobs (sync, scheduled backups): its own
//! connection to the counter's database per round, the data key kept after the first open (no
//! slot read every round), a wait between rounds that a stop cuts short.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::counter::{Counter, Result};
use crate::env::Env;

/// A running background job; [`Background::stop`] ends it and waits for its round to finish.
#[derive(Debug)]
pub(crate) struct Background {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Runs `round` until stopped, each time on a fresh side connection over `dir` (or the
    /// error opening it); `round` answers how long to wait before the next.
    pub(crate) fn spawn(
        dir: PathBuf,
        make_env: impl Fn() -> Box<dyn Env> + Send + 'static,
        mut round: impl FnMut(Result<&mut Counter>) -> Duration + Send + 'static,
    ) -> Background {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut key: Option<parchi_keys::DataKey> = None;
            while !stopping.load(Ordering::Relaxed) {
                let opened = match &key {
                    Some(k) => Counter::open_side_with_key(&dir, k, make_env()),
                    None => Counter::open_side(&dir, make_env()),
                };
                let wait = match opened {
                    Ok(mut c) => {
                        key = Some(c.data_key().clone());
                        round(Ok(&mut c))
                    }
                    Err(e) => round(Err(e)),
                };
                let until = Instant::now() + wait;
                while Instant::now() < until && !stopping.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        });
        Background {
            stop,
            handle: Some(handle),
        }
    }

    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
