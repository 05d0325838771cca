//! Published TLS guidelines as data (data/tls-guidelines.tsv), and the
//! rating of one observed key-exchange choice against one of them. Which
//! choices a server makes is found elsewhere (ops::inspect::posture); this module
//! only knows the tables.

use std::fmt;

use serde::Serialize;

const TABLE_TSV: &str = include_str!("../../data/tls-guidelines.tsv");

/// `[policy] guideline`: the current edition of each guideline under its
/// plain name, replaced editions under versioned names for operators
/// audited against them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Guideline {
    /// The Dutch NCSC's TLS guidelines, 2025-05 (what internet.nl tests
    /// against).
    #[serde(rename = "ncsc-nl")]
    NcscNl,
    /// NCSC-NL's replaced version 2.1 (2021).
    #[serde(rename = "ncsc-nl-2021")]
    NcscNl2021,
    /// BSI TR-02102-2.
    #[serde(rename = "bsi")]
    Bsi,
    /// Mozilla's intermediate profile, 6.0.
    #[serde(rename = "mozilla-intermediate")]
    MozillaIntermediate,
    /// Mozilla's replaced intermediate profile 5.7.
    #[serde(rename = "mozilla-intermediate-5.7")]
    MozillaIntermediate57,
    /// Mozilla's modern profile, 6.0 (TLS 1.3 only).
    #[serde(rename = "mozilla-modern")]
    MozillaModern,
    /// No judgement.
    #[serde(rename = "none")]
    None,
}

impl Guideline {
    /// Every guideline the table has.
    pub const ALL: [Guideline; 6] = [
        Guideline::NcscNl,
        Guideline::NcscNl2021,
        Guideline::Bsi,
        Guideline::MozillaIntermediate,
        Guideline::MozillaIntermediate57,
        Guideline::MozillaModern,
    ];

    /// Parses the configuration name.
    pub fn parse(s: &str) -> Option<Guideline> {
        Guideline::ALL
            .into_iter()
            .chain([Guideline::None])
            .find(|g| g.name() == s)
    }

    /// The configuration name.
    pub fn name(self) -> &'static str {
        match self {
            Guideline::NcscNl => "ncsc-nl",
            Guideline::NcscNl2021 => "ncsc-nl-2021",
            Guideline::Bsi => "bsi",
            Guideline::MozillaIntermediate => "mozilla-intermediate",
            Guideline::MozillaIntermediate57 => "mozilla-intermediate-5.7",
            Guideline::MozillaModern => "mozilla-modern",
            Guideline::None => "none",
        }
    }

    /// The names, for messages: `ncsc-nl, ncsc-nl-2021, ...`.
    pub fn names() -> String {
        Guideline::ALL.map(Guideline::name).join(", ")
    }
}

impl fmt::Display for Guideline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A guideline's verdict on one choice, best first; `Unrated` (the
/// guideline does not say) sorts apart and never makes a posture worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rating {
    /// The guideline's best level.
    Good,
    /// Acceptable.
    Sufficient,
    /// Acceptable for now; to be replaced.
    PhaseOut,
    /// Not acceptable.
    Insufficient,
    /// The guideline does not rate it.
    Unrated,
}

impl Rating {
    fn parse(s: &str) -> Option<Rating> {
        Some(match s {
            "good" => Rating::Good,
            "sufficient" => Rating::Sufficient,
            "phase-out" => Rating::PhaseOut,
            "insufficient" => Rating::Insufficient,
            "unrated" => Rating::Unrated,
            _ => return None,
        })
    }

    /// Whether `self` is worse than `other`; unrated compares with nothing.
    pub fn worse_than(self, other: Rating) -> bool {
        self != Rating::Unrated && other != Rating::Unrated && self > other
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rating::Good => "good",
            Rating::Sufficient => "sufficient",
            Rating::PhaseOut => "phase-out",
            Rating::Insufficient => "insufficient",
            Rating::Unrated => "unrated",
        })
    }
}

/// What is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice<'a> {
    /// The group of a TLS 1.2 DHE handshake: an RFC 7919 group by its TLS
    /// name (`ffdhe3072`), or any other prime, by size.
    Dhe {
        /// `Some("ffdhe3072")` for an RFC 7919 group.
        named: Option<&'a str>,
        /// Prime size.
        bits: u32,
    },
    /// A key-exchange group by its OpenSSL or IANA name.
    Group(&'a str),
    /// TLS 1.2 DHE cipher suites being offered at all.
    DheSuites,
}

impl fmt::Display for Choice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Choice::Dhe {
                named: Some(n),
                bits,
            } => write!(f, "{n} (RFC 7919, {bits} bits)"),
            Choice::Dhe { named: None, bits } => write!(f, "a custom {bits}-bit prime"),
            Choice::Group(g) => f.write_str(g),
            Choice::DheSuites => f.write_str("TLS 1.2 DHE cipher suites"),
        }
    }
}

