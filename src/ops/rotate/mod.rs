//! One rotation (docs/DESIGN.md "One rotation", steps 2-11): lock, detect,
//! plan, apply, record.

pub mod apply;
pub(crate) mod curves;
pub mod env;
pub(crate) mod groups;
pub(crate) mod hooks;
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
use crate::ops::instances;
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
/// cancelling `control`), validated against the embedded catalog and the
/// verdict cache, the time of the record now, the outcome recorded. `seen`
/// keeps how far the run got (`now --json`).
pub fn now(
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
    let how = How {
        dry_run,
        record: true,
    };
    let report = execute(
        settings,
        &env,
        how,
        &|s, pf| plan::plan(s, pf, env.now),
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
    fn keep_plans(&mut self, managed: &[instances::Managed], plans: &[Plan]) {
        self.plan = plans.first().cloned();
        self.others = managed
            .iter()
            .zip(plans)
            .skip(1)
            .map(|(m, p)| InstanceRun {
                instance: m.instance.clone(),
                plan: p.clone(),
                applied: None,
            })
            .collect();
    }

    fn keep_applied(&mut self, result: &Result<Vec<Applied>>) {
        if let Ok(all) = result {
            self.applied = all.first().cloned();
            for (o, a) in self.others.iter_mut().zip(all.iter().skip(1)) {
                o.applied = Some(a.clone());
            }
        }
    }

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

/// How a run goes: only planned (`dry_run`), and whether its outcome is
/// recorded in the state file (`curves --set` records none).
#[derive(Debug, Clone, Copy)]
pub struct How {
    /// Plan and print, change nothing, take no lock.
    pub dry_run: bool,
    /// Write the outcome to `state.json`.
    pub record: bool,
}

/// A run on the given environment (docs/DESIGN.md "One rotation", steps 2
/// to 12): under the lock (one change to Postfix's configuration at a time,
/// rotations and curve policy alike) every instance is planned, then all
/// are applied together, the hooks run, and the outcome is recorded.
/// `seen` keeps how far it got, also when it fails.
pub fn execute(
    settings: &Settings,
    env: &Env,
    how: How,
    planner: Planner,
    seen: &mut Seen,
) -> Result<RunReport> {
    let started = std::time::Instant::now();
    if how.dry_run {
        // Planning only reads; no lock, no state directory needed.
        let managed = instances::select(settings, env.postfix)?;
        let plans = plan_all(&managed, env, planner)?;
        seen.keep_plans(&managed, &plans);
        return Ok(seen.report(settings));
    }
    ensure_state_dir(&settings.state_dir)?;
    let _lock = RunLock::acquire(&settings.state_dir.join("lock"), settings.lock_wait)?;
    let (managed, plans) = match prepare(settings, env, planner) {
        Ok(prepared) => prepared,
        Err(e) if how.record => return Err(record_unplanned(settings, env, started, e)),
        Err(e) => return Err(e),
    };
    seen.keep_plans(&managed, &plans);
    announce(&managed, &plans);
    let result = apply::apply_all(&parts(&managed, &plans, env), env);
    seen.keep_applied(&result);
    let unverified = unverified(&result);
    // Hooks follow every run that left new group files in place, verified
    // or not: their consumers read those files either way.
    if let Some(all) = result.as_ref().ok().filter(|_| !settings.hooks.is_empty()) {
        seen.hooks = env.phases.time(phases::Phase::Hooks, || {
            run_hooks(settings, &plans[0], all, &managed, !unverified.is_empty())
        });
    }
    info!(phases = %env.phases.describe(), "run phases");
    if !how.record {
        return result.map(|_| seen.report(settings));
    }
    let outcome = Outcome::judge(settings, &result, unverified, &seen.hooks);
    if let Err(e) = record(settings, env, started, &plans[0], &result, &outcome, seen) {
        return Err(match result {
            Ok(_) => e.context(
                "the rotation itself succeeded and is in place (nothing to roll back); only recording it failed",
            ),
            Err(run) => run.context(format!("(and recording the failure failed too: {e:#})")),
        });
    }
    result?;
    outcome.into_result()?;
    Ok(seen.report(settings))
}

/// Every instance, each with its settings and commands.
fn plan_all(managed: &[instances::Managed], env: &Env, planner: Planner) -> Result<Vec<Plan>> {
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
}

/// Under the lock: the instances, each writable, its state directory
/// ready and what killed runs left removed, then the plans.
fn prepare(
    settings: &Settings,
    env: &Env,
    planner: Planner,
) -> Result<(Vec<instances::Managed>, Vec<Plan>)> {
    let managed = instances::select(settings, env.postfix)?;
    instances::check_writable(&managed, env.postfix)?;
    for m in &managed {
        ensure_state_dir(&m.settings.state_dir)?;
        clean_stale_temps(&m.settings)?;
    }
    let plans = plan_all(&managed, env, planner)?;
    Ok((managed, plans))
}

/// A run that failed before it could plan still ran, and failed: status
/// and the daemon's catch-up must see it. Returns the run's error.
fn record_unplanned(
    settings: &Settings,
    env: &Env,
    started: std::time::Instant,
    e: anyhow::Error,
) -> anyhow::Error {
    let mut r = stamped(settings, env, started);
    r.outcome = LastOutcome::Failed(format!("{e:#}"));
    match state::write(&settings.state_dir, &r) {
        Ok(()) => e,
        Err(w) => w,
    }
}

/// The plans' warnings and mode decisions, in the log.
fn announce(managed: &[instances::Managed], plans: &[Plan]) {
    for (m, plan) in managed.iter().zip(plans) {
        for w in &plan.warnings {
            tracing::warn!(instance = %m.instance.name, "{w}");
        }
        if let Some(d) = &plan.decision {
            info!(instance = %m.instance.name, mode = ?d.mode, why = %d.why, "mode decided");
        }
    }
}

fn parts<'a>(
    managed: &'a [instances::Managed],
    plans: &'a [Plan],
    env: &'a Env,
) -> Vec<env::Part<'a>> {
    managed
        .iter()
        .zip(plans)
        .map(|(m, plan)| env::Part {
            instance: &m.instance,
            settings: &m.settings,
            plan,
            postfix: m.postfix(env.postfix),
        })
        .collect()
}

