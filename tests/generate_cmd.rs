//! `dhrotate generate`: a signal stops the search and leaves nothing behind.

mod common;

use std::process::{Command, Stdio};

use common::*;

#[test]
fn sigterm_and_sigint_stop_the_search_and_write_nothing() {
    for sig in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
    ] {
        let dir = scratch(&format!("generate-{sig:?}"));
        let out = dir.join("group.pem");
        let child = common::command()
            .args(["generate", "--bits", "8192", "--out"])
            .arg(&out)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(800));
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
        let done = child.wait_with_output().unwrap();
        assert_eq!(
            done.status.code(),
            Some(1),
            "{sig:?}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
        assert!(String::from_utf8_lossy(&done.stderr).contains("interrupted; nothing was written"));
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "{sig:?}: files left in {}",
            dir.display()
        );
    }
}

#[test]
fn generated_groups_pass_dhrotate_check_and_openssl() {
    let dir = scratch("generate-ok");
    let out = dir.join("g.pem");
    let o = dhrotate(&["generate", "--bits", "1024", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", show(&o));
    let c = dhrotate(&["check", "--bits", "1024", out.to_str().unwrap()]);
    assert!(c.status.success(), "{}", show(&c));
    let s = Command::new("openssl")
        .args(["dhparam", "-check", "-noout", "-in"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(s.status.success());
    // OpenSSL 3 prints its verdict on stderr.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&s.stdout),
        String::from_utf8_lossy(&s.stderr)
    );
    assert!(said.contains("DH parameters appear to be ok"), "{said}");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&out).unwrap().mode() & 0o777, 0o644);
}
