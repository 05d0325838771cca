//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The real Postfix tools must be here: these tests never skip. The test
/// command in README.md (scripts/test.sh) installs Postfix first.
pub fn require_postfix() {
    assert!(
        Path::new("/usr/sbin/postconf").exists() && Path::new("/usr/sbin/postfix").exists(),
        "Postfix is not installed; run the suite with scripts/test.sh, which installs it"
    );
}

/// Runs `postconf -c DIR ARGS`; (success, stdout, stderr).
pub fn postconf(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("/usr/sbin/postconf")
        .arg("-c")
        .arg(dir)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .expect("running postconf");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The dhrotate binary with a clean environment: nothing the test runner
/// was started with (a `DHROTATE_CONFIG`, a `RUST_LOG`) reaches it.
pub fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dhrotate"));
    c.env_remove("DHROTATE_CONFIG").env_remove("RUST_LOG");
    c
}

/// Runs the dhrotate binary.
pub fn dhrotate(args: &[&str]) -> Output {
    command().args(args).output().expect("running dhrotate")
}

/// Runs dhrotate with `--config CFG` and `args`.
pub fn with_config(cfg: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--config", cfg.to_str().unwrap()];
    all.extend_from_slice(args);
    dhrotate(&all)
}

/// `now --json` with `extra` flags: the exit code, the document (which
/// must be schema 1 and carry the same exit code) and stderr.
pub fn now_json(cfg: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let mut args = vec!["now", "--json"];
    args.extend_from_slice(extra);
    let out = with_config(cfg, &args);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", show(&out)));
    assert_eq!(doc["schema"], 1, "{doc:#}");
    assert_eq!(
        doc["exit_code"].as_i64(),
        out.status.code().map(i64::from),
        "{doc:#}"
    );
    (
        out.status.code(),
        doc,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Exit code, stdout and stderr of a finished run, for messages.
pub fn show(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A fresh directory for one test. Not under target/: a private Postfix
/// lives in some, and the postfix user may not pass through the checkout's
/// parents (a clone under /root is 0700). Not /tmp: Postfix checks the
/// path's owners. So /var/tmp/dhrotate-tests-UID, which must be ours.
pub fn scratch(name: &str) -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let uid = nix::unistd::geteuid().as_raw();
    let root = PathBuf::from(format!("/var/tmp/dhrotate-tests-{uid}"));
    if std::fs::create_dir(&root).is_ok() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let m = std::fs::symlink_metadata(&root).unwrap();
    assert!(
        m.is_dir() && m.uid() == uid,
        "{} is not a directory of uid {uid}: remove it",
        root.display()
    );
    let base = root.join(format!("{name}-{}", std::process::id()));
    if base.exists() {
        std::fs::remove_dir_all(&base).unwrap();
    }
    std::fs::create_dir_all(&base).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
    base
}

/// Runs `now` with `cfg`, asserts exit `code`, every needle in stderr,
/// and Postfix's config dir `dir` byte-identical; returns stderr.
#[allow(dead_code)]
pub fn now_refused(dir: &Path, cfg: &Path, code: i32, needles: &[&str]) -> String {
    let before = snapshot_tree(dir);
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    assert_eq!(out.status.code(), Some(code), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in\n{}", show(&out));
    }
    assert_eq!(snapshot_tree(dir), before, "files changed");
    err
}

/// Prints a test's measurements and keeps them in
/// `target/tmp/reports/NAME.txt`, which scripts/test.sh shows after the
/// run (cargo test hides the output of tests that pass).
#[allow(dead_code)]
pub fn report(name: &str, text: &str) {
    eprintln!("{text}");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reports");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.txt")), format!("{text}\n")).unwrap();
}

/// Every regular file under `dir` with its bytes, sorted by path.
pub fn snapshot_tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Collapses whitespace runs, the way Postfix splits list values.
pub fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Writes a file and dates it 10 s back: Postfix waits (300 ms at a time)
/// for a config file whose mtime is the current second to settle.
pub fn write_settled(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    backdate(path, std::time::Duration::from_secs(10));
}

/// Sets a file's mtime `age` into the past.
pub fn backdate(path: &Path, age: std::time::Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - age)
        .unwrap();
}

/// A dhrotate.toml for a private instance: explicit mode, a main.cf group
/// of `main_bits` and a `sub_bits` group for the submission listener.
pub fn instance_config(
    base: &Path,
    inst: &dhrotate::testbed::instance::PrivatePostfix,
    main_bits: u32,
    sub_bits: u32,
    extra: &str,
) -> PathBuf {
    let cfg = base.join("dhrotate.toml");
    let text = format!(
        "mode = \"explicit\"\n\
         postfix_config_dir = \"{}\"\n\
         state_dir = \"{}\"\n\
         min_bits = {}\n\
         lock_wait = \"0s\"\n\
         {extra}\n\
         [[group]]\nname = \"main\"\nbits = {main_bits}\nfile = \"dh{main_bits}.pem\"\nuse = [\"main.cf\"]\n\n\
         [[group]]\nname = \"submission\"\nbits = {sub_bits}\nfile = \"dh{sub_bits}-submission.pem\"\nuse = [\"{}\"]\n\n\
         # No background pool refills: tests measure nothing and share 2 cores.\n\
         [pool]\nsize = 0\n",
        inst.config_dir.display(),
        base.join("state").display(),
        main_bits.min(sub_bits).max(1024),
        inst.submission_service(),
    );
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// SHA-256 of the prime in a PEM file, as dhrotate computes it.
pub fn file_fingerprint(path: &Path) -> String {
    let dh = dhrotate::dh::pem::parse(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    dhrotate::dh::validate::fingerprint(dh.prime_p())
}

/// The group a listener serves, retrying while Postfix restarts smtpd.
pub fn served(port: u16) -> dhrotate::probe::ServedGroup {
    let addr = format!("127.0.0.1:{port}");
    dhrotate::probe::retry(
        &addr,
        dhrotate::probe::Wrap::StartTls,
        std::time::Duration::from_secs(10),
        None,
        |_| true,
    )
    .unwrap_or_else(|e| panic!("probing {addr}: {e:#}"))
}

/// A scratch directory `name` holding a private Postfix instance under
/// `pf/`; started when `start`. Stopped when the instance is dropped.
pub fn instance(name: &str, start: bool) -> (PathBuf, dhrotate::testbed::instance::PrivatePostfix) {
    require_postfix();
    let base = scratch(name);
    let mut inst = dhrotate::testbed::instance::PrivatePostfix::create(&base.join("pf")).unwrap();
    if start {
        inst.start().unwrap();
    }
    (base, inst)
}

/// Writes an executable script (a stand-in for `postfix` or `postconf`
/// that injects a failure, then hands over to the real one), mode 0755.
pub fn executable(path: &Path, text: impl AsRef<[u8]>) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
