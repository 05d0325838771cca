//! `now --json`: what one run did, as a versioned document (docs/json.md),
//! for configuration management and monitoring. Built after the run from
//! what it got as far as (`Seen`) and from the files as they are now, so a
//! rolled-back run reports its groups and settings unchanged.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::{Effective, RunReport, Seen};
use crate::config::Settings;
use crate::error::{Failure, PostfixStep};
use crate::postfix::oracle::Scope;

/// The document's version; fields are only added within one.
pub const SCHEMA: u32 = 1;

/// What the run amounted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    /// A group file or a setting is different now.
    Changed,
    /// Nothing is (a dry run is always `unchanged`).
    Unchanged,
    /// The run failed (exit code not 0).
    Failed,
}

/// The whole document.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// `SCHEMA`.
    pub schema: u32,
    /// changed, unchanged or failed.
    pub outcome: RunOutcome,
    /// The process's exit code (docs/GUIDE.md "Exit codes").
    pub exit_code: u8,
    /// Wall-clock time of the run.
    pub duration_seconds: f64,
    /// Where that time went, phase by phase, in the order they ran.
    pub phases: Vec<super::phases::PhaseTime>,
    /// `--dry-run`: nothing was changed.
    pub dry_run: bool,
    /// Mode in effect, once decided.
    pub mode: Option<Effective>,
    /// Postfix's version, once asked.
    pub postfix: Option<String>,
    /// The OpenSSL Postfix runs with, when known.
    pub openssl: Option<String>,
    /// Every configured group: its file before and after the run.
    pub groups: Vec<GroupChange>,
    /// Groups `--if-due` left alone.
    pub not_due: Vec<NotDueGroup>,
    /// Every setting the run meant to change, and whether it now holds.
    pub edits: Vec<Edit>,
    /// `postfix check` after the edits: passed, failed or not-run.
    pub check: &'static str,
    /// reloaded, not-running, disabled, not-needed, failed or not-run.
    pub reload: &'static str,
    /// What each listener served after the reload.
    pub verification: Vec<Verification>,
    /// Warnings of the plan.
    pub warnings: Vec<String>,
    /// The secondary Postfix instances of the run (`instances`), each with
    /// what was written and reloaded there; empty with one instance.
    pub instances: Vec<InstanceSummary>,
    /// Every `[[hook]]` that ran, and how it ended.
    pub hooks: Vec<crate::ops::rotate::hooks::HookRun>,
    /// Why the run failed.
    pub error: Option<ErrorInfo>,
}

/// One secondary instance in `now --json`.
#[derive(Debug, Serialize)]
pub struct InstanceSummary {
    /// `multi_instance_name`.
    pub name: String,
    /// Its config_directory.
    pub config_dir: PathBuf,
    /// `multi_instance_enable`.
    pub enabled: bool,
    /// Groups it was pointed at that the run installed (a shared file
    /// appears under each instance that reads it).
    pub written: Vec<crate::sys::state::GroupState>,
    /// Its configuration files the run edited.
    pub edited: Vec<PathBuf>,
    /// reloaded, not-running, disabled, not-needed, instance-disabled, or
    /// not-run (the run failed).
    pub reload: &'static str,
    /// What its listeners served after the reload.
    pub verification: Vec<Verification>,
}

/// One configured group.
#[derive(Debug, Serialize)]
pub struct GroupChange {
    /// Config name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// Configured size.
    pub bits: u32,
    /// sha256(p) of the file before the run (`null`: none or unreadable).
    pub fingerprint_before: Option<String>,
    /// sha256(p) of the file after the run.
    pub fingerprint_after: Option<String>,
    /// Where a new group came from: pool, search, rfc7919, openssl.
    pub source: Option<String>,
    /// `fingerprint_before != fingerprint_after`.
    pub changed: bool,
}

/// A group left alone by `--if-due`.
#[derive(Debug, Serialize)]
pub struct NotDueGroup {
    /// Config name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// Age of the file.
    pub age_seconds: u64,
}

/// One setting the run meant to change.
#[derive(Debug, Serialize)]
pub struct Edit {
    /// main.cf or master.cf.
    pub file: PathBuf,
    /// The parameter.
    pub parameter: String,
    /// `service/type` of a master.cf override; `null` for main.cf.
    pub service: Option<String>,
    /// Value before (`null`: not set).
    pub old: Option<String>,
    /// Value meant (`null`: removed).
    pub new: Option<String>,
    /// Whether the file holds `new` now (false after a rollback or a dry run).
    pub kept: bool,
}

