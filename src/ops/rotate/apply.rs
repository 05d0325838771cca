//! Carrying out a plan: generate and validate first, then write with a
//! journal of snapshots, `postfix check`, reload, and byte-identical
//! rollback if anything after the first write fails.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};
use tracing::{info, warn};

use super::phases::Phase;
use super::plan::Plan;
use crate::config::{GroupSpec, Settings, Use};
use crate::dh::{self, Catalog, GroupSource, Policy, ValidGroup};
use crate::error::{Failure, PostfixStep};
use crate::postfix::multi::Instance;
use crate::postfix::{ConfigFiles, Postfix};
use crate::sys::failpoint;
use crate::sys::fsutil::{self, FileMode, Snapshot};
use crate::sys::state::GroupState;

/// A group generated and validated for one configured group.
struct Fresh<'a> {
    spec: &'a GroupSpec,
    group: ValidGroup,
    origin: &'static str,
    /// The same file is shared with an earlier instance of the run, which
    /// writes it; this one only points at it and verifies it.
    written_by_another: bool,
}

/// The outside world a rotation talks to.
pub struct Env<'a> {
    /// Postfix's commands.
    pub postfix: &'a dyn Postfix,
    /// Fresh groups.
    pub source: &'a dyn GroupSource,
    /// Known shared primes.
    pub catalog: &'a Catalog,
    /// The verdict cache (saved by the caller, never in a dry run).
    pub proofs: Option<&'a crate::dh::Proofs>,
    /// Where the time goes, phase by phase.
    pub phases: std::sync::Arc<super::phases::PhaseClock>,
    /// The time to record.
    pub now: SystemTime,
}

/// What happened to the running Postfix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reload {
    /// `postfix reload` ran.
    Reloaded,
    /// Postfix is not running; it reads the new files when it starts.
    NotRunning,
    /// `[reload] enabled = false` or `--no-reload`.
    Disabled,
    /// Nothing changed, so nothing to reload.
    NotNeeded,
    /// A secondary instance with `multi_instance_enable = no`: edited and
    /// checked, not reloaded (it reads the files when enabled and started).
    InstanceDisabled,
    /// No Postfix at all (the demo without one): neither checked nor
    /// reloaded.
    Absent,
}

impl Reload {
    /// What it means for the administrator, in one line.
    pub fn describe(self) -> &'static str {
        match self {
            Reload::Reloaded => "postfix check passed; Postfix reloaded",
            Reload::NotRunning => {
                "postfix check passed; Postfix is not running: it reads the new files when it starts"
            }
            Reload::Disabled => {
                "postfix check passed; reload disabled, run `postfix reload` to serve the new groups"
            }
            Reload::NotNeeded => "nothing changed; no reload needed",
            Reload::InstanceDisabled => {
                "postfix check passed; the instance is disabled (multi_instance_enable = no): not reloaded, it reads the new files when enabled and started"
            }
            Reload::Absent => "no Postfix here: not checked, not reloaded",
        }
    }
}

/// The result of a successful apply.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Groups written.
    pub written: Vec<GroupState>,
    /// Configuration files changed.
    pub edited: Vec<PathBuf>,
    /// Unused group files removed (auto mode).
    pub removed: Vec<PathBuf>,
    /// Reload outcome.
    pub reload: Reload,
    /// What each listener served after the reload (empty when not verified).
    pub verification: Vec<crate::ops::verify::Finding>,
}

impl Applied {
    /// One line for a log: counts, the reload outcome and verification.
    pub fn summary(&self) -> String {
        let verified = self.verification.iter().filter(|f| f.ok()).count();
        format!(
            "{} group(s) written, {} file(s) edited, {} removed; {}; {verified}/{} listener(s) verified",
            self.written.len(),
            self.edited.len(),
            self.removed.len(),
            self.reload.describe(),
            self.verification.len()
        )
    }
}

/// One Postfix instance's share of a run: its settings (config directory,
/// group files, corner of the state directory), its plan and its commands.
pub struct Part<'a> {
    /// The instance.
    pub instance: &'a Instance,
    /// Settings as they apply to it (`Settings::for_instance`).
    pub settings: &'a Settings,
    /// What to change in it.
    pub plan: &'a Plan,
    /// Its `postconf` and `postfix`.
    pub postfix: &'a dyn Postfix,
}

