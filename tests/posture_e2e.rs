//! Named mode and the posture judged against the guidelines, on a real
//! private Postfix: what the listeners serve, seen by a real TLS client,
//! and `status --json`'s ratings held against data/tls-guidelines.tsv read
//! here on its own.

mod common;

use std::path::Path;

use common::*;

fn run(cfg: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--config", cfg.to_str().unwrap()];
    all.extend_from_slice(args);
    dhrotate(&all)
}

/// The rating data/tls-guidelines.tsv gives a DHE group (`named`: its
/// RFC 7919 TLS name), looked up the way the file's header says: the exact
/// name first, else the largest `custom>=N` the size reaches.
fn table_dhe(guideline: &str, named: Option<&str>, bits: u32) -> String {
    let tsv = include_str!("../data/tls-guidelines.tsv");
    let rows: Vec<Vec<&str>> = tsv
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').collect())
        .filter(|c: &Vec<&str>| c[0] == guideline && c[1] == "dhe")
        .collect();
    if let Some(r) = named.and_then(|n| rows.iter().find(|c| c[2] == n)) {
        return r[3].to_owned();
    }
    rows.iter()
        .filter_map(|c| {
            let n: u32 = c[2].strip_prefix("custom>=")?.parse().ok()?;
            (bits >= n).then_some((n, c[3]))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, r)| r.to_owned())
        .unwrap_or_else(|| panic!("no dhe row for {guideline} {named:?} {bits}"))
}

/// `instance_config` in named mode.
fn named_config(
    base: &Path,
    inst: &dhrotate::testbed::instance::Instance,
    main_bits: u32,
    sub_bits: u32,
    extra: &str,
) -> std::path::PathBuf {
    let cfg = instance_config(base, inst, main_bits, sub_bits, extra);
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replacen("mode = \"explicit\"", "mode = \"named\"", 1),
    )
    .unwrap();
    cfg
}

fn status_json(cfg: &Path, guideline: &str) -> serde_json::Value {
    let out = run(cfg, &["status", "--json", "--guideline", guideline]);
    assert!(
        matches!(out.status.code(), Some(0 | 6)),
        "{guideline}: {}",
        show(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The rating status gives the DHE group served on `port`, and what it
/// says was served.
fn served_dhe_rating(v: &serde_json::Value, port: u16) -> (String, String) {
    let subject = format!("served by 127.0.0.1:{port}: DHE group (TLS 1.2)");
    let f = v["posture"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject"] == subject.as_str())
        .unwrap_or_else(|| panic!("no finding {subject:?} in {v:#}"));
    (
        f["rating"].as_str().unwrap().to_owned(),
        f["observed"].as_str().unwrap().to_owned(),
    )
}

/// `status --json` under each guideline: the served DHE finding on `port`
/// says `observed` and has the rating the table gives the group. Returns
/// the documents, in the order of `GUIDELINES`.
fn rated_per_guideline(
    cfg: &Path,
    port: u16,
    observed: &str,
    named: Option<&str>,
    bits: u32,
) -> Vec<serde_json::Value> {
    GUIDELINES
        .iter()
        .map(|g| {
            let v = status_json(cfg, g);
            let (rating, seen) = served_dhe_rating(&v, port);
            assert_eq!(seen, observed, "{g}");
            assert_eq!(rating, table_dhe(g, named, bits), "{g}: {v:#}");
            assert_eq!(v["posture"]["guideline"], *g);
            v
        })
        .collect()
}

const GUIDELINES: [&str; 3] = ["ncsc-nl", "bsi", "mozilla-intermediate"];

#[test]
fn named_mode_serves_ffdhe3072_and_a_second_run_changes_nothing() {
    let (base, inst) = instance("named-mode", true);
    let cfg = named_config(&base, &inst, 3072, 2048, "");
    let out = run(&cfg, &["now"]);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("RFC 7919's named group"), "{text}");
    // The listeners serve exactly the catalogued RFC 7919 primes.
    let smtp = served(inst.smtp_port);
    assert_eq!(
        (smtp.bits, smtp.known.as_deref()),
        (3072, Some("rfc7919-ffdhe3072"))
    );
    let sub = served(inst.submission_port);
    assert_eq!(sub.known.as_deref(), Some("rfc7919-ffdhe2048"));
    let file = inst.config_dir.join("dh3072.pem");
    assert_eq!(smtp.fingerprint, file_fingerprint(&file));

    // A second run is a no-op: not one byte of the configuration changes.
    let before = snapshot_tree(&inst.config_dir);
    let mtime = std::fs::metadata(&file).unwrap().modified().unwrap();
    let out = run(&cfg, &["now"]);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("nothing changed; no reload needed"), "{text}");
    assert!(!text.contains("wrote "), "{text}");
    assert_eq!(snapshot_tree(&inst.config_dir), before);
    assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), mtime);

    // check names the group; unique mode's rule refuses it and says why.
    let f = file.to_str().unwrap();
    let out = dhrotate(&["check", "--named", "--bits", "3072", f]);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("RFC 7919 named group ffdhe3072"), "{text}");
    let out = dhrotate(&["check", f]);
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("mode = \"named\""),
        "{}",
        show(&out)
    );

    // status agrees: named mode, files valid, listeners serve them.
    let out = run(&cfg, &["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mode"]["mode"], "named");
    assert!(v["groups"][0]["valid"].as_bool().unwrap(), "{v:#}");
    assert_eq!(v["listeners"].as_array().unwrap().len(), 2, "{v:#}");
}

