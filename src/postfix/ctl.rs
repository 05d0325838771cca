//! The seam to the real Postfix: `postconf` and `postfix` run through
//! `sys::child` (explicit argv, clean environment, own process group,
//! timeout, stderr captured into errors).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};

use super::multi::{self, ListedInstance};
use crate::sys::child;

/// Everything dhrotate asks of Postfix. Tests substitute failures here.
pub trait Postfix {
    /// Runs `postconf -c DIR ARGS...` and returns its stdout.
    fn postconf(&self, args: &[&str]) -> Result<String>;
    /// `postfix check`: Postfix's own verdict on the configuration.
    fn check(&self) -> Result<()>;
    /// `postfix reload`: running daemons pick up the new configuration.
    fn reload(&self) -> Result<()>;
    /// Whether the Postfix master for this configuration is running.
    fn is_running(&self) -> Result<bool>;
    /// The configuration directory this instance reads.
    fn config_dir(&self) -> &Path;
    /// Whether there is a Postfix behind these commands at all (the demo
    /// without Postfix has none: nothing is checked or reloaded).
    fn present(&self) -> bool {
        true
    }
    /// Runs `postconf -c DIR ARGS...` on another directory (a staged copy)
    /// and returns stdout and stderr; `None` where there is no real
    /// postconf to ask (then edits are judged by dhrotate's reader alone).
    fn postconf_in(&self, dir: &Path, args: &[&str]) -> Result<Option<(String, String)>> {
        let _ = (dir, args);
        Ok(None)
    }
    /// Every instance `postmulti -l` lists, this one marked primary; just
    /// this one where there is no multi-instance support to ask.
    fn instances(&self) -> Result<Vec<ListedInstance>> {
        Ok(vec![ListedInstance::only(self.config_dir())])
    }
    /// The same commands for another instance's config directory; `None`
    /// where this Postfix cannot reach other instances.
    fn for_instance(&self, dir: &Path) -> Option<Box<dyn Postfix>> {
        let _ = dir;
        None
    }
}

/// The real Postfix, reached through its command-line tools.
#[derive(Debug, Clone)]
pub struct SystemPostfix {
    /// Postfix config_directory (`-c`).
    pub config_dir: PathBuf,
    /// Path of `postconf`.
    pub postconf: PathBuf,
    /// Path of `postfix`.
    pub postfix: PathBuf,
    /// Path of `postmulti`.
    pub postmulti: PathBuf,
    /// How long any one command may take before it is killed.
    pub timeout: Duration,
}

impl SystemPostfix {
    fn argv<'a>(dir: &'a str, args: &[&'a str]) -> Vec<&'a str> {
        let mut argv: Vec<&str> = vec!["-c", dir];
        argv.extend_from_slice(args);
        argv
    }

    fn run_postfix(&self, args: &[&str]) -> Result<String> {
        let dir = self.config_dir.to_string_lossy();
        run_postfix_command(&self.postfix, &Self::argv(&dir, args), self.timeout)
    }
}

/// `run_command` for `postfix` itself, whose reasons reach only a terminal.
fn run_postfix_command(program: &Path, argv: &[&str], timeout: Duration) -> Result<String> {
    child::Spec::new(program, argv, timeout)
        .stderr(child::Stderr::Terminal)
        .run()?
        .into_stdout()
}

/// Runs `program argv...` with a fixed PATH and locale, no shell, a
/// timeout, and stderr folded into the error. Returns stdout.
pub fn run_command(program: &Path, argv: &[&str], timeout: Duration) -> Result<String> {
    child::Spec::new(program, argv, timeout)
        .run()?
        .into_stdout()
}

impl SystemPostfix {
    /// The instances of a primary that is not the default config
    /// directory: its `multi_instance_directories`, each asked for the
    /// settings `postmulti -l` shows.
    fn instances_by_postconf(&self) -> Result<Vec<ListedInstance>> {
        let dirs = self.postconf(&["-h", "multi_instance_directories"])?;
        let mut entries = Vec::new();
        for dir in dirs.split([' ', ',', '\t', '\n']).filter(|d| !d.is_empty()) {
            let out = run_command(
                &self.postconf,
                &[
                    "-c",
                    dir,
                    "-h",
                    "multi_instance_name",
                    "multi_instance_group",
                    "multi_instance_enable",
                ],
                self.timeout,
            )?;
            let mut lines = out.lines().map(|l| l.trim().to_owned());
            let mut next = || lines.next().unwrap_or_default();
            entries.push(multi::Listed {
                config_dir: PathBuf::from(dir),
                name: next(),
                group: next(),
                enabled: next() == "yes",
            });
        }
        multi::from_listed(&self.config_dir, entries)
    }
}

impl Postfix for SystemPostfix {
    fn postconf(&self, args: &[&str]) -> Result<String> {
        let dir = self.config_dir.to_string_lossy();
        run_command(&self.postconf, &Self::argv(&dir, args), self.timeout)
    }

