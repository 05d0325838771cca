//! Merging fragments and validating them into `Settings`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, anyhow, bail};

use super::fragment::{Loaded, Mode};

/// Command-line flags that override the files.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--postfix-dir`.
    pub postfix_config_dir: Option<PathBuf>,
    /// `--state-dir`.
    pub state_dir: Option<PathBuf>,
    /// `--mode`.
    pub mode: Option<Mode>,
    /// `--no-reload`.
    pub no_reload: bool,
}

/// Where a group's file is named.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Use {
    /// main.cf.
    MainCf,
    /// A master.cf `-o` override of `service/type`.
    Service(String),
}

impl Use {
    /// The same place, as the Postfix layer names it.
    pub fn scope(&self) -> crate::postfix::oracle::Scope {
        match self {
            Use::MainCf => crate::postfix::oracle::Scope::Main,
            Use::Service(key) => crate::postfix::oracle::Scope::Service(key.clone()),
        }
    }
}

impl std::fmt::Display for Use {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Use::MainCf => f.write_str("main.cf"),
            Use::Service(s) => write!(f, "master.cf {s}"),
        }
    }
}

/// One DH group dhrotate keeps fresh.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupSpec {
    /// Name from the config (`main`, `submission`).
    pub name: String,
    /// Prime size.
    pub bits: u32,
    /// Absolute path of the PEM file.
    pub file: PathBuf,
    /// Where Postfix is pointed at it.
    pub uses: Vec<Use>,
}

impl GroupSpec {
    /// The Postfix parameter this group's file goes into.
    pub fn parameter(&self) -> &'static str {
        if self.bits == 512 {
            crate::postfix::DH512
        } else {
            crate::postfix::DH1024
        }
    }
}

/// What to do when the server does not serve the new group after reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verify {
    /// Fail the run.
    Error,
    /// Log a warning.
    Warn,
    /// Do not probe.
    Off,
}

/// `[reload]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReloadSettings {
    /// Reload Postfix after a change.
    pub enabled: bool,
    /// Post-reload verification.
    pub verify: Verify,
    /// Endpoints to probe (`host:port`); empty means local listeners.
    pub endpoints: Vec<String>,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Settings {
    /// detect | explicit | auto.
    pub mode: Mode,
    /// Postfix's config_directory.
    pub postfix_config_dir: PathBuf,
    /// Where the lock, state and backups live.
    pub state_dir: PathBuf,
    /// Smallest group allowed in main.cf.
    pub min_bits: u32,
    /// Age after which `status` calls a file stale.
    #[serde(with = "humantime_serde_secs")]
    pub max_age: Duration,
    /// Groups to maintain.
    pub groups: Vec<GroupSpec>,
    /// Reload behaviour.
    pub reload: ReloadSettings,
    /// Groups kept ready per size.
    pub pool_size: u32,
    /// Daemon schedule (6-field cron: sec min hour dom month dow).
    pub schedule_cron: String,
    /// Random delay added to each scheduled run.
    #[serde(with = "humantime_serde_secs")]
    pub schedule_jitter: Duration,
    /// Run once at daemon start when a run was missed.
    pub schedule_catch_up: bool,
    /// Curve policy name or list.
    pub curves_policy: String,
    /// `postconf` binary.
    pub postconf: PathBuf,
    /// `postfix` binary.
    pub postfix: PathBuf,
    /// Limit for any one Postfix command.
    #[serde(with = "humantime_serde_secs")]
    pub command_timeout: Duration,
    /// How long `now` waits for another run's lock before exiting 5.
    #[serde(with = "humantime_serde_secs")]
    pub lock_wait: Duration,
    /// In auto mode, remove the group files that are no longer used
    /// (`auto_old_files = "remove"`) instead of keeping them.
    pub auto_old_files_remove: bool,
}

mod humantime_serde_secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

/// A value and where it was set, for messages.
struct Origin<T> {
    value: T,
    at: String,
}

fn pick<T: Clone>(slot: &mut Option<Origin<T>>, value: Option<&toml::Spanned<T>>, file: &Loaded) {
    if let Some(v) = value {
        *slot = Some(Origin {
            value: v.get_ref().clone(),
            at: file.at(v),
        });
    }
}

