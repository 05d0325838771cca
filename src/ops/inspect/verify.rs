//! Post-reload verification (docs/DESIGN.md step 10): probe the local smtpd
//! listeners and compare the prime each serves with the file written for
//! it. Postfix falls back silently on a bad file; this is where it shows.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::{GroupSpec, Settings, Use};
use crate::postfix::{DH1024, MainCf, MasterCf};
use crate::probe::{self, Wrap};

/// One listener and the group it should serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// `host:port` to connect to.
    pub addr: String,
    /// STARTTLS or implicit TLS.
    pub wrap: Wrap,
    /// Config name of the group it should serve.
    pub group: String,
}

/// What one listener served.
#[derive(Debug, Clone, Serialize)]
pub struct ListenerCheck {
    /// The listener.
    pub endpoint: Endpoint,
    /// sha256(p) of the group's file.
    pub expected: String,
    /// What it served, or why it could not be seen.
    pub served: Result<probe::ServedGroup, String>,
    /// With `[policy] dhe = "off"`: no DHE is expected, and this is what a
    /// default TLS 1.3 handshake got (the listener is up and speaking TLS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dhe_off: Option<Result<String, String>>,
}

impl ListenerCheck {
    /// The listener serves exactly the expected prime; with DHE off, it
    /// refuses a DHE-only client and completes TLS 1.3.
    pub fn ok(&self) -> bool {
        match &self.dhe_off {
            Some(tls13) => self.served.is_err() && tls13.is_ok(),
            None => self
                .served
                .as_ref()
                .is_ok_and(|s| s.fingerprint == self.expected),
        }
    }

    /// One line for messages.
    pub fn describe(&self) -> String {
        let e = &self.endpoint;
        if let Some(tls13) = &self.dhe_off {
            return match (&self.served, tls13) {
                (Err(_), Ok(group)) => format!(
                    "{} refuses a DHE-only TLS 1.2 client ([policy] dhe = \"off\") and completes TLS 1.3 ({group})",
                    e.addr
                ),
                (Ok(s), _) => format!(
                    "{} still completes a DHE-only TLS 1.2 handshake ({} bits) although [policy] dhe = \"off\": Postfix has not loaded smtpd_tls_exclude_ciphers; see its log",
                    e.addr, s.bits
                ),
                (Err(_), Err(err)) => format!(
                    "{} refuses DHE, but a TLS 1.3 handshake failed too: {err}",
                    e.addr
                ),
            };
        }
        match &self.served {
            Ok(s) if s.fingerprint == self.expected => {
                format!(
                    "{} serves group {:?} (sha256(p) {})",
                    e.addr, e.group, s.fingerprint
                )
            }
            Ok(s) => format!(
                "{} serves {} ({} bits, sha256(p) {}) instead of group {:?} (sha256(p) {}): Postfix did not load the file and fell back; see its log",
                e.addr,
                s.known.as_deref().unwrap_or("another group"),
                s.bits,
                s.fingerprint,
                e.group,
                self.expected
            ),
            Err(err) => format!(
                "{} could not be probed for group {:?}: {err}",
                e.addr, e.group
            ),
        }
    }
}

