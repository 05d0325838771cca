//! The seam to the real Postfix: `postconf` and `postfix` run by explicit
//! argv with a clean environment, in their own process group, with a
//! timeout that kills the group, and stderr captured into errors.

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
    /// Runs `postconf -c DIR ARGS...` on another directory (a staged copy)
    /// and returns stdout and stderr; `None` where there is no real
    /// postconf to ask (then edits are judged by dhrotate's reader alone).
    fn postconf_in(&self, dir: &Path, args: &[&str]) -> Result<Option<(String, String)>> {
        let _ = (dir, args);
        Ok(None)
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
    /// How long any one command may take before it is killed.
    pub timeout: Duration,
}

/// PATH given to child processes: never the caller's.
const CHILD_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

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

/// `program` with a fixed PATH and locale, no inherited environment,
/// nothing on stdin, and a process group of its own (so a timeout can kill
/// what it started, too): what every child process of dhrotate gets.
fn clean_command(program: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", CHILD_PATH)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .process_group(0);
    c
}

/// Most a child may print on one stream before the rest is dropped: an
/// error message needs far less, and a runaway child must not fill memory.
const OUTPUT_LIMIT: usize = 1 << 20;

/// How a finished child ended, and what it printed.
struct Finished {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

/// Where a child's stderr goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stderr {
    Pipe,
    /// A pseudo-terminal: `postfix` prints its reasons ("fatal: ...") only
    /// when stderr is a terminal, and only logs them otherwise.
    Terminal,
}

/// Reads up to OUTPUT_LIMIT bytes, drains the rest, on its own thread so
/// a chatty child cannot block on a full pipe.
fn collect(mut from: impl Read + Send + 'static) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        // A pty reads EIO once the child side is closed: the end, like EOF.
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            let room = OUTPUT_LIMIT.saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
        }
        let _ = tx.send(kept);
    });
    rx
}

/// Runs `program argv...` as `clean_command` sets it up, waits at most
/// `timeout`, and on a timeout kills its whole process group.
fn run_child(program: &Path, argv: &[&str], timeout: Duration, stderr: Stderr) -> Result<Finished> {
    use wait_timeout::ChildExt;
    let shown = format!("{} {}", program.display(), argv.join(" "));
    let mut cmd = clean_command(program);
    cmd.args(argv).stdout(Stdio::piped());
    let terminal = match stderr {
        Stderr::Pipe => {
            cmd.stderr(Stdio::piped());
            None
        }
        Stderr::Terminal => {
            let pty = nix::pty::openpty(None, None).context("opening a pseudo-terminal")?;
            cmd.stderr(Stdio::from(pty.slave));
            Some(std::fs::File::from(pty.master))
        }
    };
    let spawned = cmd.spawn();
    // Our copy of the terminal's child side must close, or its reader
    // never sees the end.
    drop(cmd);
    let mut child = spawned.with_context(|| format!("running `{shown}`"))?;
    let out = collect(child.stdout.take().expect("piped"));
    let err = match terminal {
        Some(master) => collect(master),
        None => collect(child.stderr.take().expect("piped")),
    };
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    let started = Instant::now();
    let status = match child
        .wait_timeout(timeout)
        .with_context(|| format!("waiting for `{shown}`"))?
    {
        Some(status) => status,
        None => {
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            bail!(
                "`{shown}` did not finish within {}s; it and the processes it started were killed",
                timeout.as_secs()
            );
        }
    };
    // A grandchild that left the group may still hold a pipe open: take
    // what has come by the deadline rather than wait on it forever.
    let grace = timeout
        .saturating_sub(started.elapsed())
        .max(Duration::from_secs(1));
    let text = |rx: std::sync::mpsc::Receiver<Vec<u8>>| {
        let bytes = rx.recv_timeout(grace).unwrap_or_default();
        String::from_utf8_lossy(&bytes).replace('\r', "")
    };
    Ok(Finished {
        status,
        stdout: text(out),
        stderr: text(err),
    })
}

/// Runs `program argv...` with a fixed PATH and locale, no shell, a
/// timeout, and stderr folded into the error. Returns stdout.
pub fn run_command(program: &Path, argv: &[&str], timeout: Duration) -> Result<String> {
    finish(
        program,
        argv,
        run_child(program, argv, timeout, Stderr::Pipe)?,
    )
}

/// `run_command` for `postfix` itself, whose reasons reach only a terminal.
fn run_postfix_command(program: &Path, argv: &[&str], timeout: Duration) -> Result<String> {
    finish(
        program,
        argv,
        run_child(program, argv, timeout, Stderr::Terminal)?,
    )
}

fn finish(program: &Path, argv: &[&str], done: Finished) -> Result<String> {
    if !done.status.success() {
        let detail = done.stderr.trim();
        bail!(
            "`{} {}` failed ({}){}{}",
            program.display(),
            argv.join(" "),
            done.status,
            if detail.is_empty() { "" } else { ": " },
            detail
        );
    }
    Ok(done.stdout)
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
        let done = run_child(
            &self.postfix,
            &Self::argv(&dir, &["status"]),
            self.timeout,
            Stderr::Pipe,
        )?;
        Ok(done.status.success())
    }

    fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    fn postconf_in(&self, dir: &Path, args: &[&str]) -> Result<Option<(String, String)>> {
        let dir = dir.to_string_lossy();
        let argv = Self::argv(&dir, args);
        let done = run_child(&self.postconf, &argv, self.timeout, Stderr::Pipe)?;
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
}
