//! Postfix multi-instance on real private Postfix instances: a primary
//! whose `multi_instance_directories` names a secondary. postmulti(1)
//! manages only the default /etc/postfix as primary, so here dhrotate reads
//! the instances as postmulti does, through postconf; the real postmulti
//! (-e init, -e create, -l) is harness step 12. `instances = "all"` rotates both in one run (a shared
//! file, then one file per instance), a `postfix check` failing in the
//! secondary restores both, a disabled secondary is edited and not
//! reloaded, an unknown name is refused.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use dhrotate::testbed::instance::PrivatePostfix;
use serde_json::Value;

/// A primary and a secondary `postfix-two` (enabled or not); both started
/// when `start`.
fn pair(name: &str, enabled: bool, start: bool) -> (PathBuf, PrivatePostfix, PrivatePostfix) {
    require_postfix();
    let base = scratch(name);
    let mut a = PrivatePostfix::create(&base.join("a")).unwrap();
    let mut b = PrivatePostfix::create(&base.join("b")).unwrap();
    let main = |dir: &Path| dir.join("main.cf");
    let append = |path: PathBuf, text: String| {
        let mut t = std::fs::read_to_string(&path).unwrap();
        t.push_str(&text);
        write_settled(&path, t.as_bytes());
    };
    append(
        main(&a.config_dir),
        format!("multi_instance_directories = {}\n", b.config_dir.display()),
    );
    append(
        main(&b.config_dir),
        format!(
            "multi_instance_name = postfix-two\nmulti_instance_group = mta\nmulti_instance_enable = {}\n",
            if enabled { "yes" } else { "no" }
        ),
    );
    if start {
        a.start().unwrap();
        b.start().unwrap();
    }
    (base, a, b)
}

fn config(base: &Path, a: &PrivatePostfix, extra: &str) -> PathBuf {
    let cfg = base.join("dhrotate.toml");
    std::fs::write(
        &cfg,
        format!(
            "mode = \"explicit\"\npostfix_config_dir = \"{}\"\nstate_dir = \"{}\"\nmin_bits = 1024\nlock_wait = \"0s\"\n{extra}\n\
             [[group]]\nname = \"main\"\nbits = 1024\nfile = \"dh1024.pem\"\nuse = [\"main.cf\"]\n\n\
             # The primary's submission listener: the secondary has none, so there it does not apply.\n\
             [[group]]\nname = \"submission\"\nbits = 1024\nfile = \"dh1024-sub.pem\"\nuse = [\"{}\"]\n\n[pool]\nsize = 0\n",
            a.config_dir.display(),
            base.join("state").display(),
            a.submission_service()
        ),
    )
    .unwrap();
    cfg
}

fn dh_setting(dir: &Path) -> String {
    postconf(dir, &["-h", "smtpd_tls_dh1024_param_file"])
        .1
        .trim()
        .to_owned()
}

#[test]
fn one_run_rotates_every_instance_shared_then_per_instance() {
    let (base, a, b) = pair("inst-both", true, true);
    let cfg = config(&base, &a, "instances = \"all\"");
    let (code, doc, _) = now_json(&cfg, &[]);
    assert_eq!(code, Some(0), "{doc:#}");
    let shared = a.config_dir.join("dh1024.pem");
    let fp = file_fingerprint(&shared);
    assert_eq!(dh_setting(&b.config_dir), shared.display().to_string());
    assert_eq!(served(a.smtp_port).fingerprint, fp);
    assert_eq!(
        served(b.smtp_port).fingerprint,
        fp,
        "the secondary serves the shared file"
    );
    let i = &doc["instances"][0];
    assert_eq!(i["name"], "postfix-two", "{doc:#}");
    assert_eq!(i["reload"], "reloaded", "{doc:#}");
    assert!(
        i["verification"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["ok"] == true),
        "{doc:#}"
    );
    assert!(!i["verification"].as_array().unwrap().is_empty(), "{doc:#}");

    // The status names the secondary and judges it.
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "status", "--json"]);
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        st["instances"][0]["instance"]["name"], "postfix-two",
        "{st:#}"
    );
    assert_eq!(st["instances"][0]["status"]["healthy"], true, "{st:#}");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    // Per instance: each its own file and prime.
    let cfg = config(
        &base,
        &a,
        "instances = \"all\"\ninstance_files = \"per-instance\"",
    );
    let (code, doc, _) = now_json(&cfg, &[]);
    assert_eq!(code, Some(0), "{doc:#}");
    let own = b.config_dir.join("dh1024.pem");
    assert_eq!(dh_setting(&b.config_dir), own.display().to_string());
    assert!(
        !b.config_dir.join("dh1024-sub.pem").exists(),
        "a group for a service the secondary lacks was written there"
    );
    let (fa, fb) = (file_fingerprint(&shared), file_fingerprint(&own));
    assert_ne!(fa, fb);
    assert_ne!(fa, fp, "the primary's group was rotated too");
    assert_eq!(served(a.smtp_port).fingerprint, fa);
    assert_eq!(served(b.smtp_port).fingerprint, fb);
    let state: Value =
        serde_json::from_slice(&std::fs::read(base.join("state/state.json")).unwrap()).unwrap();
    let recorded: Vec<(Option<&str>, &str)> = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["instance"].as_str(), g["fingerprint"].as_str().unwrap()))
        .collect();
    assert!(recorded.contains(&(None, fa.as_str())), "{state:#}");
    assert!(
        recorded.contains(&(Some("postfix-two"), fb.as_str())),
        "{state:#}"
    );
}

