//! The failures callers tell apart, each with its exit code (docs/DESIGN.md
//! "Exit codes"). A leaf: every layer may return these. Refused groups
//! (`dh::Refused`) and probe failures (`probe::ProbeError`) carry
//! their own codes; `cli::exit_code` maps any error in one place.

use std::path::PathBuf;

/// A failure a caller (and `main`'s exit-code map) tells apart.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Bad command line or configuration (exit 2).
    #[error("{0:#}")]
    Config(anyhow::Error),
    /// `postfix check` or `postfix reload` failed; everything was rolled back (exit 4).
    #[error("{1:#}")]
    PostfixRejected(PostfixStep, anyhow::Error),
    /// Another run holds the lock (exit 5).
    #[error("another dhrotate run holds the lock {}; try again later or raise lock_wait", .0.display())]
    Locked(PathBuf),
    /// `status` found stale or broken files (exit 6).
    #[error("{0}")]
    Degraded(String),
    /// The new groups are installed and Postfix reloaded, but a listener
    /// does not serve its group; the files stay, they are valid (exit 12).
    #[error("{0:#}")]
    Unverified(anyhow::Error),
    /// The rotation is in place and Postfix serves it, but a `[[hook]]`
    /// failed, timed out, or its endpoint does not serve the new group;
    /// nothing was rolled back (exit 13).
    #[error("{0:#}")]
    HookFailed(anyhow::Error),
}

/// Which Postfix command refused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostfixStep {
    /// `postfix check`.
    Check,
    /// `postfix reload`.
    Reload,
}

impl Failure {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Config(_) => 2,
            Failure::PostfixRejected(..) => 4,
            Failure::Locked(_) => 5,
            Failure::Degraded(_) => 6,
            Failure::Unverified(_) => 12,
            Failure::HookFailed(_) => 13,
        }
    }
}
