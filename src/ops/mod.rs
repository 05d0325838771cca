//! The operations: what a subcommand asks for, built from the domain.

pub mod audit;
pub mod curves;
pub mod daemon;
pub mod probe;
pub mod rotate;
pub mod verify;
