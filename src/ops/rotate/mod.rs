//! One rotation (docs/DESIGN.md "One rotation", steps 2-11): lock, detect,
//! plan, apply, record.

pub mod apply;
pub mod plan;
mod report;
pub mod summary;

#[cfg(test)]
mod matrix_tests;

pub use apply::{Applied, Env};
pub use plan::{Effective, Plan};

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};
use tracing::info;

use crate::config::Settings;
use crate::sys::lock::RunLock;
use crate::sys::state;

/// What `now` did, or would do with `--dry-run`.
#[derive(Debug)]
pub enum Report {
    /// The plan, not applied.
    DryRun(Plan),
    /// The plan and its result.
    Done(Plan, Applied),
}

/// One rotation as `now`, the timer, the daemon and the demo run it:
/// groups from the pool, else the search (stopped by `interrupt` or by
/// cancelling `control`), validated against the embedded catalog, the time
/// of the record now.
pub fn now(
    settings: &Settings,
    postfix: &dyn crate::postfix::Postfix,
    control: std::sync::Arc<crate::dh::search::Control>,
    interrupt: crate::sys::signals::Interrupt,
    dry_run: bool,
) -> Result<Report> {
    now_seen(
        settings,
        postfix,
        control,
        interrupt,
        dry_run,
        &mut Seen::default(),
    )
}

/// `now`, keeping in `seen` how far the run got (`now --json`).
pub fn now_seen(
    settings: &Settings,
    postfix: &dyn crate::postfix::Postfix,
    control: std::sync::Arc<crate::dh::search::Control>,
    interrupt: crate::sys::signals::Interrupt,
    dry_run: bool,
    seen: &mut Seen,
) -> Result<Report> {
    let catalog = crate::dh::Catalog::embedded();
    let env = Env {
        postfix,
        source: &crate::dh::PoolOrSearch::new(&settings.state_dir, control, interrupt),
        catalog: &catalog,
        now: std::time::SystemTime::now(),
    };
    execute_seen(
        settings,
        &env,
        dry_run,
        &|s, pf| plan::plan(s, pf, env.now),
        true,
        seen,
    )
}

/// `[policy] guideline`: what the plan installs, judged against what is
/// served now (a warning, or with `enforce` a refusal before anything is
/// touched).
fn judge_posture(
    settings: &Settings,
    plan: &Plan,
    pf: &dyn crate::postfix::Postfix,
) -> Result<Vec<String>> {
    let Some(d) = &plan.decision else {
        return Ok(Vec::new());
    };
    if settings.policy.guideline == crate::posture::Guideline::None {
        return Ok(Vec::new());
    }
    let cf = crate::postfix::ConfigFiles::load(&settings.postfix_config_dir)?;
    let next = crate::ops::posture::Next {
        mode: d.mode,
        intents: &plan.intents,
        versions: &plan.versions,
    };
    crate::ops::posture::check_plan(settings, next, pf, &cf)
}

/// Something that plans a change from settings and what Postfix says.
pub type Planner<'a> = &'a dyn Fn(&Settings, &dyn crate::postfix::Postfix) -> Result<Plan>;

/// What a run got as far as, kept even when it fails afterwards (for
/// `now --json`: the plan a failed check belonged to, the groups a failed
/// verification installed).
#[derive(Debug, Default)]
pub struct Seen {
    /// The plan, once made.
    pub plan: Option<Plan>,
    /// What applying it did, once it did.
    pub applied: Option<Applied>,
}

/// Plans and, unless `dry_run`, applies under the lock (one change to
/// Postfix's configuration at a time, rotations and curve policy alike).
/// `record` writes the outcome to the state file.
pub fn execute(
    settings: &Settings,
    env: &Env,
    dry_run: bool,
    planner: Planner,
    record: bool,
) -> Result<Report> {
    execute_seen(
        settings,
        env,
        dry_run,
        planner,
        record,
        &mut Seen::default(),
    )
}

