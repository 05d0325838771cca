//! The verdict cache (`state_dir/proofs.json`): a group file is proved
//! once for its exact bytes; other bytes are proved again whatever else
//! about the file stays the same, and a cache that is not root's alone is
//! not believed.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common::*;

fn status(cfg: &Path) -> (serde_json::Value, String) {
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "status", "--json"]);
    assert!(matches!(out.status.code(), Some(0 | 6)), "{}", show(&out));
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// (valid, proof_cached) of group `name` in a `status --json`.
fn group(v: &serde_json::Value, name: &str) -> (bool, bool) {
    let g = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .unwrap_or_else(|| panic!("no group {name} in {v:#}"));
    (
        g["valid"].as_bool().unwrap(),
        g["proof_cached"].as_bool().unwrap(),
    )
}

/// Overwrites `at` bytes in place: same inode, size, owner and mode, and
/// the modification time put back.
fn poke(path: &Path, at: usize, bytes: &[u8]) {
    use std::io::{Seek, SeekFrom, Write};
    let before = std::fs::metadata(path).unwrap();
    let mut f = std::fs::File::options().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(at as u64)).unwrap();
    f.write_all(bytes).unwrap();
    f.set_modified(before.modified().unwrap()).unwrap();
    drop(f);
    let after = std::fs::metadata(path).unwrap();
    assert_eq!(
        (
            after.ino(),
            after.len(),
            after.mode(),
            after.uid(),
            after.mtime(),
            after.mtime_nsec()
        ),
        (
            before.ino(),
            before.len(),
            before.mode(),
            before.uid(),
            before.mtime(),
            before.mtime_nsec()
        )
    );
}

#[test]
fn a_file_is_proved_again_when_its_bytes_change_and_an_untrusted_cache_is_ignored() {
    let (base, inst) = instance("verdict-cache", false);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    assert!(out.status.success(), "{}", show(&out));
    let cache = base.join("state/proofs.json");
    let meta = std::fs::metadata(&cache).unwrap();
    assert_eq!(
        (meta.mode() & 0o777, meta.uid()),
        (0o600, nix::unistd::geteuid().as_raw())
    );

    // Proved when written: status proves nothing again.
    let (v, _) = status(&cfg);
    assert_eq!(group(&v, "main"), (true, true), "{v:#}");
    assert_eq!(group(&v, "submission"), (true, true), "{v:#}");

    // One character of the prime changed in place: proved again, refused.
    let file = inst.config_dir.join("dh1024.pem");
    let original = std::fs::read(&file).unwrap();
    let at = original.len() / 2;
    let flipped = if original[at] == b'A' { b'B' } else { b'A' };
    poke(&file, at, &[flipped]);
    let (v, _) = status(&cfg);
    assert_eq!(group(&v, "main"), (false, false), "{v:#}");
    let (v, _) = status(&cfg);
    assert_eq!(group(&v, "main"), (false, true), "{v:#}");

    // A cache that says the changed file is a safe prime (the proof of the
    // real one, filed under the changed bytes' key) is believed only if
    // it is root's alone; group-writable or another user's, it is not.
    let changed = std::fs::read(&file).unwrap();
    let key = dhrotate::dh::proofs::key(&changed);
    let real = dhrotate::dh::proofs::key(&original);
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    let mut lie = doc["entries"][&real].clone();
    lie["proof"]["fingerprint"] = file_fingerprint_of(&changed).into();
    doc["entries"][&key] = lie;
    std::fs::write(&cache, serde_json::to_vec(&doc).unwrap()).unwrap();
    for (mode, owner, why) in [
        (0o620, None, "group-writable"),
        (0o600, Some(4242), "owned by uid 4242"),
    ] {
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(mode)).unwrap();
        std::os::unix::fs::chown(&cache, owner.or(Some(0)), None).unwrap();
        let (v, err) = status(&cfg);
        assert_eq!(group(&v, "main"), (false, false), "{why}: {v:#}");
        assert!(err.contains("ignoring the verdict cache"), "{why}: {err}");
        assert!(err.contains(cache.to_str().unwrap()), "{why}: {err}");
    }

    // The original bytes again, in place: their proof is still there.
    std::fs::remove_file(&cache).unwrap();
    poke(&file, at, &original[at..=at]);
    let (v, _) = status(&cfg);
    assert_eq!(group(&v, "main"), (true, false), "{v:#}");
    let (v, _) = status(&cfg);
    assert_eq!(group(&v, "main"), (true, true), "{v:#}");

    // `check FILE` is the independent check: it proves from scratch.
    let out = dhrotate(&["check", "--json", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.to_string().contains("\"p_prime\":true"), "{v:#}");
    assert!(!v.to_string().contains("\"cached\""), "{v:#}");
}

/// SHA-256 of the prime in PEM bytes, as dhrotate computes it.
fn file_fingerprint_of(pem: &[u8]) -> String {
    let dh = dhrotate::dh::pem::parse(pem).unwrap();
    dhrotate::dh::validate::fingerprint(dh.prime_p())
}
