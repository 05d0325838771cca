//! The key-exchange posture judged against a published guideline
//! (`[policy] guideline`, the table in data/tls-guidelines.tsv): what the
//! local listeners serve (the DHE group of a TLS 1.2 handshake, the group a
//! default TLS 1.3 handshake settles on, every group they accept), and
//! what the configuration makes them serve. `status` reports it; `now`
//! compares what a run is about to install with what is served now.

use std::time::Duration;

use anyhow::{Result, anyhow};
use serde::Serialize;

use crate::config::Settings;
use crate::error::Failure;
use crate::ops::mode::Effective;
use crate::ops::probe::{self, Wrap};
use crate::postfix::curves::{self, CURVES, FFDHE, groups, openssl_knows};
use crate::postfix::oracle::Intent;
use crate::postfix::{ConfigFiles, DH1024, Postfix, Version, Versions, oracle::Scope};
use crate::posture::{Choice, Guideline, Rating, Row, Table};

/// `status`'s `posture` section.
#[derive(Debug, Clone, Serialize)]
pub struct Posture {
    /// The guideline judged against.
    pub guideline: Guideline,
    /// The worst rating among the findings the guideline rates.
    pub rating: Option<Rating>,
    /// One entry per thing judged.
    pub findings: Vec<Finding>,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    /// The DHE group of TLS 1.2.
    Dhe,
    /// A key-exchange group (TLS 1.3, ECDHE, hybrids).
    Group,
}

/// One judged choice.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// DHE group or key-exchange group.
    pub kind: FindingKind,
    /// What was looked at: `served by 127.0.0.1:25: DHE group`,
    /// `configured: key-exchange group X25519`...
    pub subject: String,
    /// What it is.
    pub observed: String,
    /// The guideline's verdict.
    pub rating: Rating,
    /// In the guideline's words.
    pub term: String,
    /// Document, version and section.
    pub source: String,
    /// How the table row was taken from the document.
    pub basis: String,
    /// What dhrotate would change to rate better, when it can.
    pub fix: Option<String>,
}

/// What a DHE handshake gets, or would get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhe {
    /// Catalog name of a well-known prime (`rfc7919-ffdhe3072`,
    /// `rfc3526-modp2048`); `None` for a custom one.
    pub known: Option<String>,
    /// Prime size.
    pub bits: u32,
}

impl Dhe {
    fn choice(&self) -> Choice<'_> {
        Choice::Dhe {
            named: self
                .known
                .as_deref()
                .and_then(|k| k.strip_prefix("rfc7919-")),
            bits: self.bits,
        }
    }

    fn describe(&self) -> String {
        match &self.known {
            Some(k) if k.starts_with("rfc7919-") => {
                format!("{} (RFC 7919, {} bits)", &k["rfc7919-".len()..], self.bits)
            }
            Some(k) => format!("{k} (a widely shared {}-bit prime)", self.bits),
            None => format!("a custom {}-bit prime", self.bits),
        }
    }
}

/// What one local listener serves.
#[derive(Debug, Clone)]
pub struct Served {
    /// `host:port`.
    pub addr: String,
    /// The DHE group of a DHE-only TLS 1.2 handshake (`None`: no DHE).
    pub dhe: Option<Dhe>,
    /// The group of a default TLS 1.3 handshake.
    pub tls13: Option<String>,
    /// Every candidate group a TLS 1.3 handshake offering only it
    /// completes with.
    pub accepted: Vec<String>,
    /// Candidates this OpenSSL cannot offer, so they were not tried.
    pub untested: Vec<String>,
}

/// The groups tried one at a time against each listener.
const CANDIDATES: [&str; 15] = [
    "X25519MLKEM768",
    "X25519",
    "X448",
    "prime256v1",
    "secp384r1",
    "secp521r1",
    "brainpoolP256r1tls13",
    "brainpoolP384r1tls13",
    "brainpoolP512r1tls13",
    "ffdhe2048",
    "ffdhe3072",
    "ffdhe4096",
    "ffdhe6144",
    "ffdhe8192",
    "secp224r1",
];

