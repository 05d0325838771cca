//! RFC 7919's named groups, for named mode: the same prime on every
//! server, which clients and auditors recognise by name, instead of a
//! fresh one. The primes come from the embedded catalog (whose rows name
//! their sources); a test holds them against OpenSSL's own.

use anyhow::{Result, anyhow};
use openssl::bn::BigNum;
use openssl::dh::Dh;
use openssl::pkey::Params;

use super::known::Catalog;
use super::source::GroupSource;

pub use super::known::RFC7919_BITS as BITS;

/// The TLS name of the RFC 7919 group of `bits` bits (`ffdhe3072`).
pub fn tls_name(bits: u32) -> Option<String> {
    BITS.contains(&bits).then(|| format!("ffdhe{bits}"))
}

/// The RFC 7919 group of `bits` bits, generator 2.
pub fn group(bits: u32, catalog: &Catalog) -> Result<Dh<Params>> {
    let name = tls_name(bits).ok_or_else(|| {
        anyhow!("RFC 7919 defines no {bits}-bit group (it has 2048, 3072, 4096, 6144 and 8192)")
    })?;
    let entry = catalog
        .by_name(&format!("rfc7919-{name}"))
        .ok_or_else(|| anyhow!("the embedded catalog lacks rfc7919-{name}"))?;
    let p = BigNum::from_hex_str(&entry.prime_hex)?;
    Ok(Dh::from_pqg(p, None, BigNum::from_u32(2)?)?)
}

/// Named mode's source: the RFC 7919 group of the asked size, every time.
pub struct NamedSource<'a> {
    /// Where the primes come from.
    pub catalog: &'a Catalog,
}

impl GroupSource for NamedSource<'_> {
    fn fresh(&self, bits: u32) -> Result<(Dh<Params>, &'static str)> {
        Ok((group(bits, self.catalog)?, "rfc7919"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // libcrypto's RFC 7919 groups by NID, in OpenSSL 1.1.1 and 3 alike
    // (1.1.1's command line cannot name them); openssl-sys omits it.
    unsafe extern "C" {
        fn DH_new_by_nid(nid: std::os::raw::c_int) -> *mut openssl_sys::DH;
    }

    /// OpenSSL knows the RFC 7919 groups by name; the catalog's copies
    /// must be the same primes, or named mode would serve something else.
    #[test]
    fn catalog_primes_are_openssls_ffdhe_groups() {
        use foreign_types_shared::ForeignType;
        let catalog = Catalog::embedded();
        for (bits, nid) in BITS.into_iter().zip(1126..) {
            // SAFETY: DH_new_by_nid returns a new DH (or NULL), which Dh owns.
            let raw = unsafe { DH_new_by_nid(nid) };
            assert!(!raw.is_null(), "OpenSSL has no group for NID {nid}");
            let theirs: Dh<Params> = unsafe { Dh::from_ptr(raw) };
            let ours = group(bits, &catalog).unwrap();
            assert_eq!(ours.prime_p(), theirs.prime_p(), "ffdhe{bits}");
            assert_eq!(ours.generator(), theirs.generator(), "ffdhe{bits}");
        }
    }

    #[test]
    fn other_sizes_have_no_named_group() {
        let Err(err) = group(1024, &Catalog::embedded()) else {
            panic!("a 1024-bit named group");
        };
        assert!(err.to_string().contains("no 1024-bit group"), "{err}");
    }
}
