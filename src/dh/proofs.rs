//! The verdict cache: the costly part of a validation (`validate::Proof`:
//! the strict primality tests of p and q, the generator's order, OpenSSL's
//! DH_check) recorded under the SHA-256 of the exact bytes it was made
//! from, in `state_dir/proofs.json`.
//!
//! A group file dhrotate wrote is proved before it is written; `status`,
//! `now`, the metrics and the posture read the same bytes again and again,
//! and a 3072-bit proof costs seconds. Keyed on content only: a file whose
//! bytes differ in any way (whatever its path, size or modification time)
//! is proved again. The cache is read under the configuration's trust
//! rules (owned by root or the user running dhrotate, writable by nobody
//! else, in a directory likewise) and written mode 0600; a cache that
//! fails them, does not parse, or was written by another dhrotate or
//! OpenSSL is ignored, and an entry that does not describe the group it
//! is filed under is not used. `check FILE`, the independent check, does
//! not use it.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::{Context, Result};
use openssl::dh::Dh;
use openssl::pkey::Params;
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use super::validate::{FromScratch, Proof, Prover, prove};
use crate::sys::fsutil::{self, FileMode};

/// The cache file's name in the state directory.
pub const FILE_NAME: &str = "proofs.json";

/// Entries kept: a pool and a few rotations' worth of groups. The oldest
/// go first.
const MAX_ENTRIES: usize = 256;

/// The proofs recorded in one state directory, and the ones made since.
pub struct Proofs {
    path: PathBuf,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    file: CacheFile,
    changed: bool,
}

#[derive(Default, Serialize, Deserialize)]
struct CacheFile {
    /// Who made the proofs: another dhrotate or OpenSSL proves again.
    prover: String,
    /// SHA-256 of the bytes proved, lowercase hex -> what was found.
    entries: BTreeMap<String, Entry>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Entry {
    /// When it was proved, Unix seconds.
    proved_at: u64,
    proof: Proof,
}

fn prover() -> String {
    format!(
        "dhrotate {} with {} and num-prime's strict tests",
        env!("CARGO_PKG_VERSION"),
        openssl::version::version()
    )
}

/// SHA-256 of `bytes`, lowercase hex: the cache's key.
pub fn key(bytes: &[u8]) -> String {
    super::validate::sha256_hex(bytes)
}

impl Proofs {
    /// The cache of `state_dir`, empty when there is none or it cannot be
    /// trusted (said in a warning naming the file and the fix).
    pub fn open(state_dir: &Path) -> Proofs {
        let path = state_dir.join(FILE_NAME);
        let file = match load(&path) {
            Ok(Some(file)) if file.prover == prover() => file,
            Ok(Some(file)) => {
                debug!(file = %path.display(), was = %file.prover, "verdict cache from another prover; proving again");
                CacheFile::default()
            }
            Ok(None) => CacheFile::default(),
            Err(e) => {
                warn!(
                    "ignoring the verdict cache: {e:#}; groups are proved again (remove {} to silence this)",
                    path.display()
                );
                CacheFile::default()
            }
        };
        Proofs {
            path,
            cache: Mutex::new(Cache {
                file,
                changed: false,
            }),
        }
    }

    /// The proof of `bytes` (which parse as `dh`), from the cache when
    /// these exact bytes were proved before (`true`), else made now and
    /// recorded (`false`).
    pub fn get_or_prove(&self, bytes: &[u8], dh: &Dh<Params>) -> (Proof, bool) {
        let key = key(bytes);
        if let Some(entry) = self.lock().file.entries.get(&key) {
            if entry.proof.describes(dh) {
                return (entry.proof.clone(), true);
            }
            warn!(file = %self.path.display(), key, "a cached proof does not describe the group filed under it; proving again");
        }
        let proof = prove(dh);
        self.record(key, proof.clone());
        (proof, false)
    }

    fn record(&self, key: String, proof: Proof) {
        let proved_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut cache = self.lock();
        cache.file.entries.insert(key, Entry { proved_at, proof });
        cache.changed = true;
    }

    /// Writes the proofs made since `open`, when there are any and the
    /// state directory exists and is ours (a user reading another's state
    /// proves for themselves).
    pub fn save(&self) -> Result<()> {
        let mut cache = self.lock();
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let ours = std::fs::metadata(dir)
            .is_ok_and(|m| m.is_dir() && m.uid() == nix::unistd::geteuid().as_raw());
        if !cache.changed || !ours {
            return Ok(());
        }
        cache.file.prover = prover();
        let entries = &mut cache.file.entries;
        while entries.len() > MAX_ENTRIES {
            let oldest = entries
                .iter()
                .min_by_key(|(_, e)| e.proved_at)
                .map(|(k, _)| k.clone())
                .expect("more than MAX_ENTRIES entries");
            entries.remove(&oldest);
        }
        let mut bytes = serde_json::to_vec(&cache.file).context("encoding the verdict cache")?;
        bytes.push(b'\n');
        let private = FileMode {
            mode: 0o600,
            owner: None,
        };
        fsutil::write_atomic(&self.path, &bytes, private)?;
        cache.changed = false;
        Ok(())
    }

