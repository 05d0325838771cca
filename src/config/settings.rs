//! The validated configuration, one type per section. Each section is
//! built from its merged draft by its own constructor, which checks that
//! section's rules and names the file and line of a bad value; `Settings`
//! only puts them together.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};

use super::fragment::{InstancesValue, Mode};
use super::groups::{self, GroupSpec};
use super::hooks::{self, HookSpec};
use super::merge::{self, Merged, Origin};
use crate::guidelines::Guideline;
use crate::postfix::ciphers::DhePolicy;
use crate::postfix::curves::{CurvePolicy, openssl_knows, unknown_required};

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
    /// `--if-due`: rotate only groups older than `[schedule] rotate_after`.
    pub if_due: bool,
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

impl ReloadSettings {
    fn validate(r: merge::Reload, ov: &Overrides) -> Result<ReloadSettings> {
        let verify = match r.verify {
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
        Ok(ReloadSettings {
            enabled: r.enabled && !ov.no_reload,
            verify,
            endpoints: r.endpoints,
        })
    }
}

/// `[schedule]`, used by the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSettings {
    /// 6-field cron: sec min hour dom month dow.
    pub cron: String,
    /// Random delay added to each scheduled run.
    pub jitter: Duration,
    /// Run once at daemon start when a run was missed.
    pub catch_up: bool,
    /// `now --if-due` leaves a group younger than this alone.
    pub rotate_after: Duration,
}

impl ScheduleSettings {
    fn validate(s: merge::Schedule, max_age: Duration) -> Result<ScheduleSettings> {
        let cron = match s.cron {
            Some(o) => {
                crate::sys::schedule::parse(&o.value)
                    .map_err(|e| anyhow!("{}: schedule.cron = {e:#}", o.at))?;
                o.value
            }
            None => crate::sys::schedule::DEFAULT_CRON.into(),
        };
        Ok(ScheduleSettings {
            cron,
            jitter: duration(s.jitter, "schedule.jitter", "1h")?,
            catch_up: s.catch_up,
            rotate_after: rotate_after(s.rotate_after, max_age)?,
        })
    }
}

/// `schedule.rotate_after`: below `max_age`, or `--if-due` would let
/// groups go stale between runs. The default 5d with the daily timer
/// rotates at 5 to 6 days of age, before max_age's 7 days.
fn rotate_after(v: Option<Origin<String>>, max_age: Duration) -> Result<Duration> {
    let at = v.as_ref().map(|o| o.at.clone());
    let d = duration(v, "schedule.rotate_after", "5d")?;
    if d >= max_age {
        bail!(
            "{}: schedule.rotate_after = {} is not below max_age = {}; `now --if-due` would let groups go stale. \
             Keep rotate_after at least a timer period (a day) below max_age",
            at.unwrap_or_else(|| "built-in default".into()),
            humantime::format_duration(d),
            humantime::format_duration(max_age)
        );
    }
    Ok(d)
}

/// `[postfix]`: where Postfix's tools are, for non-standard installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostfixTools {
    /// `postconf` binary.
    pub postconf: PathBuf,
    /// `postfix` binary.
    pub postfix: PathBuf,
    /// `postmulti` binary, for `instances` other than "primary".
    pub postmulti: PathBuf,
    /// Limit for any one Postfix command.
    pub timeout: Duration,
}

impl PostfixTools {
    fn validate(t: merge::Tools) -> Result<PostfixTools> {
        Ok(PostfixTools {
            postconf: tool_path(t.postconf, "/usr/sbin/postconf")?,
            postfix: tool_path(t.postfix, "/usr/sbin/postfix")?,
            postmulti: tool_path(t.postmulti, "/usr/sbin/postmulti")?,
            timeout: duration(t.timeout, "postfix.timeout", "60s")?,
        })
    }
}

/// What `detect` installs where OpenSSL cannot choose (Postfix < 3.7 or
/// OpenSSL < 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Prefer {
    /// A fresh prime every rotation (`explicit`).
    Unique,
    /// The RFC 7919 group of the configured size (`named`).
    Named,
}

/// `[policy]`: how choices are made and judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySettings {
    /// `prefer`, for `detect` where `auto` is impossible.
    pub prefer: Prefer,
    /// `guideline`: the table `status` and `now` judge against.
    pub guideline: Guideline,
    /// `enforce`: `now` refuses a change that rates worse than what is
    /// served now.
    pub enforce: bool,
    /// `dhe`: TLS 1.2 DHE cipher suites left alone, on or off.
    pub dhe: DhePolicy,
}

