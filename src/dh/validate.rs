//! Validation of DH groups, independent of whatever generated them.
//!
//! Each check answers a question an attacker or a bug could get wrong:
//! is p prime, is (p-1)/2 prime (so small-subgroup attacks fail), is the
//! generator sane, does OpenSSL itself accept the group, is the size the one
//! we asked for, and is it a widely shared prime.

use num_bigint::BigUint;
use num_prime::PrimalityTestConfig;
use openssl::bn::BigNumRef;
use openssl::dh::Dh;
use openssl::pkey::Params;
use serde::Serialize;

use super::known::{Catalog, KnownGroup};
use super::pem;

/// What a group must satisfy besides being a valid safe-prime group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acceptance {
    /// Exact size required, when the caller knows it.
    pub expected_bits: Option<u32>,
    /// Smallest size accepted.
    pub min_bits: u32,
    /// Named mode: the group must be the RFC 7919 group of its size, the
    /// one catalogued prime accepted on purpose; unique mode (`false`)
    /// refuses every catalogued prime.
    pub named: bool,
}

/// Order of the subgroup the generator spans in a safe-prime group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GeneratorOrder {
    /// g^q = 1: g generates the prime-order subgroup.
    Q,
    /// g^q = p-1: g generates the whole group of order 2q.
    TwoQ,
    /// Neither: not a proper generator for a safe-prime group.
    Other,
}

/// What the costly tests found about one group, whatever the policy: the
/// part of a verdict the verdict cache (`super::proofs`) keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Proof {
    /// Size of p in bits.
    pub bits: u32,
    /// The generator, decimal.
    pub generator: String,
    /// SHA-256 of p (big-endian bytes), lowercase hex.
    pub fingerprint: String,
    /// p passed num-prime's strict primality test.
    pub p_prime: bool,
    /// (p-1)/2 passed num-prime's strict primality test.
    pub q_prime: bool,
    /// What g^q mod p says about the generator.
    pub generator_order: GeneratorOrder,
    /// Problems OpenSSL's own DH_check reported (empty when it agrees).
    pub openssl_check: Vec<String>,
    /// A base-2 Fermat test showed p composite; nothing else ran.
    pub screened_composite: bool,
}

impl Proof {
    /// Size, generator and fingerprint of `dh`, nothing proved yet.
    fn untested(dh: &Dh<Params>) -> Proof {
        Proof {
            bits: dh.prime_p().num_bits() as u32,
            generator: to_biguint(dh.generator()).to_string(),
            fingerprint: fingerprint(dh.prime_p()),
            p_prime: false,
            q_prime: false,
            generator_order: GeneratorOrder::Other,
            openssl_check: Vec::new(),
            screened_composite: false,
        }
    }

    /// Whether this proof is about `dh`: same prime, size and generator.
    /// A cached proof filed under the wrong bytes fails this.
    pub fn describes(&self, dh: &Dh<Params>) -> bool {
        self.fingerprint == fingerprint(dh.prime_p())
            && self.bits == dh.prime_p().num_bits() as u32
            && to_biguint(dh.generator()).to_string() == self.generator
    }
}

/// Everything the validator found out about one group.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The costly tests' results (not run when the size alone refuses
    /// the group: then only size, generator and fingerprint are set).
    #[serde(flatten)]
    pub proof: Proof,
    /// Catalog entry, when p is a well-known shared prime.
    pub known: Option<KnownGroup>,
    /// Every reason to refuse the group; empty means accepted.
    pub problems: Vec<String>,
    /// The primality, generator and DH_check tests did not run: the size
    /// alone refuses it, or p is plainly composite.
    pub screened_out: bool,
    /// The costly tests' results came from the verdict cache: these exact
    /// bytes were proved before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
}