/// `execute`, keeping in `seen` how far the run got.
pub fn execute_seen(
    settings: &Settings,
    env: &Env,
    dry_run: bool,
    planner: Planner,
    record: bool,
    seen: &mut Seen,
) -> Result<Report> {
    let started = std::time::Instant::now();
    let planner = |s: &Settings, pf: &dyn crate::postfix::Postfix| -> Result<Plan> {
        let mut plan = planner(s, pf)?;
        plan.warnings.extend(judge_posture(s, &plan, pf)?);
        Ok(plan)
    };
    if dry_run {
        // Planning only reads; no lock, no state directory needed.
        let plan = planner(settings, env.postfix)?;
        seen.plan = Some(plan.clone());
        return Ok(Report::DryRun(plan));
    }
    ensure_state_dir(&settings.state_dir)?;
    let _lock = RunLock::acquire(&settings.state_dir.join("lock"), settings.lock_wait)?;
    clean_stale_temps(settings)?;
    let plan = match planner(settings, env.postfix) {
        Ok(p) => p,
        Err(e) => {
            // A run that failed before it could plan still ran, and failed:
            // status and the daemon's catch-up must see it.
            if record {
                let mut r = state::read(&settings.state_dir)
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                r.last_run = unix_now(env);
                r.duration_ms = started.elapsed().as_millis() as u64;
                r.outcome = format!("failed: {e:#}");
                state::write(&settings.state_dir, &r)?;
            }
            return Err(e);
        }
    };
    seen.plan = Some(plan.clone());
    for w in &plan.warnings {
        tracing::warn!("{w}");
    }
    if let Some(d) = &plan.decision {
        info!(mode = ?d.mode, why = %d.why, "mode decided");
    }
    let result = apply::apply(&plan, settings, env);
    seen.applied = result.as_ref().ok().cloned();
    if !record {
        return result.map(|applied| Report::Done(plan, applied));
    }
    let mut record = state::read(&settings.state_dir)
        .ok()
        .flatten()
        .unwrap_or_default();
    record.last_run = unix_now(env);
    record.duration_ms = started.elapsed().as_millis() as u64;
    let mode = plan.decision.as_ref().map(|d| d.mode);
    let auto = mode == Some(Effective::Auto);
    record.mode = match mode {
        Some(Effective::Auto) => "auto",
        Some(Effective::Named) => "named",
        _ => "explicit",
    }
    .into();
    match &result {
        Ok(applied) => {
            record.outcome = "ok".into();
            record.last_success = record.last_run;
            for g in &applied.written {
                // Structured fields for journald: one event per group.
                info!(
                    group = %g.name,
                    bits = g.bits,
                    fingerprint = %g.fingerprint,
                    source = %g.source,
                    file = %g.file.display(),
                    outcome = "installed",
                    "group installed"
                );
                record.groups.retain(|old| old.name != g.name);
                record.groups.push(g.clone());
            }
            if auto {
                record.groups.clear();
            }
        }
        Err(e) => record.outcome = format!("failed: {e:#}"),
    }
    let failed: Vec<String> = result
        .as_ref()
        .map(|a| {
            a.verification
                .iter()
                .filter(|f| !f.ok())
                .map(|f| f.describe())
                .collect()
        })
        .unwrap_or_default();
    let verify_is_error = settings.reload.verify == crate::config::Verify::Error;
    if !failed.is_empty() && verify_is_error {
        record.outcome = format!("written, but verification failed: {}", failed.join("; "));
    }
    if let Err(e) = state::write(&settings.state_dir, &record) {
        return Err(match result {
            Ok(_) => e.context(
                "the rotation itself succeeded and is in place (nothing to roll back); only recording it failed",
            ),
            Err(run) => run.context(format!("(and recording the failure failed too: {e:#})")),
        });
    }
    let applied = result?;
    if !failed.is_empty() && verify_is_error {
        return Err(crate::error::Failure::Unverified(anyhow::anyhow!(
            "the new groups are installed and Postfix was reloaded, but {}; the files were kept \
             (they are valid): look for a master.cf override or a restart Postfix still owes \
             (set [reload] verify = \"warn\" to only warn)",
            failed.join("; ")
        ))
        .into());
    }
    Ok(Report::Done(plan, applied))
}

fn unix_now(env: &Env) -> u64 {
    env.now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn ensure_state_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating state directory {}", dir.display()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("setting mode of {}", dir.display()))?;
    }
    crate::sys::fsutil::check_dir_safe(dir)
        .map_err(|e| crate::error::Failure::Config(e.context("state_dir")).into())
}

/// A run killed mid-write leaves `.dhrotate-*.tmp` files; the next run removes them.
fn clean_stale_temps(settings: &Settings) -> Result<()> {
    let backup = settings.state_dir.join("backup");
    let mut dirs: Vec<&Path> = vec![&settings.postfix_config_dir, &settings.state_dir, &backup];
    for g in &settings.groups {
        if let Some(p) = g.file.parent() {
            dirs.push(p);
        }
    }
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        let n = crate::sys::fsutil::remove_stale_temps(d)?;
        if n > 0 {
            info!(dir = %d.display(), removed = n, "removed temp files left by an interrupted run");
        }
    }
    let n = crate::dh::pool::Pool::new(&settings.state_dir).clean_stale()?;
    if n > 0 {
        info!(
            removed = n,
            "removed pool claims and temp files left by interrupted runs"
        );
    }
    Ok(())
}
