use super::*;

#[test]
fn lpstat_answers_are_parsed() {
    assert_eq!(
        parse_default("system default destination: PDF\n"),
        Some("PDF".to_string())
    );
    assert_eq!(parse_default("no system default destination\n"), None);
    assert_eq!(
        parse_printer_state(
            "printer PDF is idle.  enabled since Sat Nov 28 2026\n",
            "PDF"
        ),
        PrinterState::Enabled
    );
    assert_eq!(
        parse_printer_state(
            "printer PDF disabled since Sat Nov 28 22:36:37 2026 -\n\tpaper out\n",
            "PDF"
        ),
        PrinterState::Disabled {
            reason: Some("paper out".to_string())
        }
    );
    assert_eq!(
        parse_not_accepting(
            "PDF not accepting requests since Sat Nov 28 2026 -\n\tmaintenance\n",
            "PDF"
        ),
        Some(Some("maintenance".to_string()))
    );
    assert_eq!(
        parse_not_accepting("PDF accepting requests since Sat Nov 28 2026\n", "PDF"),
        None
    );
    assert_eq!(
        parse_job_id("request id is PDF-12 (1 file(s))\n"),
        Some("PDF-12".to_string())
    );
}

#[test]
fn printer_names_are_checked() {
    assert!(valid_printer_name("PDF"));
    assert!(valid_printer_name("Counter_A-thermal.2"));
    assert!(!valid_printer_name(""));
    assert!(!valid_printer_name("two words"));
    assert!(!valid_printer_name("a/b"));
    assert!(!valid_printer_name("-d"));
}
