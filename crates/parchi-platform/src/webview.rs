//! Which web view Tauri gives the desktop window on this OS, for settings that only one of
//! them reads (src-tauri/src/main.rs sets WebKitGTK's and glibc's before the process starts).

/// The engine behind the desktop window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Webview {
    /// WebKitGTK (Linux and the other Unix desktops), with glibc's malloc on Linux.
    WebKitGtk,
    /// WKWebView (macOS).
    WkWebView,
    /// Microsoft Edge WebView2 (Windows), installed by the Windows installer (docs/windows.md).
    WebView2,
}

/// The web view of this OS.
pub fn webview() -> Webview {
    #[cfg(target_os = "macos")]
    {
        Webview::WkWebView
    }
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        Webview::WebKitGtk
    }
    #[cfg(not(unix))]
    {
        Webview::WebView2
    }
}
