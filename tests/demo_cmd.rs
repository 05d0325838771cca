//! The README's first command, `now --demo`, as root runs it: from a
//! checkout under a 0700 directory, where root's clones usually live. The
//! postfix user cannot pass through such a directory, so the demo's
//! private Postfix must live elsewhere (it used to fail with "open lock
//! file .../master.lock: Permission denied").

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::*;

#[test]
fn demo_runs_from_a_checkout_under_a_0700_directory() {
    require_postfix();
    let home = tempfile::Builder::new()
        .prefix("dhrotate-home-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let checkout = home.path().join("dhrotate");
    let src = env!("CARGO_MANIFEST_DIR");
    let files = Command::new("git")
        .args(["-C", src, "ls-files", "-z"])
        .output()
        .expect("git ls-files");
    assert!(files.status.success(), "{}", show(&files));
    for rel in files.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let rel = std::str::from_utf8(rel).unwrap();
        let to = checkout.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(std::path::Path::new(src).join(rel), &to).unwrap();
    }
    // `cargo run` leaves target/ in the checkout and runs from there.
    std::fs::create_dir_all(checkout.join("target")).unwrap();
    let out = common::command()
        .args(["now", "--demo"])
        .current_dir(&checkout)
        .env_remove("DHROTATE_CONFIG")
        .output()
        .unwrap();
    let text = show(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("demo directory: /var/tmp/dhrotate-demo"),
        "{text}"
    );
    assert!(
        text.contains("verified: each listener serves exactly the group just written"),
        "{text}"
    );
    report("demo-0700", &text);
}
