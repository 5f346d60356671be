//! Printing through a real CUPS with the cups-pdf virtual printer.
//!
//! Needs `scripts/setup-cups.sh` to have run (as root): it starts cupsd, adds the `PDF` queue and
//! points cups-pdf at `/var/spool/cups-pdf/out` (or `$PARCHI_PDF_OUT`). Tests that need a stopped
//! or rejecting printer add their own queue and remove it afterwards, so they never disturb `PDF`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use parchi_slip::{Layout, PrintError, PrintOptions, print, print_with, render};

use crate::fixtures::{self, write_pdf};

const QUEUE: &str = "PDF";

fn out_dir() -> PathBuf {
    std::env::var_os("PARCHI_PDF_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/spool/cups-pdf/out"))
}

fn require_cups() {
    let ok = Command::new("lpstat")
        .args(["-p", QUEUE])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "CUPS with a `{QUEUE}` queue is needed: run scripts/setup-cups.sh as root first"
    );
}

fn pdfs_in(dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
                .collect()
        })
        .unwrap_or_default()
}

fn slip_pdf(dir: &Path) -> PathBuf {
    let pdf = render(&fixtures::hindi(), Layout::Thermal80).expect("render");
    write_pdf(dir, "slip", &pdf)
}

/// A queue of its own for one test, removed when the test ends.
struct TempQueue(String);

impl TempQueue {
    fn new(name: &str) -> TempQueue {
        require_cups();
        let models = Command::new("lpinfo").arg("-m").output().expect("lpinfo");
        let models = String::from_utf8_lossy(&models.stdout);
        let model = models
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .find(|m| m.contains("CUPS-PDF"))
            .expect("the cups-pdf PPD (printer-driver-cups-pdf)")
            .to_string();
        let status = Command::new("lpadmin")
            .args(["-p", name, "-E", "-v", "cups-pdf:/", "-m", &model])
            .status()
            .expect("lpadmin");
        assert!(status.success(), "lpadmin -p {name} failed");
        TempQueue(name.to_string())
    }
}

impl Drop for TempQueue {
    fn drop(&mut self) {
        let _ = Command::new("lpadmin").args(["-x", &self.0]).status();
    }
}

