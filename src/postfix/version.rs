//! Postfix and OpenSSL versions, and the facts that depend on them.

use std::fmt;

use anyhow::{Context, Result};

use super::ctl::Postfix;

/// A `major.minor.patch` version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Version {
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// Patch number (0 for snapshots like `3.10-20250101`).
    pub patch: u32,
}

impl Version {
    /// Builds a version.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Version {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// Parses the first `N.N[.N]` in `s` ("3.7.11", "3.10-20250101",
    /// "OpenSSL 3.0.19 27 Jan 2026", "OpenSSL 1.1.1w  11 Sep 2023").
    pub fn find_in(s: &str) -> Option<Version> {
        s.split(|c: char| c.is_whitespace() || c == '-')
            .find_map(|word| {
                let mut parts = word.split('.');
                let major = parts.next()?.parse().ok()?;
                let minor = parts.next()?.parse().ok()?;
                let patch = parts
                    .next()
                    .map(|p| {
                        let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
                        digits.parse().unwrap_or(0)
                    })
                    .unwrap_or(0);
                Some(Version::new(major, minor, patch))
            })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What dhrotate knows about the Postfix it manages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Versions {
    /// `postconf -h mail_version`.
    pub postfix: Version,
    /// OpenSSL Postfix runs with, when it could be found out.
    pub openssl: Option<Version>,
    /// Where the OpenSSL version came from.
    pub openssl_source: &'static str,
}

impl Versions {
    /// Postfix 3.6 removed export ciphers and ignores `smtpd_tls_dh512_param_file`.
    pub fn reads_dh512(&self) -> bool {
        self.postfix < Version::new(3, 6, 0)
    }
}

/// Asks Postfix for its version and the OpenSSL it runs with.
///
/// `postconf -T run-version` exists from Postfix 3.1; before that, or when
/// Postfix was built without TLS (no output), the compile-time version is
/// tried, and otherwise the OpenSSL version is unknown.
pub fn detect(pf: &dyn Postfix) -> Result<Versions> {
    let raw = pf
        .postconf(&["-h", "mail_version"])
        .context("asking Postfix for its version")?;
    let postfix = Version::find_in(raw.trim())
        .with_context(|| format!("cannot read a version from mail_version = {:?}", raw.trim()))?;
    let mut openssl = None;
    let mut openssl_source = "unknown";
    if postfix >= Version::new(3, 1, 0) {
        for (mode, source) in [
            ("run-version", "postconf -T run-version"),
            ("compile-version", "postconf -T compile-version"),
        ] {
            if let Some(v) = pf
                .postconf(&["-T", mode])
                .ok()
                .and_then(|out| Version::find_in(&out))
            {
                openssl = Some(v);
                openssl_source = source;
                break;
            }
        }
    }
    Ok(Versions {
        postfix,
        openssl,
        openssl_source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_from_what_postfix_and_openssl_print() {
        assert_eq!(Version::find_in("3.7.11"), Some(Version::new(3, 7, 11)));
        assert_eq!(
            Version::find_in("3.10-20250101"),
            Some(Version::new(3, 10, 0))
        );
        assert_eq!(
            Version::find_in("OpenSSL 3.0.19 27 Jan 2026"),
            Some(Version::new(3, 0, 19))
        );
        assert_eq!(
            Version::find_in("OpenSSL 1.1.1w  11 Sep 2023"),
            Some(Version::new(1, 1, 1))
        );
        assert_eq!(Version::find_in("garbage"), None);
        assert!(Version::new(3, 10, 0) > Version::new(3, 9, 4));
    }
}
