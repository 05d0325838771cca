//! auto mode, curve policy and status against a real private Postfix:
//! what the server serves after each change, seen by a real TLS client.
//!
//! Slow (about 90 s here): every step reloads Postfix and waits until the
//! listeners' new smtpd processes serve the change.

mod common;

use std::time::Duration;

use common::*;
use dhrotate::probe::{self, Wrap};

fn now(cfg: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--config", cfg.to_str().unwrap(), "now"];
    args.extend_from_slice(extra);
    dhrotate(&args)
}

#[test]
fn detect_hands_the_group_to_openssl_and_explicit_takes_it_back() {
    let (base, inst) = instance("auto-mode", true);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let out = now(&cfg, &[]);
    assert!(out.status.success(), "{}", show(&out));
    let main_file = inst.config_dir.join("dh1024.pem");
    assert_eq!(
        served(inst.smtp_port).fingerprint,
        file_fingerprint(&main_file)
    );

    // Postfix 3.7 with OpenSSL 3 here: detect means auto.
    let out = now(&cfg, &["--mode", "detect"]);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("mode Auto: detected Postfix 3.7"), "{text}");
    assert!(
        text.contains(&format!("kept {}", main_file.display())),
        "{text}"
    );
    let (_, v, _) = postconf(&inst.config_dir, &["-h", "smtpd_tls_dh1024_param_file"]);
    assert_eq!(v.trim(), "auto");
    let key = format!("{}/smtpd_tls_dh1024_param_file", inst.submission_service());
    let (_, v, _) = postconf(&inst.config_dir, &["-P", &key]);
    assert_eq!(v.trim(), format!("{key} = auto"));
    // Both listeners now serve OpenSSL's own choice, not a file's prime.
    for port in [inst.smtp_port, inst.submission_port] {
        let g = served(port);
        assert_eq!(
            (g.bits, g.known.as_deref()),
            (2048, Some("rfc3526-modp2048")),
            "port {port}"
        );
    }
    assert!(main_file.exists(), "auto_old_files = keep is the default");

    // explicit switches back to fresh files.
    let out = now(&cfg, &["--mode", "explicit"]);
    assert!(out.status.success(), "{}", show(&out));
    let g = served(inst.smtp_port);
    assert_eq!(
        (g.fingerprint, g.known),
        (file_fingerprint(&main_file), None)
    );
    let log = inst.maillog();
    assert!(!log.contains("error decoding DH parameters"), "{log}");

    // auto_old_files = "remove": the unused files and their .prev go too.
    let cfg = instance_config(&base, &inst, 1024, 1024, "auto_old_files = \"remove\"");
    let out = now(&cfg, &["--mode", "auto"]);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("removed {}", main_file.display())),
        "{text}"
    );
    for f in [
        "dh1024.pem",
        "dh1024.pem.prev",
        "dh1024-submission.pem",
        "dh1024-submission.pem.prev",
    ] {
        assert!(!inst.config_dir.join(f).exists(), "{f} still there");
    }
    assert_eq!(
        served(inst.smtp_port).known.as_deref(),
        Some("rfc3526-modp2048")
    );
}

