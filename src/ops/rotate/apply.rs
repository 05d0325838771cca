//! Carrying out a plan, for every instance of the run: the groups first
//! (`groups.rs`), Postfix's parser confirming the edits (`stage.rs`), then
//! the writes under one journal (`journal.rs`), `postfix check`, reload
//! (owed until done: `owed.rs`), the listeners verified, and byte-identical
//! rollback if anything after the first write fails.

use std::path::PathBuf;
use std::time::UNIX_EPOCH;

use anyhow::{Result, anyhow};
use tracing::{info, warn};

use super::env::{Env, Part};
use super::groups::{Fresh, fresh_groups};
use super::journal::{Journal, Step, write_all};
use super::owed::ReloadOwed;
use super::phases::Phase;
use super::stage::confirm_with_postconf;
use crate::config::Settings;
use crate::dh::ValidGroup;
use crate::error::Failure;
use crate::postfix::{ConfigFiles, Postfix};
use crate::sys::failpoint;
use crate::sys::state::GroupState;

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
    pub verification: Vec<crate::ops::inspect::verify::ListenerCheck>,
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
    let progress = make_groups(parts, env)?;
    failpoint::hit("generated");
    pre_check(parts, &progress, env)?;
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
    let mut journal = Journal::default();
    let written = write_parts(parts, &progress, env, &mut journal);
    failpoint::hit("written");
    let reloads = written.and_then(|()| {
        check_parts(parts, &progress, env)?;
        failpoint::hit("checked");
        reload_parts(parts, &progress, env)
    });
    let reloads = match reloads {
        Ok(reloads) => reloads,
        Err((e, step)) => {
            let e = journal.roll_back(e, step);
            for p in &progress {
                p.owed.settle(p.was_owed);
            }
            return Err(e);
        }
    };
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
    parts
        .iter()
        .zip(&progress)
        .zip(reloads)
        .map(|((part, p), reload)| {
            let verification = verify_part(parts, part, p, reload, env)?;
            Ok(applied(part, p, reload, verification, env))
        })
        .collect()
}

/// A failed step after the first write: the error and what to roll back.
type Failed<'a> = (anyhow::Error, Step<'a>);

/// Each part's groups, made and validated, and whether it owes a reload.
fn make_groups<'a>(parts: &[Part<'a>], env: &Env) -> Result<Vec<Progress<'a>>> {
    let mut made: Vec<(PathBuf, ValidGroup, &'static str)> = Vec::new();
    parts
        .iter()
        .map(|part| {
            let fresh = fresh_groups(part, env, &mut made)?;
            let owed = ReloadOwed::new(part.settings);
            let was_owed = owed.is_set();
            Ok(Progress {
                fresh,
                changes: part.plan.changes_anything() || was_owed,
                owed,
                was_owed,
            })
        })
        .collect()
}

/// A configuration that fails before we touch it must not be blamed on the
/// edit (and would be "rolled back" to the same failure).
fn pre_check(parts: &[Part], progress: &[Progress], env: &Env) -> Result<()> {
    for (part, p) in parts.iter().zip(progress) {
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
    Ok(())
}

fn write_parts<'a>(
    parts: &[Part],
    progress: &[Progress],
    env: &Env,
    journal: &mut Journal,
) -> std::result::Result<(), Failed<'a>> {
    for (part, p) in parts.iter().zip(progress) {
        env.phases
            .time(Phase::Write, || {
                write_all(part.plan, part.settings, &p.fresh, journal)
            })
            .map_err(|e| (e, Step::Write))?;
    }
    Ok(())
}

fn check_parts<'a>(
    parts: &[Part],
    progress: &[Progress],
    env: &Env,
) -> std::result::Result<(), Failed<'a>> {
    for (part, p) in parts.iter().zip(progress) {
        if let Err(e) = env.phases.time(Phase::Check, || p.check_if_changed(part)) {
            let e = e.context(format!(
                "`postfix check` rejected the new configuration{}",
                where_(parts, part)
            ));
            return Err((e, Step::Check));
        }
    }
    Ok(())
}

/// Reloads every part that changed and runs, in order; on a failure, the
/// step names the instances to reload again after the rollback.
fn reload_parts<'a>(
    parts: &[Part<'a>],
    progress: &[Progress],
    env: &Env,
) -> std::result::Result<Vec<Reload>, Failed<'a>> {
    let mut reloads = Vec::new();
    let mut reloaded: Vec<&'a dyn Postfix> = Vec::new();
    for (part, p) in parts.iter().zip(progress) {
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
                    if let Err(e) = env.phases.time(Phase::Reload, || part.postfix.reload()) {
                        let e =
                            e.context(format!("`postfix reload` failed{}", where_(parts, part)));
                        return Err((e, Step::Reload(reloaded)));
                    }
                    Reload::Reloaded
                }
                Err(e) => {
                    let e = e.context(format!(
                        "cannot tell whether Postfix is running{}",
                        where_(parts, part)
                    ));
                    return Err((e, Step::Status(reloaded)));
                }
            }
        };
        reloads.push(reload);
    }
    Ok(reloads)
}

/// The listeners of a reloaded part with fresh groups, unless verification
/// is off. Reloaded and valid: a failure to look is no reason to roll
/// back, but it is no success either.
fn verify_part(
    parts: &[Part],
    part: &Part,
    p: &Progress,
    reload: Reload,
    env: &Env,
) -> Result<Vec<crate::ops::inspect::verify::ListenerCheck>> {
    if reload != Reload::Reloaded
        || part.settings.reload.verify == crate::config::Verify::Off
        || p.fresh.is_empty()
    {
        return Ok(Vec::new());
    }
    env.phases
        .time(Phase::Verification, || {
            verify_fresh(part.settings, &p.fresh, env.proofs)
        })
        .map_err(|e| {
            Failure::Unverified(e.context(format!(
                "the new groups are installed and Postfix was reloaded{}, but the listeners could not be verified",
                where_(parts, part)
            )))
            .into()
        })
}

/// What one part's run did, for the record and the report.
fn applied(
    part: &Part,
    p: &Progress,
    reload: Reload,
    verification: Vec<crate::ops::inspect::verify::ListenerCheck>,
    env: &Env,
) -> Applied {
    let written_at = env
        .now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Applied {
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
    }
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

/// Probes the listeners that read the fresh groups (docs/DESIGN.md step 10).
fn verify_fresh(
    settings: &Settings,
    fresh: &[Fresh],
    proofs: Option<&crate::dh::Proofs>,
) -> Result<Vec<crate::ops::inspect::verify::ListenerCheck>> {
    let cf = ConfigFiles::load(&settings.postfix_config_dir)?;
    let endpoints = crate::ops::inspect::verify::endpoints(settings, &cf.main, &cf.master);
    let patience = std::time::Duration::from_secs(15);
    // With DHE excluded there is no group to see: the proof is a refusal.
    let findings = if crate::postfix::ciphers::main_excludes_dhe(&cf) {
        crate::ops::inspect::verify::check_dhe_off(endpoints, patience, proofs)
    } else {
        crate::ops::inspect::verify::check(
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