impl PolicySettings {
    fn validate(p: merge::PolicyDraft) -> Result<PolicySettings> {
        let prefer = match p.prefer {
            None => Prefer::Named,
            Some(o) => match o.value.as_str() {
                "unique" => Prefer::Unique,
                "named" => Prefer::Named,
                other => bail!(
                    "{}: policy.prefer = {other:?}; expected \"named\" (RFC 7919 groups) or \"unique\" (a fresh prime each rotation)",
                    o.at
                ),
            },
        };
        let guideline = match p.guideline {
            None => Guideline::None,
            Some(o) => Guideline::parse(&o.value).ok_or_else(|| {
                anyhow!(
                    "{}: policy.guideline = {:?}; expected one of {}, or \"none\"",
                    o.at,
                    o.value,
                    Guideline::ALL.map(|g| format!("\"{g}\"")).join(", ")
                )
            })?,
        };
        let enforce = p.enforce.as_ref().is_some_and(|o| o.value);
        if let Some(o) = p
            .enforce
            .filter(|o| o.value && guideline == Guideline::None)
        {
            bail!(
                "{}: policy.enforce = true needs a guideline to judge by; set policy.guideline",
                o.at
            );
        }
        let dhe = match p.dhe {
            None => DhePolicy::Keep,
            Some(o) => DhePolicy::parse(&o.value).ok_or_else(|| {
                anyhow!(
                    "{}: policy.dhe = {:?}; expected \"keep\" (leave smtpd_tls_exclude_ciphers alone), \
                     \"off\" (stop offering DHE for TLS 1.2) or \"on\"",
                    o.at,
                    o.value
                )
            })?,
        };
        Ok(PolicySettings {
            prefer,
            guideline,
            enforce,
            dhe,
        })
    }
}

/// `instances`: which Postfix instances a run manages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Instances {
    /// Only `postfix_config_dir` (the default; a host without postmulti).
    Primary,
    /// The primary and every secondary `postmulti -l` lists.
    All,
    /// The primary and these secondaries.
    Named(Vec<String>),
}

/// `instance_files`: where the secondaries' groups live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceFiles {
    /// Each group is one file that every instance points at (postconf(5):
    /// sharing DH parameters between instances is safe).
    Shared,
    /// Each instance has its own file: a group's `file` inside
    /// `postfix_config_dir` is taken as relative to each instance's own
    /// config_directory, and gets its own prime.
    PerInstance,
}

fn instances(v: Option<Origin<InstancesValue>>) -> Result<Instances> {
    let Some(o) = v else {
        return Ok(Instances::Primary);
    };
    match o.value {
        InstancesValue::Word(w) if w == "primary" => Ok(Instances::Primary),
        InstancesValue::Word(w) if w == "all" => Ok(Instances::All),
        InstancesValue::Word(w) => bail!(
            "{}: instances = {w:?}; expected \"primary\", \"all\" or a list of instance names such as [\"postfix-out\"]",
            o.at
        ),
        InstancesValue::Names(names) => {
            if names.is_empty() {
                bail!(
                    "{}: instances = []; name at least one secondary instance, or write \"primary\"",
                    o.at
                );
            }
            if let Some(bad) = names
                .iter()
                .find(|n| !n.starts_with("postfix-") || n.contains(char::is_whitespace))
            {
                bail!(
                    "{}: instances names {bad:?}; secondary instance names start with \"postfix-\" (`postmulti -l` lists them); the primary is always included",
                    o.at
                );
            }
            Ok(Instances::Named(names))
        }
    }
}

