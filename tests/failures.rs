//! Injected failures leave every file byte-identical and exit with
//! docs/DESIGN.md's codes: a configuration that fails `postfix check` before any
//! edit (exit 2, Postfix's reason shown), `postfix check` failing after the
//! edit, `postfix reload` failing or
//! hanging past `[postfix] timeout` (exit 4, rolled back); a write the
//! filesystem refuses: immutable file, full filesystem (ENOSPC on a small
//! tmpfs), read-only filesystem, no permission (run as nobody) (exit 1);
//! postconf missing (exit 1). A stopped Postfix is not a failure: the files
//! are installed and read at its next start.
//!
//! Slow (about 120 s here): every case is a fresh private Postfix and a
//! full run, and a hanging reload is only over when `[postfix] timeout`
//! (3 s) ends it.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use dhrotate::testbed::instance::PrivatePostfix;

/// A `postfix` that fails the one subcommand named, and is the real one otherwise.
fn failing_postfix(dir: &Path, sub: &str) -> PathBuf {
    let path = dir.join(format!("postfix-failing-{sub}"));
    common::executable(
        &path,
        format!(
            "#!/bin/sh\n# argv: -c DIR SUBCOMMAND\nif [ \"$3\" = {sub} ]; then\n  echo \"postfix: fatal: injected {sub} failure\" >&2\n  exit 1\nfi\nexec /usr/sbin/postfix \"$@\"\n"
        ),
    );
    path
}

/// One instance with a completed first rotation, so there are old groups to keep.
fn rotated_instance(name: &str, extra: &str) -> (PathBuf, PrivatePostfix, PathBuf) {
    let (base, inst) = instance(name, true);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    assert!(out.status.success(), "{}", show(&out));
    let cfg = instance_config(&base, &inst, 1024, 1024, extra);
    (base, inst, cfg)
}

