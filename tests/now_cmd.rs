//! `dhrotate now` on bad input, dry runs and concurrent runs: clear errors,
//! docs/DESIGN.md's exit codes, and every file left as it was.

mod common;

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use dhrotate::testbed::instance::PrivatePostfix;

fn run_now(cfg: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--config", cfg.to_str().unwrap(), "now"];
    args.extend_from_slice(extra);
    dhrotate(&args)
}

/// Asserts the run failed with `code`, said `needle`, and changed nothing.
fn refused(inst: &PrivatePostfix, cfg: &Path, code: i32, needle: &str) {
    now_refused(&inst.config_dir, cfg, code, &[needle]);
}

#[test]
fn bad_configuration_is_exit_2_and_names_file_and_line() {
    let (base, inst) = instance("bad-config", false);
    let cfg = instance_config(&base, &inst, 2048, 1024, "colour = \"blue\"");
    refused(&inst, &cfg, 2, "unknown field `colour`");
    refused(&inst, &cfg, 2, "line 6");

    let cfg = instance_config(&base, &inst, 2048, 1024, "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("bits = 2048", "bits = 16384");
    std::fs::write(&cfg, text).unwrap();
    refused(&inst, &cfg, 2, "bits = 16384 is not allowed");

    let cfg = instance_config(&base, &inst, 2048, 1024, "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("min_bits = 1024", "min_bits = 2048");
    let text = text.replace("bits = 2048\nfile", "bits = 1024\nfile");
    std::fs::write(&cfg, text).unwrap();
    refused(&inst, &cfg, 2, "below min_bits = 2048");

    let cfg = instance_config(&base, &inst, 2048, 1024, "");
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o666)).unwrap();
    refused(&inst, &cfg, 2, "world-writable");
}