/// One row of the table: a verdict and where it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The guideline's configuration name.
    pub guideline: Guideline,
    /// The verdict on dhrotate's scale.
    pub rating: Rating,
    /// The guideline's own words.
    pub term: String,
    /// The last year the guideline recommends it, when it says.
    pub until: Option<Until>,
    /// The document.
    pub source: String,
    /// Its version.
    pub version: String,
    /// Where in it.
    pub section: String,
    /// How the row was taken from it: `document:` (the guideline's text or
    /// data) or `implementation:` (a tester's or generator's code that
    /// applies it), as `repository:path@commit`.
    pub basis: String,
    #[serde(skip)]
    subject: Subject,
}

/// The end of a recommendation: through the end of `year`; `open` for
/// the guideline's `2031+` (may be extended by a later edition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Until {
    /// The last year.
    pub year: i32,
    /// Written with a `+`.
    pub open: bool,
}

impl Until {
    fn parse(s: &str) -> Option<Option<Until>> {
        if s == "-" {
            return Some(None);
        }
        let (digits, open) = match s.strip_suffix('+') {
            Some(d) => (d, true),
            None => (s, false),
        };
        let year = digits.parse().ok().filter(|y| (2000..3000).contains(y))?;
        Some(Some(Until { year, open }))
    }

    /// Whether the recommendation ends within a year of `today`'s year
    /// (`open` ones may be extended, so they are not said to end).
    pub fn ends_soon(self, this_year: i32) -> bool {
        !self.open && self.year <= this_year + 1
    }
}

impl fmt::Display for Until {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.year, if self.open { "+" } else { "" })
    }
}

impl Serialize for Until {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    Named(String),
    CustomAtLeast(u32),
    Groups(Vec<String>),
    OtherGroup,
    DheSuites,
}

/// The guideline tables.
#[derive(Debug)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// The table embedded in the binary.
    pub fn embedded() -> Table {
        Table::parse(TABLE_TSV).expect("embedded guideline table is well-formed (checked by tests)")
    }

    /// Parses `guideline kind subject rating term until source version
    /// section basis`.
    pub fn parse(tsv: &str) -> Result<Table, String> {
        let mut rows = Vec::new();
        for (i, line) in tsv.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let at = |what: &str| format!("line {}: {what}", i + 1);
            let c: Vec<&str> = line.split('\t').collect();
            let [
                guideline,
                kind,
                subject,
                rating,
                term,
                until,
                source,
                version,
                section,
                basis,
            ] = c[..]
            else {
                return Err(at(&format!("expected 10 columns, got {}", c.len())));
            };
            let guideline = Guideline::parse(guideline)
                .filter(|g| *g != Guideline::None)
                .ok_or_else(|| at(&format!("unknown guideline {guideline:?}")))?;
            let subject = match (kind, subject) {
                ("dhe", s) if s.starts_with("custom>=") => Subject::CustomAtLeast(
                    s["custom>=".len()..]
                        .parse()
                        .map_err(|_| at(&format!("bad bit count in {s:?}")))?,
                ),
                ("dhe", s) if s.starts_with("ffdhe") => Subject::Named(s.to_owned()),
                ("suites", "dhe") => Subject::DheSuites,
                ("group", "*") => Subject::OtherGroup,
                ("group", s) => Subject::Groups(s.split('|').map(str::to_owned).collect()),
                (k, s) => return Err(at(&format!("kind {k:?} with subject {s:?}"))),
            };
            let rating =
                Rating::parse(rating).ok_or_else(|| at(&format!("unknown rating {rating:?}")))?;
            if !basis_names_a_commit(basis) {
                return Err(at(&format!(
                    "basis {basis:?}: expected document: or implementation: \
                     followed by repository:path@commit (40 hex digits)"
                )));
            }
            let until = Until::parse(until)
                .ok_or_else(|| at(&format!("until {until:?}: expected a year, YEAR+ or -")))?;
            rows.push(Row {
                guideline,
                rating,
                term: term.into(),
                until,
                source: source.into(),
                version: version.into(),
                section: section.into(),
                basis: basis.into(),
                subject,
            });
        }
        Ok(Table { rows })
    }

    /// The row that judges `choice` under `guideline`: an exact name first,
    /// then (DHE) the largest `custom>=N` the size reaches, or (groups) `*`.
    /// `None` for `Guideline::None` or a table with no applicable row.
    pub fn rate(&self, guideline: Guideline, choice: Choice<'_>) -> Option<&Row> {
        let rows = self.rows.iter().filter(|r| r.guideline == guideline);
        match choice {
            Choice::Dhe { named, bits } => {
                let exact = named.and_then(|n| {
                    rows.clone()
                        .find(|r| matches!(&r.subject, Subject::Named(s) if s == n))
                });
                exact.or_else(|| {
                    rows.filter_map(|r| match r.subject {
                        Subject::CustomAtLeast(n) if bits >= n => Some((n, r)),
                        _ => None,
                    })
                    .max_by_key(|(n, _)| *n)
                    .map(|(_, r)| r)
                })
            }
            Choice::DheSuites => rows.clone().find(|r| r.subject == Subject::DheSuites),
            Choice::Group(name) => {
                let name = canonical(name);
                rows.clone()
                    .find(|r| {
                        matches!(&r.subject, Subject::Groups(names)
                            if names.iter().any(|n| n.eq_ignore_ascii_case(name)))
                    })
                    .or_else(|| rows.clone().find(|r| r.subject == Subject::OtherGroup))
            }
        }
    }
}

