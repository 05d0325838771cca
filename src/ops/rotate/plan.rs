//! Deciding what a rotation will do, with no side effects: which groups to
//! generate and where, and the exact new bytes of main.cf and master.cf.
//! `--dry-run` prints this; `apply` carries it out.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Result, anyhow};

use crate::config::{GroupSpec, Settings, Use};
use crate::error::Failure;
pub use crate::ops::mode::{Decision, Effective, decide};
use crate::postfix::{
    self, ConfigFiles, FileEdit, MainCf, MasterCf, Postfix, Version, Versions, curves,
};
use crate::sys::fsutil;

/// Everything a rotation will do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Versions detected.
    pub versions: Versions,
    /// Mode in effect (rotations; `None` for curve policy changes).
    pub decision: Option<Decision>,
    /// Groups to generate and write (explicit mode).
    pub groups: Vec<GroupSpec>,
    /// Configuration files that change.
    pub edits: Vec<FileEdit>,
    /// Group files no longer used (auto mode), and whether they go.
    pub old_files: Vec<OldFile>,
    /// Things the administrator should know (duplicate keys, odd lines).
    pub warnings: Vec<String>,
    /// Groups `--if-due` leaves alone: younger than `rotate_after`.
    pub not_due: Vec<NotDue>,
    /// Each setting the edits change, old and new value.
    pub changes: Vec<postfix::SettingChange>,
    /// The settings the edits mean to change, for Postfix's own parser to
    /// confirm before anything is installed.
    pub intents: Vec<postfix::oracle::Intent>,
}

/// A group `--if-due` leaves alone, and how old its file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotDue {
    /// Config name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// Age of the file.
    pub age: std::time::Duration,
}

/// A group file that auto mode no longer uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OldFile {
    /// The file (its `.prev` goes with it).
    pub path: PathBuf,
    /// Remove it (`auto_old_files = "remove"`) or keep it.
    pub remove: bool,
}

impl Plan {
    /// Whether applying the plan changes anything at all.
    pub fn changes_anything(&self) -> bool {
        !self.groups.is_empty() || !self.edits.is_empty() || self.old_files.iter().any(|f| f.remove)
    }
}

/// Builds the plan from settings and what Postfix and its files say at
/// `now` (the run's clock: group ages for `--if-due`).
pub fn plan(settings: &Settings, pf: &dyn Postfix, now: SystemTime) -> Result<Plan> {
    // The files first: a missing or unreadable main.cf is a configuration
    // error with a fix, not a postconf failure to decode.
    let dir = &settings.postfix_config_dir;
    let mut cf = ConfigFiles::load(dir)?;
    let versions = postfix::version::detect(pf)?;
    let decision = decide(settings.mode, settings.policy.prefer, &versions)?;
    let mut warnings = oddity_warnings(&cf.main, &cf.main_path);

    let (groups, not_due, old_files) = match decision.mode {
        Effective::Explicit | Effective::Named => {
            let named = decision.mode == Effective::Named;
            point_at_groups(settings, &mut cf, &versions, named, &mut warnings)?;
            let (to_write, not_due) = groups_to_write(settings, named, now);
            (to_write, not_due, Vec::new())
        }
        Effective::Auto => {
            let old = hand_to_openssl(settings, &mut cf, &versions, &mut warnings)?;
            (Vec::new(), Vec::new(), old)
        }
    };

    // Every run holds the curve policy, so a hand edit is undone (and
    // `status` reports it as drift meanwhile); `keep` touches nothing.
    warnings.extend(curves::apply_policy(
        &mut cf,
        &settings.curves_policy,
        &versions,
    )?);
    // `[policy] dhe` likewise.
    warnings.extend(crate::postfix::ciphers::apply_dhe_policy(
        &mut cf,
        settings.policy.dhe,
    )?);

    Ok(Plan {
        changes: cf.changes(),
        intents: cf.intents(),
        edits: cf.edits(),
        versions,
        decision: Some(decision),
        groups,
        old_files,
        warnings,
        not_due,
    })
}