/// One listener checked after the reload.
#[derive(Debug, Serialize)]
pub struct Verification {
    /// `host:port`.
    pub addr: String,
    /// Config name of the group it should serve.
    pub group: String,
    /// sha256(p) it should serve.
    pub expected: String,
    /// sha256(p) it served, `null` when it could not be probed.
    pub served: Option<String>,
    /// It served `expected`.
    pub ok: bool,
}

/// Why a run failed.
#[derive(Debug, Serialize)]
pub struct ErrorInfo {
    /// config, validation, check, reload, verify, locked or other.
    pub class: &'static str,
    /// The message, as `dhrotate` prints it.
    pub message: String,
}

/// The failure class of `e`, for `error.class`.
pub fn class(e: &anyhow::Error) -> &'static str {
    if let Some(f) = e.downcast_ref::<Failure>() {
        return match f {
            Failure::Config(_) => "config",
            Failure::PostfixRejected(PostfixStep::Check, _) => "check",
            Failure::PostfixRejected(PostfixStep::Reload, _) => "reload",
            Failure::Unverified(_) => "verify",
            Failure::HookFailed(_) => "hook",
            Failure::Locked(_) => "locked",
            Failure::Degraded(_) => "other",
        };
    }
    if e.downcast_ref::<crate::dh::Refused>().is_some() {
        return "validation";
    }
    "other"
}

pub(crate) fn fingerprint_of(path: &Path) -> Option<String> {
    let bytes = crate::sys::fsutil::read_regular(path).ok()?;
    let dh = crate::dh::pem::parse(&bytes).ok()?;
    Some(crate::dh::validate::fingerprint(dh.prime_p()))
}

/// sha256(p) of every configured group's file, as it is now.
pub fn fingerprints(settings: &Settings) -> Vec<Option<String>> {
    settings
        .groups
        .iter()
        .map(|g| fingerprint_of(&g.file))
        .collect()
}

/// Builds the document: `before` is `fingerprints` taken before the run,
/// `code` the exit code the process ends with.
pub fn build(
    settings: &Settings,
    result: &anyhow::Result<RunReport>,
    seen: &Seen,
    before: &[Option<String>],
    duration: Duration,
    code: u8,
) -> Summary {
    let dry_run = matches!(result, Ok(RunReport { applied: None, .. }));
    let plan = seen.plan.as_ref();
    let applied = seen.applied.as_ref();
    let groups = group_changes(settings, applied, before);
    let edits = edits(settings, plan, dry_run);
    let error = result.as_ref().err().map(|e| ErrorInfo {
        class: class(e),
        message: format!("{e:#}"),
    });
    let (check, reload) = check_and_reload(applied, error.as_ref());
    let changed = groups.iter().any(|g| g.changed) || edits.iter().any(|e| e.kept);
    Summary {
        schema: SCHEMA,
        outcome: if error.is_some() {
            RunOutcome::Failed
        } else if changed {
            RunOutcome::Changed
        } else {
            RunOutcome::Unchanged
        },
        exit_code: code,
        duration_seconds: duration.as_secs_f64(),
        phases: seen.phases.times(),
        dry_run,
        mode: plan.and_then(|p| p.decision.as_ref()).map(|d| d.mode),
        postfix: plan.map(|p| p.versions.postfix.to_string()),
        openssl: plan.and_then(|p| p.versions.openssl.map(|o| o.to_string())),
        not_due: not_due(plan),
        groups,
        edits,
        check,
        reload,
        verification: verifications(applied),
        warnings: plan.map(|p| p.warnings.clone()).unwrap_or_default(),
        instances: seen.others.iter().map(instance_summary).collect(),
        hooks: seen.hooks.clone(),
        error,
    }
}

/// Each configured group, its file's fingerprint before and after.
fn group_changes(
    settings: &Settings,
    applied: Option<&super::Applied>,
    before: &[Option<String>],
) -> Vec<GroupChange> {
    settings
        .groups
        .iter()
        .zip(before)
        .map(|(g, before)| {
            let after = fingerprint_of(&g.file);
            GroupChange {
                name: g.name.clone(),
                file: g.file.clone(),
                bits: g.bits,
                source: applied
                    .and_then(|a| a.written.iter().find(|w| w.name == g.name))
                    .map(|w| w.source.clone()),
                changed: *before != after,
                fingerprint_before: before.clone(),
                fingerprint_after: after,
            }
        })
        .collect()
}

