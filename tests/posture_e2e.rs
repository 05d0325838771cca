//! Named mode and the posture judged against the guidelines, on a real
//! private Postfix: what the listeners serve, seen by a real TLS client,
//! and `status --json`'s ratings held against data/tls-guidelines.tsv read
//! here on its own.
//!
//! Slow (about 100 s here): three setups, each judged under six guidelines,
//! are some twenty `status --guideline` runs of ~17 handshakes per
//! listener, and each test proves ffdhe3072 once for its own state
//! directory (seconds in a test build).

mod common;

use std::path::Path;

use common::*;

/// data/tls-guidelines.tsv's rows of one guideline and kind, read here on
/// their own.
fn rows(guideline: &str, kind: &str) -> Vec<Vec<&'static str>> {
    include_str!("../data/tls-guidelines.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|c| c[0] == guideline && c[1] == kind)
        .collect()
}

/// The row data/tls-guidelines.tsv gives a DHE group (`named`: its RFC
/// 7919 TLS name), looked up the way the file's header says: the exact
/// name first, else the largest `custom>=N` the size reaches.
fn dhe_row(guideline: &str, named: Option<&str>, bits: u32) -> Vec<&'static str> {
    let rows = rows(guideline, "dhe");
    if let Some(r) = named.and_then(|n| rows.iter().find(|c| c[2] == n)) {
        return r.clone();
    }
    rows.iter()
        .filter_map(|c| {
            let n: u32 = c[2].strip_prefix("custom>=")?.parse().ok()?;
            (bits >= n).then_some((n, c))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, r)| r.to_vec())
        .unwrap_or_else(|| panic!("no dhe row for {guideline} {named:?} {bits}"))
}

fn table_dhe(guideline: &str, named: Option<&str>, bits: u32) -> String {
    dhe_row(guideline, named, bits)[3].to_owned()
}

/// The row for a key-exchange group: the one naming it, else `*`.
fn group_row(guideline: &str, name: &str) -> Vec<&'static str> {
    let name = name.strip_prefix("rfc7919-").unwrap_or(name);
    let rows = rows(guideline, "group");
    rows.iter()
        .find(|c| c[2].split('|').any(|n| n.eq_ignore_ascii_case(name)))
        .or_else(|| rows.iter().find(|c| c[2] == "*"))
        .unwrap_or_else(|| panic!("no group row for {guideline} {name}"))
        .clone()
}

/// Every rated finding of a `status --json` posture, looked up in the data
/// file by its kind and what was observed: same rating, same words, same
/// document. Returns how many were checked.
fn findings_match_the_table(v: &serde_json::Value) -> usize {
    let g = v["posture"]["guideline"].as_str().unwrap();
    let mut checked = 0;
    for f in v["posture"]["findings"].as_array().unwrap() {
        if f["rating"] == "unrated" && f["basis"] == "" {
            continue; // not judged: nothing of the table's in it
        }
        let observed = f["observed"].as_str().unwrap();
        let row = match f["kind"].as_str().unwrap() {
            "suites" => rows(g, "suites").remove(0),
            "dhe" => {
                let bits: u32 = observed
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|w| w.len() >= 4)
                    .and_then(|w| w.parse().ok())
                    .unwrap_or_else(|| panic!("no size in {observed:?}"));
                let named = observed
                    .split_whitespace()
                    .next()
                    .filter(|w| w.starts_with("ffdhe"));
                dhe_row(g, named, bits)
            }
            _ => group_row(g, observed.split_whitespace().next().unwrap()),
        };
        if f["subject"]
            .as_str()
            .unwrap()
            .ends_with("post-quantum hybrid")
        {
            // Not served, so not rated; the table's verdict is quoted.
            assert_eq!(f["rating"], "unrated", "{f:#}");
            assert_eq!(
                f["term"],
                format!("{} where offered: {}", row[3], row[4]),
                "{f:#}"
            );
        } else {
            assert_eq!(f["rating"], row[3], "{g}: {f:#}");
            assert_eq!(f["term"], row[4], "{g}: {f:#}");
            assert_eq!(
                f["until"],
                if row[5] == "-" {
                    serde_json::Value::Null
                } else {
                    row[5].into()
                },
                "{f:#}"
            );
        }
        assert_eq!(
            f["source"],
            format!("{} {}, {}", row[6], row[7], row[8]),
            "{g}: {f:#}"
        );
        assert_eq!(f["basis"], row[9], "{g}: {f:#}");
        checked += 1;
    }
    checked
}