/// The listeners to check: `[reload] endpoints` (all for the main.cf
/// group), or every smtpd inet service in master.cf with TLS on, each
/// paired with the group that service reads.
pub fn endpoints(settings: &Settings, main: &MainCf, master: &MasterCf) -> Vec<Endpoint> {
    let main_group = settings
        .groups
        .iter()
        .find(|g| g.uses.contains(&Use::MainCf));
    if !settings.reload.endpoints.is_empty() {
        return main_group.map_or_else(Vec::new, |g| {
            settings
                .reload
                .endpoints
                .iter()
                .map(|e| {
                    let (addr, port) = probe::parse_target(e);
                    Endpoint {
                        addr,
                        wrap: Wrap::for_port(port),
                        group: g.name.clone(),
                    }
                })
                .collect()
        });
    }
    let main_value = |name: &str| main.get(name).map(|p| p.value.clone());
    let tls_on_by_default = main_value("smtpd_tls_security_level")
        .map(|v| v == "may" || v == "encrypt")
        .or_else(|| main_value("smtpd_use_tls").map(|v| v == "yes"))
        .unwrap_or(false);
    let host = loopback(
        main_value("inet_interfaces").as_deref(),
        main_value("inet_protocols").as_deref(),
    );
    let mut out = Vec::new();
    for svc in master
        .services()
        .iter()
        .filter(|s| s.kind == "inet" && s.command == "smtpd")
    {
        let level = svc
            .get("smtpd_tls_security_level")
            .map(|o| o.value.as_str());
        let wrapper = svc
            .get("smtpd_tls_wrappermode")
            .is_some_and(|o| o.value == "yes");
        if !(wrapper || level.map_or(tls_on_by_default, |l| l == "may" || l == "encrypt")) {
            continue;
        }
        let group: Option<&GroupSpec> = settings
            .groups
            .iter()
            .find(|g| g.parameter() == DH1024 && g.uses.contains(&Use::Service(svc.key())))
            .or_else(|| main_group.filter(|_| svc.get(DH1024).is_none()));
        let (Some(group), Some(addr)) = (group, address(&svc.name, &host)) else {
            continue;
        };
        out.push(Endpoint {
            addr,
            wrap: if wrapper {
                Wrap::Implicit
            } else {
                Wrap::StartTls
            },
            group: group.name.clone(),
        });
    }
    out
}

/// Where to reach a listener bound as `inet_interfaces` says.
fn loopback(interfaces: Option<&str>, protocols: Option<&str>) -> String {
    let first = interfaces
        .and_then(|v| v.split([' ', ',']).find(|s| !s.is_empty()))
        .unwrap_or("all");
    match first {
        "all" | "loopback-only" | "localhost" => {
            if protocols == Some("ipv6") {
                "[::1]".into()
            } else {
                "127.0.0.1".into()
            }
        }
        other => other.to_owned(),
    }
}

/// `host:port` for a master.cf service name (`smtp`, `2525`, `127.0.0.1:2525`, `[::1]:25`).
fn address(name: &str, host: &str) -> Option<String> {
    let port = |s: &str| -> Option<u16> {
        s.parse().ok().or(match s {
            "smtp" => Some(25),
            "submission" => Some(587),
            "smtps" | "submissions" => Some(465),
            _ => None,
        })
    };
    match name.rsplit_once(':') {
        Some((h, p)) => {
            let h = match h {
                "" | "*" | "0.0.0.0" => host,
                "[::]" => "[::1]",
                h => h,
            };
            port(p).map(|p| format!("{h}:{p}"))
        }
        None => port(name).map(|p| format!("{host}:{p}")),
    }
}

/// Probes each endpoint whose group `expected` knows (its sha256(p)) until
/// it serves that prime or `patience` (for all of them together) runs out.
pub fn check(
    endpoints: Vec<Endpoint>,
    expected: impl Fn(&str) -> Option<String>,
    patience: Duration,
    proofs: Option<&crate::dh::Proofs>,
) -> Vec<ListenerCheck> {
    let deadline = Instant::now() + patience;
    let wanted: Vec<(Endpoint, String)> = endpoints
        .into_iter()
        .filter_map(|e| expected(&e.group).map(|fp| (e, fp)))
        .collect();
    // One deadline for all: the slowest listener sets the time.
    side_by_side(wanted, |(endpoint, expected)| {
        let left = deadline.saturating_duration_since(Instant::now());
        let served = probe::retry(&endpoint.addr, endpoint.wrap, left, proofs, |s| {
            s.fingerprint == expected
        })
        .map_err(|err| err.to_string());
        ListenerCheck {
            endpoint,
            expected,
            served,
            dhe_off: None,
        }
    })
}

/// `probe` for each listener, each in its own thread (they wait on the
/// network, not on each other); the results in the order given.
pub fn side_by_side<T: Send, R: Send>(listeners: Vec<T>, probe: impl Fn(T) -> R + Sync) -> Vec<R> {
    std::thread::scope(|s| {
        let probe = &probe;
        let running: Vec<_> = listeners
            .into_iter()
            .map(|l| s.spawn(move || probe(l)))
            .collect();
        running
            .into_iter()
            .map(|p| p.join().expect("a listener's probe panicked"))
            .collect()
    })
}