#[test]
fn a_check_failure_in_the_secondary_restores_both_instances() {
    let (base, a, b) = pair("inst-rollback", true, true);
    // The primary has a group already; the secondary serves its default.
    let cfg = config(&base, &a, "");
    let (code, doc, _) = now_json(&cfg, &[]);
    assert_eq!(code, Some(0), "{doc:#}");
    let served_a = served(a.smtp_port).fingerprint;
    let served_b = served(b.smtp_port).fingerprint;
    // `postfix check` fails in the secondary once its own group file exists
    // (after the writes; the check before any change passes).
    let fake = base.join("postfix-fails-in-two");
    executable(
        &fake,
        format!(
            "#!/bin/sh\nif [ \"$2\" = {} ] && [ \"$3\" = check ] && [ -e {} ]; then\n  echo 'postfix/postfix-script: fatal: injected' >&2; exit 1\nfi\nexec /usr/sbin/postfix \"$@\"\n",
            b.config_dir.display(),
            b.config_dir.join("dh1024.pem").display()
        ),
    );
    let cfg = config(
        &base,
        &a,
        &format!(
            "instances = \"all\"\ninstance_files = \"per-instance\"\n[postfix]\npostfix = \"{}\"\n",
            fake.display()
        ),
    );
    let (before_a, before_b) = (snapshot_tree(&a.config_dir), snapshot_tree(&b.config_dir));
    let (code, doc, _) = now_json(&cfg, &[]);
    assert_eq!(code, Some(4), "{doc:#}");
    let msg = doc["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("in instance postfix-two") && msg.contains("injected"),
        "{msg}"
    );
    assert!(msg.contains("every file was restored"), "{msg}");
    assert_eq!(
        snapshot_tree(&a.config_dir),
        before_a,
        "the primary changed"
    );
    assert_eq!(
        snapshot_tree(&b.config_dir),
        before_b,
        "the secondary changed"
    );
    assert_eq!(served(a.smtp_port).fingerprint, served_a);
    assert_eq!(served(b.smtp_port).fingerprint, served_b);
}

#[test]
fn a_disabled_secondary_is_edited_not_reloaded_and_unknown_names_are_refused() {
    let (base, a, b) = pair("inst-disabled", false, false);
    let cfg = config(&base, &a, "instances = [\"postfix-nope\"]");
    now_refused(
        &a.config_dir,
        &cfg,
        2,
        &[
            "\"postfix-nope\"",
            "it lists: postfix-two",
            "postmulti -I postfix-nope -e create",
        ],
    );
    let cfg = config(
        &base,
        &a,
        "instances = [\"postfix-two\"]\ninstance_files = \"per-instance\"",
    );
    let (code, doc, _) = now_json(&cfg, &[]);
    assert_eq!(code, Some(0), "{doc:#}");
    let i = &doc["instances"][0];
    assert_eq!(i["enabled"], false, "{doc:#}");
    assert_eq!(i["reload"], "instance-disabled", "{doc:#}");
    assert_eq!(
        dh_setting(&b.config_dir),
        b.config_dir.join("dh1024.pem").display().to_string()
    );
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now", "--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("== instance postfix-two ("), "{text}");
    assert!(text.contains(", disabled)"), "{text}");
}