#[derive(Default)]
struct GroupDraft {
    name: String,
    at: String,
    bits: Option<Origin<u32>>,
    file: Option<Origin<PathBuf>>,
    uses: Option<Origin<Vec<String>>>,
}

const SERVICE_TYPES: [&str; 5] = ["inet", "unix", "unix-dgram", "fifo", "pass"];

/// Merges `files` in order, applies `ov`, and checks every rule.
pub fn merge_and_validate(files: &[Loaded], ov: &Overrides) -> Result<Settings> {
    let mut mode = None;
    let mut postfix_dir = None;
    let mut state_dir = None;
    let mut min_bits = None;
    let mut max_age = None;
    let mut lock_wait = None;
    let mut auto_old_files = None;
    let mut groups: Vec<GroupDraft> = Vec::new();
    let mut reload_enabled = true;
    let mut verify = None;
    let mut endpoints = Vec::new();
    let mut pool_size = None;
    let mut cron = None;
    let mut jitter = None;
    let mut catch_up = true;
    let mut curves = None;
    let mut postconf = None;
    let mut postfix = None;
    let mut timeout = None;

    for f in files {
        let fr = &f.fragment;
        pick(&mut mode, fr.mode.as_ref(), f);
        pick(&mut postfix_dir, fr.postfix_config_dir.as_ref(), f);
        pick(&mut state_dir, fr.state_dir.as_ref(), f);
        pick(&mut min_bits, fr.min_bits.as_ref(), f);
        pick(&mut max_age, fr.max_age.as_ref(), f);
        pick(&mut lock_wait, fr.lock_wait.as_ref(), f);
        pick(&mut auto_old_files, fr.auto_old_files.as_ref(), f);
        for g in &fr.group {
            let name = g.name.get_ref().clone();
            let idx = match groups.iter().position(|d| d.name == name) {
                Some(i) => i,
                None => {
                    groups.push(GroupDraft {
                        name,
                        at: f.at(&g.name),
                        ..Default::default()
                    });
                    groups.len() - 1
                }
            };
            let d = &mut groups[idx];
            pick(&mut d.bits, g.bits.as_ref(), f);
            pick(&mut d.file, g.file.as_ref(), f);
            pick(&mut d.uses, g.uses.as_ref(), f);
        }
        if let Some(r) = &fr.reload {
            reload_enabled = r.enabled.unwrap_or(reload_enabled);
            pick(&mut verify, r.verify.as_ref(), f);
            if let Some(e) = &r.endpoints {
                endpoints = e.clone();
            }
        }
        if let Some(p) = &fr.pool {
            pick(&mut pool_size, p.size.as_ref(), f);
        }
        if let Some(s) = &fr.schedule {
            pick(&mut cron, s.cron.as_ref(), f);
            pick(&mut jitter, s.jitter.as_ref(), f);
            catch_up = s.catch_up.unwrap_or(catch_up);
        }
        if let Some(c) = &fr.curves {
            pick(&mut curves, c.policy.as_ref(), f);
        }
        if let Some(p) = &fr.postfix {
            pick(&mut postconf, p.postconf.as_ref(), f);
            pick(&mut postfix, p.postfix.as_ref(), f);
            pick(&mut timeout, p.timeout.as_ref(), f);
        }
    }

    let min_bits = match min_bits {
        Some(Origin { value, at }) if !(1024..=8192).contains(&value) => {
            bail!(
                "{at}: min_bits = {value} is out of range; use a value from 1024 to 8192 (2048 recommended)"
            )
        }
        Some(o) => o.value,
        None => 2048,
    };
    let postfix_config_dir = ov
        .postfix_config_dir
        .clone()
        .or(postfix_dir.map(|o| o.value))
        .unwrap_or_else(|| PathBuf::from("/etc/postfix"));
    let state_dir = ov
        .state_dir
        .clone()
        .or(state_dir.map(|o| o.value))
        .unwrap_or_else(|| PathBuf::from("/var/lib/dhrotate"));
    for (what, p) in [
        ("postfix_config_dir", &postfix_config_dir),
        ("state_dir", &state_dir),
    ] {
        if !p.is_absolute() {
            bail!("{what} = {} must be an absolute path", p.display());
        }
    }

    if groups.is_empty() {
        groups.push(GroupDraft {
            name: "main".into(),
            at: "built-in default".into(),
            ..Default::default()
        });
    }
    let mut specs: Vec<GroupSpec> = Vec::new();
    for d in groups {
        specs.push(validate_group(d, min_bits, &postfix_config_dir)?);
    }
    check_no_overlap(&specs)?;

    let verify = match verify {
        None => Verify::Error,
        Some(o) => match o.value.as_str() {
            "error" => Verify::Error,
            "warn" => Verify::Warn,
            "off" => Verify::Off,
            other => bail!(
                "{}: reload.verify = {other:?}; expected \"error\", \"warn\" or \"off\"",
                o.at
            ),
        },
    };
    let pool_size = match pool_size {
        Some(o) if o.value > 100 => bail!(
            "{}: pool.size = {} is too large; at most 100",
            o.at,
            o.value
        ),
        Some(o) => o.value,
        None => 2,
    };
    let schedule_cron = match cron {
        Some(o) => {
            crate::sys::schedule::parse(&o.value)
                .map_err(|e| anyhow!("{}: schedule.cron = {e:#}", o.at))?;
            o.value
        }
        None => crate::sys::schedule::DEFAULT_CRON.into(),
    };

    Ok(Settings {
        mode: ov.mode.or(mode.map(|o| o.value)).unwrap_or(Mode::Detect),
        postfix_config_dir,
        state_dir,
        min_bits,
        max_age: duration(max_age, "max_age", "7d")?,
        groups: specs,
        reload: ReloadSettings {
            enabled: reload_enabled && !ov.no_reload,
            verify,
            endpoints,
        },
        pool_size,
        schedule_cron,
        schedule_jitter: duration(jitter, "schedule.jitter", "1h")?,
        schedule_catch_up: catch_up,
        curves_policy: curves.map_or_else(|| "keep".into(), |o| o.value),
        postconf: tool_path(postconf, "/usr/sbin/postconf")?,
        postfix: tool_path(postfix, "/usr/sbin/postfix")?,
        command_timeout: duration(timeout, "postfix.timeout", "60s")?,
        lock_wait: duration(lock_wait, "lock_wait", "10s")?,
        auto_old_files_remove: match auto_old_files {
            None => false,
            Some(o) => match o.value.as_str() {
                "keep" => false,
                "remove" => true,
                other => bail!(
                    "{}: auto_old_files = {other:?}; expected \"keep\" or \"remove\"",
                    o.at
                ),
            },
        },
    })
}

