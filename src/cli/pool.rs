//! `dhrotate pool status|fill`: the groups kept ready for rotations.

use std::io::Write;

use anyhow::Result;

use crate::config::Overrides;
use crate::dh::pool::Pool;
use crate::ops::service::groups::{self, PoolSizes};
use crate::sys::signals::Interrupt;

use super::Cli;

/// Arguments of `pool`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// `pool` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// How many groups are ready per size, against `[pool] size`.
    Status,
    /// Generate groups until the pool holds `[pool] size` per configured
    /// size; only explicit mode takes groups from the pool, so in named and
    /// auto mode this fills nothing unless given `--bits`.
    Fill {
        /// Only this size, in any mode (default: every size a configured
        /// group uses, in explicit mode).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(512..=8192))]
        bits: Option<u32>,
        /// Add exactly this many groups instead of filling up to the size.
        #[arg(long, value_name = "K")]
        count: Option<usize>,
        /// Threads for the search (default: all cores).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
    },
}

/// Runs `pool`.
pub fn run(args: &Args, cli: &Cli) -> Result<u8> {
    let settings = super::settings(cli, Overrides::default())?;
    match &args.action {
        Action::Status => {
            for (bits, ready) in Pool::new(&settings.state_dir).ready(&settings.group_sizes())? {
                println!(
                    "{bits} bits: {ready} ready (pool size {})",
                    settings.pool_size
                );
            }
        }
        Action::Fill {
            bits,
            count,
            threads,
        } => {
            let interrupt = Interrupt::install()?;
            // Nothing but a closed stdout fails a write here.
            let mut out = super::QuietStdout::default();
            let sizes = match groups::pool_sizes(&settings, *bits)? {
                PoolSizes::Fill(sizes) => sizes,
                PoolSizes::Unused(mode) => {
                    let _ = writeln!(
                        out,
                        "nothing to fill: {} mode takes no groups from the pool (`pool fill --bits N` fills anyway)",
                        mode.name()
                    );
                    return Ok(0);
                }
            };
            groups::fill_pool(
                &settings,
                &sizes,
                *count,
                *threads,
                &interrupt,
                &mut |path, bits| {
                    let _ = writeln!(out, "added {} ({bits} bits)", path.display());
                },
            )?;
        }
    }
    Ok(0)
}
