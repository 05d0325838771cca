//! Static checks of the units in systemd/: `systemd-analyze verify` is
//! clean, the exposure stays low, and the daemon carries the oneshot's
//! hardening. Whether the hardened job actually works is shown where it
//! runs: tests/system/run.sh boots Debian 12, 13 and unstable with systemd
//! as PID 1 and starts both services from the installed package.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn unit(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("systemd")
            .join(name),
    )
    .unwrap()
}

const UNITS: [&str; 3] = [
    "dhrotate.service",
    "dhrotate.timer",
    "dhrotate-daemon.service",
];

#[test]
fn units_verify() {
    // `verify` insists that ExecStart exists: point it at the built binary.
    let dir = scratch("units");
    for name in UNITS {
        let text = unit(name).replace("/usr/bin/dhrotate", env!("CARGO_BIN_EXE_dhrotate"));
        std::fs::write(dir.join(name), text).unwrap();
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(UNITS.map(|n| dir.join(n)))
        .output()
        .expect("systemd-analyze (package systemd)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "",
        "warnings from verify"
    );
}

#[test]
fn service_exposure_is_at_most_3() {
    for name in ["dhrotate.service", "dhrotate-daemon.service"] {
        let level = exposure(name);
        eprintln!("{name}: exposure {level}");
        assert!(level <= 3.0, "{name}: {level}");
    }
}

/// The daemon runs the same job, so it gets the same restrictions: every
/// line from StateDirectory= to the end of [Service] is identical.
#[test]
fn the_daemon_unit_is_hardened_like_the_oneshot() {
    let section = |text: &str| -> Vec<String> {
        let from = text.find("StateDirectory=").unwrap();
        let rest = &text[from..];
        let to = rest.find("\n[Install]").unwrap_or(rest.len());
        rest[..to].lines().map(str::to_owned).collect()
    };
    assert_eq!(
        section(&unit("dhrotate-daemon.service")),
        section(&unit("dhrotate.service"))
    );
    let daemon = unit("dhrotate-daemon.service");
    assert!(daemon.contains("Type=notify"));
    assert!(daemon.contains("ExecStart=/usr/bin/dhrotate daemon"));
    assert!(daemon.contains("Conflicts=dhrotate.timer"));
}

fn exposure(name: &str) -> f64 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("systemd")
        .join(name);
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .expect("an exposure line");
    line.split(':')
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("cannot read {line:?}"))
}