/// Probes one listener every way the guideline cares about; `dhe`: what
/// an earlier DHE probe of it saw (verification's), not asked again.
pub fn probe_listener(addr: &str, wrap: Wrap, timeout: Duration, dhe: Option<Dhe>) -> Served {
    let dhe = dhe.or_else(|| {
        probe::dhe_group(addr, wrap, timeout).ok().map(|g| Dhe {
            known: g.known,
            bits: g.bits,
        })
    });
    let tls13 = probe::tls13(addr, wrap, None, timeout)
        .ok()
        .map(|t| t.group);
    let (known, untested): (Vec<&str>, Vec<&str>) =
        CANDIDATES.iter().partition(|g| openssl_knows(g));
    let accepted = known
        .into_iter()
        .filter(|g| probe::tls13(addr, wrap, Some(g), timeout).is_ok())
        .map(str::to_owned)
        .collect();
    Served {
        addr: addr.to_owned(),
        dhe,
        tls13,
        accepted,
        untested: untested.into_iter().map(str::to_owned).collect(),
    }
}

/// The local listeners `verify` knows, each probed once (Postfix must be
/// running); `seen` holds verification's findings, whose DHE answers are
/// reused.
pub fn probe_all(
    settings: &Settings,
    cf: &ConfigFiles,
    seen: &[crate::ops::verify::Finding],
) -> Vec<Served> {
    let mut done: Vec<String> = Vec::new();
    crate::ops::verify::endpoints(settings, &cf.main, &cf.master)
        .into_iter()
        .filter(|e| {
            let new = !done.contains(&e.addr);
            done.push(e.addr.clone());
            new
        })
        .map(|e| {
            let dhe = seen
                .iter()
                .find(|f| f.endpoint.addr == e.addr)
                .and_then(|f| f.served.as_ref().ok())
                .map(|g| Dhe {
                    known: g.known.clone(),
                    bits: g.bits,
                });
            probe_listener(&e.addr, e.wrap, Duration::from_secs(10), dhe)
        })
        .collect()
}

/// What the configuration makes Postfix serve, without asking a listener.
#[derive(Debug, Clone)]
pub struct Configured {
    /// Per group (or `OpenSSL's choice` in auto mode): where, and the group.
    pub dhe: Vec<(String, Option<Dhe>)>,
    /// The effective group lists' names (`tls_eecdh_auto_curves`,
    /// `tls_ffdhe_auto_groups`), `?`-optional names this OpenSSL lacks left
    /// out; `None` when the lists defer to OpenSSL's configuration.
    pub groups: Option<Vec<String>>,
}

/// What OpenSSL's automatic DH parameters pick (ssl_get_auto_dh, OpenSSL
/// 3): an RFC 3526 MODP prime sized by the certificate key's security
/// bits, never less than security level 2's 112. Measured: a 2048-bit RSA
/// key gets rfc3526-modp2048, a 3072-bit one rfc3526-modp3072.
pub fn openssl_auto_dhe(cert_security_bits: u32) -> Dhe {
    let bits = match cert_security_bits.max(112) {
        s if s >= 192 => 8192,
        s if s >= 152 => 4096,
        s if s >= 128 => 3072,
        _ => 2048,
    };
    Dhe {
        known: Some(format!("rfc3526-modp{bits}")),
        bits,
    }
}

/// The security bits of the key in Postfix's server certificate
/// (`smtpd_tls_chain_files` first, then `smtpd_tls_cert_file`).
fn cert_security_bits(pf: &dyn Postfix) -> Option<u32> {
    let chain = pf.postconf(&["-h", "smtpd_tls_chain_files"]).ok()?;
    let cert = pf.postconf(&["-h", "smtpd_tls_cert_file"]).ok()?;
    let file = curves::names(&chain)
        .first()
        .map(|s| s.to_string())
        .or_else(|| Some(cert.trim().to_owned()).filter(|c| !c.is_empty()))?;
    let pem = std::fs::read(&file).ok()?;
    let x509 = openssl::x509::X509::from_pem(&pem).ok()?;
    Some(x509.public_key().ok()?.security_bits())
}

/// The DHE groups a plan installs, for its mode and the configured groups.
fn dhe_planned(
    mode: Effective,
    settings: &Settings,
    pf: &dyn Postfix,
) -> Vec<(String, Option<Dhe>)> {
    match mode {
        Effective::Auto => vec![(
            "OpenSSL's choice (auto)".into(),
            cert_security_bits(pf).map(openssl_auto_dhe),
        )],
        Effective::Named | Effective::Explicit => settings
            .groups
            .iter()
            .map(|g| {
                let dhe = Dhe {
                    known: (mode == Effective::Named).then(|| format!("rfc7919-ffdhe{}", g.bits)),
                    bits: g.bits,
                };
                (format!("group {:?}", g.name), Some(dhe))
            })
            .collect(),
    }
}

