//! SIGINT and SIGTERM for the one-shot commands (`now`, `generate`, `pool
//! fill`), handled the same way from the start of a command to its end;
//! SIGPIPE for the commands that only report (`die_on_closed_stdout`).
//!
//! The first signal only raises a flag: a search stops at once (nothing
//! is written), and a rotation already writing finishes or rolls back, so
//! no file is left half-done. A second signal gets the default action, for
//! whoever really wants the process gone. Handlers are installed once and
//! never removed: unregistering signal-hook's actions leaves the handler
//! in place with nothing to do, which ignores the signal from then on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

/// Whether SIGINT or SIGTERM has arrived.
#[derive(Debug, Clone)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// Installs the handlers for this process.
    pub fn install() -> Result<Interrupt> {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Order matters: the conditional default sees the flag as it
            // was before this signal set it.
            signal_hook::flag::register_conditional_default(sig, Arc::clone(&flag))
                .context("installing signal handlers")?;
            signal_hook::flag::register(sig, Arc::clone(&flag))
                .context("installing signal handlers")?;
        }
        Ok(Interrupt(flag))
    }

    /// A flag no signal sets (callers with their own shutdown, tests).
    pub fn never() -> Interrupt {
        Interrupt(Arc::new(AtomicBool::new(false)))
    }

    /// True once a signal arrived.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Lets a reader that goes away end the process the way it ends any Unix
/// tool: killed by SIGPIPE at the next write, quietly (a shell shows 141).
/// Rust starts with SIGPIPE ignored, so a write to a closed pipe is an
/// error and `print!` panics on it. Only for commands whose remaining
/// work is printing: a rotation must never die half-way for its output.
pub fn die_on_closed_stdout() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: restoring the default disposition installs no handler, so
    // nothing can run in signal context.
    unsafe {
        let _ = signal(Signal::SIGPIPE, SigHandler::SigDfl);
    }
}
