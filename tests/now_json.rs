//! `now --json` (docs/json.md) on a real private Postfix:
//! a run that changes, one that does not, and one of each failure class
//! (configuration, validation, check, reload, verification), each
//! document checked against what the files and the listeners show.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// A `postfix` stand-in: `script` runs first with the real one's argv
/// (`-c DIR SUBCOMMAND`), then the real one.
fn fake_postfix(dir: &Path, name: &str, script: &str) -> PathBuf {
    let path = dir.join(name);
    executable(
        &path,
        format!("#!/bin/sh\n{script}\nexec /usr/sbin/postfix \"$@\"\n"),
    );
    path
}

/// A started instance with one rotation done, and a config using `postfix`.
fn rotated(
    name: &str,
    postfix: Option<&Path>,
) -> (
    PathBuf,
    dhrotate::testbed::instance::PrivatePostfix,
    PathBuf,
) {
    let (base, inst) = instance(name, true);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    assert!(out.status.success(), "{}", show(&out));
    let extra = postfix.map_or_else(String::new, |p| {
        format!("[postfix]\npostfix = \"{}\"\n", p.display())
    });
    let cfg = instance_config(&base, &inst, 1024, 1024, &extra);
    (base, inst, cfg)
}

fn groups_changed(doc: &Value) -> Vec<bool> {
    doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["changed"].as_bool().unwrap())
        .collect()
}

/// A run that `postfix` (the stand-in `fake`) refuses: exit 4, the class
/// and the check/reload words given, every file as before.
fn rolled_back(name: &str, fake: &Path, class: &str, steps: (&str, &str)) {
    let (_base, inst, cfg) = rotated(name, Some(fake));
    let before = snapshot_tree(&inst.config_dir);
    let (code, doc, _) = now_json(&cfg, &[]);
    assert_eq!(code, Some(4), "{doc:#}");
    assert_eq!(doc["error"]["class"], class);
    assert_eq!(
        (doc["check"].as_str(), doc["reload"].as_str()),
        (Some(steps.0), Some(steps.1))
    );
    assert_eq!(groups_changed(&doc), [false, false]);
    assert_eq!(snapshot_tree(&inst.config_dir), before);
}

