//! Log setup: structured `tracing` events to journald when systemd runs
//! us, to stderr otherwise; human output stays on stdout.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the subscriber; `RUST_LOG` wins over -v/-q when set.
pub fn init(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    // The scheduler crate narrates its own start-up at info level.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},tokio_cron_scheduler=warn")));
    if stderr_is_journal() {
        // Fields (group, bits, fingerprint, outcome) become journal fields:
        // `journalctl -u dhrotate OUTCOME=installed`.
        if let Ok(journald) = tracing_journald::layer() {
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(journald.with_syslog_identifier("dhrotate".into()))
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
