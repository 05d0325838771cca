//! dhrotate: Diffie-Hellman group rotation and forward-secrecy policy for Postfix.

pub mod cli;
pub mod config;
pub mod dh;
pub mod error;
pub mod ops;
pub mod postfix;
pub mod sys;
pub mod testbed;
