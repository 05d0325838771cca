//! Many runs at once: 8 workers x 25 rounds of `now`, `curves --set` and
//! `pool fill` against one running private Postfix. Every run exits 0 or 5
//! (the lock), a watcher sampling main.cf and master.cf the whole time only
//! ever sees complete known versions (never an interleaved edit), no group
//! is installed twice, and at the end Postfix serves what the file holds.
//!
//! Slow (about 50 s here): 200 runs, each waiting its turn at the lock.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;

const WORKERS: usize = 8;
const ROUNDS: usize = 25;

/// `sha256(p)` of every group a `now` output says it wrote.
fn written(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("wrote "))
        .filter_map(|l| l.rsplit("sha256(p) ").next())
        .map(|f| f.trim_end_matches(')').to_owned())
        .collect()
}

#[test]
fn eight_workers_never_interleave_and_never_share_a_group() {
    let (base, inst) = instance("concurrency", true);
    let cfg = instance_config(&base, &inst, 1024, 1024, "[reload]\nverify = \"off\"\n");
    let dir = inst.config_dir.clone();
    // The two versions of the files the runs produce: rotations only swap
    // group files once main.cf names them; curves toggles one parameter.
    let first = with_config(&cfg, &["now"]);
    assert!(first.status.success(), "{}", show(&first));
    let mut seen_groups: Vec<String> = written(&String::from_utf8_lossy(&first.stdout));
    let mut versions = BTreeSet::new();
    for policy in ["modern", "default"] {
        let out = with_config(&cfg, &["curves", "--set", policy]);
        assert!(out.status.success(), "{}", show(&out));
        versions.insert((
            std::fs::read(dir.join("main.cf")).unwrap(),
            std::fs::read(dir.join("master.cf")).unwrap(),
        ));
    }
    assert_eq!(versions.len(), 2);

    let stop = AtomicBool::new(false);
    let (results, samples) = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let main = std::fs::read(dir.join("main.cf")).unwrap();
                let master = std::fs::read(dir.join("master.cf")).unwrap();
                // master.cf never changes here, so the pair must be known
                // up to main.cf's two versions.
                assert!(
                    versions.iter().any(|(m, _)| *m == main),
                    "main.cf seen in an unknown state:\n{}",
                    String::from_utf8_lossy(&main)
                );
                assert!(versions.iter().any(|(_, m)| *m == master));
                n += 1;
                std::thread::sleep(std::time::Duration::from_millis(3));
            }
            n
        });
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let cfg = &cfg;
                s.spawn(move || {
                    let mut outs = Vec::new();
                    for r in 0..ROUNDS {
                        let args: &[&str] = match (w + r) % 4 {
                            0 | 1 => &["now"],
                            2 => &[
                                "curves",
                                "--set",
                                if r % 2 == 0 { "modern" } else { "default" },
                            ],
                            _ => &[
                                "pool",
                                "fill",
                                "--bits",
                                "1024",
                                "--count",
                                "1",
                                "--threads",
                                "1",
                            ],
                        };
                        outs.push((args.join(" "), with_config(cfg, args)));
                    }
                    outs
                })
            })
            .collect();
        let results: Vec<_> = workers
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        stop.store(true, Ordering::Relaxed);
        (results, watcher.join().unwrap())
    });

    let mut codes = std::collections::BTreeMap::<(String, i32), usize>::new();
    for (what, out) in &results {
        let code = out.status.code().unwrap_or(-1);
        assert!(code == 0 || code == 5, "{what}: {}", show(out));
        if code == 5 {
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("holds the lock"),
                "{}",
                show(out)
            );
        }
        *codes.entry((what.clone(), code)).or_default() += 1;
        if what == "now" && code == 0 {
            seen_groups.extend(written(&String::from_utf8_lossy(&out.stdout)));
        }
    }
    report(
        "concurrency",
        &format!(
            "concurrency: {} runs ({WORKERS} workers x {ROUNDS}): {codes:?}; {} groups installed, none twice; main.cf sampled {samples} times, always a known version",
            results.len(),
            seen_groups.len()
        ),
    );
    assert_eq!(results.len(), WORKERS * ROUNDS);
    let unique: BTreeSet<_> = seen_groups.iter().collect();
    assert_eq!(
        unique.len(),
        seen_groups.len(),
        "a group was installed twice"
    );
    assert!(
        codes.iter().any(|((w, c), _)| w == "now" && *c == 0),
        "some rotations ran: {codes:?}"
    );
    assert!(samples > 100, "the watcher really watched");

    let (ok, _, err) = postconf(&dir, &["-n"]);
    assert!(ok, "{err}");
    let fp = file_fingerprint(&dir.join("dh1024.pem"));
    assert!(unique.contains(&fp));
    assert_eq!(served(inst.smtp_port).fingerprint, fp);
}
