//! The `costd` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    use clap::Parser;
    let cli = costd::cli::Cli::parse();
    match costd::cli::run(cli, &mut std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("costd: {e:#}");
            ExitCode::from(2)
        }
    }
}
