//! One rotation (docs/DESIGN.md "One rotation", steps 2-11): lock, detect,
//! plan, apply, record.

pub mod apply;
pub mod env;
pub(crate) mod groups;
pub(crate) mod hooks;
pub(crate) mod instances;
mod journal;
pub(crate) mod owed;
pub mod phases;
pub mod plan;
mod report;
mod stage;
pub mod summary;

#[cfg(test)]
mod instances_tests;
#[cfg(test)]
mod matrix_tests;

pub use apply::Applied;
pub use env::Env;
pub use plan::{Effective, Plan};

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};
use tracing::info;

use crate::config::Settings;
use crate::sys::lock::RunLock;
use crate::sys::state::{self, LastOutcome};

/// What `now` did, or would do with `--dry-run`.
#[derive(Debug)]
pub struct RunReport {
    /// The primary instance's plan.
    pub plan: Plan,
    /// What applying it did; `None` for a dry run.
    pub applied: Option<Applied>,
    /// The secondary instances (`instances`), each with its plan and result.
    pub others: Vec<InstanceRun>,
    /// The hooks that ran (a dry run: none ran; `hooks` lists them).
    pub hooks: Vec<crate::ops::rotate::hooks::HookRun>,
    /// The hooks configured, for a dry run to list.
    pub hook_specs: Vec<crate::config::HookSpec>,
}

/// One secondary instance's part of a run.
#[derive(Debug, Clone)]
pub struct InstanceRun {
    /// The instance.
    pub instance: crate::postfix::multi::ListedInstance,
    /// Its plan.
    pub plan: Plan,
    /// What applying it did, once it did.
    pub applied: Option<Applied>,
}

impl RunReport {
    /// Whether any instance's plan installs or removes a group file (what
    /// runs the hooks).
    pub fn changes_groups(&self) -> bool {
        std::iter::once(&self.plan)
            .chain(self.others.iter().map(|o| &o.plan))
            .any(|p| !p.groups.is_empty() || p.old_files.iter().any(|f| f.remove))
    }
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
) -> Result<RunReport> {
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
) -> Result<RunReport> {
    let catalog = crate::dh::Catalog::embedded();
    let proofs = crate::dh::Proofs::open(&settings.state_dir);
    let env = Env {
        postfix,
        source: &crate::dh::PoolOrSearch::new(&settings.state_dir, control, interrupt),
        catalog: &catalog,
        proofs: Some(&proofs),
        phases: seen.phases.clone(),
        now: std::time::SystemTime::now(),
    };
    let report = execute_seen(
        settings,
        &env,
        dry_run,
        &|s, pf| plan::plan(s, pf, env.now),
        true,
        seen,
    );
    if !dry_run {
        proofs.save_or_warn();
    }
    report
}

/// `[policy] guideline`: what the plan installs, judged against what is
/// served now (a warning, or with `enforce` a refusal before anything is
/// touched).
fn judge_posture(
    settings: &Settings,
    plan: &Plan,
    pf: &dyn crate::postfix::Postfix,
    proofs: Option<&crate::dh::Proofs>,
) -> Result<Vec<String>> {
    let Some(d) = &plan.decision else {
        return Ok(Vec::new());
    };
    if settings.policy.guideline == crate::guidelines::Guideline::None {
        return Ok(Vec::new());
    }
    let cf = crate::postfix::ConfigFiles::load(&settings.postfix_config_dir)?;
    let next = crate::ops::inspect::posture::Next {
        mode: d.mode,
        intents: &plan.intents,
        versions: &plan.versions,
    };
    crate::ops::inspect::posture::check_plan(settings, next, pf, &cf, proofs)
}

/// Something that plans a change from settings and what Postfix says.
pub type Planner<'a> = &'a dyn Fn(&Settings, &dyn crate::postfix::Postfix) -> Result<Plan>;

/// What a run got as far as, kept even when it fails afterwards (for
/// `now --json`: the plan a failed check belonged to, the groups a failed
/// verification installed).
#[derive(Debug, Default)]
pub struct Seen {
    /// The primary's plan, once made.
    pub plan: Option<Plan>,
    /// What applying it did, once it did.
    pub applied: Option<Applied>,
    /// The secondary instances, once planned.
    pub others: Vec<InstanceRun>,
    /// The hooks, once run.
    pub hooks: Vec<crate::ops::rotate::hooks::HookRun>,
    /// Time per phase so far (shared with the run's `Env`).
    pub phases: std::sync::Arc<phases::PhaseClock>,
}

