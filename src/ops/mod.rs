//! The operations: what a subcommand asks for, built from the domain.

pub mod audit;
pub mod curves;
pub mod daemon;
pub mod groups;
pub mod probe;
pub mod refill;
pub mod rotate;
pub mod status;
pub mod verify;

/// The system's Postfix, as the settings name it.
pub fn system_postfix(s: &crate::config::Settings) -> crate::postfix::SystemPostfix {
    crate::postfix::SystemPostfix {
        config_dir: s.postfix_config_dir.clone(),
        postconf: s.postfix.postconf.clone(),
        postfix: s.postfix.postfix.clone(),
        timeout: s.postfix.timeout,
    }
}
