//! Slips through the CLI: the PDF a clerk prints, read back the way a person and a scanner read
//! it (poppler's pdftoppm and pdftotext, zbar's zbarimg), and printed through CUPS to the
//! virtual PDF printer that `scripts/setup-cups.sh` sets up.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::Site;

fn codes(pdf: &std::path::Path) -> Vec<String> {
    let prefix = pdf.with_extension("");
    let out = Command::new("pdftoppm")
        .args(["-r", "200", "-png"])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .expect("pdftoppm (poppler-utils)");
    assert!(out.status.success());
    let png = format!("{}-1.png", prefix.display());
    let out = Command::new("zbarimg")
        .args(["-q"])
        .arg(&png)
        .output()
        .expect("zbarimg (zbar-tools)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn text(pdf: &std::path::Path) -> String {
    let out = Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn register_writes_a_slip_whose_codes_and_text_read_back() {
    let site = Site::init("A");
    let pdf = site.path().join("slip.pdf");
    let r = site.json(&[
        "register",
        "--name",
        "प्रिया शर्मा",
        "--sex",
        "F",
        "--age",
        "34",
        "--guardian-relation",
        "W/o",
        "--guardian-name",
        "Ramesh Kumar",
        "--department",
        "ENT",
        "--slip",
        pdf.to_str().expect("utf8"),
    ]);
    let temp = r["temp_id"].as_str().expect("temp").replace('-', "");
    let visit = r["visit_id"].as_str().expect("visit").to_uppercase();
    let got = codes(&pdf);
    assert!(got.contains(&format!("CODE-128:{temp}")), "{got:?}");
    assert!(
        got.contains(&format!("QR-Code:PARCHI:1:{temp}:{visit}")),
        "{got:?}"
    );
    let t = text(&pdf);
    assert!(
        t.contains("प्रिया शर्मा") && t.contains(r["token"].as_str().expect("token")),
        "{t}"
    );
    assert!(t.contains("टोकन") && !t.contains("DUPLICATE"));
    assert!(std::fs::metadata(&pdf).expect("pdf").len() < 60_000);

    // A reprint is recorded and marked DUPLICATE.
    let dup = site.path().join("dup.pdf");
    let rp = site.json(&[
        "reprint",
        r["visit_id"].as_str().expect("v"),
        "--slip",
        dup.to_str().expect("utf8"),
    ]);
    assert_eq!(rp["reprints"], 1);
    assert!(text(&dup).contains("DUPLICATE"));
    // Every layout decodes.
    for layout in ["thermal80", "a6", "a5"] {
        let f = site.path().join(format!("{layout}.pdf"));
        site.json(&[
            "slip",
            r["visit_id"].as_str().expect("v"),
            "--out",
            f.to_str().expect("utf8"),
            "--layout",
            layout,
        ]);
        assert!(codes(&f).contains(&format!("CODE-128:{temp}")), "{layout}");
    }
    // The day report as a PDF.
    let rep = site.path().join("report.pdf");
    site.json(&["report", "--pdf", rep.to_str().expect("utf8")]);
    let t = text(&rep);
    assert!(t.contains("ENT") && t.contains("District Hospital"), "{t}");
}

#[test]
fn printing_goes_through_cups_and_a_missing_printer_keeps_the_pdf() {
    let site = Site::init("B");
    let r = site.json(&[
        "register",
        "--name",
        "Ram Prasad",
        "--sex",
        "M",
        "--age",
        "60",
        "--department",
        "MED",
    ]);
    let visit = r["visit_id"].as_str().expect("visit");
    let out_dir = std::path::Path::new("/var/spool/cups-pdf/out");
    let before: Vec<_> = std::fs::read_dir(out_dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    let p = site.json(&["print", visit, "--printer", "PDF"]);
    assert_eq!(p["printer"], "PDF");
    let deadline = Instant::now() + Duration::from_secs(60);
    let arrived = loop {
        let now: Vec<_> = std::fs::read_dir(out_dir)
            .expect("scripts/setup-cups.sh configures cups-pdf to write here")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| !before.contains(p) && p.extension().is_some_and(|e| e == "pdf"))
            .collect();
        if let Some(f) = now.into_iter().next() {
            break f;
        }
        assert!(
            Instant::now() < deadline,
            "no PDF arrived from the CUPS PDF printer"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    // Let cups-pdf finish writing, then read the printed page back.
    std::thread::sleep(Duration::from_millis(500));
    let temp = r["temp_id"].as_str().expect("t").replace('-', "");
    assert!(
        codes(&arrived).contains(&format!("CODE-128:{temp}")),
        "the printed PDF carries the barcode"
    );
    let _ = std::fs::remove_file(&arrived);

    // One original: a second `print` is refused (parchi-app decides, from the store), and
    // says how to print a copy.
    let out = site
        .cmd()
        .args(["--json", "print", visit, "--printer", "PDF"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "a second original printed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already out") && err.contains("reprint"),
        "{err}"
    );

    // A copy goes as a recorded reprint; here to a printer that does not exist.
    let out = site
        .cmd()
        .args([
            "--json",
            "reprint",
            visit,
            "--print",
            "--printer",
            "NO_SUCH_PRINTER",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NO_SUCH_PRINTER") && err.contains("PDF is kept"),
        "{err}"
    );
    // Kept inside the encrypted store (never as a file under the data directory), to be
    // written out when asked.
    assert!(!site.path().join("slips").exists());
    let kept = site.path().join("..").join(format!("kept-{visit}.pdf"));
    site.json(&[
        "slip",
        visit,
        "--kept",
        "--out",
        kept.to_str().expect("utf8"),
    ]);
    assert!(std::fs::read(&kept).expect("kept").starts_with(b"%PDF"));
    assert!(
        text(&kept).contains("DUPLICATE"),
        "the kept reprint is marked DUPLICATE"
    );
    let shown = site.json(&["show", r["temp_id"].as_str().expect("t")]);
    assert_eq!(
        shown["visits"][0]["reprints"], 1,
        "the failed reprint stays recorded: {shown}"
    );
    let _ = std::fs::remove_file(&kept);
}
