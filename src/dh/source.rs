//! Where fresh groups come from: the pool when it has one, else the
//! search, which SIGINT/SIGTERM (or the daemon's shutdown) can stop; or
//! OpenSSL's own generator. Whatever a source gives is validated again by
//! the rotation before it is used.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Result;
use openssl::dh::Dh;
use openssl::pkey::Params;

use super::pool::Pool;
use super::search::{self, Control};
use crate::sys::signals::Interrupt;

/// Where fresh groups come from.
pub trait GroupSource {
    /// A new group of `bits` bits (validated again by the caller), and
    /// where it came from (`pool`, `search`, `openssl`) for the record.
    fn fresh(&self, bits: u32) -> Result<(Dh<Params>, &'static str)>;
}

/// Generates with OpenSSL, as `openssl dhparam` would.
#[derive(Debug, Default)]
pub struct OpenSslSource;

impl GroupSource for OpenSslSource {
    fn fresh(&self, bits: u32) -> Result<(Dh<Params>, &'static str)> {
        Ok((super::generate::generate(bits)?, "openssl"))
    }
}

/// Takes groups from the pool, and searches when it is empty.
pub struct PoolOrSearch {
    pool: Pool,
    control: Arc<Control>,
    interrupt: Interrupt,
}

impl PoolOrSearch {
    /// Backed by the pool in `state_dir`. A search stops when `interrupt`
    /// fires (`now`: SIGINT/SIGTERM) or `control` is cancelled (the
    /// daemon's shutdown, which has its own signal handling).
    pub fn new(state_dir: &Path, control: Arc<Control>, interrupt: Interrupt) -> PoolOrSearch {
        PoolOrSearch {
            pool: Pool::new(state_dir),
            control,
            interrupt,
        }
    }
}

impl GroupSource for PoolOrSearch {
    fn fresh(&self, bits: u32) -> Result<(Dh<Params>, &'static str)> {
        if let Some(dh) = self.pool.take(bits)? {
            return Ok((dh, "pool"));
        }
        match interruptible(bits, default_threads(), &self.control, &self.interrupt)? {
            Some(dh) => Ok((dh, "search")),
            None => anyhow::bail!(
                "interrupted while generating a {bits}-bit group; nothing was changed"
            ),
        }
    }
}

/// All cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs the search with `interrupt` wired to its cancel flag, and a
/// progress line when stderr is a terminal. `None` when it was stopped.
pub fn interruptible(
    bits: u32,
    threads: usize,
    control: &Arc<Control>,
    interrupt: &Interrupt,
) -> Result<Option<Dh<Params>>> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .expect("static template"),
        );
        b
    });
    let result = std::thread::scope(|s| {
        let worker = s.spawn(|| search::generate(bits, threads, control));
        // Signals only set a flag; this loop carries it to the search.
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