/// The DHE groups the files Postfix reads now mean: each file named by
/// main.cf or a master.cf override, read and looked up in the catalog;
/// no file (or `auto`) is OpenSSL's choice where Postfix and OpenSSL
/// make one, else Postfix's compiled-in group.
fn dhe_now(cf: &ConfigFiles, v: &Versions, pf: &dyn Postfix) -> Vec<(String, Option<Dhe>)> {
    let catalog = crate::dh::Catalog::embedded();
    let auto_capable =
        v.postfix >= Version::new(3, 7, 0) && v.openssl.is_some_and(|o| o >= Version::new(3, 0, 0));
    let mut places = vec![(
        "main.cf".to_owned(),
        cf.value(&Scope::Main, DH1024).map(str::to_owned),
    )];
    for svc in cf.master.services() {
        if let Some(o) = svc.get(DH1024) {
            places.push((format!("master.cf {}", svc.key()), Some(o.value.clone())));
        }
    }
    places
        .into_iter()
        .map(|(place, value)| match value.as_deref() {
            None | Some("auto") if auto_capable => (
                format!("{place}: OpenSSL's choice (auto)"),
                cert_security_bits(pf).map(openssl_auto_dhe),
            ),
            None | Some("auto") | Some("") => {
                (format!("{place}: Postfix's compiled-in group"), None)
            }
            Some(file) => {
                let path = crate::postfix::expand_config_directory(file, cf.dir());
                let dhe = std::fs::read(&path)
                    .ok()
                    .and_then(|b| crate::dh::pem::parse(&b).ok())
                    .map(|dh| Dhe {
                        known: catalog.lookup(dh.prime_p()).map(|k| k.name.clone()),
                        bits: dh.prime_p().num_bits() as u32,
                    });
                (format!("{place}: {path}"), dhe)
            }
        })
        .collect()
}

/// The names in effective list values; `None` when both are empty (the
/// lists defer to OpenSSL's configuration, which dhrotate does not read).
fn list_names(curves: &str, ffdhe: Option<&str>) -> Option<Vec<String>> {
    if curves.trim().is_empty() && ffdhe.is_none_or(|f| f.trim().is_empty()) {
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    for value in std::iter::once(curves).chain(ffdhe) {
        for g in groups(value) {
            if (g.optional && !openssl_knows(g.name)) || out.iter().any(|n| n == g.name) {
                continue;
            }
            out.push(g.name.to_owned());
        }
    }
    Some(out)
}

/// What the current configuration makes Postfix serve.
pub fn configured(cf: &ConfigFiles, v: &Versions, pf: &dyn Postfix) -> Result<Configured> {
    let curves = pf.postconf(&["-h", CURVES])?;
    let ffdhe = if v.postfix >= Version::new(3, 8, 0) {
        Some(pf.postconf(&["-h", FFDHE])?)
    } else {
        None
    };
    Ok(Configured {
        dhe: dhe_now(cf, v, pf),
        groups: list_names(curves.trim(), ffdhe.as_deref().map(str::trim)),
    })
}

/// What a run is about to install: what its mode writes (or leaves to
/// OpenSSL), and the lists its edits set (a removed list is Postfix's
/// default).
#[derive(Debug, Clone, Copy)]
pub struct Next<'a> {
    /// The mode the run uses.
    pub mode: Effective,
    /// The settings its edits set (postfix::oracle).
    pub intents: &'a [Intent],
    /// The Postfix and OpenSSL it runs against.
    pub versions: &'a Versions,
}

/// What applying a plan makes Postfix serve.
pub fn planned(settings: &Settings, next: Next<'_>, pf: &dyn Postfix) -> Result<Configured> {
    let value = |name: &str| -> Result<String> {
        match next
            .intents
            .iter()
            .find(|i| i.scope == Scope::Main && i.name == name)
        {
            Some(i) => match &i.value {
                Some(v) => Ok(v.clone()),
                None => Ok(pf.postconf(&["-dh", name])?.trim().to_owned()),
            },
            None => Ok(pf.postconf(&["-h", name])?.trim().to_owned()),
        }
    };
    let curves = value(CURVES)?;
    let ffdhe = if next.versions.postfix >= Version::new(3, 8, 0) {
        Some(value(FFDHE)?)
    } else {
        None
    };
    Ok(Configured {
        dhe: dhe_planned(next.mode, settings, pf),
        groups: list_names(&curves, ffdhe.as_deref()),
    })
}