fn instance_files(
    v: Option<Origin<String>>,
    groups: &[GroupSpec],
    dir: &std::path::Path,
) -> Result<InstanceFiles> {
    let Some(o) = v else {
        return Ok(InstanceFiles::Shared);
    };
    match o.value.as_str() {
        "shared" => Ok(InstanceFiles::Shared),
        "per-instance" => {
            if let Some(g) = groups.iter().find(|g| !g.file.starts_with(dir)) {
                bail!(
                    "{}: instance_files = \"per-instance\" needs each group's file inside postfix_config_dir ({}), to be placed in each instance's own; group {:?} has {}",
                    o.at,
                    dir.display(),
                    g.name,
                    g.file.display()
                );
            }
            Ok(InstanceFiles::PerInstance)
        }
        other => bail!(
            "{}: instance_files = {other:?}; expected \"shared\" (one file for all instances) or \"per-instance\"",
            o.at
        ),
    }
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// detect | explicit | auto | named.
    pub mode: Mode,
    /// Postfix's config_directory.
    pub postfix_config_dir: PathBuf,
    /// Where the lock, state and backups live.
    pub state_dir: PathBuf,
    /// Smallest group allowed in main.cf.
    pub min_bits: u32,
    /// Age after which `status` calls a file stale.
    pub max_age: Duration,
    /// How long `now` waits for another run's lock before exiting 5.
    pub lock_wait: Duration,
    /// In auto mode, remove the group files that are no longer used
    /// (`auto_old_files = "remove"`) instead of keeping them.
    pub auto_old_files_remove: bool,
    /// `[[group]]`: groups to maintain.
    pub groups: Vec<GroupSpec>,
    /// `[[hook]]`: run after a rotation that changed something.
    pub hooks: Vec<HookSpec>,
    /// `instances`.
    pub instances: Instances,
    /// `instance_files`.
    pub instance_files: InstanceFiles,
    /// `[reload]`.
    pub reload: ReloadSettings,
    /// `[pool] size`: groups kept ready per size.
    pub pool_size: u32,
    /// `[schedule]`.
    pub schedule: ScheduleSettings,
    /// `[curves] policy`, applied by every rotation (`keep`: touch nothing).
    pub curves_policy: CurvePolicy,
    /// `[policy]`.
    pub policy: PolicySettings,
    /// `[metrics] textfile`: the Prometheus textfile written after every
    /// run and `status` (`None`: off).
    pub metrics_textfile: Option<PathBuf>,
    /// `[postfix]`.
    pub postfix: PostfixTools,
    /// `now --if-due`: groups younger than `schedule.rotate_after` are left
    /// alone (a run option, not a file setting).
    pub only_when_due: bool,
}

impl Settings {
    /// Hands each merged section to its own validation; command-line
    /// overrides win over the files.
    pub(super) fn validate(m: Merged, ov: &Overrides) -> Result<Settings> {
        let g = m.general;
        let min_bits = match g.min_bits {
            Some(Origin { value, at }) if !(1024..=8192).contains(&value) => {
                bail!(
                    "{at}: min_bits = {value} is out of range; use a value from 1024 to 8192 (2048 recommended)"
                )
            }
            Some(o) => o.value,
            None => 2048,
        };
        let postfix_config_dir = absolute(
            "postfix_config_dir",
            ov.postfix_config_dir.clone(),
            g.postfix_config_dir,
            "/etc/postfix",
        )?;
        let state_dir = absolute(
            "state_dir",
            ov.state_dir.clone(),
            g.state_dir,
            "/var/lib/dhrotate",
        )?;
        let pool_size = match m.pool_size {
            Some(o) if o.value > 100 => bail!(
                "{}: pool.size = {} is too large; at most 100",
                o.at,
                o.value
            ),
            Some(o) => o.value,
            None => 2,
        };
        let max_age = duration(g.max_age, "max_age", "7d")?;
        let groups = groups::validate(m.groups, min_bits, &postfix_config_dir)?;
        Ok(Settings {
            mode: ov.mode.or(g.mode.map(|o| o.value)).unwrap_or(Mode::Detect),
            hooks: hooks::validate(m.hooks, &groups)?,
            instances: instances(g.instances)?,
            instance_files: instance_files(g.instance_files, &groups, &postfix_config_dir)?,
            groups,
            postfix_config_dir,
            state_dir,
            min_bits,
            max_age,
            lock_wait: duration(g.lock_wait, "lock_wait", "10s")?,
            auto_old_files_remove: match g.auto_old_files {
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
            reload: ReloadSettings::validate(m.reload, ov)?,
            pool_size,
            schedule: ScheduleSettings::validate(m.schedule, max_age)?,
            curves_policy: curves_policy(m.curves_policy)?,
            policy: PolicySettings::validate(m.policy)?,
            metrics_textfile: match m.metrics_textfile {
                Some(o) if !o.value.is_absolute() => bail!(
                    "{}: metrics.textfile = {} must be an absolute path (node_exporter's textfile directory, e.g. /var/lib/prometheus/node-exporter/dhrotate.prom)",
                    o.at,
                    o.value.display()
                ),
                Some(o) if o.value.extension().is_none_or(|e| e != "prom") => bail!(
                    "{}: metrics.textfile = {} must end in .prom, or node_exporter's textfile collector ignores it",
                    o.at,
                    o.value.display()
                ),
                o => o.map(|o| o.value),
            },
            postfix: PostfixTools::validate(m.tools)?,
            only_when_due: ov.if_due,
        })
    }
}

impl Settings {
    /// These settings as they apply to a secondary Postfix instance: its
    /// config_directory, its group files (`per-instance`: the same name in
    /// its own directory), its own corner of the state directory (stage,
    /// backups, reload marker), and its listeners found from its own
    /// master.cf (`[reload] endpoints` are the primary's).
    pub fn for_instance(&self, name: &str, config_dir: &std::path::Path) -> Settings {
        let mut s = self.clone();
        if self.instance_files == InstanceFiles::PerInstance {
            for g in &mut s.groups {
                if let Ok(rel) = g.file.strip_prefix(&self.postfix_config_dir) {
                    g.file = config_dir.join(rel);
                }
            }
        }
        s.postfix_config_dir = config_dir.to_path_buf();
        s.state_dir = self.state_dir.join("instances").join(name);
        s.reload.endpoints.clear();
        s.hooks.clear();
        s
    }

