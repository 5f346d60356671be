//! Layout snapshots: where every text, box and code sits on each layout.
//!
//! The snapshots are committed JSON files under `tests/snapshots/`. After a deliberate layout
//! change, regenerate them with `PARCHI_UPDATE_SNAPSHOTS=1 cargo test -p parchi-slip --test slips
//! snapshot`, look at the diff and at `docs/slips/`, and commit both.

use std::path::PathBuf;

use parchi_slip::{Layout, Slip, layout_data, report_layout_data};

use crate::fixtures;

fn check(name: &str, json: String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.json"));
    let json = json + "\n";
    if std::env::var_os("PARCHI_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &json).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "snapshot {} unreadable ({e}); create it with PARCHI_UPDATE_SNAPSHOTS=1",
            path.display()
        )
    });
    if expected != json {
        let first_diff = expected
            .lines()
            .zip(json.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, (a, b))| format!("line {}:\n  snapshot: {a}\n  now:      {b}", i + 1))
            .unwrap_or_else(|| "the files differ in length".to_string());
        panic!(
            "layout of {name} changed ({first_diff}); if intended, rerun with \
             PARCHI_UPDATE_SNAPSHOTS=1 and commit tests/snapshots/{name}.json"
        );
    }
}

fn slip_snapshot(name: &str, slip: &Slip, layout: Layout) {
    let data = layout_data(slip, layout).expect("layout");
    check(name, serde_json::to_string_pretty(&data).expect("json"));
}

#[test]
fn thermal80_hindi() {
    slip_snapshot("thermal80-hindi", &fixtures::hindi(), Layout::Thermal80);
}

#[test]
fn thermal80_hindi_duplicate() {
    let slip = Slip {
        duplicate: true,
        ..fixtures::hindi()
    };
    slip_snapshot("thermal80-hindi-duplicate", &slip, Layout::Thermal80);
}

#[test]
fn a6_hindi_devanagari_name() {
    slip_snapshot("a6-hindi", &fixtures::hindi_devanagari_name(), Layout::A6);
}

#[test]
fn a5_bengali() {
    slip_snapshot("a5-bengali", &fixtures::bengali(), Layout::A5);
}

#[test]
fn a6_bengali() {
    slip_snapshot("a6-bengali", &fixtures::bengali(), Layout::A6);
}

#[test]
fn day_end_report() {
    let pages = report_layout_data(&fixtures::report()).expect("layout");
    check(
        "report",
        serde_json::to_string_pretty(&pages).expect("json"),
    );
}