/// `document:owner/repo:path@<40 hex>` or `implementation:...`.
fn basis_names_a_commit(basis: &str) -> bool {
    let Some(rest) = basis
        .strip_prefix("document:")
        .or_else(|| basis.strip_prefix("implementation:"))
    else {
        return false;
    };
    let Some((place, commit)) = rest.rsplit_once('@') else {
        return false;
    };
    let mut parts = place.splitn(2, ':');
    let (Some(repo), Some(path)) = (parts.next(), parts.next()) else {
        return false;
    };
    repo.split('/').filter(|p| !p.is_empty()).count() == 2
        && !path.is_empty()
        && commit.len() == 40
        && commit.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The probe names TLS 1.3 FFDHE groups by their catalog names.
fn canonical(name: &str) -> &str {
    name.strip_prefix("rfc7919-").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "document:o/r:p@0123456789abcdef0123456789abcdef01234567";

    fn row(fields: &str) -> String {
        format!("{fields}\ts\tv\tsec\t{B}\n")
    }

    #[test]
    fn the_embedded_table_parses_and_covers_every_guideline() {
        let t = Table::embedded();
        for g in Guideline::ALL {
            for choice in [
                Choice::Dhe {
                    named: None,
                    bits: 2048,
                },
                Choice::Dhe {
                    named: Some("ffdhe3072"),
                    bits: 3072,
                },
                Choice::Group("X25519"),
                Choice::Group("made-up"),
                Choice::DheSuites,
            ] {
                assert!(t.rate(g, choice).is_some(), "{g} has no row for {choice}");
            }
            assert_eq!(Guideline::parse(g.name()), Some(g));
        }
        assert!(t.rate(Guideline::None, Choice::Group("X25519")).is_none());
    }

    /// Each guideline's rows come from one edition: one version, and bases
    /// at the commits that implement that edition (no row citing one
    /// edition from another's source).
    #[test]
    fn every_row_cites_its_own_edition() {
        let editions: [(Guideline, &str, &[&str]); 6] = [
            (
                Guideline::NcscNl,
                "2025-05",
                &[
                    "internetstandards/Internet.nl:checks/tasks/tls/@013638fe0085c5455693e250f3619e85c427922a",
                ],
            ),
            (
                Guideline::NcscNl2021,
                "2.1 (2021-01)",
                &[
                    "internetstandards/Internet.nl:checks/tasks/tls/@53d0ad230eaa04b912e387d744c186a74614c401",
                ],
            ),
            (
                Guideline::Bsi,
                "2025-01",
                &[
                    "xoryouyou/bsi-technical-guidelines-markdown:markdown/tr/BSI-TR-02102-2/@51af78522b07a926ea3e75b1c518cacb16613402",
                ],
            ),
            (
                Guideline::MozillaIntermediate,
                "6.0",
                &[
                    "mozilla/ssl-config-generator:src/static/guidelines/6.0.json@f196de90d2d68d5578350bbc5b77397456adf75d",
                    "mozilla/ssl-config-generator:src/js/@858f8f74a4fd1293a3a7f5ab0c16eb1eb891393a",
                ],
            ),
            (
                Guideline::MozillaModern,
                "6.0",
                &[
                    "mozilla/ssl-config-generator:src/static/guidelines/6.0.json@f196de90d2d68d5578350bbc5b77397456adf75d",
                    "mozilla/ssl-config-generator:src/js/@858f8f74a4fd1293a3a7f5ab0c16eb1eb891393a",
                ],
            ),
            (
                Guideline::MozillaIntermediate57,
                "5.7 (2023-05-15)",
                &[
                    "mozilla/ssl-config-generator:src/static/guidelines/5.7.json@b2a5a068fbfbe46007c16dd6528c7ada56bcf20f",
                    "mozilla/ssl-config-generator:src/js/@b2a5a068fbfbe46007c16dd6528c7ada56bcf20f",
                ],
            ),
        ];
        let t = Table::embedded();
        assert!(!t.rows.is_empty());
        for r in &t.rows {
            let (_, version, bases) = editions
                .iter()
                .find(|(g, _, _)| *g == r.guideline)
                .expect("every guideline has an edition here");
            assert_eq!(&r.version, version, "{r:?}");
            let (_, cited) = r.basis.split_once(':').unwrap();
            let (place, commit) = cited.rsplit_once('@').unwrap();
            assert!(
                bases.iter().any(|b| {
                    let (prefix, want) = b.rsplit_once('@').unwrap();
                    place.starts_with(prefix) && commit == want
                }),
                "{} row {:?} cites {cited}, not its edition's source",
                r.guideline,
                r.subject
            );
        }
    }

    #[test]
    fn custom_primes_take_the_largest_bound_they_reach() {
        let t = Table::parse(&format!(
            "{}{}",
            row("bsi\tdhe\tcustom>=3000\tsufficient\tok\t2029"),
            row("bsi\tdhe\tcustom>=0\tinsufficient\tno\t-")
        ))
        .unwrap();
        let r = |bits| {
            t.rate(Guideline::Bsi, Choice::Dhe { named: None, bits })
                .unwrap()
        };
        assert_eq!(r(2048).rating, Rating::Insufficient);
        assert_eq!(r(3072).rating, Rating::Sufficient);
        assert_eq!(
            r(3072).until,
            Some(Until {
                year: 2029,
                open: false
            })
        );
        // A named group with no row of its own is judged by its size.
        let named = t.rate(
            Guideline::Bsi,
            Choice::Dhe {
                named: Some("ffdhe4096"),
                bits: 4096,
            },
        );
        assert_eq!(named.unwrap().rating, Rating::Sufficient);
    }

    #[test]
    fn group_aliases_and_catalog_names_match() {
        let t = Table::embedded();
        let r = |g, name| t.rate(g, Choice::Group(name)).unwrap().rating;
        assert_eq!(r(Guideline::NcscNl, "prime256v1"), Rating::Good);
        assert_eq!(r(Guideline::NcscNl, "secp256r1"), Rating::Good);
        assert_eq!(r(Guideline::NcscNl, "rfc7919-ffdhe3072"), Rating::PhaseOut);
        assert_eq!(
            r(Guideline::NcscNl2021, "rfc7919-ffdhe3072"),
            Rating::Sufficient
        );
        assert_eq!(r(Guideline::NcscNl, "sect163k1"), Rating::Insufficient);
        // The BSI does not call what it does not list insecure.
        assert_eq!(r(Guideline::Bsi, "X25519"), Rating::Unrated);
    }

    #[test]
    fn recommendations_that_end_within_a_year_are_told_apart() {
        let until = |s| Until::parse(s).unwrap().unwrap();
        assert!(until("2027").ends_soon(2026));
        assert!(until("2026").ends_soon(2026));
        assert!(!until("2029").ends_soon(2026));
        assert!(!until("2027+").ends_soon(2026));
        assert_eq!(until("2031+").to_string(), "2031+");
        assert_eq!(Until::parse("-"), Some(None));
        assert_eq!(Until::parse("soon"), None);
    }

    #[test]
    fn a_malformed_row_is_named_by_line() {
        let err = Table::parse(&format!(
            "# c\n{}",
            row("ncsc-nl\tdhe\tcustom>=x\tgood\tt\t-")
        ))
        .unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        let err = Table::parse(&row("ncsc-nl\tgroup\tX25519\tgreat\tt\t-")).unwrap_err();
        assert!(err.contains("unknown rating"), "{err}");
        let err = Table::parse(&row("ncsc-nl\tgroup\tX25519\tgood\tt\tlater")).unwrap_err();
        assert!(err.contains("until \"later\""), "{err}");
        let err =
            Table::parse("ncsc-nl\tgroup\tX25519\tgood\tt\t-\ts\tv\tsec\tdocument:my reading\n")
                .unwrap_err();
        assert!(err.contains("repository:path@commit"), "{err}");
        let err = Table::parse("ncsc-nl\tgroup\tX25519\tgood\tt\t-\ts\tv\tsec\tunverified:x@y\n")
            .unwrap_err();
        assert!(err.contains("basis"), "{err}");
    }

    #[test]
    fn unrated_never_makes_a_posture_worse() {
        assert!(Rating::Insufficient.worse_than(Rating::PhaseOut));
        assert!(!Rating::Unrated.worse_than(Rating::Good));
        assert!(!Rating::Good.worse_than(Rating::Unrated));
    }
}
