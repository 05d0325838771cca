//! `dhrotate curves`: show the curve / FFDHE group policy, check every name
//! against OpenSSL, and `--set` a profile or list with the same atomic
//! edit, `postfix check`, reload and rollback as `now`.

use std::io::Write;

use anyhow::Result;

use crate::config::Overrides;
use crate::ops::inspect::curves::{self, CurvesView};
use crate::ops::rotate::curves as set_curves;
use crate::postfix::curves::CurvePolicy;

use super::Cli;

/// Arguments of `curves`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write a policy: `default` (remove the settings: Postfix's defaults),
    /// `modern` (X25519 X448 prime256v1 secp384r1), `pq-hybrid` (X25519MLKEM768
    /// first, where OpenSSL has it), or a list of group names ("X25519 secp384r1";
    /// ffdhe* names go to tls_ffdhe_auto_groups, Postfix >= 3.8).
    #[arg(long, value_name = "PROFILE|LIST")]
    pub set: Option<String>,
    /// With --set: print the diff and change nothing.
    #[arg(long, requires = "set")]
    pub dry_run: bool,
    /// Machine-readable output (show only).
    #[arg(long, conflicts_with = "set")]
    pub json: bool,
}

/// Runs `curves`.
pub fn run(args: &Args, cli: &Cli) -> Result<u8> {
    let settings = super::settings(cli, Overrides::default())?;
    let pf = crate::ops::system_postfix(&settings);
    let Some(set) = &args.set else {
        let view = curves::view(&pf)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&view)?);
        } else {
            print_view(&view);
        }
        return Ok(0);
    };
    let report = set_curves::set(&settings, &pf, CurvePolicy::parse(set), args.dry_run)?;
    write!(super::QuietStdout::default(), "{report}")?;
    Ok(0)
}

fn print_view(v: &CurvesView) {
    for p in &v.params {
        match &p.value {
            None => println!("{}: not supported by this Postfix", p.name),
            Some(val) => println!(
                "{} = {}{}",
                p.name,
                val,
                if p.set_in_main_cf {
                    "  (main.cf)"
                } else {
                    "  (default)"
                }
            ),
        }
        for u in &p.unknown {
            println!("  unknown to OpenSSL: {u}");
        }
        for (svc, val) in &p.overrides {
            println!("  master.cf {svc}: {val}");
        }
    }
    println!("names checked with {}", v.checked_with);
    for a in &v.advice {
        println!("advice: {a}");
    }
}