impl Seen {
    /// The report of a run that got to its end (a plan, and with it
    /// applied or a dry run).
    fn report(&self, settings: &Settings) -> RunReport {
        RunReport {
            plan: self.plan.clone().expect("the primary is always planned"),
            applied: self.applied.clone(),
            others: self.others.clone(),
            hooks: self.hooks.clone(),
            hook_specs: settings.hooks.clone(),
        }
    }
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
) -> Result<RunReport> {
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
) -> Result<RunReport> {
    let started = std::time::Instant::now();
    let plan_all = |managed: &[crate::ops::rotate::instances::Managed]| -> Result<Vec<Plan>> {
        managed
            .iter()
            .map(|m| {
                let pf = m.postfix(env.postfix);
                env.phases.time(phases::Phase::Plan, || {
                    let mut plan = planner(&m.settings, pf)?;
                    plan.warnings
                        .extend(judge_posture(&m.settings, &plan, pf, env.proofs)?);
                    Ok(plan)
                })
            })
            .collect()
    };
    let keep =
        |seen: &mut Seen, managed: &[crate::ops::rotate::instances::Managed], plans: &[Plan]| {
            seen.plan = plans.first().cloned();
            seen.others = managed
                .iter()
                .zip(plans)
                .skip(1)
                .map(|(m, p)| InstanceRun {
                    instance: m.instance.clone(),
                    plan: p.clone(),
                    applied: None,
                })
                .collect();
        };
    if dry_run {
        // Planning only reads; no lock, no state directory needed.
        let managed = crate::ops::rotate::instances::select(settings, env.postfix)?;
        let plans = plan_all(&managed)?;
        keep(seen, &managed, &plans);
        return Ok(seen.report(settings));
    }
    ensure_state_dir(&settings.state_dir)?;
    let _lock = RunLock::acquire(&settings.state_dir.join("lock"), settings.lock_wait)?;
    let planned =
        crate::ops::rotate::instances::select(settings, env.postfix).and_then(|managed| {
            crate::ops::rotate::instances::check_writable(&managed, env.postfix)?;
            for m in &managed {
                ensure_state_dir(&m.settings.state_dir)?;
                clean_stale_temps(&m.settings)?;
            }
            let plans = plan_all(&managed)?;
            Ok((managed, plans))
        });
    let (managed, plans) = match planned {
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
                r.outcome = LastOutcome::Failed(format!("{e:#}"));
                state::write(&settings.state_dir, &r)?;
            }
            return Err(e);
        }
    };
    keep(seen, &managed, &plans);
    for (m, plan) in managed.iter().zip(&plans) {
        for w in &plan.warnings {
            tracing::warn!(instance = %m.instance.name, "{w}");
        }
        if let Some(d) = &plan.decision {
            info!(instance = %m.instance.name, mode = ?d.mode, why = %d.why, "mode decided");
        }
    }
    let parts: Vec<env::Part> = managed
        .iter()
        .zip(&plans)
        .map(|(m, plan)| env::Part {
            instance: &m.instance,
            settings: &m.settings,
            plan,
            postfix: m.postfix(env.postfix),
        })
        .collect();
    let result = apply::apply_all(&parts, env);
    if let Ok(all) = &result {
        seen.applied = all.first().cloned();
        for (o, a) in seen.others.iter_mut().zip(all.iter().skip(1)) {
            o.applied = Some(a.clone());
        }
    }
    let primary_plan = &plans[0];
    let failed: Vec<String> = result
        .as_ref()
        .map(|all| {
            all.iter()
                .flat_map(|a| &a.verification)
                .filter(|f| !f.ok())
                .map(|f| f.describe())
                .collect()
        })
        .unwrap_or_default();
    // Hooks follow every run that left new group files in place, verified
    // or not: their consumers read those files either way.
    if let Some(all) = result.as_ref().ok().filter(|_| !settings.hooks.is_empty()) {
        seen.hooks = env.phases.time(phases::Phase::Hooks, || {
            run_hooks(settings, primary_plan, all, &managed, !failed.is_empty())
        });
    }
    info!(phases = %env.phases.describe(), "run phases");
    let hooks_failed: Vec<String> = seen
        .hooks
        .iter()
        .filter(|h| h.outcome != crate::ops::rotate::hooks::HookOutcome::Ok)
        .map(|h| h.describe())
        .collect();
    if !record {
        return result.map(|_| seen.report(settings));
    }
    let mut record = state::read(&settings.state_dir)
        .ok()
        .flatten()
        .unwrap_or_default();
    record.last_run = unix_now(env);
    record.duration_ms = started.elapsed().as_millis() as u64;
    let mode = primary_plan.decision.as_ref().map(|d| d.mode);
    let auto = mode == Some(Effective::Auto);
    record.mode = match mode {
        Some(Effective::Auto) => "auto",
        Some(Effective::Named) => "named",
        _ => "explicit",
    }
    .into();
    match &result {
        Ok(all) => {
            record.outcome = LastOutcome::Ok;
            record.last_success = record.last_run;
            for g in all.iter().flat_map(|a| &a.written) {
                // Structured fields for journald: one event per group.
                info!(
                    group = %g.name,
                    instance = g.instance.as_deref().unwrap_or(crate::postfix::multi::PRIMARY),
                    bits = g.bits,
                    fingerprint = %g.fingerprint,
                    source = %g.source,
                    file = %g.file.display(),
                    outcome = "installed",
                    "group installed"
                );
                record
                    .groups
                    .retain(|old| old.name != g.name || old.instance != g.instance);
                record.groups.push(g.clone());
            }
            if auto {
                record.groups.clear();
            }
            if !seen.hooks.is_empty() {
                record.hooks = seen
                    .hooks
                    .iter()
                    .map(|h| state::HookState {
                        name: h.name.clone(),
                        ok: h.outcome == crate::ops::rotate::hooks::HookOutcome::Ok,
                        detail: h.describe(),
                        at: record.last_run,
                    })
                    .collect();
            }
        }
        Err(e) => record.outcome = LastOutcome::Failed(format!("{e:#}")),
    }
    let verify_is_error = settings.reload.verify == crate::config::Verify::Error;
    if !failed.is_empty() && verify_is_error {
        record.outcome = LastOutcome::Unverified(failed.join("; "));
    } else if !hooks_failed.is_empty() {
        record.outcome = LastOutcome::HookFailed(hooks_failed.join("; "));
    }
    if let Err(e) = state::write(&settings.state_dir, &record) {
        return Err(match result {
            Ok(_) => e.context(
                "the rotation itself succeeded and is in place (nothing to roll back); only recording it failed",
            ),
            Err(run) => run.context(format!("(and recording the failure failed too: {e:#})")),
        });
    }
    result?;
    if !failed.is_empty() && verify_is_error {
        return Err(crate::error::Failure::Unverified(anyhow::anyhow!(
            "the new groups are installed and Postfix was reloaded, but {}; the files were kept \
             (they are valid): look for a master.cf override or a restart Postfix still owes \
             (set [reload] verify = \"warn\" to only warn){}",
            failed.join("; "),
            if hooks_failed.is_empty() {
                String::new()
            } else {
                format!("; also {}", hooks_failed.join("; "))
            }
        ))
        .into());
    }
    if !hooks_failed.is_empty() {
        return Err(crate::error::Failure::HookFailed(anyhow::anyhow!(
            "the new groups are installed and Postfix serves them (nothing was rolled back), but {}",
            hooks_failed.join("; ")
        ))
        .into());
    }
    Ok(seen.report(settings))
}