/// Explicit and named modes: each group checked, and every place it is
/// used (main.cf, master.cf services) pointed at its file.
fn point_at_groups(
    settings: &Settings,
    cf: &mut ConfigFiles,
    versions: &Versions,
    named: bool,
    warnings: &mut Vec<String>,
) -> Result<()> {
    for g in &settings.groups {
        check_group(g, versions)?;
        if named {
            check_named(g)?;
        }
        let param = g.parameter();
        let value = g.file.to_string_lossy();
        for u in &g.uses {
            if cf.points_at(&u.scope(), param, &g.file) {
                continue;
            }
            let (change, path) = match u {
                Use::MainCf => (cf.set_main(param, &value), &cf.main_path),
                Use::Service(key) => (cf.set_override(key, param, &value)?, &cf.master_path),
            };
            warn_duplicates(change, param, path, warnings);
        }
    }
    warnings.extend(unmanaged_overrides(settings, &cf.master, &cf.master_path));
    warnings.extend(tlsproxy_warning(cf));
    Ok(())
}

/// The groups that get a new file, and those left alone as not due. A
/// named group never changes: a file that already holds it is left alone,
/// so a second run changes nothing. With --if-due a sound unique group
/// younger than rotate_after stays too.
fn groups_to_write(
    settings: &Settings,
    named: bool,
    now: SystemTime,
) -> (Vec<GroupSpec>, Vec<NotDue>) {
    let mut to_write = Vec::new();
    let mut not_due = Vec::new();
    for g in &settings.groups {
        if named {
            if !holds_named_group(g) {
                to_write.push(g.clone());
            }
            continue;
        }
        let young = settings
            .only_when_due
            .then(|| young_group(g, settings, now))
            .flatten();
        match young {
            Some(age) => not_due.push(NotDue {
                name: g.name.clone(),
                file: g.file.clone(),
                age,
            }),
            None => to_write.push(g.clone()),
        }
    }
    (to_write, not_due)
}

/// Auto mode: the choice handed to OpenSSL; the groups' old files are
/// listed to keep or remove (`auto_old_files`).
fn hand_to_openssl(
    settings: &Settings,
    cf: &mut ConfigFiles,
    versions: &Versions,
    warnings: &mut Vec<String>,
) -> Result<Vec<OldFile>> {
    reset_to_auto(cf, versions)?;
    warnings.extend(drop_deprecated_grade(cf, versions)?);
    if cf.main.get(postfix::DH512).is_some() {
        warnings.push(format!(
            "{} sets {}, which Postfix {} ignores; remove it",
            cf.main_path.display(),
            postfix::DH512,
            versions.postfix
        ));
    }
    Ok(settings
        .groups
        .iter()
        .filter(|g| g.file.exists())
        .map(|g| OldFile {
            path: g.file.clone(),
            remove: settings.auto_old_files_remove,
        })
        .collect())
}

/// Hands the choice of group to OpenSSL, in main.cf and every master.cf
/// override. 3.9+ warns whenever the setting is present, so it goes there;
/// 3.7 and 3.8 take an explicit `auto`, which also documents the intent.
/// `tlsproxy_tls_dh1024_param_file` follows smtpd's by default, so any
/// explicit setting of it is removed.
pub fn reset_to_auto(cf: &mut ConfigFiles, versions: &Versions) -> Result<()> {
    let remove = versions.postfix >= Version::new(3, 9, 0);
    if remove {
        cf.remove_main(postfix::DH1024);
    } else if cf.main.get(postfix::DH1024).map(|p| p.value.as_str()) != Some("auto") {
        cf.set_main(postfix::DH1024, "auto");
    }
    if remove {
        cf.remove_overrides(postfix::DH1024)?;
    } else {
        for key in cf.services_overriding(postfix::DH1024) {
            cf.set_override(&key, postfix::DH1024, "auto")?;
        }
    }
    cf.remove_main(postfix::TLSPROXY_DH1024);
    cf.remove_overrides(postfix::TLSPROXY_DH1024)?;
    Ok(())
}

