//! The group pool: validated, never-served groups kept ready per size in
//! the state directory, so a rotation takes one in a moment instead of
//! waiting on a safe-prime search. A group is taken by renaming its file to
//! a name only the taker knows: the rename is atomic, so two takers can
//! never get the same group.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use openssl::dh::Dh;
use openssl::pkey::Params;
use tracing::warn;

use super::validate::ValidGroup;
use crate::sys::fsutil::{self, FileMode};

/// The pool under a state directory.
#[derive(Debug, Clone)]
pub struct Pool {
    dir: PathBuf,
}

impl Pool {
    /// The pool in `state_dir/pool`.
    pub fn new(state_dir: &Path) -> Pool {
        Pool {
            dir: state_dir.join("pool"),
        }
    }

    fn bits_dir(&self, bits: u32) -> PathBuf {
        self.dir.join(bits.to_string())
    }

    /// Removes what interrupted pool users left: claims (`.taken-PID-…`)
    /// whose process is gone, and temp files older than an hour (a live
    /// writer needs milliseconds for a group; a younger temp may be one).
    /// Returns how many went.
    pub fn clean_stale(&self) -> Result<usize> {
        let dirs = match std::fs::read_dir(&self.dir) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e).with_context(|| format!("listing {}", self.dir.display())),
        };
        let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let mut removed = 0;
        for d in dirs.flatten().filter(|d| d.path().is_dir()) {
            for e in std::fs::read_dir(d.path())
                .with_context(|| format!("listing {}", d.path().display()))?
                .flatten()
            {
                let name = e.file_name().to_string_lossy().into_owned();
                let dead_claim = name
                    .strip_prefix(".taken-")
                    .and_then(|r| r.split('-').next())
                    .and_then(|pid| pid.parse::<i32>().ok())
                    .is_some_and(|pid| {
                        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
                            == Err(nix::errno::Errno::ESRCH)
                    });
                let old_temp = name.starts_with(".dhrotate-")
                    && name.ends_with(".tmp")
                    && e.metadata()
                        .and_then(|m| m.modified())
                        .is_ok_and(|t| t < hour_ago);
                if dead_claim || old_temp {
                    std::fs::remove_file(e.path())
                        .with_context(|| format!("removing stale {}", e.path().display()))?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Groups ready for `bits`, oldest first.
    fn entries(&self, bits: u32) -> Result<Vec<PathBuf>> {
        let dir = self.bits_dir(bits);
        let read = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
        for e in read {
            let e = e.with_context(|| format!("listing {}", dir.display()))?;
            let name = e.file_name();
            let name = name.to_string_lossy();
            if name.ends_with(".pem") && !name.starts_with('.') {
                let mtime = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                files.push((mtime, e.path()));
            }
        }
        files.sort();
        Ok(files.into_iter().map(|(_, p)| p).collect())
    }

    /// How many groups of `bits` are ready.
    pub fn count(&self, bits: u32) -> Result<usize> {
        Ok(self.entries(bits)?.len())
    }

    /// Groups ready per size: (bits, count) for each of `sizes`.
    pub fn ready(&self, sizes: &[u32]) -> Result<Vec<(u32, usize)>> {
        sizes
            .iter()
            .map(|&bits| Ok((bits, self.count(bits)?)))
            .collect()
    }

    /// Adds a validated group.
    pub fn put(&self, bits: u32, group: &ValidGroup) -> Result<PathBuf> {
        let dir = self.bits_dir(bits);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("creating {}", dir.display()))?;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("setting mode of {}", self.dir.display()))?;
        let path = dir.join(format!("{}.pem", &group.verdict.proof.fingerprint[..32]));
        fsutil::write_atomic(&path, &group.pem, FileMode::PUBLIC)?;
        Ok(path)
    }

    /// Takes one group of `bits` out of the pool, or `None` when empty.
    /// Files that no longer parse are removed with a warning; the caller
    /// validates what it gets, as with any other source.
    pub fn take(&self, bits: u32) -> Result<Option<Dh<Params>>> {
        for path in self.entries(bits)? {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let claimed = path.with_file_name(format!(".taken-{}-{name}", std::process::id()));
            match std::fs::rename(&path, &claimed) {
                Ok(()) => {}
                // Someone else took it first.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).with_context(|| format!("claiming {}", path.display())),
            }
            let bytes = fsutil::read_regular(&claimed);
            std::fs::remove_file(&claimed)
                .with_context(|| format!("removing {}", claimed.display()))?;
            match bytes.map(|b| super::pem::parse(&b)) {
                Ok(Ok(dh)) => return Ok(Some(dh)),
                Ok(Err(e)) => warn!(file = %path.display(), "dropping unreadable pool entry: {e}"),
                Err(e) => warn!(file = %path.display(), "dropping unreadable pool entry: {e:#}"),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dh::{Acceptance, Catalog, validate};

    fn group(bits: u32) -> ValidGroup {
        let dh = Dh::generate_params(bits, 2).unwrap();
        let policy = Acceptance {
            expected_bits: Some(bits),
            min_bits: bits,
            named: false,
        };
        validate::accept(
            &dh,
            "test",
            &policy,
            &Catalog::embedded(),
            &validate::FromScratch,
        )
        .unwrap()
    }

    #[test]
    fn dead_claims_and_old_temps_are_cleaned_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::new(dir.path());
        let d = dir.path().join("pool/1024");
        std::fs::create_dir_all(&d).unwrap();
        let mine = d.join(format!(".taken-{}-a.pem", std::process::id()));
        // PIDs above the kernel's pid_max (4194304) never exist.
        let dead = d.join(".taken-99999999-b.pem");
        let fresh_temp = d.join(".dhrotate-new.tmp");
        let old_temp = d.join(".dhrotate-old.tmp");
        for p in [&mine, &dead, &fresh_temp, &old_temp] {
            std::fs::write(p, b"x").unwrap();
        }
        std::fs::File::options()
            .write(true)
            .open(&old_temp)
            .unwrap()
            .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200))
            .unwrap();
        assert_eq!(pool.clean_stale().unwrap(), 2);
        assert!(mine.exists() && fresh_temp.exists());
        assert!(!dead.exists() && !old_temp.exists());
    }

    #[test]
    fn concurrent_takers_never_get_the_same_group() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::new(dir.path());
        let mut put = Vec::new();
        for _ in 0..12 {
            let g = group(512);
            pool.put(512, &g).unwrap();
            put.push(g.verdict.proof.fingerprint);
        }
        assert_eq!(pool.count(512).unwrap(), 12);
        let taken: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        while let Some(dh) = pool.take(512).unwrap() {
                            mine.push(validate::fingerprint(dh.prime_p()));
                        }
                        mine
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let mut unique = taken.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), taken.len(), "a group was handed out twice");
        put.sort();
        assert_eq!(unique, put, "every group handed out exactly once");
        assert_eq!(pool.count(512).unwrap(), 0);
        assert!(pool.take(512).unwrap().is_none());
    }
}
