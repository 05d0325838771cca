//! `dhrotate now`: one rotation, immediately.

use std::sync::Arc;

use anyhow::Result;

use crate::config::{Mode, Overrides};
use crate::dh::search::Control;
use crate::ops;
use crate::sys::signals::Interrupt;

use super::Cli;

/// Arguments of `now`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print what would change (files, main.cf/master.cf diffs) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not reload Postfix (it picks up new groups at its next restart).
    #[arg(long)]
    pub no_reload: bool,
    /// Override the configured mode.
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Rotate only groups older than `[schedule] rotate_after` (default
    /// 5d): a younger, sound group is left alone and a run with nothing due
    /// changes nothing and exits 0. The timer's service runs with it, so a
    /// daily timer rotates each group every 5 to 6 days; without it, `now`
    /// always rotates.
    #[arg(long)]
    pub if_due: bool,
    /// Do not start `dhrotate pool fill` in the background afterwards (the
    /// systemd unit runs it as its own step instead).
    #[arg(long)]
    pub no_refill: bool,
    /// Run on a throwaway demo configuration: as root with Postfix
    /// installed, a private Postfix instance in /var/tmp/dhrotate-demo;
    /// otherwise the example files under target/ (or the temp directory),
    /// without check and reload. Ignores --config and --postfix-dir.
    #[arg(long)]
    pub demo: bool,
}

/// Runs `now`.
pub fn run(args: &Args, cli: &Cli) -> Result<u8> {
    let interrupt = Interrupt::install()?;
    if args.demo {
        crate::testbed::demo::run(args.dry_run, interrupt, &mut std::io::stdout())?;
        return Ok(0);
    }
    let settings = super::settings(
        cli,
        Overrides {
            mode: args.mode,
            no_reload: args.no_reload,
            if_due: args.if_due,
            ..Default::default()
        },
    )?;
    let postfix = ops::system_postfix(&settings);
    let control = Arc::new(Control::default());
    let report = ops::rotate::now(&settings, &postfix, control, interrupt, args.dry_run)?;
    print!("{report}");
    if !args.dry_run
        && !args.no_refill
        && settings.pool_size > 0
        && let Some(refill) = super::Paths::from(cli).refill()
    {
        refill.spawn_detached();
    }
    Ok(0)
}
