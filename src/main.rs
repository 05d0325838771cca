//! dhrotate: thin entry point. Parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = dhrotate::cli::Cli::parse();
    dhrotate::logging::init(cli.verbose, cli.quiet);
    match dhrotate::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("dhrotate: error: {err:#}");
            ExitCode::from(dhrotate::error::exit_code(&err))
        }
    }
}
