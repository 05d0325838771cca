//! System helpers: child processes, files, lock, state, schedule, signals, logging.

pub(crate) mod child;
pub(crate) mod failpoint;
pub(crate) mod fsutil;
pub(crate) mod lock;
pub mod logging;
pub mod schedule;
pub(crate) mod signals;
pub mod state;
