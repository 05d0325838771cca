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

/// What `[curves] policy` (or `curves --set`) asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CurvePolicy {
    /// Leave everything as it is.
    Keep,
    /// Remove the settings: Postfix's defaults.
    Default,
    /// X25519, X448, P-256, P-384.
    Modern,
    /// X25519MLKEM768 first, then `Modern`; refused where OpenSSL lacks it.
    PqHybrid,
    /// Both lists empty: OpenSSL's own configuration (`tls_config_file`,
    /// the system openssl.cnf) chooses the groups.
    OpenSsl,
    /// An explicit list, as written: group names, and on OpenSSL >= 3.5 its
    /// syntax (`?name`, `*name`, `a/b` tuples, `DEFAULT`, `-name`).
    List(Vec<String>),
}

impl CurvePolicy {
    /// Parses a profile name or a list of group names.
    pub fn parse(s: &str) -> CurvePolicy {
        match s.trim() {
            "keep" => CurvePolicy::Keep,
            "default" => CurvePolicy::Default,
            "modern" => CurvePolicy::Modern,
            "pq-hybrid" => CurvePolicy::PqHybrid,
            "openssl" => CurvePolicy::OpenSsl,
            other => CurvePolicy::List(names(other).into_iter().map(str::to_owned).collect()),
        }
    }
}

impl std::fmt::Display for CurvePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CurvePolicy::Keep => f.write_str("keep"),
            CurvePolicy::Default => f.write_str("default"),
            CurvePolicy::Modern => f.write_str("modern"),
            CurvePolicy::PqHybrid => f.write_str("pq-hybrid"),
            CurvePolicy::OpenSsl => f.write_str("openssl"),
            CurvePolicy::List(l) => f.write_str(&l.join(" ")),
        }
    }
}

/// What a policy does to one parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// Leave it as it is.
    Keep,
    /// Remove it from main.cf: Postfix's default.
    Remove,
    /// Set it to this value (empty: defer to OpenSSL's configuration).
    Set(String),
}

/// The values a policy means for one Postfix and OpenSSL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syntax {
    /// `tls_eecdh_auto_curves`.
    pub curves: Setting,
    /// `tls_ffdhe_auto_groups` (Postfix >= 3.8; `Keep` before).
    pub ffdhe: Setting,
    /// What was adapted on the way (a `?name` left out, tuples flattened).
    pub notes: Vec<String>,
}

/// The first releases of each Postfix branch where empty lists hand the
/// choice to OpenSSL's configuration (postconf(5), tls_eecdh_auto_curves);
/// before them an empty tls_eecdh_auto_curves turns ECDHE off.
const DEFERS_TO_OPENSSL: [(u32, u32, u32); 4] = [(3, 6, 17), (3, 7, 13), (3, 8, 8), (3, 9, 2)];

fn defers_to_openssl(pf: Version) -> bool {
    pf >= Version::new(3, 10, 0)
        || DEFERS_TO_OPENSSL
            .iter()
            .any(|&(a, b, c)| pf.major == a && pf.minor == b && pf >= Version::new(a, b, c))
}

/// Whether Postfix hands a list to OpenSSL as written, so that OpenSSL
/// 3.5's syntax works: Postfix 3.10 takes KEMs and provider groups, and
/// OpenSSL reads `?`, `*`, tuples and `DEFAULT` from 3.5 on. Elsewhere each
/// name must stand alone.
fn passes_openssl35_syntax(v: &Versions) -> bool {
    v.postfix >= Version::new(3, 10, 0) && v.openssl.is_some_and(|o| o >= Version::new(3, 5, 0))
}

/// Hybrid and pure ML-KEM groups (OpenSSL 3.5 names them so).
fn is_kem(name: &str) -> bool {
    name.to_ascii_uppercase().contains("MLKEM")
}

fn is_ffdhe(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with("ffdhe")
}

