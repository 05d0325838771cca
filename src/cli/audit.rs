//! `dhrotate audit LOG...`: how much mail gets forward secrecy, from
//! Postfix logs and Received: headers.

use std::path::PathBuf;

use anyhow::Result;

use crate::audit::{self, AuditReport};

/// Arguments of `audit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Log files (syslog, RFC 3339, `journalctl -o short-iso` or `-o json`,
    /// container-prefixed), gzip-rotated files, saved messages; `-` for stdin.
    #[arg(required = true, value_name = "LOG")]
    pub logs: Vec<PathBuf>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// Runs `audit`.
pub fn run(args: &Args) -> Result<u8> {
    let report = audit::read_paths(&args.logs)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_human(&report);
    }
    Ok(0)
}

fn print_human(r: &AuditReport) {
    println!(
        "TLS sessions: {}; with forward secrecy: {} ({:.1}%); without: {}",
        r.sessions,
        r.forward_secret,
        r.fs_percent(),
        r.not_forward_secret
    );
    let table = |title: &str, rows: Vec<(&str, u64)>| {
        if rows.is_empty() {
            return;
        }
        println!("{title}:");
        for (k, v) in rows {
            println!("  {v:>10}  {k}");
        }
    };
    table("direction", r.by_direction.by_count());
    table("protocols", r.protocols.by_count());
    table("key exchange", r.key_exchange.by_count());
    table("trust levels", r.trust.by_count());
    table("ciphers", r.ciphers.by_count());
    table("TLS failures", r.failures.by_count());
    let mut peers: Vec<(&str, u64)> = r
        .peers_without_fs
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    peers.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    table("top peers without forward secrecy", peers);
    if r.hybrid_pq > 0 {
        println!("hybrid post-quantum key exchange: {}", r.hybrid_pq);
    }
    if r.received_plaintext + r.received_foreign > 0 {
        println!(
            "Received: headers without Postfix TLS details: {} plaintext Postfix hops, {} from other MTAs",
            r.received_plaintext, r.received_foreign
        );
    }
    let l = &r.lines;
    println!(
        "lines: {} read; {} in sessions, {} failures, {} other Received:, {} unparsed TLS-like, {} unrelated",
        l.total, l.session, l.failure, l.received_other, l.unparsed, l.other
    );
    let m = &r.limits;
    if m.any() {
        println!(
            "input limits hit (hostile or broken input): {} records over 4 MiB split at a line end, \
             {} lines over 4 MiB skipped, {} folded records capped at 64 KiB of text",
            m.records_split, m.lines_skipped, m.folds_capped
        );
    }
}
