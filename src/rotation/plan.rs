//! Deciding what a rotation will do, with no side effects: which groups to
//! generate and where, and the exact new bytes of main.cf and master.cf.
//! `--dry-run` prints this; `apply` carries it out.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};

use crate::config::{GroupSpec, Mode, Settings, Use};
use crate::error::Failure;
use crate::fsutil::{self, FileMode};
use crate::postfix::mastercf::EditError;
use crate::postfix::{self, MainCf, MasterCf, Postfix, Version, Versions};

/// The mode a run really uses, after `detect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effective {
    /// Generate groups and point Postfix at them.
    Explicit,
    /// Let OpenSSL choose: reset the DH settings.
    Auto,
}

/// The mode in effect and the reason, in words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    /// Mode in effect.
    pub mode: Effective,
    /// Why, for logs and `status`.
    pub why: String,
}

/// Applies DESIGN.md's version facts to the configured mode.
pub fn decide(configured: Mode, v: &Versions) -> Result<Decision> {
    let auto_capable =
        v.postfix >= Version::new(3, 7, 0) && v.openssl.is_some_and(|o| o >= Version::new(3, 0, 0));
    let ossl = v.openssl.map_or_else(
        || "an unknown OpenSSL".to_owned(),
        |o| format!("OpenSSL {o}"),
    );
    match configured {
        Mode::Explicit => Ok(Decision {
            mode: Effective::Explicit,
            why: "mode = \"explicit\" in the configuration".into(),
        }),
        Mode::Auto if auto_capable => Ok(Decision {
            mode: Effective::Auto,
            why: "mode = \"auto\" in the configuration".into(),
        }),
        Mode::Auto => Err(Failure::Config(anyhow!(
            "mode = \"auto\" needs Postfix >= 3.7 with OpenSSL >= 3.0, but this is Postfix {} with {ossl}; \
             older combinations fall back to a compiled-in group: use mode = \"explicit\"",
            v.postfix
        ))
        .into()),
        Mode::Detect if v.openssl.is_none() && v.postfix >= Version::new(3, 7, 0) => {
            Err(Failure::Config(anyhow!(
                "mode = \"detect\" cannot tell which OpenSSL Postfix {} uses (`postconf -T run-version` gave nothing); \
                 set mode = \"explicit\" or mode = \"auto\" in the configuration",
                v.postfix
            ))
            .into())
        }
        Mode::Detect if auto_capable => Ok(Decision {
            mode: Effective::Auto,
            why: format!(
                "detected Postfix {} with {ossl}: OpenSSL chooses the group (Postfix >= 3.7 with OpenSSL >= 3)",
                v.postfix
            ),
        }),
        Mode::Detect => Ok(Decision {
            mode: Effective::Explicit,
            why: format!(
                "detected Postfix {} with {ossl}: explicit groups are needed below Postfix 3.7 / OpenSSL 3",
                v.postfix
            ),
        }),
    }
}

/// A configuration file's bytes before and after the edit.
#[derive(Debug, Clone)]
pub struct FileEdit {
    /// The file.
    pub path: PathBuf,
    /// Its bytes now.
    pub before: Vec<u8>,
    /// Its bytes after the edit.
    pub after: Vec<u8>,
    /// Mode and owner to keep.
    pub mode: FileMode,
}

/// Everything a rotation will do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Versions detected.
    pub versions: Versions,
    /// Mode in effect.
    pub decision: Decision,
    /// Groups to generate and write (explicit mode).
    pub groups: Vec<GroupSpec>,
    /// Configuration files that change.
    pub edits: Vec<FileEdit>,
    /// Things the administrator should know (duplicate keys, odd lines).
    pub warnings: Vec<String>,
}

impl Plan {
    /// Whether applying the plan changes anything at all.
    pub fn changes_anything(&self) -> bool {
        !self.groups.is_empty() || !self.edits.is_empty()
    }
}