/// Two of the three setups of the issue on Postfix 3.7 (the third, auto on
/// Postfix 3.10 with OpenSSL 3.5, runs in the container harness): a fresh
/// 2048-bit custom group, and named ffdhe3072, each judged under every
/// guideline.
#[test]
fn status_rates_custom_and_named_groups_per_guideline() {
    let (base, inst) = instance("posture", true);
    let cfg = instance_config(&base, &inst, 2048, 2048, "");
    let port = inst.smtp_port;

    let out = run(&cfg, &["now"]);
    assert!(out.status.success(), "{}", show(&out));
    served(port);
    let docs = rated_per_guideline(&cfg, port, "a custom 2048-bit prime", None, 2048);
    // What the table says, written out: NCSC and BSI reject a custom
    // 2048-bit group, Mozilla's intermediate profile takes it.
    assert_eq!(table_dhe("ncsc-nl", None, 2048), "insufficient");
    assert_eq!(table_dhe("bsi", None, 2048), "insufficient");
    assert_eq!(table_dhe("mozilla-intermediate", None, 2048), "good");
    // The fix offered is the named group each guideline rates best.
    let fixes: Vec<&str> = docs[0]["posture"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["fix"].as_str())
        .collect();
    assert!(
        fixes
            .iter()
            .any(|f| f.contains("mode = \"named\" with bits = 3072")),
        "{fixes:?}"
    );

    let cfg = named_config(&base, &inst, 3072, 2048, "");
    let out = run(&cfg, &["now"]);
    assert!(out.status.success(), "{}", show(&out));
    served(port);
    rated_per_guideline(
        &cfg,
        port,
        "ffdhe3072 (RFC 7919, 3072 bits)",
        Some("ffdhe3072"),
        3072,
    );
    assert_eq!(table_dhe("ncsc-nl", Some("ffdhe3072"), 3072), "sufficient");
    assert_eq!(table_dhe("bsi", Some("ffdhe3072"), 3072), "good");

    // guideline "none": no posture section.
    let v = status_json(&cfg, "none");
    assert!(v["posture"].is_null(), "{v:#}");
}

/// `now` compares what it is about to install with what is served: a
/// custom 2048-bit group after ffdhe3072 is worse under NCSC-NL. A
/// warning by default; with enforce, exit 2 and nothing touched.
#[test]
fn now_warns_or_refuses_a_change_for_the_worse() {
    let (base, inst) = instance("posture-enforce", true);
    let named = named_config(&base, &inst, 3072, 2048, "");
    let out = run(&named, &["now"]);
    assert!(out.status.success(), "{}", show(&out));
    served(inst.smtp_port);

    let cfg = instance_config(
        &base,
        &inst,
        2048,
        2048,
        "[policy]\nguideline = \"ncsc-nl\"\nenforce = true\n",
    );
    let before = snapshot_tree(&inst.config_dir);
    let out = run(&cfg, &["now"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("enforce = true"), "{err}");
    assert!(
        err.contains("a custom 2048-bit prime: insufficient"),
        "{err}"
    );
    // The worst of what is served now: submission's ffdhe2048.
    assert!(
        err.contains("worse than what is served now (ffdhe2048 (RFC 7919, 2048 bits): phase-out)"),
        "{err}"
    );
    assert_eq!(snapshot_tree(&inst.config_dir), before);
    assert_eq!(
        served(inst.smtp_port).known.as_deref(),
        Some("rfc7919-ffdhe3072")
    );

    // Without enforce the run goes ahead and says what it makes worse.
    let cfg = instance_config(
        &base,
        &inst,
        2048,
        2048,
        "[policy]\nguideline = \"ncsc-nl\"\n",
    );
    let out = run(&cfg, &["now"]);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("warning: ncsc-nl rates the DHE group this run installs"),
        "{text}"
    );
    assert_eq!(served(inst.smtp_port).known, None);
}
