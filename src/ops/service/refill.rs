//! Refilling the group pool in the background, so the next rotation finds
//! groups ready instead of searching: `dhrotate [paths] -q pool fill` as a
//! child (it lowers its own priority). `now` starts it detached; the daemon
//! keeps the child to stop it on shutdown.

use std::ffi::OsString;
use std::process::{Command, Stdio};

use tracing::{info, warn};

/// The refill command line: this binary with the caller's paths.
#[derive(Debug, Clone)]
pub struct Refill {
    argv: Vec<OsString>,
}

impl Refill {
    /// `argv[0]` is the program; `None` for an empty argv.
    pub fn new(argv: Vec<OsString>) -> Option<Refill> {
        (!argv.is_empty()).then_some(Refill { argv })
    }

    /// The command, stdin and stdout closed (its errors still go to stderr),
    /// in a session of its own: where the kernel schedules sessions as
    /// groups (autogroup), the refill's session is one that `pool fill`
    /// can lower without lowering its starter, and it leaves the starter's
    /// terminal behind.
    pub fn command(&self) -> Command {
        use std::os::unix::process::CommandExt;
        let (exe, args) = self.argv.split_first().expect("argv has the program");
        let mut cmd = Command::new(exe);
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null());
        // SAFETY: setsid is async-signal-safe and touches no memory of the
        // parent's, as a pre_exec hook must.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid()
                    .map(drop)
                    .map_err(std::io::Error::from)
            });
        }
        cmd
    }

    /// Starts it and leaves it running, stderr closed too: it outlives a
    /// command whose terminal may be gone. Failure to start is only logged.
    pub fn spawn_detached(&self) {
        let mut cmd = self.command();
        cmd.stderr(Stdio::null());
        self.log_spawn(cmd.spawn().map(|c| c.id()));
    }

    /// Logs what became of a spawn of this command.
    pub fn log_spawn(&self, result: std::io::Result<u32>) {
        match result {
            Ok(pid) => info!(pid, "refilling the group pool in the background"),
            Err(e) => warn!(
                "cannot start the pool refill {}: {e}",
                self.argv[0].to_string_lossy()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The refill leads a session of its own (the sixth field of
    /// /proc/PID/stat is the session), which the test's is not.
    #[test]
    fn the_refill_leads_a_session_of_its_own() {
        let leads = "test \"$(cut -d' ' -f6 /proc/$$/stat)\" = $$";
        let refill = Refill::new(["/bin/sh", "-c", leads].map(OsString::from).to_vec())
            .expect("argv has a program");
        assert!(refill.command().status().unwrap().success());
        let mut plain = Command::new("/bin/sh");
        plain.args(["-c", leads]);
        assert!(
            !plain.status().unwrap().success(),
            "the check must tell them apart"
        );
    }
}
