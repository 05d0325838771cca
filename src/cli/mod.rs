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
    ///
    /// Without `--if-due`, `now` always rotates. With it (what the timer's
    /// service runs) only groups older than `[schedule] rotate_after` (default
    /// 5d, below `max_age`) are rotated: a younger group whose file is sound
    /// is left alone ("not due: ..."), and a run with nothing due changes no
    /// byte and exits 0, so the daily timer rotates each group every 5 to 6
    /// days and a configuration-management run is idempotent. The curve
    /// policy is held on every run either way. `--json` prints the run as a
    /// document (docs/json.md).
    Now(now::Args),
    /// Validate PEM DH parameter files (exit 3 if any is refused).
    ///
    /// What `openssl dhparam -check` reports, plus the safe-prime proof, the
    /// size, the generator's order and the catalog name (an RFC 7919 group
    /// is named as such: `RFC 7919 named group ffdhe3072`). Every file is
    /// proved from scratch. `--named` applies named mode's rule (exactly an
    /// RFC 7919 group) instead of refusing catalogued primes.
    Check(check::Args),
    /// Generate one validated group to stdout or a file.
    ///
    /// Written atomically to FILE with `--out`; a progress line on a
    /// terminal. `--engine openssl` uses OpenSSL's generator (what `openssl
    /// dhparam` does) instead of dhrotate's sieved search.
    Generate(generate::Args),
    /// Show configuration, files, ages and what Postfix reads (exit 6 if stale or broken).
    ///
    /// Versions, the mode and why, each group's file, age, fingerprint and
    /// what main.cf / master.cf point at, and what each local TLS listener
    /// serves. Exit 6 when a file is stale (older than `max_age`), invalid,
    /// missing, or not what Postfix is pointed at, when a reload is owed (an
    /// interrupted run), or when main.cf / master.cf depart from `[curves]
    /// policy` (each setting with its value now and the policy's). With
    /// `[policy] guideline` (or `--guideline`): the posture, every choice
    /// rated against the guideline (docs/GUIDE.md, "Posture").
    Status(status::Args),
    /// Show or set the curve / FFDHE group policy, names checked against OpenSSL.
    ///
    /// Shows the effective `tls_eecdh_auto_curves`, `smtpd_tls_eecdh_grade`
    /// and `tls_ffdhe_auto_groups` (main.cf or default, and master.cf
    /// overrides), every name tried on a throwaway SSL_CTX: Postfix silently
    /// skips names OpenSSL does not know, so they are listed.
    ///
    /// `--set` takes `default` (remove the settings), `modern` (X25519 X448
    /// prime256v1 secp384r1), `pq-hybrid` (X25519MLKEM768 first; refused
    /// where OpenSSL lacks it or Postfix is older than 3.10, which takes no
    /// key-encapsulation groups), `openssl` (both lists empty: OpenSSL's
    /// configuration chooses; Postfix 3.6.17, 3.7.13, 3.8.8, 3.9.2, 3.10 and
    /// later, refused before, where an empty list turns ECDHE off), or a list
    /// (ffdhe* names go to `tls_ffdhe_auto_groups`, Postfix >= 3.8 only). On
    /// Postfix >= 3.10 with OpenSSL >= 3.5 a list may use OpenSSL 3.5's syntax
    /// (`?NAME` skip where unknown, `*NAME` key share, `A/B` tuples,
    /// `DEFAULT`, `-NAME`) and is written as given; elsewhere `?NAME` is
    /// written as NAME where OpenSSL knows it and left out (said so) where
    /// not, tuples are flattened, `DEFAULT` is refused. Unknown names are
    /// refused before anything is written (exit 2). A `strong`/`ultra` grade
    /// and per-service overrides of the three parameters are removed so the
    /// list applies everywhere. Same lock, atomic edit, check, reload and
    /// rollback as `now`. To hold a policy on every run instead, set
    /// `[curves] policy` (same values): `now`, the timer and the daemon apply
    /// it, and `status` reports drift.
    Curves(curves::Args),
    /// Connect like a client and report the DH group, TLS 1.3 group, cipher
    /// and signature a server really serves (exit 7-11 when it cannot tell).
    ///
    /// SMTP STARTTLS, or implicit TLS on 465: a DHE-only TLS 1.2 handshake
    /// (the served prime: size, generator, SHA-256 of p, safe-prime check,
    /// catalog name of a shared prime) and a default TLS 1.3 handshake
    /// (group, cipher, signature). Exit 7 cannot connect, 8 not an SMTP
    /// server (e.g. HTTP), 9 STARTTLS/implicit TLS mismatch, 10 TLS handshake
    /// failed, 11 no DHE offered.
    Probe(probe::Args),
    /// Forward-secrecy report from Postfix logs and Received: headers.
    ///
    /// Reads syslog, RFC 3339, `journalctl -o short-iso` and `-o json`,
    /// container prefixes, folded lines, gzip-rotated files and `-` for
    /// stdin. Reports sessions with and without forward secrecy (TLS 1.3, and
    /// ciphers starting AECDH, ECDHE, ADH, EDH, DHE), key-exchange groups
    /// with one spelling each (x25519/X25519, secp256r1/prime256v1/P-256),
    /// hybrid post-quantum groups, protocols, trust levels, ciphers, TLS
    /// failures and the top peers without forward secrecy. Every line is
    /// counted in one class (session, failure, other Received:, unparsed
    /// TLS-like, unrelated), so nothing is dropped silently.
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
    pub fn refill(&self) -> Option<crate::ops::service::refill::Refill> {
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
        crate::ops::service::refill::Refill::new(argv)
    }
}
