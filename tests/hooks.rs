//! `[[hook]]`s on a real private Postfix (docs/GUIDE.md "Hooks"): the environment
//! a hook gets, a failing hook, one that outlives its timeout, one that
//! leaves a child behind, and an endpoint that does not serve the group.
//! Each is reported (exit 13, `now --json`, state, metrics), Postfix's
//! rotation stays in place, and no hook process is left running.

mod common;

use common::*;
use serde_json::Value;

/// `[[hook]]` running `/bin/sh -c SCRIPT`.
fn hook(name: &str, script: &str, extra: &str) -> String {
    format!("[[hook]]\nname = \"{name}\"\ncommand = [\"/bin/sh\", \"-c\", {script:?}]\n{extra}\n")
}

/// Processes whose command line is exactly `argv` (NUL-separated in /proc).
fn running(argv: &[&str]) -> usize {
    let want: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| *c == want)
        .count()
}

#[test]
fn failing_slow_and_forking_hooks_are_reported_and_postfix_keeps_its_rotation() {
    let (base, inst) = instance("hooks-bad", true);
    let env_out = base.join("hook-env");
    let hooks = [
        hook(
            "env",
            &format!("env > {}", env_out.display()),
            "timeout = \"10s\"",
        ),
        hook(
            "fails",
            "echo 'Failed to reload imaginary.service: Unit not found.' >&2; exit 3",
            "",
        ),
        hook("slow", "sleep 302", "timeout = \"1s\""),
        hook("forks", "sleep 301 & echo started", ""),
    ]
    .concat();
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let text = std::fs::read_to_string(&cfg).unwrap() + &hooks;
    std::fs::write(&cfg, text).unwrap();

    let started = std::time::Instant::now();
    let (code, doc, stderr) = now_json(&cfg, &[]);
    let took = started.elapsed();
    assert_eq!(code, Some(13), "{doc:#}\n{stderr}");
    assert_eq!(doc["exit_code"], 13);
    assert_eq!(doc["error"]["class"], "hook", "{doc:#}");
    // The rotation is in place and served: nothing was rolled back.
    assert_eq!(doc["reload"], "reloaded", "{doc:#}");
    let main = inst.config_dir.join("dh1024.pem");
    assert_eq!(
        served(inst.smtp_port).fingerprint,
        file_fingerprint(&main),
        "Postfix must keep serving the new group"
    );
    assert!(
        doc["groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["changed"] == true)
    );

    let outcome = |name: &str| -> (String, String) {
        let h = doc["hooks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == name)
            .unwrap_or_else(|| panic!("no hook {name} in {doc:#}"));
        (
            h["outcome"].as_str().unwrap().to_owned(),
            h["detail"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(outcome("env").0, "ok");
    let (o, d) = outcome("fails");
    assert_eq!(o, "failed");
    assert!(
        d.contains("exit status: 3") && d.contains("Unit not found"),
        "{d}"
    );
    let (o, d) = outcome("slow");
    assert_eq!(o, "timed-out");
    assert!(d.contains("after 1s"), "{d}");
    let (o, d) = outcome("forks");
    assert_eq!(o, "left-processes");
    assert!(d.contains("were killed"), "{d}");
    // The timeout is the hook's, not the test's patience.
    assert!(took < std::time::Duration::from_secs(60), "{took:?}");
    assert_eq!(
        running(&["sleep", "301"]),
        0,
        "the forked child is still running"
    );
    assert_eq!(
        running(&["sleep", "302"]),
        0,
        "the timed-out hook is still running"
    );
    assert!(stderr.contains("hook \"fails\" failed"), "{stderr}");

    // The environment: fixed, and the DHROTATE_ variables as documented.
    let env = std::fs::read_to_string(&env_out).unwrap();
    let var = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{k} missing from\n{env}"))
            .to_owned()
    };
    assert_eq!(var("DHROTATE_MODE"), "explicit");
    assert_eq!(var("DHROTATE_OUTCOME"), "changed");
    assert_eq!(var("DHROTATE_GROUPS"), "main submission");
    assert_eq!(
        var("DHROTATE_INSTANCES"),
        inst.config_dir.display().to_string()
    );
    assert_eq!(var("PATH"), "/usr/sbin:/usr/bin:/sbin:/bin");
    // Multi-line: the group files, then main.cf and master.cf.
    let changed_at = env.find("DHROTATE_CHANGED_FILES=").unwrap();
    let changed = &env[changed_at..];
    assert!(changed.contains(&main.display().to_string()), "{env}");
    assert!(
        changed.contains(&inst.config_dir.join("main.cf").display().to_string()),
        "{env}"
    );
    assert!(
        !env.contains("CARGO"),
        "the test's environment leaked:\n{env}"
    );

    // Recorded for status and the metrics.
    let state: Value =
        serde_json::from_slice(&std::fs::read(base.join("state/state.json")).unwrap()).unwrap();
    assert!(
        state["outcome"]
            .as_str()
            .unwrap()
            .starts_with("written, but hook"),
        "{state:#}"
    );
    let out = dhrotate(&[
        "--config",
        cfg.to_str().unwrap(),
        "status",
        "--format",
        "prometheus",
    ]);
    let metrics = String::from_utf8_lossy(&out.stdout);
    for (name, v) in [("env", 1), ("fails", 0), ("slow", 0), ("forks", 0)] {
        let line = format!("dhrotate_hook_success{{hook=\"{name}\"}} {v}");
        assert!(metrics.contains(&line), "{line} not in\n{metrics}");
    }
    assert!(metrics.contains("dhrotate_last_run_success 0"), "{metrics}");
}

#[test]
fn a_hook_endpoint_is_verified_with_the_probe_and_dry_run_lists_hooks() {
    let (base, inst) = instance("hooks-verify", true);
    let extra = [
        // The main listener reads group "main": verified.
        hook(
            "right",
            "exit 0",
            &format!(
                "verify = \"127.0.0.1:{} smtp\"\ngroup = \"main\"",
                inst.smtp_port
            ),
        ),
        // The submission listener serves group "submission", not "main":
        // what a consumer that did not reload looks like.
        hook(
            "stale",
            "exit 0",
            &format!(
                "verify = \"127.0.0.1:{} smtp\"\ngroup = \"main\"",
                inst.submission_port
            ),
        ),
    ]
    .concat();
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    std::fs::write(&cfg, std::fs::read_to_string(&cfg).unwrap() + &extra).unwrap();

    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now", "--dry-run"]);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("would run hook \"right\": /bin/sh -c exit 0, then check that 127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("would run hook \"stale\""), "{text}");

    let (code, doc, _) = now_json(&cfg, &[]);
    assert_eq!(code, Some(13), "{doc:#}");
    let hooks = doc["hooks"].as_array().unwrap();
    assert_eq!(hooks[0]["outcome"], "ok", "{doc:#}");
    let fp = file_fingerprint(&inst.config_dir.join("dh1024.pem"));
    assert!(
        hooks[0]["detail"].as_str().unwrap().contains(&fp),
        "{doc:#}"
    );
    assert_eq!(hooks[1]["outcome"], "unverified", "{doc:#}");
    let detail = hooks[1]["detail"].as_str().unwrap();
    assert!(
        detail.contains("instead of group \"main\"") && detail.contains(&fp),
        "{detail}"
    );

    // A run with nothing to change runs no hook.
    let (code, doc, _) = {
        let out = dhrotate(&[
            "--config",
            cfg.to_str().unwrap(),
            "now",
            "--json",
            "--if-due",
        ]);
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), doc, ())
    };
    assert_eq!(code, Some(0), "{doc:#}");
    assert_eq!(doc["outcome"], "unchanged");
    assert_eq!(doc["hooks"].as_array().unwrap().len(), 0);
}