/// The first endpoint of each address (a listener is asked once).
pub fn one_per_address(endpoints: Vec<Endpoint>) -> Vec<Endpoint> {
    let mut out: Vec<Endpoint> = Vec::new();
    for e in endpoints {
        if !out.iter().any(|o| o.addr == e.addr) {
            out.push(e);
        }
    }
    out
}

/// With `[policy] dhe = "off"`: each listener must refuse a DHE-only TLS
/// 1.2 client and complete a TLS 1.3 handshake, within `patience` (a
/// reload takes a moment to reach every listener).
pub fn check_dhe_off(
    endpoints: Vec<Endpoint>,
    patience: Duration,
    proofs: Option<&crate::dh::Proofs>,
) -> Vec<ListenerCheck> {
    let deadline = Instant::now() + patience;
    side_by_side(one_per_address(endpoints), |endpoint| {
        loop {
            let timeout = Duration::from_secs(10);
            let served = probe::dhe_group(&endpoint.addr, endpoint.wrap, timeout, proofs)
                .map_err(|e| e.to_string());
            let tls13 = probe::tls13(&endpoint.addr, endpoint.wrap, None, timeout)
                .map(|t| t.group)
                .map_err(|e| e.to_string());
            let f = ListenerCheck {
                endpoint: endpoint.clone(),
                expected: "no DHE ([policy] dhe = \"off\")".into(),
                served,
                dhe_off: Some(tls13),
            };
            if f.ok() || Instant::now() >= deadline {
                break f;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_become_addresses() {
        assert_eq!(
            address("smtp", "127.0.0.1").as_deref(),
            Some("127.0.0.1:25")
        );
        assert_eq!(
            address("submission", "127.0.0.1").as_deref(),
            Some("127.0.0.1:587")
        );
        assert_eq!(
            address("2525", "127.0.0.1").as_deref(),
            Some("127.0.0.1:2525")
        );
        assert_eq!(
            address("127.0.0.2:26", "x").as_deref(),
            Some("127.0.0.2:26")
        );
        assert_eq!(address("[::1]:25", "x").as_deref(), Some("[::1]:25"));
        assert_eq!(
            address("0.0.0.0:25", "127.0.0.1").as_deref(),
            Some("127.0.0.1:25")
        );
        assert_eq!(address("weird", "127.0.0.1"), None);
        assert_eq!(loopback(Some("loopback-only"), Some("ipv6")), "[::1]");
        assert_eq!(loopback(Some("192.0.2.1, 127.0.0.1"), None), "192.0.2.1");
    }

    #[test]
    fn listeners_pair_with_the_group_they_read() {
        let settings = crate::config::load(
            std::path::Path::new("/nonexistent/dhrotate.toml"),
            false,
            &crate::config::Overrides::default(),
        )
        .unwrap();
        let mut settings = settings;
        settings.groups.push(GroupSpec {
            name: "sub".into(),
            bits: 1024,
            file: "/etc/postfix/dh1024.pem".into(),
            uses: vec![Use::Service("submission/inet".into())],
        });
        let main = MainCf::parse(b"smtpd_tls_security_level = may\n");
        let master = MasterCf::parse(
            b"smtp inet n - y - - smtpd\n\
submission inet n - y - - smtpd\n  -o smtpd_tls_dh1024_param_file=/etc/postfix/dh1024.pem\n\
smtps inet n - y - - smtpd\n  -o smtpd_tls_wrappermode=yes\n\
2525 inet n - y - - smtpd\n  -o smtpd_tls_security_level=none\n\
pickup unix n - y 60 1 pickup\n",
        );
        let got = endpoints(&settings, &main, &master);
        let summary: Vec<_> = got
            .iter()
            .map(|e| (e.addr.as_str(), e.wrap, e.group.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("127.0.0.1:25", Wrap::StartTls, "main"),
                ("127.0.0.1:587", Wrap::StartTls, "sub"),
                ("127.0.0.1:465", Wrap::Implicit, "main"),
            ]
        );
    }
}