/// A `postfix` whose `check` passes once (dhrotate's look before it edits)
/// and fails from then on, like a check the edit itself broke.
fn check_fails_after_the_edit(dir: &Path) -> PathBuf {
    let path = dir.join("postfix-check-fails-second-time");
    let count = dir.join("checks");
    common::executable(
        &path,
        format!(
            "#!/bin/sh
if [ \"$3\" = check ]; then
  echo x >> {c}
  if [ \"$(wc -l < {c})\" -gt 1 ]; then
    echo \"postfix: fatal: injected check failure\" >&2
    exit 1
  fi
fi
exec /usr/sbin/postfix \"$@\"\n",
            c = count.display()
        ),
    );
    path
}

#[test]
fn a_configuration_that_already_fails_check_is_refused_untouched_with_exit_2() {
    let dir = scratch("inject-bin-precheck");
    let fake = failing_postfix(&dir, "check");
    let extra = format!("[postfix]\npostfix = \"{}\"\n", fake.display());
    let (_base, inst, cfg) = rotated_instance("fail-precheck", &extra);
    let err = now_refused(
        &inst.config_dir,
        &cfg,
        2,
        &[
            "`postfix check` already fails, before any change by dhrotate",
            "injected check failure",
            "nothing was changed",
        ],
    );
    assert!(!err.contains("rejected the new configuration"), "{err}");
}

#[test]
fn a_real_check_failure_says_postfixs_reason() {
    // Postfix prints its reason only to a terminal; dhrotate gives it one.
    let (base, inst) = instance("precheck-reason", false);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let main_cf = inst.config_dir.join("main.cf");
    let mut text = std::fs::read_to_string(&main_cf).unwrap();
    text.push_str("queue_directory = /nonexistent-queue-dir\n");
    std::fs::write(&main_cf, text).unwrap();
    now_refused(
        &inst.config_dir,
        &cfg,
        2,
        &[
            "`postfix check` already fails",
            "chdir(/nonexistent-queue-dir): No such file or directory",
        ],
    );
}

#[test]
fn failing_postfix_check_rolls_back_every_file_and_exits_4() {
    let dir = scratch("inject-bin-check");
    let fake = check_fails_after_the_edit(&dir);
    let extra = format!("[postfix]\npostfix = \"{}\"\n", fake.display());
    let (_base, inst, cfg) = rotated_instance("fail-check", &extra);
    let before = snapshot_tree(&inst.config_dir);
    let served_before = served(inst.smtp_port);

    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    assert_eq!(out.status.code(), Some(4), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`postfix check` rejected the new configuration"),
        "{err}"
    );
    assert!(err.contains("injected check failure"), "{err}");
    assert!(err.contains("restored to its previous bytes"), "{err}");
    assert_eq!(snapshot_tree(&inst.config_dir), before, "files changed");
    assert_eq!(
        served(inst.smtp_port).fingerprint,
        served_before.fingerprint
    );
}

#[test]
fn failing_postfix_reload_rolls_back_reloads_the_old_files_and_exits_4() {
    let dir = scratch("inject-bin-reload");
    let fake = failing_postfix(&dir, "reload");
    let extra = format!("[postfix]\npostfix = \"{}\"\n", fake.display());
    let (_base, inst, cfg) = rotated_instance("fail-reload", &extra);
    let before = snapshot_tree(&inst.config_dir);
    let served_before = served(inst.submission_port);

    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    assert_eq!(out.status.code(), Some(4), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`postfix reload` failed"), "{err}");
    assert!(err.contains("injected reload failure"), "{err}");
    assert_eq!(snapshot_tree(&inst.config_dir), before, "files changed");
    assert_eq!(
        served(inst.submission_port).fingerprint,
        served_before.fingerprint
    );
    // The failure is on record for `status` and monitoring.
    let state = std::fs::read_to_string(_base.join("state/state.json")).unwrap();
    assert!(state.contains("failed: "), "{state}");
}

#[test]
fn refused_write_rolls_back_the_files_already_written_and_exits_1() {
    let (_base, inst, cfg) = rotated_instance("fail-write", "");
    // The DH files and main.cf get written first; master.cf is immutable,
    // so its rename fails after other files already changed.
    let master = inst.config_dir.join("master.cf");
    let before = snapshot_tree(&inst.config_dir);
    let chattr = |flag: &str| {
        let s = Command::new("chattr")
            .arg(flag)
            .arg(&master)
            .status()
            .expect("chattr");
        assert!(
            s.success(),
            "chattr {flag} failed: the filesystem must support it"
        );
    };
    // Force a master.cf edit: point the submission group at a new file name.
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("dh1024-submission.pem", "dh1024-sub2.pem");
    std::fs::write(&cfg, text).unwrap();
    chattr("+i");
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    chattr("-i");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("over {}", master.display())), "{err}");
    assert!(err.contains("restored to its previous bytes"), "{err}");
    assert_eq!(snapshot_tree(&inst.config_dir), before, "files changed");
}

#[test]
fn stopped_postfix_is_not_reloaded_but_files_are_installed() {
    let (_base, mut inst, cfg) = rotated_instance("stopped", "");
    inst.stop().unwrap();
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("Postfix is not running: it reads the new files when it starts"),
        "{}",
        show(&out)
    );
}

/// A `postfix` whose reload reports success but does nothing.
fn lying_reload(dir: &Path) -> PathBuf {
    let path = dir.join("postfix-noop-reload");
    common::executable(
        &path,
        "#!/bin/sh\nif [ \"$3\" = reload ]; then exit 0; fi\nexec /usr/sbin/postfix \"$@\"\n",
    );
    path
}

#[test]
fn a_reload_that_does_not_take_effect_is_caught_by_verification() {
    let dir = scratch("inject-bin-noop");
    let fake = lying_reload(&dir);
    let extra = format!("[postfix]\npostfix = \"{}\"\n", fake.display());
    let (base, inst, cfg) = rotated_instance("verify-mismatch", &extra);
    // An idle smtpd with the current group is there to take the next connection.
    let old = served(inst.smtp_port).fingerprint;

    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    assert_eq!(out.status.code(), Some(12), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the new groups are installed and Postfix was reloaded, but"),
        "{err}"
    );
    assert!(
        err.contains(&format!("sha256(p) {old}) instead of group")),
        "{err}"
    );
    let state = std::fs::read_to_string(base.join("state/state.json")).unwrap();
    assert!(state.contains("verification failed"), "{state}");

    // verify = "warn": the same finding, reported, exit 0.
    let cfg = instance_config(
        &base,
        &inst,
        1024,
        1024,
        &format!("{extra}[reload]\nverify = \"warn\"\n"),
    );
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("MISMATCH: "),
        "{}",
        show(&out)
    );
}

