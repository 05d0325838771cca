//! `dhrotate pool status|fill`: the groups kept ready for rotations.

use std::sync::Arc;

use anyhow::{Result, bail};

use crate::config::{Overrides, Settings};
use crate::dh::pool::Pool;
use crate::dh::search::Control;
use crate::dh::{Catalog, Policy, validate};

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
    /// Generate groups until the pool holds `[pool] size` per configured size.
    Fill {
        /// Only this size (default: every size a configured group uses).
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

/// The sizes configured groups use, each once.
fn sizes(settings: &Settings) -> Vec<u32> {
    let mut v: Vec<u32> = settings.groups.iter().map(|g| g.bits).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Runs `pool`.
pub fn run(args: &Args, cli: &Cli) -> Result<u8> {
    let settings = super::settings(cli, Overrides::default())?;
    let pool = Pool::new(&settings.state_dir);
    match &args.action {
        Action::Status => {
            for bits in sizes(&settings) {
                println!(
                    "{bits} bits: {} ready (pool size {})",
                    pool.count(bits)?,
                    settings.pool_size
                );
            }
            Ok(0)
        }
        Action::Fill {
            bits,
            count,
            threads,
        } => {
            // Filling is background work by nature: never compete with mail.
            // SAFETY: setpriority only changes this process's nice value.
            unsafe {
                nix::libc::setpriority(nix::libc::PRIO_PROCESS, 0, 19);
            }
            let threads = threads.unwrap_or_else(super::generate::default_threads);
            let control = Arc::new(Control::default());
            let interrupt = crate::sys::signals::Interrupt::install()?;
            pool.clean_stale()?;
            let catalog = Catalog::embedded();
            for bits in bits.map_or_else(|| sizes(&settings), |b| vec![b]) {
                let want = match count {
                    Some(k) => *k,
                    None => (settings.pool_size as usize).saturating_sub(pool.count(bits)?),
                };
                for _ in 0..want {
                    let Some(dh) =
                        super::generate::search_with_signals(bits, threads, &control, &interrupt)?
                    else {
                        bail!("interrupted; the groups added so far stay in the pool");
                    };
                    let policy = Policy {
                        expected_bits: Some(bits),
                        min_bits: bits,
                    };
                    let valid = validate::accept(&dh, "a pool group", &policy, &catalog)?;
                    let path = pool.put(bits, &valid)?;
                    println!("added {} ({bits} bits)", path.display());
                }
            }
            Ok(0)
        }
    }
}
