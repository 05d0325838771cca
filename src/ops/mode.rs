//! The mode decision (docs/DESIGN.md "The mode decision"): what the
//! configured mode means for the Postfix and OpenSSL at hand. Rotation,
//! status and the posture check all ask it.

use anyhow::{Result, anyhow};

use crate::config::{GroupSpec, Mode, Prefer, Settings, Use};
use crate::dh::Acceptance;
use crate::error::Failure;
use crate::postfix::{Version, Versions};

/// The mode a run really uses, after `detect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effective {
    /// Generate groups and point Postfix at them.
    Explicit,
    /// Install RFC 7919 groups and point Postfix at them.
    Named,
    /// Let OpenSSL choose: reset the DH settings.
    Auto,
}

impl Effective {
    /// The mode's name, as the configuration spells it.
    pub fn name(self) -> &'static str {
        match self {
            Effective::Explicit => "explicit",
            Effective::Named => "named",
            Effective::Auto => "auto",
        }
    }

    /// Whether Postfix is pointed at group files (explicit or named).
    pub fn uses_files(self) -> bool {
        self != Effective::Auto
    }
}

/// The mode in effect and the reason, in words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Decision {
    /// Mode in effect.
    pub mode: Effective,
    /// Why, for logs and `status`.
    pub why: String,
}

/// Applies the version facts (docs/DESIGN.md "The mode decision") to the
/// configured mode; `prefer` picks what `detect` installs where OpenSSL
/// cannot choose.
pub fn decide(configured: Mode, prefer: Prefer, v: &Versions) -> Result<Decision> {
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
        Mode::Named => Ok(Decision {
            mode: Effective::Named,
            why: "mode = \"named\" in the configuration".into(),
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
            mode: match prefer {
                Prefer::Named => Effective::Named,
                Prefer::Unique => Effective::Explicit,
            },
            why: format!(
                "detected Postfix {} with {ossl}: a group file is needed below Postfix 3.7 / OpenSSL 3, and [policy] prefer = \"{}\" makes it {}",
                v.postfix,
                match prefer {
                    Prefer::Named => "named",
                    Prefer::Unique => "unique",
                },
                match prefer {
                    Prefer::Named => "the RFC 7919 group of the configured size",
                    Prefer::Unique => "a fresh prime each rotation",
                }
            ),
        }),
    }
}

/// The validation policy for a configured group; `named`: the group must
/// be RFC 7919's of its size.
pub fn group_policy(g: &GroupSpec, settings: &Settings, named: bool) -> Acceptance {
    let in_main = g.uses.contains(&Use::MainCf);
    Acceptance {
        named,
        expected_bits: Some(g.bits),
        min_bits: if in_main {
            settings.min_bits
        } else {
            g.bits.min(settings.min_bits)
        },
    }
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
            let got = decide(Mode::Detect, Prefer::Unique, &v(pf, ossl))
                .ok()
                .map(|d| d.mode);
            assert_eq!(got, want, "Postfix {pf:?} OpenSSL {ossl:?}");
        }
    }

    #[test]
    fn prefer_picks_named_or_unique_where_openssl_cannot_choose() {
        let old = v((3, 5), Some((1, 1)));
        let named = decide(Mode::Detect, Prefer::Named, &old).unwrap();
        assert_eq!(named.mode, Effective::Named);
        assert!(named.why.contains("prefer = \"named\""), "{}", named.why);
        assert_eq!(
            decide(Mode::Detect, Prefer::Unique, &old).unwrap().mode,
            Effective::Explicit
        );
        // Where OpenSSL can choose, detect still lets it, whatever prefer says.
        let new = v((3, 10), Some((3, 5)));
        assert_eq!(
            decide(Mode::Detect, Prefer::Named, &new).unwrap().mode,
            Effective::Auto
        );
        assert_eq!(
            decide(Mode::Named, Prefer::Unique, &new).unwrap().mode,
            Effective::Named
        );
    }

    #[test]
    fn auto_is_refused_where_openssl_cannot_choose() {
        let err = decide(Mode::Auto, Prefer::Named, &v((3, 6), Some((3, 0)))).unwrap_err();
        assert_eq!(
            err.downcast_ref::<crate::error::Failure>()
                .map_or(1, crate::error::Failure::exit_code),
            2
        );
        assert_eq!(
            decide(Mode::Explicit, Prefer::Named, &v((3, 10), Some((3, 5))))
                .unwrap()
                .mode,
            Effective::Explicit
        );
    }
}