/// Builds the plan from settings and what Postfix and its files say now.
pub fn plan(settings: &Settings, pf: &dyn Postfix) -> Result<Plan> {
    let versions = postfix::version::detect(pf)?;
    let decision = decide(settings.mode, &versions)?;
    let dir = &settings.postfix_config_dir;
    fsutil::check_dir_safe(dir).map_err(Failure::Config)?;

    let main_path = dir.join("main.cf");
    let master_path = dir.join("master.cf");
    let (main_before, main_mode) = read_config(&main_path)?;
    let (master_before, master_mode) = read_config(&master_path)?;
    let mut main = MainCf::parse(&main_before);
    let mut master = MasterCf::parse(&master_before);
    let mut warnings = oddity_warnings(&main, &main_path);

    let groups = match decision.mode {
        Effective::Explicit => {
            for g in &settings.groups {
                check_group(g, &versions)?;
                for u in &g.uses {
                    let param = g.parameter();
                    let value = g.file.to_string_lossy();
                    match u {
                        Use::MainCf => {
                            let current = main.get(param).map(|p| expand(&p.value, dir));
                            if current.as_deref() != Some(value.as_ref()) {
                                warn_duplicates(
                                    main.set(param, &value),
                                    param,
                                    &main_path,
                                    &mut warnings,
                                );
                            }
                        }
                        Use::Service(key) => {
                            let current = master
                                .service(key)
                                .and_then(|s| s.get(param))
                                .map(|o| expand(&o.value, dir));
                            if current.as_deref() != Some(value.as_ref()) {
                                let change = master
                                    .set(key, param, &value)
                                    .map_err(|e| service_error(e, &master, &master_path))?;
                                warn_duplicates(change, param, &master_path, &mut warnings);
                            }
                        }
                    }
                }
            }
            warnings.extend(unmanaged_overrides(settings, &master, &master_path));
            settings.groups.clone()
        }
        Effective::Auto => {
            // 3.9+ warns whenever the setting is present, so it goes; 3.7
            // and 3.8 take an explicit `auto`, which also documents intent.
            let remove = versions.postfix >= Version::new(3, 9, 0);
            if remove {
                main.remove(postfix::DH1024);
            } else if main.get(postfix::DH1024).map(|p| p.value.as_str()) != Some("auto") {
                main.set(postfix::DH1024, "auto");
            }
            let keys: Vec<String> = master
                .services()
                .iter()
                .filter(|s| s.get(postfix::DH1024).is_some())
                .map(|s| s.key())
                .collect();
            for key in keys {
                let result = if remove {
                    master.remove(&key, postfix::DH1024)
                } else {
                    master.set(&key, postfix::DH1024, "auto")
                };
                result.map_err(|e| service_error(e, &master, &master_path))?;
            }
            Vec::new()
        }
    };

    let mut edits = Vec::new();
    for (path, before, after, mode) in [
        (main_path, main_before, main.bytes().to_vec(), main_mode),
        (
            master_path,
            master_before,
            master.bytes().to_vec(),
            master_mode,
        ),
    ] {
        if before != after {
            edits.push(FileEdit {
                path,
                before,
                after,
                mode,
            });
        }
    }
    Ok(Plan {
        versions,
        decision,
        groups,
        edits,
        warnings,
    })
}

fn read_config(path: &Path) -> Result<(Vec<u8>, FileMode)> {
    let bytes = fsutil::read_regular(path).map_err(Failure::Config)?;
    let meta = std::fs::metadata(path).with_context(|| format!("inspecting {}", path.display()))?;
    Ok((bytes, FileMode::of(&meta)))
}

fn check_group(g: &GroupSpec, v: &Versions) -> Result<()> {
    if g.bits == 512 && !v.reads_dh512() {
        return Err(Failure::Config(anyhow!(
            "group {:?} is 512 bits, but Postfix {} ignores smtpd_tls_dh512_param_file (export ciphers are gone since 3.6); remove the group",
            g.name,
            v.postfix
        ))
        .into());
    }
    let parent = g.file.parent().unwrap_or(Path::new("/"));
    fsutil::check_dir_safe(parent)
        .and_then(|()| fsutil::check_target(&g.file))
        .map_err(|e| Failure::Config(e.context(format!("group {:?}", g.name))).into())
}

