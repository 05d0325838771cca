//! The version matrix: Postfix 2.11 to 3.10 with OpenSSL 1.1.1, 3.0 and
//! 3.5, through the same `Postfix` seam and `version::detect` that real
//! runs use, down to the exact main.cf / master.cf edits each gets.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::plan::{Effective, plan};
use crate::config::{GroupSpec, Mode, Overrides, Settings, Use};
use crate::postfix::ConfigFiles;
use crate::postfix::curves::{self, CurvePolicy};
use crate::postfix::{self, Postfix};

/// A Postfix that answers `postconf` like the given versions would.
struct FakePostfix {
    dir: PathBuf,
    mail_version: &'static str,
    /// `postconf -T run-version` output; `None` = no TLS support (no output).
    openssl: Option<&'static str>,
}

impl Postfix for FakePostfix {
    fn postconf(&self, args: &[&str]) -> Result<String> {
        match args {
            ["-h", "mail_version"] => Ok(format!("{}\n", self.mail_version)),
            ["-T", _] if self.mail_version.starts_with("2.") => {
                bail!("postconf: invalid option -- 'T'")
            }
            ["-T", _] => Ok(self.openssl.map_or_else(String::new, |v| format!("{v}\n"))),
            _ => bail!("unexpected postconf {args:?}"),
        }
    }
    fn check(&self) -> Result<()> {
        Ok(())
    }
    fn reload(&self) -> Result<()> {
        Ok(())
    }
    fn is_running(&self) -> Result<bool> {
        Ok(false)
    }
    fn config_dir(&self) -> &Path {
        &self.dir
    }
}

const MAIN_CF: &str = "myhostname = mx\nsmtpd_tls_dh1024_param_file = /old/dh.pem\n";
const MASTER_CF: &str = "smtp inet n - n - - smtpd\nsubmission inet n - n - - smtpd\n  -o smtpd_tls_dh1024_param_file=/old/dh1024.pem\n";

fn settings(dir: &Path, mode: Mode, with_512: bool) -> Settings {
    let mut s = crate::config::load(
        &dir.join("none.toml"),
        false,
        &Overrides {
            postfix_config_dir: Some(dir.to_path_buf()),
            state_dir: Some(dir.join("state")),
            mode: Some(mode),
            no_reload: false,
            if_due: false,
        },
    )
    .unwrap();
    if with_512 {
        s.groups.push(GroupSpec {
            name: "export".into(),
            bits: 512,
            file: dir.join("dh512.pem"),
            uses: vec![Use::MainCf],
        });
    }
    s
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.path().join("main.cf"), MAIN_CF).unwrap();
    std::fs::write(dir.path().join("master.cf"), MASTER_CF).unwrap();
    dir
}

const POSTFIX: [&str; 7] = [
    "2.11.3", "3.5.25", "3.6.18", "3.7.11", "3.8.9", "3.9.3", "3.10.2",
];
const OPENSSL: [&str; 3] = [
    "OpenSSL 1.1.1w  11 Sep 2023",
    "OpenSSL 3.0.19 27 Jan 2026",
    "OpenSSL 3.5.4 30 Sep 2025",
];

#[test]
fn detect_mode_and_its_edits_for_every_version_pair() {
    for pf_v in POSTFIX {
        for ossl in OPENSSL {
            let dir = setup();
            let pf = FakePostfix {
                dir: dir.path().into(),
                mail_version: pf_v,
                openssl: Some(ossl),
            };
            let label = format!("Postfix {pf_v} + {ossl}");
            let p = plan(
                &settings(dir.path(), Mode::Detect, false),
                &pf,
                std::time::SystemTime::now(),
            )
            .unwrap();
            let minor: u32 = pf_v.split('.').nth(1).unwrap().parse().unwrap();
            let modern_pf = pf_v.starts_with("3.") && minor >= 7;
            let ossl3 = !ossl.contains("1.1.1");
            for e in &p.edits {
                std::fs::write(&e.path, &e.after).unwrap();
            }
            let cf = ConfigFiles::load(dir.path()).unwrap();
            let main = cf.main.get(postfix::DH1024).map(|p| p.value.clone());
            let sub = cf
                .master
                .service("submission/inet")
                .and_then(|s| s.get(postfix::DH1024))
                .map(|o| o.value.clone());
            if modern_pf && ossl3 {
                assert_eq!(
                    p.decision.as_ref().unwrap().mode,
                    Effective::Auto,
                    "{label}"
                );
                assert!(p.groups.is_empty(), "{label}");
                if minor >= 9 {
                    assert_eq!(
                        (main, sub),
                        (None, None),
                        "{label}: 3.9+ removes the setting"
                    );
                } else {
                    let auto = Some("auto".to_owned());
                    assert_eq!(
                        (main, sub),
                        (auto.clone(), auto),
                        "{label}: 3.7/3.8 set auto"
                    );
                }
            } else {
                // [policy] prefer defaults to named where OpenSSL cannot choose.
                assert_eq!(
                    p.decision.as_ref().unwrap().mode,
                    Effective::Named,
                    "{label}"
                );
                assert_eq!(p.groups.len(), 1, "{label}");
                let want = dir.path().join("dh2048.pem").to_string_lossy().into_owned();
                assert_eq!(main, Some(want), "{label}");
                // Unmanaged overrides stay, with a warning.
                assert_eq!(sub.as_deref(), Some("/old/dh1024.pem"), "{label}");
                assert!(
                    p.warnings.iter().any(|w| w.contains("submission/inet")),
                    "{label}"
                );
            }
        }
    }
}

