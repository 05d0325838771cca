//! dhrotate: Diffie-Hellman group rotation and forward-secrecy policy for Postfix.

pub mod audit;
pub mod cli;
pub mod config;
pub mod curves;
pub mod daemon;
pub mod demo;
pub mod dh;
pub mod error;
pub mod failpoint;
pub mod fsutil;
pub mod lock;
pub mod logging;
pub mod postfix;
pub mod probe;
pub mod rotation;
pub mod schedule;
pub mod signals;
pub mod state;
pub mod verify;
