//! `dhrotate now`: one rotation, immediately.

use std::time::SystemTime;

use anyhow::Result;

use crate::config::{Mode, Overrides, Settings};
use crate::dh::Catalog;
use crate::postfix::Postfix;
use crate::rotation::{self, Env, OpenSslSource, Reload, Report};

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
    /// Run on a throwaway demo Postfix configuration under target/ (or the
    /// temp directory), with a private Postfix instance when Postfix is
    /// installed and you are root. Ignores --config and --postfix-dir.
    #[arg(long)]
    pub demo: bool,
}

/// Runs `now`.
pub fn run(args: &Args, cli: &Cli) -> Result<u8> {
    if args.demo {
        return crate::demo::run(args.dry_run);
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
    rotate_and_print(&settings, &postfix, args.dry_run)
}

/// Rotates with `postfix` and prints what happened; shared with the demo.
pub fn rotate_and_print(settings: &Settings, postfix: &dyn Postfix, dry_run: bool) -> Result<u8> {
    let catalog = Catalog::embedded();
    let env = Env {
        postfix,
        source: &OpenSslSource,
        catalog: &catalog,
        now: SystemTime::now(),
    };
    match rotation::run(settings, &env, dry_run)? {
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
pub fn print_edits(plan: &rotation::Plan) {
    for e in &plan.edits {
        print!("{}", unified_diff(e));
    }
    for f in plan.old_files.iter().filter(|f| f.remove) {
        println!("would remove {} (and its .prev)", f.path.display());
    }
}

/// What an applied plan wrote, edited, removed, and what became of Postfix.
pub fn print_applied(applied: &rotation::Applied) {
    for g in &applied.written {
        println!(
            "wrote {} ({} bits, group {:?}, sha256(p) {})",
            g.file.display(),
            g.bits,
            g.name,
            g.fingerprint
        );
    }
    for path in &applied.edited {
        println!("edited {}", path.display());
    }
    for path in &applied.removed {
        println!("removed {} (and its .prev)", path.display());
    }
    println!(
        "{}",
        match applied.reload {
            Reload::Reloaded => "postfix check passed; Postfix reloaded",
            Reload::NotRunning => "Postfix is not running: it reads the new files when it starts",
            Reload::Disabled =>
                "postfix check passed; reload disabled, run `postfix reload` to serve the new groups",
            Reload::NotNeeded => "nothing changed; no reload needed",
        }
    );
    for f in &applied.verification {
        let mark = if f.ok() { "verified" } else { "MISMATCH" };
        println!("{mark}: {}", f.describe());
    }
}

/// Versions, mode and warnings: the first lines of every plan's output.
pub fn print_plan_head(plan: &rotation::Plan) {
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

fn unified_diff(e: &rotation::plan::FileEdit) -> String {
    let before = String::from_utf8_lossy(&e.before);
    let after = String::from_utf8_lossy(&e.after);
    let name = e.path.display().to_string();
    similar::TextDiff::from_lines(before.as_ref(), after.as_ref())
        .unified_diff()
        .context_radius(2)
        .header(&name, &name)
        .to_string()
}