#[test]
fn dh512_only_below_postfix_3_6() {
    for pf_v in POSTFIX {
        let dir = setup();
        let pf = FakePostfix {
            dir: dir.path().into(),
            mail_version: pf_v,
            openssl: Some(OPENSSL[0]),
        };
        let result = plan(
            &settings(dir.path(), Mode::Explicit, true),
            &pf,
            std::time::SystemTime::now(),
        );
        let minor: u32 = pf_v.split('.').nth(1).unwrap().parse().unwrap();
        if pf_v.starts_with("2.") || minor < 6 {
            let p = result.unwrap();
            let after = String::from_utf8(p.edits[0].after.clone()).unwrap();
            assert!(
                after.contains(&format!(
                    "{} = {}",
                    postfix::DH512,
                    dir.path().join("dh512.pem").display()
                )),
                "{pf_v}"
            );
        } else {
            let err = result.expect_err("refused");
            assert_eq!(
                err.downcast_ref::<crate::error::Failure>()
                    .map_or(1, crate::error::Failure::exit_code),
                2,
                "{pf_v}"
            );
            assert!(
                format!("{err:#}").contains("ignores smtpd_tls_dh512_param_file"),
                "{pf_v}"
            );
        }
    }
}

#[test]
fn detect_refuses_to_guess_without_an_openssl_version() {
    for pf_v in ["3.7.11", "3.10.2"] {
        let dir = setup();
        let pf = FakePostfix {
            dir: dir.path().into(),
            mail_version: pf_v,
            openssl: None,
        };
        let err = plan(
            &settings(dir.path(), Mode::Detect, false),
            &pf,
            std::time::SystemTime::now(),
        )
        .expect_err("refused");
        assert_eq!(
            err.downcast_ref::<crate::error::Failure>()
                .map_or(1, crate::error::Failure::exit_code),
            2
        );
        assert!(
            format!("{err:#}").contains("cannot tell which OpenSSL"),
            "{err:#}"
        );
    }
    // Before 3.1 there is no `postconf -T`; explicit groups are right anyway.
    let dir = setup();
    let pf = FakePostfix {
        dir: dir.path().into(),
        mail_version: "2.11.3",
        openssl: None,
    };
    let p = plan(
        &settings(dir.path(), Mode::Detect, false),
        &pf,
        std::time::SystemTime::now(),
    )
    .unwrap();
    assert_eq!(p.decision.unwrap().mode, Effective::Named);
    assert_eq!(p.versions.openssl, None);
}

#[test]
fn named_mode_writes_the_rfc7919_group_once_and_refuses_other_sizes() {
    let dir = setup();
    let pf = FakePostfix {
        dir: dir.path().into(),
        mail_version: "3.5.25",
        openssl: Some(OPENSSL[0]),
    };
    let mut s = settings(dir.path(), Mode::Named, false);
    s.groups[0].bits = 3072;
    let first = plan(&s, &pf, std::time::SystemTime::now()).unwrap();
    assert_eq!(first.groups.len(), 1);
    // Once the file holds ffdhe3072 and main.cf points at it, nothing is due.
    let group = crate::dh::named::group(3072, &crate::dh::Catalog::embedded()).unwrap();
    std::fs::write(&s.groups[0].file, group.params_to_pem().unwrap()).unwrap();
    for e in &first.edits {
        std::fs::write(&e.path, &e.after).unwrap();
    }
    let second = plan(&s, &pf, std::time::SystemTime::now()).unwrap();
    assert!(!second.changes_anything(), "{:?}", second.groups);
    // A custom prime in the file is replaced by the named group.
    let custom = crate::dh::generate::generate(512).unwrap();
    std::fs::write(&s.groups[0].file, custom.params_to_pem().unwrap()).unwrap();
    assert_eq!(
        plan(&s, &pf, std::time::SystemTime::now())
            .unwrap()
            .groups
            .len(),
        1
    );

    s.groups[0].bits = 2560;
    let err = plan(&s, &pf, std::time::SystemTime::now()).expect_err("no 2560-bit RFC 7919 group");
    assert_eq!(
        err.downcast_ref::<crate::error::Failure>()
            .map_or(1, crate::error::Failure::exit_code),
        2
    );
    assert!(
        format!("{err:#}").contains("2048, 3072, 4096, 6144 and 8192"),
        "{err:#}"
    );
}

#[test]
fn ffdhe_groups_are_written_only_from_postfix_3_8() {
    for pf_v in POSTFIX {
        let dir = setup();
        let pf = FakePostfix {
            dir: dir.path().into(),
            mail_version: pf_v,
            openssl: Some(OPENSSL[1]),
        };
        let versions = postfix::version::detect(&pf).unwrap();
        let mut cf = ConfigFiles::load(dir.path()).unwrap();
        let policy = CurvePolicy::parse("X25519 ffdhe3072");
        let result = curves::apply_policy(&mut cf, &policy, &versions);
        let minor: u32 = pf_v.split('.').nth(1).unwrap().parse().unwrap();
        let has_list = pf_v.starts_with("3.") && minor >= 8;
        // Built against OpenSSL 1.1.1, which has no TLS group by that name:
        // refused for that, whatever the Postfix.
        if !curves::openssl_knows("ffdhe3072") {
            let err = result.expect_err("refused");
            assert!(
                format!("{err:#}").contains("does not know ffdhe3072"),
                "{pf_v}: {err:#}"
            );
        } else if has_list {
            result.unwrap();
            assert_eq!(cf.main.get(curves::FFDHE).unwrap().value, "ffdhe3072");
            assert_eq!(cf.main.get(curves::CURVES).unwrap().value, "X25519");
        } else {
            let err = result.expect_err("refused");
            assert!(
                format!("{err:#}").contains("has no tls_ffdhe_auto_groups"),
                "{pf_v}: {err:#}"
            );
        }
    }
}
