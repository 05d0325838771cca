//! TLS 1.2 DHE cipher suites on or off (`[policy] dhe`): OpenSSL's `kDHE`
//! in `smtpd_tls_exclude_ciphers`, in main.cf and in every master.cf
//! override of it, the administrator's other exclusions left as they are.

use anyhow::Result;
use serde::Serialize;

use crate::postfix::ConfigFiles;
use crate::postfix::oracle::Scope;

/// The Postfix parameter.
pub const EXCLUDE: &str = "smtpd_tls_exclude_ciphers";

/// What dhrotate adds to turn DHE off.
const KDHE: &str = "kDHE";

/// OpenSSL's names for finite-field DHE key exchange (ECDHE is not among
/// them); any of them in the list turns DHE off.
const DHE_NAMES: [&str; 4] = ["kDHE", "kEDH", "DHE", "EDH"];

/// `[policy] dhe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DhePolicy {
    /// Leave `smtpd_tls_exclude_ciphers` alone (the default).
    Keep,
    /// Offer DHE: take dhrotate's and any other DHE exclusion out.
    On,
    /// Stop offering DHE for TLS 1.2: add `kDHE`.
    Off,
}

impl DhePolicy {
    /// Parses the configuration value.
    pub fn parse(s: &str) -> Option<DhePolicy> {
        Some(match s {
            "keep" => DhePolicy::Keep,
            "on" => DhePolicy::On,
            "off" => DhePolicy::Off,
            _ => return None,
        })
    }
}

impl std::fmt::Display for DhePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DhePolicy::Keep => "keep",
            DhePolicy::On => "on",
            DhePolicy::Off => "off",
        })
    }
}

/// Whether an exclusion list leaves DHE key exchange out.
pub fn excludes_dhe(value: &str) -> bool {
    crate::postfix::curves::names(value)
        .iter()
        .any(|n| DHE_NAMES.contains(n))
}

/// main.cf's `smtpd_tls_exclude_ciphers` leaves DHE out.
pub fn main_excludes_dhe(cf: &ConfigFiles) -> bool {
    cf.value(&Scope::Main, EXCLUDE).is_some_and(excludes_dhe)
}

/// The list with DHE excluded (`off`) or not (`on`); `None` when it already
/// is. Other names keep their order; the separator is `, ` when adding.
fn wanted(value: &str, policy: DhePolicy) -> Option<String> {
    match policy {
        DhePolicy::Keep => None,
        DhePolicy::Off if excludes_dhe(value) => None,
        DhePolicy::Off if value.trim().is_empty() => Some(KDHE.into()),
        DhePolicy::Off => Some(format!("{}, {KDHE}", value.trim())),
        DhePolicy::On if !excludes_dhe(value) => None,
        DhePolicy::On => Some(
            crate::postfix::curves::names(value)
                .into_iter()
                .filter(|n| !DHE_NAMES.contains(n))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

/// Edits `cf` to the policy; returns what it changed, in words. An emptied
/// list is removed (Postfix's default is empty).
pub fn apply_dhe_policy(cf: &mut ConfigFiles, policy: DhePolicy) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    let mut scopes = vec![Scope::Main];
    scopes.extend(
        cf.services_overriding(EXCLUDE)
            .into_iter()
            .map(Scope::Service),
    );
    for scope in scopes {
        let now = cf.value(&scope, EXCLUDE).unwrap_or("").to_owned();
        let Some(value) = wanted(&now, policy) else {
            continue;
        };
        match (&scope, value.is_empty()) {
            (Scope::Main, true) => {
                cf.remove_main(EXCLUDE);
            }
            (Scope::Main, false) => {
                cf.set_main(EXCLUDE, &value);
            }
            (Scope::Service(key), true) => {
                cf.remove_override(key, EXCLUDE)?;
            }
            (Scope::Service(key), false) => {
                cf.set_override(key, EXCLUDE, &value)?;
            }
        }
        notes.push(format!(
            "[policy] dhe = \"{policy}\": {scope} {EXCLUDE} = {} (was {})",
            if value.is_empty() {
                "(not set)"
            } else {
                &value
            },
            if now.is_empty() { "not set" } else { &now }
        ));
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kdhe_is_added_and_taken_out_leaving_the_rest() {
        assert_eq!(wanted("", DhePolicy::Off).as_deref(), Some("kDHE"));
        assert_eq!(
            wanted("aNULL, RC4", DhePolicy::Off).as_deref(),
            Some("aNULL, RC4, kDHE")
        );
        assert_eq!(wanted("aNULL kEDH", DhePolicy::Off), None);
        assert_eq!(
            wanted("aNULL, kDHE, RC4", DhePolicy::On).as_deref(),
            Some("aNULL, RC4")
        );
        assert_eq!(wanted("kDHE", DhePolicy::On).as_deref(), Some(""));
        assert_eq!(wanted("aNULL", DhePolicy::On), None);
        assert_eq!(wanted("kDHE", DhePolicy::Keep), None);
        // ECDHE is not DHE.
        assert!(!excludes_dhe("ECDHE, kECDHE"));
        assert!(excludes_dhe("aNULL,EDH"));
    }

    #[test]
    fn the_policy_is_parsed_and_printed() {
        for p in [DhePolicy::Keep, DhePolicy::On, DhePolicy::Off] {
            assert_eq!(DhePolicy::parse(&p.to_string()), Some(p));
        }
        assert_eq!(DhePolicy::parse("no"), None);
    }
}