/// The syntax a policy means for the Postfix and OpenSSL in `v`; `knows`
/// says whether that OpenSSL knows a group name (`openssl_knows` for the
/// one this process runs with; tests model others). `Ok(None)`: `keep`.
/// Refusals are configuration errors (exit 2) that say what would work.
pub fn syntax(
    policy: &CurvePolicy,
    v: &Versions,
    knows: &dyn Fn(&str) -> bool,
) -> Result<Option<Syntax>> {
    let target = Target::new(v, knows);
    let out = match policy {
        CurvePolicy::Keep => return Ok(None),
        CurvePolicy::Default => target.defaults(),
        CurvePolicy::Modern => target.modern(false)?,
        CurvePolicy::PqHybrid => target.modern(true)?,
        CurvePolicy::OpenSsl => target.defer_to_openssl()?,
        CurvePolicy::List(tokens) => target.list(tokens)?,
    };
    Ok(Some(out))
}

fn refuse(msg: String) -> anyhow::Error {
    Failure::Config(anyhow!(msg)).into()
}

/// The Postfix and OpenSSL a policy is written for.
struct Target<'a> {
    v: &'a Versions,
    knows: &'a dyn Fn(&str) -> bool,
    /// "OpenSSL 3.0.17", or "this OpenSSL" when its version is unknown.
    ossl: String,
    /// Postfix >= 3.8 has tls_ffdhe_auto_groups.
    has_ffdhe_param: bool,
}

impl<'a> Target<'a> {
    fn new(v: &'a Versions, knows: &'a dyn Fn(&str) -> bool) -> Self {
        let ossl = v
            .openssl
            .map_or_else(|| "this OpenSSL".to_owned(), |o| format!("OpenSSL {o}"));
        let has_ffdhe_param = v.postfix >= Version::new(3, 8, 0);
        Target {
            v,
            knows,
            ossl,
            has_ffdhe_param,
        }
    }

    /// The FFDHE setting: `set` where Postfix has the parameter.
    fn ffdhe_or_keep(&self, set: Setting) -> Setting {
        if self.has_ffdhe_param {
            set
        } else {
            Setting::Keep
        }
    }

    fn defaults(&self) -> Syntax {
        Syntax {
            curves: Setting::Remove,
            ffdhe: self.ffdhe_or_keep(Setting::Remove),
            notes: Vec::new(),
        }
    }

    /// `modern`, and `pq-hybrid` (`hybrid`): the MODERN names this OpenSSL
    /// knows, the hybrid first.
    fn modern(&self, hybrid: bool) -> Result<Syntax> {
        let (v, ossl) = (self.v, &self.ossl);
        let mut list: Vec<&str> = MODERN.split(' ').filter(|n| (self.knows)(n)).collect();
        if hybrid {
            if !(self.knows)(PQ_GROUP) {
                return Err(refuse(format!(
                    "the pq-hybrid profile needs {PQ_GROUP}, which {ossl} does not know (OpenSSL >= 3.5 has it); use \"modern\""
                )));
            }
            if v.postfix < Version::new(3, 10, 0) {
                return Err(refuse(format!(
                    "the pq-hybrid profile needs Postfix >= 3.10, which takes key-encapsulation groups such as {PQ_GROUP}; Postfix {} would skip it; use \"modern\"",
                    v.postfix
                )));
            }
            list.insert(0, PQ_GROUP);
        }
        if list.is_empty() {
            return Err(refuse(format!("{ossl} knows none of {MODERN}")));
        }
        Ok(Syntax {
            curves: Setting::Set(list.join(" ")),
            ffdhe: Setting::Keep,
            notes: Vec::new(),
        })
    }

    /// `openssl`: empty lists, which only some Postfix releases read as
    /// "OpenSSL's own configuration".
    fn defer_to_openssl(&self) -> Result<Syntax> {
        if !defers_to_openssl(self.v.postfix) {
            return Err(refuse(format!(
                "Postfix {} turns ECDHE off when tls_eecdh_auto_curves is empty instead of deferring to OpenSSL's configuration; \
                 that needs Postfix 3.6.17, 3.7.13, 3.8.8, 3.9.2, 3.10 or later: upgrade, or use \"default\"",
                self.v.postfix
            )));
        }
        Ok(Syntax {
            curves: Setting::Set(String::new()),
            ffdhe: self.ffdhe_or_keep(Setting::Set(String::new())),
            notes: Vec::new(),
        })
    }

    /// An explicit list: checked, then split between the ECDHE and the
    /// FFDHE parameter, as written where Postfix passes OpenSSL 3.5's
    /// syntax on, as plain names elsewhere.
    fn list(&self, tokens: &[String]) -> Result<Syntax> {
        self.check_list(tokens)?;
        let mut split = Split::default();
        for token in tokens {
            if passes_openssl35_syntax(self.v) {
                self.as_written(token, &mut split);
            } else {
                self.as_plain_names(token, &mut split)?;
            }
        }
        self.finish(split)
    }

