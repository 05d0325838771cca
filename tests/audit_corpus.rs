//! `dhrotate audit` on every file in tests/data/corpus/logs, checked against
//! expectations written by hand from reading each file (see the comments).

mod common;

use std::io::Write;
use std::path::Path;

use common::*;
use serde_json::Value;

fn audit(args: &[&str]) -> Value {
    let mut all = vec!["audit", "--json"];
    all.extend_from_slice(args);
    let out = dhrotate(&all);
    assert!(out.status.success(), "{}", show(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn corpus(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/corpus/logs")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// (file, lines: total session failure received_other unparsed other,
///  sessions, with FS, without FS)
type Row = (&'static str, [u64; 6], [u64; 3]);

const EXPECTED: [Row; 17] = [
    // 8 "data:" lines with a TLS record each (6 to, 2 from), all FS (ECDHE,
    // AECDH, TLS 1.3); "lost connection after STARTTLS" and
    // "certificate verification failed" are failures.
    (
        "01-grok-tls-established.log",
        [10, 8, 2, 0, 0, 0],
        [8, 8, 0],
    ),
    // 5 failJSON comments, 1 blank, 4 disconnect/lost-after-CONNECT lines;
    // one "lost connection after STARTTLS".
    (
        "02-fail2ban-postfix-starttls.log",
        [11, 0, 1, 0, 0, 10],
        [0, 0, 0],
    ),
    // Exim's C=EHLO,STARTTLS is not a Postfix TLS record.
    (
        "03-NEG-fail2ban-exim-starttls.log",
        [5, 0, 0, 0, 0, 5],
        [0, 0, 0],
    ),
    // slapd's "TLS established" and "TLS already started" are not Postfix's.
    (
        "04-NEG-fail2ban-slapd-tls-established.log",
        [12, 0, 0, 0, 0, 12],
        [0, 0, 0],
    ),
    // Six folded TLS 1.3 examples: 5+4+5+3+3+6 = 26 lines (2 smtp, 4 smtpd).
    (
        "05-postfix-upstream-fs-readme-folded.log",
        [61, 26, 0, 0, 0, 35],
        [6, 6, 0],
    ),
    // Four Received: examples: two with placeholders "cipher-name
    // (actual-key-size/raw-key-size bits)" (5+4 lines, unparsed), two TLS 1.3 (6+7).
    (
        "06-postfix-upstream-fs-readme-received-folded.log",
        [35, 13, 0, 0, 9, 13],
        [2, 2, 0],
    ),
    // Prefix variants only, no TLS.
    (
        "07-crowdsec-mixed-syslog-rfc3339.log",
        [7, 0, 0, 0, 0, 7],
        [0, 0, 0],
    ),
    // One Received: header each, all 7 (or 5) lines folded into it.
    (
        "10-recv-lowercase-x25519.log",
        [7, 7, 0, 0, 0, 0],
        [1, 1, 0],
    ),
    (
        "11-recv-secp256r1-bare-group.log",
        [7, 7, 0, 0, 0, 0],
        [1, 1, 0],
    ),
    (
        "12-recv-ecdhe-prime256v1.log",
        [7, 7, 0, 0, 0, 0],
        [1, 1, 0],
    ),
    // AES128-GCM-SHA256: RSA key transport, no forward secrecy.
    (
        "14-recv-tls12-rsa-kx-no-fs.log",
        [5, 5, 0, 0, 0, 0],
        [1, 0, 1],
    ),
    ("15-recv-dhe-rsa.log", [5, 5, 0, 0, 0, 0], [1, 1, 0]),
    ("16-recv-dhe-rsa-gcm.log", [5, 5, 0, 0, 0, 0], [1, 1, 0]),
    // Postfix hop without TLS (4 lines), Exim hop (6 lines), Postfix
    // TLS 1.3 with X25519MLKEM768 (7 lines).
    (
        "17-recv-stack-exim-negative-ipv6.log",
        [17, 7, 0, 10, 0, 0],
        [1, 1, 0],
    ),
    // Markdown fence; the record is folded onto a second line; the
    // delivery record and fences are unrelated.
    (
        "18-dms-docs-folded-relay-ses.log",
        [6, 2, 0, 0, 0, 4],
        [1, 1, 0],
    ),
    (
        "19-dms-docs-folded-relay-gmail.log",
        [6, 2, 0, 0, 0, 4],
        [1, 1, 0],
    ),
    // "SSL_accept error -1" is a failure; the error stack lines are not counted twice.
    (
        "22-postfix-tls-changes-ssl-accept-error-2000.log",
        [5, 0, 1, 0, 0, 4],
        [0, 0, 0],
    ),
];

#[test]
fn every_corpus_log_gives_the_hand_checked_counts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus/logs");
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(on_disk, EXPECTED.len(), "a corpus log has no expectation");
    for (file, lines, sessions) in EXPECTED {
        let v = audit(&[&corpus(file)]);
        let l = &v["lines"];
        let got_lines = [
            "total",
            "session",
            "failure",
            "received_other",
            "unparsed",
            "other",
        ]
        .map(|k| l[k].as_u64().unwrap());
        assert_eq!(got_lines, lines, "{file}: line classes");
        assert_eq!(
            got_lines[1..].iter().sum::<u64>(),
            got_lines[0],
            "{file}: a line was dropped"
        );
        let got =
            ["sessions", "forward_secret", "not_forward_secret"].map(|k| v[k].as_u64().unwrap());
        assert_eq!(got, sessions, "{file}: sessions");
    }
}

#[test]
fn details_of_the_corpus_sessions() {
    let v = audit(&[&corpus("01-grok-tls-established.log")]);
    assert_eq!(v["by_direction"]["outbound (smtp)"], 6);
    assert_eq!(v["by_direction"]["inbound (smtpd)"], 2);
    assert_eq!(
        v["trust"],
        serde_json::json!({"Anonymous": 2, "Trusted": 2, "Untrusted": 3, "Verified": 1})
    );
    assert_eq!(
        v["protocols"],
        serde_json::json!({"TLSv1": 1, "TLSv1.2": 4, "TLSv1.3": 3})
    );
    assert_eq!(v["key_exchange"]["X25519"], 3);
    assert_eq!(v["key_exchange"]["ECDHE (anonymous)"], 2);
    assert_eq!(v["failures"]["lost connection after STARTTLS"], 1);
    assert_eq!(v["failures"]["certificate verification failed"], 1);

    let v = audit(&[&corpus("05-postfix-upstream-fs-readme-folded.log")]);
    assert_eq!(
        v["key_exchange"],
        serde_json::json!({"P-256": 1, "TLS 1.3, group not logged": 2, "X25519": 3})
    );
    assert_eq!(
        v["trust"],
        serde_json::json!({"Anonymous": 2, "Untrusted": 4})
    );

    // x25519, secp256r1 and ECDHE (prime256v1) are spelled one way each.
    let v = audit(&[
        &corpus("10-recv-lowercase-x25519.log"),
        &corpus("11-recv-secp256r1-bare-group.log"),
        &corpus("12-recv-ecdhe-prime256v1.log"),
        &corpus("15-recv-dhe-rsa.log"),
        &corpus("17-recv-stack-exim-negative-ipv6.log"),
    ]);
    assert_eq!(
        v["key_exchange"],
        serde_json::json!({"P-256": 2, "X25519": 1, "X25519MLKEM768": 1, "DHE, size not logged": 1})
    );
    assert_eq!(v["hybrid_pq"], 1);
    assert_eq!(
        (
            v["received_plaintext"].as_u64(),
            v["received_foreign"].as_u64()
        ),
        (Some(1), Some(1))
    );

    let v = audit(&[&corpus("14-recv-tls12-rsa-kx-no-fs.log")]);
    assert_eq!(
        v["peers_without_fs"],
        serde_json::json!({"smtp.smtpout.orange.fr": 1})
    );
}

#[test]
fn journald_json_gzip_stdin_and_container_prefixes() {
    let dir = scratch("audit-formats");
    let dhe = "TLS connection established from a.example[192.0.2.1]: TLSv1.2 with cipher DHE-RSA-AES256-GCM-SHA384 (256/256 bits) key-exchange DHE (2048 bits) server-signature RSA (2048 bits) server-digest SHA256";
    let rsa = "TLS connection established to b.example[192.0.2.2]:25: TLSv1.2 with cipher AES256-GCM-SHA384 (256/256 bits)";
    let text = format!(
        "2026-11-29T10:00:00+0000 mx postfix/smtpd[1]: Anonymous {dhe}\n\
         mail-1  | Nov 29 10:00:01 mx postfix/smtp[2]: Verified {rsa}\n\
         {}\n\
         Nov 29 10:00:03 mx postfix/smtpd[3]: warning: TLS library problem: error:0A000126:SSL routines::unexpected eof while reading\n\
         not a log line at all",
        serde_json::json!({"MESSAGE": format!("Untrusted {rsa}"), "SYSLOG_IDENTIFIER": "postfix/smtp"})
    );
    let gz = dir.join("maillog.2.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
    let plain = dir.join("maillog");
    std::fs::write(&plain, &text).unwrap();

    let mut child = common::command()
        .args([
            "audit",
            "--json",
            gz.to_str().unwrap(),
            "-",
            plain.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Three copies of: 3 sessions (1 FS), 1 failure, 1 unrelated line.
    assert_eq!(v["sessions"], 9);
    assert_eq!(v["forward_secret"], 3);
    assert_eq!(v["key_exchange"]["DHE 2048-bit"], 3);
    assert_eq!(v["failures"]["TLS library problem"], 3);
    assert_eq!(v["lines"]["total"], 15);
    assert_eq!(v["lines"]["other"], 3);
    assert_eq!(
        v["trust"],
        serde_json::json!({"Anonymous": 3, "Untrusted": 3, "Verified": 3})
    );
    assert_eq!(
        v["peers_without_fs"],
        serde_json::json!({"b.example[192.0.2.2]": 6})
    );
}

#[test]
fn a_large_file_is_counted_exactly_like_its_parts() {
    // Over 1 MiB, the file is memory-mapped and split across cores.
    let one = std::fs::read(corpus("05-postfix-upstream-fs-readme-folded.log")).unwrap();
    let copies = (2 << 20) / one.len() + 1;
    let dir = scratch("audit-large");
    let big = dir.join("big.log");
    std::fs::write(&big, one.repeat(copies)).unwrap();
    let v = audit(&[big.to_str().unwrap()]);
    let n = copies as u64;
    assert_eq!(v["sessions"].as_u64(), Some(6 * n));
    assert_eq!(v["lines"]["total"].as_u64(), Some(61 * n));
    assert_eq!(v["lines"]["session"].as_u64(), Some(26 * n));
    assert_eq!(v["key_exchange"]["X25519"].as_u64(), Some(3 * n));
}

/// The portable prefilter (what Debian's architectures without the SIMD
/// searcher run) gives the same report as the fast path, on every corpus
/// log and on a large mixed log read in one piece (two threads).
#[test]
fn the_portable_prefilter_reports_exactly_what_the_simd_one_does() {
    use dhrotate::audit::Auditor;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus/logs");
    let mut logs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    // A large one, past the size at which the auditor splits work.
    let big: Vec<u8> = logs
        .iter()
        .flatten()
        .copied()
        .cycle()
        .take(3 << 20)
        .collect();
    logs.push(big);
    for (i, log) in logs.iter().enumerate() {
        let report = |mut a: Auditor| {
            a.read(log.as_slice()).unwrap();
            serde_json::to_string(&a.finish()).unwrap()
        };
        let fast = report(Auditor::new());
        let portable = report(Auditor::portable());
        assert_eq!(fast, portable, "log {i}");
        assert!(fast.contains("\"total\""), "log {i}: {fast}");
    }
}