/// What one part needs across the steps.
struct Progress<'a> {
    fresh: Vec<Fresh<'a>>,
    owed: ReloadOwed,
    was_owed: bool,
    changes: bool,
}

impl Progress<'_> {
    /// `postfix check` for a part this run changes; nothing to check otherwise.
    fn check_if_changed(&self, part: &Part) -> Result<()> {
        if self.changes && part.postfix.present() {
            part.postfix.check()
        } else {
            Ok(())
        }
    }
}

/// `apply` for every instance of a run at once: all groups are made and
/// validated, every instance's configuration is pre-checked and confirmed
/// by postconf, then all are written under one journal, checked and
/// reloaded; a failure anywhere restores every instance's files (and
/// reloads again the instances already reloaded). One result per part.
pub fn apply_all(parts: &[Part], env: &Env) -> Result<Vec<Applied>> {
    // Everything that can be refused is decided before the first write.
    let mut made: Vec<(PathBuf, ValidGroup, &'static str)> = Vec::new();
    let mut progress = Vec::new();
    for part in parts {
        let fresh = fresh_groups(part, env, &mut made)?;
        let owed = ReloadOwed::new(part.settings);
        let was_owed = owed.is_set();
        progress.push(Progress {
            fresh,
            changes: part.plan.changes_anything() || was_owed,
            owed,
            was_owed,
        });
    }

    failpoint::hit("generated");

    for (part, p) in parts.iter().zip(&progress) {
        // A configuration that fails before we touch it must not be blamed
        // on the edit (and would be "rolled back" to the same failure).
        if let Err(e) = env
            .phases
            .time(Phase::PreCheck, || p.check_if_changed(part))
        {
            return Err(Failure::Config(anyhow!(
                "`postfix check` already fails{}, before any change by dhrotate: {e:#}; \
                 fix that first (nothing was changed)",
                where_(parts, part)
            ))
            .into());
        }
        if p.was_owed {
            warn!(
                marker = %p.owed.path.display(),
                "an earlier run was interrupted before its reload; checking and reloading now"
            );
        }
    }
    // Before anything is marked or written: a refused edit leaves no trace.
    for part in parts.iter().filter(|p| !p.plan.edits.is_empty()) {
        env.phases.time(Phase::Confirm, || {
            confirm_with_postconf(part.plan, part.settings, part.postfix)
        })?;
    }
    // A run killed after writing and before reloading leaves Postfix on
    // the old configuration with the new one on disk; the marker makes the
    // next run check and reload even when it has nothing to change.
    for (part, p) in parts.iter().zip(&progress) {
        if part.plan.changes_anything() {
            p.owed.set()?;
        }
    }
    let settle = |err: anyhow::Error| -> anyhow::Error {
        for p in &progress {
            p.owed.settle(p.was_owed);
        }
        err
    };
    let mut journal = Journal::default();
    let mut result = Ok(());
    for (part, p) in parts.iter().zip(&progress) {
        result = env.phases.time(Phase::Write, || {
            write_all(part.plan, part.settings, &p.fresh, &mut journal)
        });
        if result.is_err() {
            break;
        }
    }
    failpoint::hit("written");
    if let Err(e) = result {
        return Err(settle(journal.roll_back(e, Step::Write)));
    }

    for (part, p) in parts.iter().zip(&progress) {
        if let Err(e) = env.phases.time(Phase::Check, || p.check_if_changed(part)) {
            let e = e.context(format!(
                "`postfix check` rejected the new configuration{}",
                where_(parts, part)
            ));
            return Err(settle(journal.roll_back(e, Step::Check)));
        }
    }
    failpoint::hit("checked");

    let mut reloads = Vec::new();
    let mut reloaded: Vec<&dyn Postfix> = Vec::new();
    for (part, p) in parts.iter().zip(&progress) {
        let reload = if !p.changes {
            Reload::NotNeeded
        } else if !part.settings.reload.enabled {
            Reload::Disabled
        } else if !part.instance.enabled {
            Reload::InstanceDisabled
        } else if !part.postfix.present() {
            Reload::Absent
        } else {
            match env.phases.time(Phase::Reload, || part.postfix.is_running()) {
                Ok(false) => Reload::NotRunning,
                Ok(true) => {
                    // Counted before it runs: a reload that failed half-way
                    // is reloaded again after the rollback, too.
                    reloaded.push(part.postfix);
                    match env.phases.time(Phase::Reload, || part.postfix.reload()) {
                        Ok(()) => Reload::Reloaded,
                        Err(e) => {
                            let e = e
                                .context(format!("`postfix reload` failed{}", where_(parts, part)));
                            return Err(settle(journal.roll_back(e, Step::Reload(reloaded))));
                        }
                    }
                }
                Err(e) => {
                    let e = e.context(format!(
                        "cannot tell whether Postfix is running{}",
                        where_(parts, part)
                    ));
                    return Err(settle(journal.roll_back(e, Step::Status(reloaded))));
                }
            }
        };
        reloads.push(reload);
    }
    failpoint::hit("reloaded");
    // With reload disabled the files stay newer than what Postfix runs:
    // still owed, and the next run with reloads on pays it.
    for (p, reload) in progress.iter().zip(&reloads) {
        if matches!(
            reload,
            Reload::Reloaded | Reload::NotRunning | Reload::InstanceDisabled | Reload::Absent
        ) {
            p.owed.clear()?;
        }
    }

    let written_at = env
        .now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut out = Vec::new();
    for ((part, p), reload) in parts.iter().zip(&progress).zip(reloads) {
        let verification = if reload == Reload::Reloaded
            && part.settings.reload.verify != crate::config::Verify::Off
            && !p.fresh.is_empty()
        {
            // Reloaded and valid: a failure to look is no reason to roll
            // back, but it is no success either.
            env.phases.time(Phase::Verification, || {
                verify_fresh(part.settings, &p.fresh, env.proofs)
            })
            .map_err(|e| {
                Failure::Unverified(e.context(format!(
                    "the new groups are installed and Postfix was reloaded{}, but the listeners could not be verified",
                    where_(parts, part)
                )))
            })?
        } else {
            Vec::new()
        };
        out.push(Applied {
            written: p
                .fresh
                .iter()
                .map(|f| GroupState {
                    name: f.spec.name.clone(),
                    file: f.spec.file.clone(),
                    bits: f.spec.bits,
                    source: f.origin.to_owned(),
                    fingerprint: f.group.verdict.proof.fingerprint.clone(),
                    written_at,
                    instance: (!part.instance.primary).then(|| part.instance.name.clone()),
                })
                .collect(),
            edited: part.plan.edits.iter().map(|e| e.path.clone()).collect(),
            removed: part
                .plan
                .old_files
                .iter()
                .filter(|f| f.remove)
                .map(|f| f.path.clone())
                .collect(),
            reload,
            verification,
        });
    }
    Ok(out)
}

/// " in instance NAME (DIR)" where a run has more than one instance.
fn where_(parts: &[Part], part: &Part) -> String {
    if parts.len() < 2 {
        return String::new();
    }
    format!(
        " in instance {} ({})",
        part.instance.name,
        part.instance.config_dir.display()
    )
}

/// The groups one part's plan installs, generated and validated; a file
/// another part already got a group for (`instance_files = "shared"`) is
/// written once, with that group.
fn fresh_groups<'a>(
    part: &Part<'a>,
    env: &Env,
    made: &mut Vec<(PathBuf, ValidGroup, &'static str)>,
) -> Result<Vec<Fresh<'a>>> {
    let plan: &'a Plan = part.plan;
    let named = plan
        .decision
        .as_ref()
        .is_some_and(|d| d.mode == super::Effective::Named);
    let named_source = dh::NamedSource {
        catalog: env.catalog,
    };
    let source: &dyn dh::GroupSource = if named { &named_source } else { env.source };
    let mut fresh = Vec::new();
    for g in &plan.groups {
        if let Some((_, valid, origin)) = made.iter().find(|(file, ..)| *file == g.file) {
            fresh.push(Fresh {
                spec: g,
                group: valid.clone(),
                origin,
                written_by_another: true,
            });
            continue;
        }
        if named {
            info!(group = %g.name, bits = g.bits, "taking the RFC 7919 group of this size");
        } else {
            info!(group = %g.name, bits = g.bits, "getting a fresh group (pool or search)");
        }
        let (dh, origin) = env.phases.time(Phase::Source, || source.fresh(g.bits))?;
        let policy = group_policy(g, part.settings, named);
        let what = format!("the new {}-bit group {:?}", g.bits, g.name);
        let valid = env.phases.time(Phase::Validation, || {
            dh::validate::accept(
                &dh,
                &what,
                &policy,
                env.catalog,
                dh::proofs::or_scratch(env.proofs),
            )
        })?;
        info!(group = %g.name, bits = g.bits, origin, fingerprint = %valid.verdict.proof.fingerprint, "validated");
        made.push((g.file.clone(), valid.clone(), origin));
        fresh.push(Fresh {
            spec: g,
            group: valid,
            origin,
            written_by_another: false,
        });
    }
    Ok(fresh)
}

