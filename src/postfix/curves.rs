//! Curve and FFDHE group policy: `tls_eecdh_auto_curves`,
//! `smtpd_tls_eecdh_grade` and `tls_ffdhe_auto_groups`, and the edits a
//! policy makes to main.cf and master.cf.
//!
//! Postfix hands these lists to OpenSSL and silently skips names OpenSSL
//! does not know, so every name is tried on a throwaway SSL_CTX first.

use anyhow::{Result, anyhow};
use openssl::ssl::{SslContextBuilder, SslMethod};

use super::{ConfigFiles, Version, Versions};
use crate::error::Failure;

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

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Policy::Keep => f.write_str("keep"),
            Policy::Default => f.write_str("default"),
            Policy::Modern => f.write_str("modern"),
            Policy::PqHybrid => f.write_str("pq-hybrid"),
            Policy::List(l) => f.write_str(&l.join(" ")),
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