/// The range each duration must fall in: below it a setting makes no
/// sense (a 0 s command timeout kills every command), above it the
/// arithmetic on instants could overflow and nobody means it.
fn duration_range(key: &str) -> (Duration, Duration) {
    const DAY: u64 = 86400;
    let (lo, hi) = match key {
        "max_age" => (3600, 3650 * DAY),
        "schedule.jitter" => (0, 7 * DAY),
        "postfix.timeout" => (1, 3600),
        "lock_wait" => (0, DAY),
        _ => (0, 3650 * DAY),
    };
    (Duration::from_secs(lo), Duration::from_secs(hi))
}

fn duration(v: Option<Origin<String>>, key: &str, default: &str) -> Result<Duration> {
    let Some(o) = v else {
        return Ok(humantime::parse_duration(default).expect("valid default"));
    };
    let d = humantime::parse_duration(&o.value).map_err(|e| {
        anyhow::anyhow!(
            "{}: {key} = {:?} is not a duration ({e}); write e.g. \"7d\", \"12h\", \"90s\"",
            o.at,
            o.value
        )
    })?;
    let (lo, hi) = duration_range(key);
    if d < lo || d > hi {
        bail!(
            "{}: {key} = {:?} is out of range; it must be between {} and {}",
            o.at,
            o.value,
            humantime::format_duration(lo),
            humantime::format_duration(hi)
        );
    }
    Ok(d)
}

