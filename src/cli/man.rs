//! `dhrotate man DIR`: manual pages, dhrotate(8) and one per subcommand
//! (dhrotate-now(8), ...), generated from the same definitions as --help.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::CommandFactory;

/// Arguments of `man`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write the pages into (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// Writes the pages; prints each file written.
pub fn run(args: &Args) -> Result<u8> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    cmd.build();
    write_pages(&cmd, args)?;
    Ok(0)
}

/// Section 8: an administration tool, as Debian's policy wants.
fn write_pages(cmd: &clap::Command, args: &Args) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, args)?;
    }
    let page = clap_mangen::Man::new(cmd.clone()).section("8");
    let path = page
        .generate_to(&args.dir)
        .with_context(|| format!("writing a manual page into {}", args.dir.display()))?;
    println!("{}", path.display());
    Ok(())
}