/// Expands `$config_directory` the way Postfix would, for comparing paths.
fn expand(value: &str, dir: &Path) -> String {
    let d = dir.to_string_lossy();
    value
        .replace("${config_directory}", &d)
        .replace("$(config_directory)", &d)
        .replace("$config_directory", &d)
}

fn warn_duplicates(
    change: postfix::maincf::Change,
    param: &str,
    path: &Path,
    warnings: &mut Vec<String>,
) {
    if let postfix::maincf::Change::Changed { duplicates } = change
        && duplicates > 0
    {
        warnings.push(format!(
                "{} sets {param} {} times; Postfix uses the last one, which was edited; remove the others",
                path.display(),
                duplicates + 1
            ));
    }
}

fn oddity_warnings(main: &MainCf, path: &Path) -> Vec<String> {
    let (orphans, non_params) = main.oddities();
    let mut w = Vec::new();
    if !orphans.is_empty() {
        w.push(format!(
            "{}: lines {:?} start with whitespace but continue nothing; Postfix ignores them",
            path.display(),
            orphans
        ));
    }
    if !non_params.is_empty() {
        w.push(format!(
            "{}: lines {:?} are not `name = value`; `postfix check` will reject the file",
            path.display(),
            non_params
        ));
    }
    w
}

/// master.cf overrides of the DH parameters that no group manages: those
/// services keep serving whatever the override names.
fn unmanaged_overrides(settings: &Settings, master: &MasterCf, path: &Path) -> Vec<String> {
    let mut w = Vec::new();
    for svc in master.services() {
        for param in [postfix::DH1024, postfix::DH512] {
            let managed = settings
                .groups
                .iter()
                .any(|g| g.parameter() == param && g.uses.contains(&Use::Service(svc.key())));
            if let (Some(o), false) = (svc.get(param), managed) {
                w.push(format!(
                    "{} line {}: service {} overrides {param} = {}, which dhrotate does not manage; \
                     add the service to a group's `use` or remove the override",
                    path.display(),
                    svc.line,
                    svc.key(),
                    o.value
                ));
            }
        }
    }
    w
}

fn service_error(e: EditError, master: &MasterCf, path: &Path) -> anyhow::Error {
    let known: Vec<String> = master.services().iter().map(|s| s.key()).collect();
    Failure::Config(anyhow!(
        "{}: {e}; the configuration names it in a group's `use`. Services there: {}",
        path.display(),
        known.join(", ")
    ))
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(pf: (u32, u32), ossl: Option<(u32, u32)>) -> Versions {
        Versions {
            postfix: Version::new(pf.0, pf.1, 0),
            openssl: ossl.map(|(a, b)| Version::new(a, b, 0)),
            openssl_source: "test",
        }
    }

    #[test]
    fn detect_picks_auto_only_for_postfix_3_7_with_openssl_3() {
        let cases = [
            ((2, 11), Some((1, 1)), Some(Effective::Explicit)),
            ((3, 5), Some((3, 0)), Some(Effective::Explicit)),
            ((3, 6), Some((3, 0)), Some(Effective::Explicit)),
            ((3, 7), Some((1, 1)), Some(Effective::Explicit)),
            ((3, 7), Some((3, 0)), Some(Effective::Auto)),
            ((3, 9), Some((3, 5)), Some(Effective::Auto)),
            ((3, 10), Some((3, 0)), Some(Effective::Auto)),
            ((3, 8), None, None),
            ((3, 0), None, Some(Effective::Explicit)),
        ];
        for (pf, ossl, want) in cases {
            let got = decide(Mode::Detect, &v(pf, ossl)).ok().map(|d| d.mode);
            assert_eq!(got, want, "Postfix {pf:?} OpenSSL {ossl:?}");
        }
    }

    #[test]
    fn auto_is_refused_where_openssl_cannot_choose() {
        let err = decide(Mode::Auto, &v((3, 6), Some((3, 0)))).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 2);
        assert_eq!(
            decide(Mode::Explicit, &v((3, 10), Some((3, 5))))
                .unwrap()
                .mode,
            Effective::Explicit
        );
    }
}
