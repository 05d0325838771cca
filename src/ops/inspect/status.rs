//! The health model behind `status`: what is configured, what Postfix
//! reads, what the listeners serve, and whether the files are fresh and
//! sound. Reads only; every problem is a sentence with its fix.

use std::path::PathBuf;
use std::time::SystemTime;

use serde::Serialize;

use crate::config::{GroupSpec, Settings};
use crate::dh::{Catalog, Proofs, validate};
use crate::ops::inspect::verify::{self, ListenerCheck};
use crate::ops::mode::{self, group_policy};
use crate::postfix::curves::{CurvePolicy, apply_policy};
use crate::postfix::{self, ConfigFiles, MainCf, MasterCf, Postfix};
use crate::sys::{fsutil, state};

/// `status --json` output, version 1.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    /// Schema version of this document.
    pub schema: u32,
    /// Postfix and OpenSSL versions, when Postfix answered.
    pub versions: Option<postfix::Versions>,
    /// Mode in effect and why; `null` when it cannot be decided.
    pub mode: Option<mode::Decision>,
    /// Why the mode cannot be decided, when it cannot.
    pub mode_error: Option<String>,
    /// One entry per configured group.
    pub groups: Vec<GroupStatus>,
    /// Every DH parameter setting Postfix reads, and where it comes from.
    pub dh_settings: Vec<DhSetting>,
    /// Curve / FFDHE group policy, names checked against OpenSSL.
    pub curves: Option<crate::ops::inspect::curves::CurvesView>,
    /// What each local TLS listener serves (explicit and named modes,
    /// Postfix running).
    pub listeners: Vec<crate::ops::inspect::verify::ListenerCheck>,
    /// The key exchange judged against `[policy] guideline` (`null` when
    /// the guideline is "none").
    pub posture: Option<crate::ops::inspect::posture::Posture>,
    /// The last run recorded in the state file.
    pub last_run: Option<state::State>,
    /// What to do, in plain words.
    pub advice: Vec<String>,
    /// Everything wrong, in words; empty when healthy.
    pub problems: Vec<String>,
    /// `problems` is empty.
    pub healthy: bool,
    /// The secondary Postfix instances (`instances`), each with its own
    /// status; empty with one instance.
    pub instances: Vec<InstanceStatus>,
}

/// One DH parameter as set in main.cf or a master.cf override.
#[derive(Debug, Serialize)]
pub struct DhSetting {
    /// `main.cf` or `master.cf SERVICE/TYPE`.
    pub place: String,
    /// Parameter name.
    pub parameter: String,
    /// Value as written.
    pub value: String,
    /// For a file: what validation says (`ok`, or the problem).
    pub file_check: Option<String>,
}

/// One group's file and where Postfix is pointed at it.
#[derive(Debug, Serialize)]
pub struct GroupStatus {
    /// Config name.
    pub name: String,
    /// The file.
    pub file: PathBuf,
    /// Configured size.
    pub bits: u32,
    /// File age in seconds, when it exists.
    pub age_seconds: Option<u64>,
    /// Older than max_age.
    pub stale: bool,
    /// SHA-256 of p, when the file parses.
    pub fingerprint: Option<String>,
    /// Validation passed.
    pub valid: bool,
    /// The costly tests' results came from the verdict cache (these exact
    /// bytes were proved before) rather than run now.
    pub proof_cached: bool,
    /// What each configured place sets the parameter to now.
    pub places: Vec<Place>,
}

/// What one place (main.cf or a service) says.
#[derive(Debug, Serialize)]
pub struct Place {
    /// `main.cf` or `master.cf SERVICE/TYPE`.
    pub place: String,
    /// The parameter's value there (`None`: not set).
    pub value: Option<String>,
    /// Whether it points at this group's file.
    pub points_here: bool,
}

/// Gathers the status without changing anything: the primary instance's,
/// and with `instances` each secondary's under `instances` (their
/// problems also in the primary's list, prefixed with the instance).
pub fn build(settings: &Settings, now: SystemTime) -> StatusReport {
    let mut report = build_one(settings, now);
    if settings.instances == crate::config::Instances::Primary {
        return report;
    }
    let pf = crate::ops::system_postfix(settings);
    match crate::ops::instances::select(settings, &pf) {
        Err(e) => report.problems.push(format!("{e:#}")),
        Ok(managed) => {
            for m in managed.into_iter().skip(1) {
                let sub = build_one(&m.settings, now);
                for p in &sub.problems {
                    report
                        .problems
                        .push(format!("instance {}: {p}", m.instance.name));
                }
                report.instances.push(InstanceStatus {
                    instance: m.instance,
                    status: sub,
                });
            }
        }
    }
    report.healthy = report.problems.is_empty();
    report
}