#[test]
fn changed_then_unchanged() {
    let (base, inst) = instance("json-changed", true);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let (code, doc, _) = now_json(&cfg, &[]);
    assert_eq!(code, Some(0), "{doc:#}");
    assert_eq!(doc["outcome"], "changed");
    assert_eq!(doc["mode"], "explicit");
    assert_eq!(doc["check"], "passed");
    assert_eq!(doc["reload"], "reloaded");
    assert!(doc["error"].is_null());
    let main = inst.config_dir.join("dh1024.pem");
    let g = &doc["groups"][0];
    assert_eq!(g["name"], "main");
    assert!(g["fingerprint_before"].is_null(), "{g:#}");
    assert_eq!(g["fingerprint_after"], file_fingerprint(&main).as_str());
    assert_eq!(g["source"], "search");
    assert_eq!(groups_changed(&doc), [true, true]);
    // The settings it pointed at the new files, old and new value.
    let edits = doc["edits"].as_array().unwrap();
    let main_edit = edits
        .iter()
        .find(|e| e["service"].is_null())
        .unwrap_or_else(|| panic!("{edits:#?}"));
    assert_eq!(main_edit["parameter"], "smtpd_tls_dh1024_param_file");
    assert_eq!(main_edit["new"], main.to_str().unwrap());
    assert_eq!(main_edit["kept"], true);
    let sub = edits
        .iter()
        .find(|e| e["service"] == inst.submission_service().as_str())
        .unwrap_or_else(|| panic!("{edits:#?}"));
    assert_eq!(sub["kept"], true);
    // Verification saw the new primes on both listeners.
    let v = doc["verification"].as_array().unwrap();
    assert_eq!(v.len(), 2, "{v:#?}");
    assert!(
        v.iter()
            .all(|f| f["ok"] == true && f["served"] == f["expected"])
    );
    assert_eq!(
        served(inst.smtp_port).fingerprint,
        g["fingerprint_after"].as_str().unwrap()
    );
    // Every phase of a changing run, in order, adding up to no more than
    // the whole.
    let phases: Vec<(&str, f64)> = doc["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["phase"].as_str().unwrap(), p["ms"].as_f64().unwrap()))
        .collect();
    let names: Vec<&str> = phases.iter().map(|p| p.0).collect();
    assert_eq!(
        names,
        [
            "plan",
            "source",
            "validation",
            "pre-check",
            "confirm",
            "write",
            "check",
            "reload",
            "verification"
        ],
        "{doc:#}"
    );
    let total: f64 = phases.iter().map(|p| p.1).sum();
    assert!(
        phases.iter().all(|p| p.1 > 0.0)
            && total <= doc["duration_seconds"].as_f64().unwrap() * 1000.0,
        "{doc:#}"
    );

    // Nothing due: unchanged, not one byte different.
    let before = snapshot_tree(&inst.config_dir);
    let (code, doc, _) = now_json(&cfg, &["--if-due"]);
    assert_eq!(code, Some(0), "{doc:#}");
    assert_eq!(doc["outcome"], "unchanged", "{doc:#}");
    assert_eq!(doc["reload"], "not-needed");
    assert_eq!(doc["not_due"].as_array().unwrap().len(), 2);
    assert_eq!(groups_changed(&doc), [false, false]);
    assert!(doc["edits"].as_array().unwrap().is_empty());
    assert_eq!(snapshot_tree(&inst.config_dir), before);

    // A dry run is unchanged too, and says what it would edit.
    let (code, doc, _) = now_json(&cfg, &["--dry-run"]);
    assert_eq!(
        (code, doc["outcome"].as_str()),
        (Some(0), Some("unchanged"))
    );
    assert_eq!(doc["dry_run"], true);
}

#[test]
fn failures_name_their_class_and_leave_the_files() {
    // Configuration: the document still comes, with the file and line.
    let (base, inst) = instance("json-config", false);
    let cfg = instance_config(&base, &inst, 1024, 1024, "max_age = \"soon\"");
    let (code, doc, _) = now_json(&cfg, &[]);
    assert_eq!(code, Some(2));
    assert_eq!(doc["outcome"], "failed");
    assert_eq!(doc["error"]["class"], "config");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_age = \"soon\" is not a duration"),
        "{doc:#}"
    );

    // Validation: a shared prime slipped into the pool is refused.
    let (base, inst, cfg) = rotated("json-validation", None);
    let pool = base.join("state/pool/1024");
    std::fs::create_dir_all(&pool).unwrap();
    let shared = openssl::dh::Dh::from_pqg(
        openssl::bn::BigNum::get_rfc2409_prime_1024().unwrap(),
        None,
        openssl::bn::BigNum::from_u32(2).unwrap(),
    )
    .unwrap();
    std::fs::write(pool.join("planted.pem"), shared.params_to_pem().unwrap()).unwrap();
    let before = snapshot_tree(&inst.config_dir);
    let (code, doc, _) = now_json(&cfg, &[]);
    assert_eq!(code, Some(3), "{doc:#}");
    assert_eq!(doc["error"]["class"], "validation");
    assert_eq!(doc["check"], "not-run");
    assert_eq!(groups_changed(&doc), [false, false]);
    assert_eq!(snapshot_tree(&inst.config_dir), before);

    // check: fails after the edit; everything rolled back.
    let dir = scratch("json-fake-check");
    let count = dir.join("checks");
    let fake = fake_postfix(
        &dir,
        "postfix-check",
        &format!(
            "if [ \"$3\" = check ]; then echo x >> {c}; if [ \"$(wc -l < {c})\" -gt 1 ]; then echo 'postfix: fatal: injected' >&2; exit 1; fi; fi",
            c = count.display()
        ),
    );
    rolled_back("json-check", &fake, "check", ("failed", "not-run"));

    // reload: fails; rolled back, the old files reloaded.
    let dir = scratch("json-fake-reload");
    let fake = fake_postfix(
        &dir,
        "postfix-reload",
        "if [ \"$3\" = reload ]; then echo 'postfix: fatal: injected' >&2; exit 1; fi",
    );
    rolled_back("json-reload", &fake, "reload", ("passed", "failed"));

    // verify: a reload that does nothing; the new files stay (valid),
    // the listeners still serve the old groups, and the document says so.
    let dir = scratch("json-fake-noop");
    let fake = fake_postfix(
        &dir,
        "postfix-noop",
        "if [ \"$3\" = reload ]; then exit 0; fi",
    );
    let (_base, inst, cfg) = rotated("json-verify", Some(&fake));
    let old = served(inst.smtp_port).fingerprint;
    let (code, doc, _) = now_json(&cfg, &[]);
    assert_eq!(code, Some(12), "{doc:#}");
    assert_eq!(doc["outcome"], "failed");
    assert_eq!(doc["error"]["class"], "verify");
    assert_eq!(doc["reload"], "reloaded");
    assert_eq!(groups_changed(&doc), [true, true]);
    let v = doc["verification"].as_array().unwrap();
    assert!(
        v.iter()
            .any(|f| f["ok"] == false && f["served"] == old.as_str()),
        "{v:#?}"
    );
}
