//! Manual pages and completions come from the same definitions as --help.

mod common;

use common::*;

#[test]
fn man_writes_section_8_pages_for_every_subcommand() {
    let dir = scratch("man");
    let out = dhrotate(&["man", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", show(&out));
    for page in [
        "dhrotate.8",
        "dhrotate-now.8",
        "dhrotate-check.8",
        "dhrotate-probe.8",
        "dhrotate-audit.8",
        "dhrotate-pool-fill.8",
    ] {
        let text =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page} is not a manual page");
        assert!(text.contains(" 8 "), "{page} is not in section 8");
    }
    let root = std::fs::read_to_string(dir.join("dhrotate.8")).unwrap();
    assert!(
        root.contains("Exit codes"),
        "the exit codes belong in dhrotate(8)"
    );
}

#[test]
fn completions_know_the_subcommands() {
    for shell in ["bash", "zsh", "fish"] {
        let out = dhrotate(&["completions", shell]);
        assert!(out.status.success(), "{}", show(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        for sub in ["now", "check", "curves", "probe", "audit", "pool"] {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
    }
}
