//! The command line: one file per subcommand, each `run(args, ctx)`.

pub(crate) mod audit;
pub(crate) mod check;
pub(crate) mod completions;
pub(crate) mod curves;
pub(crate) mod daemon;
pub(crate) mod generate;
pub(crate) mod man;
pub(crate) mod now;
pub(crate) mod pool;
pub(crate) mod probe;
pub(crate) mod status;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::config::{self, Overrides, Settings};
use crate::error::Failure;

/// Keeps Postfix's Diffie-Hellman groups fresh, validated and in use.
///
/// dhrotate generates DH groups, proves them (p and (p-1)/2 prime, sane
/// generator, OpenSSL's own check, not a widely shared prime), installs them
/// atomically, points main.cf and master.cf at them, runs `postfix check`
/// and reloads, and puts every byte back if any step fails.
///
/// Exit codes: 0 ok, 1 failure, 2 usage or configuration error, 3 a group
/// or file was refused, 4 `postfix check` or reload failed (rolled back),
/// 5 another run holds the lock, 6 status: stale or degraded; `probe`: 7
/// cannot connect, 8 not an SMTP server, 9 STARTTLS/implicit TLS mismatch,
/// 10 TLS handshake failed, 11 no DHE offered; `now`: 12 installed but a
/// listener does not serve its group, 13 installed and served but a
/// `[[hook]]` failed (nothing rolled back); 141 (killed by SIGPIPE) a
/// command that only reports lost its reader.
#[derive(Debug, Parser)]
#[command(name = "dhrotate", version, max_term_width = 100)]
pub struct Cli {
    /// Configuration file; `conf.d/*.toml` beside it is read too.
    #[arg(long, global = true, value_name = "PATH", env = "DHROTATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Postfix configuration directory (overrides postfix_config_dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub postfix_dir: Option<PathBuf>,
    /// State directory for the lock, state file and backups (overrides state_dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rotate now: generate, validate, install, edit Postfix config, check, reload.
    Now(now::Args),
    /// Validate PEM DH parameter files (exit 3 if any is refused).
    Check(check::Args),
    /// Generate one validated group to stdout or a file.
    Generate(generate::Args),
    /// Show configuration, files, ages and what Postfix reads (exit 6 if stale or broken).
    Status(status::Args),
    /// Show or set the curve / FFDHE group policy, names checked against OpenSSL.
    Curves(curves::Args),
    /// Connect like a client and report the DH group, TLS 1.3 group, cipher
    /// and signature a server really serves (exit 7-11 when it cannot tell).
    Probe(probe::Args),
    /// Forward-secrecy report from Postfix logs and Received: headers.
    Audit(audit::Args),
    /// Show or fill the pool of groups kept ready for rotations.
    Pool(pool::Args),
    /// Run as a service: rotate on the `[schedule]` cron, refill the pool,
    /// SIGHUP re-reads the configuration, SIGTERM stops cleanly.
    Daemon(daemon::Args),
    /// Write manual pages (section 8) into a directory.
    Man(man::Args),
    /// Print shell completions.
    Completions(completions::Args),
}

impl Command {
    /// Whether the command changes nothing and its output is the point:
    /// a closed stdout may end it at once (`die_on_closed_stdout`). `now`,
    /// `pool fill`, `curves --set` and the daemon finish their work and
    /// print through `QuietStdout`.
    fn only_reports(&self) -> bool {
        match self {
            Command::Check(_)
            | Command::Generate(_)
            | Command::Status(_)
            | Command::Probe(_)
            | Command::Audit(_)
            | Command::Man(_)
            | Command::Completions(_) => true,
            Command::Curves(a) => a.set.is_none(),
            Command::Pool(a) => matches!(a.action, pool::Action::Status),
            Command::Now(_) | Command::Daemon(_) => false,
        }
    }
}

/// Standard output for commands that change things: once its reader has
/// gone away (EPIPE), the rest is dropped instead of failing or panicking,
/// and the work goes on to its end and its own exit code.
#[derive(Debug, Default)]
pub struct QuietStdout {
    closed: bool,
}

impl std::io::Write for QuietStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        match std::io::stdout().lock().write_all(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(buf.len())
            }
            Err(e) => Err(e),
            Ok(()) => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match std::io::stdout().flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }
}

/// The exit code for any error (`ops::exit_code`, the one mapping, which
/// the daemon's run records use too).
pub fn exit_code(err: &anyhow::Error) -> u8 {
    crate::ops::exit_code(err)
}

/// Runs the parsed command; `Ok(code)` for non-error exits.
pub fn run(cli: Cli) -> Result<u8> {
    if cli.command.only_reports() {
        crate::sys::signals::die_on_closed_stdout();
    }
    match &cli.command {
        Command::Now(args) => now::run(args, &cli),
        Command::Check(args) => check::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Status(args) => status::run(args, &cli),
        Command::Curves(args) => curves::run(args, &cli),
        Command::Probe(args) => probe::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Pool(args) => pool::run(args, &cli),
        Command::Daemon(args) => daemon::run(args, &cli),
        Command::Man(args) => man::run(args),
        Command::Completions(args) => completions::run(args),
    }
}

/// Loads the settings named by the global flags; errors are exit 2.
pub fn settings(cli: &Cli, extra: Overrides) -> Result<Settings> {
    Paths::from(cli).settings(extra)
}

/// The global flags that locate configuration and state, owned, so the
/// daemon can re-read its configuration and start child runs with them.
#[derive(Debug, Clone)]
pub struct Paths {
    config: Option<PathBuf>,
    postfix_dir: Option<PathBuf>,
    state_dir: Option<PathBuf>,
}

impl Paths {
    /// The paths given on the command line.
    pub fn from(cli: &Cli) -> Paths {
        Paths {
            config: cli.config.clone(),
            postfix_dir: cli.postfix_dir.clone(),
            state_dir: cli.state_dir.clone(),
        }
    }

    /// Loads and validates the settings; errors are exit 2.
    pub fn settings(&self, extra: Overrides) -> Result<Settings> {
        let explicit = self.config.is_some();
        let path = self
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(config::DEFAULT_CONFIG));
        let overrides = Overrides {
            postfix_config_dir: self.postfix_dir.clone(),
            state_dir: self.state_dir.clone(),
            ..extra
        };
        config::load(&path, explicit, &overrides).map_err(|e| Failure::Config(e).into())
    }

    /// `dhrotate [these paths] -q pool fill`, from this very binary.
    pub fn refill(&self) -> Option<crate::ops::refill::Refill> {
        let exe = std::env::current_exe().map_or_else(|_| "dhrotate".into(), Into::into);
        let mut argv = vec![exe];
        for (flag, value) in [
            ("--config", &self.config),
            ("--postfix-dir", &self.postfix_dir),
            ("--state-dir", &self.state_dir),
        ] {
            if let Some(v) = value {
                argv.push(flag.into());
                argv.push(v.into());
            }
        }
        argv.extend(["-q", "pool", "fill"].map(Into::into));
        crate::ops::refill::Refill::new(argv)
    }
}