#[test]
fn slip_printed_to_the_cups_pdf_printer_arrives_as_a_pdf() {
    require_cups();
    let dir = tempfile::tempdir().expect("tempdir");
    let slip = slip_pdf(dir.path());
    let out = out_dir();
    let before = pdfs_in(&out);

    let job = print(&slip, Some(QUEUE)).expect("print");
    assert_eq!(job.printer, QUEUE);
    assert!(job.job_id.starts_with("PDF-"), "{job:?}");

    let deadline = Instant::now() + Duration::from_secs(60);
    let arrived = loop {
        let new: Vec<PathBuf> = pdfs_in(&out).difference(&before).cloned().collect();
        let complete = new
            .into_iter()
            .find(|p| std::fs::read(p).is_ok_and(|b| b.starts_with(b"%PDF") && b.ends_with_eof()));
        if let Some(p) = complete {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "no PDF arrived in {} within 60 s for job {}; see /var/log/cups/error_log",
            out.display(),
            job.job_id
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // The file that arrived is the slip, still scannable after CUPS's filters and cups-pdf's
    // Ghostscript pass.
    let png = fixtures::pdftoppm(&arrived, 200);
    let symbols = fixtures::zbarimg(&png);
    assert!(
        symbols.contains(&("CODE-128".to_string(), fixtures::hindi().id_code)),
        "the printed PDF does not scan back to the ID: {symbols:?}"
    );
    let _ = std::fs::remove_file(&png);
    let _ = std::fs::remove_file(&arrived);
    // The slip's own PDF is untouched.
    assert!(slip.exists());
}

trait EndsWithEof {
    fn ends_with_eof(&self) -> bool;
}

impl EndsWithEof for Vec<u8> {
    /// A PDF still being written has no `%%EOF` near its end yet.
    fn ends_with_eof(&self) -> bool {
        let tail = &self[self.len().saturating_sub(32)..];
        tail.windows(5).any(|w| w == b"%%EOF")
    }
}

#[test]
fn printing_to_a_printer_that_does_not_exist_is_a_typed_error() {
    require_cups();
    let dir = tempfile::tempdir().expect("tempdir");
    let slip = slip_pdf(dir.path());
    let err = print(&slip, Some("NoSuchPrinter_parchi")).expect_err("no such printer");
    match &err {
        PrintError::NoSuchPrinter { printer, path } => {
            assert_eq!(printer, "NoSuchPrinter_parchi");
            assert!(path.ends_with("slip.pdf"));
        }
        other => panic!("expected NoSuchPrinter, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("lpstat -p"), "{msg}");
    assert!(msg.contains("kept at"), "{msg}");
    assert!(slip.exists(), "the PDF must be kept");
}

#[test]
fn printing_to_a_stopped_printer_is_a_typed_error() {
    let queue = TempQueue::new("parchi_test_stopped");
    let status = Command::new("cupsdisable")
        .args(["-r", "paper out", &queue.0])
        .status()
        .expect("cupsdisable");
    assert!(status.success());
    let dir = tempfile::tempdir().expect("tempdir");
    let slip = slip_pdf(dir.path());
    let err = print(&slip, Some(&queue.0)).expect_err("stopped");
    match &err {
        PrintError::PrinterStopped {
            printer, reason, ..
        } => {
            assert_eq!(printer, &queue.0);
            assert_eq!(reason.as_deref(), Some("paper out"));
        }
        other => panic!("expected PrinterStopped, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("cupsenable parchi_test_stopped"), "{msg}");
    assert!(msg.contains("kept at"), "{msg}");
    assert!(slip.exists());
}

#[test]
fn printing_to_a_printer_that_rejects_jobs_is_a_typed_error() {
    let queue = TempQueue::new("parchi_test_rejecting");
    let status = Command::new("cupsreject")
        .args(["-r", "maintenance", &queue.0])
        .status()
        .expect("cupsreject");
    assert!(status.success());
    let dir = tempfile::tempdir().expect("tempdir");
    let slip = slip_pdf(dir.path());
    let err = print(&slip, Some(&queue.0)).expect_err("rejecting");
    assert!(
        matches!(&err, PrintError::NotAccepting { reason: Some(r), .. } if r == "maintenance"),
        "expected NotAccepting, got {err:?}"
    );
    assert!(err.to_string().contains("cupsaccept parchi_test_rejecting"));
}

#[test]
fn no_default_printer_is_a_typed_error() {
    require_cups();
    let default = Command::new("lpstat")
        .arg("-d")
        .output()
        .expect("lpstat -d");
    let default = String::from_utf8_lossy(&default.stdout).into_owned();
    if !default.contains("no system default destination") {
        // This machine has a default printer, so printing with none named would really print.
        eprintln!(
            "skipped: this machine has a default printer ({})",
            default.trim()
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let slip = slip_pdf(dir.path());
    let err = print(&slip, None).expect_err("no default");
    assert!(
        matches!(err, PrintError::NoDefaultPrinter { .. }),
        "expected NoDefaultPrinter, got {err:?}"
    );
    assert!(err.to_string().contains("lpoptions -d"));
}

#[test]
fn scheduler_not_running_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let slip = slip_pdf(dir.path());
    let opts = PrintOptions {
        printer: Some(QUEUE.to_string()),
        server: Some(dir.path().join("no-cupsd.sock").display().to_string()),
        ..PrintOptions::default()
    };
    let err = print_with(&slip, &opts).expect_err("no scheduler there");
    assert!(
        matches!(err, PrintError::SchedulerNotRunning { .. }),
        "expected SchedulerNotRunning, got {err:?}"
    );
}

#[test]
fn missing_lp_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let slip = slip_pdf(dir.path());
    let opts = PrintOptions {
        printer: Some(QUEUE.to_string()),
        lpstat: dir.path().join("no-such-lpstat"),
        lp: dir.path().join("no-such-lp"),
        ..PrintOptions::default()
    };
    let err = print_with(&slip, &opts).expect_err("no lp");
    assert!(
        matches!(err, PrintError::LpMissing { .. }),
        "expected LpMissing, got {err:?}"
    );
    assert!(err.to_string().contains("apt-get install cups-client"));
}

#[test]
fn missing_pdf_and_bad_printer_name_are_typed_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = print(&dir.path().join("nothing.pdf"), Some(QUEUE)).expect_err("no file");
    assert!(matches!(err, PrintError::PdfMissing { .. }), "{err:?}");

    let slip = slip_pdf(dir.path());
    require_cups();
    let err = print(&slip, Some("two words")).expect_err("bad name");
    assert!(
        matches!(err, PrintError::InvalidPrinterName { .. }),
        "{err:?}"
    );
}
