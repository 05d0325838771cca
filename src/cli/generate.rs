//! `dhrotate generate --bits N`: one fresh, validated group.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::dh::{Catalog, Policy, validate};
use crate::fsutil::{self, FileMode};

/// Arguments of `generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Prime size in bits (2048 recommended; 1024 or 512 only for legacy clients).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(512..=8192))]
    pub bits: u32,
    /// Write the PEM here (atomically, mode 0644) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Generates, validates, and writes one group.
pub fn run(args: &Args) -> Result<u8> {
    tracing::info!(bits = args.bits, "generating");
    let dh = crate::dh::generate::generate(args.bits)?;
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
