//! Postfix's own parser as the judge of an edit: the old and the edited
//! main.cf/master.cf are staged in the state directory and read by
//! `postconf` before anything is installed (`postfix::oracle`).

use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result, anyhow};

use super::plan::Plan;
use crate::config::Settings;
use crate::error::Failure;
use crate::postfix::{ConfigFiles, Postfix};

/// Stages the old and the edited main.cf/master.cf in the state directory
/// and lets Postfix's own parser confirm that the edits change exactly what
/// they mean to (see `postfix::oracle`). Refused edits change nothing.
pub(super) fn confirm_with_postconf(
    plan: &Plan,
    settings: &Settings,
    pf: &dyn Postfix,
) -> Result<()> {
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
