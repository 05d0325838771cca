//! `dhrotate check FILE...`: validate PEM DH parameter files.

use std::path::PathBuf;

use anyhow::Result;

use crate::dh::{Acceptance, Refused};
use crate::ops::service::groups::{self, FileReport};

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// PEM files with DH PARAMETERS.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Require exactly this many bits.
    #[arg(long, value_name = "N")]
    pub bits: Option<u32>,
    /// Refuse groups smaller than this.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub min_bits: u32,
    /// Named mode's rule: accept exactly an RFC 7919 group (ffdhe2048 to
    /// ffdhe8192) and refuse custom primes; without it every catalogued
    /// prime is refused and fresh ones are accepted.
    #[arg(long)]
    pub named: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Checks every file, prints a report, and fails with exit 3 if any is refused.
pub fn run(args: &Args) -> Result<u8> {
    let policy = Acceptance {
        expected_bits: args.bits,
        min_bits: args.min_bits,
        named: args.named,
    };
    let reports = groups::check_files(&args.files, &policy);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for r in &reports {
            print_human(r);
        }
    }
    let refused: Vec<&FileReport> = reports.iter().filter(|r| !r.accepted).collect();
    if refused.is_empty() {
        return Ok(0);
    }
    Err(Refused {
        what: format!("{} of {} file(s)", refused.len(), reports.len()),
        reasons: refused
            .iter()
            .map(|r| format!("{}: {}", r.file.display(), r.problems.join(", ")))
            .collect(),
    }
    .into())
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "NO" }
}

fn print_human(r: &FileReport) {
    println!(
        "{}: {}",
        r.file.display(),
        if r.accepted { "OK" } else { "REFUSED" }
    );
    if let Some(v) = &r.verdict {
        println!("  size          {} bits", v.proof.bits);
        println!(
            "  generator     {} (order {:?})",
            v.proof.generator, v.proof.generator_order
        );
        if v.screened_out {
            let composite = v.problems.iter().any(|p| p == "p is not prime");
            println!(
                "  p prime       {}",
                if composite { "NO" } else { "not tested" }
            );
            println!(
                "  (p-1)/2, generator order, DH_check: not tested (refused before these costly tests)"
            );
        } else {
            println!("  p prime       {}", yes(v.proof.p_prime));
            println!(
                "  (p-1)/2 prime {}{}",
                yes(v.proof.q_prime),
                if v.proof.q_prime { " (safe prime)" } else { "" }
            );
            if v.proof.openssl_check.is_empty() {
                println!("  OpenSSL check passed (DH_check)");
            } else {
                println!("  OpenSSL check {}", v.proof.openssl_check.join(", "));
            }
        }
        match &v.known {
            Some(k) if k.rfc7919().is_some() => println!(
                "  catalog       {} (RFC 7919 named group {})",
                k.aliases.join(", "),
                k.rfc7919().unwrap_or_default()
            ),
            Some(k) => println!(
                "  catalog       {} (a widely shared prime)",
                k.aliases.join(", ")
            ),
            None => println!("  catalog       not a known shared prime"),
        }
        println!("  sha256(p)     {}", v.proof.fingerprint);
    }
    for p in &r.problems {
        println!("  refused:      {p}");
    }
}
