//! `dhrotate probe HOST[:PORT]`: connect like a client and report what the
//! server serves: the DHE group of a TLS 1.2 handshake, and the group,
//! cipher and signature of a default TLS 1.3 handshake.

use std::time::Duration;

use anyhow::Result;

use crate::probe::{self, Examination, Wrap};

/// Arguments of `probe`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server to probe: HOST, HOST:PORT or [IPv6]:PORT (port 25 by default).
    #[arg(value_name = "HOST[:PORT]")]
    pub target: String,
    /// Force SMTP STARTTLS (the default except on port 465).
    #[arg(long, conflicts_with = "tls")]
    pub starttls: bool,
    /// Force implicit TLS (the default on port 465).
    #[arg(long)]
    pub tls: bool,
    /// Seconds to wait for each connect, read and handshake.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Runs `probe`.
pub fn run(args: &Args) -> Result<u8> {
    let wrap = if args.tls {
        Some(Wrap::Implicit)
    } else if args.starttls {
        Some(Wrap::StartTls)
    } else {
        None
    };
    let timeout = Duration::from_secs(args.timeout.max(1));
    let report = probe::examine(&args.target, wrap, timeout)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_human(&report);
    }
    match report.failure() {
        None => Ok(0),
        Some(e) => Err(e.into()),
    }
}

fn print_human(r: &Examination) {
    println!(
        "{} ({})",
        r.target,
        match r.wrap {
            Wrap::StartTls => "SMTP STARTTLS",
            Wrap::Implicit => "implicit TLS",
        }
    );
    match (&r.dhe, &r.dhe_error) {
        (Some(g), _) => {
            println!("TLS 1.2, DHE only: {} {}", g.protocol, g.cipher);
            println!("  DH group      {} bits, generator {}", g.bits, g.generator);
            println!("  sha256(p)     {}", g.fingerprint);
            println!(
                "  safe prime    {}",
                if g.safe_prime { "yes" } else { "NO" }
            );
            match &g.known {
                Some(k) => println!("  catalog       {k} (a widely shared prime)"),
                None => println!("  catalog       not a known shared prime"),
            }
        }
        (None, Some(e)) => println!("TLS 1.2, DHE only: {e}"),
        (None, None) => {}
    }
    match (&r.tls13, &r.tls13_error) {
        (Some(t), _) => {
            println!("TLS 1.3 default: {} {}", t.protocol, t.cipher);
            println!("  group         {}", t.group);
            println!("  signature     {}", t.signature);
        }
        (None, Some(e)) => println!("TLS 1.3 default: {e}"),
        (None, None) => {}
    }
}
