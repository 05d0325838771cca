//! The paths people wait on, timed against what they cannot avoid:
//! `status` (two groups, two listeners) with and without a guideline, and
//! `now` in named and in explicit mode with a warm pool, on a private
//! Postfix. Beside each, in the same run, the Postfix calls and handshakes
//! the command cannot do without, and the ratio. `BEFORE=/path/to/dhrotate`
//! times an older build the same way.
//!
//! Not part of the suite (`#[ignore]`): `bench/status-now.sh` runs it with
//! a release build, `RUNS` times each (default 11), and prints the median
//! and the spread (min-max).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn runs() -> usize {
    std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(11)
}

/// Median, min and max of `f`'s times over `runs()`, with `prepare` run
/// (untimed) before each.
fn timed(mut prepare: impl FnMut(), mut f: impl FnMut()) -> (Duration, Duration, Duration) {
    let mut t: Vec<Duration> = (0..runs())
        .map(|_| {
            prepare();
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    (t[t.len() / 2], t[0], t[t.len() - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn line(what: &str, (med, min, max): (Duration, Duration, Duration)) -> String {
    format!(
        "{what:<44} median {:>8.1} ms  (min {:>8.1}, max {:>8.1})",
        ms(med),
        ms(min),
        ms(max)
    )
}

/// Runs `bin` with `args`; panics on an exit code other than `ok`.
fn run(bin: &Path, cfg: &Path, args: &[&str], ok: &[i32]) {
    let out = Command::new(bin)
        .arg("--config")
        .arg(cfg)
        .args(args)
        .env_remove("DHROTATE_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| ok.contains(&c)),
        "{} {args:?}: {}",
        bin.display(),
        show(&out)
    );
}

fn postfix(dir: &Path, args: &[&str]) {
    let out = Command::new("/usr/sbin/postfix")
        .arg("-c")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "postfix {args:?}: {}", show(&out));
}

/// One DHE handshake with `openssl s_client`, the obvious tool.
fn handshake(port: u16) {
    let out = Command::new("openssl")
        .args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "-starttls",
            "smtp",
            "-tls1_2",
            "-cipher",
            "kEDH:@SECLEVEL=1",
            "-brief",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("CONNECTION ESTABLISHED"),
        "{}",
        show(&out)
    );
}

fn config(
    base: &Path,
    inst: &dhrotate::testbed::instance::Instance,
    mode: &str,
    pool: u32,
) -> PathBuf {
    let (main, sub) = if mode == "named" {
        (3072, 2048)
    } else {
        (2048, 1024)
    };
    let cfg = base.join(format!("{mode}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "mode = \"{mode}\"\npostfix_config_dir = \"{}\"\nstate_dir = \"{}\"\nmin_bits = 1024\nlock_wait = \"0s\"\n\
             [[group]]\nname = \"main\"\nbits = {main}\nfile = \"dh{main}.pem\"\nuse = [\"main.cf\"]\n\n\
             [[group]]\nname = \"submission\"\nbits = {sub}\nfile = \"dh{sub}-submission.pem\"\nuse = [\"{}\"]\n\n\
             [pool]\nsize = {pool}\n",
            inst.config_dir.display(),
            base.join("state").display(),
            inst.submission_service(),
        ),
    )
    .unwrap();
    cfg
}

#[test]
#[ignore = "a benchmark: bench/status-now.sh"]
fn status_and_now_against_what_they_cannot_avoid() {
    let (base, inst) = instance("bench-paths", true);
    let dir = inst.config_dir.clone();
    let (smtp, sub) = (inst.smtp_port, inst.submission_port);
    let after = PathBuf::from(env!("CARGO_BIN_EXE_dhrotate"));
    let mut bins = vec![("this build", after.clone())];
    if let Ok(b) = std::env::var("BEFORE") {
        bins.insert(0, ("BEFORE", PathBuf::from(b)));
    }
    let mut out = vec![format!(
        "{} runs each; private Postfix, two TLS listeners",
        runs()
    )];

    // What no status can do without: Postfix's version and settings, whether
    // it runs, and one handshake per listener.
    let explicit = config(&base, &inst, "explicit", 0);
    run(&after, &explicit, &["now"], &[0]);
    let floor = timed(
        || {},
        || {
            postconf(&dir, &["-h", "mail_version"]);
            postconf(&dir, &["-n"]);
            postfix(&dir, &["status"]);
            handshake(smtp);
            handshake(sub);
        },
    );
    out.push(line(
        "unavoidable: postconf x2, postfix status, 2 handshakes",
        floor,
    ));
    for guideline in ["none", "bsi"] {
        for (name, bin) in &bins {
            let t = timed(
                || {},
                || {
                    run(
                        bin,
                        &explicit,
                        &["status", "--guideline", guideline],
                        &[0, 6],
                    )
                },
            );
            out.push(format!(
                "{}  = {:.1}x",
                line(&format!("{name}: status --guideline {guideline}"), t),
                ms(t.0) / ms(floor.0)
            ));
        }
    }

    // A changing run: the group files removed before each, so each run
    // writes, checks, reloads and verifies.
    let now_floor = timed(
        || {},
        || {
            postconf(&dir, &["-h", "mail_version"]);
            postfix(&dir, &["check"]);
            postfix(&dir, &["reload"]);
            std::thread::sleep(Duration::from_millis(100));
            handshake(smtp);
            handshake(sub);
        },
    );
    out.push(line(
        "unavoidable: postconf, postfix check + reload, 2 handshakes",
        now_floor,
    ));
    let named = config(&base, &inst, "named", 0);
    run(&after, &named, &["now"], &[0]);
    for (name, bin) in &bins {
        let t = timed(
            || {
                for f in ["dh3072.pem", "dh2048-submission.pem"] {
                    let _ = std::fs::remove_file(dir.join(f));
                }
            },
            || run(bin, &named, &["now"], &[0]),
        );
        out.push(format!(
            "{}  = {:.1}x",
            line(&format!("{name}: now, named mode"), t),
            ms(t.0) / ms(now_floor.0)
        ));
    }
    let pooled = config(&base, &inst, "explicit", 2);
    for (name, bin) in &bins {
        let t = timed(
            || run(&after, &pooled, &["pool", "fill"], &[0]),
            || run(bin, &pooled, &["now", "--no-refill"], &[0]),
        );
        out.push(format!(
            "{}  = {:.1}x",
            line(&format!("{name}: now, explicit, warm pool"), t),
            ms(t.0) / ms(now_floor.0)
        ));
    }
    report("bench-status-now", &out.join("\n"));
}