fn tool_path(v: Option<Origin<PathBuf>>, default: &str) -> Result<PathBuf> {
    match v {
        None => {
            let path = PathBuf::from(default);
            crate::sys::fsutil::check_trusted_program(&path)?;
            Ok(path)
        }
        Some(o) if o.value.is_absolute() => {
            crate::sys::fsutil::check_trusted_program(&o.value)
                .map_err(|e| anyhow::anyhow!("{}: {e:#}", o.at))?;
            Ok(o.value)
        }
        Some(o) => bail!(
            "{}: {} must be an absolute path (no PATH lookup as root)",
            o.at,
            o.value.display()
        ),
    }
}

fn validate_group(d: GroupDraft, min_bits: u32, postfix_dir: &Path) -> Result<GroupSpec> {
    let name = d.name;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!(
            "{}: group name {name:?} must be letters, digits, '-' or '_'",
            d.at
        );
    }
    let uses_raw = d
        .uses
        .as_ref()
        .map_or_else(|| vec!["main.cf".to_owned()], |o| o.value.clone());
    let uses_at = d
        .uses
        .as_ref()
        .map_or_else(|| d.at.clone(), |o| o.at.clone());
    if uses_raw.is_empty() {
        bail!(
            "{uses_at}: group {name:?} has an empty `use`; name \"main.cf\" and/or services like \"submission/inet\""
        );
    }
    let mut uses = Vec::new();
    for u in &uses_raw {
        let parsed = if u == "main.cf" {
            Use::MainCf
        } else {
            match u.rsplit_once('/') {
                Some((svc, ty))
                    if !svc.is_empty()
                        && SERVICE_TYPES.contains(&ty)
                        && !svc.contains(char::is_whitespace) =>
                {
                    Use::Service(u.clone())
                }
                _ => bail!(
                    "{uses_at}: group {name:?}: use = {u:?} is neither \"main.cf\" nor a master.cf service as `postconf -P` names it (service/type, e.g. \"submission/inet\")"
                ),
            }
        };
        if uses.contains(&parsed) {
            bail!("{uses_at}: group {name:?} lists {u:?} twice");
        }
        uses.push(parsed);
    }
    let default_bits = if min_bits > 2048 { min_bits } else { 2048 };
    let (bits, bits_at) = d
        .bits
        .map_or((default_bits, d.at.clone()), |o| (o.value, o.at));
    if !(512..=8192).contains(&bits) || bits % 64 != 0 {
        bail!(
            "{bits_at}: group {name:?}: bits = {bits} is not allowed; use 2048 (recommended), 3072 or 4096 (1024 or 512 only for legacy clients, at most 8192, a multiple of 64)"
        );
    }
    if uses.contains(&Use::MainCf) && bits < min_bits {
        bail!(
            "{bits_at}: group {name:?} is used in main.cf but bits = {bits} is below min_bits = {min_bits}; smaller groups are allowed only for master.cf overrides"
        );
    }
    let file = d
        .file
        .map_or_else(|| PathBuf::from(format!("dh{bits}.pem")), |o| o.value);
    let text = file.to_string_lossy();
    if text.is_empty()
        || text.contains(|c: char| c.is_whitespace() || c.is_control() || "${},=\"'#".contains(c))
    {
        bail!(
            "{}: group {name:?}: file = {text:?} must be a plain path without spaces or any of $ {{ }} , = \" ' #",
            d.at
        );
    }
    let file = if file.is_absolute() {
        file
    } else {
        postfix_dir.join(file)
    };
    Ok(GroupSpec {
        name,
        bits,
        file,
        uses,
    })
}

