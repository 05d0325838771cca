//! One configuration file as written: every field optional, unknown keys
//! rejected, values still raw. Spans are kept so that later validation can
//! name the line.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;
use toml::Spanned;

/// How the DH settings are managed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `auto` when Postfix >= 3.7 runs with OpenSSL >= 3, else what
    /// `[policy] prefer` says (`named` unless set to `unique`).
    Detect,
    /// Generate groups and point Postfix at the files.
    Explicit,
    /// Leave the choice to OpenSSL: reset the settings.
    Auto,
    /// Install the RFC 7919 group of the configured size (ffdhe2048 to
    /// ffdhe8192) and point Postfix at it.
    Named,
}

/// The top level of dhrotate.toml.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fragment {
    pub mode: Option<Spanned<Mode>>,
    pub postfix_config_dir: Option<Spanned<PathBuf>>,
    pub state_dir: Option<Spanned<PathBuf>>,
    pub min_bits: Option<Spanned<u32>>,
    pub max_age: Option<Spanned<String>>,
    #[serde(default)]
    pub group: Vec<GroupFragment>,
    pub reload: Option<ReloadFragment>,
    pub pool: Option<PoolFragment>,
    pub schedule: Option<ScheduleFragment>,
    pub curves: Option<CurvesFragment>,
    pub policy: Option<PolicyFragment>,
    pub metrics: Option<MetricsFragment>,
    pub postfix: Option<PostfixFragment>,
    pub lock_wait: Option<Spanned<String>>,
    pub auto_old_files: Option<Spanned<String>>,
    pub instances: Option<Spanned<InstancesValue>>,
    pub instance_files: Option<Spanned<String>>,
    #[serde(default)]
    pub hook: Vec<HookFragment>,
}

/// `instances`: a word or a list of names.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    untagged,
    expecting = "instances = \"primary\", \"all\" or a list of secondary instance names such as [\"postfix-out\"]"
)]
pub enum InstancesValue {
    /// `"primary"` or `"all"`.
    Word(String),
    /// Secondary instances by name.
    Names(Vec<String>),
}

/// One `[[hook]]` table; `name` identifies it across fragments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookFragment {
    pub name: Spanned<String>,
    pub command: Option<Spanned<Vec<String>>>,
    pub timeout: Option<Spanned<String>>,
    pub verify: Option<Spanned<String>>,
    pub group: Option<Spanned<String>>,
}

/// One `[[group]]` table; `name` identifies it across fragments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupFragment {
    pub name: Spanned<String>,
    pub bits: Option<Spanned<u32>>,
    pub file: Option<Spanned<PathBuf>>,
    #[serde(rename = "use")]
    pub uses: Option<Spanned<Vec<String>>>,
}

/// `[reload]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReloadFragment {
    pub enabled: Option<bool>,
    pub verify: Option<Spanned<String>>,
    pub endpoints: Option<Vec<String>>,
}

/// `[pool]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolFragment {
    pub size: Option<Spanned<u32>>,
}

/// `[schedule]`, used by the daemon.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFragment {
    pub cron: Option<Spanned<String>>,
    pub jitter: Option<Spanned<String>>,
    pub catch_up: Option<bool>,
    pub rotate_after: Option<Spanned<String>>,
}

/// `[curves]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurvesFragment {
    pub policy: Option<Spanned<String>>,
}

/// `[metrics]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsFragment {
    pub textfile: Option<Spanned<PathBuf>>,
}

/// `[policy]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFragment {
    pub prefer: Option<Spanned<String>>,
    pub guideline: Option<Spanned<String>>,
    pub enforce: Option<Spanned<bool>>,
    pub dhe: Option<Spanned<String>>,
}

/// `[postfix]`: where Postfix's tools are, for non-standard installs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostfixFragment {
    pub postconf: Option<Spanned<PathBuf>>,
    pub postfix: Option<Spanned<PathBuf>>,
    pub postmulti: Option<Spanned<PathBuf>>,
    pub timeout: Option<Spanned<String>>,
}

/// A fragment with the file it came from, for error messages.
#[derive(Debug)]
pub struct Loaded {
    /// The file.
    pub path: PathBuf,
    /// Its text, to turn spans into line numbers.
    pub text: String,
    /// What it says.
    pub fragment: Fragment,
}

impl Loaded {
    /// 1-based line of a byte offset in this file.
    pub fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    /// "FILE line N" for a spanned value.
    pub fn at<T>(&self, s: &Spanned<T>) -> String {
        format!(
            "{} line {}",
            self.path.display(),
            self.line_of(s.span().start)
        )
    }
}

/// Reads and parses one file; refuses one that others may write, since
/// it tells a root process what to do.
pub fn load(path: &Path) -> Result<Loaded> {
    let bytes = crate::sys::fsutil::read_regular(path)?;
    crate::sys::fsutil::check_trusted(path).context("configuration")?;
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{}: not valid UTF-8 ({e})", path.display()))?;
    let fragment: Fragment = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim_end()))?;
    Ok(Loaded {
        path: path.to_path_buf(),
        text,
        fragment,
    })
}
