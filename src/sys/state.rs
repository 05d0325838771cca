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
    /// `ok`, `rolled-back`, `failed`.
    pub outcome: String,
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
