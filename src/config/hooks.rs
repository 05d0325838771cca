//! `[[hook]]`: commands run after a rotation that installed a group, for
//! the other services that read the same group files (Dovecot, nginx,
//! HAProxy). Each hook validates itself: an absolute program root trusts,
//! a timeout, and optionally an endpoint to verify with the same probe as
//! Postfix's listeners.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};

use super::groups::GroupSpec;
use super::merge;

/// How the endpoint of a hook speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HookTls {
    /// TLS from the first byte (IMAPS 993, POP3S 995, HTTPS 443, SMTPS 465).
    Tls,
    /// SMTP STARTTLS.
    Smtp,
}

/// What a hook's consumer must serve after the hook ran.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HookVerify {
    /// `host:port` as written.
    pub addr: String,
    /// How to start TLS there.
    pub tls: HookTls,
    /// The group (config name) whose prime it must serve.
    pub group: String,
}

/// One validated `[[hook]]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HookSpec {
    /// Name from the config, for logs and the run's outcome.
    pub name: String,
    /// The program, absolute.
    pub program: PathBuf,
    /// Its arguments (no shell: each is one argument).
    pub args: Vec<String>,
    /// How long it may run before its process group is killed.
    pub timeout: Duration,
    /// The endpoint to probe afterwards, if any.
    pub verify: Option<HookVerify>,
}

/// Validates every hook against the configured groups.
pub(super) fn validate(drafts: Vec<merge::Hook>, groups: &[GroupSpec]) -> Result<Vec<HookSpec>> {
    drafts.into_iter().map(|d| one(d, groups)).collect()
}

fn one(d: merge::Hook, groups: &[GroupSpec]) -> Result<HookSpec> {
    check_name(&d)?;
    let (program, args) = command(&d)?;
    let timeout = timeout(&d)?;
    let verify = match d.verify {
        None => {
            if let Some(g) = d.group {
                bail!(
                    "{}: hook {:?}: group is only meaningful with verify",
                    g.at,
                    d.name
                );
            }
            None
        }
        Some(o) => Some(verify(&d.name, o, d.group, groups)?),
    };
    Ok(HookSpec {
        name: d.name,
        program,
        args,
        timeout,
        verify,
    })
}

fn check_name(d: &merge::Hook) -> Result<()> {
    if d.name.is_empty()
        || !d
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        bail!(
            "{}: hook name {:?} must be letters, digits, '-', '_' or '.' (it names the hook in logs and metrics)",
            d.at,
            d.name
        );
    }
    Ok(())
}

/// `command`: an absolute path to a trusted program (no PATH lookup as
/// root, no shell), then its arguments.
fn command(d: &merge::Hook) -> Result<(PathBuf, Vec<String>)> {
    let Some(command) = &d.command else {
        bail!(
            "{}: hook {:?} has no command; write e.g. command = [\"/usr/bin/systemctl\", \"reload\", \"dovecot.service\"]",
            d.at,
            d.name
        );
    };
    let mut argv = command.value.iter().cloned();
    let program = PathBuf::from(argv.next().unwrap_or_default());
    if !program.is_absolute() {
        bail!(
            "{}: hook {:?}: command[0] = {:?} must be an absolute path (no PATH lookup as root, no shell)",
            command.at,
            d.name,
            program.display().to_string()
        );
    }
    crate::sys::fsutil::check_trusted_program(&program)
        .map_err(|e| anyhow::anyhow!("{}: hook {:?}: {e:#}", command.at, d.name))?;
    if !program.is_file() {
        bail!(
            "{}: hook {:?}: {} does not exist or is not a file",
            command.at,
            d.name,
            program.display()
        );
    }
    Ok((program, argv.collect()))
}

/// `timeout`: 60 s by default, between 1 s and 1 h.
fn timeout(d: &merge::Hook) -> Result<Duration> {
    let Some(o) = &d.timeout else {
        return Ok(Duration::from_secs(60));
    };
    let t = humantime::parse_duration(&o.value).map_err(|e| {
        anyhow::anyhow!(
            "{}: hook {:?}: timeout = {:?} is not a duration ({e}); write e.g. \"30s\"",
            o.at,
            d.name,
            o.value
        )
    })?;
    if t < Duration::from_secs(1) || t > Duration::from_secs(3600) {
        bail!(
            "{}: hook {:?}: timeout = {:?} is out of range; it must be between 1s and 1h",
            o.at,
            d.name,
            o.value
        );
    }
    Ok(t)
}

/// `verify = "HOST:PORT [tls|smtp]"` and the group it must serve (the only
/// group, else the one used in main.cf, unless `group` names one).
fn verify(
    name: &str,
    o: merge::Origin<String>,
    group: Option<merge::Origin<String>>,
    groups: &[GroupSpec],
) -> Result<HookVerify> {
    let words: Vec<&str> = o.value.split_whitespace().collect();
    let (addr, tls) = match words.as_slice() {
        [addr] => (*addr, HookTls::Tls),
        [addr, "tls"] => (*addr, HookTls::Tls),
        [addr, "smtp"] => (*addr, HookTls::Smtp),
        _ => bail!(
            "{}: hook {name:?}: verify = {:?}; write \"HOST:PORT tls\" (TLS from the first byte, e.g. IMAPS 127.0.0.1:993) or \"HOST:PORT smtp\" (STARTTLS)",
            o.at,
            o.value
        ),
    };
    let port_ok = addr
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
    if !port_ok {
        bail!(
            "{}: hook {name:?}: verify = {:?} needs HOST:PORT (IPv6 as [::1]:993)",
            o.at,
            o.value
        );
    }
    let group = match group {
        Some(g) => {
            if !groups.iter().any(|s| s.name == g.value) {
                bail!(
                    "{}: hook {name:?}: group = {:?} is not a configured [[group]] ({})",
                    g.at,
                    g.value,
                    groups
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            g.value
        }
        None => groups
            .iter()
            .find(|g| g.uses.contains(&super::Use::MainCf))
            .or(groups.first())
            .map(|g| g.name.clone())
            .unwrap_or_default(),
    };
    Ok(HookVerify {
        addr: addr.to_owned(),
        tls,
        group,
    })
}
