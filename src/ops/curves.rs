//! Curve and FFDHE group policy: `tls_eecdh_auto_curves`,
//! `smtpd_tls_eecdh_grade` and `tls_ffdhe_auto_groups`.
//!
//! Postfix hands these lists to OpenSSL and silently skips names OpenSSL
//! does not know, so every name is tried on a throwaway SSL_CTX first.

use anyhow::{Result, anyhow};
use openssl::ssl::{SslContextBuilder, SslMethod};
use serde::Serialize;

use crate::config::Settings;
use crate::error::Failure;
use crate::ops::rotate::{self, Env, Plan, Report};
use crate::postfix::{self, ConfigFiles, Postfix, Version, Versions};

/// ECDHE (and hybrid) group preference list.
pub const CURVES: &str = "tls_eecdh_auto_curves";
/// `auto` uses the list; `strong`/`ultra` pin a single curve.
pub const GRADE: &str = crate::postfix::EECDH_GRADE;
/// TLS 1.3 FFDHE groups, Postfix >= 3.8.
pub const FFDHE: &str = "tls_ffdhe_auto_groups";
/// The three parameters, in display order.
pub const PARAMS: [&str; 3] = [CURVES, GRADE, FFDHE];

/// The hybrid post-quantum group the `pq-hybrid` profile puts first.
pub const PQ_GROUP: &str = "X25519MLKEM768";
const MODERN: &str = "X25519 X448 prime256v1 secp384r1";

/// Whether this process's OpenSSL accepts `name` as a TLS group.
pub fn openssl_knows(name: &str) -> bool {
    SslContextBuilder::new(SslMethod::tls_server())
        .and_then(|mut b| b.set_groups_list(name))
        .is_ok()
}

/// The names in a Postfix list value (whitespace or comma separated).
pub fn names(value: &str) -> Vec<&str> {
    value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .collect()
}

/// One group named in a list, in OpenSSL 3.5's syntax as Postfix 3.11's
/// defaults use it: `?name` (skip if unknown), `*name` (send a key share),
/// `-name` (drop from DEFAULT), tuples split by `/`, OpenSSL's own `:`.
#[derive(Debug, PartialEq, Eq)]
pub struct Named<'a> {
    /// The bare group name (or the keyword DEFAULT).
    pub name: &'a str,
    /// Marked `?`: where OpenSSL lacks it, it is skipped by design.
    pub optional: bool,
}

/// Every group a Postfix list value names, prefixes stripped.
pub fn groups(value: &str) -> Vec<Named<'_>> {
    names(value)
        .into_iter()
        .flat_map(|token| token.split(['/', ':']))
        .filter_map(|piece| {
            let optional = piece.contains('?');
            let name = piece.trim_start_matches(['?', '*', '-']);
            (!name.is_empty()).then_some(Named { name, optional })
        })
        .collect()
}

/// The names in `value` that OpenSSL does not know and would skip
/// silently; a `?`-marked name is meant to be skipped where unknown, so
/// it is not reported.
pub fn unknown_names(value: &str) -> Vec<String> {
    groups(value)
        .into_iter()
        .filter(|g| !g.optional && !openssl_knows(g.name))
        .map(|g| g.name.to_owned())
        .collect()
}

/// What `--set` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// Leave everything as it is.
    Keep,
    /// Remove the settings: Postfix's defaults.
    Default,
    /// X25519, X448, P-256, P-384.
    Modern,
    /// X25519MLKEM768 first, then `Modern`; refused where OpenSSL lacks it.
    PqHybrid,
    /// An explicit list of group names.
    List(Vec<String>),
}

impl Policy {
    /// Parses a profile name or a list of group names.
    pub fn parse(s: &str) -> Policy {
        match s.trim() {
            "keep" => Policy::Keep,
            "default" => Policy::Default,
            "modern" => Policy::Modern,
            "pq-hybrid" => Policy::PqHybrid,
            other => Policy::List(names(other).into_iter().map(str::to_owned).collect()),
        }
    }
}

