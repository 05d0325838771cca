//! `dhrotate now --demo`: a real rotation on a throwaway configuration.
//!
//! As root with Postfix installed, the demo starts a private Postfix on
//! loopback, rotates a 2048-bit group for main.cf and a 1024-bit group for a
//! submission listener, reloads, and shows with a TLS handshake that each
//! listener serves its new prime. Without Postfix it still runs generation,
//! validation, atomic writes and config edits on the example configuration,
//! and says that check and reload were skipped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::instance::PrivatePostfix;
use crate::config::{
    GroupSpec, Mode, PolicySettings, PostfixTools, Prefer, ReloadSettings, ScheduleSettings,
    Settings, Use, Verify,
};
use crate::dh::search::Control;
use crate::ops::rotate;
use crate::postfix::Postfix;
use crate::probe;
use crate::sys::signals::Interrupt;

/// Said before the groups are searched, which takes a moment.
const SEARCHING: &str = "searching a 2048-bit and a 1024-bit safe prime on every core (seconds, now and then a minute)...";

const EXAMPLE_MAIN_CF: &str = include_str!("../../examples/demo/main.cf");
const EXAMPLE_MASTER_CF: &str = include_str!("../../examples/demo/master.cf");

/// Where the demo with a private Postfix lives. Not in the checkout: the
/// postfix user must be able to reach its queue and data directories, and
/// a checkout under /root (0700) or a `mktemp -d` directory bars it.
const POSTFIX_DEMO_DIR: &str = "/var/tmp/dhrotate-demo";

/// Runs the demo, telling `out` what it does and sees.
pub fn run(dry_run: bool, interrupt: Interrupt, out: &mut dyn Write) -> Result<()> {
    let real = nix::unistd::geteuid().is_root() && Path::new("/usr/sbin/postfix").exists();
    let base = if real {
        fresh_shared_dir(Path::new(POSTFIX_DEMO_DIR))?
    } else {
        let base = demo_dir();
        if base.exists() {
            std::fs::remove_dir_all(&base)
                .with_context(|| format!("removing old demo {}", base.display()))?;
        }
        std::fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
        base.canonicalize()?
    };
    writeln!(out, "demo directory: {}", base.display())?;
    if real {
        with_private_postfix(&base, dry_run, interrupt, out)
    } else {
        writeln!(
            out,
            "Postfix is not installed or you are not root: running without a Postfix instance. \
             Generation, validation, atomic writes and config edits are real; `postfix check` and \
             reload are skipped and planning assumes Postfix 3.7."
        )?;
        without_postfix(&base, dry_run, interrupt, out)
    }
}

/// A new, empty `dir` (mode 0755, root's) in a world-writable place such as
/// /var/tmp. A previous demo's directory is removed first, but only when it
/// is a real directory of ours: anything else there (a link, another
/// user's directory) may be someone's trap, so it is refused, not followed.
fn fresh_shared_dir(dir: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() && !m.file_type().is_symlink() && m.uid() == 0 => {
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("removing the old demo {}", dir.display()))?;
        }
        Ok(_) => bail!(
            "{} exists but is not a directory owned by root; remove it (it is not the demo's) and run the demo again",
            dir.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("inspecting {}", dir.display())),
    }
    // mkdir fails if something appeared meanwhile: nothing is followed.
    std::fs::DirBuilder::new()
        .mode(0o755)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .with_context(|| format!("setting the mode of {}", dir.display()))?;
    Ok(dir.to_path_buf())
}

fn demo_dir() -> PathBuf {
    if Path::new("target").is_dir() {
        PathBuf::from("target/dhrotate-demo")
    } else {
        std::env::temp_dir().join("dhrotate-demo")
    }
}

fn demo_settings(config_dir: &Path, state_dir: &Path, submission: &str) -> Settings {
    let mut s = Settings {
        mode: Mode::Explicit,
        postfix_config_dir: config_dir.to_path_buf(),
        state_dir: state_dir.to_path_buf(),
        min_bits: 2048,
        max_age: Duration::from_secs(7 * 86400),
        groups: vec![
            GroupSpec {
                name: "main".into(),
                bits: 2048,
                file: config_dir.join("dh2048.pem"),
                uses: vec![Use::MainCf],
            },
            GroupSpec {
                name: "submission".into(),
                bits: 1024,
                file: config_dir.join("dh1024.pem"),
                uses: vec![Use::Service(submission.into())],
            },
        ],
        reload: ReloadSettings {
            enabled: true,
            verify: Verify::Error,
            endpoints: Vec::new(),
        },
        pool_size: 0,
        schedule: ScheduleSettings {
            cron: "0 30 3 * * *".into(),
            jitter: Duration::from_secs(3600),
            catch_up: true,
            rotate_after: Duration::from_secs(5 * 86400),
        },
        curves_policy: crate::postfix::curves::CurvePolicy::Keep,
        policy: PolicySettings {
            prefer: Prefer::Unique,
            guideline: crate::guidelines::Guideline::None,
            enforce: false,
            dhe: crate::postfix::ciphers::DhePolicy::Keep,
        },
        only_when_due: false,
        metrics_textfile: None,
        postfix: PostfixTools {
            postconf: "/usr/sbin/postconf".into(),
            postfix: "/usr/sbin/postfix".into(),
            postmulti: "/usr/sbin/postmulti".into(),
            timeout: Duration::from_secs(60),
        },
        lock_wait: Duration::from_secs(10),
        auto_old_files_remove: false,
        hooks: Vec::new(),
        instances: crate::config::Instances::Primary,
        instance_files: crate::config::InstanceFiles::Shared,
    };
    s.groups.sort_by_key(|g| std::cmp::Reverse(g.bits));
    s
}

