//! Every command dhrotate runs and waits for (Postfix's tools, hooks; the
//! detached pool refill of `ops/service/refill.rs` is the one child started
//! otherwise): explicit argv, no shell, a fixed PATH and locale and nothing else inherited,
//! nothing on stdin, a process group of its own, a timeout that kills the
//! whole group, and what it printed kept (bounded) for the error or the log.

use std::io::Read;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// PATH given to child processes: never the caller's.
pub const CHILD_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// Most a child may print on one stream before the rest is dropped: an
/// error message needs far less, and a runaway child must not fill memory.
const OUTPUT_LIMIT: usize = 1 << 20;

/// Where a child's stderr goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stderr {
    /// A pipe, read into `Ended::stderr`.
    Pipe,
    /// A pseudo-terminal: `postfix` prints its reasons ("fatal: ...") only
    /// when stderr is a terminal, and only logs them otherwise.
    Terminal,
}

/// One command to run.
pub struct Spec<'a> {
    program: &'a Path,
    argv: &'a [&'a str],
    timeout: Duration,
    stderr: Stderr,
    env: Vec<(String, String)>,
    reap_group: bool,
}

/// How a child ended.
#[derive(Debug)]
pub struct Ended {
    /// `program argv...`, for messages.
    pub shown: String,
    /// Its exit status; `None` when it was killed at the timeout.
    pub status: Option<ExitStatus>,
    /// The timeout it had.
    pub timeout: Duration,
    /// What it printed on stdout (at most 1 MiB).
    pub stdout: String,
    /// What it printed on stderr (at most 1 MiB).
    pub stderr: String,
    /// Processes of its group still alive after it exited, which were
    /// killed (only with `reap_group`).
    pub left_behind: bool,
}

/// How a finished child ended, when it was not killed at the timeout.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
}

impl<'a> Spec<'a> {
    /// `program argv...` with the defaults: stderr piped, no extra
    /// environment, what it leaves in its group left alone (Postfix's own
    /// daemons detach on purpose).
    pub fn new(program: &'a Path, argv: &'a [&'a str], timeout: Duration) -> Spec<'a> {
        Spec {
            program,
            argv,
            timeout,
            stderr: Stderr::Pipe,
            env: Vec::new(),
            reap_group: false,
        }
    }

    /// Where stderr goes.
    pub fn stderr(mut self, to: Stderr) -> Spec<'a> {
        self.stderr = to;
        self
    }

    /// Adds one variable to the otherwise fixed environment.
    pub fn env(mut self, key: &str, value: &str) -> Spec<'a> {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// After the child exits, kill whatever it left running in its process
    /// group (and say so in `Ended::left_behind`): a hook must not leave
    /// processes behind a root service.
    pub fn reap_group(mut self) -> Spec<'a> {
        self.reap_group = true;
        self
    }

    /// Runs it; an error only when it could not be started or waited for.
    pub fn run(self) -> Result<Ended> {
        use std::os::unix::process::CommandExt;
        use wait_timeout::ChildExt;
        let shown = format!("{} {}", self.program.display(), self.argv.join(" "))
            .trim_end()
            .to_owned();
        let mut cmd = Command::new(self.program);
        cmd.env_clear()
            .env("PATH", CHILD_PATH)
            .env("LC_ALL", "C")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .process_group(0)
            .args(self.argv);
        let terminal = match self.stderr {
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
        let group = Pid::from_raw(child.id() as i32);
        let started = Instant::now();
        let status = child
            .wait_timeout(self.timeout)
            .with_context(|| format!("waiting for `{shown}`"))?;
        let mut left_behind = false;
        if status.is_none() {
            let _ = killpg(group, Signal::SIGKILL);
            let _ = child.wait();
        } else if self.reap_group && killpg(group, None).is_ok() {
            // Signal 0 found a member: the child exited and left it.
            left_behind = true;
            let _ = killpg(group, Signal::SIGKILL);
        }
        // A grandchild that left the group may still hold a pipe open: take
        // what has come by the deadline rather than wait on it forever.
        let grace = self
            .timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_secs(1));
        let text = |rx: Receiver<Vec<u8>>| {
            let bytes = rx.recv_timeout(grace).unwrap_or_default();
            String::from_utf8_lossy(&bytes).replace('\r', "")
        };
        Ok(Ended {
            shown,
            status,
            timeout: self.timeout,
            stdout: text(out),
            stderr: text(err),
            left_behind,
        })
    }
}

