//! Crash consistency: `dhrotate now` killed with SIGKILL at chosen points
//! (debug-build crash points, see src/failpoint.rs) and at random moments
//! (inside generation, between renames, between edit and reload), against
//! running private Postfix instances, alternating explicit and auto mode so
//! that main.cf and master.cf really change. After every kill:
//!
//! - main.cf and master.cf are byte-identical to one of their two known
//!   versions (explicit or auto) and `postconf` parses them;
//! - every DH file (and .prev) is a complete group from the set handed out;
//! - a config that names a group file finds it there;
//! - the state file, if any, reads.
//!
//! Kills come up to three in a row (a crash while recovering from one);
//! then the next run succeeds, leaves no temp file, `postfix check` passes,
//! and in explicit mode the listeners serve the new groups (the run verifies
//! them), so whatever reload the killed run owed has been paid.
//!
//! DHROTATE_CRASH_KILLS sets the number of kills (default 150, split over
//! two instances: about 3 s each, so 150 already cost CI 8 minutes, and
//! every crash point is still reached 3 to 4 times); bench/crash-soak.sh
//! runs more.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use dhrotate::dh::pool::Pool;

/// Crash points a run passes through (src/rotation/apply.rs, fsutil.rs),
/// each named after the write it interrupts: `temp:DIR/FILE` fires after
/// the temp file is complete and before it is renamed over FILE. The
/// private Postfix's config dir is `etc`, the state dir `state`.
const POINTS: &[&str] = &[
    "generated",
    "temp:backup/main.cf",
    "temp:backup/master.cf",
    "temp:etc/dh1024.pem.prev",
    "prev-written:main",
    "temp:etc/dh1024.pem",
    "group-written:main",
    "temp:etc/dh1024-submission.pem",
    "group-written:submission",
    "temp:etc/main.cf",
    "edited:main.cf",
    "temp:etc/master.cf",
    "edited:master.cf",
    "written",
    "checked",
    "reloaded",
    "temp:state/state.json",
    "temp:state/reload-owed",
];

struct Lane {
    base: PathBuf,
    inst: dhrotate::testbed::instance::PrivatePostfix,
    /// Config for killed runs: no verification (the kill decides the end).
    kill_cfg: PathBuf,
    /// Config for the run after a kill: verification on.
    ok_cfg: PathBuf,
    explicit: (Vec<u8>, Vec<u8>),
    auto: (Vec<u8>, Vec<u8>),
}

fn run(cfg: &Path, mode: &str, crash_at: Option<&str>) -> std::process::Child {
    let mut cmd = common::command();
    cmd.args(["-q", "--config"])
        .arg(cfg)
        .args(["now", "--no-refill", "--mode", mode])
        .env_remove("DHROTATE_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match crash_at {
        Some(p) => cmd.env("DHROTATE_CRASH_AT", p),
        None => cmd.env_remove("DHROTATE_CRASH_AT"),
    };
    cmd.spawn().unwrap()
}

