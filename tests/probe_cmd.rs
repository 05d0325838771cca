//! `dhrotate probe` against a real Postfix and against peers that are not
//! what it expects: each failure has a clear message and its own exit code.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;

use common::*;
use dhrotate::testbed::instance::write_cert;

fn probe(args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["probe", "--timeout", "3"];
    all.extend_from_slice(args);
    let out = dhrotate(&all);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

#[test]
fn probe_reports_exactly_the_prime_in_the_configured_file() {
    let (base, inst) = instance("probe-real", true);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now"]);
    assert!(out.status.success(), "{}", show(&out));
    let fp = file_fingerprint(&inst.config_dir.join("dh1024.pem"));
    served(inst.smtp_port); // wait for the reload

    let addr = format!("127.0.0.1:{}", inst.smtp_port);
    let out = dhrotate(&["probe", &addr, "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dhe"]["fingerprint"], fp.as_str());
    assert_eq!(v["dhe"]["bits"], 1024);
    assert_eq!(v["dhe"]["generator"], "2");
    assert_eq!(v["dhe"]["safe_prime"], true);
    assert_eq!(v["dhe"]["known"], serde_json::Value::Null);
    assert_eq!(v["tls13"]["protocol"], "TLSv1.3");
    assert_eq!(v["tls13"]["group"], "X25519");
    assert_eq!(v["tls13"]["signature"], "RSASSA-PSS with SHA256", "{v}");

    // Human output says the same.
    let (code, text) = probe(&[&addr]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(&format!("sha256(p)     {fp}")), "{text}");
    assert!(text.contains("not a known shared prime"), "{text}");

    // STARTTLS service probed as implicit TLS: the mismatch is named.
    let (code, text) = probe(&[&addr, "--tls"]);
    assert_eq!(code, Some(9), "{text}");
    assert!(text.contains("--starttls"), "{text}");

    // After corrupting the file and reloading, Postfix silently falls back;
    // the probe names the group it falls back to.
    std::fs::write(inst.config_dir.join("dh1024.pem"), b"garbage\n").unwrap();
    let (ok, _, err) = postconf(&inst.config_dir, &["-n"]);
    assert!(ok, "{err}");
    inst.reload().unwrap();
    let mut known = None;
    for _ in 0..40 {
        known = served(inst.smtp_port).known;
        if known.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert_eq!(known.as_deref(), Some("rfc3526-modp2048"));
    let (code, text) = probe(&[&addr]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("rfc3526-modp2048 (a widely shared prime)"),
        "{text}"
    );

    // No DHE on offer: exit 11, TLS 1.3 still reported.
    let main = inst.config_dir.join("main.cf");
    let mut text = std::fs::read_to_string(&main).unwrap();
    text.push_str("smtpd_tls_exclude_ciphers = kDHE\n");
    std::fs::write(&main, text).unwrap();
    inst.reload().unwrap();
    let mut last = (None, String::new());
    for _ in 0..40 {
        last = probe(&[&addr]);
        if last.0 == Some(11) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let (code, text) = last;
    assert_eq!(code, Some(11), "{text}");
    assert!(text.contains("offers no DHE cipher suite"), "{text}");
    assert!(text.contains("TLS 1.3 default: TLSv1.3"), "{text}");
}

#[test]
fn closed_port_is_exit_7() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, text) = probe(&[&format!("127.0.0.1:{port}")]);
    assert_eq!(code, Some(7), "{text}");
    assert!(
        text.contains("cannot connect") && text.contains("refused"),
        "{text}"
    );
}

#[test]
fn http_server_is_exit_8() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Like any HTTP server: wait for a request line, answer 400.
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let _ = (&conn).write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let (code, text) = probe(&[&format!("127.0.0.1:{port}")]);
    assert_eq!(code, Some(8), "{text}");
    assert!(text.contains("answers like an HTTP server"), "{text}");
}

#[test]
fn tls_only_server_probed_with_starttls_is_exit_9() {
    let dir = scratch("probe-tls-only");
    write_cert(&dir).unwrap();
    let mut b =
        openssl::ssl::SslAcceptor::mozilla_intermediate_v5(openssl::ssl::SslMethod::tls()).unwrap();
    b.set_private_key_file(dir.join("key.pem"), openssl::ssl::SslFiletype::PEM)
        .unwrap();
    b.set_certificate_chain_file(dir.join("cert.pem")).unwrap();
    let acceptor = Arc::new(b.build());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let a = acceptor.clone();
            std::thread::spawn(move || {
                if let Ok(mut s) = a.accept(conn) {
                    let _ = s.write_all(b"220 tls-only ESMTP\r\n");
                }
            });
        }
    });
    let (code, text) = probe(&[&format!("127.0.0.1:{port}"), "--starttls"]);
    assert_eq!(code, Some(9), "{text}");
    assert!(
        text.contains("speaks TLS at once") && text.contains("--tls"),
        "{text}"
    );
}

/// A peer that never ends its reply (an endless `220-` continuation, or a
/// byte at a time just inside the read timeout) cannot keep the probe.
#[test]
fn an_endless_or_dripping_greeting_is_cut_off() {
    for drip in [false, true] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            if let Some(conn) = listener.incoming().flatten().next() {
                let start = std::time::Instant::now();
                while start.elapsed() < std::time::Duration::from_secs(30) {
                    let sent = if drip {
                        std::thread::sleep(std::time::Duration::from_millis(200));
                        (&conn).write_all(b"2")
                    } else {
                        (&conn).write_all(b"220-still greeting\r\n")
                    };
                    if sent.is_err() {
                        break;
                    }
                }
            }
        });
        let start = std::time::Instant::now();
        let (code, text) = probe(&[&format!("127.0.0.1:{port}")]);
        assert_eq!(code, Some(8), "drip {drip}: {text}");
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "drip {drip}: took {:?}",
            start.elapsed()
        );
        let why = if drip {
            "no SMTP greeting within"
        } else {
            "more than an SMTP server sends"
        };
        assert!(text.contains(why), "drip {drip}: {text}");
    }
}
