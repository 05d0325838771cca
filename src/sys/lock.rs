//! The run lock: one rotation at a time per state directory.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};

use crate::error::Failure;

/// Holds an exclusive `flock` until dropped.
#[derive(Debug)]
pub struct RunLock {
    _lock: Flock<File>,
}

impl RunLock {
    /// Takes the lock at `path`, waiting up to `wait`; `Failure::Locked` after that.
    pub fn acquire(path: &Path, wait: Duration) -> Result<RunLock> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(OFlag::O_NOFOLLOW.bits())
            .open(path)
            .with_context(|| format!("opening lock file {}", path.display()))?;
        let deadline = Instant::now() + wait;
        // flock(2) through nix: std's File::try_lock needs Rust 1.89.
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(lock) => return Ok(RunLock { _lock: lock }),
                Err((f, Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                    file = f;
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err((_, Errno::EWOULDBLOCK)) => {
                    return Err(Failure::Locked(path.to_path_buf()).into());
                }
                Err((_, e)) => {
                    return Err(e).with_context(|| format!("locking {}", path.display()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_told_locked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let first = RunLock::acquire(&p, Duration::ZERO).unwrap();
        let err = RunLock::acquire(&p, Duration::from_millis(200)).unwrap_err();
        assert_eq!(
            err.downcast_ref::<crate::error::Failure>()
                .map_or(1, crate::error::Failure::exit_code),
            5
        );
        drop(first);
        RunLock::acquire(&p, Duration::ZERO).unwrap();
    }
}