/// One secondary instance in `status`.
#[derive(Debug, Serialize)]
pub struct InstanceStatus {
    /// The instance (name, group, enabled, config_dir).
    pub instance: crate::postfix::multi::ListedInstance,
    /// Its status, built as the primary's is; `last_run` is null here (one
    /// run covers every instance and is recorded in the primary's).
    pub status: StatusReport,
}

/// One instance's status: the versions and the mode, each group's file
/// and where it is used, every DH setting, the curve and DHE policies, what
/// the listeners serve, the posture, and a reload still owed. Every
/// finding that makes `status` exit 6 goes to `problems`, in that order.
fn build_one(settings: &Settings, now: SystemTime) -> StatusReport {
    let pf = crate::ops::system_postfix(settings);
    let mut problems = Vec::new();
    let versions = postfix::version::detect(&pf)
        .map_err(|e| problems.push(format!("cannot ask Postfix: {e:#}")))
        .ok();
    let decision = match &versions {
        Some(v) => {
            mode::decide(settings.mode, settings.policy.prefer, v).map_err(|e| format!("{e:#}"))
        }
        None => Err("unknown: Postfix did not answer".into()),
    };
    let cf = ConfigFiles::load(&settings.postfix_config_dir)
        .map_err(|e| problems.push(format!("{e:#}")))
        .ok();
    let catalog = Catalog::embedded();
    let proofs = Proofs::open(&settings.state_dir);
    let look = Look {
        settings,
        now,
        catalog: &catalog,
        proofs: &proofs,
        // Named mode points Postfix at files too; "explicit" here means files.
        explicit: matches!(&decision, Ok(d) if d.mode.uses_files()),
        named: matches!(&decision, Ok(d) if d.mode == mode::Effective::Named),
    };
    // Each group file's verdict, so that dh_settings does not run the
    // costly primality proofs on the same file a second time.
    let mut checked: Vec<(PathBuf, String)> = Vec::new();
    let groups: Vec<GroupStatus> = settings
        .groups
        .iter()
        .map(|g| look.group(g, cf.as_ref(), &mut checked, &mut problems))
        .collect();
    if let Err(e) = &decision {
        problems.push(e.clone());
    }
    let dh_settings = cf.as_ref().map_or_else(Vec::new, |c| {
        let known = Known {
            proofs: &proofs,
            named: look.named,
            catalog: &catalog,
            checked: &checked,
        };
        dh_settings(&c.main, &c.master, settings, &known, &mut problems)
    });
    let mut advice = versions
        .as_ref()
        .map(|v| advice(v, settings, &dh_settings))
        .unwrap_or_default();
    let curves = versions
        .as_ref()
        .and_then(|_| crate::ops::inspect::curves::view(&pf).ok());
    if let Some(c) = &cf {
        if let Some(v) = &versions {
            problems.extend(curve_drift(settings, c, v));
        }
        problems.extend(dhe_drift(settings, c));
    }
    let (listeners, posture) =
        look.served(&pf, versions.as_ref(), cf.as_ref(), &groups, &mut problems);
    if let Some(p) = &posture {
        advice.extend(p.ending(chrono::Datelike::year(&chrono::Local::now())));
    }
    proofs.save_or_warn();
    problems.extend(reload_owed(settings));
    StatusReport {
        posture,
        listeners,
        dh_settings,
        curves,
        advice,
        schema: 1,
        versions,
        mode_error: decision.as_ref().err().cloned(),
        mode: decision.ok(),
        groups,
        last_run: state::read(&settings.state_dir).ok().flatten(),
        healthy: problems.is_empty(),
        problems,
        instances: Vec::new(),
    }
}

/// What one `status` looks with: the settings, the clock, the catalog and
/// verdict cache, and what the mode means for the group files.
struct Look<'a> {
    settings: &'a Settings,
    now: SystemTime,
    catalog: &'a Catalog,
    proofs: &'a Proofs,
    /// Postfix is to be pointed at the group files (explicit or named).
    explicit: bool,
    /// Each group must be RFC 7919's.
    named: bool,
}