impl Ended {
    /// The child finished by itself; an error naming the command when it
    /// was killed at the timeout.
    pub fn finished(self) -> Result<Finished> {
        let Some(status) = self.status else {
            bail!(
                "`{}` did not finish within {}s; it and the processes it started were killed",
                self.shown,
                self.timeout.as_secs()
            );
        };
        Ok(Finished {
            status,
            stdout: self.stdout,
            stderr: self.stderr,
        })
    }

    /// Its stdout when it exited 0, else an error with the command, its
    /// exit status and what it printed on stderr.
    pub fn into_stdout(self) -> Result<String> {
        let shown = self.shown.clone();
        let done = self.finished()?;
        if !done.status.success() {
            let detail = done.stderr.trim();
            bail!(
                "`{shown}` failed ({}){}{}",
                done.status,
                if detail.is_empty() { "" } else { ": " },
                detail
            );
        }
        Ok(done.stdout)
    }
}

/// Reads up to OUTPUT_LIMIT bytes, drains the rest, on its own thread so
/// a chatty child cannot block on a full pipe.
fn collect(mut from: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `sh -c script`, set up by `with`.
    fn sh(script: &str, timeout: Duration, with: impl FnOnce(Spec) -> Spec) -> Ended {
        let argv = ["-c", script];
        with(Spec::new(Path::new("/bin/sh"), &argv, timeout))
            .run()
            .unwrap()
    }

    #[test]
    fn the_environment_is_fixed_and_only_what_is_given_is_added() {
        let out = sh("env | sort", Duration::from_secs(10), |s| {
            s.env("DHROTATE_MODE", "named")
        })
        .into_stdout()
        .unwrap();
        let keys: Vec<&str> = out
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .filter(|k| !matches!(*k, "PWD" | "SHLVL" | "_"))
            .collect();
        assert_eq!(keys, ["DHROTATE_MODE", "LC_ALL", "PATH"], "{out}");
    }

    #[test]
    fn a_timeout_kills_the_group_and_says_so() {
        let t0 = Instant::now();
        let ended = sh("sleep 30 & sleep 30", Duration::from_secs(1), |s| s);
        assert!(ended.status.is_none());
        assert!(t0.elapsed() < Duration::from_secs(10));
        let err = ended.finished().unwrap_err().to_string();
        assert!(err.contains("did not finish within 1s"), "{err}");
    }

    #[test]
    fn what_a_child_leaves_in_its_group_is_killed_and_reported() {
        let marker = tempfile::NamedTempFile::new().unwrap();
        let script = format!(
            "sh -c 'sleep 2; echo alive > {}' >/dev/null 2>&1 & echo started",
            marker.path().display()
        );
        let ended = sh(&script, Duration::from_secs(10), |s| s.reap_group());
        assert!(ended.left_behind);
        assert_eq!(ended.stdout.trim(), "started");
        std::thread::sleep(Duration::from_secs(3));
        assert_eq!(std::fs::read_to_string(marker.path()).unwrap(), "");
        let ended = sh("true", Duration::from_secs(10), |s| s.reap_group());
        assert!(!ended.left_behind);
    }

    #[test]
    fn a_failure_carries_the_command_and_its_stderr() {
        let err = sh("echo broken >&2; exit 3", Duration::from_secs(10), |s| s)
            .into_stdout()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/bin/sh -c") && err.contains("broken"),
            "{err}"
        );
        assert!(err.contains("exit status: 3"), "{err}");
    }
}