fn source(row: &Row) -> String {
    format!("{} {}, {}", row.source, row.version, row.section)
}

/// The RFC 7919 size this guideline rates best (the smallest of equals:
/// larger groups cost the server more per handshake).
fn best_named(table: &Table, guideline: Guideline) -> Option<(u32, Rating)> {
    crate::dh::named::BITS
        .iter()
        .filter_map(|&bits| {
            let name = format!("ffdhe{bits}");
            let row = table.rate(
                guideline,
                Choice::Dhe {
                    named: Some(&name),
                    bits,
                },
            )?;
            (row.rating != Rating::Unrated).then_some((bits, row.rating))
        })
        .min_by_key(|&(bits, rating)| (rating, bits))
}

fn rated(
    table: &Table,
    guideline: Guideline,
    subject: String,
    observed: String,
    choice: Choice<'_>,
) -> Option<Finding> {
    let row = table.rate(guideline, choice)?;
    Some(Finding {
        kind: match choice {
            Choice::Dhe { .. } => FindingKind::Dhe,
            Choice::Group(_) => FindingKind::Group,
        },
        subject,
        observed,
        rating: row.rating,
        term: row.term.clone(),
        source: source(row),
        basis: row.basis.clone(),
        fix: None,
    })
}

fn not_judged(kind: FindingKind, subject: String, observed: String, why: &str) -> Finding {
    Finding {
        kind,
        subject,
        observed,
        rating: Rating::Unrated,
        term: why.into(),
        source: String::new(),
        basis: String::new(),
        fix: None,
    }
}

fn poor(r: Rating) -> bool {
    matches!(r, Rating::PhaseOut | Rating::Insufficient)
}

/// Judges what is served (when Postfix runs) and what is configured.
pub fn judge(
    table: &Table,
    guideline: Guideline,
    served: &[Served],
    configured: &Configured,
) -> Posture {
    let mut findings = Vec::new();
    let best = best_named(table, guideline);
    let dhe_fix = |f: &mut Finding| {
        if let Some((bits, r)) = best.filter(|(_, r)| f.rating.worse_than(*r)) {
            f.fix = Some(format!(
                "mode = \"named\" with bits = {bits} in the [[group]]: dhrotate installs ffdhe{bits} ({r} under {guideline})"
            ));
        }
    };
    // A poorly rated group is left out of a list of the better ones.
    let group_fix = |f: &mut Finding, all: &[String]| {
        let keep: Vec<&str> = all
            .iter()
            .map(String::as_str)
            .filter(|n| *n != f.observed)
            .filter(|n| {
                table
                    .rate(guideline, Choice::Group(n))
                    .is_some_and(|r| !poor(r.rating))
            })
            .collect();
        if poor(f.rating) && !keep.is_empty() {
            f.fix = Some(format!(
                "leave {} out: [curves] policy = \"{}\"",
                f.observed,
                keep.join(" ")
            ));
        }
    };
    for s in served {
        let dhe = s.dhe.as_ref().and_then(|d| {
            rated(
                table,
                guideline,
                format!("served by {}: DHE group (TLS 1.2)", s.addr),
                d.describe(),
                d.choice(),
            )
        });
        if let Some(mut f) = dhe {
            dhe_fix(&mut f);
            findings.push(f);
        }
        if let Some(g) = &s.tls13 {
            findings.extend(rated(
                table,
                guideline,
                format!("served by {}: TLS 1.3 group a default client gets", s.addr),
                g.clone(),
                Choice::Group(g),
            ));
        }
        for g in &s.accepted {
            if let Some(mut f) = rated(
                table,
                guideline,
                format!("served by {}: accepts key-exchange group", s.addr),
                g.clone(),
                Choice::Group(g),
            ) {
                group_fix(&mut f, &s.accepted);
                findings.push(f);
            }
        }
        if !s.accepted.iter().any(|g| g == curves::PQ_GROUP) {
            let why = if s.untested.iter().any(|g| g == curves::PQ_GROUP) {
                "not tested: dhrotate's OpenSSL lacks it (OpenSSL >= 3.5 has it)"
            } else {
                "not offered"
            };
            findings.extend(rated(
                table,
                guideline,
                format!("served by {}: post-quantum hybrid", s.addr),
                format!("{} {why}", curves::PQ_GROUP),
                Choice::Group(curves::PQ_GROUP),
            ));
        }
    }
    for (place, dhe) in &configured.dhe {
        let subject = format!("configured: {place}");
        match dhe {
            Some(d) => {
                if let Some(mut f) = rated(table, guideline, subject, d.describe(), d.choice()) {
                    dhe_fix(&mut f);
                    findings.push(f);
                }
            }
            None => findings.push(not_judged(
                FindingKind::Dhe,
                subject,
                "unknown (no file dhrotate can read, or the certificate key is unreadable)".into(),
                "not judged",
            )),
        }
    }
    match &configured.groups {
        Some(names) => {
            for n in names {
                if let Some(mut f) = rated(
                    table,
                    guideline,
                    "configured: key-exchange group".into(),
                    n.clone(),
                    Choice::Group(n),
                ) {
                    group_fix(&mut f, names);
                    findings.push(f);
                }
            }
        }
        None => findings.push(not_judged(
            FindingKind::Group,
            "configured: key-exchange groups".into(),
            "both lists empty: OpenSSL's configuration chooses".into(),
            "not judged (dhrotate does not read openssl.cnf)",
        )),
    }
    let rating = findings
        .iter()
        .map(|f| f.rating)
        .filter(|r| *r != Rating::Unrated)
        .max();
    Posture {
        guideline,
        rating,
        findings,
    }
}

