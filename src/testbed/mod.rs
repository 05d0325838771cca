//! The test bed: a private Postfix and the demo that runs on it.

pub(crate) mod demo;
pub mod instance;