    /// `save`, with a failure only logged: the cache saves time, it is
    /// never a reason for a command to fail.
    pub fn save_or_warn(&self) {
        if let Err(e) = self.save() {
            warn!("could not save the verdict cache: {e:#}");
        }
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        // A thread that panicked while holding it left at worst an extra
        // entry; the proofs in it are still proofs.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Prover for Proofs {
    fn proof(&self, bytes: &[u8], dh: &Dh<Params>) -> (Proof, bool) {
        self.get_or_prove(bytes, dh)
    }
}

/// The cache when there is one, else proofs made from scratch.
pub fn or_scratch(proofs: Option<&Proofs>) -> &dyn Prover {
    match proofs {
        Some(p) => p,
        None => &FromScratch,
    }
}

fn load(path: &Path) -> Result<Option<CacheFile>> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => {}
    }
    let bytes = fsutil::read_trusted(path)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn state() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    fn group() -> (Vec<u8>, Dh<Params>) {
        let dh = Dh::generate_params(512, 2).unwrap();
        (dh.params_to_pem().unwrap(), dh)
    }

    /// A proof that says the opposite of the truth about `dh`, as a
    /// tampered cache would.
    fn lie_about(dir: &Path, bytes: &[u8], dh: &Dh<Params>) {
        let mut proof = prove(dh);
        assert!(proof.p_prime && proof.q_prime);
        proof.q_prime = false;
        let mut file = CacheFile {
            prover: prover(),
            ..Default::default()
        };
        file.entries.insert(
            key(bytes),
            Entry {
                proved_at: 1,
                proof,
            },
        );
        let path = dir.join(FILE_NAME);
        std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    #[test]
    fn a_proof_is_reused_for_the_same_bytes_only() {
        let dir = state();
        let (bytes, dh) = group();
        let proofs = Proofs::open(dir.path());
        let (first, cached) = proofs.get_or_prove(&bytes, &dh);
        assert!(!cached && first.p_prime && first.q_prime);
        proofs.save().unwrap();
        let meta = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);

        let again = Proofs::open(dir.path());
        assert_eq!(again.get_or_prove(&bytes, &dh), (first, true));
        // The same group, other bytes (a trailing newline): proved again.
        let mut other = bytes.clone();
        other.push(b'\n');
        assert!(!again.get_or_prove(&other, &dh).1);
    }

    #[test]
    fn a_trusted_cache_is_believed_and_an_untrusted_one_is_not() {
        let dir = state();
        let (bytes, dh) = group();
        lie_about(dir.path(), &bytes, &dh);
        // Believed as it stands: the test's lie is what a reader gets.
        let (proof, cached) = Proofs::open(dir.path()).get_or_prove(&bytes, &dh);
        assert!(cached && !proof.q_prime);

        let path = dir.path().join(FILE_NAME);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o622)).unwrap();
        let (proof, cached) = Proofs::open(dir.path()).get_or_prove(&bytes, &dh);
        assert!(!cached && proof.q_prime, "a group-writable cache was used");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let (proof, cached) = Proofs::open(dir.path()).get_or_prove(&bytes, &dh);
        assert!(
            !cached && proof.q_prime,
            "a cache in a world-writable directory was used"
        );
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();

        if nix::unistd::geteuid().is_root() {
            std::os::unix::fs::chown(&path, Some(4242), None).unwrap();
            let (proof, cached) = Proofs::open(dir.path()).get_or_prove(&bytes, &dh);
            assert!(!cached && proof.q_prime, "a foreign-owned cache was used");
        }
    }

    #[test]
    fn a_proof_filed_under_another_groups_bytes_is_not_used() {
        let dir = state();
        let (bytes, dh) = group();
        let (other_bytes, other) = group();
        // The proof of one group, filed under the other's key.
        let proofs = Proofs::open(dir.path());
        let (proof, _) = proofs.get_or_prove(&bytes, &dh);
        proofs.record(key(&other_bytes), proof);
        let (proof, cached) = proofs.get_or_prove(&other_bytes, &other);
        assert!(!cached);
        assert!(proof.describes(&other) && !proof.describes(&dh));
    }

    #[test]
    fn garbage_symlinks_and_other_provers_are_ignored() {
        let dir = state();
        let (bytes, dh) = group();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, b"{ not json").unwrap();
        assert!(!Proofs::open(dir.path()).get_or_prove(&bytes, &dh).1);

        lie_about(dir.path(), &bytes, &dh);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("dhrotate ", "dhrotate 0.0.0 ")).unwrap();
        assert!(!Proofs::open(dir.path()).get_or_prove(&bytes, &dh).1);

        let real = dir.path().join("elsewhere.json");
        lie_about(dir.path(), &bytes, &dh);
        std::fs::rename(&path, &real).unwrap();
        std::os::unix::fs::symlink(&real, &path).unwrap();
        assert!(!Proofs::open(dir.path()).get_or_prove(&bytes, &dh).1);
    }

    #[test]
    fn the_oldest_entries_go_when_the_cache_is_full() {
        let dir = state();
        let (_, dh) = group();
        let proofs = Proofs::open(dir.path());
        let proof = prove(&dh);
        for i in 0..(MAX_ENTRIES + 3) {
            let mut cache = proofs.lock();
            cache.file.entries.insert(
                format!("{i:064x}"),
                Entry {
                    proved_at: i as u64,
                    proof: proof.clone(),
                },
            );
            cache.changed = true;
        }
        proofs.save().unwrap();
        let file = load(&dir.path().join(FILE_NAME)).unwrap().unwrap();
        assert_eq!(file.entries.len(), MAX_ENTRIES);
        assert!(!file.entries.contains_key(&format!("{:064x}", 2)));
        assert!(file.entries.contains_key(&format!("{:064x}", 3)));
    }
}