/// Stages the old and the edited main.cf/master.cf in the state directory
/// and lets Postfix's own parser confirm that the edits change exactly what
/// they mean to (see `postfix::oracle`). Refused edits change nothing.
fn confirm_with_postconf(plan: &Plan, settings: &Settings, pf: &dyn Postfix) -> Result<()> {
    let stage = settings.state_dir.join("stage");
    if stage.exists() {
        std::fs::remove_dir_all(&stage)
            .with_context(|| format!("removing the old stage {}", stage.display()))?;
    }
    let result = judge_staged(plan, settings, pf, &stage);
    let _ = std::fs::remove_dir_all(&stage);
    result
}

/// Writes a staged copy dated a minute back. Postfix takes a
/// configuration file modified within the last second for one being
/// edited and waits a second for it to settle, at every read: each
/// `postconf` on a fresh copy cost a second, 3.7 s for a confirmation.
/// The copies are ours alone; their dates mean nothing.
fn write_settled(path: &Path, bytes: &[u8]) -> Result<()> {
    let ctx = || format!("writing {}", path.display());
    let file = std::fs::File::create(path).with_context(ctx)?;
    std::io::Write::write_all(&mut &file, bytes).with_context(ctx)?;
    file.set_modified(SystemTime::now() - std::time::Duration::from_secs(60))
        .with_context(ctx)
}