/// The worst rated finding of a kind whose subject starts with `prefix`.
fn worst<'a>(p: &'a Posture, prefix: &str, kind: FindingKind) -> Option<&'a Finding> {
    p.findings
        .iter()
        .filter(|f| f.subject.starts_with(prefix) && f.rating != Rating::Unrated)
        .filter(|f| f.kind == kind)
        .max_by_key(|f| f.rating)
}

/// Before a run changes anything: what it installs, judged against what is
/// served now (or, with Postfix stopped, what is configured now). A worse
/// DHE group or a worse group list is a warning, or with `[policy] enforce`
/// a configuration error (exit 2) that names the finding.
pub fn check_plan(
    settings: &Settings,
    next: Next<'_>,
    pf: &dyn Postfix,
    cf: &ConfigFiles,
) -> Result<Vec<String>> {
    let guideline = settings.policy.guideline;
    if guideline == Guideline::None {
        return Ok(Vec::new());
    }
    let table = Table::embedded();
    let served = if pf.is_running().unwrap_or(false) {
        probe_all(settings, cf, &[])
    } else {
        Vec::new()
    };
    let now = judge(
        &table,
        guideline,
        &served,
        &configured(cf, next.versions, pf)?,
    );
    let next = judge(&table, guideline, &[], &planned(settings, next, pf)?);
    let (now_dhe, now_groups, against) = if served.is_empty() {
        (
            "configured: ",
            "configured: key-exchange",
            "what is configured now",
        )
    } else {
        ("served by ", "served by ", "what is served now")
    };
    let mut worse = Vec::new();
    for (what, next_f, now_f) in [
        (
            "DHE group",
            worst(&next, "configured: ", FindingKind::Dhe),
            worst(&now, now_dhe, FindingKind::Dhe),
        ),
        (
            "key-exchange groups",
            worst(&next, "configured: key-exchange", FindingKind::Group),
            worst(&now, now_groups, FindingKind::Group),
        ),
    ] {
        let (Some(n), Some(c)) = (next_f, now_f) else {
            continue;
        };
        if n.rating.worse_than(c.rating) {
            worse.push(format!(
                "{guideline} rates the {what} this run installs ({}: {}, {}) worse than {against} ({}: {}); {}",
                n.observed,
                n.rating,
                n.source,
                c.observed,
                c.rating,
                n.fix.as_deref().unwrap_or("see `dhrotate status`")
            ));
        }
    }
    if settings.policy.enforce && !worse.is_empty() {
        return Err(Failure::Config(anyhow!(
            "[policy] enforce = true: {}. Nothing was changed",
            worse.join("; ")
        ))
        .into());
    }
    Ok(worse)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(dhe: Option<Dhe>, accepted: &[&str]) -> Served {
        Served {
            addr: "127.0.0.1:25".into(),
            dhe,
            tls13: Some("X25519".into()),
            accepted: accepted.iter().map(|s| s.to_string()).collect(),
            untested: Vec::new(),
        }
    }

    fn custom(bits: u32) -> Option<Dhe> {
        Some(Dhe { known: None, bits })
    }

    fn find<'a>(p: &'a Posture, subject: &str, observed: &str) -> &'a Finding {
        p.findings
            .iter()
            .find(|f| f.subject.contains(subject) && f.observed.starts_with(observed))
            .unwrap_or_else(|| panic!("no {subject} {observed} in {:#?}", p.findings))
    }

    #[test]
    fn openssl_auto_dh_follows_the_certificate_strength() {
        let name = |bits| openssl_auto_dhe(bits).known.unwrap();
        assert_eq!(name(112), "rfc3526-modp2048"); // RSA 2048
        assert_eq!(name(80), "rfc3526-modp2048"); // never below level 2
        assert_eq!(name(128), "rfc3526-modp3072"); // RSA 3072, P-256
        assert_eq!(name(192), "rfc3526-modp8192"); // P-384
    }

    #[test]
    fn each_guideline_gets_the_named_size_it_rates_best() {
        let t = Table::embedded();
        assert_eq!(
            best_named(&t, Guideline::NcscNl),
            Some((3072, Rating::Sufficient))
        );
        assert_eq!(best_named(&t, Guideline::Bsi), Some((3072, Rating::Good)));
        assert_eq!(
            best_named(&t, Guideline::MozillaIntermediate),
            Some((2048, Rating::Good))
        );
    }

    #[test]
    fn findings_carry_ratings_fixes_and_the_worst_wins() {
        let t = Table::embedded();
        let configured = Configured {
            dhe: vec![("group \"main\"".into(), custom(2048))],
            groups: Some(vec!["X25519".into(), "secp224r1".into()]),
        };
        let p = judge(
            &t,
            Guideline::NcscNl,
            &[served(custom(2048), &["X25519", "secp224r1"])],
            &configured,
        );
        let dhe = find(&p, "served by 127.0.0.1:25: DHE", "a custom 2048-bit prime");
        assert_eq!(dhe.rating, Rating::Insufficient);
        assert_eq!(dhe.kind, FindingKind::Dhe);
        assert!(
            dhe.fix.as_deref().unwrap().contains("bits = 3072"),
            "{dhe:?}"
        );
        let weak = find(&p, "accepts key-exchange group", "secp224r1");
        assert_eq!(weak.rating, Rating::PhaseOut);
        assert_eq!(
            weak.fix.as_deref(),
            Some("leave secp224r1 out: [curves] policy = \"X25519\"")
        );
        let good = find(&p, "accepts key-exchange group", "X25519");
        assert_eq!((good.rating, good.fix.as_deref()), (Rating::Good, None));
        let pq = find(&p, "post-quantum hybrid", "X25519MLKEM768 not offered");
        assert_eq!(pq.rating, Rating::Unrated);
        assert_eq!(p.rating, Some(Rating::Insufficient));

        // ffdhe3072 is what NCSC-NL rates best: no fix to offer.
        let named = Some(Dhe {
            known: Some("rfc7919-ffdhe3072".into()),
            bits: 3072,
        });
        let p = judge(
            &t,
            Guideline::NcscNl,
            &[served(named, &["X25519"])],
            &Configured {
                dhe: Vec::new(),
                groups: None,
            },
        );
        let dhe = find(&p, "DHE group", "ffdhe3072 (RFC 7919, 3072 bits)");
        assert_eq!((dhe.rating, dhe.fix.as_deref()), (Rating::Sufficient, None));
        let lists = find(&p, "configured: key-exchange groups", "both lists empty");
        assert_eq!(lists.rating, Rating::Unrated);
        assert_eq!(p.rating, Some(Rating::Sufficient));
    }

    #[test]
    fn optional_names_this_openssl_lacks_are_not_judged() {
        assert_eq!(
            list_names("?X99999 X25519, secp384r1", Some("ffdhe3072 X25519")),
            Some(vec![
                "X25519".to_owned(),
                "secp384r1".to_owned(),
                "ffdhe3072".to_owned()
            ])
        );
        assert_eq!(list_names("", Some("")), None);
        assert_eq!(list_names("", None), None);
    }
}
