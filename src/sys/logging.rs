//! Log setup: structured `tracing` events to journald when systemd runs
//! us, to stderr otherwise; human output stays on stdout.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the subscriber; `RUST_LOG` wins over -v/-q when set.
pub fn init(verbose: u8, quiet: bool) {
    let journal = stderr_is_journal();
    let default = default_level(verbose, quiet, journal);
    // The scheduler crate narrates its own start-up at info level.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},tokio_cron_scheduler=warn")));
    if journal {
        // Fields (group, bits, fingerprint, outcome) become journal fields
        // under their own names, so `journalctl -u dhrotate OUTCOME=installed`
        // finds them (the crate's default prefix would make it F_OUTCOME).
        if let Ok(journald) = tracing_journald::layer() {
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(
                    journald
                        .with_field_prefix(None)
                        .with_syslog_identifier("dhrotate".into()),
                )
                .try_init();
            return;
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// On a terminal only warnings show unless asked (-v); in the journal the
/// per-group records (info) are the point, so they are kept by default.
fn default_level(verbose: u8, quiet: bool, journal: bool) -> &'static str {
    match (quiet, verbose, journal) {
        (true, _, _) => "error",
        (false, 0, false) => "warn",
        (false, 0, true) | (false, 1, _) => "info",
        (false, _, _) => "debug",
    }
}

/// systemd sets JOURNAL_STREAM to the device and inode of the stream it
/// connected stdout/stderr to; a child whose stderr went elsewhere
/// inherits the variable, so compare it with what stderr really is.
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(stat) = nix::sys::stat::fstat(std::io::stderr()) else {
        return false;
    };
    value.to_str() == Some(&format!("{}:{}", stat.st_dev, stat.st_ino))
}

#[cfg(test)]
mod tests {
    use super::default_level;

    #[test]
    fn journal_keeps_info_records_by_default() {
        assert_eq!(default_level(0, false, true), "info");
        assert_eq!(default_level(0, false, false), "warn");
        assert_eq!(default_level(0, true, true), "error");
        assert_eq!(default_level(2, false, true), "debug");
    }
}