#[test]
fn bad_hooks_are_refused_naming_file_and_line_and_nothing_runs() {
    let (base, inst) = instance("hooks-config", false);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let good = std::fs::read_to_string(&cfg).unwrap();
    let cases = [
        (
            "[[hook]]\nname = \"x\"\ncommand = [\"systemctl\", \"reload\", \"dovecot\"]\n",
            "must be an absolute path",
        ),
        ("[[hook]]\nname = \"x\"\n", "has no command"),
        (
            "[[hook]]\nname = \"x\"\ncommand = [\"/bin/true\"]\nverify = \"127.0.0.1 tls\"\n",
            "needs HOST:PORT",
        ),
        (
            "[[hook]]\nname = \"x\"\ncommand = [\"/bin/true\"]\nverify = \"127.0.0.1:993 imap\"\n",
            "HOST:PORT tls",
        ),
        (
            "[[hook]]\nname = \"x\"\ncommand = [\"/bin/true\"]\nverify = \"127.0.0.1:993\"\ngroup = \"nope\"\n",
            "not a configured [[group]]",
        ),
        (
            "[[hook]]\nname = \"x\"\ncommand = [\"/bin/true\"]\ntimeout = \"0s\"\n",
            "between 1s and 1h",
        ),
        (
            "[[hook]]\nname = \"x\"\ncommand = [\"/nonexistent/reload\"]\n",
            "does not exist",
        ),
    ];
    for (bad, needle) in cases {
        std::fs::write(&cfg, format!("{good}\n{bad}")).unwrap();
        // Every refusal names this file and a line of the hook's table.
        let first = good.lines().count() + 2;
        let lines = first..first + bad.lines().count();
        let err = now_refused(&inst.config_dir, &cfg, 2, &[needle]);
        assert!(
            lines
                .clone()
                .any(|l| err.contains(&format!("{} line {l}:", cfg.display()))),
            "expected {} line {lines:?} in {err}",
            cfg.display()
        );
    }
}
