//! The operations: what a subcommand asks for, built from the domain,
//! grouped by who asks. `rotate/`: one run that changes Postfix (plan,
//! groups, staging and postconf's confirmation, writes and their journal,
//! check and reload, instances, hooks). `inspect/`: what looks at a running
//! system and changes nothing (status, the posture, the verification of
//! what listeners serve, metrics). `service/`: what runs unattended or makes
//! groups (the daemon, the pool refill, generate / check / pool fill).
//! `curves.rs` (the curve policy, view and set) and `mode.rs` (the mode
//! decision) serve more than one of them.

pub(crate) mod inspect;
pub(crate) mod instances;
pub(crate) mod mode;
pub(crate) mod rotate;
pub(crate) mod service;

/// The exit code for any error, in one place: a `Failure` has its own
/// (2, 4, 5, 6, 12, 13), a refused group 3, a probe failure 7-11, the rest 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(f) = err.downcast_ref::<crate::error::Failure>() {
        return f.exit_code();
    }
    if err.downcast_ref::<crate::dh::Refused>().is_some() {
        return 3;
    }
    if let Some(p) = err.downcast_ref::<crate::probe::ProbeError>() {
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
