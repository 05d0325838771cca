//! The systemd units in systemd/: valid, hardened (exposure at most 3.0),
//! and their restrictions leave the job the paths it writes.
//!
//! systemd is not PID 1 on the build machines, so `systemd-run` with the
//! unit's properties cannot run the job here; instead the writable paths
//! the unit grants are checked against what dhrotate and the real Postfix
//! say the job writes.

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

fn values<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .flat_map(str::split_whitespace)
        .collect()
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

#[test]
fn the_unit_lets_the_job_write_what_it_writes() {
    require_postfix();
    let service = unit("dhrotate.service");
    let writable = values(&service, "ReadWritePaths");
    let settings = dhrotate::config::load(
        Path::new("/nonexistent/dhrotate.toml"),
        false,
        &dhrotate::config::Overrides::default(),
    )
    .unwrap();
    // The default Postfix config dir, where the DH files and main.cf live.
    assert!(
        writable.contains(&settings.postfix_config_dir.to_str().unwrap()),
        "{writable:?}"
    );
    // The default state dir is the unit's StateDirectory.
    assert_eq!(
        settings.state_dir,
        Path::new("/var/lib").join(values(&service, "StateDirectory")[0])
    );
    // What `postfix check` and `postfix reload` touch on this Postfix.
    for param in ["queue_directory", "data_directory"] {
        let (ok, value, err) = postconf(Path::new("/etc/postfix"), &["-h", param]);
        assert!(ok, "{err}");
        assert!(
            writable.contains(&value.trim()),
            "{param} = {} is not writable: {writable:?}",
            value.trim()
        );
    }
    // postfix reload signals the master; postfix check chowns.
    let caps = values(&service, "CapabilityBoundingSet");
    for cap in ["CAP_KILL", "CAP_CHOWN", "CAP_FOWNER"] {
        assert!(caps.contains(&cap), "{cap} missing: {caps:?}");
    }
    // The loopback probe after a reload needs IPv4/IPv6 sockets to localhost.
    let families = values(&service, "RestrictAddressFamilies");
    assert!(families.contains(&"AF_INET") && families.contains(&"AF_INET6"));
    assert!(values(&service, "IPAddressAllow").contains(&"localhost"));
    // The refill runs as its own step, so the rotation does not spawn one.
    assert!(service.contains("ExecStart=/usr/bin/dhrotate now --no-refill"));
}
