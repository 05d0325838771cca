//! The state file: what the last rotation did, for `status` and monitoring.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::sys::fsutil::{self, FileMode};

/// One group as last written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GroupState {
    /// Config name of the group.
    pub name: String,
    /// File written.
    pub file: PathBuf,
    /// Prime size.
    pub bits: u32,
    /// SHA-256 of p.
    pub fingerprint: String,
    /// When it was written (Unix seconds).
    pub written_at: u64,
    /// Where the group came from: `pool`, `search` or `openssl`.
    #[serde(default)]
    pub source: String,
    /// The secondary Postfix instance (`multi_instance_name`) this record
    /// is for; absent for the primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// The whole state file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct State {
    /// When the last run finished (Unix seconds), whatever its outcome.
    pub last_run: u64,
    /// When the last run that succeeded finished (0: none yet). Catch-up
    /// goes by this: a failed run is retried, not counted as done.
    #[serde(default)]
    pub last_success: u64,
    /// How the last run ended.
    pub outcome: LastOutcome,
    /// Mode in effect for that run.
    pub mode: String,
    /// How long the last run took, in milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
    /// Groups written by the last successful rotation.
    pub groups: Vec<GroupState>,
    /// How each `[[hook]]` ended the last time hooks ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookState>,
}

/// How the last run ended. Written as one string (`ok`, `failed: WHY`,
/// `written, but verification failed: WHAT`, `written, but WHAT` for hooks)
/// so that every version of dhrotate reads every other's state file; a
/// string no version writes reads as a failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum LastOutcome {
    /// Everything done, verified, every hook ok.
    Ok,
    /// The run failed, with its error: rolled back, refused before any
    /// write, or (files kept) installed and reloaded but not probed.
    Failed(String),
    /// Installed and reloaded, but a listener did not serve its group.
    Unverified(String),
    /// Installed, reloaded and served, but a `[[hook]]` failed.
    HookFailed(String),
}

const FAILED: &str = "failed: ";
const UNVERIFIED: &str = "written, but verification failed: ";
const WRITTEN_BUT: &str = "written, but ";

impl LastOutcome {
    /// The run did all it set out to do (`dhrotate_last_run_success`).
    pub fn succeeded(&self) -> bool {
        *self == LastOutcome::Ok
    }
}

impl Default for LastOutcome {
    fn default() -> Self {
        LastOutcome::Failed("no run recorded".into())
    }
}

impl std::fmt::Display for LastOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LastOutcome::Ok => f.write_str("ok"),
            LastOutcome::Failed(why) => write!(f, "{FAILED}{why}"),
            LastOutcome::Unverified(what) => write!(f, "{UNVERIFIED}{what}"),
            LastOutcome::HookFailed(what) => write!(f, "{WRITTEN_BUT}{what}"),
        }
    }
}

impl From<LastOutcome> for String {
    fn from(o: LastOutcome) -> String {
        o.to_string()
    }
}

impl From<String> for LastOutcome {
    fn from(s: String) -> LastOutcome {
        if s == "ok" {
            LastOutcome::Ok
        } else if let Some(why) = s.strip_prefix(FAILED) {
            LastOutcome::Failed(why.to_owned())
        } else if let Some(what) = s.strip_prefix(UNVERIFIED) {
            LastOutcome::Unverified(what.to_owned())
        } else if let Some(what) = s.strip_prefix(WRITTEN_BUT) {
            LastOutcome::HookFailed(what.to_owned())
        } else {
            LastOutcome::Failed(s)
        }
    }
}

/// One hook's last run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HookState {
    /// Its name.
    pub name: String,
    /// It exited 0 and its endpoint (if any) served the group.
    pub ok: bool,
    /// What happened, in words.
    pub detail: String,
    /// When (Unix seconds).
    pub at: u64,
}

/// Path of the state file in `state_dir`.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join("state.json")
}

/// `state_dir/reload-owed`: present while the files on disk may be newer
/// than what Postfix has loaded (a run stopped between its edits and its
/// reload leaves it; the next run reloads; `status` reports it).
pub fn reload_owed_path(state_dir: &Path) -> PathBuf {
    state_dir.join("reload-owed")
}

/// Reads the state, `None` when there is none yet.
pub fn read(state_dir: &Path) -> Result<Option<State>> {
    let p = path(state_dir);
    if !p.exists() {
        return Ok(None);
    }
    let bytes = fsutil::read_regular(&p)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .with_context(|| format!("parsing {}; delete it to start afresh", p.display()))
}

/// Writes the state atomically.
pub fn write(state_dir: &Path, state: &State) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(state).context("encoding state")?;
    bytes.push(b'\n');
    fsutil::write_atomic(&path(state_dir), &bytes, FileMode::PUBLIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_back_as_written_and_as_older_versions_wrote_them() {
        for o in [
            LastOutcome::Ok,
            LastOutcome::Failed("postfix check failed: x".into()),
            LastOutcome::Unverified("127.0.0.1:25 serves ffdhe2048".into()),
            LastOutcome::HookFailed("hook \"dovecot\" failed".into()),
        ] {
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(
                serde_json::from_str::<LastOutcome>(&json).unwrap(),
                o,
                "{json}"
            );
        }
        // The strings 0.1.0 and 0.2.0 wrote, byte for byte.
        let old = |s: &str| LastOutcome::from(s.to_owned());
        assert!(old("ok").succeeded());
        assert_eq!(old("failed: locked"), LastOutcome::Failed("locked".into()));
        assert_eq!(
            old("written, but verification failed: a; b"),
            LastOutcome::Unverified("a; b".into())
        );
        assert_eq!(
            old("written, but hook x failed"),
            LastOutcome::HookFailed("hook x failed".into())
        );
        // Anything else is not a success: the metric must not say 1.
        for s in ["", "rolled-back", "OK"] {
            assert!(!old(s).succeeded(), "{s:?}");
        }
    }
}