#[test]
fn curve_list_decides_the_tls13_group_and_unknown_names_change_nothing() {
    let (base, inst) = instance("curves", true);
    let cfg = instance_config(&base, &inst, 2048, 1024, "");
    let cfg = cfg.to_str().unwrap();
    let addr = format!("127.0.0.1:{}", inst.smtp_port);
    let t = Duration::from_secs(10);

    // Control: with Postfix's default list, a client offering only X25519 gets it.
    assert_eq!(
        probe::tls13(&addr, Wrap::StartTls, Some("X25519"), t)
            .unwrap()
            .group,
        "X25519"
    );

    let out = dhrotate(&["--config", cfg, "curves", "--set", "secp384r1 prime256v1"]);
    assert!(out.status.success(), "{}", show(&out));
    let (_, v, _) = postconf(&inst.config_dir, &["-h", "tls_eecdh_auto_curves"]);
    assert_eq!(v.trim(), "secp384r1 prime256v1");

    // Postfix restarts smtpd after the reload: retry the first handshake.
    let mut group = Ok(String::new());
    for _ in 0..40 {
        group = probe::tls13(&addr, Wrap::StartTls, None, t).map(|i| i.group);
        if group.as_deref().is_ok_and(|g| g != "X25519") {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let group = group.unwrap();
    assert!(
        ["secp384r1", "prime256v1"].contains(&group.as_str()),
        "got {group}"
    );
    let outside = probe::tls13(&addr, Wrap::StartTls, Some("X25519"), t).map(|i| i.group);
    assert!(
        !outside.as_deref().is_ok_and(|g| g == "X25519"),
        "a client offering only X25519 still got it: {outside:?}"
    );

    // The shown policy agrees.
    let out = dhrotate(&["--config", cfg, "curves", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["params"][0]["value"], "secp384r1 prime256v1");
    assert_eq!(view["params"][0]["set_in_main_cf"], true);

    // An unknown name is reported before anything is written.
    let before = snapshot_tree(&inst.config_dir);
    let out = dhrotate(&["--config", cfg, "curves", "--set", "X25519 nosuchgroup"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not know nosuchgroup"),
        "{}",
        show(&out)
    );
    assert_eq!(snapshot_tree(&inst.config_dir), before);

    // default removes the setting again.
    let out = dhrotate(&["--config", cfg, "curves", "--set", "default"]);
    assert!(out.status.success(), "{}", show(&out));
    let (_, v, _) = postconf(&inst.config_dir, &["-n", "tls_eecdh_auto_curves"]);
    assert_eq!(v.trim(), "");
}

#[test]
fn status_exits_6_when_a_file_is_stale_or_broken() {
    let (base, inst) = instance("status", true);
    let cfg = instance_config(&base, &inst, 1024, 1024, "max_age = \"7d\"");
    let cfg = cfg.to_str().unwrap();
    let out = now(std::path::Path::new(cfg), &[]);
    assert!(out.status.success(), "{}", show(&out));

    let out = dhrotate(&["--config", cfg, "status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], 1);
    assert_eq!(v["healthy"], true);
    assert_eq!(v["mode"]["mode"], "explicit");
    for key in [
        "versions",
        "groups",
        "dh_settings",
        "curves",
        "last_run",
        "advice",
        "problems",
    ] {
        assert!(v.get(key).is_some(), "status --json lacks {key}");
    }
    assert_eq!(v["dh_settings"].as_array().unwrap().len(), 2);

    // Eight days old: stale.
    let file = inst.config_dir.join("dh1024.pem");
    backdate(&file, Duration::from_secs(8 * 86400));
    let out = dhrotate(&["--config", cfg, "status"]);
    assert_eq!(out.status.code(), Some(6), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(STALE)"),
        "{}",
        show(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("older than max_age 7days"),
        "{}",
        show(&out)
    );

    // A broken file: Postfix would fall back.
    let out = now(std::path::Path::new(cfg), &[]);
    assert!(out.status.success(), "{}", show(&out));
    let sub = inst.config_dir.join("dh1024-submission.pem");
    std::fs::write(
        &sub,
        b"-----BEGIN DH PARAMETERS-----\ngarbage\n-----END DH PARAMETERS-----\n",
    )
    .unwrap();
    let out = dhrotate(&["--config", cfg, "status"]);
    assert_eq!(out.status.code(), Some(6), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Postfix falls back"), "{}", show(&out));
    assert!(err.contains("dh1024-submission.pem"), "{}", show(&out));

    // Once Postfix reloads the broken file, status names what it serves instead.
    inst.reload().unwrap();
    let mut last = String::new();
    for _ in 0..40 {
        let out = dhrotate(&["--config", cfg, "status"]);
        assert_eq!(out.status.code(), Some(6), "{}", show(&out));
        last = show(&out);
        if last.contains("serves rfc3526-modp2048") {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        last.contains(&format!(
            "127.0.0.1:{} serves rfc3526-modp2048",
            inst.submission_port
        )),
        "{last}"
    );
    assert!(
        last.contains("Postfix did not load the file and fell back"),
        "{last}"
    );
}

/// `[curves] policy` is held by every rotation: applied by `now`, a hand
/// edit reported by `status` as drift (exit 6) and undone by the next run;
/// the server then negotiates from the policy's list.
#[test]
fn the_configured_curve_policy_is_applied_by_every_run_and_drift_is_reported() {
    const MODERN: &str = "X25519 X448 prime256v1 secp384r1";
    let (base, inst) = instance("curve-policy-run", true);
    let cfg = instance_config(&base, &inst, 1024, 1024, "[curves]\npolicy = \"modern\"\n");
    let cfg_s = cfg.to_str().unwrap();
    let curves = || {
        let (ok, v, err) = postconf(&inst.config_dir, &["-h", "tls_eecdh_auto_curves"]);
        assert!(ok, "{err}");
        norm(&v)
    };
    let out = now(&cfg, &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(curves(), MODERN);
    let out = dhrotate(&["--config", cfg_s, "status"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    // A hand edit: Postfix now offers only P-256 for ECDHE.
    let (ok, _, err) = postconf(
        &inst.config_dir,
        &["-e", "tls_eecdh_auto_curves = prime256v1"],
    );
    assert!(ok, "{err}");
    let out = dhrotate(&["--config", cfg_s, "status", "--json"]);
    assert_eq!(out.status.code(), Some(6), "{}", show(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let drift = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .find(|p| p.contains("[curves] policy = \"modern\" is not in effect"))
        .unwrap_or_else(|| panic!("no drift in {:#?}", report["problems"]))
        .to_owned();
    assert!(
        drift.contains(
            "main.cf tls_eecdh_auto_curves = prime256v1 (policy: X25519 X448 prime256v1 secp384r1)"
        ),
        "{drift}"
    );

    let out = now(&cfg, &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(curves(), MODERN);
    let out = dhrotate(&["--config", cfg_s, "status"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // A client that offers X25519 first gets it, as the policy lists it.
    let t = probe::tls13(
        &format!("127.0.0.1:{}", inst.smtp_port),
        Wrap::StartTls,
        Some("X25519:prime256v1"),
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(t.group, "X25519");
}

/// `openssl s_client`, TLS 1.2 with only `ciphers` offered: the cipher the
/// server chose, or `None` when the handshake failed.
fn tls12_with(port: u16, ciphers: &str) -> Option<String> {
    let out = std::process::Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-starttls", "smtp", "-tls1_2", "-cipher", ciphers])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running openssl s_client");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.split_once("Cipher is ").map(|(_, c)| c.trim().to_owned()))
        .filter(|c| c != "(NONE)")
}

/// `[policy] dhe = "off"`, applied by `now` through the same staged edit,
/// check and reload as the rest: a DHE-only TLS 1.2 client is refused,
/// ECDHE and TLS 1.3 still work, the administrator's own exclusion stays;
/// a hand edit is drift in `status`; `dhe = "on"` undoes it.
#[test]
fn the_dhe_policy_turns_tls12_dhe_off_and_back_on() {
    let (base, inst) = instance("dhe-policy", true);
    let port = inst.smtp_port;
    let exclude = || {
        let (ok, v, err) = postconf(&inst.config_dir, &["-h", "smtpd_tls_exclude_ciphers"]);
        assert!(ok, "{err}");
        v.trim().to_owned()
    };
    let (ok, _, err) = postconf(
        &inst.config_dir,
        &["-e", "smtpd_tls_exclude_ciphers = aNULL"],
    );
    assert!(ok, "{err}");
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let out = now(&cfg, &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        tls12_with(port, "kEDH:@SECLEVEL=0").is_some(),
        "DHE is on to begin with"
    );

    let off = instance_config(&base, &inst, 1024, 1024, "[policy]\ndhe = \"off\"\n");
    let out = now(&off, &[]);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "[policy] dhe = \"off\": main.cf smtpd_tls_exclude_ciphers = aNULL, kDHE (was aNULL)"
        ),
        "{text}"
    );
    assert!(text.contains("refuses a DHE-only TLS 1.2 client"), "{text}");
    assert_eq!(exclude(), "aNULL, kDHE");
    assert_eq!(tls12_with(port, "kEDH:@SECLEVEL=0"), None);
    let ecdhe = tls12_with(port, "ECDHE").expect("an ECDHE client still gets TLS 1.2");
    assert!(ecdhe.starts_with("ECDHE-"), "{ecdhe}");
    let t = probe::tls13(
        &format!("127.0.0.1:{port}"),
        Wrap::StartTls,
        None,
        Duration::from_secs(10),
    )
    .expect("TLS 1.3 still works");
    let off_s = off.to_str().unwrap();
    let out = dhrotate(&["--config", off_s, "status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["listeners"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["dhe_off"]["Ok"].is_string()),
        "{v:#}"
    );
    report(
        "dhe-policy",
        &format!(
            "[policy] dhe = \"off\" on a private Postfix: smtpd_tls_exclude_ciphers = {}; DHE-only TLS 1.2 client: refused; ECDHE TLS 1.2: {ecdhe}; TLS 1.3: {} ({})\n",
            exclude(),
            t.group,
            t.cipher
        ),
    );

    // A hand edit puts DHE back: drift, and the next run restores the policy.
    let (ok, _, err) = postconf(
        &inst.config_dir,
        &["-e", "smtpd_tls_exclude_ciphers = aNULL"],
    );
    assert!(ok, "{err}");
    let out = dhrotate(&["--config", off_s, "status"]);
    assert_eq!(out.status.code(), Some(6), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[policy] dhe = \"off\" is not in effect: main.cf smtpd_tls_exclude_ciphers = aNULL (policy: aNULL, kDHE); the next `dhrotate now` restores it"),
        "{text}"
    );
    let out = now(&off, &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(exclude(), "aNULL, kDHE");

    // Undone by setting it back.
    let on = instance_config(&base, &inst, 1024, 1024, "[policy]\ndhe = \"on\"\n");
    let out = now(&on, &[]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(exclude(), "aNULL");
    assert_eq!(served(port).bits, 1024);
    let out = dhrotate(&["--config", on.to_str().unwrap(), "status"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[test]
fn a_bad_dhe_policy_is_refused_with_the_file_and_nothing_changes() {
    let (base, inst) = instance("dhe-policy-bad", false);
    let cfg = instance_config(&base, &inst, 2048, 2048, "[policy]\ndhe = \"no\"\n");
    let before = snapshot_tree(&inst.config_dir);
    let out = now(&cfg, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("policy.dhe = \"no\""), "{err}");
    assert!(err.contains(cfg.to_str().unwrap()), "{err}");
    assert_eq!(snapshot_tree(&inst.config_dir), before);
}
