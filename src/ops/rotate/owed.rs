//! The reload-owed marker (`sys::state::reload_owed_path`): a run killed
//! between its edits and `postfix reload` leaves it, and the next run
//! checks and reloads even with nothing to change; `status` reports it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use tracing::warn;

use crate::config::Settings;
use crate::sys::fsutil::{self, FileMode};
use crate::sys::state;

/// `state_dir/reload-owed`: present while the files on disk may be newer
/// than what Postfix has loaded.
pub(super) struct ReloadOwed {
    pub(super) path: PathBuf,
}

impl ReloadOwed {
    pub(super) fn new(settings: &Settings) -> ReloadOwed {
        ReloadOwed {
            path: state::reload_owed_path(&settings.state_dir),
        }
    }

    pub(super) fn is_set(&self) -> bool {
        self.path.exists()
    }

    pub(super) fn set(&self) -> Result<()> {
        fsutil::write_atomic(
            &self.path,
            b"dhrotate changed Postfix's files and has not reloaded yet; the next run reloads\n",
            FileMode::PUBLIC,
        )
    }

    pub(super) fn clear(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => fsutil::sync_parent(&self.path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("removing {}", self.path.display())),
        }
    }

    /// After a rollback: this run's changes are undone, so only a reload
    /// owed from before stays owed.
    pub(super) fn settle(&self, was_owed: bool) {
        if was_owed {
            return;
        }
        if let Err(e) = self.clear() {
            warn!("{e:#}");
        }
    }
}
