//! Published TLS guidelines as data (data/tls-guidelines.tsv), and the
//! rating of one observed key-exchange choice against one of them. Which
//! choices a server makes is found elsewhere (ops::posture); this module
//! only knows the tables.

use std::fmt;

use serde::Serialize;

const TABLE_TSV: &str = include_str!("../../data/tls-guidelines.tsv");

/// `[policy] guideline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guideline {
    /// The Dutch NCSC's TLS guidelines (what internet.nl tests against).
    NcscNl,
    /// BSI TR-02102-2.
    Bsi,
    /// Mozilla's intermediate profile.
    MozillaIntermediate,
    /// No judgement.
    None,
}

impl Guideline {
    /// Every guideline the table has, by their configuration names.
    pub const ALL: [Guideline; 3] = [
        Guideline::NcscNl,
        Guideline::Bsi,
        Guideline::MozillaIntermediate,
    ];

    /// Parses the configuration name.
    pub fn parse(s: &str) -> Option<Guideline> {
        match s {
            "ncsc-nl" => Some(Guideline::NcscNl),
            "bsi" => Some(Guideline::Bsi),
            "mozilla-intermediate" => Some(Guideline::MozillaIntermediate),
            "none" => Some(Guideline::None),
            _ => None,
        }
    }

    /// The configuration name.
    pub fn name(self) -> &'static str {
        match self {
            Guideline::NcscNl => "ncsc-nl",
            Guideline::Bsi => "bsi",
            Guideline::MozillaIntermediate => "mozilla-intermediate",
            Guideline::None => "none",
        }
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
    /// The document.
    pub source: String,
    /// Its version.
    pub version: String,
    /// Where in it.
    pub section: String,
    /// How the row was taken from it: `document:`, `implementation:` (a
    /// tester's code that applies it) or `unverified:`.
    pub basis: String,
    #[serde(skip)]
    subject: Subject,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    Named(String),
    CustomAtLeast(u32),
    Groups(Vec<String>),
    OtherGroup,
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

    /// Parses `guideline kind subject rating term source version section basis`.
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
                source,
                version,
                section,
                basis,
            ] = c[..]
            else {
                return Err(at(&format!("expected 9 columns, got {}", c.len())));
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
                ("group", "*") => Subject::OtherGroup,
                ("group", s) => Subject::Groups(s.split('|').map(str::to_owned).collect()),
                (k, s) => return Err(at(&format!("kind {k:?} with subject {s:?}"))),
            };
            let rating =
                Rating::parse(rating).ok_or_else(|| at(&format!("unknown rating {rating:?}")))?;
            if !["document:", "implementation:", "unverified:"]
                .iter()
                .any(|p| basis.starts_with(p))
            {
                return Err(at(
                    "basis must start with document:, implementation: or unverified:",
                ));
            }
            rows.push(Row {
                guideline,
                rating,
                term: term.into(),
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

/// The probe names TLS 1.3 FFDHE groups by their catalog names.
fn canonical(name: &str) -> &str {
    name.strip_prefix("rfc7919-").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            ] {
                assert!(t.rate(g, choice).is_some(), "{g} has no row for {choice}");
            }
        }
        assert!(t.rate(Guideline::None, Choice::Group("X25519")).is_none());
    }

    #[test]
    fn custom_primes_take_the_largest_bound_they_reach() {
        let t = Table::parse(
            "bsi\tdhe\tcustom>=3000\tsufficient\tok\ts\tv\tsec\tdocument:x\n\
             bsi\tdhe\tcustom>=0\tinsufficient\tno\ts\tv\tsec\tdocument:x\n",
        )
        .unwrap();
        let r = |bits| {
            t.rate(Guideline::Bsi, Choice::Dhe { named: None, bits })
                .unwrap()
                .rating
        };
        assert_eq!(r(2048), Rating::Insufficient);
        assert_eq!(r(3072), Rating::Sufficient);
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
        let r = |name| {
            t.rate(Guideline::NcscNl, Choice::Group(name))
                .unwrap()
                .rating
        };
        assert_eq!(r("prime256v1"), Rating::Good);
        assert_eq!(r("secp256r1"), Rating::Good);
        assert_eq!(r("rfc7919-ffdhe2048"), Rating::PhaseOut);
        assert_eq!(r("sect163k1"), Rating::Insufficient);
    }

    #[test]
    fn a_malformed_row_is_named_by_line() {
        let err = Table::parse("# c\nncsc-nl\tdhe\tcustom>=x\tgood\tt\ts\tv\tsec\tdocument:x\n")
            .unwrap_err();
        assert!(err.starts_with("line 2:"), "{err}");
        let err =
            Table::parse("ncsc-nl\tgroup\tX25519\tgreat\tt\ts\tv\tsec\tdocument:x\n").unwrap_err();
        assert!(err.contains("unknown rating"), "{err}");
    }

    #[test]
    fn unrated_never_makes_a_posture_worse() {
        assert!(Rating::Insufficient.worse_than(Rating::PhaseOut));
        assert!(!Rating::Unrated.worse_than(Rating::Good));
        assert!(!Rating::Good.worse_than(Rating::Unrated));
    }
}
