//! Injected failures leave every file byte-identical and exit with
//! DESIGN.md's codes: `postfix check` failing and `postfix reload` failing
//! (exit 4, rolled back), a write the filesystem refuses (exit 1).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use dhrotate::postfix::instance::Instance;

/// A `postfix` that fails the one subcommand named, and is the real one otherwise.
fn failing_postfix(dir: &Path, sub: &str) -> PathBuf {
    let path = dir.join(format!("postfix-failing-{sub}"));
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n# argv: -c DIR SUBCOMMAND\nif [ \"$3\" = {sub} ]; then\n  echo \"postfix: fatal: injected {sub} failure\" >&2\n  exit 1\nfi\nexec /usr/sbin/postfix \"$@\"\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// One instance with a completed first rotation, so there are old groups to keep.
fn rotated_instance(name: &str, extra: &str) -> (PathBuf, Instance, PathBuf) {
    let (base, inst) = instance(name, true);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    assert!(out.status.success(), "{}", show(&out));
    let cfg = instance_config(&base, &inst, 1024, 1024, extra);
    (base, inst, cfg)
}

#[test]
fn failing_postfix_check_rolls_back_every_file_and_exits_4() {
    let dir = scratch("inject-bin-check");
    let fake = failing_postfix(&dir, "check");
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
    std::fs::write(
        &path,
        "#!/bin/sh\nif [ \"$3\" = reload ]; then exit 0; fi\nexec /usr/sbin/postfix \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
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
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the new groups are installed, but"), "{err}");
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
