//! What looks at a running system and changes nothing: `status` (the
//! health model), the curve policy as Postfix reads it, the posture against
//! a guideline, the verification of what each listener serves, and the
//! status as Prometheus metrics. Nothing here uses `ops::rotate` or
//! `ops::service` (tests/architecture.rs).

pub(crate) mod curves;
pub(crate) mod metrics;
pub(crate) mod posture;
pub(crate) mod status;
pub(crate) mod verify;
