//! `dhrotate generate --bits N`: one fresh, validated group.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::dh::search::Control;
use crate::dh::{Catalog, Policy, validate};
use crate::sys::fsutil::{self, FileMode};

/// How groups are generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// dhrotate's deep-sieve search on every core.
    Search,
    /// OpenSSL's own generator (what `openssl dhparam` uses), one core.
    Openssl,
}

/// Arguments of `generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Prime size in bits (2048 recommended; 1024 or 512 only for legacy clients).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(512..=8192))]
    pub bits: u32,
    /// Write the PEM here (atomically, mode 0644) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Generator to use.
    #[arg(long, value_enum, default_value_t = Engine::Search)]
    pub engine: Engine,
    /// Threads for the search engine (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Generates, validates, and writes one group.
pub fn run(args: &Args) -> Result<u8> {
    let control = Arc::new(Control::default());
    let threads = args.threads.unwrap_or_else(default_threads);
    let dh = match args.engine {
        Engine::Openssl => crate::dh::generate::generate(args.bits)?,
        Engine::Search => match search_with_signals(
            args.bits,
            threads,
            &control,
            &crate::sys::signals::Interrupt::install()?,
        )? {
            Some(dh) => dh,
            None => bail!("interrupted; nothing was written"),
        },
    };
    let policy = Policy {
        expected_bits: Some(args.bits),
        min_bits: args.bits,
    };
    let what = format!("the generated {}-bit group", args.bits);
    let valid = validate::accept(&dh, &what, &policy, &Catalog::embedded())?;
    match &args.out {
        Some(path) => {
            fsutil::write_atomic(path, &valid.pem, FileMode::PUBLIC)?;
            eprintln!(
                "wrote {} ({} bits, sha256(p) {})",
                path.display(),
                valid.verdict.bits,
                valid.verdict.fingerprint
            );
        }
        None => std::io::stdout()
            .write_all(&valid.pem)
            .context("writing to stdout")?,
    }
    Ok(0)
}

/// All cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs the search with SIGINT/SIGTERM wired to its cancel flag, and a
/// progress line on a terminal. `None` when a signal stopped it.
pub fn search_with_signals(
    bits: u32,
    threads: usize,
    control: &Arc<Control>,
    interrupt: &crate::sys::signals::Interrupt,
) -> Result<Option<openssl::dh::Dh<openssl::pkey::Params>>> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .expect("static template"),
        );
        b
    });
    let result = std::thread::scope(|s| {
        let worker = s.spawn(|| crate::dh::search::generate(bits, threads, control));
        // Watch for signals and keep the terminal informed meanwhile.
        while !worker.is_finished() {
            if interrupt.is_set() {
                control.cancel.store(true, Ordering::SeqCst);
            }
            if let Some(b) = &bar {
                b.set_message(format!(
                    "searching a {bits}-bit safe prime on {threads} thread(s): {} candidates tested",
                    control.tested.load(Ordering::Relaxed)
                ));
                b.tick();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        worker.join().expect("search thread panicked")
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    tracing::info!(
        bits,
        threads,
        tested = control.tested.load(Ordering::Relaxed),
        "search finished"
    );
    if interrupt.is_set() {
        return Ok(None);
    }
    result
}
