//! `dhrotate daemon`: the scheduler, for systems that prefer a service to a timer.

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context, Result};

use crate::config::{Overrides, Settings};
use crate::dh::Catalog;
use crate::dh::search::Control;
use crate::ops::daemon::Seams;
use crate::ops::rotate::{self, Env, Report};

use super::Cli;

/// Arguments of `daemon`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the daemon until SIGTERM; exit 2 when the configuration is bad at start.
pub fn run(_args: &Args, cli: &Cli) -> Result<u8> {
    // One thread drives the schedule and signals; rotations run on
    // tokio's blocking pool and the search starts its own threads.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let paths = super::Paths::from(cli);
    let seams = Seams {
        refill: Some(paths.refill_argv()),
        load: Box::new(move || paths.settings(Overrides::default())),
        rotate: Arc::new(rotate),
    };
    let result = runtime.block_on(crate::ops::daemon::run(seams));
    // The daemon already waited as long as a stop may take; a rotation
    // thread still running then is abandoned, not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result?;
    Ok(0)
}

/// One rotation against the system's Postfix, groups from the pool or the
/// search (cancelled by the daemon's control on shutdown).
fn rotate(settings: &Settings, control: &Arc<Control>) -> Result<String> {
    let postfix = super::system_postfix(settings);
    let catalog = Catalog::embedded();
    let source = super::now::PoolOrSearch::with_control(settings, Arc::clone(control));
    let env = Env {
        postfix: &postfix,
        source: &source,
        catalog: &catalog,
        now: SystemTime::now(),
    };
    match rotate::run(settings, &env, false)? {
        Report::Done(_, applied) => Ok(applied.summary()),
        Report::DryRun(_) => unreachable!("not a dry run"),
    }
}