    /// The configured groups' sizes, each once, smallest first: the pool's
    /// sizes.
    pub fn group_sizes(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.groups.iter().map(|g| g.bits).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// `[curves] policy`: a profile, or a list whose every name this OpenSSL
/// knows (Postfix would skip an unknown one silently) unless marked `?`
/// (skip if unknown, by design). What the list becomes for the running
/// Postfix and OpenSSL is decided at each run (postfix::curves::syntax).
fn curves_policy(v: Option<Origin<String>>) -> Result<CurvePolicy> {
    let Some(o) = v else {
        return Ok(CurvePolicy::Keep);
    };
    let policy = CurvePolicy::parse(&o.value);
    if let CurvePolicy::List(list) = &policy {
        if list.is_empty() {
            bail!(
                "{}: curves.policy is empty; use \"keep\", \"default\", \"modern\", \"pq-hybrid\", \"openssl\" or a list of group names",
                o.at
            );
        }
        let unknown = unknown_required(list, &openssl_knows);
        if !unknown.is_empty() {
            bail!(
                "{}: curves.policy names {}, which {} does not know; Postfix would skip it silently. \
                 Use names from `openssl list -tls-groups`, mark a name ?NAME to skip it where unknown (OpenSSL >= 3.5), or use a profile",
                o.at,
                unknown.join(", "),
                openssl::version::version()
            );
        }
    }
    Ok(policy)
}

/// A directory setting: the flag, else the files, else the default; absolute.
fn absolute(
    what: &str,
    flag: Option<PathBuf>,
    file: Option<Origin<PathBuf>>,
    default: &str,
) -> Result<PathBuf> {
    let p = flag
        .or(file.map(|o| o.value))
        .unwrap_or_else(|| PathBuf::from(default));
    if !p.is_absolute() {
        bail!("{what} = {} must be an absolute path", p.display());
    }
    Ok(p)
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
        "schedule.rotate_after" => (3600, 3650 * DAY),
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

#[cfg(test)]
mod tests {
    use super::super::fragment::{Fragment, Loaded};
    use super::super::merge_and_validate;
    use super::*;
    use crate::config::Use;

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
    fn the_curve_policy_is_a_profile_or_names_openssl_knows() {
        let s = merge_and_validate(
            &[loaded("[curves]\npolicy = \"modern\"\n")],
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(s.curves_policy, CurvePolicy::Modern);
        let bad = loaded("\n[curves]\npolicy = \"X25519 X99999\"\n");
        let err = merge_and_validate(&[bad], &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/etc/dhrotate/dhrotate.toml line 3") && err.contains("X99999"),
            "{err}"
        );
        assert!(!err.contains("X25519,"), "{err}");
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
    use super::super::merge_and_validate;
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