fn judge_staged(plan: &Plan, settings: &Settings, pf: &dyn Postfix, stage: &Path) -> Result<()> {
    use crate::postfix::oracle;
    let current = ConfigFiles::load(&settings.postfix_config_dir)?;
    let mut views = Vec::new();
    for (side, pick) in [("old", true), ("new", false)] {
        let dir = stage.join(side);
        std::fs::DirBuilder::new()
            .recursive(true)
            .create(&dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        for name in ["main.cf", "master.cf"] {
            let bytes = match plan
                .edits
                .iter()
                .find(|e| e.path.file_name() == Some(name.as_ref()))
            {
                Some(e) if pick => e.before.clone(),
                Some(e) => e.after.clone(),
                None => current.original(name).unwrap_or_default().to_vec(),
            };
            let to = dir.join(name);
            write_settled(&to, &bytes)?;
        }
        let run = |args: &[&str]| -> Result<(String, String)> {
            pf.postconf_in(&dir, args)?
                .ok_or_else(|| anyhow!("no postconf"))
        };
        // No postconf to ask (a test double, the demo without Postfix).
        if pf.postconf_in(&dir, &["-h", "mail_version"])?.is_none() {
            return Ok(());
        }
        let view = oracle::View::read(&dir, &run).map_err(|e| {
            if pick {
                e.context("postconf cannot read a copy of the current configuration")
            } else {
                Failure::Config(e.context(
                    "Postfix's parser rejects the edited configuration; nothing was changed: set it by hand",
                ))
                .into()
            }
        })?;
        views.push(view);
    }
    let line_of = |scope: &oracle::Scope, name: &str| match scope {
        oracle::Scope::Main => current.main.get(name).map(|p| p.line),
        oracle::Scope::Service(key) => current.master.service(key).map(|s| s.line),
    };
    let problems = oracle::judge(&views[0], &views[1], &plan.intents, &line_of);
    if problems.is_empty() {
        return Ok(());
    }
    Err(Failure::Config(anyhow!(
        "Postfix's own parser reads the edit differently from dhrotate, so nothing was changed; \
         set these by hand: {}",
        problems.join("; ")
    ))
    .into())
}

/// Probes the listeners that read the fresh groups (docs/DESIGN.md step 10).
fn verify_fresh(
    settings: &Settings,
    fresh: &[Fresh],
    proofs: Option<&crate::dh::Proofs>,
) -> Result<Vec<crate::ops::verify::Finding>> {
    let cf = ConfigFiles::load(&settings.postfix_config_dir)?;
    let endpoints = crate::ops::verify::endpoints(settings, &cf.main, &cf.master);
    let patience = std::time::Duration::from_secs(15);
    // With DHE excluded there is no group to see: the proof is a refusal.
    let findings = if crate::postfix::ciphers::main_excludes_dhe(&cf) {
        crate::ops::verify::check_dhe_off(endpoints, patience, proofs)
    } else {
        crate::ops::verify::check(
            endpoints,
            |group| {
                fresh
                    .iter()
                    .find(|f| f.spec.name == group)
                    .map(|f| f.group.verdict.proof.fingerprint.clone())
            },
            patience,
            proofs,
        )
    };
    for f in &findings {
        if f.ok() {
            info!(endpoint = %f.endpoint.addr, group = %f.endpoint.group, "verified");
        } else {
            warn!("{}", f.describe());
        }
    }
    Ok(findings)
}

/// The validation policy for a configured group; `named`: the group must
/// be RFC 7919's of its size.
pub fn group_policy(g: &GroupSpec, settings: &Settings, named: bool) -> Policy {
    let in_main = g.uses.contains(&Use::MainCf);
    Policy {
        named,
        expected_bits: Some(g.bits),
        min_bits: if in_main {
            settings.min_bits
        } else {
            g.bits.min(settings.min_bits)
        },
    }
}

/// `NAME.prev` beside a group file.
pub fn prev_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".prev");
    file.with_file_name(name)
}

