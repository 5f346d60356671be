fn main() -> std::process::ExitCode {
    parchi_cli::main()
}
