//! System helpers: files, lock, state, schedule, signals, logging.

pub mod failpoint;
pub mod fsutil;
pub mod lock;
pub mod logging;
pub mod schedule;
pub mod signals;
pub mod state;