/// The values the policy wants: (ECDHE list, FFDHE list), `None` = remove.
fn wanted(policy: &Policy, v: &Versions) -> Result<Option<(Option<String>, Option<String>)>> {
    let config_error = |e: anyhow::Error| -> anyhow::Error { Failure::Config(e).into() };
    Ok(match policy {
        Policy::Keep => None,
        Policy::Default => Some((None, None)),
        Policy::Modern => Some((Some(MODERN.into()), None)),
        Policy::PqHybrid => {
            if !openssl_knows(PQ_GROUP) {
                return Err(config_error(anyhow!(
                    "the pq-hybrid profile needs {PQ_GROUP}, which this OpenSSL ({}) does not know (OpenSSL >= 3.5 has it); use \"modern\"",
                    openssl::version::version()
                )));
            }
            Some((Some(format!("{PQ_GROUP} {MODERN}")), None))
        }
        Policy::List(list) => {
            if list.is_empty() {
                return Err(config_error(anyhow!("the group list is empty")));
            }
            let unknown: Vec<&String> = list.iter().filter(|n| !openssl_knows(n)).collect();
            if !unknown.is_empty() {
                return Err(config_error(anyhow!(
                    "{} does not know {}; Postfix would silently skip {}. Nothing was changed",
                    openssl::version::version(),
                    unknown
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    if unknown.len() == 1 { "it" } else { "them" }
                )));
            }
            let (ffdhe, ecdhe): (Vec<&String>, Vec<&String>) = list
                .iter()
                .partition(|n| n.to_ascii_lowercase().starts_with("ffdhe"));
            if !ffdhe.is_empty() && v.postfix < Version::new(3, 8, 0) {
                return Err(config_error(anyhow!(
                    "Postfix {} has no {FFDHE} (3.8 and later); leave out {}",
                    v.postfix,
                    ffdhe
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            let join = |l: Vec<&String>| {
                (!l.is_empty()).then(|| l.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "))
            };
            Some((join(ecdhe), join(ffdhe)))
        }
    })
}

/// Edits `cf` to the policy. A list only takes effect with the grade
/// `auto`, so a `strong`/`ultra` grade is removed too (the default is
/// `auto` since Postfix 3.2); per-service overrides of the three
/// parameters are removed so the policy holds everywhere.
pub fn apply_policy(cf: &mut ConfigFiles, policy: &Policy, v: &Versions) -> Result<Vec<String>> {
    let Some((ecdhe, ffdhe)) = wanted(policy, v)? else {
        return Ok(Vec::new());
    };
    let mut notes = Vec::new();
    match &ecdhe {
        Some(list) => {
            cf.set_main(CURVES, list);
        }
        None => {
            cf.remove_main(CURVES);
        }
    }
    if v.postfix >= Version::new(3, 8, 0) {
        match &ffdhe {
            Some(list) => {
                cf.set_main(FFDHE, list);
            }
            None if *policy == Policy::Default => {
                cf.remove_main(FFDHE);
            }
            None => {}
        }
    }
    if let Some(grade) = cf.main.get(GRADE).map(|p| p.value.clone())
        && (grade != "auto" || *policy == Policy::Default)
    {
        cf.remove_main(GRADE);
        notes.push(format!(
            "removed {GRADE} = {grade} so that the group list is used"
        ));
    }
    for param in PARAMS {
        for key in cf.remove_overrides(param)? {
            notes.push(format!(
                "removed the {param} override of master.cf service {key}"
            ));
        }
    }
    Ok(notes)
}

/// One parameter as Postfix sees it.
#[derive(Debug, Serialize)]
pub struct ParamView {
    /// Parameter name.
    pub name: String,
    /// Effective value (`postconf -h`), `None` when this Postfix lacks it.
    pub value: Option<String>,
    /// Whether main.cf sets it (else it is Postfix's default).
    pub set_in_main_cf: bool,
    /// Names OpenSSL does not know (Postfix skips them silently).
    pub unknown: Vec<String>,
    /// master.cf overrides: (service/type, value).
    pub overrides: Vec<(String, String)>,
}

/// `curves --json` output.
#[derive(Debug, Serialize)]
pub struct CurvesView {
    /// OpenSSL the names were checked against (dhrotate's own).
    pub checked_with: String,
    /// OpenSSL Postfix runs with, when known.
    pub postfix_openssl: Option<Version>,
    /// The three parameters.
    pub params: Vec<ParamView>,
    /// Plain-words advice.
    pub advice: Vec<String>,
}

/// Gathers the current policy without changing anything.
pub fn view(pf: &dyn Postfix) -> Result<CurvesView> {
    let versions = postfix::version::detect(pf)?;
    let cf = ConfigFiles::load(pf.config_dir())?;
    let mut params = Vec::new();
    let mut advice = Vec::new();
    for name in PARAMS {
        let supported = name != FFDHE || versions.postfix >= Version::new(3, 8, 0);
        let value = if supported {
            Some(pf.postconf(&["-h", name])?.trim().to_owned())
        } else {
            None
        };
        let is_list = name != GRADE;
        let unknown = match (&value, is_list) {
            (Some(v), true) => unknown_names(v),
            _ => Vec::new(),
        };
        if !unknown.is_empty() {
            advice.push(format!(
                "{name} names {} that OpenSSL does not know; Postfix skips {} silently",
                unknown.join(", "),
                if unknown.len() == 1 { "it" } else { "them" }
            ));
        }
        if name == GRADE
            && let Some(v) = value.as_deref().filter(|v| *v != "auto")
        {
            advice.push(format!(
                    "{name} = {v} pins one curve and ignores {}; `dhrotate curves --set modern` restores \"auto\"",
                    CURVES
                ));
        }
        let overrides: Vec<(String, String)> = cf
            .master
            .services()
            .iter()
            .filter_map(|s| s.get(name).map(|o| (s.key(), o.value.clone())))
            .collect();
        for (svc, v) in &overrides {
            for u in unknown_names(v).into_iter().filter(|_| is_list) {
                advice.push(format!(
                    "master.cf {svc} overrides {name} with {u}, which OpenSSL does not know"
                ));
            }
        }
        params.push(ParamView {
            name: name.to_owned(),
            value,
            set_in_main_cf: cf.main.get(name).is_some(),
            unknown,
            overrides,
        });
    }
    let ours = Version::find_in(openssl::version::version());
    if let (Some(theirs), Some(ours)) = (versions.openssl, ours)
        && (theirs.major, theirs.minor) != (ours.major, ours.minor)
    {
        advice.push(format!(
                "names were checked with OpenSSL {ours}, but Postfix runs with {theirs}: results may differ"
            ));
    }
    if openssl_knows(PQ_GROUP) {
        let has_pq = params.iter().any(|p| {
            p.value
                .as_deref()
                .is_some_and(|v| groups(v).iter().any(|g| g.name == PQ_GROUP))
        });
        if !has_pq {
            advice.push(format!(
                "this OpenSSL supports the post-quantum hybrid {}; `dhrotate curves --set pq-hybrid` offers it first",
                PQ_GROUP
            ));
        }
    }
    Ok(CurvesView {
        checked_with: openssl::version::version().to_owned(),
        postfix_openssl: versions.openssl,
        params,
        advice,
    })
}

/// `curves --set`: plans the policy's edit and applies it with the same
/// lock, staged confirmation, `postfix check`, reload and rollback as a
/// rotation; nothing is recorded in the state file.
pub fn set(settings: &Settings, pf: &dyn Postfix, policy: Policy, dry_run: bool) -> Result<Report> {
    let planner = move |s: &Settings, pf: &dyn Postfix| -> Result<Plan> {
        let versions = postfix::version::detect(pf)?;
        let mut cf = ConfigFiles::load(&s.postfix_config_dir)?;
        let warnings = apply_policy(&mut cf, &policy, &versions)?;
        Ok(Plan {
            intents: cf.intents(),
            edits: cf.edits(),
            versions,
            decision: None,
            groups: Vec::new(),
            old_files: Vec::new(),
            warnings,
        })
    };
    let catalog = crate::dh::Catalog::embedded();
    let env = Env {
        postfix: pf,
        source: &crate::dh::OpenSslSource,
        catalog: &catalog,
        now: std::time::SystemTime::now(),
    };
    rotate::execute(settings, &env, dry_run, &planner, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_knows_standard_groups_and_not_made_up_ones() {
        for n in ["X25519", "prime256v1", "P-256", "secp384r1", "ffdhe2048"] {
            assert!(openssl_knows(n), "{n}");
        }
        assert!(!openssl_knows("X99999"));
        assert_eq!(unknown_names("X25519, bogus  secp384r1"), vec!["bogus"]);
    }

    #[test]
    fn openssl_35_list_syntax_is_read_name_by_name() {
        let g = groups("*X25519 / ?X25519MLKEM768, secp256r1:-ffdhe2048 DEFAULT");
        let bare: Vec<(&str, bool)> = g.iter().map(|n| (n.name, n.optional)).collect();
        assert_eq!(
            bare,
            vec![
                ("X25519", false),
                ("X25519MLKEM768", true),
                ("secp256r1", false),
                ("ffdhe2048", false),
                ("DEFAULT", false),
            ]
        );
        // Optional names are skipped by design where OpenSSL lacks them.
        assert_eq!(unknown_names("?X99999 X25519"), Vec::<String>::new());
        assert_eq!(unknown_names("*X99999 / X25519"), vec!["X99999"]);
    }

    #[test]
    fn profiles_parse() {
        assert_eq!(Policy::parse("modern"), Policy::Modern);
        assert_eq!(
            Policy::parse("X25519,secp384r1"),
            Policy::List(vec!["X25519".into(), "secp384r1".into()])
        );
    }
}
