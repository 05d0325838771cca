//! Every command that prints, with a reader that has gone away (`| head
//! -c1` that already exited): it ends quietly, killed by SIGPIPE (a shell
//! shows 141) or, for a command that changes things and finishes its work
//! first, with the same exit code as when its output is read; never a
//! panic or an error about the pipe.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::*;

fn command(args: &[&str]) -> Command {
    let mut c = common::command();
    c.args(args)
        .env_remove("DHROTATE_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    c
}

/// `args` with stdout read, then with stdout a pipe whose reader is gone
/// before the first write.
fn both_ways(args: &[&str]) -> (Output, Output) {
    let read = command(args).output().unwrap();
    let (reader, writer) = nix::unistd::pipe().unwrap();
    drop(reader);
    let closed = command(args)
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (read, closed)
}

fn ends_quietly(args: &[&str]) -> String {
    let (read, closed) = both_ways(args);
    assert!(
        !read.stdout.is_empty(),
        "{args:?} printed nothing to close on: {}",
        show(&read)
    );
    let err = String::from_utf8_lossy(&closed.stderr);
    for noise in ["panicked", "Broken pipe", "os error 32"] {
        assert!(!err.contains(noise), "{args:?}: {noise:?} in {err}");
    }
    let how = match closed.status.signal() {
        Some(13) => "SIGPIPE".to_owned(),
        Some(s) => panic!("{args:?} killed by signal {s}: {err}"),
        None => {
            assert_eq!(
                closed.status.code(),
                read.status.code(),
                "{args:?}: {err}\n(read: {})",
                show(&read)
            );
            format!("exit {}", closed.status.code().unwrap())
        }
    };
    format!("{args:?}: {how}")
}

#[test]
fn every_printing_command_ends_quietly_when_its_reader_goes_away() {
    let (base, inst) = instance("closed-pipes", false);
    let cfg = instance_config(&base, &inst, 1024, 1024, "");
    let cfg = cfg.to_str().unwrap();
    let group = base.join("ffdhe2048.pem");
    let out = Command::new("openssl")
        .args(["genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt"])
        .args(["group:ffdhe2048", "-out"])
        .arg(&group)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let log = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/corpus/logs/01-grok-tls-established.log");
    let man = base.join("man");
    let mut seen = Vec::new();
    for args in [
        vec!["completions", "bash"],
        vec!["man", man.to_str().unwrap()],
        vec!["generate", "--bits", "512"],
        vec!["check", group.to_str().unwrap()],
        vec!["check", "--json", group.to_str().unwrap()],
        vec!["audit", log.to_str().unwrap()],
        vec!["--config", cfg, "status"],
        vec!["--config", cfg, "status", "--json"],
        vec!["--config", cfg, "pool", "status"],
        vec!["--config", cfg, "curves"],
        vec!["--config", cfg, "now", "--dry-run"],
        vec!["--config", "/nonexistent/dhrotate.toml", "now", "--json"],
        vec!["--config", cfg, "now", "--no-refill"],
        vec![
            "--config", cfg, "pool", "fill", "--count", "1", "--bits", "1024",
        ],
    ] {
        seen.push(ends_quietly(&args));
    }
    report("closed-pipes", &seen.join("\n"));
}
