//! Fresh group generation with OpenSSL (safe prime, generator 2).

use anyhow::{Context, Result};
use openssl::dh::Dh;
use openssl::pkey::Params;

/// Generates a new safe-prime group of `bits` bits with generator 2.
///
/// This is what `openssl dhparam BITS` does; it takes from a second to over
/// a minute for 2048 bits and cannot be interrupted.
pub fn generate(bits: u32) -> Result<Dh<Params>> {
    Dh::generate_params(bits, 2)
        .with_context(|| format!("generating a {bits}-bit DH group with OpenSSL"))
}