#[test]
fn bad_targets_are_exit_2_and_change_nothing() {
    let (base, inst) = instance("bad-target", false);

    // A master.cf service that does not exist.
    let cfg = instance_config(&base, &inst, 2048, 1024, "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(&inst.submission_service(), "submission/inet");
    std::fs::write(&cfg, text).unwrap();
    refused(&inst, &cfg, 2, "master.cf has no service submission/inet");

    // A 512-bit group on a Postfix that ignores it.
    let cfg = instance_config(&base, &inst, 2048, 512, "");
    refused(&inst, &cfg, 2, "ignores smtpd_tls_dh512_param_file");

    // The target is a symlink someone planted.
    let cfg = instance_config(&base, &inst, 2048, 1024, "");
    let target = inst.config_dir.join("dh2048.pem");
    std::os::unix::fs::symlink("/etc/passwd", &target).unwrap();
    refused(&inst, &cfg, 2, "is a symbolic link");
    std::fs::remove_file(&target).unwrap();

    // main.cf is a symlink.
    let main = inst.config_dir.join("main.cf");
    let real = inst.config_dir.join("main.cf.real");
    std::fs::rename(&main, &real).unwrap();
    std::os::unix::fs::symlink(&real, &main).unwrap();
    refused(&inst, &cfg, 2, "main.cf: it is a symbolic link");
    std::fs::remove_file(&main).unwrap();
    std::fs::rename(&real, &main).unwrap();

    // A directory others may write.
    std::fs::set_permissions(&inst.config_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    refused(&inst, &cfg, 2, "group- or world-writable");
    std::fs::set_permissions(&inst.config_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn dry_run_prints_the_diff_and_changes_nothing() {
    let (base, inst) = instance("dry-run", false);
    let cfg = instance_config(&base, &inst, 2048, 1024, "");
    let before = snapshot_tree(&base);
    let out = run_now(&cfg, &["--dry-run"]);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let dh = inst.config_dir.join("dh2048.pem");
    assert!(
        text.contains(&format!(
            "would generate a 2048-bit group \"main\" -> {}",
            dh.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("+smtpd_tls_dh1024_param_file = {}", dh.display())),
        "{text}"
    );
    assert!(
        text.contains("+  -o smtpd_tls_dh1024_param_file="),
        "{text}"
    );
    assert!(text.contains("dry run: nothing was changed"), "{text}");
    assert_eq!(snapshot_tree(&base), before, "dry run changed files");
}

#[test]
fn a_second_run_waits_for_the_lock_or_exits_5() {
    let (base, inst) = instance("lock", true);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let state = base.join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();

    // Someone holds the lock: exit 5, nothing touched.
    let lock = nix::fcntl::Flock::lock(
        File::create(state.join("lock")).unwrap(),
        nix::fcntl::FlockArg::LockExclusive,
    )
    .map_err(|(_, e)| e)
    .unwrap();
    refused(&inst, &cfg, 5, "holds the lock");

    // With lock_wait, the run waits for the holder and then proceeds.
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("lock_wait = \"0s\"", "lock_wait = \"60s\"");
    std::fs::write(&cfg, text).unwrap();
    let waiter = std::thread::spawn(move || run_now(&cfg, &[]));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        !inst.config_dir.join("dh1024.pem").exists(),
        "ran while the lock was held"
    );
    drop(lock);
    let out = waiter.join().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert!(inst.config_dir.join("dh1024.pem").exists());
}

#[test]
fn concurrent_runs_never_interleave() {
    let (base, inst) = instance("concurrent", true);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("lock_wait = \"0s\"", "lock_wait = \"300s\"");
    std::fs::write(&cfg, text).unwrap();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let cfg = cfg.clone();
            std::thread::spawn(move || run_now(&cfg, &["-v"]))
        })
        .collect();
    let mut fingerprints = Vec::new();
    for r in runs {
        let out = r.join().unwrap();
        assert!(out.status.success(), "{}", show(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        // Each run reports one main group; all four are different groups.
        let fp = stdout
            .lines()
            .find(|l| l.contains("group \"main\""))
            .and_then(|l| l.rsplit("sha256(p) ").next())
            .unwrap()
            .trim_end_matches(')')
            .to_owned();
        fingerprints.push(fp);
    }
    let mut unique = fingerprints.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "{fingerprints:?}");
    // The file in place is one of them, complete and valid, and Postfix agrees.
    let now_fp = file_fingerprint(&inst.config_dir.join("dh1024.pem"));
    assert!(fingerprints.contains(&now_fp));
    let (ok, _, err) = postconf(&inst.config_dir, &["-n"]);
    assert!(ok, "{err}");
    let out = dhrotate(&[
        "check",
        inst.config_dir.join("dh1024.pem").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(served(inst.smtp_port).fingerprint, now_fp);
}

/// `pool fill` fills only for a mode that takes groups from the pool:
/// named mode (and detect where it becomes auto: this host's Postfix 3.7
/// with OpenSSL 3) would search for groups no rotation takes. `--bits`
/// fills anyway; explicit mode fills.
#[test]
fn pool_fill_searches_only_for_a_mode_that_takes_from_the_pool() {
    let (base, inst) = instance("pool-modes", false);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let explicit = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("[pool]\nsize = 0", "[pool]\nsize = 1");
    let pool_dir = base.join("state/pool/1024");
    let ready = || std::fs::read_dir(&pool_dir).map_or(0, |d| d.count());
    for mode in ["named", "detect"] {
        let text = explicit.replace("mode = \"explicit\"", &format!("mode = \"{mode}\""));
        std::fs::write(&cfg, text).unwrap();
        let out = with_config(&cfg, &["pool", "fill"]);
        assert!(out.status.success(), "{mode}: {}", show(&out));
        let said = String::from_utf8_lossy(&out.stdout);
        let effective = if mode == "named" { "named" } else { "auto" };
        assert!(
            said.contains(&format!(
                "nothing to fill: {effective} mode takes no groups"
            )),
            "{mode}: {}",
            show(&out)
        );
        assert_eq!(ready(), 0, "{mode}: a group was added");
    }
    let out = with_config(&cfg, &["pool", "fill", "--bits", "1024"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(ready(), 1, "--bits fills in any mode");

    std::fs::write(&cfg, &explicit).unwrap();
    let out = with_config(&cfg, &["pool", "fill", "--count", "1"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(ready(), 2, "explicit mode fills: {}", show(&out));
}

/// A `pool fill` that leads its session (as under systemd, or started by
/// `now` and the daemon) lowers the session's scheduling group to nice 19,
/// where the kernel has autogroups; one that does not lead leaves its
/// starter's group alone.
#[test]
fn pool_fill_lowers_the_scheduling_group_of_the_session_it_leads() {
    use std::os::unix::process::CommandExt;
    if !Path::new("/proc/self/autogroup").exists() {
        eprintln!("this kernel has no autogroups: nothing to lower");
        return;
    }
    let base = scratch("pool-autogroup");
    let cfg = base.join("dhrotate.toml");
    std::fs::create_dir_all(base.join("pf")).unwrap();
    std::fs::write(
        &cfg,
        format!(
            "mode = \"explicit\"\npostfix_config_dir = \"{0}/pf\"\nstate_dir = \"{0}/state\"\n\
             [[group]]\nname = \"main\"\nbits = 8192\nfile = \"dh8192.pem\"\nuse = [\"main.cf\"]\n",
            base.display()
        ),
    )
    .unwrap();
    let fill = |leader: bool| {
        let mut cmd = command();
        cmd.args([
            "--config",
            cfg.to_str().unwrap(),
            "pool",
            "fill",
            "--count",
            "1",
        ]);
        if leader {
            // SAFETY: setsid is async-signal-safe.
            unsafe {
                cmd.pre_exec(|| {
                    nix::unistd::setsid()
                        .map(drop)
                        .map_err(std::io::Error::from)
                });
            }
        }
        let mut child = cmd.spawn().unwrap();
        let autogroup = format!("/proc/{}/autogroup", child.id());
        // The 8192-bit search runs for far longer than it takes to start;
        // a second is long enough for one that did not lower to show it.
        let mut seen = String::new();
        for _ in 0..if leader { 100 } else { 20 } {
            std::thread::sleep(std::time::Duration::from_millis(50));
            seen = std::fs::read_to_string(&autogroup).unwrap_or_default();
            if seen.ends_with("nice 19\n") {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        seen
    };
    let mine = std::fs::read_to_string("/proc/self/autogroup").unwrap();
    let led = fill(true);
    assert!(
        led.ends_with("nice 19\n"),
        "a fill leading its session left it at {led}"
    );
    assert_eq!(
        fill(false),
        mine,
        "a fill that does not lead its session changed its starter's"
    );
}

#[test]
fn now_takes_groups_from_the_pool_and_refills_it_in_the_background() {
    let (base, inst) = instance("pool", true);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let cfg_s = cfg.to_str().unwrap();
    let out = dhrotate(&[
        "--config", cfg_s, "pool", "fill", "--bits", "1024", "--count", "2",
    ]);
    assert!(out.status.success(), "{}", show(&out));
    let pool_dir = base.join("state/pool/1024");
    let pooled: Vec<String> = std::fs::read_dir(&pool_dir)
        .unwrap()
        .map(|e| file_fingerprint(&e.unwrap().path()))
        .collect();
    assert_eq!(pooled.len(), 2);

    let out = run_now(&cfg, &[]);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("taken from the pool").count(), 2, "{text}");
    // The installed groups are exactly the pooled ones, each used once.
    let mut installed = vec![
        file_fingerprint(&inst.config_dir.join("dh1024.pem")),
        file_fingerprint(&inst.config_dir.join("dh1024-submission.pem")),
    ];
    installed.sort();
    let mut pooled = pooled;
    pooled.sort();
    assert_eq!(installed, pooled);
    assert_eq!(std::fs::read_dir(&pool_dir).unwrap().count(), 0);

    // Empty pool: the next run generates, and with [pool] size = 2 a
    // background `pool fill` brings the pool back up.
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("[pool]\nsize = 0", "[pool]\nsize = 2");
    std::fs::write(&cfg, text).unwrap();
    let out = run_now(&cfg, &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("newly generated")
            .count(),
        2
    );
    let mut ready = 0;
    for _ in 0..240 {
        ready = std::fs::read_dir(&pool_dir).map_or(0, |d| {
            d.filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".pem")
            })
            .count()
        });
        if ready == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert_eq!(ready, 2, "the background refill did not fill the pool");
    let out = dhrotate(&["--config", cfg_s, "pool", "status"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1024 bits: 2 ready (pool size 2)"),
        "{}",
        show(&out)
    );
}

/// A run that fails while planning is recorded as failed (status and the
/// daemon's catch-up see it), and only a success moves `last_success`.
#[test]
fn a_planning_failure_is_recorded_and_only_success_counts_as_done() {
    let (base, inst) = instance("now-plan-fail", false);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    assert!(out.status.success(), "{}", show(&out));
    let state = || -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(base.join("state/state.json")).unwrap()).unwrap()
    };
    let ok = state();
    assert_eq!(ok["outcome"], "ok");
    assert_eq!(ok["last_success"], ok["last_run"]);
    let main_cf = inst.config_dir.join("main.cf");
    let saved = std::fs::read(&main_cf).unwrap();
    std::fs::remove_file(&main_cf).unwrap();
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let failed = state();
    assert!(
        failed["outcome"].as_str().unwrap().starts_with("failed:"),
        "{failed}"
    );
    assert_eq!(failed["last_success"], ok["last_success"], "{failed}");
    std::fs::write(&main_cf, saved).unwrap();
}

/// `status` reads main.cf and master.cf through the same reader as a
/// rotation: a master.cf it cannot read is a problem that names the file,
/// not a silently empty list of overrides.
#[test]
fn status_names_a_master_cf_it_cannot_read() {
    let (base, inst) = instance("status-master", false);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let cfg_s = cfg.to_str().unwrap();
    let out = run_now(&cfg, &[]);
    assert!(out.status.success(), "{}", show(&out));
    let out = dhrotate(&["--config", cfg_s, "status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    let master = inst.config_dir.join("master.cf");
    std::fs::rename(&master, inst.config_dir.join("master.cf.away")).unwrap();
    let out = dhrotate(&["--config", cfg_s, "status", "--json"]);
    assert_eq!(out.status.code(), Some(6), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems = report["problems"].as_array().unwrap();
    let wanted = format!("{} does not exist", master.display());
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().unwrap().contains(&wanted)),
        "{wanted:?} not among {problems:#?}"
    );
}

/// `now --if-due` (what the timer runs): the first run rotates, the second
/// changes no byte and says why; a group file older than rotate_after is
/// rotated again; a plain `now` always rotates.
#[test]
fn if_due_rotates_only_groups_older_than_rotate_after() {
    let (base, inst) = instance("if-due", false);
    let cfg = instance_config(
        &base,
        &inst,
        1024,
        1024,
        "[schedule]\nrotate_after = \"2d\"",
    );
    let out = run_now(&cfg, &["--if-due"]);
    assert!(out.status.success(), "{}", show(&out));
    let main = inst.config_dir.join("dh1024.pem");
    let first = std::fs::read(&main).unwrap();

    let before = snapshot_tree(&inst.config_dir);
    let out = run_now(&cfg, &["--if-due"]);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("not due: group \"main\"") && text.contains("younger than rotate_after"),
        "{text}"
    );
    assert!(text.contains("nothing changed; no reload needed"), "{text}");
    assert_eq!(snapshot_tree(&inst.config_dir), before);

    // Three days old: due again, and only that group is rotated.
    backdate(&main, std::time::Duration::from_secs(3 * 86400));
    let sub = inst.config_dir.join("dh1024-submission.pem");
    let sub_before = std::fs::read(&sub).unwrap();
    let out = run_now(&cfg, &["--if-due"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_ne!(std::fs::read(&main).unwrap(), first);
    assert_eq!(std::fs::read(&sub).unwrap(), sub_before);

    // Without --if-due every group is rotated.
    let out = run_now(&cfg, &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_ne!(std::fs::read(&sub).unwrap(), sub_before);

    // rotate_after must stay below max_age (exit 2, file and line).
    let bad = instance_config(
        &base,
        &inst,
        1024,
        1024,
        "max_age = \"3d\"\n[schedule]\nrotate_after = \"3d\"",
    );
    let out = run_now(&bad, &["--if-due"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rotate_after = 3days is not below max_age = 3days") && err.contains("line"),
        "{err}"
    );
}