fn check_no_overlap(specs: &[GroupSpec]) -> Result<()> {
    for (i, a) in specs.iter().enumerate() {
        for b in &specs[i + 1..] {
            if a.file == b.file {
                bail!(
                    "groups {:?} and {:?} both write {}; give each its own file",
                    a.name,
                    b.name,
                    a.file.display()
                );
            }
            if a.parameter() == b.parameter()
                && let Some(u) = a.uses.iter().find(|u| b.uses.contains(u))
            {
                bail!(
                    "groups {:?} and {:?} both set {} in {u}; each place can use one group",
                    a.name,
                    b.name,
                    a.parameter()
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fragment::{Fragment, Loaded};
    use super::*;

    fn loaded(text: &str) -> Loaded {
        Loaded {
            path: PathBuf::from("/etc/dhrotate/dhrotate.toml"),
            text: text.into(),
            fragment: toml::from_str::<Fragment>(text).unwrap(),
        }
    }

    #[test]
    fn empty_config_means_one_2048_bit_group_for_main_cf() {
        let s = merge_and_validate(&[loaded("")], &Overrides::default()).unwrap();
        assert_eq!(s.mode, Mode::Detect);
        assert_eq!(s.groups.len(), 1);
        assert_eq!(s.groups[0].bits, 2048);
        assert_eq!(s.groups[0].file, PathBuf::from("/etc/postfix/dh2048.pem"));
        assert_eq!(s.groups[0].uses, vec![Use::MainCf]);
        assert_eq!(s.max_age, Duration::from_secs(7 * 86400));
    }

    #[test]
    fn later_fragments_override_field_by_field() {
        let a = loaded("min_bits = 2048\n[[group]]\nname = \"main\"\nbits = 2048\n");
        let b = loaded(
            "[[group]]\nname = \"main\"\nbits = 3072\n[[group]]\nname = \"sub\"\nbits = 1024\nuse = [\"submission/inet\"]\n",
        );
        let ov = Overrides {
            postfix_config_dir: Some("/srv/pf".into()),
            ..Default::default()
        };
        let s = merge_and_validate(&[a, b], &ov).unwrap();
        assert_eq!(s.groups[0].bits, 3072);
        assert_eq!(s.groups[1].file, PathBuf::from("/srv/pf/dh1024.pem"));
        assert_eq!(
            s.groups[1].uses,
            vec![Use::Service("submission/inet".into())]
        );
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let bad = loaded("mode = \"explicit\"\n\n[[group]]\nname = \"main\"\nbits = 1024\n");
        let err = merge_and_validate(&[bad], &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("/etc/dhrotate/dhrotate.toml line 5"), "{err}");
        assert!(err.contains("below min_bits"), "{err}");
        let huge = loaded("[[group]]\nname = \"main\"\nbits = 16384\n");
        let err = merge_and_validate(&[huge], &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 3") && err.contains("not allowed"),
            "{err}"
        );
    }

    #[test]
    fn two_groups_cannot_claim_one_place() {
        let cfg = loaded(
            "[[group]]\nname = \"a\"\nfile = \"a.pem\"\n[[group]]\nname = \"b\"\nfile = \"b.pem\"\n",
        );
        let err = merge_and_validate(&[cfg], &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("both set smtpd_tls_dh1024_param_file in main.cf"),
            "{err}"
        );
    }

    #[test]
    fn bad_use_and_bad_file_are_refused() {
        let cfg = loaded("[[group]]\nname = \"a\"\nuse = [\"submission\"]\n");
        let err = merge_and_validate(&[cfg], &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("service/type"), "{err}");
        let cfg = loaded("[[group]]\nname = \"a\"\nfile = \"$config_directory/x.pem\"\n");
        let err = merge_and_validate(&[cfg], &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("plain path"), "{err}");
    }
}

#[cfg(test)]
mod example_tests {
    use super::super::fragment::{Fragment, Loaded};
    use super::*;

    #[test]
    fn the_shipped_example_config_is_valid_and_means_the_defaults() {
        let text = include_str!("../../examples/dhrotate.toml");
        let example = Loaded {
            path: PathBuf::from("examples/dhrotate.toml"),
            text: text.into(),
            fragment: toml::from_str::<Fragment>(text).unwrap(),
        };
        let empty = Loaded {
            path: PathBuf::from("empty.toml"),
            text: String::new(),
            fragment: Fragment::default(),
        };
        let ov = Overrides::default();
        assert_eq!(
            merge_and_validate(&[example], &ov).unwrap(),
            merge_and_validate(&[empty], &ov).unwrap()
        );
    }
}