impl Look<'_> {
    /// What Postfix serves: each listener checked against its group's file
    /// (when Postfix reads files), and the posture under the guideline.
    fn served(
        &self,
        pf: &dyn Postfix,
        versions: Option<&postfix::Versions>,
        cf: Option<&ConfigFiles>,
        groups: &[GroupStatus],
        problems: &mut Vec<String>,
    ) -> (
        Vec<ListenerCheck>,
        Option<crate::ops::inspect::posture::Posture>,
    ) {
        let settings = self.settings;
        let guideline = settings.policy.guideline != crate::guidelines::Guideline::None;
        // `postfix status` costs a fifth of a second: asked once, when a
        // listener is to be probed.
        let running =
            (self.explicit || guideline) && cf.is_some() && pf.is_running().unwrap_or(false);
        let listeners = match cf {
            Some(c) if self.explicit && running => self.listeners(c, groups),
            _ => Vec::new(),
        };
        for f in listeners.iter().filter(|f| !f.ok()) {
            problems.push(f.describe());
        }
        let posture = match (versions, cf) {
            (Some(v), Some(c)) if guideline => {
                let served = if running {
                    crate::ops::inspect::posture::probe_all(
                        settings,
                        c,
                        &listeners,
                        Some(self.proofs),
                    )
                } else {
                    Vec::new()
                };
                posture(settings, c, v, pf, served, problems)
            }
            _ => None,
        };
        (listeners, posture)
    }

    /// One configured group: where it is used and, when Postfix is to read
    /// it, its file's age and verdict (recorded in `checked`).
    fn group(
        &self,
        g: &GroupSpec,
        cf: Option<&ConfigFiles>,
        checked: &mut Vec<(PathBuf, String)>,
        problems: &mut Vec<String>,
    ) -> GroupStatus {
        let mut st = GroupStatus {
            name: g.name.clone(),
            file: g.file.clone(),
            bits: g.bits,
            age_seconds: None,
            stale: false,
            fingerprint: None,
            valid: false,
            proof_cached: false,
            places: self.places(g, cf, problems),
        };
        if self.explicit {
            self.file(g, &mut st, checked, problems);
        }
        st
    }

    /// Each place the group is used, and whether it points at the file.
    fn places(
        &self,
        g: &GroupSpec,
        cf: Option<&ConfigFiles>,
        problems: &mut Vec<String>,
    ) -> Vec<Place> {
        g.uses
            .iter()
            .map(|u| {
                let scope = u.scope();
                let value = cf
                    .and_then(|c| c.value(&scope, g.parameter()))
                    .map(str::to_owned);
                let points_here = cf.is_some_and(|c| c.points_at(&scope, g.parameter(), &g.file));
                if self.explicit && !points_here {
                    problems.push(format!(
                        "{u} does not point {} at {}",
                        g.parameter(),
                        g.file.display()
                    ));
                }
                Place {
                    place: u.to_string(),
                    value,
                    points_here,
                }
            })
            .collect()
    }

    /// The group's file: read, its age against `max_age`, its verdict.
    fn file(
        &self,
        g: &GroupSpec,
        st: &mut GroupStatus,
        checked: &mut Vec<(PathBuf, String)>,
        problems: &mut Vec<String>,
    ) {
        let bytes = match fsutil::read_regular(&g.file) {
            Ok(bytes) => bytes,
            Err(e) => return problems.push(format!("group {:?}: {e:#}", g.name)),
        };
        let age = std::fs::metadata(&g.file)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| self.now.duration_since(m).ok());
        st.age_seconds = age.map(|a| a.as_secs());
        st.stale = age.is_some_and(|a| a > self.settings.max_age);
        if st.stale {
            problems.push(format!(
                "{} is {} old, older than max_age {}; run `dhrotate now`",
                g.file.display(),
                humantime::format_duration(std::time::Duration::from_secs(
                    st.age_seconds.unwrap_or(0)
                )),
                humantime::format_duration(self.settings.max_age)
            ));
        }
        let policy = group_policy(g, self.settings, self.named);
        match validate::validate_pem(&bytes, &policy, self.catalog, self.proofs) {
            Ok((_, v)) => {
                let verdict = if v.accepted() {
                    "ok".to_owned()
                } else {
                    v.problems.join("; ")
                };
                checked.push((g.file.clone(), verdict));
                st.valid = v.accepted();
                st.proof_cached = v.cached;
                st.fingerprint = Some(v.proof.fingerprint.clone());
                for p in v.problems {
                    problems.push(format!("{}: {p}", g.file.display()));
                }
            }
            Err(e) => problems.push(format!(
                "{}: {e}; Postfix falls back to a built-in group with this file",
                g.file.display()
            )),
        }
    }

    /// What each local TLS listener serves, held against its group's file.
    /// A group whose file is unusable still gets probed: what Postfix
    /// serves instead is the useful part.
    fn listeners(&self, c: &ConfigFiles, groups: &[GroupStatus]) -> Vec<ListenerCheck> {
        let endpoints = verify::endpoints(self.settings, &c.main, &c.master);
        let now = std::time::Duration::ZERO;
        if crate::postfix::ciphers::main_excludes_dhe(c) {
            return verify::check_dhe_off(endpoints, now, Some(self.proofs));
        }
        let expected = |group: &str| {
            let g = groups.iter().find(|g| g.name == group)?;
            Some(
                g.fingerprint
                    .clone()
                    .unwrap_or_else(|| "none, the file is unusable".into()),
            )
        };
        verify::check(endpoints, expected, now, Some(self.proofs))
    }
}