fn write_all(
    plan: &Plan,
    settings: &Settings,
    fresh: &[Fresh],
    journal: &mut Journal,
) -> Result<()> {
    let backup_dir = settings.state_dir.join("backup");
    std::fs::create_dir_all(&backup_dir)
        .with_context(|| format!("creating {}", backup_dir.display()))?;
    for edit in &plan.edits {
        let name = edit.path.file_name().unwrap_or_default();
        // A copy for the administrator, in a 0700 directory: its owner is
        // whoever runs us (a chown to main.cf's owner fails without root).
        let mode = FileMode {
            owner: None,
            ..edit.mode
        };
        fsutil::write_atomic(&backup_dir.join(name), &edit.before, mode)?;
    }

    for Fresh {
        spec: g,
        group: valid,
        ..
    } in fresh.iter().filter(|f| !f.written_by_another)
    {
        let prev = prev_path(&g.file);
        journal.remember(&prev)?;
        journal.remember(&g.file)?;
        if let Some(Some((old, mode))) = journal.content_of(&g.file) {
            fsutil::write_atomic(&prev, &old, mode)?;
        }
        failpoint::hit(&format!("prev-written:{}", g.name));
        fsutil::write_atomic(&g.file, &valid.pem, FileMode::PUBLIC)?;
        failpoint::hit(&format!("group-written:{}", g.name));
        info!(group = %g.name, file = %g.file.display(), fingerprint = %valid.verdict.proof.fingerprint, "wrote group");
    }
    for edit in &plan.edits {
        journal.remember(&edit.path)?;
        // Someone may have edited the file since we planned; never overwrite that.
        if journal.content_of(&edit.path).flatten().map(|(b, _)| b) != Some(edit.before.clone()) {
            return Err(anyhow!(
                "{} changed while dhrotate was running; nothing was changed, run again",
                edit.path.display()
            ));
        }
        fsutil::write_atomic(&edit.path, &edit.after, edit.mode)?;
        info!(file = %edit.path.display(), "edited");
        failpoint::hit(&format!(
            "edited:{}",
            edit.path.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
    // Files go last: until the config stops naming them, Postfix may read them.
    for old in plan.old_files.iter().filter(|f| f.remove) {
        for path in [prev_path(&old.path), old.path.clone()] {
            journal.remember(&path)?;
            if path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
                fsutil::sync_parent(&path)?;
                info!(file = %path.display(), "removed unused group file");
            }
        }
    }
    Ok(())
}

/// `state_dir/reload-owed`: present while the files on disk may be newer
/// than what Postfix has loaded.
struct ReloadOwed {
    path: PathBuf,
}

/// Where the reload-owed marker lives, for `status`.
pub fn reload_owed_marker(state_dir: &Path) -> PathBuf {
    state_dir.join("reload-owed")
}

impl ReloadOwed {
    fn new(settings: &Settings) -> ReloadOwed {
        ReloadOwed {
            path: reload_owed_marker(&settings.state_dir),
        }
    }

    fn is_set(&self) -> bool {
        self.path.exists()
    }

    fn set(&self) -> Result<()> {
        fsutil::write_atomic(
            &self.path,
            b"dhrotate changed Postfix's files and has not reloaded yet; the next run reloads\n",
            FileMode::PUBLIC,
        )
    }

    fn clear(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => fsutil::sync_parent(&self.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("removing {}", self.path.display())),
        }
    }

    /// After a rollback: this run's changes are undone, so only a reload
    /// owed from before stays owed.
    fn settle(&self, was_owed: bool) {
        if was_owed {
            return;
        }
        if let Err(e) = self.clear() {
            warn!("{e:#}");
        }
    }
}

/// The step that failed, which decides the exit code and which instances
/// to reload again (those already reloaded, and the one that failed).
enum Step<'a> {
    Write,
    Check,
    /// `postfix status` could not say whether Postfix runs.
    Status(Vec<&'a dyn Postfix>),
    Reload(Vec<&'a dyn Postfix>),
}

/// Snapshots of every file touched, restored in reverse on failure.
#[derive(Default)]
struct Journal {
    snapshots: Vec<Snapshot>,
}

impl Journal {
    fn remember(&mut self, path: &Path) -> Result<()> {
        if self.snapshots.iter().all(|s| s.path != path) {
            self.snapshots.push(Snapshot::take(path)?);
        }
        Ok(())
    }

    fn content_of(&self, path: &Path) -> Option<Option<(Vec<u8>, FileMode)>> {
        self.snapshots
            .iter()
            .find(|s| s.path == path)
            .map(|s| s.content.clone())
    }

    /// Restores every snapshot; reloads again when the failed step was a
    /// reload, so running daemons see the old files. Returns the error to
    /// report, with any restore failure added to it.
    fn roll_back(self, cause: anyhow::Error, step: Step) -> anyhow::Error {
        let mut problems = Vec::new();
        for s in self.snapshots.iter().rev() {
            // Only files that really changed: a write that failed left its
            // target alone, and may fail again the same way.
            if Snapshot::take(&s.path).ok().as_ref() == Some(s) {
                continue;
            }
            if let Err(e) = s.restore() {
                problems.push(format!("{e:#}"));
            }
        }
        if let Step::Reload(again) | Step::Status(again) = &step {
            for pf in again {
                if let Err(e) = pf.reload() {
                    warn!(dir = %pf.config_dir().display(), error = %format!("{e:#}"), "reload after rollback failed");
                }
            }
        }
        if !problems.is_empty() {
            return anyhow!(
                "{cause:#}; ROLLBACK INCOMPLETE, restore by hand from the state directory's backup/: {}",
                problems.join("; ")
            );
        }
        warn!("rolled back every file to its previous bytes");
        let cause = cause.context("every file was restored to its previous bytes");
        match step {
            Step::Check => Failure::PostfixRejected(PostfixStep::Check, cause).into(),
            Step::Reload(_) => Failure::PostfixRejected(PostfixStep::Reload, cause).into(),
            Step::Write | Step::Status(_) => cause,
        }
    }
}
