//! Configuration: fragments (`dhrotate.toml`, then `conf.d/*.toml` in name
//! order; `fragment`) are merged key by key (`merge`), then each section
//! validates itself (`settings`, `groups`, `hooks`), command-line overrides applied
//! last, into one `Settings` with no optional parts.

mod fragment;
mod groups;
mod hooks;
mod merge;
mod settings;

pub use fragment::Mode;
pub use groups::{GroupSpec, Use};
pub use hooks::{HookSpec, HookTls, HookVerify};
pub use settings::{
    InstanceFiles, Instances, Overrides, PolicySettings, PostfixTools, Prefer, ReloadSettings,
    ScheduleSettings, Settings, Verify,
};

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Default location of the main configuration file.
pub const DEFAULT_CONFIG: &str = "/etc/dhrotate/dhrotate.toml";

/// Loads `config` (which may be missing when it is the default path) and
/// the `conf.d/*.toml` beside it, then validates.
pub fn load(config: &Path, explicit: bool, overrides: &Overrides) -> Result<Settings> {
    let mut files = Vec::new();
    if config.exists() || explicit {
        files.push(config.to_path_buf());
    }
    let dropins = config
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("conf.d");
    files.extend(dropin_files(&dropins)?);
    let loaded = files
        .iter()
        .map(|f| fragment::load(f))
        .collect::<Result<Vec<_>>>()?;
    merge_and_validate(&loaded, overrides)
}

/// Merges the fragments in order, then validates section by section.
fn merge_and_validate(files: &[fragment::Loaded], overrides: &Overrides) -> Result<Settings> {
    Settings::validate(merge::merge(files), overrides)
}

fn dropin_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    // Whoever can add a file here configures a root process.
    crate::sys::fsutil::check_trusted(dir).context("configuration directory")?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
