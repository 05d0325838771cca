//! The example Ansible role (examples/ansible) run by ansible-core against
//! this machine (connection local), installing the built .deb and pointing
//! dhrotate at a private Postfix through a conf.d fragment: the first run
//! reports changed, the second ok, and a broken fragment fails the play
//! with dhrotate's own message. Needs the package, so it runs after the
//! .deb is built: scripts/test.sh calls it with DHROTATE_DEB (the .deb)
//! and DHROTATE_ANSIBLE_PLAYBOOK (ansible-playbook from a venv with
//! ansible-core from PyPI); `cargo test` alone leaves it ignored.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn play(playbook_dir: &Path, deb: &str, fragment: &str, scratch: &Path) -> (i32, String) {
    let vars = scratch.join("vars.json");
    std::fs::write(
        &vars,
        serde_json::json!({
            "dhrotate_deb": deb,
            "dhrotate_fragment": fragment,
            "ansible_python_interpreter": "/usr/bin/python3",
        })
        .to_string(),
    )
    .unwrap();
    let ansible = std::env::var("DHROTATE_ANSIBLE_PLAYBOOK")
        .expect("DHROTATE_ANSIBLE_PLAYBOOK names ansible-playbook (scripts/test.sh sets it)");
    let out = Command::new(ansible)
        .current_dir(playbook_dir)
        .args(["-i", "localhost,", "-c", "local", "site.yml", "-e"])
        .arg(format!("@{}", vars.display()))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_STDOUT_CALLBACK", "default")
        .env("ANSIBLE_LOCAL_TEMP", scratch.join("ansible-tmp"))
        .output()
        .expect("ansible-playbook runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The line of the play recap for localhost.
fn recap(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| l.starts_with("localhost"))
        .unwrap_or_else(|| panic!("no recap in:\n{text}"))
}

/// The result line of one task: `changed`, `ok` or `fatal`.
fn task_result<'a>(text: &'a str, task: &str) -> &'a str {
    let mut lines = text
        .lines()
        .skip_while(|l| !l.contains(&format!("TASK [dhrotate : {task}]")));
    lines
        .next()
        .unwrap_or_else(|| panic!("no task {task:?} in:\n{text}"));
    lines
        .take_while(|l| !l.starts_with("TASK ["))
        .find_map(|l| {
            ["changed", "ok", "fatal", "skipping"]
                .into_iter()
                .find(|r| l.starts_with(&format!("{r}: [")))
        })
        .unwrap_or("")
}

struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", "dhrotate"]).output();
        let _ = std::fs::remove_dir_all("/etc/dhrotate");
    }
}

#[test]
#[ignore = "needs the built .deb and ansible-core: run by scripts/test.sh"]
fn the_role_reports_changed_then_ok_and_fails_on_a_broken_fragment() {
    let deb = std::env::var("DHROTATE_DEB").expect("DHROTATE_DEB names the .deb to install");
    let deb = std::fs::canonicalize(deb).unwrap();
    let (base, inst) = instance("ansible", true);
    let _purge = Purge;
    let playbook_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ansible");
    let fragment = format!(
        "# Managed by Ansible (role dhrotate).\n\
         mode = \"explicit\"\n\
         postfix_config_dir = \"{}\"\n\
         state_dir = \"{}\"\n\
         min_bits = 1024\n\
         [[group]]\nname = \"main\"\nbits = 1024\nfile = \"dh1024.pem\"\n\
         [pool]\nsize = 0\n\
         [schedule]\nrotate_after = \"5d\"\n",
        inst.config_dir.display(),
        base.join("state").display()
    );
    let deb = deb.to_str().unwrap();

    let (rc, first) = play(&playbook_dir, deb, &fragment, &base);
    report("ansible-first-run", &first);
    assert_eq!(rc, 0, "{first}");
    assert_eq!(
        task_result(&first, "Rotate the groups that are due"),
        "changed",
        "{first}"
    );
    assert!(recap(&first).contains("failed=0"), "{first}");
    let main = inst.config_dir.join("dh1024.pem");
    assert_eq!(served(inst.smtp_port).fingerprint, file_fingerprint(&main));

    let before = snapshot_tree(&inst.config_dir);
    let (rc, second) = play(&playbook_dir, deb, &fragment, &base);
    report("ansible-second-run", &second);
    assert_eq!(rc, 0, "{second}");
    assert_eq!(
        task_result(&second, "Rotate the groups that are due"),
        "ok",
        "{second}"
    );
    assert!(recap(&second).contains("changed=0"), "{second}");
    assert_eq!(snapshot_tree(&inst.config_dir), before);

    let broken = fragment.replace("min_bits = 1024", "min_bits = 99");
    let (rc, third) = play(&playbook_dir, deb, &broken, &base);
    report("ansible-broken-fragment", &third);
    assert_ne!(rc, 0, "{third}");
    assert_eq!(
        task_result(&third, "Rotate the groups that are due"),
        "fatal",
        "{third}"
    );
    // dhrotate's own words: the file, the line and the fix.
    assert!(third.contains("50-ansible.toml line 5"), "{third}");
    assert!(third.contains("min_bits = 99 is out of range"), "{third}");
    assert_eq!(snapshot_tree(&inst.config_dir), before);
}