/// The instance's config dir moved onto a small tmpfs (mode 0755, like
/// /etc/postfix), unmounted again on drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn over(dir: &Path) -> Tmpfs {
        let keep = dir.with_extension("orig");
        let cp = |from: &Path, to: &Path| {
            let s = Command::new("cp")
                .arg("-a")
                .arg(format!("{}/.", from.display()))
                .arg(to)
                .status()
                .unwrap();
            assert!(s.success());
        };
        std::fs::create_dir_all(&keep).unwrap();
        cp(dir, &keep);
        let s = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount");
        assert!(s.success(), "mounting a tmpfs needs root");
        cp(&keep, dir);
        Tmpfs {
            dir: dir.to_owned(),
        }
    }

    fn remount(&self, opts: &str) {
        let s = Command::new("mount")
            .args(["-o", opts])
            .arg(&self.dir)
            .status()
            .unwrap();
        assert!(s.success());
    }

    /// Writes a filler until the filesystem is full.
    fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.dir.join("filler")).unwrap();
        let block = [0u8; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

#[test]
fn a_full_filesystem_fails_the_write_and_changes_nothing() {
    let (_base, inst, cfg) = rotated_instance("fault-enospc", "");
    let fs = Tmpfs::over(&inst.config_dir);
    fs.fill();
    let dir = inst.config_dir.display().to_string();
    now_refused(
        &inst.config_dir,
        &cfg,
        1,
        &["No space left on device", &dir],
    );
}

#[test]
fn a_read_only_filesystem_fails_the_write_and_changes_nothing() {
    let (_base, inst, cfg) = rotated_instance("fault-erofs", "");
    let fs = Tmpfs::over(&inst.config_dir);
    fs.remount("remount,ro");
    let dir = inst.config_dir.display().to_string();
    now_refused(&inst.config_dir, &cfg, 1, &["Read-only file system", &dir]);
    fs.remount("remount,rw");
}

#[test]
fn without_permission_to_write_it_fails_and_changes_nothing() {
    // An administrator running dhrotate without root: `postfix check`,
    // tried before any change, says it is reserved for the superuser
    // (exit 2). With a check that passes, the run gets as far as writing
    // the first file, which the kernel refuses (EACCES, exit 1). Built
    // under /tmp with a copy of the binary, because `nobody` may not be
    // able to enter the checkout (it may live under /root).
    require_postfix();
    let tmp = tempfile::Builder::new()
        .prefix("dhrotate-eacces-")
        .tempdir_in("/tmp")
        .unwrap();
    let base = tmp.path();
    std::fs::set_permissions(base, std::fs::Permissions::from_mode(0o755)).unwrap();
    let inst = PrivatePostfix::create(&base.join("pf")).unwrap();
    let cfg = instance_config(base, &inst, 1024, 1024, "");
    let bin = base.join("dhrotate");
    std::fs::copy(env!("CARGO_BIN_EXE_dhrotate"), &bin).unwrap();
    let state = base.join("state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    let s = Command::new("chown")
        .args(["nobody:nogroup"])
        .arg(&state)
        .status()
        .unwrap();
    assert!(s.success());
    let before = snapshot_tree(&inst.config_dir);
    let as_nobody = |cfg: &Path| {
        Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(&bin)
            .args(["--config", cfg.to_str().unwrap(), "now"])
            .current_dir(base)
            .env_remove("DHROTATE_CONFIG")
            .output()
            .expect("setpriv (util-linux)")
    };
    let out = as_nobody(&cfg);
    let text = show(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("reserved for the superuser"), "{text}");
    assert_eq!(snapshot_tree(&inst.config_dir), before, "files changed");

    let passes = base.join("postfix-check-passes");
    common::executable(&passes, "#!/bin/sh\nexit 0\n");
    let extra = format!("[postfix]\npostfix = \"{}\"\n", passes.display());
    let cfg = instance_config(base, &inst, 1024, 1024, &extra);
    let out = as_nobody(&cfg);
    let text = show(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Permission denied"), "{text}");
    assert!(
        text.contains(&inst.config_dir.display().to_string()),
        "{text}"
    );
    assert_eq!(snapshot_tree(&inst.config_dir), before, "files changed");
}

#[test]
fn a_hanging_reload_is_killed_at_the_timeout_and_rolled_back() {
    let dir = scratch("inject-bin-hang");
    let hang = dir.join("postfix-hanging-reload");
    common::executable(
        &hang,
        "#!/bin/sh\n# argv: -c DIR SUBCOMMAND\nif [ \"$3\" = reload ]; then exec sleep 600; fi\nexec /usr/sbin/postfix \"$@\"\n",
    );
    let extra = format!(
        "[postfix]\npostfix = \"{}\"\ntimeout = \"3s\"\n",
        hang.display()
    );
    let (_base, inst, cfg) = rotated_instance("fault-hang", &extra);
    let served_before = served(inst.smtp_port).fingerprint;
    let start = std::time::Instant::now();
    now_refused(
        &inst.config_dir,
        &cfg,
        4,
        &[
            "did not finish within 3s; it and the processes it started were killed",
            "reload",
            "restored to its previous bytes",
        ],
    );
    eprintln!("failed after {:?}", start.elapsed());
    assert_eq!(served(inst.smtp_port).fingerprint, served_before);
}

#[test]
fn a_missing_postconf_is_named_and_changes_nothing() {
    let (_base, inst, cfg) = rotated_instance(
        "fault-postconf",
        "[postfix]\npostconf = \"/nonexistent/sbin/postconf\"\n",
    );
    now_refused(&inst.config_dir, &cfg, 1, &["/nonexistent/sbin/postconf"]);
}

#[test]
fn signals_still_work_after_the_search_a_second_one_ends_the_run_at_once() {
    // The search used to unregister its handlers, which left SIGINT and
    // SIGTERM ignored for the rest of the run: a hanging reload could then
    // not be stopped at all. Now the first signal is noted (a rotation
    // that is writing finishes or rolls back) and a second one ends the
    // process at once; the reload it owed is paid by the next run.
    let dir = scratch("inject-bin-slow-reload");
    let marker = dir.join("reloading");
    let slow = dir.join("postfix-slow-reload");
    common::executable(
        &slow,
        format!(
            "#!/bin/sh\nif [ \"$3\" = reload ]; then touch {}; exec sleep 30; fi\nexec /usr/sbin/postfix \"$@\"\n",
            marker.display()
        ),
    );
    let extra = format!("[postfix]\npostfix = \"{}\"\n", slow.display());
    let (_base, _inst, cfg) = rotated_instance("signal-after-search", &extra);
    let mut child = common::command()
        .args(["--config", cfg.to_str().unwrap(), "now"])
        .env_remove("DHROTATE_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !marker.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the reload never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let sent = std::time::Instant::now();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first signal alone ended the run"
    );
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    use wait_timeout::ChildExt;
    let left = std::time::Duration::from_secs(5).saturating_sub(sent.elapsed());
    let status = child
        .wait_timeout(left)
        .unwrap()
        .expect("dhrotate ignored two SIGTERMs during the reload");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(15), "{status:?}");
    report(
        "signals",
        &format!(
            "second SIGTERM during a hanging reload: ended after {:?}\n",
            sent.elapsed()
        ),
    );
}

#[test]
fn a_postfix_status_that_hangs_and_forks_is_killed_with_its_children_and_rolled_back() {
    // `postfix status` had no timeout, and a timeout killed only the direct
    // child: a run then held the lock forever and left processes behind.
    let dir = scratch("inject-bin-status-hang");
    let tag = format!("dhrotate-status-hang-{}", std::process::id());
    let hang = dir.join("postfix-status-hangs");
    common::executable(
        &hang,
        format!(
            "#!/bin/bash\nif [ \"$3\" = status ]; then\n  (exec -a {tag} sleep 300 &)\n  (exec -a {tag} sleep 300 &)\n  exec -a {tag} sleep 300\nfi\nexec /usr/sbin/postfix \"$@\"\n"
        ),
    );
    let extra = format!(
        "[postfix]\npostfix = \"{}\"\ntimeout = \"3s\"\n",
        hang.display()
    );
    let (_base, inst, cfg) = rotated_instance("fault-status-hang", &extra);
    let start = std::time::Instant::now();
    now_refused(
        &inst.config_dir,
        &cfg,
        1,
        &[
            "cannot tell whether Postfix is running",
            "did not finish within 3s; it and the processes it started were killed",
            "restored to its previous bytes",
        ],
    );
    let took = start.elapsed();
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let left = Command::new("pgrep").args(["-f", &tag]).output().unwrap();
    assert!(
        left.stdout.is_empty(),
        "processes outlived the run: {}",
        String::from_utf8_lossy(&left.stdout)
    );
    report(
        "status-hang",
        &format!("postfix status hanging and forking: run ended after {took:?}, no process left\n"),
    );
}