/// The listeners that did not serve their new group, in words.
fn unverified(result: &Result<Vec<Applied>>) -> Vec<String> {
    result
        .as_ref()
        .map(|all| {
            all.iter()
                .flat_map(|a| &a.verification)
                .filter(|f| !f.ok())
                .map(|f| f.describe())
                .collect()
        })
        .unwrap_or_default()
}

/// What an applied run still owes its caller: a verification that failed
/// (an error unless `[reload] verify = "warn"`), and failed hooks.
struct Outcome {
    unverified: Vec<String>,
    hooks_failed: Vec<String>,
}

impl Outcome {
    fn judge(
        settings: &Settings,
        result: &Result<Vec<Applied>>,
        unverified: Vec<String>,
        hooks: &[hooks::HookRun],
    ) -> Outcome {
        let verify_is_error = settings.reload.verify == crate::config::Verify::Error;
        Outcome {
            unverified: if verify_is_error && result.is_ok() {
                unverified
            } else {
                Vec::new()
            },
            hooks_failed: hooks
                .iter()
                .filter(|h| h.outcome != hooks::HookOutcome::Ok)
                .map(|h| h.describe())
                .collect(),
        }
    }

    /// What `state.json` says of the run.
    fn last(&self, result: &Result<Vec<Applied>>) -> LastOutcome {
        if !self.unverified.is_empty() {
            LastOutcome::Unverified(self.unverified.join("; "))
        } else if !self.hooks_failed.is_empty() {
            LastOutcome::HookFailed(self.hooks_failed.join("; "))
        } else {
            match result {
                Ok(_) => LastOutcome::Ok,
                Err(e) => LastOutcome::Failed(format!("{e:#}")),
            }
        }
    }

    /// The error for a run whose files are in place: exit 12 or 13.
    fn into_result(self) -> Result<()> {
        if !self.unverified.is_empty() {
            return Err(crate::error::Failure::Unverified(anyhow::anyhow!(
                "the new groups are installed and Postfix was reloaded, but {}; the files were kept \
                 (they are valid): look for a master.cf override or a restart Postfix still owes \
                 (set [reload] verify = \"warn\" to only warn){}",
                self.unverified.join("; "),
                if self.hooks_failed.is_empty() {
                    String::new()
                } else {
                    format!("; also {}", self.hooks_failed.join("; "))
                }
            ))
            .into());
        }
        if !self.hooks_failed.is_empty() {
            return Err(crate::error::Failure::HookFailed(anyhow::anyhow!(
                "the new groups are installed and Postfix serves them (nothing was rolled back), but {}",
                self.hooks_failed.join("; ")
            ))
            .into());
        }
        Ok(())
    }
}

/// Writes the run to `state.json`: when, how long, the mode, its outcome,
/// the groups it installed (one journald event each) and the hooks' ends.
fn record(
    settings: &Settings,
    env: &Env,
    started: std::time::Instant,
    primary: &Plan,
    result: &Result<Vec<Applied>>,
    outcome: &Outcome,
    seen: &Seen,
) -> Result<()> {
    let mut record = stamped(settings, env, started);
    let mode = primary.decision.as_ref().map(|d| d.mode);
    record.mode = mode_word(mode).into();
    record.outcome = outcome.last(result);
    if let Ok(all) = result {
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
        if mode == Some(Effective::Auto) {
            record.groups.clear();
        }
        if !seen.hooks.is_empty() {
            record.hooks = seen
                .hooks
                .iter()
                .map(|h| state::HookState {
                    name: h.name.clone(),
                    ok: h.outcome == hooks::HookOutcome::Ok,
                    detail: h.describe(),
                    at: record.last_run,
                })
                .collect();
        }
    }
    state::write(&settings.state_dir, &record)
}

/// The state file as it was (or a fresh one), stamped with this run's end
/// and duration.
fn stamped(settings: &Settings, env: &Env, started: std::time::Instant) -> state::State {
    let mut r = state::read(&settings.state_dir)
        .ok()
        .flatten()
        .unwrap_or_default();
    r.last_run = unix_now(env);
    r.duration_ms = started.elapsed().as_millis() as u64;
    r
}

/// The mode as `state.json` and the hooks' environment name it.
fn mode_word(mode: Option<Effective>) -> &'static str {
    match mode {
        Some(Effective::Auto) => "auto",
        Some(Effective::Named) => "named",
        _ => "explicit",
    }
}

/// Runs `[[hook]]`s when any instance got a new group file (or, in auto
/// mode, lost one): the environment from
/// what was applied, each hook's endpoint held against the group file as
/// it is now.
fn run_hooks(
    settings: &Settings,
    plan: &Plan,
    all: &[Applied],
    managed: &[crate::ops::instances::Managed],
    unverified: bool,
) -> Vec<crate::ops::rotate::hooks::HookRun> {
    // What consumers read are the group files: a run that only edited
    // settings (a curve policy) gives them nothing to reload.
    let changed = |a: &Applied| !a.written.is_empty() || !a.removed.is_empty();
    if settings.hooks.is_empty() || !all.iter().any(changed) {
        return Vec::new();
    }
    let mut ctx = crate::ops::rotate::hooks::Context {
        mode: mode_word(plan.decision.as_ref().map(|d| d.mode)).into(),
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
