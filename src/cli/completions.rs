//! `dhrotate completions SHELL`: shell completions on stdout.

use anyhow::Result;
use clap::CommandFactory;

/// Arguments of `completions`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Prints the completion script.
pub fn run(args: &Args) -> Result<u8> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "dhrotate", &mut std::io::stdout());
    Ok(0)
}
