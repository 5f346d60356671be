//! A test tool, never packaged: turns a counter's store back into the previous schema, so
//! `scripts/test-packages` can upgrade the installed package across a migration.
//!
//! `roll-back-schema DATA_DIR`

use std::process::ExitCode;

use parchi_app::{Counter, SystemEnv};

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: roll-back-schema DATA_DIR");
        return ExitCode::from(2);
    };
    let result = Counter::open(std::path::Path::new(&dir), Box::new(SystemEnv))
        .and_then(|mut c| c.roll_back_schema_for_tests());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roll-back-schema: {e}");
            ExitCode::FAILURE
        }
    }
}
