//! What looks at a running system and changes nothing: `status` (the
//! health model), the posture against a guideline, the verification of what
//! each listener serves, and the status as Prometheus metrics.

pub(crate) mod metrics;
pub(crate) mod posture;
pub(crate) mod status;
pub(crate) mod verify;
