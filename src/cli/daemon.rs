//! `dhrotate daemon`: the scheduler, for systems that prefer a service to a timer.

use anyhow::Result;

use crate::config::Overrides;
use crate::ops::service::daemon::{self, Seams};

use super::Cli;

/// Arguments of `daemon`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the daemon until SIGTERM; exit 2 when the configuration is bad at start.
pub fn run(_args: &Args, cli: &Cli) -> Result<u8> {
    let paths = super::Paths::from(cli);
    let refill = paths.refill();
    let load = Box::new(move || paths.settings(Overrides::default()));
    daemon::serve(Seams::system(load, refill))?;
    Ok(0)
}
