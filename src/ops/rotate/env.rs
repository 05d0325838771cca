//! What a run works with: the outside world (`Env`, the seam tests replace)
//! and one Postfix instance's share of the run (`Part`).

use std::time::SystemTime;

use super::plan::Plan;
use crate::config::Settings;
use crate::dh::{Catalog, GroupSource};
use crate::postfix::Postfix;
use crate::postfix::multi::ListedInstance;

/// The outside world a rotation talks to.
pub struct Env<'a> {
    /// Postfix's commands.
    pub postfix: &'a dyn Postfix,
    /// Fresh groups.
    pub source: &'a dyn GroupSource,
    /// Known shared primes.
    pub catalog: &'a Catalog,
    /// The verdict cache (saved by the caller, never in a dry run).
    pub proofs: Option<&'a crate::dh::Proofs>,
    /// Where the time goes, phase by phase.
    pub phases: std::sync::Arc<super::phases::PhaseClock>,
    /// The time to record.
    pub now: SystemTime,
}

/// One Postfix instance's share of a run: its settings (config directory,
/// group files, corner of the state directory), its plan and its commands.
pub struct Part<'a> {
    /// The instance.
    pub instance: &'a ListedInstance,
    /// Settings as they apply to it (`Settings::for_instance`).
    pub settings: &'a Settings,
    /// What to change in it.
    pub plan: &'a Plan,
    /// Its `postconf` and `postfix`.
    pub postfix: &'a dyn Postfix,
}
