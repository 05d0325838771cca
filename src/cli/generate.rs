//! `dhrotate generate --bits N`: one fresh, validated group.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::ops::service::groups::{self, Engine};
use crate::sys::signals::Interrupt;

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
    let interrupt = Interrupt::install()?;
    let valid = groups::generate(args.bits, args.engine, args.threads, &interrupt)?;
    match &args.out {
        Some(path) => {
            groups::install(path, &valid)?;
            eprintln!(
                "wrote {} ({} bits, sha256(p) {})",
                path.display(),
                valid.verdict.proof.bits,
                valid.verdict.proof.fingerprint
            );
        }
        None => std::io::stdout()
            .write_all(&valid.pem)
            .context("writing to stdout")?,
    }
    Ok(0)
}