    fn check(&self) -> Result<()> {
        self.run_postfix(&["check"]).map(drop)
    }

    fn reload(&self) -> Result<()> {
        self.run_postfix(&["reload"]).map(drop)
    }

    fn is_running(&self) -> Result<bool> {
        // `postfix status` exits 1 when stopped; anything it cannot run is
        // an error. Same timeout and process group as every other command.
        let dir = self.config_dir.to_string_lossy();
        let done = child::Spec::new(&self.postfix, &Self::argv(&dir, &["status"]), self.timeout)
            .run()?
            .finished()?;
        Ok(done.status.success())
    }

    fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    fn postconf_in(&self, dir: &Path, args: &[&str]) -> Result<Option<(String, String)>> {
        let dir = dir.to_string_lossy();
        let argv = Self::argv(&dir, args);
        let done = child::Spec::new(&self.postconf, &argv, self.timeout)
            .run()?
            .finished()?;
        if !done.status.success() {
            bail!(
                "`{} {}` failed ({}): {}",
                self.postconf.display(),
                argv.join(" "),
                done.status,
                done.stderr.trim()
            );
        }
        Ok(Some((done.stdout, done.stderr)))
    }

    fn instances(&self) -> Result<Vec<ListedInstance>> {
        // postmulti(1) manages only the default config_directory as primary
        // (it refuses -c and a non-default MAIL_CONFIG); another primary is
        // read the way postmulti reads it, through postconf.
        let default = run_command(
            &self.postconf,
            &["-d", "-h", "config_directory"],
            self.timeout,
        )?;
        let is_default = std::fs::canonicalize(default.trim()).ok()
            == std::fs::canonicalize(&self.config_dir).ok();
        if !is_default {
            return self.instances_by_postconf();
        }
        if !self.postmulti.exists() {
            bail!(
                "{} is not installed; managing secondary Postfix instances needs postmulti \
                 (set [postfix] postmulti, or instances = \"primary\")",
                self.postmulti.display()
            );
        }
        // One JSON object per line from Postfix 3.11 on; the columns before.
        // Asked by version, not tried: an older postmulti logs a fatal usage
        // error for -j, which would fill the journal at every run.
        let json = self
            .postconf(&["-h", "mail_version"])
            .ok()
            .and_then(|v| super::Version::find_in(&v))
            .is_some_and(|v| v >= super::Version::new(3, 11, 0));
        let args: &[&str] = if json { &["-j", "-l"] } else { &["-l"] };
        let out = run_command(&self.postmulti, args, self.timeout)?;
        multi::parse(&out, json, &self.config_dir)
    }

    fn for_instance(&self, dir: &Path) -> Option<Box<dyn Postfix>> {
        Some(Box::new(SystemPostfix {
            config_dir: dir.to_path_buf(),
            ..self.clone()
        }))
    }
}