    /// Refusals that need no splitting: an empty list, OpenSSL 3.5 syntax
    /// that cannot pass, names OpenSSL does not know.
    fn check_list(&self, tokens: &[String]) -> Result<()> {
        let (v, ossl) = (self.v, &self.ossl);
        if tokens.is_empty() {
            return Err(refuse("the group list is empty".into()));
        }
        let openssl35_only = tokens
            .iter()
            .find(|t| t.contains("DEFAULT") || t.split([':', '/']).any(|p| p.starts_with('-')));
        if let Some(token) = openssl35_only.filter(|_| !passes_openssl35_syntax(v)) {
            return Err(refuse(format!(
                "{token:?} is OpenSSL 3.5 syntax (DEFAULT, -name), which Postfix {} with {ossl} cannot pass on; list the groups by name",
                v.postfix
            )));
        }
        let unknown = unknown_required(tokens, self.knows);
        if !unknown.is_empty() {
            return Err(refuse(format!(
                "{ossl} does not know {}; Postfix would silently skip {}. Nothing was changed",
                unknown.join(", "),
                if unknown.len() == 1 { "it" } else { "them" }
            )));
        }
        Ok(())
    }

    /// A token as written; one that is all FFDHE groups goes to
    /// tls_ffdhe_auto_groups like a plain name would.
    fn as_written(&self, token: &str, split: &mut Split) {
        let all_ffdhe = groups(token).iter().all(|g| is_ffdhe(g.name));
        if all_ffdhe && self.has_ffdhe_param {
            split.ffdhe.push(token.to_owned());
        } else {
            split.ecdhe.push(token.to_owned());
        }
    }

    /// A token as the plain names older Postfix or OpenSSL take: optional
    /// names this side cannot use are left out with a note.
    fn as_plain_names(&self, token: &str, split: &mut Split) -> Result<()> {
        let (v, ossl) = (self.v, &self.ossl);
        for g in groups(token) {
            if g.optional && !(self.knows)(g.name) {
                split
                    .notes
                    .push(format!("left out ?{} ({ossl} does not know it)", g.name));
                continue;
            }
            if is_kem(g.name) && v.postfix < Version::new(3, 10, 0) {
                if g.optional {
                    split.notes.push(format!(
                        "left out ?{}: Postfix {} takes no key-encapsulation groups (3.10 and later do)",
                        g.name, v.postfix
                    ));
                    continue;
                }
                return Err(refuse(format!(
                    "Postfix {} takes no key-encapsulation groups such as {} (3.10 and later do) and would skip it; \
                     leave it out or mark it ?{} to use it once Postfix is upgraded",
                    v.postfix, g.name, g.name
                )));
            }
            let target = if is_ffdhe(g.name) {
                &mut split.ffdhe
            } else {
                &mut split.ecdhe
            };
            if !target.iter().any(|n| n == g.name) {
                target.push(g.name.to_owned());
            }
        }
        if token.contains(['?', '*', '/', ':']) {
            split.notes.push(format!(
                "wrote {token:?} as plain names: Postfix {} with {ossl} takes one name at a time",
                v.postfix
            ));
        }
        Ok(())
    }

    /// The two settings, refused when Postfix lacks the FFDHE parameter
    /// the list needs or nothing is left.
    fn finish(&self, split: Split) -> Result<Syntax> {
        let Split {
            ecdhe,
            ffdhe,
            notes,
        } = split;
        if !ffdhe.is_empty() && !self.has_ffdhe_param {
            return Err(refuse(format!(
                "Postfix {} has no {FFDHE} (3.8 and later); leave out {}",
                self.v.postfix,
                ffdhe.join(", ")
            )));
        }
        if ecdhe.is_empty() && ffdhe.is_empty() {
            return Err(refuse(format!(
                "{} knows none of the groups listed; nothing would be left",
                self.ossl
            )));
        }
        let join = |l: Vec<String>| {
            if l.is_empty() {
                Setting::Keep
            } else {
                Setting::Set(l.join(" "))
            }
        };
        Ok(Syntax {
            curves: join(ecdhe),
            ffdhe: join(ffdhe),
            notes,
        })
    }
}

