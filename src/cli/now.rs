//! `dhrotate now`: one rotation, immediately.

use std::time::SystemTime;

use anyhow::Result;

use crate::config::{Mode, Overrides, Settings};
use crate::dh::Catalog;
use crate::dh::pool::Pool;
use crate::dh::search::Control;
use crate::ops::rotate::{self, Env, GroupSource, Report};
use crate::postfix::Postfix;

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
    let interrupt = crate::sys::signals::Interrupt::install()?;
    if args.demo {
        return crate::testbed::demo::run(args.dry_run, interrupt);
    }
    let settings = super::settings(
        cli,
        Overrides {
            mode: args.mode,
            no_reload: args.no_reload,
            ..Default::default()
        },
    )?;
    let postfix = super::system_postfix(&settings);
    let code = rotate_and_print(&settings, &postfix, args.dry_run, interrupt)?;
    if !args.dry_run && !args.no_refill && settings.pool_size > 0 {
        refill_in_background(cli);
    }
    Ok(code)
}

/// Takes groups from the pool, and searches when it is empty.
pub struct PoolOrSearch {
    pool: Pool,
    control: std::sync::Arc<Control>,
    interrupt: crate::sys::signals::Interrupt,
}

impl PoolOrSearch {
    /// Source backed by the pool in `settings.state_dir`; SIGINT/SIGTERM
    /// (`interrupt`) stop a search.
    pub fn new(settings: &Settings, interrupt: crate::sys::signals::Interrupt) -> PoolOrSearch {
        PoolOrSearch {
            pool: Pool::new(&settings.state_dir),
            control: std::sync::Arc::new(Control::default()),
            interrupt,
        }
    }

    /// The same, with a search the caller cancels itself (the daemon's
    /// shutdown, which has its own signal handling).
    pub fn with_control(settings: &Settings, control: std::sync::Arc<Control>) -> PoolOrSearch {
        PoolOrSearch {
            pool: Pool::new(&settings.state_dir),
            control,
            interrupt: crate::sys::signals::Interrupt::never(),
        }
    }
}

impl GroupSource for PoolOrSearch {
    fn fresh(
        &self,
        bits: u32,
    ) -> anyhow::Result<(openssl::dh::Dh<openssl::pkey::Params>, &'static str)> {
        if let Some(dh) = self.pool.take(bits)? {
            return Ok((dh, "pool"));
        }
        let threads = super::generate::default_threads();
        match super::generate::search_with_signals(bits, threads, &self.control, &self.interrupt)? {
            Some(dh) => Ok((dh, "search")),
            None => anyhow::bail!(
                "interrupted while generating a {bits}-bit group; nothing was changed"
            ),
        }
    }
}

/// Starts `dhrotate pool fill` detached (it lowers its own priority), so
/// the next rotation finds groups ready. Failure to start it is only logged.
fn refill_in_background(cli: &Cli) {
    let argv = super::Paths::from(cli).refill_argv();
    let (exe, args) = argv.split_first().expect("argv has the binary");
    let spawned = std::process::Command::new(exe)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        Ok(child) => tracing::info!(
            pid = child.id(),
            "refilling the group pool in the background"
        ),
        Err(e) => tracing::warn!("cannot start the pool refill: {e}"),
    }
}

/// Rotates with `postfix` and prints what happened; shared with the demo.
pub fn rotate_and_print(
    settings: &Settings,
    postfix: &dyn Postfix,
    dry_run: bool,
    interrupt: crate::sys::signals::Interrupt,
) -> Result<u8> {
    let catalog = Catalog::embedded();
    let env = Env {
        postfix,
        source: &PoolOrSearch::new(settings, interrupt),
        catalog: &catalog,
        now: SystemTime::now(),
    };
    match rotate::run(settings, &env, dry_run)? {
        Report::DryRun(plan) => {
            print_plan_head(&plan);
            for g in &plan.groups {
                println!(
                    "would generate a {}-bit group {:?} -> {} (previous kept as .prev)",
                    g.bits,
                    g.name,
                    g.file.display()
                );
            }
            print_edits(&plan);
            if !plan.changes_anything() {
                println!("nothing to change");
            }
            println!("dry run: nothing was changed");
        }
        Report::Done(plan, applied) => {
            print_plan_head(&plan);
            print_applied(&applied);
        }
    }
    Ok(0)
}

/// Unified diffs of the config edits and the files a plan would remove.
pub fn print_edits(plan: &rotate::Plan) {
    for e in &plan.edits {
        print!("{}", unified_diff(e));
    }
    for f in plan.old_files.iter().filter(|f| f.remove) {
        println!("would remove {} (and its .prev)", f.path.display());
    }
}

/// What an applied plan wrote, edited, removed, and what became of Postfix.
pub fn print_applied(applied: &rotate::Applied) {
    for g in &applied.written {
        println!(
            "wrote {} ({} bits, group {:?}, {}, sha256(p) {})",
            g.file.display(),
            g.bits,
            g.name,
            match g.source.as_str() {
                "pool" => "taken from the pool",
                "search" => "newly generated",
                other => other,
            },
            g.fingerprint
        );
    }
    for path in &applied.edited {
        println!("edited {}", path.display());
    }
    for path in &applied.removed {
        println!("removed {} (and its .prev)", path.display());
    }
    println!("{}", applied.reload.describe());
    for f in &applied.verification {
        let mark = if f.ok() { "verified" } else { "MISMATCH" };
        println!("{mark}: {}", f.describe());
    }
}

/// Versions, mode and warnings: the first lines of every plan's output.
pub fn print_plan_head(plan: &rotate::Plan) {
    println!(
        "Postfix {}, OpenSSL {} ({})",
        plan.versions.postfix,
        plan.versions
            .openssl
            .map_or_else(|| "unknown".into(), |v| v.to_string()),
        plan.versions.openssl_source,
    );
    if let Some(d) = &plan.decision {
        println!("mode {:?}: {}", d.mode, d.why);
    }
    for f in &plan.old_files {
        if !f.remove {
            println!(
                "kept {}: no longer used in auto mode (auto_old_files = \"remove\" removes it)",
                f.path.display()
            );
        }
    }
    for w in &plan.warnings {
        println!("warning: {w}");
    }
}

fn unified_diff(e: &rotate::plan::FileEdit) -> String {
    let before = String::from_utf8_lossy(&e.before);
    let after = String::from_utf8_lossy(&e.after);
    let name = e.path.display().to_string();
    similar::TextDiff::from_lines(before.as_ref(), after.as_ref())
        .unified_diff()
        .context_radius(2)
        .header(&name, &name)
        .to_string()
}
