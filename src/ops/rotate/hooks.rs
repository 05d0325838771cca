//! `[[hook]]`s: after a rotation that installed a group file, each hook runs in
//! order (`sys::child`: no shell, its own process group, a timeout, the
//! fixed environment below, whatever it leaves in its group killed), its
//! output goes to the log, and where it names an endpoint the same probe
//! as Postfix's listeners checks that the consumer now serves the group.
//! A hook never rolls Postfix back: a hook that fails, times out, leaves
//! processes behind or whose endpoint does not serve the group is
//! reported in the run's outcome, the state file and the metrics, and the
//! run exits 13 (docs/GUIDE.md "Hooks").
//!
//! The environment, and nothing else but PATH and LC_ALL:
//! `DHROTATE_CHANGED_FILES` (group and config files written or removed,
//! one absolute path per line), `DHROTATE_GROUPS` (names of the groups
//! written, space-separated), `DHROTATE_MODE` (explicit, named or auto),
//! `DHROTATE_OUTCOME` (`changed`, or `unverified` when a Postfix listener
//! did not serve its new group), `DHROTATE_INSTANCES` (the config
//! directories of the Postfix instances the run changed, space-separated).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;
use tracing::{info, warn};

use crate::config::{HookSpec, HookTls};
use crate::probe::{self, Wrap};
use crate::sys::child;

/// What a run hands its hooks.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Files written, edited or removed.
    pub changed_files: Vec<PathBuf>,
    /// Groups written (config names).
    pub groups: Vec<String>,
    /// The mode in effect.
    pub mode: String,
    /// `changed` or `unverified`.
    pub outcome: String,
    /// Config directories of the instances that changed.
    pub instances: Vec<PathBuf>,
}

/// How one hook ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookOutcome {
    /// Exited 0 and, where it names an endpoint, the endpoint serves the group.
    Ok,
    /// Exited non-zero or was killed by a signal.
    Failed,
    /// Still running at its timeout; its process group was killed.
    TimedOut,
    /// Could not be started.
    NotStarted,
    /// Exited 0, but its endpoint does not serve the group (or could not
    /// be probed).
    Unverified,
    /// Exited, but left processes running in its process group, which
    /// were killed: whatever they were doing for the consumer did not
    /// finish (a hook must wait for what it starts; a daemon detaches).
    LeftProcesses,
}

/// One hook's run.
#[derive(Debug, Clone, Serialize)]
pub struct HookRun {
    /// Its name.
    pub name: String,
    /// The command as run.
    pub command: String,
    /// How it ended.
    pub outcome: HookOutcome,
    /// The reason, for anything but `ok`; what the endpoint served for `ok`.
    pub detail: String,
    /// It exited and left processes in its group, which were killed.
    pub left_processes: bool,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
}

impl HookRun {
    /// One line for messages: name, outcome, detail.
    pub fn describe(&self) -> String {
        format!(
            "hook {:?} {}: {}",
            self.name,
            match self.outcome {
                HookOutcome::Ok => "ok",
                HookOutcome::Failed => "failed",
                HookOutcome::TimedOut => "timed out",
                HookOutcome::NotStarted => "could not start",
                HookOutcome::Unverified => "ran, but its endpoint does not serve the new group",
                HookOutcome::LeftProcesses => "left processes behind",
            },
            self.detail
        )
    }
}

/// Runs every hook in order; `expected` gives the sha256(p) a hook's
/// endpoint must serve for a group (`None`: nothing to compare, as in
/// auto mode), and `patience` how long each endpoint gets to serve it.
pub fn run_all(
    hooks: &[HookSpec],
    ctx: &Context,
    expected: &dyn Fn(&str) -> Option<String>,
    patience: Duration,
) -> Vec<HookRun> {
    hooks
        .iter()
        .map(|h| {
            let run = run_one(h, ctx, expected, patience);
            if run.outcome == HookOutcome::Ok {
                info!(hook = %run.name, duration_ms = run.duration_ms, outcome = "ok", "{}", run.describe());
            } else {
                warn!(hook = %run.name, duration_ms = run.duration_ms, outcome = ?run.outcome, "{}", run.describe());
            }
            run
        })
        .collect()
}

