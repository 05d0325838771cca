//! `dhrotate probe HOST[:PORT]`: connect like a client and report what the
//! server serves: the DHE group of a TLS 1.2 handshake, and the group,
//! cipher and signature of a default TLS 1.3 handshake.

use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::error::Failure;
use crate::ops::probe::{self, ProbeError, ServedGroup, Tls13, Wrap, parse_target};

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

/// `probe --json` output.
#[derive(Debug, Serialize)]
struct Report {
    target: String,
    wrap: Wrap,
    dhe: Option<ServedGroup>,
    dhe_error: Option<String>,
    tls13: Option<Tls13>,
    tls13_error: Option<String>,
}

/// Runs `probe`.
pub fn run(args: &Args) -> Result<u8> {
    let (addr, port) = parse_target(&args.target);
    let wrap = if args.tls {
        Wrap::Implicit
    } else if args.starttls {
        Wrap::StartTls
    } else {
        Wrap::for_port(port)
    };
    let timeout = Duration::from_secs(args.timeout.max(1));
    let dhe = probe::dhe_group(&addr, wrap, timeout);
    // A failure to reach or talk to the server is the answer; no second try.
    if let Err(
        e
        @ (ProbeError::Connect { .. } | ProbeError::NotSmtp { .. } | ProbeError::WrongWrap { .. }),
    ) = dhe
    {
        return Err(Failure::Probe(e).into());
    }
    let tls13 = probe::tls13(&addr, wrap, None, timeout);
    let report = Report {
        target: addr.clone(),
        wrap,
        dhe_error: dhe.as_ref().err().map(|e| e.to_string()),
        dhe: dhe.as_ref().ok().cloned(),
        tls13_error: tls13.as_ref().err().map(|e| e.to_string()),
        tls13: tls13.as_ref().ok().cloned(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_human(&report);
    }
    match (dhe, tls13) {
        (Ok(_), _) => Ok(0),
        // TLS works but a DHE-only TLS 1.2 handshake does not: no DHE on offer.
        (Err(_), Ok(_)) => Err(Failure::Probe(ProbeError::NoDhe {
            addr,
            reason: report.dhe_error.unwrap_or_default(),
        })
        .into()),
        (Err(e), Err(_)) => Err(Failure::Probe(e).into()),
    }
}

fn print_human(r: &Report) {
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
