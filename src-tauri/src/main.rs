// No console window on Windows release builds; harmless elsewhere.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let started = Instant::now();
    match parchi_desktop::run(started) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parchi-desktop: cannot start the window: {e}");
            ExitCode::FAILURE
        }
    }
}