/// `instance_config` in named mode.
fn named_config(
    base: &Path,
    inst: &dhrotate::testbed::instance::PrivatePostfix,
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
    let out = with_config(cfg, &["status", "--json", "--guideline", guideline]);
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
/// says `observed` and has the rating the table gives the group, and every
/// rated finding is the table's. Returns the documents, in the order of
/// `GUIDELINES`, and writes the ratings, terms and fixes to a report.
fn rated_per_guideline(
    cfg: &Path,
    setup: &str,
    port: u16,
    dhe: Option<(&str, Option<&str>, u32)>,
) -> Vec<serde_json::Value> {
    let mut text = String::new();
    let docs = GUIDELINES
        .iter()
        .map(|g| {
            let v = status_json(cfg, g);
            assert_eq!(v["posture"]["guideline"], *g);
            match dhe {
                Some((observed, named, bits)) => {
                    let (rating, seen) = served_dhe_rating(&v, port);
                    assert_eq!(seen, observed, "{g}");
                    assert_eq!(rating, table_dhe(g, named, bits), "{g}: {v:#}");
                }
                None => assert!(
                    !v["posture"]["findings"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|f| f["subject"].as_str().unwrap().starts_with("served by")
                            && f["kind"] != "group"),
                    "{g}: DHE judged where none is served: {v:#}"
                ),
            }
            let checked = findings_match_the_table(&v);
            assert!(checked >= 3, "{g}: only {checked} findings: {v:#}");
            text += &format!("== {setup}, guideline {g}: {}\n", v["posture"]["rating"]);
            for f in v["posture"]["findings"].as_array().unwrap() {
                text += &format!(
                    "  {} = {} [{}: {}]{}\n",
                    f["subject"].as_str().unwrap(),
                    f["observed"].as_str().unwrap(),
                    f["rating"].as_str().unwrap(),
                    f["term"].as_str().unwrap(),
                    f["fix"]
                        .as_str()
                        .map(|x| format!("\n      fix: {x}"))
                        .unwrap_or_default()
                );
            }
            v
        })
        .collect();
    report(&format!("posture-{}", setup.replace(' ', "-")), &text);
    docs
}

const GUIDELINES: [&str; 6] = [
    "ncsc-nl",
    "ncsc-nl-2021",
    "bsi",
    "mozilla-intermediate",
    "mozilla-intermediate-5.7",
    "mozilla-modern",
];

/// The fixes a posture offers.
fn fixes(v: &serde_json::Value) -> Vec<String> {
    v["posture"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["fix"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn named_mode_serves_ffdhe3072_and_a_second_run_changes_nothing() {
    let (base, inst) = instance("named-mode", true);
    let cfg = named_config(&base, &inst, 3072, 2048, "");
    let out = with_config(&cfg, &["now"]);
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
    let out = with_config(&cfg, &["now"]);
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
    let out = with_config(&cfg, &["status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["mode"]["mode"], "named");
    assert!(v["groups"][0]["valid"].as_bool().unwrap(), "{v:#}");
    assert_eq!(v["listeners"].as_array().unwrap().len(), 2, "{v:#}");
}

/// The three setups on Postfix 3.7 (auto on Postfix 3.10 with OpenSSL 3.5
/// runs in the container harness): a fresh 2048-bit custom group, named
/// ffdhe3072, and DHE off (smtpd_tls_exclude_ciphers), each judged under
/// every guideline, every finding held against the data file.
#[test]
fn status_rates_custom_and_named_groups_per_guideline() {
    let (base, inst) = instance("posture", true);
    let cfg = instance_config(&base, &inst, 2048, 2048, "");
    let port = inst.smtp_port;

    let out = with_config(&cfg, &["now"]);
    assert!(out.status.success(), "{}", show(&out));
    served(port);
    let custom = Some(("a custom 2048-bit prime", None, 2048));
    let docs = rated_per_guideline(&cfg, "custom 2048", port, custom);
    // What the table says, written out: NCSC and BSI reject a custom
    // 2048-bit group; Mozilla's intermediate profile takes it, below the
    // ffdhe2048 its generator installs.
    assert_eq!(table_dhe("ncsc-nl", None, 2048), "insufficient");
    assert_eq!(table_dhe("bsi", None, 2048), "insufficient");
    assert_eq!(table_dhe("mozilla-intermediate", None, 2048), "sufficient");
    // The fix offered: under NCSC-NL 2025-05 (every DHE at best "phase
    // out") stop offering DHE; under its 2.1 and the BSI, ffdhe3072.
    assert!(
        fixes(&docs[0])
            .iter()
            .any(|f| f.starts_with("[policy] dhe = \"off\"")),
        "{:?}",
        fixes(&docs[0])
    );
    for v in [&docs[1], &docs[2]] {
        assert!(
            fixes(v)
                .iter()
                .any(|f| f.contains("mode = \"named\" with bits = 3072")),
            "{:?}",
            fixes(v)
        );
    }

    let cfg = named_config(&base, &inst, 3072, 2048, "");
    let out = with_config(&cfg, &["now"]);
    assert!(out.status.success(), "{}", show(&out));
    served(port);
    let named = Some(("ffdhe3072 (RFC 7919, 3072 bits)", Some("ffdhe3072"), 3072));
    rated_per_guideline(&cfg, "named ffdhe3072", port, named);
    assert_eq!(table_dhe("ncsc-nl", Some("ffdhe3072"), 3072), "phase-out");
    assert_eq!(
        table_dhe("ncsc-nl-2021", Some("ffdhe3072"), 3072),
        "sufficient"
    );
    assert_eq!(table_dhe("bsi", Some("ffdhe3072"), 3072), "good");

    // DHE off, by hand in main.cf: no DHE-only client gets through, and
    // nothing of DHE is judged.
    let (ok, _, err) = postconf(
        &inst.config_dir,
        &["-e", "smtpd_tls_exclude_ciphers = kDHE"],
    );
    assert!(ok, "{err}");
    inst.reload().unwrap();
    let docs = rated_per_guideline(&cfg, "DHE off", port, None);
    for v in &docs {
        assert!(
            !fixes(v)
                .iter()
                .any(|f| f.starts_with("[policy] dhe = \"off\"")),
            "{v:#}"
        );
    }

    // guideline "none": no posture section.
    let v = status_json(&cfg, "none");
    assert!(v["posture"].is_null(), "{v:#}");
}

/// `now` compares what it is about to install with what each listener
/// serves: a custom 2048-bit group after ffdhe3072 is worse under NCSC-NL,
/// and so is swapping two listeners' groups (better for one, worse for
/// the other). A warning by default; with enforce, exit 2 and nothing
/// touched.
#[test]
fn now_warns_or_refuses_a_change_for_the_worse() {
    let (base, inst) = instance("posture-enforce", true);
    let named = named_config(&base, &inst, 3072, 2048, "");
    let out = with_config(&named, &["now"]);
    assert!(out.status.success(), "{}", show(&out));
    served(inst.smtp_port);

    // smtp ffdhe3072 -> ffdhe2048 (worse), submission ffdhe2048 ->
    // ffdhe3072 (better): the worst of the whole is the same before and
    // after, listener by listener it is worse.
    let swapped = named_config(
        &base,
        &inst,
        2048,
        3072,
        "[policy]\nguideline = \"ncsc-nl\"\nenforce = true\n",
    );
    let before = snapshot_tree(&inst.config_dir);
    let out = with_config(&swapped, &["now"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "(ffdhe2048 (RFC 7919, 2048 bits): insufficient, NCSC-NL TLS Security Guidelines 2025-05, \
             3.3.3.1, table 7 (finite field groups)) worse than what 127.0.0.1:{} serves now \
             (ffdhe3072 (RFC 7919, 3072 bits): phase-out)",
            inst.smtp_port
        )),
        "{err}"
    );
    assert_eq!(snapshot_tree(&inst.config_dir), before);
    report(
        "posture-enforce-per-listener",
        &format!("now, smtp and submission groups swapped, enforce = true:\n{err}"),
    );

    let cfg = instance_config(
        &base,
        &inst,
        2048,
        2048,
        "[policy]\nguideline = \"ncsc-nl\"\nenforce = true\n",
    );
    let before = snapshot_tree(&inst.config_dir);
    let out = with_config(&cfg, &["now"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("enforce = true"), "{err}");
    assert!(
        err.contains("a custom 2048-bit prime: insufficient"),
        "{err}"
    );
    // Held against what smtp serves now; submission's ffdhe2048 is no
    // better than the custom group, so only smtp is named.
    let smtp_now = format!(
        "worse than what 127.0.0.1:{} serves now (ffdhe3072 (RFC 7919, 3072 bits): phase-out)",
        inst.smtp_port
    );
    assert!(err.contains(&smtp_now), "{err}");
    assert!(
        !err.contains(&format!("127.0.0.1:{} serves", inst.submission_port)),
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
    let out = with_config(&cfg, &["now"]);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("warning: ncsc-nl rates the DHE this run installs"),
        "{text}"
    );
    assert_eq!(served(inst.smtp_port).known, None);
}