/// An explicit list on its way to the two parameters.
#[derive(Default)]
struct Split {
    ecdhe: Vec<String>,
    ffdhe: Vec<String>,
    notes: Vec<String>,
}

/// The names in a list that `knows` rejects and that are not marked `?`
/// (OpenSSL's DEFAULT keyword counts as known where OpenSSL reads it).
pub fn unknown_required(tokens: &[String], knows: &dyn Fn(&str) -> bool) -> Vec<String> {
    tokens
        .iter()
        .flat_map(|t| groups(t))
        .filter(|g| !g.optional && !knows(g.name))
        .map(|g| g.name.to_owned())
        .collect()
}

/// Edits `cf` to the policy, for the OpenSSL this process runs with. A
/// list only takes effect with the grade `auto`, so a `strong`/`ultra`
/// grade is removed too (the default is `auto` since Postfix 3.2);
/// per-service overrides of the three parameters are removed so the
/// policy holds everywhere.
pub fn apply_policy(
    cf: &mut ConfigFiles,
    policy: &CurvePolicy,
    v: &Versions,
) -> Result<Vec<String>> {
    let Some(syntax) = syntax(policy, v, &openssl_knows)? else {
        return Ok(Vec::new());
    };
    let mut notes = syntax.notes;
    for (param, setting) in [(CURVES, &syntax.curves), (FFDHE, &syntax.ffdhe)] {
        match setting {
            Setting::Keep => {}
            Setting::Remove => {
                cf.remove_main(param);
            }
            Setting::Set(value) => {
                cf.set_main(param, value);
            }
        }
    }
    let grade = cf.main.get(GRADE).map(|p| p.value.clone());
    if let Some(grade) = grade.filter(|g| g != "auto" || *policy == CurvePolicy::Default) {
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
        for n in ["X25519", "prime256v1", "P-256", "secp384r1"] {
            assert!(openssl_knows(n), "{n}");
        }
        // TLS groups by RFC 7919 name came with OpenSSL 3.0.
        assert_eq!(openssl_knows("ffdhe2048"), cfg!(ossl300));
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
        assert_eq!(CurvePolicy::parse("modern"), CurvePolicy::Modern);
        assert_eq!(
            CurvePolicy::parse("X25519,secp384r1"),
            CurvePolicy::List(vec!["X25519".into(), "secp384r1".into()])
        );
    }

    /// Which group names each OpenSSL release knows, from their release
    /// notes: X25519/X448 and the NIST and brainpool curves in 1.1.1,
    /// RFC 7919's FFDHE groups for TLS 1.3 in 3.0, the brainpool TLS 1.3
    /// code points in 3.2, ML-KEM hybrids and the `DEFAULT` keyword in 3.5.
    fn knows_in(ossl: (u32, u32)) -> impl Fn(&str) -> bool {
        move |name: &str| {
            let n = name.to_ascii_lowercase();
            let since = match n.as_str() {
                "x25519" | "x448" | "prime256v1" | "p-256" | "secp384r1" | "p-384"
                | "secp521r1" | "p-521" | "brainpoolp256r1" | "brainpoolp384r1"
                | "brainpoolp512r1" => (1, 1),
                "ffdhe2048" | "ffdhe3072" | "ffdhe4096" | "ffdhe6144" | "ffdhe8192" => (3, 0),
                "brainpoolp256r1tls13" | "brainpoolp384r1tls13" | "brainpoolp512r1tls13" => (3, 2),
                "x25519mlkem768" | "secp256r1mlkem768" | "secp384r1mlkem1024" | "default" => (3, 5),
                _ => return false,
            };
            ossl >= since
        }
    }

    /// The model above must be true of the OpenSSL these tests run with.
    #[test]
    fn the_openssl_model_matches_the_real_one() {
        let n = openssl::version::number();
        let real = ((n >> 28) as u32, ((n >> 20) & 0xff) as u32);
        let model = knows_in(real);
        for name in [
            "X25519",
            "X448",
            "prime256v1",
            "secp384r1",
            "secp521r1",
            "ffdhe2048",
            "ffdhe8192",
            "brainpoolP256r1tls13",
            "X25519MLKEM768",
            "SecP256r1MLKEM768",
            "DEFAULT",
            "X99999",
        ] {
            assert_eq!(
                model(name),
                openssl_knows(name),
                "{name} on OpenSSL {real:?}"
            );
        }
    }

    const POSTFIX: [&str; 11] = [
        "3.5.25", "3.6.16", "3.6.17", "3.7.11", "3.7.13", "3.8.7", "3.8.8", "3.9.1", "3.9.2",
        "3.10.5", "3.11.7",
    ];
    const OPENSSL: [(u32, u32); 5] = [(1, 1), (3, 0), (3, 2), (3, 5), (3, 6)];

    fn versions(pf: &str, ossl: (u32, u32)) -> Versions {
        Versions {
            postfix: Version::find_in(pf).unwrap(),
            openssl: Some(Version::new(ossl.0, ossl.1, 0)),
            openssl_source: "test",
        }
    }

    fn set(s: &Setting) -> Option<&str> {
        match s {
            Setting::Set(v) => Some(v),
            _ => None,
        }
    }

    fn exit_code(e: &anyhow::Error) -> u8 {
        e.downcast_ref::<Failure>().map_or(1, Failure::exit_code)
    }

    /// Every profile and list, on every Postfix 3.5-3.11 and OpenSSL
    /// 1.1.1-3.6: what is written is what that pair reads, and a refusal
    /// is a configuration error that says why.
    #[test]
    fn policy_syntax_across_postfix_and_openssl_releases() {
        let lists = [
            "X25519 ffdhe3072",
            "?X25519MLKEM768 X25519",
            "?X25519MLKEM768:DEFAULT",
            "*X25519MLKEM768/*X25519 secp384r1",
            "brainpoolP256r1tls13 X25519",
        ];
        let mut cells = 0;
        for pf in POSTFIX {
            for ossl in OPENSSL {
                let v = versions(pf, ossl);
                let knows = knows_in(ossl);
                let at = format!("Postfix {pf} + OpenSSL {}.{}", ossl.0, ossl.1);
                let pf38 = v.postfix >= Version::new(3, 8, 0);
                let pf310 = v.postfix >= Version::new(3, 10, 0);
                let native = pf310 && ossl >= (3, 5);

                let d = syntax(&CurvePolicy::Default, &v, &knows).unwrap().unwrap();
                assert_eq!(d.curves, Setting::Remove, "{at}");
                let want = if pf38 { Setting::Remove } else { Setting::Keep };
                assert_eq!(d.ffdhe, want, "{at}");

                let m = syntax(&CurvePolicy::Modern, &v, &knows).unwrap().unwrap();
                assert_eq!(
                    set(&m.curves),
                    Some("X25519 X448 prime256v1 secp384r1"),
                    "{at}"
                );
                assert_eq!(m.ffdhe, Setting::Keep, "{at}");

                match syntax(&CurvePolicy::PqHybrid, &v, &knows) {
                    Ok(Some(s)) => {
                        assert!(ossl >= (3, 5) && pf310, "{at}: pq-hybrid accepted");
                        assert_eq!(
                            set(&s.curves),
                            Some("X25519MLKEM768 X25519 X448 prime256v1 secp384r1"),
                            "{at}"
                        );
                    }
                    Ok(None) => panic!("{at}"),
                    Err(e) => {
                        assert!(ossl < (3, 5) || !pf310, "{at}: {e:#}");
                        assert_eq!(exit_code(&e), 2, "{at}");
                        let why = format!("{e:#}");
                        assert!(
                            why.contains("OpenSSL >= 3.5") || why.contains("Postfix >= 3.10"),
                            "{at}: {why}"
                        );
                    }
                }

                // Written from postconf(5): these releases and later defer
                // to OpenSSL's configuration when both lists are empty.
                let defers = matches!(
                    pf,
                    "3.6.17" | "3.7.13" | "3.8.8" | "3.9.2" | "3.10.5" | "3.11.7"
                );
                match syntax(&CurvePolicy::OpenSsl, &v, &knows) {
                    Ok(Some(s)) => {
                        assert!(defers, "{at}");
                        assert_eq!(set(&s.curves), Some(""), "{at}");
                        let want = if pf38 { Some("") } else { None };
                        assert_eq!(set(&s.ffdhe), want, "{at}");
                    }
                    Ok(None) => panic!("{at}"),
                    Err(e) => {
                        assert!(!defers, "{at}: {e:#}");
                        assert_eq!(exit_code(&e), 2, "{at}");
                        assert!(format!("{e:#}").contains("turns ECDHE off"), "{at}");
                    }
                }

                for list in lists {
                    let tokens: Vec<String> = names(list).into_iter().map(str::to_owned).collect();
                    let result = syntax(&CurvePolicy::List(tokens), &v, &knows);
                    cells += 1;
                    let Ok(Some(s)) = result else {
                        let e = result.unwrap_err();
                        assert_eq!(exit_code(&e), 2, "{at} {list}: {e:#}");
                        continue;
                    };
                    for value in [set(&s.curves), set(&s.ffdhe)].into_iter().flatten() {
                        let required = groups(value).into_iter().filter(|g| !g.optional);
                        for g in required {
                            assert!(knows(g.name), "{at} {list}: wrote {} unknown here", g.name);
                            if !pf310 {
                                assert!(!is_kem(g.name), "{at} {list}: a KEM for Postfix < 3.10");
                            }
                        }
                        if !native {
                            assert!(
                                !value.contains(['?', '*', '/', ':']) && !value.contains("DEFAULT"),
                                "{at} {list}: OpenSSL 3.5 syntax in {value:?}"
                            );
                        }
                    }
                    if let Some(f) = set(&s.ffdhe) {
                        assert!(pf38, "{at} {list}");
                        assert!(
                            groups(f).iter().all(|g| is_ffdhe(g.name)),
                            "{at} {list}: {f}"
                        );
                    }
                }
                // Cells whose answer is written out in full.
                let list = |l: &str| {
                    syntax(
                        &CurvePolicy::List(names(l).into_iter().map(str::to_owned).collect()),
                        &v,
                        &knows,
                    )
                };
                match (pf, ossl) {
                    ("3.11.7", (3, 5)) => {
                        let s = list("?X25519MLKEM768:DEFAULT").unwrap().unwrap();
                        assert_eq!(set(&s.curves), Some("?X25519MLKEM768:DEFAULT"));
                        let s = list("*X25519MLKEM768/*X25519 secp384r1").unwrap().unwrap();
                        assert_eq!(set(&s.curves), Some("*X25519MLKEM768/*X25519 secp384r1"));
                    }
                    ("3.10.5", (3, 0)) => {
                        let s = list("?X25519MLKEM768 X25519").unwrap().unwrap();
                        assert_eq!(set(&s.curves), Some("X25519"));
                        assert!(
                            s.notes[0].contains("left out ?X25519MLKEM768"),
                            "{:?}",
                            s.notes
                        );
                        assert!(
                            format!("{:#}", list("?X25519MLKEM768:DEFAULT").unwrap_err())
                                .contains("OpenSSL 3.5 syntax")
                        );
                    }
                    ("3.9.2", (3, 5)) => {
                        // OpenSSL knows the hybrid, Postfix 3.9 cannot use it.
                        let s = list("?X25519MLKEM768 X25519").unwrap().unwrap();
                        assert_eq!(set(&s.curves), Some("X25519"));
                        let e = list("*X25519MLKEM768/*X25519 secp384r1").unwrap_err();
                        assert!(format!("{e:#}").contains("key-encapsulation"), "{e:#}");
                    }
                    ("3.8.8", (3, 0)) => {
                        let s = list("X25519 ffdhe3072").unwrap().unwrap();
                        assert_eq!(
                            (set(&s.curves), set(&s.ffdhe)),
                            (Some("X25519"), Some("ffdhe3072"))
                        );
                    }
                    ("3.7.11", (3, 0)) => {
                        let e = list("X25519 ffdhe3072").unwrap_err();
                        assert!(
                            format!("{e:#}").contains("has no tls_ffdhe_auto_groups"),
                            "{e:#}"
                        );
                    }
                    ("3.10.5", (1, 1)) => {
                        let e = list("X25519 ffdhe3072").unwrap_err();
                        assert!(
                            format!("{e:#}").contains("does not know ffdhe3072"),
                            "{e:#}"
                        );
                        let e = list("brainpoolP256r1tls13 X25519").unwrap_err();
                        assert!(format!("{e:#}").contains("brainpoolP256r1tls13"), "{e:#}");
                    }
                    _ => {}
                }
            }
        }
        assert_eq!(cells, POSTFIX.len() * OPENSSL.len() * lists.len());
    }
}