/// The planned edits, each `kept` when main.cf or master.cf holds its new
/// value now (never in a dry run).
fn edits(settings: &Settings, plan: Option<&super::plan::Plan>, dry_run: bool) -> Vec<Edit> {
    let now_files = crate::postfix::ConfigFiles::load(&settings.postfix_config_dir).ok();
    plan.map(|p| p.changes.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let (file, service) = match &c.scope {
                Scope::Main => ("main.cf", None),
                Scope::Service(key) => ("master.cf", Some(key.clone())),
            };
            let kept = now_files
                .as_ref()
                .is_some_and(|f| f.value(&c.scope, &c.name) == c.new.as_deref());
            Edit {
                file: settings.postfix_config_dir.join(file),
                parameter: c.name.clone(),
                service,
                old: c.old.clone(),
                new: c.new.clone(),
                kept: kept && !dry_run,
            }
        })
        .collect()
}

/// What became of `postfix check` and the reload, from how far the run
/// got (or the class of its failure).
fn check_and_reload(
    applied: Option<&super::Applied>,
    error: Option<&ErrorInfo>,
) -> (&'static str, &'static str) {
    match (applied, error.map(|e| e.class)) {
        (Some(a), _) if a.reload == super::apply::Reload::Absent => ("not-run", "not-run"),
        (Some(a), _) => ("passed", reload_word(a.reload)),
        (None, Some("check")) => ("failed", "not-run"),
        (None, Some("reload")) => ("passed", "failed"),
        _ => ("not-run", "not-run"),
    }
}

fn not_due(plan: Option<&super::plan::Plan>) -> Vec<NotDueGroup> {
    plan.map(|p| p.not_due.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|n| NotDueGroup {
            name: n.name.clone(),
            file: n.file.clone(),
            age_seconds: n.age.as_secs(),
        })
        .collect()
}

fn instance_summary(o: &super::InstanceRun) -> InstanceSummary {
    let applied = o.applied.as_ref();
    InstanceSummary {
        name: o.instance.name.clone(),
        config_dir: o.instance.config_dir.clone(),
        enabled: o.instance.enabled,
        written: applied.map(|a| a.written.clone()).unwrap_or_default(),
        edited: applied.map(|a| a.edited.clone()).unwrap_or_default(),
        reload: applied.map_or("not-run", |a| reload_word(a.reload)),
        verification: verifications(applied),
    }
}

fn verifications(applied: Option<&super::Applied>) -> Vec<Verification> {
    applied
        .map(|a| a.verification.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|f| Verification {
            addr: f.endpoint.addr.clone(),
            group: f.endpoint.group.clone(),
            expected: f.expected.clone(),
            served: f.served.as_ref().ok().map(|s| s.fingerprint.clone()),
            ok: f.ok(),
        })
        .collect()
}

/// The document for a run that failed before it could start (a
/// configuration that does not load): no plan, every list empty.
pub fn early_failure(e: &anyhow::Error, code: u8) -> Summary {
    Summary {
        schema: SCHEMA,
        outcome: RunOutcome::Failed,
        exit_code: code,
        duration_seconds: 0.0,
        phases: Vec::new(),
        dry_run: false,
        mode: None,
        postfix: None,
        openssl: None,
        groups: Vec::new(),
        not_due: Vec::new(),
        edits: Vec::new(),
        check: "not-run",
        reload: "not-run",
        verification: Vec::new(),
        warnings: Vec::new(),
        instances: Vec::new(),
        hooks: Vec::new(),
        error: Some(ErrorInfo {
            class: class(e),
            message: format!("{e:#}"),
        }),
    }
}

fn reload_word(r: super::apply::Reload) -> &'static str {
    use super::apply::Reload;
    match r {
        Reload::Reloaded => "reloaded",
        Reload::NotRunning => "not-running",
        Reload::Disabled => "disabled",
        Reload::NotNeeded => "not-needed",
        Reload::InstanceDisabled => "instance-disabled",
        Reload::Absent => "not-run",
    }
}
