//! The failures that decide dhrotate's exit code (DESIGN.md "Exit codes").
//! Everything else is a plain `anyhow::Error` and exits 1.

use std::path::PathBuf;

/// A failure a caller (and `main`'s exit-code map) tells apart.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Bad command line or configuration (exit 2).
    #[error("{0:#}")]
    Config(anyhow::Error),
    /// Validation refused a group or file (exit 3).
    #[error(transparent)]
    Refused(#[from] crate::dh::Refused),
    /// `postfix check` or `postfix reload` failed; everything was rolled back (exit 4).
    #[error("{0:#}")]
    PostfixRejected(anyhow::Error),
    /// Another run holds the lock (exit 5).
    #[error("another dhrotate run holds the lock {}; try again later or raise lock_wait", .0.display())]
    Locked(PathBuf),
    /// `status` found stale or broken files (exit 6).
    #[error("{0}")]
    Degraded(String),
    /// A probe could not see what the server serves (exit 7-11 by kind).
    #[error(transparent)]
    Probe(#[from] crate::ops::probe::ProbeError),
    /// The new groups are installed and Postfix reloaded, but a listener
    /// does not serve its group; the files stay, they are valid (exit 12).
    #[error("{0:#}")]
    Unverified(anyhow::Error),
}

impl Failure {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Config(_) => 2,
            Failure::Refused(_) => 3,
            Failure::PostfixRejected(_) => 4,
            Failure::Locked(_) => 5,
            Failure::Degraded(_) => 6,
            Failure::Probe(e) => e.exit_code(),
            Failure::Unverified(_) => 12,
        }
    }
}

/// Exit code for any error: the `Failure` inside it, or 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(f) = err.downcast_ref::<Failure>() {
        return f.exit_code();
    }
    if err.downcast_ref::<crate::dh::Refused>().is_some() {
        return 3;
    }
    1
}
