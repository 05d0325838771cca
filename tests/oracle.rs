//! Postfix's own parser judges every edit before it is installed: an edit
//! that dhrotate's reader gets wrong is refused with nothing changed, and
//! the spellings of `-o` Postfix accepts are edited in place.

mod common;

use common::*;

#[test]
fn an_edit_the_reader_gets_wrong_is_refused_by_postconf_and_nothing_changes() {
    let (base, inst) = instance("oracle-misedit", false);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let before = snapshot_tree(&inst.config_dir);
    // A reader bug on demand (debug builds): the edited master.cf quietly
    // drops the submission listener's mandatory TLS, as the unclosed-brace
    // bug once did. dhrotate's own re-read cannot see it; postconf can.
    let out = common::command()
        .args(["--config", cfg.to_str().unwrap(), "now"])
        .env(
            "DHROTATE_MISEDIT",
            "smtpd_tls_security_level=encrypt=>smtpd_tls_security_level=may",
        )
        .env_remove("DHROTATE_CONFIG")
        .output()
        .unwrap();
    let text = show(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("Postfix's own parser reads the edit differently"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "master.cf service {} (line ",
            inst.submission_service()
        )),
        "{text}"
    );
    assert!(
        text.contains("smtpd_tls_security_level as \"may\" instead of \"encrypt\""),
        "{text}"
    );
    assert_eq!(snapshot_tree(&inst.config_dir), before, "files changed");
    assert!(!base.join("state/stage").exists(), "stage left behind");
    assert!(
        !base.join("state/reload-owed").exists(),
        "a refused edit left a reload owed"
    );
    report("oracle-misedit", &text);
}

#[test]
fn glued_and_braced_overrides_are_edited_in_place_as_postfix_reads_them() {
    let (base, inst) = instance("oracle-glued", false);
    let master = inst.config_dir.join("master.cf");
    let key = inst.submission_service();
    let port = key.trim_end_matches("/inet");
    let text = std::fs::read_to_string(&master).unwrap();
    // The entry: a glued brace group first, then glued overrides
    // (values without the letter o: Postfix's own reader cuts glued values
    // there, which dhrotate's edit avoids by rewriting them plainly).
    let glued = text.replace(
        &format!(
            "{port} inet n - n - - smtpd\n  -o syslog_name=postfix/submission\n  -o smtpd_tls_security_level=encrypt\n"
        ),
        &format!(
            "{port} inet n - n - - smtpd\n  -o{{ smtpd_tls_security_level = encrypt }}\n  -osmtpd_sasl_auth_enable=yes\n  -o{{smtpd_tls_dh1024_param_file=/etc/postfix/old.pem}}\n"
        ),
    );
    assert_ne!(glued, text, "the instance's master.cf changed shape");
    std::fs::write(&master, &glued).unwrap();
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    assert!(out.status.success(), "{}", show(&out));
    let (ok, p, err) = postconf(&inst.config_dir, &["-P"]);
    assert!(ok, "{err}");
    assert!(!err.contains("warning"), "{err}");
    let mine: Vec<&str> = p.lines().filter(|l| l.starts_with(&key)).collect();
    let dh = format!(
        "{key}/smtpd_tls_dh1024_param_file = {}",
        inst.config_dir.join("dh1024-submission.pem").display()
    );
    assert!(mine.contains(&dh.as_str()), "{mine:?}");
    assert!(
        mine.contains(&format!("{key}/smtpd_tls_security_level = encrypt").as_str()),
        "{mine:?}"
    );
    assert!(
        mine.contains(&format!("{key}/smtpd_sasl_auth_enable = yes").as_str()),
        "{mine:?}"
    );
    let after = std::fs::read_to_string(&master).unwrap();
    assert_eq!(
        after.matches("smtpd_tls_dh1024_param_file").count(),
        1,
        "{after}"
    );
    assert!(
        after.contains("-o{ smtpd_tls_security_level = encrypt }"),
        "{after}"
    );
}

/// Every corpus main.cf (with Postfix's own master.cf) and every corpus
/// master.cf (with Postfix's own main.cf) goes through a real `now` in
/// auto mode, judged by the real postconf: files postconf can read rotate
/// cleanly, the others are refused with nothing changed.
#[test]
fn every_corpus_file_rotates_cleanly_with_postconf_as_judge() {
    require_postfix();
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus");
    let upstream_main = std::fs::read(data.join("main.cf/01-postfix-upstream.cf")).unwrap();
    let upstream_master = std::fs::read(data.join("master.cf/01-postfix-upstream.cf")).unwrap();
    let base = scratch("oracle-corpus");
    // `postfix check` and `status` are not what this is about (the corpus
    // names certificates and maps this machine lacks): they pass / say
    // "stopped". postconf is the real one.
    let fake = base.join("postfix-check-passes");
    common::executable(
        &fake,
        "#!/bin/sh\ncase \"$3\" in check) exit 0 ;; esac\nexit 1\n",
    );
    let mut cases: Vec<(String, Vec<u8>, Vec<u8>)> = Vec::new();
    for kind in ["main.cf", "master.cf"] {
        let mut files: Vec<_> = std::fs::read_dir(data.join(kind))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            let name = format!("{kind}/{}", f.file_name().unwrap().to_string_lossy());
            if kind == "main.cf" {
                cases.push((name, bytes, upstream_master.clone()));
            } else {
                cases.push((name, upstream_main.clone(), bytes));
            }
        }
    }
    let (mut rotated, mut refused) = (Vec::new(), Vec::new());
    for (i, (name, main, master)) in cases.iter().enumerate() {
        let dir = base.join(format!("case-{i}"));
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        write_settled(&dir.join("etc/main.cf"), main);
        write_settled(&dir.join("etc/master.cf"), master);
        let readable =
            postconf(&dir.join("etc"), &["-n"]).0 && postconf(&dir.join("etc"), &["-P"]).0;
        let cfg = dir.join("dhrotate.toml");
        std::fs::write(
            &cfg,
            format!(
                "mode = \"auto\"\npostfix_config_dir = \"{}\"\nstate_dir = \"{}\"\nlock_wait = \"0s\"\n[postfix]\npostfix = \"{}\"\n[pool]\nsize = 0\n",
                dir.join("etc").display(),
                dir.join("state").display(),
                fake.display()
            ),
        )
        .unwrap();
        let before = snapshot_tree(&dir.join("etc"));
        let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
        if readable {
            assert!(out.status.success(), "{name}: {}", show(&out));
            let (ok, v, err) = postconf(&dir.join("etc"), &["-h", "smtpd_tls_dh1024_param_file"]);
            assert!(ok, "{name}: {err}");
            assert_eq!(v.trim(), "auto", "{name}");
            rotated.push(name.clone());
        } else {
            assert!(!out.status.success(), "{name}: {}", show(&out));
            assert_eq!(
                snapshot_tree(&dir.join("etc")),
                before,
                "{name}: files changed"
            );
            refused.push(name.clone());
        }
    }
    report(
        "oracle-corpus",
        &format!(
            "corpus through `now` with postconf as judge: {} rotated, {} unreadable to postconf and refused untouched\nrotated: {rotated:?}\nrefused: {refused:?}\n",
            rotated.len(),
            refused.len()
        ),
    );
    assert!(
        rotated.len() >= 16,
        "only {} corpus cases rotated",
        rotated.len()
    );
}