/// A reload still owed by an interrupted run (or one with reload off).
fn reload_owed(settings: &Settings) -> Option<String> {
    let owed = state::reload_owed_path(&settings.state_dir);
    owed.exists().then(|| {
        format!(
            "the files on disk may be newer than what Postfix has loaded (a run was interrupted \
             before its reload, or ran with reload disabled; {}): the next `dhrotate now` reloads",
            owed.display()
        )
    })
}

/// What is served (Postfix running) and configured, judged against the
/// guideline. Not a problem by itself: the rating is reported, the
/// administrator decides (`now` warns or, with `enforce`, refuses a
/// change for the worse).
fn posture(
    settings: &Settings,
    cf: &ConfigFiles,
    v: &postfix::Versions,
    pf: &dyn Postfix,
    served: Vec<crate::ops::inspect::posture::Served>,
    problems: &mut Vec<String>,
) -> Option<crate::ops::inspect::posture::Posture> {
    use crate::ops::inspect::posture;
    match posture::configured(cf, v, pf) {
        Ok(configured) => Some(posture::judge(
            &crate::guidelines::Table::embedded(),
            settings.policy.guideline,
            &served,
            &configured,
        )),
        Err(e) => {
            problems.push(format!("cannot judge the posture: {e:#}"));
            None
        }
    }
}

/// Where Postfix's configuration is not what `[curves] policy` says: the
/// settings the next rotation would change, each with its value now.
fn curve_drift(settings: &Settings, cf: &ConfigFiles, v: &postfix::Versions) -> Vec<String> {
    let policy = &settings.curves_policy;
    if *policy == CurvePolicy::Keep {
        return Vec::new();
    }
    let mut wanted = cf.clone();
    if let Err(e) = apply_policy(&mut wanted, policy, v) {
        return vec![format!(
            "[curves] policy = \"{policy}\" cannot be applied: {e:#}"
        )];
    }
    drift(&format!("[curves] policy = \"{policy}\""), cf, &wanted)
}

/// Where `smtpd_tls_exclude_ciphers` is not what `[policy] dhe` says.
fn dhe_drift(settings: &Settings, cf: &ConfigFiles) -> Vec<String> {
    let policy = settings.policy.dhe;
    let mut wanted = cf.clone();
    if let Err(e) = crate::postfix::ciphers::apply_dhe_policy(&mut wanted, policy) {
        return vec![format!(
            "[policy] dhe = \"{policy}\" cannot be applied: {e:#}"
        )];
    }
    drift(&format!("[policy] dhe = \"{policy}\""), cf, &wanted)
}

/// The settings a policy (`what`) changes in `wanted`, a copy of `cf` it
/// was applied to, each with its value now; nothing when it changes none.
fn drift(what: &str, cf: &ConfigFiles, wanted: &ConfigFiles) -> Vec<String> {
    if wanted.edits().is_empty() {
        return Vec::new();
    }
    let drift: Vec<String> = wanted
        .intents()
        .iter()
        .filter(|i| cf.value(&i.scope, &i.name) != i.value.as_deref())
        .map(|i| {
            let now = cf.value(&i.scope, &i.name).unwrap_or("(not set)");
            let want = i.value.as_deref().unwrap_or("not set");
            format!("{} {} = {now} (policy: {want})", i.scope, i.name)
        })
        .collect();
    vec![format!(
        "{what} is not in effect: {}; the next `dhrotate now` restores it",
        drift.join(", ")
    )]
}

