//! Carrying out a plan: generate and validate first, then write with a
//! journal of snapshots, `postfix check`, reload, and byte-identical
//! rollback if anything after the first write fails.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};
use tracing::{info, warn};

use super::plan::Plan;
use crate::config::{GroupSpec, Settings, Use};
use crate::dh::{self, Catalog, GroupSource, Policy, ValidGroup};
use crate::error::{Failure, PostfixStep};
use crate::postfix::{ConfigFiles, Postfix};
use crate::sys::failpoint;
use crate::sys::fsutil::{self, FileMode, Snapshot};
use crate::sys::state::GroupState;

/// A group generated and validated for one configured group.
struct Fresh<'a> {
    spec: &'a GroupSpec,
    group: ValidGroup,
    origin: &'static str,
}

/// The outside world a rotation talks to.
pub struct Env<'a> {
    /// Postfix's commands.
    pub postfix: &'a dyn Postfix,
    /// Fresh groups.
    pub source: &'a dyn GroupSource,
    /// Known shared primes.
    pub catalog: &'a Catalog,
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

/// Generates, validates, writes, checks and reloads; rolls back on failure.
pub fn apply(plan: &Plan, settings: &Settings, env: &Env) -> Result<Applied> {
    // Everything that can be refused is decided before the first write.
    let mut fresh: Vec<Fresh> = Vec::new();
    let named = plan
        .decision
        .as_ref()
        .is_some_and(|d| d.mode == super::Effective::Named);
    let named_source = dh::NamedSource {
        catalog: env.catalog,
    };
    let source: &dyn dh::GroupSource = if named { &named_source } else { env.source };
    for g in &plan.groups {
        if named {
            info!(group = %g.name, bits = g.bits, "taking the RFC 7919 group of this size");
        } else {
            info!(group = %g.name, bits = g.bits, "getting a fresh group (pool or search)");
        }
        let (dh, origin) = source.fresh(g.bits)?;
        let policy = group_policy(g, settings, named);
        let what = format!("the new {}-bit group {:?}", g.bits, g.name);
        let valid = dh::validate::accept(&dh, &what, &policy, env.catalog)?;
        info!(group = %g.name, bits = g.bits, origin, fingerprint = %valid.verdict.fingerprint, "validated");
        fresh.push(Fresh {
            spec: g,
            group: valid,
            origin,
        });
    }

    failpoint::hit("generated");

    // A run killed after writing and before reloading leaves Postfix on
    // the old configuration with the new one on disk; the marker makes the
    // next run check and reload even when it has nothing to change.
    let owed = ReloadOwed::new(settings);
    let was_owed = owed.is_set();
    let changes = plan.changes_anything() || was_owed;
    // A configuration that fails before we touch it must not be blamed on
    // the edit (and would be "rolled back" to the same failure).
    if changes && let Err(e) = env.postfix.check() {
        return Err(Failure::Config(anyhow!(
            "`postfix check` already fails, before any change by dhrotate: {e:#}; \
             fix that first (nothing was changed)"
        ))
        .into());
    }
    if was_owed {
        warn!(
            marker = %owed.path.display(),
            "an earlier run was interrupted before its reload; checking and reloading now"
        );
    }
    // Before anything is marked or written: a refused edit leaves no trace.
    if !plan.edits.is_empty() {
        confirm_with_postconf(plan, settings, env.postfix)?;
    }
    if plan.changes_anything() {
        owed.set()?;
    }
    let mut journal = Journal::default();
    let result = write_all(plan, settings, &fresh, &mut journal);
    failpoint::hit("written");
    if let Err(e) = result {
        return Err(owed.settle(was_owed, journal.roll_back(e, Step::Write)));
    }

    if changes && let Err(e) = env.postfix.check() {
        let e = e.context("`postfix check` rejected the new configuration");
        return Err(owed.settle(was_owed, journal.roll_back(e, Step::Check)));
    }
    failpoint::hit("checked");

    let running = if changes && settings.reload.enabled {
        match env.postfix.is_running() {
            Ok(r) => r,
            Err(e) => {
                let e = e.context("cannot tell whether Postfix is running");
                return Err(owed.settle(was_owed, journal.roll_back(e, Step::Status)));
            }
        }
    } else {
        false
    };
    let reload = if !changes {
        Reload::NotNeeded
    } else if !settings.reload.enabled {
        Reload::Disabled
    } else if !running {
        Reload::NotRunning
    } else {
        match env.postfix.reload() {
            Ok(()) => Reload::Reloaded,
            Err(e) => {
                let e = e.context("`postfix reload` failed");
                return Err(owed.settle(was_owed, journal.roll_back(e, Step::Reload(env.postfix))));
            }
        }
    };
    failpoint::hit("reloaded");
    // With reload disabled the files stay newer than what Postfix runs:
    // still owed, and the next run with reloads on pays it.
    if matches!(reload, Reload::Reloaded | Reload::NotRunning) {
        owed.clear()?;
    }

    let verification = if reload == Reload::Reloaded
        && settings.reload.verify != crate::config::Verify::Off
        && !fresh.is_empty()
    {
        // Reloaded and valid: a failure to look is no reason to roll back,
        // but it is no success either.
        verify_fresh(settings, &fresh).map_err(|e| {
            Failure::Unverified(e.context(
                "the new groups are installed and Postfix was reloaded, but the listeners could not be verified",
            ))
        })?
    } else {
        Vec::new()
    };

    let written_at = env
        .now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let written = fresh
        .iter()
        .map(|f| GroupState {
            name: f.spec.name.clone(),
            file: f.spec.file.clone(),
            bits: f.spec.bits,
            source: f.origin.to_owned(),
            fingerprint: f.group.verdict.fingerprint.clone(),
            written_at,
        })
        .collect();
    Ok(Applied {
        written,
        edited: plan.edits.iter().map(|e| e.path.clone()).collect(),
        removed: plan
            .old_files
            .iter()
            .filter(|f| f.remove)
            .map(|f| f.path.clone())
            .collect(),
        reload,
        verification,
    })
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
            std::fs::write(&to, bytes).with_context(|| format!("writing {}", to.display()))?;
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
fn verify_fresh(settings: &Settings, fresh: &[Fresh]) -> Result<Vec<crate::ops::verify::Finding>> {
    let cf = ConfigFiles::load(&settings.postfix_config_dir)?;
    let findings = crate::ops::verify::check(
        crate::ops::verify::endpoints(settings, &cf.main, &cf.master),
        |group| {
            fresh
                .iter()
                .find(|f| f.spec.name == group)
                .map(|f| f.group.verdict.fingerprint.clone())
        },
        std::time::Duration::from_secs(15),
    );
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
    } in fresh
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
        info!(group = %g.name, file = %g.file.display(), fingerprint = %valid.verdict.fingerprint, "wrote group");
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
    fn settle(&self, was_owed: bool, err: anyhow::Error) -> anyhow::Error {
        if !was_owed && let Err(e) = self.clear() {
            warn!("{e:#}");
        }
        err
    }
}

/// The step that failed, which decides the exit code and whether to reload again.
enum Step<'a> {
    Write,
    Check,
    /// `postfix status` could not say whether Postfix runs.
    Status,
    Reload(&'a dyn Postfix),
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
        if let Step::Reload(pf) = step
            && let Err(e) = pf.reload()
        {
            warn!(error = %format!("{e:#}"), "reload after rollback failed");
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
            Step::Write | Step::Status => cause,
        }
    }
}
