//! dhrotate: Diffie-Hellman group rotation and forward-secrecy policy for Postfix.
//!
//! The layers (docs/DESIGN.md; `tests/architecture.rs` checks that every
//! arrow points down and that no module cycle exists):
//!
//! - `cli`: parses arguments, calls one operation, prints; maps errors to
//!   exit codes (`cli::exit_code`). Only `main.rs` uses it.
//! - `testbed`: a private Postfix on loopback and the demo that rotates on
//!   it, through the same operations as `now`.
//! - `ops`: the operations, by who asks: `rotate` (one run that changes
//!   Postfix), `inspect` (status, posture, verification, metrics),
//!   `service` (daemon, refill, generate / check / pool fill), `curves`.
//! - `config`: fragments merged, each section validated into `Settings`.
//! - `postfix`, `dh`, `guidelines`, `probe`, `audit`: the domain: Postfix's
//!   files, commands, versions and parser; DH groups, their search,
//!   validation, PEM, catalog, RFC 7919 groups and pool; the published TLS
//!   guidelines as a table; the TLS client that reports what a server
//!   serves; the forward-secrecy report from Postfix's logs.
//! - `sys`: atomic files, lock, state file, schedule, signals, logging,
//!   crash points; `error`: the failures callers tell apart.
//!
//! Public, for the binary and the integration tests (tests/, examples/):
//! `cli` (the binary), `testbed::instance` (private Postfix instances),
//! `config::load`, the parsers and validators the corpus, hostile-input
//! and crash tests drive directly (`postfix::{MainCf, MasterCf, mastercf}`,
//! `dh::{pem, validate, search, pool}`, `audit`, `probe`,
//! `sys::{state, schedule, logging}`, `guidelines` for the guideline
//! table test). Everything else is `pub(crate)`.

pub mod audit;
pub mod cli;
pub mod config;
pub mod dh;
pub(crate) mod error;
pub mod guidelines;
pub mod ops;
pub mod postfix;
pub mod probe;
pub mod sys;
pub mod testbed;