fn run_one(
    h: &HookSpec,
    ctx: &Context,
    expected: &dyn Fn(&str) -> Option<String>,
    patience: Duration,
) -> HookRun {
    let command = std::iter::once(h.program.display().to_string())
        .chain(h.args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut run = HookRun {
        name: h.name.clone(),
        command,
        outcome: HookOutcome::Ok,
        detail: String::new(),
        left_processes: false,
        duration_ms: 0,
    };
    let started = Instant::now();
    let ended = match spawn(h, ctx) {
        Ok(e) => e,
        Err(e) => {
            run.outcome = HookOutcome::NotStarted;
            run.detail = format!("{e:#}");
            return run;
        }
    };
    run.duration_ms = started.elapsed().as_millis() as u64;
    run.left_processes = ended.left_behind;
    log_output(h, &ended);
    (run.outcome, run.detail) = match exit_problem(h, &ended) {
        Some(problem) => problem,
        None => verify(h, expected, patience),
    };
    run
}

/// Runs the hook to its end (or its timeout) in its own process group,
/// with the run described in its environment.
fn spawn(h: &HookSpec, ctx: &Context) -> Result<child::Ended> {
    let lines = |v: &[PathBuf], sep: &str| {
        v.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(sep)
    };
    let args: Vec<&str> = h.args.iter().map(String::as_str).collect();
    child::Spec::new(&h.program, &args, h.timeout)
        .env("DHROTATE_CHANGED_FILES", &lines(&ctx.changed_files, "\n"))
        .env("DHROTATE_GROUPS", &ctx.groups.join(" "))
        .env("DHROTATE_MODE", &ctx.mode)
        .env("DHROTATE_OUTCOME", &ctx.outcome)
        .env("DHROTATE_INSTANCES", &lines(&ctx.instances, " "))
        .reap_group()
        .run()
}

/// The hook's output, a log line each, so the journal has it.
fn log_output(h: &HookSpec, ended: &child::Ended) {
    for (stream, text) in [("stdout", &ended.stdout), ("stderr", &ended.stderr)] {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            info!(hook = %h.name, stream, "{line}");
        }
    }
}

/// What is wrong with how the hook ended, if anything: a timeout, an
/// exit other than 0, processes left in its group.
fn exit_problem(h: &HookSpec, ended: &child::Ended) -> Option<(HookOutcome, String)> {
    let tail = last_line(&ended.stderr).or_else(|| last_line(&ended.stdout));
    match ended.status {
        None => Some((
            HookOutcome::TimedOut,
            format!(
                "still running after {}; it and every process of its group were killed",
                humantime::format_duration(h.timeout)
            ),
        )),
        Some(st) if !st.success() => Some((
            HookOutcome::Failed,
            match tail {
                Some(t) => format!("{st}: {t}"),
                None => st.to_string(),
            },
        )),
        Some(_) if ended.left_behind => Some((
            HookOutcome::LeftProcesses,
            "exited 0, but processes it started were still running in its process group; \
             they were killed (a hook must wait for what it starts; a daemon it starts must detach)"
                .into(),
        )),
        Some(_) => None,
    }
}

/// A hook that exited 0: its `verify` endpoint, if any, must serve the
/// group's new prime within `patience`.
fn verify(
    h: &HookSpec,
    expected: &dyn Fn(&str) -> Option<String>,
    patience: Duration,
) -> (HookOutcome, String) {
    let Some(v) = &h.verify else {
        return (HookOutcome::Ok, "exited 0".into());
    };
    let Some(want) = expected(&v.group) else {
        let detail = format!(
            "exited 0; {} not probed: group {:?} has no file to compare with (auto mode)",
            v.addr, v.group
        );
        return (HookOutcome::Ok, detail);
    };
    let wrap = match v.tls {
        HookTls::Tls => Wrap::Implicit,
        HookTls::Smtp => Wrap::StartTls,
    };
    match probe::retry(&v.addr, wrap, patience, None, |s| s.fingerprint == want) {
        Ok(s) if s.fingerprint == want => (
            HookOutcome::Ok,
            format!(
                "exited 0; {} serves group {:?} (sha256(p) {})",
                v.addr, v.group, s.fingerprint
            ),
        ),
        Ok(s) => (
            HookOutcome::Unverified,
            format!(
                "{} serves {} ({} bits, sha256(p) {}) instead of group {:?} (sha256(p) {want}): \
                 the service did not load the new file; check that the hook reloads it and that it reads this file",
                v.addr,
                s.known.as_deref().unwrap_or("another group"),
                s.bits,
                s.fingerprint,
                v.group
            ),
        ),
        Err(e) => (
            HookOutcome::Unverified,
            format!("{} could not be probed: {e}", v.addr),
        ),
    }
}

fn last_line(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
}
