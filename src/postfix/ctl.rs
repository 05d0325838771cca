//! The seam to the real Postfix: `postconf` and `postfix` run by explicit
//! argv with a clean environment, stderr captured into errors.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

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
    /// How long any one command may take before it is killed.
    pub timeout: Duration,
}

/// PATH given to child processes: never the caller's.
const CHILD_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

impl SystemPostfix {
    fn run(&self, program: &Path, args: &[&str]) -> Result<String> {
        let dir = self.config_dir.to_string_lossy();
        let mut argv: Vec<&str> = vec!["-c", &dir];
        argv.extend_from_slice(args);
        run_command(program, &argv, self.timeout)
    }
}

/// `program` with a fixed PATH and locale, no inherited environment, and
/// nothing on stdin: what every child process of dhrotate gets.
fn clean_command(program: &Path) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", CHILD_PATH)
        .env("LC_ALL", "C")
        .stdin(Stdio::null());
    c
}

/// Runs `program argv...` with a fixed PATH and locale, no shell, a
/// timeout, and stderr folded into the error. Returns stdout.
pub fn run_command(program: &Path, argv: &[&str], timeout: Duration) -> Result<String> {
    let shown = format!("{} {}", program.display(), argv.join(" "));
    let mut child = clean_command(program)
        .args(argv)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running `{shown}`"))?;
    // Read both pipes on threads so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .with_context(|| format!("waiting for `{shown}`"))?
        {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "`{shown}` did not finish within {}s and was killed",
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8_lossy(&out_t.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_t.join().unwrap_or_default()).into_owned();
    if !status.success() {
        let detail = stderr.trim();
        bail!(
            "`{shown}` failed ({status}){}{}",
            if detail.is_empty() { "" } else { ": " },
            detail
        );
    }
    Ok(stdout)
}

impl Postfix for SystemPostfix {
    fn postconf(&self, args: &[&str]) -> Result<String> {
        self.run(&self.postconf, args)
    }

    fn check(&self) -> Result<()> {
        self.run(&self.postfix, &["check"]).map(drop)
    }

    fn reload(&self) -> Result<()> {
        self.run(&self.postfix, &["reload"]).map(drop)
    }

    fn is_running(&self) -> Result<bool> {
        // `postfix status` exits 1 when stopped; anything it cannot run is an error.
        let dir = self.config_dir.to_string_lossy();
        let status = clean_command(&self.postfix)
            .args(["-c", &dir, "status"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("running `{} -c {dir} status`", self.postfix.display()))?;
        Ok(status.success())
    }

    fn config_dir(&self) -> &Path {
        &self.config_dir
    }
}
