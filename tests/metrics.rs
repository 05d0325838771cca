//! Prometheus: the alert rules pass promtool's check and unit tests, and
//! after a rotation on a real private Postfix, Debian's node_exporter
//! serves dhrotate's textfile over HTTP with the values `status --json`
//! reports, in a scrape `promtool check metrics` accepts.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (Debian's prometheus package; scripts/test.sh installs it)");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn alert_rules_pass_promtool_check_and_unit_tests() {
    let (ok, out) = promtool(
        &["check", "rules", "packaging/prometheus/dhrotate-rules.yml"],
        None,
    );
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS: 6 rules found"), "{out}");
    let (ok, out) = promtool(
        &["test", "rules", "tests/prometheus/dhrotate-rules.test.yml"],
        None,
    );
    assert!(ok, "{out}");
}

struct Exporter(Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET /metrics over plain HTTP/1.0, the body.
fn scrape(port: u16) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP header"))?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(head.to_owned()));
    }
    Ok(body.to_owned())
}

fn node_exporter(textfile_dir: &Path) -> (Exporter, u16, String) {
    let port = free_port();
    let child = Command::new("prometheus-node-exporter")
        .arg("--collector.disable-defaults")
        .arg("--collector.textfile")
        .arg(format!(
            "--collector.textfile.directory={}",
            textfile_dir.display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus-node-exporter runs (scripts/test.sh installs it)");
    let exporter = Exporter(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match scrape(port) {
            Ok(body) => return (exporter, port, body),
            Err(e) if Instant::now() > deadline => panic!("node_exporter on {port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The value of the one sample of `name` whose labels contain `labels`.
fn value(scrape: &str, name: &str, labels: &[&str]) -> f64 {
    let hits: Vec<&str> = scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .collect();
    assert_eq!(hits.len(), 1, "{name} {labels:?}: {hits:?}\n{scrape}");
    hits[0].rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn node_exporter_serves_the_metrics_status_reports() {
    let (base, inst) = instance("metrics", true);
    let textdir = base.join("textfile");
    std::fs::create_dir_all(&textdir).unwrap();
    let prom = textdir.join("dhrotate.prom");
    let cfg = instance_config(
        &base,
        &inst,
        1024,
        1024,
        &format!("[metrics]\ntextfile = \"{}\"\n", prom.display()),
    );
    let c = cfg.to_str().unwrap();
    let out = dhrotate(&["--config", c, "now"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(prom.exists(), "now wrote no textfile");

    let out = dhrotate(&["--config", c, "status", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let (_exporter, _port, body) = node_exporter(&textdir);
    // The collector read the file without error.
    assert_eq!(
        value(&body, "node_textfile_scrape_error", &[]),
        0.0,
        "{body}"
    );
    let last = &status["last_run"];
    assert_eq!(
        value(&body, "dhrotate_last_run_timestamp_seconds", &[]),
        last["last_run"].as_f64().unwrap()
    );
    assert_eq!(
        value(&body, "dhrotate_last_success_timestamp_seconds", &[]),
        last["last_success"].as_f64().unwrap()
    );
    assert_eq!(value(&body, "dhrotate_last_run_success", &[]), 1.0);
    assert!(value(&body, "dhrotate_last_run_duration_seconds", &[]) > 0.0);
    assert_eq!(
        value(&body, "dhrotate_problems", &[]),
        status["problems"].as_array().unwrap().len() as f64
    );
    for g in status["groups"].as_array().unwrap() {
        let name = format!("group=\"{}\"", g["name"].as_str().unwrap());
        let bits = format!("bits=\"{}\"", g["bits"]);
        assert_eq!(value(&body, "dhrotate_group_info", &[&name, &bits]), 1.0);
        assert_eq!(value(&body, "dhrotate_group_valid", &[&name]), 1.0);
        assert_eq!(value(&body, "dhrotate_group_stale", &[&name]), 0.0);
        // Written by `status` a moment after `status --json` looked.
        let age = value(&body, "dhrotate_group_age_seconds", &[&name]);
        assert!(
            (age - g["age_seconds"].as_f64().unwrap()).abs() <= 60.0,
            "{age} vs {g}"
        );
    }
    for l in status["listeners"].as_array().unwrap() {
        let addr = format!("addr=\"{}\"", l["endpoint"]["addr"].as_str().unwrap());
        assert_eq!(
            value(&body, "dhrotate_listener_serving_group", &[&addr]),
            1.0
        );
    }
    assert_eq!(
        status["listeners"].as_array().unwrap().len(),
        2,
        "{status:#}"
    );
    let info = body
        .lines()
        .find(|l| l.starts_with("dhrotate_info{"))
        .unwrap();
    assert!(info.contains("mode=\"explicit\""), "{info}");
    assert!(info.contains("postfix=\"3."), "{info}");

    // The scrape as Prometheus would take it: promtool's linter agrees.
    let (ok, out) = promtool(&["check", "metrics"], Some(&body));
    assert!(ok, "{out}\n{body}");

    // status --format prometheus prints the same families.
    let out = dhrotate(&["--config", c, "status", "--format", "prometheus"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let (ok, lint) = promtool(&["check", "metrics"], Some(&text));
    assert!(ok, "{lint}\n{text}");
    assert!(text.contains("# TYPE dhrotate_problems gauge"), "{text}");
}
