//! The base-2 Fermat test, 2^(n-1) = 1 mod n, with its scratch numbers:
//! the search (`search.rs`) runs it on every candidate that survives its
//! sieve, validation (`validate.rs`) once as its composite screen.

use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::error::ErrorStack;

/// The test, its numbers kept between runs: the search runs it thousands
/// of times a group.
pub(crate) struct Fermat {
    ctx: BigNumContext,
    two: BigNum,
    one: BigNum,
    e: BigNum,
    res: BigNum,
}

impl Fermat {
    pub(crate) fn new() -> Result<Fermat, ErrorStack> {
        Ok(Fermat {
            ctx: BigNumContext::new()?,
            two: BigNum::from_u32(2)?,
            one: BigNum::from_u32(1)?,
            e: BigNum::new()?,
            res: BigNum::new()?,
        })
    }

    /// 2^(n-1) = 1 mod n: one exponentiation, which a prime n > 2 always
    /// passes and almost every composite fails.
    pub(crate) fn passes(&mut self, n: &BigNumRef) -> Result<bool, ErrorStack> {
        self.e.checked_sub(n, &self.one)?;
        self.res.mod_exp(&self.two, &self.e, n, &mut self.ctx)?;
        Ok(self.res == self.one)
    }
}