/// Runs `[[hook]]`s when any instance got a new group file (or, in auto
/// mode, lost one): the environment from
/// what was applied, each hook's endpoint held against the group file as
/// it is now.
fn run_hooks(
    settings: &Settings,
    plan: &Plan,
    all: &[Applied],
    managed: &[crate::ops::rotate::instances::Managed],
    unverified: bool,
) -> Vec<crate::ops::rotate::hooks::HookRun> {
    // What consumers read are the group files: a run that only edited
    // settings (a curve policy) gives them nothing to reload.
    let changed = |a: &Applied| !a.written.is_empty() || !a.removed.is_empty();
    if settings.hooks.is_empty() || !all.iter().any(changed) {
        return Vec::new();
    }
    let mut ctx = crate::ops::rotate::hooks::Context {
        mode: match plan.decision.as_ref().map(|d| d.mode) {
            Some(Effective::Auto) => "auto",
            Some(Effective::Named) => "named",
            _ => "explicit",
        }
        .into(),
        outcome: if unverified { "unverified" } else { "changed" }.into(),
        ..Default::default()
    };
    for (a, m) in all.iter().zip(managed) {
        if changed(a) {
            ctx.instances.push(m.instance.config_dir.clone());
        }
        for g in &a.written {
            if !ctx.changed_files.contains(&g.file) {
                ctx.changed_files.push(g.file.clone());
            }
            if !ctx.groups.contains(&g.name) {
                ctx.groups.push(g.name.clone());
            }
        }
        for p in a.edited.iter().chain(&a.removed) {
            if !ctx.changed_files.contains(p) {
                ctx.changed_files.push(p.clone());
            }
        }
    }
    let auto = plan
        .decision
        .as_ref()
        .is_some_and(|d| d.mode == Effective::Auto);
    let expected = |group: &str| -> Option<String> {
        if auto {
            return None;
        }
        let spec = settings.groups.iter().find(|g| g.name == group)?;
        summary::fingerprint_of(&spec.file)
    };
    crate::ops::rotate::hooks::run_all(
        &settings.hooks,
        &ctx,
        &expected,
        std::time::Duration::from_secs(15),
    )
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
