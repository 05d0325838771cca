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
    inst: &dhrotate::testbed::instance::PrivatePostfix,
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

/// Times the Postfix commands `calls` (each `postconf` or `postfix` and
/// its arguments) and one handshake per port, together; adds the line.
fn unavoidable(
    out: &mut Vec<String>,
    what: &str,
    calls: &[&[&str]],
    dir: &Path,
    ports: &[u16],
) -> Duration {
    let t = timed(
        || {},
        || {
            for call in calls {
                match call[0] {
                    "postconf" => assert!(postconf(dir, &call[1..]).0, "postconf {call:?}"),
                    _ => postfix(dir, &call[1..]),
                }
            }
            for port in ports {
                handshake(*port);
            }
        },
    );
    out.push(line(what, t));
    t.0
}

/// Times `args` (exit 0, or `status`'s 6) with each build against
/// `floor`; adds a line each, named `what`.
fn compare(
    out: &mut Vec<String>,
    bins: &[(&str, PathBuf)],
    floor: Duration,
    what: &str,
    (cfg, args): (&Path, &[&str]),
    mut prepare: impl FnMut(),
) {
    for (name, bin) in bins {
        let t = timed(&mut prepare, || run(bin, cfg, args, &[0, 6]));
        out.push(format!(
            "{}  = {:.1}x",
            line(&format!("{name}: {what}"), t),
            ms(t.0) / ms(floor)
        ));
    }
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
    let floor = unavoidable(
        &mut out,
        "unavoidable: postconf x2, postfix status, 2 handshakes",
        &[
            &["postconf", "-h", "mail_version"],
            &["postconf", "-n"],
            &["postfix", "status"],
        ],
        &dir,
        &[smtp, sub],
    );
    for guideline in ["none", "bsi"] {
        let args = ["status", "--guideline", guideline];
        let what = format!("status --guideline {guideline}");
        compare(&mut out, &bins, floor, &what, (&explicit, &args), || {});
    }
    // Nothing due: the timer's daily run on a quiet day.
    let args: &[&str] = &["now", "--if-due"];
    let what = "now --if-due, nothing due";
    compare(&mut out, &bins, floor, what, (&explicit, args), || {});

    // A changing run: the group files removed before each, so each run
    // writes, checks, reloads and verifies.
    let now_floor = unavoidable(
        &mut out,
        "unavoidable: postconf, postfix check + reload, 2 handshakes",
        &[
            &["postconf", "-h", "mail_version"],
            &["postfix", "check"],
            &["postfix", "reload"],
        ],
        &dir,
        &[smtp, sub],
    );
    let named = config(&base, &inst, "named", 0);
    run(&after, &named, &["now"], &[0]);
    compare(
        &mut out,
        &bins,
        now_floor,
        "now, named mode",
        (&named, &["now"]),
        || {
            for f in ["dh3072.pem", "dh2048-submission.pem"] {
                let _ = std::fs::remove_file(dir.join(f));
            }
        },
    );
    let pooled = config(&base, &inst, "explicit", 2);
    let args: &[&str] = &["now", "--no-refill"];
    let what = "now, explicit, warm pool";
    compare(&mut out, &bins, now_floor, what, (&pooled, args), || {
        run(&after, &pooled, &["pool", "fill"], &[0])
    });
    report("bench-status-now", &out.join("\n"));
}
