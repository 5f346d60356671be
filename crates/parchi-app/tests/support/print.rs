//! What the CUPS PDF printer (scripts/setup-cups.sh) wrote, read back by poppler and zbar.

use std::path::Path;
use std::time::{Duration, Instant};

/// A PDF that the CUPS PDF printer (scripts/setup-cups.sh) wrote after `before`.
pub fn printed_after(before: &[std::path::PathBuf]) -> Option<std::path::PathBuf> {
    let out = Path::new("/var/spool/cups-pdf/out");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let new = std::fs::read_dir(out)
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| !before.contains(p) && p.extension().is_some_and(|e| e == "pdf"));
        if new.is_some() {
            std::thread::sleep(Duration::from_millis(500));
            return new;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

pub fn spool() -> Vec<std::path::PathBuf> {
    std::fs::read_dir("/var/spool/cups-pdf/out")
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// The barcodes on a PDF's first page, rendered by poppler and read by zbar.
pub fn barcodes(pdf: &Path) -> Vec<String> {
    let tmp = tempfile::tempdir().expect("tmp");
    let prefix = tmp.path().join("page");
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", "200", "-png", "-f", "1", "-l", "1"])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .expect("pdftoppm (poppler-utils)");
    assert!(out.status.success());
    let png = std::fs::read_dir(tmp.path())
        .expect("ls")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "png"))
        .expect("a page");
    let out = std::process::Command::new("zbarimg")
        .arg("-q")
        .arg(&png)
        .output()
        .expect("zbarimg (zbar-tools)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

pub fn pdf_text(pdf: &Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
