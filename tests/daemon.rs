//! `dhrotate daemon` as a real process: scheduled rotations against a
//! private Postfix, SIGHUP with a broken configuration, SIGTERM in the
//! middle of a generation, and the systemd notification protocol.
//!
//! Slow (about 70 s here): it waits for cron ticks (every 5 s), and a stop
//! during a hanging reload is timed against its deadline.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A daemon process with its stderr in a file the test can read.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(cfg: &Path, log: PathBuf, notify: Option<&Path>) -> Daemon {
        let mut cmd = common::command();
        cmd.args(["-v", "--config"])
            .arg(cfg)
            .arg("daemon")
            .env_remove("DHROTATE_CONFIG")
            .env_remove("JOURNAL_STREAM")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        match notify {
            Some(sock) => cmd.env("NOTIFY_SOCKET", sock),
            None => cmd.env_remove("NOTIFY_SOCKET"),
        };
        Daemon {
            child: cmd.spawn().unwrap(),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `pred(log)` holds; panics with the log after `limit`.
    fn wait_for(&mut self, limit: Duration, what: &str, pred: impl Fn(&str) -> bool) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if pred(&self.log()) {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "daemon exited ({status}) waiting for {what}:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no {what} after {limit:?}:\n{}", self.log());
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    /// SIGTERM, then the exit status and how long the exit took.
    fn terminate(mut self) -> (std::process::ExitStatus, Duration, String) {
        let start = Instant::now();
        self.signal(nix::sys::signal::Signal::SIGTERM);
        use wait_timeout::ChildExt;
        match self.child.wait_timeout(Duration::from_secs(85)).unwrap() {
            Some(status) => (status, start.elapsed(), self.log()),
            None => {
                let _ = self.child.kill();
                panic!("daemon ignored SIGTERM for 85 s:\n{}", self.log());
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every `fingerprint=` of an installed group in a log, in order.
fn installed(log: &str, group: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("group installed") && l.contains(&format!("group={group} ")))
        .filter_map(|l| l.split("fingerprint=").nth(1))
        .map(|f| f.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[test]
fn rotates_on_its_schedule_against_a_running_postfix() {
    let (base, inst) = instance("daemon-schedule", true);
    let cfg = instance_config(
        &base,
        &inst,
        1024,
        1024,
        "[schedule]\ncron = \"*/5 * * * * *\"\njitter = \"0s\"\ncatch_up = false\n",
    );
    let mut d = Daemon::start(&cfg, base.join("daemon.log"), None);
    d.wait_for(Duration::from_secs(120), "two scheduled rotations", |log| {
        log.matches("rotation finished").count() >= 2
    });
    let (status, _, log) = d.terminate();
    assert!(status.success(), "{status}\n{log}");
    let main = installed(&log, "main");
    assert!(main.len() >= 2, "{log}");
    assert_ne!(main[0], main[1], "each run installs a new group\n{log}");
    assert!(
        log.contains("outcome=\"ok\"") || log.contains("outcome=ok"),
        "{log}"
    );
    // Each run's record is the `now --json` document, as one log field.
    let record = log
        .lines()
        .find(|l| l.contains("run finished"))
        .unwrap_or_else(|| panic!("no run record\n{log}"));
    assert!(record.contains("run_outcome=Changed"), "{record}");
    let json = record
        .split_once("run_summary=")
        .map(|(_, j)| j.trim())
        .unwrap_or_else(|| panic!("{record}"));
    let doc: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(
        (doc["schema"].as_u64(), doc["outcome"].as_str()),
        (Some(1), Some("changed"))
    );
    assert!(
        main.contains(
            &doc["groups"][0]["fingerprint_after"]
                .as_str()
                .unwrap()
                .to_owned()
        ),
        "{doc:#}"
    );
    // What Postfix serves now is the last group the daemon installed.
    let file = inst.config_dir.join("dh1024.pem");
    assert_eq!(&file_fingerprint(&file), main.last().unwrap());
    assert_eq!(
        served(inst.smtp_port).fingerprint,
        file_fingerprint(&file),
        "smtpd serves the daemon's latest group"
    );
}

#[test]
fn sighup_keeps_a_broken_config_out_and_systemd_hears_each_step() {
    let (base, inst) = instance("daemon-hup", false);
    let daily = "[schedule]\ncron = \"0 30 3 * * *\"\njitter = \"0s\"\ncatch_up = false\n";
    let cfg = instance_config(&base, &inst, 2048, 2048, daily);
    let good = std::fs::read_to_string(&cfg).unwrap();
    let sock_path = base.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut d = Daemon::start(&cfg, base.join("daemon.log"), Some(&sock_path));
    let recv = || {
        let mut buf = [0u8; 4096];
        let n = sock.recv(&mut buf).expect("a notification within 30 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let ready = recv();
    assert!(ready.contains("READY=1"), "{ready}");
    assert!(ready.contains("STATUS=idle; next rotation"), "{ready}");

    std::fs::write(&cfg, good.replace("min_bits = 2048", "min_bits = \"lots\"")).unwrap();
    d.signal(nix::sys::signal::Signal::SIGHUP);
    assert!(recv().contains("RELOADING=1"));
    assert!(recv().contains("READY=1"));
    d.wait_for(Duration::from_secs(10), "the refusal", |log| {
        log.contains("keeping the previous one")
    });
    let log = d.log();
    assert!(
        log.contains(&cfg.display().to_string()),
        "the error names the file:\n{log}"
    );
    assert!(log.contains("min_bits"), "and the key:\n{log}");
    assert!(d.child.try_wait().unwrap().is_none(), "still running");

    std::fs::write(&cfg, good.replace("0 30 3 * * *", "0 0 4 * * *")).unwrap();
    d.signal(nix::sys::signal::Signal::SIGHUP);
    assert!(recv().contains("RELOADING=1"));
    assert!(recv().contains("READY=1"));
    d.wait_for(Duration::from_secs(10), "the re-read", |log| {
        log.contains("configuration re-read") && log.contains("0 0 4 * * *")
    });

    let (status, _, log) = d.terminate();
    assert!(status.success(), "{status}\n{log}");
    assert!(recv().contains("STOPPING=1"));
    assert!(
        !log.contains("rotation finished"),
        "nothing was due:\n{log}"
    );
}

#[test]
fn sigterm_during_a_generation_exits_promptly_and_changes_nothing() {
    let (base, inst) = instance("daemon-term", false);
    // catch_up with no state: a rotation starts at once, and an 8192-bit
    // search takes minutes, so SIGTERM lands inside it.
    let cfg = instance_config(
        &base,
        &inst,
        8192,
        8192,
        "[schedule]\ncron = \"0 30 3 * * *\"\njitter = \"0s\"\ncatch_up = true\n",
    );
    let before = snapshot_tree(&inst.config_dir);
    let mut d = Daemon::start(&cfg, base.join("daemon.log"), None);
    d.wait_for(Duration::from_secs(60), "the catch-up generation", |log| {
        log.contains("running one now")
            && log.contains("fresh group (pool or search) group=main bits=8192")
    });
    // Let the search get going (sieve built, exponentiations running).
    std::thread::sleep(Duration::from_millis(1000));
    let (status, took, log) = d.terminate();
    eprintln!("exit after SIGTERM took {took:?}");
    assert!(status.success(), "{status}\n{log}");
    assert!(took < Duration::from_secs(1), "{took:?}\n{log}");
    assert!(log.contains("interrupted while generating"), "{log}");
    assert!(
        log.contains("search finished bits=8192"),
        "the search itself was running and stopped:\n{log}"
    );
    assert!(!log.contains("group installed"), "{log}");
    assert_eq!(
        snapshot_tree(&inst.config_dir),
        before,
        "Postfix's configuration is untouched"
    );
    for dir in [&inst.config_dir, &base.join("state")] {
        let temps: Vec<_> = snapshot_tree(dir)
            .into_iter()
            .map(|(p, _)| p)
            .filter(|p| p.to_string_lossy().contains(".tmp"))
            .collect();
        assert!(temps.is_empty(), "temp files left: {temps:?}");
    }
}

#[test]
fn a_stop_during_a_hanging_reload_ends_within_the_deadline_below_timeoutstopsec() {
    // A rotation that is editing is waited for, but not past 60 s: the
    // unit's TimeoutStopSec=90 would otherwise SIGKILL the daemon.
    let (base, inst) = instance("daemon-stop-deadline", false);
    let hang = base.join("postfix-hanging-reload");
    let marker = base.join("reloading");
    common::executable(
        &hang,
        format!(
            "#!/bin/sh\ncase \"$3\" in\n  reload) touch {}; exec sleep 600 ;;\n  status) exit 0 ;;\nesac\nexec /usr/sbin/postfix \"$@\"\n",
            marker.display()
        ),
    );
    let cfg = instance_config(
        &base,
        &inst,
        1024,
        1024,
        &format!(
            "[schedule]\ncron = \"0 30 3 * * *\"\njitter = \"0s\"\ncatch_up = true\n[postfix]\npostfix = \"{}\"\ntimeout = \"10m\"\n",
            hang.display()
        ),
    );
    let mut d = Daemon::start(&cfg, base.join("daemon.log"), None);
    d.wait_for(Duration::from_secs(120), "the reload", |_| marker.exists());
    let (status, took, log) = d.terminate();
    eprintln!("stop during a hanging reload took {took:?}");
    assert!(status.success(), "{status}\n{log}");
    assert!(
        took >= Duration::from_secs(59) && took < Duration::from_secs(75),
        "{took:?}\n{log}"
    );
    assert!(
        log.contains("did not finish within 60s of the stop request"),
        "{log}"
    );
    report(
        "daemon-stop-deadline",
        &format!("stop during a hanging reload: {took:?}\n"),
    );
}

#[test]
fn catch_up_retries_a_failed_run_but_not_a_successful_one() {
    // The state file said when the last run was, whatever its outcome, and
    // catch-up went by that: a run that failed counted as done.
    let (base, inst) = instance("daemon-catch-up", false);
    let cfg = instance_config(
        &base,
        &inst,
        1024,
        1024,
        "[schedule]\ncron = \"0 30 3 * * *\"\njitter = \"0s\"\ncatch_up = true\n",
    );
    let state = base.join("state");
    std::fs::create_dir_all(&state).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (outcome, last_success, runs) in [("failed: x", 0, true), ("ok", now - 60, false)] {
        std::fs::write(
            state.join("state.json"),
            format!(
                "{{\"last_run\": {now}, \"last_success\": {last_success}, \"outcome\": \"{outcome}\", \"mode\": \"explicit\", \"groups\": []}}"
            ),
        )
        .unwrap();
        let mut d = Daemon::start(&cfg, base.join("daemon.log"), None);
        d.wait_for(Duration::from_secs(30), "the daemon's start", |log| {
            log.contains("daemon started")
        });
        std::thread::sleep(Duration::from_millis(500));
        let (_, _, log) = d.terminate();
        assert_eq!(
            log.contains("a scheduled rotation was missed; running one now"),
            runs,
            "outcome {outcome}:\n{log}"
        );
    }
}
