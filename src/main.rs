//! dhrotate: thin entry point. Parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Files get explicit modes anyway; this covers what postfix/postconf
    // children create, whatever umask the caller (cron, a shell) had.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    let cli = dhrotate::cli::Cli::parse();
    dhrotate::sys::logging::init(cli.verbose, cli.quiet);
    match dhrotate::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("dhrotate: error: {err:#}");
            ExitCode::from(dhrotate::cli::exit_code(&err))
        }
    }
}
