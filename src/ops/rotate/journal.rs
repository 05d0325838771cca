//! Writing a run's files with a journal: every file is snapshotted before
//! its first change, and on failure all are restored in reverse, byte for
//! byte, with Postfix reloaded again when a reload was what failed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use tracing::{info, warn};

use super::groups::Fresh;
use super::plan::Plan;
use crate::config::Settings;
use crate::error::{Failure, PostfixStep};
use crate::postfix::Postfix;
use crate::sys::failpoint;
use crate::sys::fsutil::{self, FileMode, Snapshot};

/// `NAME.prev` beside a group file.
pub fn prev_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".prev");
    file.with_file_name(name)
}

pub(super) fn write_all(
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

/// The step that failed, which decides the exit code and which instances
/// to reload again (those already reloaded, and the one that failed).
pub(super) enum Step<'a> {
    Write,
    Check,
    /// `postfix status` could not say whether Postfix runs.
    Status(Vec<&'a dyn Postfix>),
    Reload(Vec<&'a dyn Postfix>),
}

/// Snapshots of every file touched, restored in reverse on failure.
#[derive(Default)]
pub(super) struct Journal {
    snapshots: Vec<Snapshot>,
}

impl Journal {
    pub(super) fn remember(&mut self, path: &Path) -> Result<()> {
        if self.snapshots.iter().all(|s| s.path != path) {
            self.snapshots.push(Snapshot::take(path)?);
        }
        Ok(())
    }

    pub(super) fn content_of(&self, path: &Path) -> Option<Option<(Vec<u8>, FileMode)>> {
        self.snapshots
            .iter()
            .find(|s| s.path == path)
            .map(|s| s.content.clone())
    }

    /// Restores every snapshot; reloads again when the failed step was a
    /// reload, so running daemons see the old files. Returns the error to
    /// report, with any restore failure added to it.
    pub(super) fn roll_back(self, cause: anyhow::Error, step: Step) -> anyhow::Error {
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
