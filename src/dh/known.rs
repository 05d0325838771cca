//! The catalog of well-known, widely shared DH primes (data/known-dh-groups.tsv).
//!
//! A prime that thousands of servers share is what Logjam-style
//! precomputation targets, so dhrotate refuses to install one and names it
//! when it sees one.

use std::collections::HashMap;

use openssl::bn::BigNumRef;

const CATALOG_TSV: &str = include_str!("../../data/known-dh-groups.tsv");

/// The sizes of RFC 7919's groups.
pub const RFC7919_BITS: [u32; 5] = [2048, 3072, 4096, 6144, 8192];

/// One well-known prime from the catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KnownGroup {
    /// Primary name (e.g. `rfc3526-modp2048`).
    pub name: String,
    /// Every name the sources use for this prime.
    pub aliases: Vec<String>,
    /// Size of the prime in bits.
    pub bits: u32,
    /// Whether the catalog records p and (p-1)/2 as both prime.
    pub safe_prime: bool,
    /// Uppercase hex of the prime, no leading zeros.
    #[serde(skip)]
    pub prime_hex: String,
}

impl KnownGroup {
    /// The TLS name (`ffdhe3072`) when this is one of RFC 7919's groups.
    pub fn rfc7919(&self) -> Option<&str> {
        self.name.strip_prefix("rfc7919-")
    }
}

/// Lookup table from prime to catalog entry.
#[derive(Debug)]
pub struct Catalog {
    by_prime: HashMap<String, KnownGroup>,
}

impl Catalog {
    /// The catalog embedded in the binary.
    pub fn embedded() -> Catalog {
        Catalog::parse(CATALOG_TSV).expect("embedded catalog is well-formed (checked by tests)")
    }

    /// Parses the TSV format: `name bits generator safe_prime source prime_hex`.
    pub fn parse(tsv: &str) -> Result<Catalog, String> {
        let mut by_prime = HashMap::new();
        for (i, line) in tsv.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() != 6 {
                return Err(format!(
                    "line {}: expected 6 columns, got {}",
                    i + 1,
                    cols.len()
                ));
            }
            let aliases: Vec<String> = cols[0].split('|').map(str::to_owned).collect();
            let bits = cols[1]
                .parse()
                .map_err(|_| format!("line {}: bad bit count {:?}", i + 1, cols[1]))?;
            let prime_hex = normalize_hex(cols[5]);
            let group = KnownGroup {
                name: aliases[0].clone(),
                aliases,
                bits,
                safe_prime: cols[3] == "yes",
                prime_hex: prime_hex.clone(),
            };
            by_prime.insert(prime_hex, group);
        }
        Ok(Catalog { by_prime })
    }

    /// The catalog entry for `p`, if it is a known shared prime.
    pub fn lookup(&self, p: &BigNumRef) -> Option<&KnownGroup> {
        let hex = p.to_hex_str().ok()?;
        self.by_prime.get(&normalize_hex(&hex))
    }

    /// The entry whose primary name is `name`.
    pub fn by_name(&self, name: &str) -> Option<&KnownGroup> {
        self.by_prime.values().find(|g| g.name == name)
    }

    /// Number of distinct primes in the catalog.
    pub fn len(&self) -> usize {
        self.by_prime.len()
    }

    /// True when the catalog holds no primes.
    pub fn is_empty(&self) -> bool {
        self.by_prime.is_empty()
    }

    /// Every entry, for tests and listings.
    pub fn iter(&self) -> impl Iterator<Item = &KnownGroup> {
        self.by_prime.values()
    }
}

fn normalize_hex(s: &str) -> String {
    let up = s.trim().to_ascii_uppercase();
    let trimmed = up.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::bn::BigNum;

    #[test]
    fn embedded_catalog_has_every_row_and_finds_rfc3526() {
        let cat = Catalog::embedded();
        let rows = CATALOG_TSV.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(cat.len(), rows);
        let modp2048 = BigNum::get_rfc3526_prime_2048().unwrap();
        let hit = cat.lookup(&modp2048).expect("RFC 3526 2048 is catalogued");
        assert_eq!(hit.name, "rfc3526-modp2048");
        assert_eq!(hit.bits, 2048);
    }

    #[test]
    fn a_fresh_prime_is_not_in_the_catalog() {
        let cat = Catalog::embedded();
        let mut p = BigNum::new().unwrap();
        p.generate_prime(256, false, None, None).unwrap();
        assert!(cat.lookup(&p).is_none());
    }
}
