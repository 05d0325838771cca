//! `dhrotate status`: what is configured, what Postfix reads, and whether
//! the files are fresh and sound. Exit 6 when anything is stale or broken,
//! so monitoring can run it as is.

use std::time::SystemTime;

use anyhow::Result;

use crate::config::{Overrides, Settings};
use crate::error::Failure;
use crate::guidelines::Guideline;
use crate::ops::inspect::curves::CurvesView;
use crate::ops::inspect::posture::Posture;
use crate::ops::inspect::status::{self, GroupStatus, StatusReport};

/// Arguments of `status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Machine-readable output (schema: docs/json.md); the same
    /// as --format json.
    #[arg(long)]
    pub json: bool,
    /// text, json, or prometheus (the metrics [metrics] textfile holds,
    /// docs/GUIDE.md "Prometheus").
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Judge the key exchange against this guideline instead of
    /// `[policy] guideline`: ncsc-nl, ncsc-nl-2021, bsi,
    /// mozilla-intermediate, mozilla-intermediate-5.7, mozilla-modern or
    /// none.
    #[arg(long, value_name = "NAME", value_parser = parse_guideline)]
    pub guideline: Option<Guideline>,
}

/// How `status` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// `status --json`.
    Json,
    /// Prometheus exposition format.
    Prometheus,
}

fn parse_guideline(s: &str) -> Result<Guideline, String> {
    Guideline::parse(s).ok_or_else(|| {
        format!(
            "unknown guideline {s:?}; expected {} or none",
            Guideline::ALL.map(|g| g.to_string()).join(", ")
        )
    })
}

/// Runs `status`.
pub fn run(args: &Args, cli: &super::Cli) -> Result<u8> {
    let mut settings = super::settings(cli, Overrides::default())?;
    if let Some(g) = args.guideline {
        settings.policy.guideline = g;
    }
    let report = status::build(&settings, SystemTime::now());
    if let Err(e) = crate::ops::inspect::metrics::refresh(&settings, Some(&report)) {
        tracing::warn!("{e:#}");
    }
    match (args.json, args.format) {
        (true, _) | (_, Format::Json) => {
            println!("{}", serde_json::to_string_pretty(&report)?)
        }
        (_, Format::Prometheus) => {
            print!("{}", crate::ops::inspect::metrics::text(&settings, &report));
        }
        (_, Format::Text) => print_human(&report, &settings),
    }
    if report.healthy {
        Ok(0)
    } else {
        Err(Failure::Degraded(format!(
            "{} problem(s): {}",
            report.problems.len(),
            report.problems.join("; ")
        ))
        .into())
    }
}

fn print_human(r: &StatusReport, s: &Settings) {
    print_instance(r, &s.postfix_config_dir, Some(&s.state_dir));
    for i in &r.instances {
        println!(
            "== instance {} ({}{})",
            i.instance.name,
            i.instance.config_dir.display(),
            if i.instance.enabled {
                ""
            } else {
                ", disabled: multi_instance_enable = no"
            }
        );
        print_instance(&i.status, &i.instance.config_dir, None);
    }
    if let Some(last) = &r.last_run {
        println!(
            "last run: {} (unix {}), mode {}",
            last.outcome, last.last_run, last.mode
        );
        for h in &last.hooks {
            println!("hook {:?}: {}", h.name, if h.ok { "ok" } else { "FAILED" });
        }
    }
    if r.healthy {
        println!("healthy");
    }
    for p in &r.problems {
        println!("problem: {p}");
    }
}

/// One instance's part of the text status.
fn print_instance(
    r: &StatusReport,
    config_dir: &std::path::Path,
    state_dir: Option<&std::path::Path>,
) {
    match &r.versions {
        Some(v) => println!(
            "Postfix {}, OpenSSL {} ({})",
            v.postfix,
            v.openssl
                .map_or_else(|| "unknown".into(), |o| o.to_string()),
            v.openssl_source
        ),
        None => println!("Postfix: not reachable"),
    }
    match (&r.mode, &r.mode_error) {
        (Some(d), _) => println!("mode: {:?} ({})", d.mode, d.why),
        (None, e) => println!("mode: undecided: {}", e.as_deref().unwrap_or("?")),
    }
    match state_dir {
        Some(state) => println!(
            "config: {}  state: {}",
            config_dir.display(),
            state.display()
        ),
        None => println!("config: {}", config_dir.display()),
    }
    r.groups.iter().for_each(print_group);
    for d in &r.dh_settings {
        println!(
            "{} {} = {}{}",
            d.place,
            d.parameter,
            d.value,
            d.file_check
                .as_ref()
                .map_or_else(String::new, |c| format!("  [{c}]"))
        );
    }
    if let Some(c) = &r.curves {
        print_curves(c);
    }
    for f in &r.listeners {
        println!(
            "{}: {}",
            if f.ok() { "serving" } else { "MISMATCH" },
            f.describe()
        );
    }
    for a in &r.advice {
        println!("advice: {a}");
    }
    if let Some(p) = &r.posture {
        print_posture(p);
    }
}

/// A group: its file, fingerprint, age and every place that names it.
fn print_group(g: &GroupStatus) {
    println!(
        "group {:?}: {} bits -> {}",
        g.name,
        g.bits,
        g.file.display()
    );
    if let Some(fp) = &g.fingerprint {
        println!(
            "  sha256(p) {fp}  valid: {}",
            if g.valid { "yes" } else { "NO" }
        );
    }
    if let Some(age) = g.age_seconds {
        println!(
            "  age {}{}",
            humantime::format_duration(std::time::Duration::from_secs(age)),
            if g.stale { " (STALE)" } else { "" }
        );
    }
    for p in &g.places {
        println!(
            "  {}: {}{}",
            p.place,
            p.value.as_deref().unwrap_or("(not set)"),
            if p.points_here {
                ""
            } else {
                "  <- not this group's file"
            }
        );
    }
}

/// The curve and FFDHE lists as set, and the advice on them.
fn print_curves(c: &CurvesView) {
    for p in &c.params {
        if let Some(v) = &p.value {
            let unknown = if p.unknown.is_empty() {
                String::new()
            } else {
                format!("  (unknown to OpenSSL: {})", p.unknown.join(", "))
            };
            println!("{} = {v}{unknown}", p.name);
        }
    }
    for a in &c.advice {
        println!("advice: {a}");
    }
}

/// The posture's rating and each finding with its fix.
fn print_posture(p: &Posture) {
    println!(
        "posture under {}: {}",
        p.guideline,
        p.rating
            .map_or_else(|| "nothing rated".into(), |r| r.to_string())
    );
    for f in &p.findings {
        println!(
            "  {:<12} {}: {} ({})",
            f.rating, f.subject, f.observed, f.term
        );
        if let Some(fix) = &f.fix {
            println!("               fix: {fix}");
        }
    }
}
