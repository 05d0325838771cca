//! The operations: what a subcommand asks for, built from the domain.

pub mod audit;
pub(crate) mod curves;
pub(crate) mod daemon;
pub(crate) mod groups;
pub(crate) mod hooks;
pub(crate) mod instances;
pub(crate) mod metrics;
pub(crate) mod mode;
pub(crate) mod posture;
pub mod probe;
pub(crate) mod refill;
pub(crate) mod rotate;
pub(crate) mod status;
pub(crate) mod verify;

/// The exit code for any error, in one place: a `Failure` has its own
/// (2, 4, 5, 6, 12, 13), a refused group 3, a probe failure 7-11, the rest 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(f) = err.downcast_ref::<crate::error::Failure>() {
        return f.exit_code();
    }
    if err.downcast_ref::<crate::dh::Refused>().is_some() {
        return 3;
    }
    if let Some(p) = err.downcast_ref::<probe::ProbeError>() {
        return p.exit_code();
    }
    1
}

/// The system's Postfix, as the settings name it.
pub fn system_postfix(s: &crate::config::Settings) -> crate::postfix::SystemPostfix {
    crate::postfix::SystemPostfix {
        config_dir: s.postfix_config_dir.clone(),
        postconf: s.postfix.postconf.clone(),
        postfix: s.postfix.postfix.clone(),
        postmulti: s.postfix.postmulti.clone(),
        timeout: s.postfix.timeout,
    }
}
