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
use crate::guidelines::{Choice, Guideline, Rating, Row, Table};
use crate::ops::mode::Effective;
use crate::postfix::ciphers::{EXCLUDE, excludes_dhe};
use crate::postfix::curves::{self, CURVES, FFDHE, groups, openssl_knows};
use crate::postfix::oracle::Intent;
use crate::postfix::{ConfigFiles, DH1024, Postfix, Version, Versions, oracle::Scope};
use crate::probe::{self, Wrap};

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

impl Posture {
    /// A sentence per finding whose recommendation ends by the end of
    /// next year (`this_year` + 1); `status` prints them as advice.
    pub fn ending(&self, this_year: i32) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in &self.findings {
            let Some(until) = f.until.filter(|u| u.ends_soon(this_year)) else {
                continue;
            };
            let what = match f.kind {
                FindingKind::Suites => "TLS 1.2 DHE cipher suites",
                FindingKind::Dhe | FindingKind::Group => f.observed.as_str(),
            };
            let line = format!(
                "{} recommends {what} only until the end of {until} ({}){}",
                self.guideline,
                f.source,
                f.fix
                    .as_deref()
                    .map(|x| format!(": {x}"))
                    .unwrap_or_default()
            );
            if !out.contains(&line) {
                out.push(line);
            }
        }
        out
    }
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    /// The DHE group of TLS 1.2.
    Dhe,
    /// A key-exchange group (TLS 1.3, ECDHE, hybrids).
    Group,
    /// TLS 1.2 DHE cipher suites offered at all.
    Suites,
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
    /// The last year the guideline recommends it, when it says.
    pub until: Option<crate::guidelines::Until>,
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
    /// The configured group it reads (`verify::endpoints`), when known.
    pub group: Option<String>,
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
pub fn probe_listener(
    addr: &str,
    wrap: Wrap,
    timeout: Duration,
    dhe: Option<Dhe>,
    proofs: Option<&crate::dh::Proofs>,
) -> Served {
    // One handshake after another: each ends with QUIT, and Postfix hands
    // the next connection to the same smtpd process. Side by side, each
    // needs a fresh smtpd (fork, exec, TLS set-up) and the whole took
    // longer: median 0.72 s with 8 at a time, 0.60 s one by one (two
    // listeners, probed side by side by `probe_all`).
    let dhe = dhe.or_else(|| {
        probe::dhe_group(addr, wrap, timeout, proofs)
            .ok()
            .map(|g| Dhe {
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
        group: None,
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
    seen: &[crate::ops::inspect::verify::ListenerCheck],
    proofs: Option<&crate::dh::Proofs>,
) -> Vec<Served> {
    let endpoints = crate::ops::inspect::verify::endpoints(settings, &cf.main, &cf.master);
    let endpoints = crate::ops::inspect::verify::one_per_address(endpoints);
    crate::ops::inspect::verify::side_by_side(endpoints, |e| {
        let dhe = seen
            .iter()
            .find(|f| f.endpoint.addr == e.addr)
            .and_then(|f| f.served.as_ref().ok())
            .map(|g| Dhe {
                known: g.known.clone(),
                bits: g.bits,
            });
        Served {
            group: Some(e.group.clone()),
            ..probe_listener(&e.addr, e.wrap, Duration::from_secs(10), dhe, proofs)
        }
    })
}

/// One place a DHE group comes from.
#[derive(Debug, Clone)]
pub struct DhePlace {
    /// Where: `group "main"`, `main.cf: /etc/postfix/dh2048.pem`...
    pub place: String,
    /// The configured group a plan installs there; `None` for what the
    /// files mean now and for OpenSSL's choice (every listener's).
    pub group: Option<String>,
    /// The group, when dhrotate can tell.
    pub dhe: Option<Dhe>,
}

/// What the configuration makes Postfix serve, without asking a listener.
#[derive(Debug, Clone)]
pub struct Configured {
    /// Where the DHE groups come from, and which.
    pub dhe: Vec<DhePlace>,
    /// TLS 1.2 DHE cipher suites are offered (not excluded by
    /// `smtpd_tls_exclude_ciphers`).
    pub dhe_offered: bool,
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
fn dhe_planned(mode: Effective, settings: &Settings, pf: &dyn Postfix) -> Vec<DhePlace> {
    match mode {
        Effective::Auto => vec![DhePlace {
            place: "OpenSSL's choice (auto)".into(),
            group: None,
            dhe: cert_security_bits(pf).map(openssl_auto_dhe),
        }],
        Effective::Named | Effective::Explicit => settings
            .groups
            .iter()
            .map(|g| {
                let dhe = Dhe {
                    known: (mode == Effective::Named).then(|| format!("rfc7919-ffdhe{}", g.bits)),
                    bits: g.bits,
                };
                DhePlace {
                    place: format!("group {:?}", g.name),
                    group: Some(g.name.clone()),
                    dhe: Some(dhe),
                }
            })
            .collect(),
    }
}

/// The DHE groups the files Postfix reads now mean: each file named by
/// main.cf or a master.cf override, read and looked up in the catalog;
/// no file (or `auto`) is OpenSSL's choice where Postfix and OpenSSL
/// make one, else Postfix's compiled-in group.
fn dhe_now(cf: &ConfigFiles, v: &Versions, pf: &dyn Postfix) -> Vec<DhePlace> {
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
    let at = |place: String, dhe: Option<Dhe>| DhePlace {
        place,
        group: None,
        dhe,
    };
    places
        .into_iter()
        .map(|(place, value)| match value.as_deref() {
            None | Some("auto") if auto_capable => at(
                format!("{place}: OpenSSL's choice (auto)"),
                cert_security_bits(pf).map(openssl_auto_dhe),
            ),
            None | Some("auto") | Some("") => {
                at(format!("{place}: Postfix's compiled-in group"), None)
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
                at(format!("{place}: {path}"), dhe)
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
        dhe_offered: !excludes_dhe(&pf.postconf(&["-h", EXCLUDE])?),
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
        dhe_offered: !excludes_dhe(&value(EXCLUDE)?),
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

/// What rates best under a guideline for TLS 1.2's DHE: a named group, or
/// no DHE at all (where the guideline rates DHE suites, or every group it
/// could use, at best "phase out", or leaves DHE out of its profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DheAdvice {
    /// Serve this RFC 7919 size, rated so.
    Named(u32, Rating),
    /// Stop offering DHE cipher suites.
    Off,
    /// The guideline rates neither.
    Nothing,
}

fn dhe_advice(table: &Table, guideline: Guideline) -> DheAdvice {
    let suites = table
        .rate(guideline, Choice::DheSuites)
        .map(|r| r.rating)
        .filter(|r| *r != Rating::Unrated);
    match (suites, best_named(table, guideline)) {
        (Some(s), _) if poor(s) => DheAdvice::Off,
        (_, Some((_, r))) if poor(r) => DheAdvice::Off,
        (_, Some((bits, r))) => DheAdvice::Named(bits, r),
        (Some(_), None) | (None, None) => DheAdvice::Nothing,
    }
}

/// What turning DHE off costs, said with the advice to do it.
const DHE_OFF: &str = "[policy] dhe = \"off\": dhrotate stops offering DHE for TLS 1.2 (kDHE in \
     smtpd_tls_exclude_ciphers); ECDHE and TLS 1.3 are unaffected; a client that can do neither \
     falls back to RSA key exchange, without forward secrecy, or, where it cannot agree on a \
     cipher at all, delivers in plaintext (opportunistic SMTP)";

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
            Choice::DheSuites => FindingKind::Suites,
        },
        subject,
        observed,
        rating: row.rating,
        term: row.term.clone(),
        until: row.until,
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
        until: None,
        source: String::new(),
        basis: String::new(),
        fix: None,
    }
}

fn poor(r: Rating) -> bool {
    matches!(r, Rating::PhaseOut | Rating::Insufficient)
}

/// The findings' fixes: what dhrotate (or, for DHE off, the administrator)
/// changes to rate best under the guideline.
struct Fixes<'a> {
    table: &'a Table,
    guideline: Guideline,
    dhe: DheAdvice,
}

impl Fixes<'_> {
    /// A DHE group, or DHE being offered at all.
    fn dhe(&self, f: &mut Finding) {
        f.fix = match self.dhe {
            DheAdvice::Off if f.kind == FindingKind::Suites || poor(f.rating) => {
                Some(DHE_OFF.into())
            }
            DheAdvice::Named(bits, r) if f.kind == FindingKind::Dhe && f.rating.worse_than(r) => {
                Some(format!(
                    "mode = \"named\" with bits = {bits} in the [[group]]: dhrotate installs ffdhe{bits} ({r} under {})",
                    self.guideline
                ))
            }
            _ => None,
        };
    }

    /// A poorly rated group is left out of a list of the better ones.
    fn group(&self, f: &mut Finding, all: &[String]) {
        let keep: Vec<&str> = all
            .iter()
            .map(String::as_str)
            .filter(|n| *n != f.observed)
            .filter(|n| {
                self.table
                    .rate(self.guideline, Choice::Group(n))
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
    }
}

/// Judges what is served (when Postfix runs) and what is configured.
pub fn judge(
    table: &Table,
    guideline: Guideline,
    served: &[Served],
    configured: &Configured,
) -> Posture {
    let fixes = Fixes {
        table,
        guideline,
        dhe: dhe_advice(table, guideline),
    };
    let mut findings = Vec::new();
    for s in served {
        judge_served(&fixes, s, &mut findings);
    }
    judge_configured(&fixes, configured, &mut findings);
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

fn judge_served(fixes: &Fixes<'_>, s: &Served, findings: &mut Vec<Finding>) {
    let (table, guideline) = (fixes.table, fixes.guideline);
    if let Some(d) = &s.dhe {
        for (what, observed, choice) in [
            (
                "TLS 1.2 DHE cipher suites",
                "offered (a DHE-only TLS 1.2 client completes)".to_owned(),
                Choice::DheSuites,
            ),
            ("DHE group (TLS 1.2)", d.describe(), d.choice()),
        ] {
            let subject = format!("served by {}: {what}", s.addr);
            if let Some(mut f) = rated(table, guideline, subject, observed, choice) {
                fixes.dhe(&mut f);
                findings.push(f);
            }
        }
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
            fixes.group(&mut f, &s.accepted);
            findings.push(f);
        }
    }
    if !s.accepted.iter().any(|g| g == curves::PQ_GROUP) {
        findings.extend(pq_missing(fixes, s));
    }
}

/// The hybrid group a listener does not accept: never rated (it is not
/// served), but what the guideline thinks of it is said, and where it rates
/// it well, how to offer it.
fn pq_missing(fixes: &Fixes<'_>, s: &Served) -> Option<Finding> {
    let row = fixes
        .table
        .rate(fixes.guideline, Choice::Group(curves::PQ_GROUP))?;
    let lacking = s.untested.iter().any(|g| g == curves::PQ_GROUP);
    let why = if lacking {
        "not tested: dhrotate's OpenSSL lacks it (OpenSSL >= 3.5 has it)"
    } else {
        "not offered"
    };
    let mut f = not_judged(
        FindingKind::Group,
        format!("served by {}: post-quantum hybrid", s.addr),
        format!("{} {why}", curves::PQ_GROUP),
        &format!("{} where offered: {}", row.rating, row.term),
    );
    f.source = source(row);
    f.basis = row.basis.clone();
    if row.rating == Rating::Good && !lacking {
        let mut list = vec![curves::PQ_GROUP.to_owned()];
        list.extend(s.accepted.iter().cloned());
        f.fix = Some(format!(
            "offer it first: [curves] policy = \"{}\" (Postfix with OpenSSL 3.5 or later)",
            list.join(" ")
        ));
    }
    Some(f)
}

fn judge_configured(fixes: &Fixes<'_>, configured: &Configured, findings: &mut Vec<Finding>) {
    let (table, guideline) = (fixes.table, fixes.guideline);
    if configured.dhe_offered {
        if let Some(mut f) = rated(
            table,
            guideline,
            "configured: TLS 1.2 DHE cipher suites".into(),
            "offered (smtpd_tls_exclude_ciphers does not exclude kDHE)".into(),
            Choice::DheSuites,
        ) {
            fixes.dhe(&mut f);
            findings.push(f);
        }
    }
    for p in &configured.dhe {
        let subject = format!("configured: {}", p.place);
        match &p.dhe {
            _ if !configured.dhe_offered => findings.push(not_judged(
                FindingKind::Dhe,
                subject,
                "not used: smtpd_tls_exclude_ciphers excludes DHE".into(),
                "not judged",
            )),
            Some(d) => {
                if let Some(mut f) = rated(table, guideline, subject, d.describe(), d.choice()) {
                    fixes.dhe(&mut f);
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
                    fixes.group(&mut f, names);
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
}

/// The worst rated finding whose subject starts with `prefix`, of the
/// kinds given.
fn worst<'a>(p: &'a Posture, prefix: &str, kinds: &[FindingKind]) -> Option<&'a Finding> {
    p.findings
        .iter()
        .filter(|f| f.subject.starts_with(prefix) && f.rating != Rating::Unrated)
        .filter(|f| kinds.contains(&f.kind))
        .max_by_key(|f| f.rating)
}

/// DHE: the suites and the group together (turning DHE off removes both).
const DHE_KINDS: &[FindingKind] = &[FindingKind::Dhe, FindingKind::Suites];

/// What a plan makes one listener serve: the planned group it reads (or
/// OpenSSL's choice, every listener's), and the planned lists.
fn for_listener(planned: &Configured, group: Option<&str>) -> Configured {
    Configured {
        dhe: planned
            .dhe
            .iter()
            .filter(|p| p.group.is_none() || p.group.as_deref() == group)
            .cloned()
            .collect(),
        ..planned.clone()
    }
}

/// One comparison of the plan with now: what, where, and the two worst
/// findings.
fn worse_line(
    guideline: Guideline,
    what: &str,
    against: &str,
    next: Option<&Finding>,
    now: Option<&Finding>,
) -> Option<String> {
    let (n, c) = (next?, now?);
    n.rating.worse_than(c.rating).then(|| {
        format!(
            "{guideline} rates the {what} this run installs ({}: {}, {}) worse than {against} ({}: {}); {}",
            n.observed,
            n.rating,
            n.source,
            c.observed,
            c.rating,
            n.fix.as_deref().unwrap_or("see `dhrotate status`")
        )
    })
}

/// Before a run changes anything: what it installs, judged listener by
/// listener against what each serves now (or, with Postfix stopped, the
/// whole plan against what is configured now). A worse DHE or a worse
/// group list for any listener is a warning, or with `[policy] enforce` a
/// configuration error (exit 2) that names the listener and the finding.
pub fn check_plan(
    settings: &Settings,
    next: Next<'_>,
    pf: &dyn Postfix,
    cf: &ConfigFiles,
    proofs: Option<&crate::dh::Proofs>,
) -> Result<Vec<String>> {
    let guideline = settings.policy.guideline;
    if guideline == Guideline::None {
        return Ok(Vec::new());
    }
    let table = Table::embedded();
    let served = if pf.is_running().unwrap_or(false) {
        probe_all(settings, cf, &[], proofs)
    } else {
        Vec::new()
    };
    let planned = planned(settings, next, pf)?;
    let mut worse = Vec::new();
    if served.is_empty() {
        let now = judge(&table, guideline, &[], &configured(cf, next.versions, pf)?);
        let next = judge(&table, guideline, &[], &planned);
        let at = ("configured: ", CONFIGURED_GROUPS);
        worse.extend(compare(
            guideline,
            &next,
            &now,
            at,
            "what is configured now",
        ));
    }
    for s in &served {
        let now = judge(
            &table,
            guideline,
            std::slice::from_ref(s),
            &no_configuration(),
        );
        let next = judge(
            &table,
            guideline,
            &[],
            &for_listener(&planned, s.group.as_deref()),
        );
        let against = format!("what {} serves now", s.addr);
        let at = ("served by ", "served by ");
        worse.extend(compare(guideline, &next, &now, at, &against));
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

/// Nothing configured to judge: a listener's findings alone.
fn no_configuration() -> Configured {
    Configured {
        dhe: Vec::new(),
        dhe_offered: false,
        groups: Some(Vec::new()),
    }
}

/// The plan's DHE and groups against now's; `now_at`: where now's DHE
/// and group findings are (`served by ` for a listener's, the
/// configuration's otherwise).
fn compare(
    guideline: Guideline,
    next: &Posture,
    now: &Posture,
    now_at: (&str, &str),
    against: &str,
) -> Vec<String> {
    [
        worse_line(
            guideline,
            "DHE",
            against,
            worst(next, "configured: ", DHE_KINDS),
            worst(now, now_at.0, DHE_KINDS),
        ),
        worse_line(
            guideline,
            "key-exchange groups",
            against,
            worst(next, CONFIGURED_GROUPS, &[FindingKind::Group]),
            worst(now, now_at.1, &[FindingKind::Group]),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

const CONFIGURED_GROUPS: &str = "configured: key-exchange";

#[cfg(test)]
mod tests {
    use super::*;

    fn served(dhe: Option<Dhe>, accepted: &[&str]) -> Served {
        Served {
            addr: "127.0.0.1:25".into(),
            group: Some("main".into()),
            dhe,
            tls13: Some("X25519".into()),
            accepted: accepted.iter().map(|s| s.to_string()).collect(),
            untested: Vec::new(),
        }
    }

    fn custom(bits: u32) -> Option<Dhe> {
        Some(Dhe { known: None, bits })
    }

    fn named(bits: u32) -> Option<Dhe> {
        Some(Dhe {
            known: Some(format!("rfc7919-ffdhe{bits}")),
            bits,
        })
    }

    fn place(group: &str, dhe: Option<Dhe>) -> DhePlace {
        DhePlace {
            place: format!("group {group:?}"),
            group: Some(group.into()),
            dhe,
        }
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

    /// Where the guideline still rates a DHE group well, the advice is that
    /// group; where it rates every DHE at best "phase out" or leaves DHE out
    /// of its profile, the advice is to stop offering DHE.
    #[test]
    fn each_guideline_gets_the_dhe_advice_it_rates_best() {
        let t = Table::embedded();
        let advice = |g| dhe_advice(&t, g);
        assert_eq!(advice(Guideline::NcscNl), DheAdvice::Off);
        assert_eq!(
            advice(Guideline::NcscNl2021),
            DheAdvice::Named(3072, Rating::Sufficient)
        );
        assert_eq!(advice(Guideline::Bsi), DheAdvice::Named(3072, Rating::Good));
        assert_eq!(advice(Guideline::MozillaIntermediate), DheAdvice::Off);
        assert_eq!(advice(Guideline::MozillaModern), DheAdvice::Off);
        assert_eq!(
            advice(Guideline::MozillaIntermediate57),
            DheAdvice::Named(2048, Rating::Good)
        );
    }

    #[test]
    fn findings_carry_ratings_fixes_and_the_worst_wins() {
        let t = Table::embedded();
        let configured = Configured {
            dhe: vec![place("main", custom(2048))],
            dhe_offered: true,
            groups: Some(vec!["X25519".into(), "secp224r1".into()]),
        };
        let p = judge(
            &t,
            Guideline::NcscNl2021,
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
        let suites = find(
            &p,
            "served by 127.0.0.1:25: TLS 1.2 DHE cipher suites",
            "offered",
        );
        assert_eq!(
            (suites.rating, suites.fix.as_deref()),
            (Rating::Sufficient, None)
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

        // NCSC-NL 2025-05 rates ffdhe3072 and DHE suites "phase out": the
        // fix is to stop offering DHE, with what that costs.
        let p = judge(
            &t,
            Guideline::NcscNl,
            &[served(named(3072), &["X25519"])],
            &Configured {
                dhe: Vec::new(),
                dhe_offered: true,
                groups: None,
            },
        );
        let dhe = find(&p, "DHE group", "ffdhe3072 (RFC 7919, 3072 bits)");
        assert_eq!(dhe.rating, Rating::PhaseOut);
        assert!(
            dhe.fix
                .as_deref()
                .unwrap()
                .starts_with("[policy] dhe = \"off\""),
            "{dhe:?}"
        );
        let suites = find(&p, "configured: TLS 1.2 DHE cipher suites", "offered");
        assert_eq!(suites.rating, Rating::PhaseOut);
        assert!(
            suites.fix.as_deref().unwrap().contains("plaintext"),
            "{suites:?}"
        );
        let lists = find(&p, "configured: key-exchange groups", "both lists empty");
        assert_eq!(lists.rating, Rating::Unrated);
        assert_eq!(p.rating, Some(Rating::PhaseOut));

        // With DHE excluded, no DHE is judged: what is left is ECDHE.
        let p = judge(
            &t,
            Guideline::NcscNl,
            &[served(None, &["X25519"])],
            &Configured {
                dhe: vec![place("main", named(3072))],
                dhe_offered: false,
                groups: Some(vec!["X25519".into()]),
            },
        );
        let unused = find(&p, "configured: group \"main\"", "not used");
        assert_eq!(unused.rating, Rating::Unrated);
        assert_eq!(p.rating, Some(Rating::Good));
    }

    /// Mozilla 6.0 lists the hybrid: its absence is said, with how to
    /// offer it, but not rated (nothing is served to rate).
    #[test]
    fn a_missing_hybrid_the_guideline_wants_is_advice_not_a_rating() {
        let t = Table::embedded();
        let p = judge(
            &t,
            Guideline::MozillaIntermediate,
            &[served(None, &["X25519", "prime256v1"])],
            &no_configuration(),
        );
        let pq = find(&p, "post-quantum hybrid", "X25519MLKEM768 not offered");
        assert_eq!(pq.rating, Rating::Unrated);
        assert!(pq.term.starts_with("good where offered"), "{pq:?}");
        assert_eq!(
            pq.fix.as_deref(),
            Some(
                "offer it first: [curves] policy = \"X25519MLKEM768 X25519 prime256v1\" (Postfix with OpenSSL 3.5 or later)"
            )
        );
        assert_eq!(p.rating, Some(Rating::Good));
    }

    #[test]
    fn recommendations_ending_next_year_become_advice() {
        let t = Table::embedded();
        let p = judge(
            &t,
            Guideline::Bsi,
            &[served(named(3072), &["prime256v1"])],
            &no_configuration(),
        );
        // BSI 2025-01: DHE until 2029, so not within a year of 2026...
        assert!(p.ending(2026).is_empty(), "{:?}", p.ending(2026));
        // ...but within a year of 2028, once per finding and source.
        let ending = p.ending(2028);
        assert_eq!(ending.len(), 2, "{ending:#?}");
        assert!(
            ending[0]
                .starts_with("bsi recommends TLS 1.2 DHE cipher suites only until the end of 2029"),
            "{ending:#?}"
        );
        assert!(
            ending[1].starts_with("bsi recommends ffdhe3072 (RFC 7919, 3072 bits) only until the end of 2029 (BSI TR-02102-2"),
            "{ending:#?}"
        );
        // 2031+ may be extended: never said to end.
        assert!(p.ending(2031).iter().all(|l| !l.contains("prime256v1")));
    }

    /// The plan is held against each listener: better for one and worse
    /// for another is worse.
    #[test]
    fn a_plan_is_compared_listener_by_listener() {
        let t = Table::embedded();
        let g = Guideline::NcscNl;
        let smtp = served(named(3072), &["X25519"]);
        let submission = Served {
            addr: "127.0.0.1:587".into(),
            group: Some("submission".into()),
            ..served(named(2048), &["X25519"])
        };
        // Swap the two: smtp gets ffdhe2048, submission ffdhe3072.
        let planned = Configured {
            dhe: vec![place("main", named(2048)), place("submission", named(3072))],
            dhe_offered: true,
            groups: Some(vec!["X25519".into()]),
        };
        let lines: Vec<String> = [&smtp, &submission]
            .into_iter()
            .flat_map(|s| {
                let now = judge(&t, g, std::slice::from_ref(s), &no_configuration());
                let next = judge(&t, g, &[], &for_listener(&planned, s.group.as_deref()));
                let against = format!("what {} serves now", s.addr);
                compare(g, &next, &now, ("served by ", "served by "), &against)
            })
            .collect();
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(
            lines[0].starts_with(
                "ncsc-nl rates the DHE this run installs (ffdhe2048 (RFC 7919, 2048 bits): insufficient"
            ),
            "{lines:#?}"
        );
        assert!(
            lines[0].contains("worse than what 127.0.0.1:25 serves now (ffdhe3072 (RFC 7919, 3072 bits): phase-out)"),
            "{lines:#?}"
        );
        // The whole plan's worst equals the whole of now's worst: only the
        // per-listener view sees it.
        let now_all = judge(
            &t,
            g,
            &[smtp.clone(), submission.clone()],
            &no_configuration(),
        );
        let next_all = judge(&t, g, &[], &planned);
        assert_eq!(now_all.rating, next_all.rating);
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
