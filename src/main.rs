//! The `costd` binary: parses the command line, sets up logging, and hands
//! over to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    use clap::Parser;
    use std::io::IsTerminal;
    let cli = costd::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,aws_config=warn".into()),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    match costd::cli::run(cli, &mut std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("costd: {e:#}");
            ExitCode::from(costd::cli::exit_code(&e))
        }
    }
}