fn must_succeed(cfg: &Path, mode: &str, what: &str) -> String {
    let out = run(cfg, mode, None).wait_with_output().unwrap();
    assert!(out.status.success(), "{what}: {}", show(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

impl Lane {
    fn new(name: &str, known: &[dhrotate::dh::ValidGroup]) -> Lane {
        let (base, inst) = instance(name, true);
        let ok_cfg = instance_config(&base, &inst, 1024, 1024, "");
        let text = std::fs::read_to_string(&ok_cfg)
            .unwrap()
            .replace("[pool]", "[reload]\nverify = \"off\"\n\n[pool]");
        let kill_cfg = base.join("kill.toml");
        std::fs::write(&kill_cfg, text).unwrap();
        let mut lane = Lane {
            base,
            inst,
            kill_cfg,
            ok_cfg,
            explicit: (Vec::new(), Vec::new()),
            auto: (Vec::new(), Vec::new()),
        };
        lane.fill_pool(known, 0);
        let dir = lane.inst.config_dir.clone();
        must_succeed(&lane.ok_cfg, "explicit", "first explicit run");
        lane.explicit = (read(&dir, "main.cf"), read(&dir, "master.cf"));
        must_succeed(&lane.ok_cfg, "auto", "first auto run");
        lane.auto = (read(&dir, "main.cf"), read(&dir, "master.cf"));
        assert_ne!(lane.explicit, lane.auto, "the two modes differ on disk");
        lane
    }

    fn state_dir(&self) -> PathBuf {
        self.base.join("state")
    }

    /// Puts known groups in the pool until it holds two.
    fn fill_pool(&self, known: &[dhrotate::dh::ValidGroup], seed: usize) {
        let pool = Pool::new(&self.state_dir());
        let mut i = seed;
        while pool.count(1024).unwrap() < 2 {
            pool.put(1024, &known[i % known.len()]).unwrap();
            i += 1;
        }
    }

    fn empty_pool(&self) {
        let pool = Pool::new(&self.state_dir());
        while pool.take(1024).unwrap().is_some() {}
    }

    /// The invariants that must hold whenever dhrotate is not running.
    /// Groups the harness did not hand out (a killed or finished run
    /// generated them) must pass full validation; they join `known`.
    fn check_consistent(&self, known: &mut BTreeSet<String>, when: &str) {
        let dir = &self.inst.config_dir;
        let main = read(dir, "main.cf");
        let master = read(dir, "master.cf");
        let explicit_main = main == self.explicit.0;
        assert!(
            explicit_main || main == self.auto.0,
            "{when}: main.cf is neither version:\n{}",
            String::from_utf8_lossy(&main)
        );
        assert!(
            master == self.explicit.1 || master == self.auto.1,
            "{when}: master.cf is neither version:\n{}",
            String::from_utf8_lossy(&master)
        );
        let (ok, _, err) = postconf(dir, &["-n"]);
        assert!(ok, "{when}: postconf -n: {err}");
        let (ok, _, err) = postconf(dir, &["-P"]);
        assert!(ok, "{when}: postconf -P: {err}");
        for name in [
            "dh1024.pem",
            "dh1024.pem.prev",
            "dh1024-submission.pem",
            "dh1024-submission.pem.prev",
        ] {
            let path = dir.join(name);
            if !path.exists() {
                // The config must not name a file that is not there.
                assert!(
                    !(explicit_main && name == "dh1024.pem"),
                    "{when}: main.cf names a missing {name}"
                );
                continue;
            }
            let dh = dhrotate::dh::pem::parse(&std::fs::read(&path).unwrap())
                .unwrap_or_else(|e| panic!("{when}: {name} is not a complete group: {e}"));
            let fp = dhrotate::dh::validate::fingerprint(dh.prime_p());
            if !known.contains(&fp) {
                let policy = dhrotate::dh::Acceptance {
                    expected_bits: Some(1024),
                    min_bits: 1024,
                    named: false,
                };
                let catalog = dhrotate::dh::Catalog::embedded();
                dhrotate::dh::validate::accept(
                    &dh,
                    name,
                    &policy,
                    &catalog,
                    &dhrotate::dh::validate::FromScratch,
                )
                .unwrap_or_else(|e| panic!("{when}: {name} is not a valid group: {e}"));
                known.insert(fp);
            }
        }
        dhrotate::sys::state::read(&self.state_dir())
            .unwrap_or_else(|e| panic!("{when}: state file: {e:#}"));
    }

    fn temp_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for dir in [
            self.inst.config_dir.clone(),
            self.state_dir(),
            self.state_dir().join("backup"),
        ] {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if e.file_name().to_string_lossy().ends_with(".tmp") {
                    out.push(e.path());
                }
            }
        }
        out
    }
}

/// Tiny deterministic generator for choosing kill points and delays.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Counts of what one lane did.
#[derive(Debug, Default)]
struct Tally {
    kills_at_points: usize,
    kills_at_random: usize,
    kills_in_generation: usize,
    runs_finished_before_the_kill: usize,
    temps_left_by_kills: usize,
    reloads_owed: usize,
    /// Kills per crash point: each must have been reached.
    per_point: BTreeMap<&'static str, usize>,
}

fn lane_loop(lane: &Lane, known: &[dhrotate::dh::ValidGroup], kills: usize, seed: u64) -> Tally {
    let mut fingerprints: BTreeSet<String> = known
        .iter()
        .map(|g| g.verdict.proof.fingerprint.clone())
        .collect();
    let mut rng = Rng(seed);
    let mut t = Tally::default();
    let mut i = 0usize;
    // Crash points in turn, each tried in both modes, so that every one is
    // reached; random moments in between.
    let mut next_point = 0usize;
    while t.kills_at_points + t.kills_at_random < kills {
        i += 1;
        let at_point = rng.below(2) == 0;
        let point = at_point.then(|| {
            next_point += 1;
            POINTS[(next_point / 2) % POINTS.len()]
        });
        let mode = if point.map_or(i, |_| next_point) % 2 == 0 {
            "auto"
        } else {
            "explicit"
        };
        let generate = mode == "explicit" && rng.below(5) == 0;
        if generate {
            lane.empty_pool();
        } else {
            lane.fill_pool(known, i);
        }
        let start = Instant::now();
        let mut child = if let Some(p) = point {
            run(&lane.kill_cfg, mode, Some(p))
        } else {
            let child = run(&lane.kill_cfg, mode, None);
            // Runs take about 0.3-2 s here; a generation longer.
            let delay = Duration::from_millis(rng.below(if generate { 1500 } else { 900 }));
            while start.elapsed() < delay {
                std::thread::sleep(Duration::from_millis(2));
            }
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            child
        };
        let status = child.wait().unwrap();
        let out = {
            let mut s = String::new();
            use std::io::Read;
            child.stderr.take().unwrap().read_to_string(&mut s).unwrap();
            s
        };
        if status.signal() == Some(9) {
            if let Some(p) = point {
                t.kills_at_points += 1;
                *t.per_point.entry(p).or_default() += 1;
            } else {
                t.kills_at_random += 1;
            }
            if generate && !out.contains("search finished") {
                t.kills_in_generation += 1;
            }
        } else {
            assert!(
                status.success(),
                "run {i} ({mode}) failed on its own: {out}"
            );
            t.runs_finished_before_the_kill += 1;
        }
        let when = format!("after run {i} ({mode}, {status})");
        lane.check_consistent(&mut fingerprints, &when);
        if !lane.temp_files().is_empty() {
            t.temps_left_by_kills += 1;
        }
        if lane.state_dir().join("reload-owed").exists() {
            t.reloads_owed += 1;
        }

        // Kills in a row are allowed (a crash while recovering from a
        // crash); every third iteration, and at the end, the next run must
        // succeed, clean up and pay any reload owed.
        let last = t.kills_at_points + t.kills_at_random >= kills;
        if i % 3 != 0 && !last {
            continue;
        }
        lane.fill_pool(known, i + 1);
        let next = if rng.below(2) == 0 {
            "auto"
        } else {
            "explicit"
        };
        must_succeed(&lane.ok_cfg, next, &format!("the run after {when}"));
        let when = format!("{when}, then a clean {next} run");
        lane.check_consistent(&mut fingerprints, &when);
        assert_eq!(
            lane.temp_files(),
            Vec::<PathBuf>::new(),
            "{when}: temp files"
        );
        assert!(
            !lane.state_dir().join("reload-owed").exists(),
            "{when}: a reload is still owed"
        );
        let out = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(&lane.inst.config_dir)
            .arg("check")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{when}: postfix check: {}",
            show(&out)
        );
    }
    t
}