fn with_private_postfix(
    base: &Path,
    dry_run: bool,
    interrupt: Interrupt,
    out: &mut dyn Write,
) -> Result<()> {
    let mut instance = PrivatePostfix::create(&base.join("postfix"))?;
    instance.start()?;
    writeln!(
        out,
        "started a private Postfix: smtpd on 127.0.0.1:{} (main.cf group), 127.0.0.1:{} (submission override)",
        instance.smtp_port, instance.submission_port
    )?;
    let settings = demo_settings(
        &instance.config_dir,
        &base.join("state"),
        &instance.submission_service(),
    );
    let pf = crate::ops::system_postfix(&settings);
    show_served(&instance, "before", out)?;
    rotate_once(&settings, &pf, interrupt, dry_run, out)?;
    if dry_run {
        return Ok(());
    }
    let served = show_served(&instance, "after", out)?;
    let state = crate::sys::state::read(&settings.state_dir)?.context("no state recorded")?;
    for (g, (port, got)) in settings.groups.iter().zip(served) {
        let want = state
            .groups
            .iter()
            .find(|s| s.name == g.name)
            .map(|s| s.fingerprint.clone())
            .unwrap_or_default();
        if got != want {
            bail!(
                "127.0.0.1:{port} serves sha256(p) {got}, but {} has {want}",
                g.file.display()
            );
        }
    }
    writeln!(
        out,
        "verified: each listener serves exactly the group just written"
    )?;
    instance.stop()?;
    writeln!(
        out,
        "stopped the private Postfix; files stay in {}",
        base.display()
    )?;
    Ok(())
}

/// Probes both listeners; returns (port, fingerprint) in group order (main, submission).
fn show_served(
    instance: &PrivatePostfix,
    when: &str,
    out: &mut dyn Write,
) -> Result<Vec<(u16, String)>> {
    let mut served = Vec::new();
    for port in [instance.smtp_port, instance.submission_port] {
        let addr = format!("127.0.0.1:{port}");
        // Postfix restarts its smtpd processes after a reload.
        let g = probe::retry(
            &addr,
            probe::Wrap::StartTls,
            Duration::from_secs(5),
            None,
            |_| true,
        )?;
        let known = g
            .known
            .as_ref()
            .map_or_else(String::new, |k| format!(", the well-known {k}"));
        writeln!(
            out,
            "{when}: {addr} serves a {}-bit DH group, sha256(p) {}{known} ({} {})",
            g.bits, g.fingerprint, g.protocol, g.cipher
        )?;
        served.push((port, g.fingerprint));
    }
    Ok(served)
}

/// A Postfix that is not there (`present` is false, so the run neither
/// checks nor reloads): answers the version question for planning.
struct Absent {
    config_dir: PathBuf,
}

impl Postfix for Absent {
    fn postconf(&self, args: &[&str]) -> Result<String> {
        match args {
            // The demo config is explicit mode, which needs no OpenSSL version.
            ["-h", "mail_version"] => Ok("3.7.0\n".into()),
            _ => bail!("Postfix is not installed"),
        }
    }
    fn check(&self) -> Result<()> {
        bail!("Postfix is not installed")
    }
    fn reload(&self) -> Result<()> {
        bail!("Postfix is not installed")
    }
    fn is_running(&self) -> Result<bool> {
        Ok(false)
    }
    fn config_dir(&self) -> &Path {
        &self.config_dir
    }
    fn present(&self) -> bool {
        false
    }
}

fn without_postfix(
    base: &Path,
    dry_run: bool,
    interrupt: Interrupt,
    out: &mut dyn Write,
) -> Result<()> {
    let config_dir = base.join("etc");
    std::fs::create_dir_all(&config_dir)?;
    std::fs::write(config_dir.join("main.cf"), EXAMPLE_MAIN_CF)?;
    std::fs::write(config_dir.join("master.cf"), EXAMPLE_MASTER_CF)?;
    let settings = demo_settings(&config_dir, &base.join("state"), "submission/inet");
    let absent = Absent {
        config_dir: config_dir.clone(),
    };
    rotate_once(&settings, &absent, interrupt, dry_run, out)
}

/// The demo's one rotation, narrated: what it searches for, then the report.
fn rotate_once(
    settings: &Settings,
    pf: &dyn Postfix,
    interrupt: Interrupt,
    dry_run: bool,
    out: &mut dyn Write,
) -> Result<()> {
    writeln!(out, "{SEARCHING}")?;
    let control = Arc::new(Control::default());
    let report = rotate::now(
        settings,
        pf,
        control,
        interrupt,
        dry_run,
        &mut Default::default(),
    )?;
    write!(out, "{report}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::fresh_shared_dir;

    /// Without Postfix the demo says it skipped check and reload, and
    /// never that a check passed.
    #[test]
    fn the_demo_without_postfix_says_what_it_did() {
        let base = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        let interrupt = crate::sys::signals::Interrupt::never();
        super::without_postfix(base.path(), false, interrupt, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("no Postfix here: not checked, not reloaded"),
            "{text}"
        );
        assert!(!text.contains("check passed"), "{text}");
        assert!(text.contains("wrote "), "{text}");
    }

    #[test]
    fn a_link_where_the_demo_lives_is_refused_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let victim = tmp.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        std::fs::write(victim.join("keep"), b"x").unwrap();
        let dir = tmp.path().join("dhrotate-demo");
        std::os::unix::fs::symlink(&victim, &dir).unwrap();
        let err = fresh_shared_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("not a directory owned by root"), "{err}");
        assert!(victim.join("keep").exists());
    }
}
