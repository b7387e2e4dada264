//! The `dengji` binary: parses the command line and hands over to `dengji::cli`.

fn main() -> std::process::ExitCode {
    dengji::cli::main()
}