impl Verdict {
    /// True when nothing argues against using the group.
    pub fn accepted(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A group that passed validation, ready to be written.
#[derive(Debug, Clone)]
pub struct ValidGroup {
    /// The PEM text to write, as OpenSSL renders it.
    pub pem: Vec<u8>,
    /// The verdict that let it through.
    pub verdict: Verdict,
}

/// A group or file that validation refused (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("refusing {what}: {}", reasons.join("; "))]
pub struct Refused {
    /// What was refused (a path or "generated 2048-bit group").
    pub what: String,
    /// Why, in words.
    pub reasons: Vec<String>,
}

/// Where the costly half of a validation (`Proof`) comes from: made now,
/// or recalled by the verdict cache (`super::proofs::Proofs`).
pub trait Prover: Sync {
    /// The proof of `bytes`, which parse as `dh`; `true` when recalled.
    fn proof(&self, bytes: &[u8], dh: &Dh<Params>) -> (Proof, bool);
}

/// Proves every time: the independent check (`check FILE`, `probe`,
/// `generate`).
pub struct FromScratch;

impl Prover for FromScratch {
    fn proof(&self, _: &[u8], dh: &Dh<Params>) -> (Proof, bool) {
        (prove(dh), false)
    }
}

/// Parses and validates PEM bytes; `Err` only for files that do not parse.
pub fn validate_pem(
    bytes: &[u8],
    policy: &Acceptance,
    catalog: &Catalog,
    prover: &dyn Prover,
) -> Result<(Dh<Params>, Verdict), pem::PemError> {
    let dh = pem::parse(bytes)?;
    let verdict = validate_rendered(&dh, bytes, policy, catalog, prover);
    Ok((dh, verdict))
}

/// Validates `dh`, whose PEM form is `pem` (what `prover` files a proof
/// under).
pub fn validate_rendered(
    dh: &Dh<Params>,
    pem: &[u8],
    policy: &Acceptance,
    catalog: &Catalog,
    prover: &dyn Prover,
) -> Verdict {
    judge(dh, policy, catalog, |dh| prover.proof(pem, dh))
}

/// Turns a group into a `ValidGroup` (its PEM rendering is what gets
/// written, and what a cache files the proof under), or says why it is
/// refused.
pub fn accept(
    dh: &Dh<Params>,
    what: &str,
    policy: &Acceptance,
    catalog: &Catalog,
    prover: &dyn Prover,
) -> Result<ValidGroup, Refused> {
    let refused = |reasons| Refused {
        what: what.to_owned(),
        reasons,
    };
    let pem = dh
        .params_to_pem()
        .map_err(|e| refused(vec![format!("OpenSSL cannot encode it: {e}")]))?;
    let verdict = validate_rendered(dh, &pem, policy, catalog, prover);
    if !verdict.accepted() {
        return Err(refused(verdict.problems));
    }
    Ok(ValidGroup { pem, verdict })
}

/// The largest prime dhrotate validates (RFC 7919 stops at 8192).
pub const MAX_BITS: u32 = 16384;

/// Runs every check on `dh`.
pub fn validate(dh: &Dh<Params>, policy: &Acceptance, catalog: &Catalog) -> Verdict {
    judge(dh, policy, catalog, |dh| (prove(dh), false))
}

/// The policy's judgement of `dh`; `proof` runs (or recalls) the costly
/// tests, and says whether it recalled them, unless the size alone
/// refuses the group.
fn judge(
    dh: &Dh<Params>,
    policy: &Acceptance,
    catalog: &Catalog,
    proof: impl FnOnce(&Dh<Params>) -> (Proof, bool),
) -> Verdict {
    let bits = dh.prime_p().num_bits() as u32;
    let mut problems = size_problems(bits, policy);
    let known = catalog.lookup(dh.prime_p()).cloned();
    // The tests cost seconds to minutes on large input: a size that is
    // refused anyway skips them.
    if !problems.is_empty() {
        return Verdict {
            proof: Proof::untested(dh),
            known,
            problems,
            screened_out: true,
            cached: false,
        };
    }
    let (proof, cached) = proof(dh);
    problems.extend(proof_problems(&proof));
    if !proof.screened_composite {
        problems.extend(catalog_problems(known.as_ref(), &proof, policy));
    }
    Verdict {
        screened_out: proof.screened_composite,
        proof,
        known,
        problems,
        cached,
    }
}

fn size_problems(bits: u32, policy: &Acceptance) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(want) = policy.expected_bits.filter(|&want| bits != want) {
        problems.push(format!("prime is {bits} bits, expected exactly {want}"));
    }
    if bits < policy.min_bits {
        problems.push(format!(
            "prime is {bits} bits, below the minimum of {}",
            policy.min_bits
        ));
    }
    if bits > MAX_BITS {
        problems.push(format!(
            "prime is {bits} bits, more than the {MAX_BITS} dhrotate tests (and far more than any client accepts)"
        ));
    }
    problems
}

/// The costly tests, independent of any policy: primality of p and q
/// (num-prime, strict), the generator's order, OpenSSL's DH_check. A p
/// that a base-2 Fermat test (which never calls a prime composite) shows
/// composite skips the rest. Sizes above `MAX_BITS` are the caller's to
/// refuse first.
pub fn prove(dh: &Dh<Params>) -> Proof {
    let p = to_biguint(dh.prime_p());
    let g = to_biguint(dh.generator());
    let bits = p.bits() as u32;
    let mut proof = Proof::untested(dh);
    proof.screened_composite = !passes_fermat_base_2(dh.prime_p());
    if proof.screened_composite {
        return proof;
    }
    let one = BigUint::from(1u32);
    let strict = Some(PrimalityTestConfig::strict());
    let q = if bits > 2 {
        (&p - &one) >> 1
    } else {
        BigUint::from(0u32)
    };
    // OpenSSL's check and num-prime's are independent: run them side by side.
    let (openssl_check, p_prime, q_prime) = std::thread::scope(|s| {
        let ossl = s.spawn(|| openssl_dh_check(dh));
        let p_prime = bits > 2 && num_prime::nt_funcs::is_prime(&p, strict).probably();
        // Only worth testing q when p is prime; a composite p is refused anyway.
        let q_prime = p_prime && num_prime::nt_funcs::is_prime(&q, strict).probably();
        (
            ossl.join().expect("DH_check thread panicked"),
            p_prime,
            q_prime,
        )
    });
    proof.openssl_check = openssl_check.into_iter().map(str::to_owned).collect();
    proof.p_prime = p_prime;
    proof.q_prime = q_prime;
    proof.generator_order = if p_prime && g > one && g < &p - &one {
        let r = g.modpow(&q, &p);
        if r == one {
            GeneratorOrder::Q
        } else if r == &p - &one {
            GeneratorOrder::TwoQ
        } else {
            GeneratorOrder::Other
        }
    } else {
        GeneratorOrder::Other
    };
    proof
}

/// 2^(p-1) = 1 mod p (`fermat::Fermat`): one exponentiation screens out
/// composites (a prime always passes; below 4, and when OpenSSL fails, the
/// full tests decide). Not OpenSSL's `is_prime(1)`: OpenSSL 3 raises any round count to its
/// minimum for the size, 64 Miller-Rabin rounds at 2048 bits, which was a
/// third of a 2048-bit proof spent on the screen.
fn passes_fermat_base_2(p: &BigNumRef) -> bool {
    if p.num_bits() <= 2 {
        return true;
    }
    super::fermat::Fermat::new()
        .and_then(|mut f| f.passes(p))
        .unwrap_or(true)
}

/// What the proof says against the group.
fn proof_problems(proof: &Proof) -> Vec<String> {
    let mut problems = Vec::new();
    if proof.screened_composite || !proof.p_prime {
        problems.push("p is not prime".into());
    } else if !proof.q_prime {
        problems.push(
            "p is prime but (p-1)/2 is not: not a safe prime, so small subgroups exist".into(),
        );
    }
    if proof.screened_composite {
        return problems;
    }
    let g = proof.generator.as_str();
    if g != "2" && g != "5" {
        problems.push(format!("generator is {g}, expected 2 or 5"));
    } else if proof.p_prime && proof.q_prime && proof.generator_order == GeneratorOrder::Other {
        problems.push(format!("generator {g} does not have order q or 2q"));
    }
    if !proof.openssl_check.is_empty() {
        problems.push(format!(
            "OpenSSL's DH check fails: {}",
            proof.openssl_check.join(", ")
        ));
    }
    problems
}

/// What the mode says of a catalogued (or custom) prime.
fn catalog_problems(known: Option<&KnownGroup>, proof: &Proof, policy: &Acceptance) -> Vec<String> {
    let bits = proof.bits;
    let g2 = proof.generator == "2";
    let problem = match (known, policy.named) {
        (Some(k), true) if k.rfc7919().is_some() && g2 => return Vec::new(),
        (Some(k), true) => format!(
            "prime is {} ({}), a widely shared group but not RFC 7919's: named mode installs ffdhe{bits}",
            k.name,
            k.aliases.join(", ")
        ),
        (Some(k), false) => format!(
            "prime is {} ({}), a widely shared group; generate a fresh one with `dhrotate generate` or `dhrotate now`{}",
            k.name,
            k.aliases.join(", "),
            if k.rfc7919().is_some() {
                " (or set mode = \"named\" to serve RFC 7919 groups on purpose)"
            } else {
                ""
            }
        ),
        (None, true) => format!(
            "a custom {bits}-bit prime, but named mode serves RFC 7919 groups only{}",
            if super::known::RFC7919_BITS.contains(&bits) {
                format!(" (ffdhe{bits})")
            } else {
                String::new()
            }
        ),
        (None, false) => return Vec::new(),
    };
    vec![problem]
}

/// SHA-256 of the prime's big-endian bytes, lowercase hex: the identity of a group.
pub fn fingerprint(p: &BigNumRef) -> String {
    sha256_hex(&p.to_vec())
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    openssl::sha::sha256(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn to_biguint(n: &BigNumRef) -> BigUint {
    BigUint::from_bytes_be(&n.to_vec())
}

// DH_check reason bits from <openssl/dh.h>; openssl-sys declares the
// function but not the flags.
const DH_CHECK_FLAGS: [(i32, &str); 9] = [
    (0x01, "p is not prime"),
    (0x02, "p is not a safe prime"),
    (0x04, "unable to check the generator"),
    (0x08, "generator is not suitable"),
    (0x10, "q is not prime"),
    (0x20, "invalid q"),
    (0x40, "invalid j"),
    (0x80, "modulus too small"),
    (0x100, "modulus too large"),
];

/// OpenSSL's `DH_check` reasons; empty when OpenSSL accepts the group.
fn openssl_dh_check(dh: &Dh<Params>) -> Vec<&'static str> {
    use foreign_types_shared::ForeignType;
    let mut codes: std::os::raw::c_int = 0;
    // SAFETY: dh.as_ptr() is a valid DH* for the lifetime of `dh`, and
    // DH_check only reads it and writes the int we pass.
    let ok = unsafe { openssl_sys::DH_check(dh.as_ptr(), &mut codes) };
    if ok != 1 {
        return vec!["OpenSSL could not run the check"];
    }
    DH_CHECK_FLAGS
        .iter()
        .filter(|(bit, _)| codes & bit != 0)
        .map(|(_, name)| *name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::bn::BigNum;

    fn group(p: BigNum, g: u32) -> Dh<Params> {
        Dh::from_pqg(p, None, BigNum::from_u32(g).unwrap()).unwrap()
    }

    const ANY: Acceptance = Acceptance {
        expected_bits: None,
        min_bits: 0,
        named: false,
    };

    #[test]
    fn fresh_openssl_group_is_accepted() {
        let dh = Dh::generate_params(512, 2).unwrap();
        let v = validate(&dh, &ANY, &Catalog::embedded());
        assert!(v.accepted(), "{:?}", v.problems);
        assert!(v.proof.p_prime && v.proof.q_prime);
        assert_eq!(v.proof.bits, 512);
        assert_eq!(v.proof.fingerprint.len(), 64);
    }

    #[test]
    fn the_screen_passes_primes_and_stops_composites() {
        let n = |s: &str| BigNum::from_dec_str(s).unwrap();
        for prime in [
            "2",
            "3",
            "5",
            "7919",
            "170141183460469231731687303715884105727",
        ] {
            assert!(passes_fermat_base_2(&n(prime)), "{prime}");
        }
        for g in Catalog::embedded().iter().filter(|g| g.safe_prime) {
            assert!(passes_fermat_base_2(
                &BigNum::from_hex_str(&g.prime_hex).unwrap()
            ));
        }
        // Even, a prime's square, and (2^64 - 59)(2^64 - 83).
        for composite in [
            "4",
            "1000000",
            "62710561",
            "340282366920938460843936948965011886881",
        ] {
            assert!(!passes_fermat_base_2(&n(composite)), "{composite}");
        }
    }

    #[test]
    fn composite_p_is_refused() {
        let composite = BigNum::from_dec_str(&("1".to_owned() + &"0".repeat(150))).unwrap();
        let v = validate(&group(composite, 2), &ANY, &Catalog::embedded());
        assert!(!v.proof.p_prime);
        assert!(
            v.problems.iter().any(|p| p == "p is not prime"),
            "{:?}",
            v.problems
        );
    }

    #[test]
    fn catalogued_prime_is_refused_by_name() {
        let dh = group(BigNum::get_rfc3526_prime_2048().unwrap(), 2);
        let v = validate(&dh, &ANY, &Catalog::embedded());
        assert!(v.proof.p_prime && v.proof.q_prime);
        assert_eq!(v.known.as_ref().unwrap().name, "rfc3526-modp2048");
        assert!(v.problems.iter().any(|p| p.contains("rfc3526-modp2048")));
    }

    #[test]
    fn wrong_size_and_small_size_are_refused() {
        let dh = Dh::generate_params(512, 2).unwrap();
        let policy = Acceptance {
            expected_bits: Some(1024),
            min_bits: 1024,
            named: false,
        };
        let v = validate(&dh, &policy, &Catalog::embedded());
        assert!(
            v.problems
                .iter()
                .any(|p| p.contains("expected exactly 1024"))
        );
        assert!(
            v.problems
                .iter()
                .any(|p| p.contains("below the minimum of 1024"))
        );
    }

    #[test]
    fn odd_generator_is_refused() {
        let dh = Dh::generate_params(512, 2).unwrap();
        let p = dh.prime_p().to_owned().unwrap();
        let v = validate(&group(p, 3), &ANY, &Catalog::embedded());
        assert!(
            v.problems.iter().any(|p| p.contains("generator is 3")),
            "{:?}",
            v.problems
        );
    }

    #[test]
    fn named_mode_accepts_exactly_the_rfc7919_group_of_the_size() {
        let cat = Catalog::embedded();
        let named = |bits| Acceptance {
            expected_bits: Some(bits),
            min_bits: 2048,
            named: true,
        };
        let hex = &cat.by_name("rfc7919-ffdhe2048").unwrap().prime_hex;
        let ffdhe2048 = group(BigNum::from_hex_str(hex).unwrap(), 2);
        let v = validate(&ffdhe2048, &named(2048), &cat);
        assert!(v.accepted(), "{:?}", v.problems);
        assert_eq!(v.known.as_ref().unwrap().rfc7919(), Some("ffdhe2048"));
        // Another RFC 7919 size is the wrong group for a 3072-bit slot.
        assert!(!validate(&ffdhe2048, &named(3072), &cat).accepted());
        // Other catalogued primes stay refused, and so does a custom one.
        let modp = group(BigNum::get_rfc3526_prime_2048().unwrap(), 2);
        let v = validate(&modp, &named(2048), &cat);
        assert!(
            v.problems.iter().any(|p| p.contains("not RFC 7919's")),
            "{:?}",
            v.problems
        );
        let fresh = Dh::generate_params(512, 2).unwrap();
        let v = validate(&fresh, &ANY_NAMED, &cat);
        assert!(
            v.problems
                .iter()
                .any(|p| p.contains("a custom 512-bit prime")),
            "{:?}",
            v.problems
        );
        // Unique mode refuses the named group and says how to want it.
        let v = validate(&ffdhe2048, &ANY, &cat);
        assert!(
            v.problems.iter().any(|p| p.contains("mode = \"named\"")),
            "{:?}",
            v.problems
        );
    }

    const ANY_NAMED: Acceptance = Acceptance {
        expected_bits: None,
        min_bits: 0,
        named: true,
    };
}
