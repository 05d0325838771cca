//! `dhrotate now`: one rotation, immediately.

use std::io::Write;
use std::sync::Arc;

use anyhow::Result;

use crate::config::{Mode, Overrides};
use crate::dh::search::Control;
use crate::ops;
use crate::ops::rotate::{Seen, summary};
use crate::sys::signals::Interrupt;
use std::time::Instant;

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
    /// Print what happened as JSON (schema: docs/json.md): outcome
    /// changed / unchanged / failed, groups before and after, settings
    /// edited, check, reload, verification, exit code. Also on failure.
    #[arg(long, conflicts_with = "demo")]
    pub json: bool,
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
    let mut out = super::QuietStdout::default();
    if args.demo {
        crate::testbed::demo::run(args.dry_run, interrupt, &mut out)?;
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
    );
    let settings = match settings {
        Ok(s) => s,
        Err(e) if args.json => {
            let doc = summary::early_failure(&e, super::exit_code(&e));
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    let postfix = ops::system_postfix(&settings);
    let control = Arc::new(Control::default());
    let before = summary::fingerprints(&settings);
    let started = Instant::now();
    let mut seen = Seen::default();
    let result = ops::rotate::now(
        &settings,
        &postfix,
        control,
        interrupt,
        args.dry_run,
        &mut seen,
    );
    if !args.dry_run {
        if let Err(e) = ops::inspect::metrics::refresh(&settings, None) {
            tracing::warn!("{e:#}");
        }
    }
    if args.json {
        let code = result.as_ref().err().map_or(0, super::exit_code);
        let doc = summary::build(&settings, &result, &seen, &before, started.elapsed(), code);
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    }
    let report = result?;
    if !args.json {
        write!(out, "{report}")?;
    }
    if !args.dry_run && !args.no_refill && settings.pool_size > 0 {
        if let Some(refill) = super::Paths::from(cli).refill() {
            refill.spawn_detached();
        }
    }
    Ok(0)
}