#[test]
fn killed_runs_never_leave_postfix_half_configured() {
    require_postfix();
    let kills: usize = std::env::var("DHROTATE_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    // A few real groups, handed out again and again through the pool: the
    // harness tests consistency, not freshness.
    let control = dhrotate::dh::search::Control::default();
    let catalog = dhrotate::dh::Catalog::embedded();
    let policy = dhrotate::dh::Acceptance {
        expected_bits: Some(1024),
        min_bits: 1024,
        named: false,
    };
    let known: Vec<_> = (0..6)
        .map(|_| {
            let dh = dhrotate::dh::search::generate(1024, 2, &control)
                .unwrap()
                .unwrap();
            dhrotate::dh::validate::accept(
                &dh,
                "a harness group",
                &policy,
                &catalog,
                &dhrotate::dh::validate::FromScratch,
            )
            .unwrap()
        })
        .collect();
    let start = Instant::now();
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|n| {
                let known = &known;
                s.spawn(move || {
                    let lane = Lane::new(&format!("crash-{n}"), known);
                    lane_loop(
                        &lane,
                        known,
                        kills / 2 + (kills % 2) * n,
                        0x9e37_79b9 + n as u64,
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let at_points: usize = tallies.iter().map(|t| t.kills_at_points).sum();
    let at_random: usize = tallies.iter().map(|t| t.kills_at_random).sum();
    report(
        "crash",
        &format!(
            "crash harness: {} kills ({at_points} at crash points, {at_random} at random moments, \
         {} inside generation), {} runs finished before their kill, {} kills left temp files, \
         {} left a reload owed; 0 violations; {:.0} s",
            at_points + at_random,
            tallies.iter().map(|t| t.kills_in_generation).sum::<usize>(),
            tallies
                .iter()
                .map(|t| t.runs_finished_before_the_kill)
                .sum::<usize>(),
            tallies.iter().map(|t| t.temps_left_by_kills).sum::<usize>(),
            tallies.iter().map(|t| t.reloads_owed).sum::<usize>(),
            start.elapsed().as_secs_f64()
        ),
    );
    let mut per_point: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &tallies {
        for (p, n) in &t.per_point {
            *per_point.entry(p).or_default() += n;
        }
    }
    let per_point_line = POINTS
        .iter()
        .map(|p| format!("{p} {}", per_point.get(p).unwrap_or(&0)))
        .collect::<Vec<_>>()
        .join(", ");
    report(
        "crash-points",
        &format!("kills per crash point: {per_point_line}\n"),
    );
    assert!(at_points + at_random >= kills);
    assert!(at_points > 0 && at_random > 0);
    let missed: Vec<&&str> = POINTS
        .iter()
        .filter(|p| !per_point.contains_key(**p))
        .collect();
    assert!(
        missed.is_empty() || kills < 4 * POINTS.len(),
        "crash points never reached: {missed:?} ({per_point_line})"
    );
}

/// The reload a killed run owed is paid by the next run even when that run
/// has nothing to change: killed after resetting to auto, before reloading.
#[test]
fn a_reload_owed_by_a_killed_run_is_paid_by_the_next() {
    let (base, inst) = instance("crash-owed", true);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let out = dhrotate(&[
        "--config",
        cfg.to_str().unwrap(),
        "now",
        "--mode",
        "explicit",
    ]);
    assert!(out.status.success(), "{}", show(&out));
    let file = inst.config_dir.join("dh1024.pem");
    assert_eq!(served(inst.smtp_port).fingerprint, file_fingerprint(&file));

    let status = run(&cfg, "auto", Some("written")).wait().unwrap();
    assert_eq!(status.signal(), Some(9), "killed at the crash point");
    assert!(base.join("state/reload-owed").exists());
    let status = dhrotate(&["--config", cfg.to_str().unwrap(), "status"]);
    assert_eq!(status.status.code(), Some(6), "{}", show(&status));
    assert!(
        show(&status).contains("newer than what Postfix has loaded"),
        "{}",
        show(&status)
    );
    // Postfix still serves the file: the reset to auto is on disk only.
    assert_eq!(served(inst.smtp_port).fingerprint, file_fingerprint(&file));

    let out = dhrotate(&["--config", cfg.to_str().unwrap(), "now", "--mode", "auto"]);
    let text = show(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("interrupted before its reload"), "{text}");
    assert!(text.contains("Postfix reloaded"), "{text}");
    assert!(!base.join("state/reload-owed").exists());
    assert_eq!(
        served(inst.smtp_port).known.as_deref(),
        Some("rfc3526-modp2048"),
        "auto mode is in effect now"
    );
}
