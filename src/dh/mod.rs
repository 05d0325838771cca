//! Diffie-Hellman groups: generation, strict PEM reading, validation and
//! the catalog of well-known shared primes.

pub(crate) mod fermat;
pub(crate) mod generate;
pub(crate) mod known;
pub mod named;
pub mod pem;
pub mod pool;
pub mod proofs;
pub mod search;
pub(crate) mod source;
pub mod validate;

pub use known::Catalog;
pub use named::NamedSource;
pub use proofs::Proofs;
pub use source::{GroupSource, OpenSslSource, PoolOrSearch};
pub use validate::{Acceptance, Refused, ValidGroup, Verdict};
