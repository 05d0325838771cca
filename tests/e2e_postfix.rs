//! End to end against a real, private Postfix instance: rotate, reload, and
//! check with a real TLS client (DHE-only TLS 1.2) what each listener serves.

mod common;

use common::*;

#[test]
fn each_listener_serves_its_new_prime_and_a_second_rotation_changes_both() {
    let (base, mut inst) = instance("e2e-rotate", true);
    let cfg = instance_config(&base, &inst, 2048, 1024, "");
    let cfg = cfg.to_str().unwrap();
    let main_file = inst.config_dir.join("dh2048.pem");
    let sub_file = inst.config_dir.join("dh1024-submission.pem");

    // Before: both listeners serve OpenSSL's automatic group (RFC 3526 2048).
    let before = served(inst.smtp_port);
    assert_eq!(before.bits, 2048);
    assert_eq!(before.known.as_deref(), Some("rfc3526-modp2048"));

    let out = dhrotate(&["--config", cfg, "now"]);
    assert!(out.status.success(), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Postfix reloaded"), "{}", show(&out));
    // Step 10: dhrotate itself probed both listeners after the reload.
    for (port, group) in [
        (inst.smtp_port, "main"),
        (inst.submission_port, "submission"),
    ] {
        assert!(
            stdout.contains(&format!(
                "verified: 127.0.0.1:{port} serves group \"{group}\""
            )),
            "{}",
            show(&out)
        );
    }

    let first_main = file_fingerprint(&main_file);
    let first_sub = file_fingerprint(&sub_file);
    assert_ne!(first_main, first_sub);
    let smtp = served(inst.smtp_port);
    let sub = served(inst.submission_port);
    assert_eq!(
        (smtp.bits, &smtp.fingerprint),
        (2048, &first_main),
        "smtp listener"
    );
    assert_eq!(
        (sub.bits, &sub.fingerprint),
        (1024, &first_sub),
        "submission listener"
    );
    assert_ne!(smtp.fingerprint, before.fingerprint);
    assert!(smtp.cipher.starts_with("DHE-"), "{}", smtp.cipher);
    assert_eq!((smtp.known, sub.known), (None, None));

    // Postfix itself reads what dhrotate wrote.
    let (ok, main_value, err) = postconf(&inst.config_dir, &["-h", "smtpd_tls_dh1024_param_file"]);
    assert!(ok, "{err}");
    assert_eq!(main_value.trim(), main_file.to_str().unwrap());
    let key = format!("{}/smtpd_tls_dh1024_param_file", inst.submission_service());
    let (ok, p, err) = postconf(&inst.config_dir, &["-P", &key]);
    assert!(ok, "{err}");
    assert_eq!(p.trim(), format!("{key} = {}", sub_file.display()));

    // Files: mode 0644, no temp files left.
    use std::os::unix::fs::MetadataExt;
    for f in [&main_file, &sub_file] {
        assert_eq!(
            std::fs::metadata(f).unwrap().mode() & 0o777,
            0o644,
            "{}",
            f.display()
        );
    }
    assert!(
        std::fs::read_dir(&inst.config_dir).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp"))
    );

    let first_main_bytes = std::fs::read(&main_file).unwrap();
    let out = dhrotate(&["--config", cfg, "now"]);
    assert!(out.status.success(), "{}", show(&out));
    let second_main = file_fingerprint(&main_file);
    let second_sub = file_fingerprint(&sub_file);
    assert_ne!(second_main, first_main);
    assert_ne!(second_sub, first_sub);
    assert_eq!(served(inst.smtp_port).fingerprint, second_main);
    assert_eq!(served(inst.submission_port).fingerprint, second_sub);
    // The previous group is kept beside the new one.
    assert_eq!(
        std::fs::read(inst.config_dir.join("dh2048.pem.prev")).unwrap(),
        first_main_bytes
    );

    // The recorded state and `status` agree with the files.
    let out = dhrotate(&["--config", cfg, "status", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["healthy"], true);
    let fps: Vec<&str> = status["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fps, [second_main.as_str(), second_sub.as_str()]);
    assert!(
        !inst.maillog().contains("error decoding DH parameters"),
        "{}",
        inst.maillog()
    );
    inst.stop().unwrap();
}