/// What status already knows when it looks at the DH settings.
struct Known<'a> {
    /// Named mode: RFC 7919 groups are what is wanted.
    named: bool,
    catalog: &'a Catalog,
    /// The verdict cache.
    proofs: &'a Proofs,
    /// Group files already validated, and their verdicts.
    checked: &'a [(PathBuf, String)],
}

/// Every DH setting in main.cf and master.cf; files they name are validated,
/// since Postfix silently falls back to another group when one is bad.
fn dh_settings(
    main: &MainCf,
    master: &MasterCf,
    settings: &Settings,
    known: &Known<'_>,
    problems: &mut Vec<String>,
) -> Vec<DhSetting> {
    let params = [postfix::DH1024, postfix::DH512, postfix::TLSPROXY_DH1024];
    let mut places: Vec<(String, &str, String)> = Vec::new();
    for param in params {
        if let Some(p) = main.get(param) {
            places.push(("main.cf".into(), param, p.value.clone()));
        }
        for svc in master.services() {
            if let Some(o) = svc.get(param) {
                places.push((format!("master.cf {}", svc.key()), param, o.value.clone()));
            }
        }
    }
    let mut out = Vec::new();
    for (place, param, value) in places {
        let path = postfix::expand_config_directory(&value, &settings.postfix_config_dir);
        let is_file = path.starts_with('/');
        let already = known
            .checked
            .iter()
            .find(|(f, _)| f.as_os_str() == path.as_str())
            .map(|(_, c)| c.clone());
        let file_check = is_file.then(|| {
            if let Some(c) = already {
                return c;
            }
            let policy = crate::dh::Acceptance {
                expected_bits: None,
                min_bits: if param == postfix::DH512 { 512 } else { 1024 },
                named: known.named,
            };
            let verdict = fsutil::read_regular(std::path::Path::new(&path))
                .map_err(|e| format!("{e:#}"))
                .and_then(|b| {
                    validate::validate_pem(&b, &policy, known.catalog, known.proofs)
                        .map_err(|e| e.to_string())
                });
            match verdict {
                Ok((_, v)) if v.accepted() => "ok".to_owned(),
                Ok((_, v)) => v.problems.join("; "),
                Err(e) => e,
            }
        });
        if let Some(check) = file_check.as_ref().filter(|c| *c != "ok") {
            problems.push(format!(
                "{place} sets {param} = {value}: {check}; Postfix falls back to another group"
            ));
        }
        out.push(DhSetting {
            place,
            parameter: param.to_owned(),
            value,
            file_check,
        });
    }
    out
}

/// Advice in plain words from the versions and what is set.
fn advice(v: &postfix::Versions, settings: &Settings, dh: &[DhSetting]) -> Vec<String> {
    let mut a = Vec::new();
    let ossl3 = v
        .openssl
        .is_some_and(|o| o >= postfix::Version::new(3, 0, 0));
    let file_set = dh
        .iter()
        .any(|d| d.parameter == postfix::DH1024 && d.file_check.is_some());
    if ossl3
        && v.postfix >= postfix::Version::new(3, 9, 0)
        && dh.iter().any(|d| d.parameter == postfix::DH1024)
    {
        a.push(format!(
            "Postfix {} with OpenSSL 3: remove {} and let OpenSSL choose (set mode = \"detect\" and run `dhrotate now`)",
            v.postfix,
            postfix::DH1024
        ));
    } else if ossl3 && v.postfix >= postfix::Version::new(3, 7, 0) && file_set {
        a.push(format!(
            "Postfix {} with OpenSSL 3 can let OpenSSL choose the group (mode = \"detect\" or \"auto\"); explicit groups are only needed for clients that require a custom one",
            v.postfix
        ));
    } else if v.postfix < postfix::Version::new(3, 7, 0) && !file_set {
        a.push(format!(
            "Postfix {} falls back to a compiled-in group without a DH file; run `dhrotate now` to install one (named or unique: [policy] prefer)",
            v.postfix
        ));
    }
    if dh.iter().any(|d| d.parameter == postfix::DH512)
        && v.postfix >= postfix::Version::new(3, 6, 0)
    {
        a.push(format!(
            "Postfix {} ignores {}; remove it",
            v.postfix,
            postfix::DH512
        ));
    }
    if settings.mode == crate::config::Mode::Explicit && v.postfix >= postfix::Version::new(3, 9, 0)
    {
        a.push("Postfix 3.9 warns about every smtpd_tls_dh1024_param_file setting; consider mode = \"detect\"".into());
    }
    a
}
