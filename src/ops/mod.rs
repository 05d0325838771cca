//! The operations: what a subcommand asks for, built from the domain.

pub mod audit;
pub(crate) mod curves;
pub(crate) mod daemon;
pub(crate) mod groups;
pub(crate) mod metrics;
pub(crate) mod mode;
pub(crate) mod posture;
pub mod probe;
pub(crate) mod refill;
pub(crate) mod rotate;
pub(crate) mod status;
pub(crate) mod verify;

/// The system's Postfix, as the settings name it.
pub fn system_postfix(s: &crate::config::Settings) -> crate::postfix::SystemPostfix {
    crate::postfix::SystemPostfix {
        config_dir: s.postfix_config_dir.clone(),
        postconf: s.postfix.postconf.clone(),
        postfix: s.postfix.postfix.clone(),
        timeout: s.postfix.timeout,
    }
}
