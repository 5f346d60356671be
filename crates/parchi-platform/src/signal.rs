//! The signals that stop a server (feature `tokio`; the hub's `parchi serve`).

/// Completes when the process is asked to stop: Ctrl-C everywhere, and SIGTERM on Unix (what
/// systemd and `kill` send). On Windows a hub run as a service is stopped by the service
/// control manager instead, which needs a service wrapper (docs/windows.md).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::time::Duration;
    use tokio::time::timeout;

    #[test]
    fn sigterm_ends_the_wait() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut wait = Box::pin(super::shutdown_signal());
            // The first polls install the handlers (until then SIGTERM would end this test
            // binary); nothing has asked to stop yet.
            assert!(
                timeout(Duration::from_millis(200), &mut wait)
                    .await
                    .is_err(),
                "returned before any signal"
            );
            let sent = std::process::Command::new("kill")
                .args(["-TERM", &std::process::id().to_string()])
                .status()
                .expect("kill");
            assert!(sent.success());
            timeout(Duration::from_secs(10), wait)
                .await
                .expect("SIGTERM ends the wait");
        });
    }
}
