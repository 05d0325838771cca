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
    let lines = |v: &[PathBuf], sep: &str| {
        v.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(sep)
    };
    let args: Vec<&str> = h.args.iter().map(String::as_str).collect();
    let changed = lines(&ctx.changed_files, "\n");
    let instances = lines(&ctx.instances, " ");
    let groups = ctx.groups.join(" ");
    let started = Instant::now();
    let ended = child::Spec::new(&h.program, &args, h.timeout)
        .env("DHROTATE_CHANGED_FILES", &changed)
        .env("DHROTATE_GROUPS", &groups)
        .env("DHROTATE_MODE", &ctx.mode)
        .env("DHROTATE_OUTCOME", &ctx.outcome)
        .env("DHROTATE_INSTANCES", &instances)
        .reap_group()
        .run();
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
    let ended = match ended {
        Ok(e) => e,
        Err(e) => {
            run.outcome = HookOutcome::NotStarted;
            run.detail = format!("{e:#}");
            return run;
        }
    };
    run.duration_ms = started.elapsed().as_millis() as u64;
    run.left_processes = ended.left_behind;
    for (stream, text) in [("stdout", &ended.stdout), ("stderr", &ended.stderr)] {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            info!(hook = %h.name, stream, "{line}");
        }
    }
    let tail = last_line(&ended.stderr).or_else(|| last_line(&ended.stdout));
    match ended.status {
        None => {
            run.outcome = HookOutcome::TimedOut;
            run.detail = format!(
                "still running after {}; it and every process of its group were killed",
                humantime::format_duration(h.timeout)
            );
            return run;
        }
        Some(st) if !st.success() => {
            run.outcome = HookOutcome::Failed;
            run.detail = match tail {
                Some(t) => format!("{st}: {t}"),
                None => st.to_string(),
            };
            return run;
        }
        Some(_) => {}
    }
    if run.left_processes {
        run.outcome = HookOutcome::LeftProcesses;
        run.detail = "exited 0, but processes it started were still running in its process group; \
                      they were killed (a hook must wait for what it starts; a daemon it starts must detach)"
            .into();
        return run;
    }
    let Some(v) = &h.verify else {
        run.detail = "exited 0".into();
        return run;
    };
    let Some(want) = expected(&v.group) else {
        run.detail = format!(
            "exited 0; {} not probed: group {:?} has no file to compare with (auto mode)",
            v.addr, v.group
        );
        return run;
    };
    let wrap = match v.tls {
        HookTls::Tls => Wrap::Implicit,
        HookTls::Smtp => Wrap::StartTls,
    };
    match probe::retry(&v.addr, wrap, patience, None, |s| s.fingerprint == want) {
        Ok(s) if s.fingerprint == want => {
            run.detail = format!(
                "exited 0; {} serves group {:?} (sha256(p) {})",
                v.addr, v.group, s.fingerprint
            );
        }
        Ok(s) => {
            run.outcome = HookOutcome::Unverified;
            run.detail = format!(
                "{} serves {} ({} bits, sha256(p) {}) instead of group {:?} (sha256(p) {want}): \
                 the service did not load the new file; check that the hook reloads it and that it reads this file",
                v.addr,
                s.known.as_deref().unwrap_or("another group"),
                s.bits,
                s.fingerprint,
                v.group
            );
        }
        Err(e) => {
            run.outcome = HookOutcome::Unverified;
            run.detail = format!("{} could not be probed: {e}", v.addr);
        }
    }
    run
}

fn last_line(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
}