/// Postfix 3.9 deprecates `smtpd_tls_eecdh_grade` and warns about it on
/// every `postconf` call; its advice is to leave it at the default, where
/// OpenSSL picks from `tls_eecdh_auto_curves`, which is what auto mode
/// means. Removed in main.cf, master.cf overrides and tlsproxy's copy; what
/// it was is said, since `strong`/`ultra` pinned one curve.
fn drop_deprecated_grade(cf: &mut ConfigFiles, versions: &Versions) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    if versions.postfix < Version::new(3, 9, 0) {
        return Ok(notes);
    }
    for param in [postfix::EECDH_GRADE, postfix::TLSPROXY_EECDH_GRADE] {
        if let Some(p) = cf.main.get(param).cloned() {
            cf.remove_main(param);
            notes.push(format!(
                "{} line {}: removed {param} = {} (deprecated since Postfix 3.9, which warns while it is set); \
                 OpenSSL now picks the curve from tls_eecdh_auto_curves",
                cf.main_path.display(),
                p.line,
                p.value
            ));
        }
        for key in cf.remove_overrides(param)? {
            notes.push(format!(
                "{}: removed the {param} override of service {key} (deprecated since Postfix 3.9)",
                cf.master_path.display()
            ));
        }
    }
    Ok(notes)
}

/// tlsproxy(8) serves its own DH file when set apart from smtpd's.
fn tlsproxy_warning(cf: &ConfigFiles) -> Option<String> {
    let p = cf.main.get(postfix::TLSPROXY_DH1024)?;
    let follows = p.value.contains(postfix::DH1024);
    (!follows).then(|| {
        format!(
            "{} line {}: {} = {} is set apart from {}; postscreen's TLS (tlsproxy) keeps serving that file. Remove the line so it follows smtpd's",
            cf.main_path.display(),
            p.line,
            postfix::TLSPROXY_DH1024,
            p.value,
            postfix::DH1024
        )
    })
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

fn check_named(g: &GroupSpec) -> Result<()> {
    if crate::dh::named::tls_name(g.bits).is_none() {
        return Err(Failure::Config(anyhow!(
            "group {:?} is {} bits, but named mode installs RFC 7919 groups, which exist in 2048, 3072, 4096, 6144 and 8192 bits; \
             set its bits to one of them, or set mode = \"explicit\" (or [policy] prefer = \"unique\") for a fresh prime",
            g.name,
            g.bits
        ))
        .into());
    }
    Ok(())
}

/// The age of `g`'s file when it is younger than `rotate_after` and holds
/// a group of the configured size that is no catalogued prime (what a
/// rotation wrote); `None` when the group is due: missing, old, the wrong
/// size, unreadable, or a shared prime. The full proofs are `status`'s.
fn young_group(g: &GroupSpec, settings: &Settings, now: SystemTime) -> Option<std::time::Duration> {
    let modified = std::fs::metadata(&g.file).and_then(|m| m.modified()).ok()?;
    let age = now.duration_since(modified).unwrap_or_default();
    if age >= settings.schedule.rotate_after {
        return None;
    }
    let dh = fsutil::read_regular(&g.file)
        .ok()
        .and_then(|b| crate::dh::pem::parse(&b).ok())?;
    let sound = dh.prime_p().num_bits() as u32 == g.bits
        && crate::dh::Catalog::embedded()
            .lookup(dh.prime_p())
            .is_none();
    sound.then_some(age)
}

/// Whether `g`'s file holds exactly the RFC 7919 group of its size.
fn holds_named_group(g: &GroupSpec) -> bool {
    let Ok(want) = crate::dh::named::group(g.bits, &crate::dh::Catalog::embedded()) else {
        return false;
    };
    fsutil::read_regular(&g.file)
        .ok()
        .and_then(|b| crate::dh::pem::parse(&b).ok())
        .is_some_and(|dh| dh.prime_p() == want.prime_p() && dh.generator() == want.generator())
}

fn warn_duplicates(
    change: postfix::maincf::Change,
    param: &str,
    path: &Path,
    warnings: &mut Vec<String>,
) {
    if let postfix::maincf::Change::Changed {
        duplicates: duplicates @ 1..,
    } = change
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
