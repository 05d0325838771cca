//! One run over two instances through the `Postfix` seam: every command
//! each instance gets, in order, and what a reload failing in the second
//! instance leaves behind (both trees as before, the first reloaded again).

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::apply::apply_all;
use super::env::{Env, Part};
use super::plan::plan;
use crate::config::{Mode, Overrides, Verify};
use crate::error::{Failure, PostfixStep};
use crate::postfix::Postfix;
use crate::postfix::multi::ListedInstance;

/// A running Postfix 3.6 with OpenSSL 3.0 that logs each command into
/// `log` and fails `reload` when `bad_reload`.
struct Logged<'a> {
    dir: PathBuf,
    log: &'a RefCell<Vec<String>>,
    bad_reload: bool,
}

impl Logged<'_> {
    fn note(&self, what: &str) {
        let name = self.dir.file_name().unwrap().to_string_lossy();
        self.log.borrow_mut().push(format!("{what} {name}"));
    }
}

impl Postfix for Logged<'_> {
    fn postconf(&self, args: &[&str]) -> Result<String> {
        match args {
            ["-h", "mail_version"] => Ok("3.6.18\n".into()),
            ["-T", _] => Ok("OpenSSL 3.0.19 27 Jan 2026\n".into()),
            _ => bail!("unexpected postconf {args:?}"),
        }
    }
    fn check(&self) -> Result<()> {
        self.note("check");
        Ok(())
    }
    fn reload(&self) -> Result<()> {
        self.note("reload");
        if self.bad_reload {
            bail!("postfix/postfix-script: fatal: the Postfix mail system is not running");
        }
        Ok(())
    }
    fn is_running(&self) -> Result<bool> {
        self.note("status");
        Ok(true)
    }
    fn config_dir(&self) -> &Path {
        &self.dir
    }
}

fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn a_reload_failing_in_the_second_instance_restores_both_and_reloads_the_first_again() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    for d in [&a, &b] {
        std::fs::create_dir(d).unwrap();
        std::fs::write(d.join("main.cf"), "myhostname = mx\n").unwrap();
        std::fs::write(d.join("master.cf"), "smtp inet n - n - - smtpd\n").unwrap();
    }
    let mut settings = crate::config::load(
        &root.path().join("none.toml"),
        false,
        &Overrides {
            postfix_config_dir: Some(a.clone()),
            state_dir: Some(root.path().join("state")),
            mode: Some(Mode::Named),
            ..Default::default()
        },
    )
    .unwrap();
    settings.instance_files = crate::config::InstanceFiles::PerInstance;
    settings.reload.verify = Verify::Off;
    let second = settings.for_instance("postfix-b", &b);
    let log = RefCell::new(Vec::new());
    let pa = Logged {
        dir: a.clone(),
        log: &log,
        bad_reload: false,
    };
    let pb = Logged {
        dir: b.clone(),
        log: &log,
        bad_reload: true,
    };
    let now = std::time::SystemTime::now();
    let (plan_a, plan_b) = (
        plan(&settings, &pa, now).unwrap(),
        plan(&second, &pb, now).unwrap(),
    );
    assert_eq!(plan_b.groups[0].file, b.join("dh2048.pem"));
    let (ia, mut ib) = (ListedInstance::only(&a), ListedInstance::only(&b));
    ib.primary = false;
    ib.name = "postfix-b".into();
    let catalog = crate::dh::Catalog::embedded();
    let env = Env {
        postfix: &pa,
        source: &crate::dh::OpenSslSource,
        catalog: &catalog,
        proofs: None,
        phases: Default::default(),
        now,
    };
    let (before_a, before_b) = (tree(&a), tree(&b));
    let parts = [
        Part {
            instance: &ia,
            settings: &settings,
            plan: &plan_a,
            postfix: &pa,
        },
        Part {
            instance: &ib,
            settings: &second,
            plan: &plan_b,
            postfix: &pb,
        },
    ];
    let err = apply_all(&parts, &env).unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<Failure>(),
            Some(Failure::PostfixRejected(PostfixStep::Reload, _))
        ),
        "{err:#}"
    );
    let msg = format!("{err:#}");
    assert!(msg.contains("in instance postfix-b"), "{msg}");
    assert_eq!(tree(&a), before_a, "the first instance was not restored");
    assert_eq!(tree(&b), before_b, "the second instance was not restored");
    assert_eq!(
        log.into_inner(),
        [
            "check a", "check b", // before any change
            "check a", "check b", // after the writes
            "status a", "reload a", "status b", "reload b", // b fails
            "reload a", "reload b", // after the rollback
        ]
    );
    // This run's reload markers are gone with its changes.
    assert!(!root.path().join("state/reload-owed").exists());
    assert!(
        !root
            .path()
            .join("state/instances/postfix-b/reload-owed")
            .exists()
    );
}
