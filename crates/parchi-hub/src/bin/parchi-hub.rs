//! `parchi-hub`: the hub server on its own, with the flags of `parchi serve` (tests and
//! benchmarks start it as a real process).

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "parchi-hub",
    about = "Parchi sync hub (the server behind `parchi serve`)"
)]
struct Cli {
    /// Data directory (SQLite file, admin secret).
    #[arg(long)]
    data: std::path::PathBuf,
    #[command(flatten)]
    serve: parchi_hub::cli::ServeArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    parchi_hub::cli::serve_main(cli.data, cli.serve)
}
