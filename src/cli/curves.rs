//! `dhrotate curves`: show the curve / FFDHE group policy, check every name
//! against OpenSSL, and `--set` a profile or list with the same atomic
//! edit, `postfix check`, reload and rollback as `now`.

use std::time::SystemTime;

use anyhow::Result;
use serde::Serialize;

use crate::config::Overrides;
use crate::dh::Catalog;
use crate::ops::curves::{self, Policy};
use crate::ops::rotate::plan::{ConfigFiles, Plan};
use crate::ops::rotate::{self, Env, OpenSslSource, Report};
use crate::postfix::{self, Postfix, Version};

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

/// One parameter as Postfix sees it.
#[derive(Debug, Serialize)]
pub struct ParamView {
    /// Parameter name.
    pub name: String,
    /// Effective value (`postconf -h`), `None` when this Postfix lacks it.
    pub value: Option<String>,
    /// Whether main.cf sets it (else it is Postfix's default).
    pub set_in_main_cf: bool,
    /// Names OpenSSL does not know (Postfix skips them silently).
    pub unknown: Vec<String>,
    /// master.cf overrides: (service/type, value).
    pub overrides: Vec<(String, String)>,
}

/// `curves --json` output.
#[derive(Debug, Serialize)]
pub struct CurvesView {
    /// OpenSSL the names were checked against (dhrotate's own).
    pub checked_with: String,
    /// OpenSSL Postfix runs with, when known.
    pub postfix_openssl: Option<Version>,
    /// The three parameters.
    pub params: Vec<ParamView>,
    /// Plain-words advice.
    pub advice: Vec<String>,
}

/// Runs `curves`.
pub fn run(args: &Args, cli: &Cli) -> Result<u8> {
    let settings = super::settings(cli, Overrides::default())?;
    let pf = super::system_postfix(&settings);
    let Some(set) = &args.set else {
        let view = view(&pf)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&view)?);
        } else {
            print_view(&view);
        }
        return Ok(0);
    };
    let policy = Policy::parse(set);
    let planner = move |s: &crate::config::Settings, pf: &dyn Postfix| -> Result<Plan> {
        let versions = postfix::version::detect(pf)?;
        let mut cf = ConfigFiles::load(&s.postfix_config_dir)?;
        let warnings = curves::apply_policy(&mut cf, &policy, &versions)?;
        Ok(Plan {
            intents: cf.intents(),
            edits: cf.edits(),
            versions,
            decision: None,
            groups: Vec::new(),
            old_files: Vec::new(),
            warnings,
        })
    };
    let catalog = Catalog::embedded();
    let env = Env {
        postfix: &pf,
        source: &OpenSslSource,
        catalog: &catalog,
        now: SystemTime::now(),
    };
    match rotate::execute(&settings, &env, args.dry_run, &planner, false)? {
        Report::DryRun(plan) => {
            super::now::print_plan_head(&plan);
            super::now::print_edits(&plan);
            println!("dry run: nothing was changed");
        }
        Report::Done(plan, applied) => {
            super::now::print_plan_head(&plan);
            super::now::print_applied(&applied);
        }
    }
    Ok(0)
}

/// Gathers the current policy without changing anything.
pub fn view(pf: &dyn Postfix) -> Result<CurvesView> {
    let versions = postfix::version::detect(pf)?;
    let cf = ConfigFiles::load(pf.config_dir())?;
    let mut params = Vec::new();
    let mut advice = Vec::new();
    for name in curves::PARAMS {
        let supported = name != curves::FFDHE || versions.postfix >= Version::new(3, 8, 0);
        let value = if supported {
            Some(pf.postconf(&["-h", name])?.trim().to_owned())
        } else {
            None
        };
        let is_list = name != curves::GRADE;
        let unknown = match (&value, is_list) {
            (Some(v), true) => curves::unknown_names(v),
            _ => Vec::new(),
        };
        if !unknown.is_empty() {
            advice.push(format!(
                "{name} names {} that OpenSSL does not know; Postfix skips {} silently",
                unknown.join(", "),
                if unknown.len() == 1 { "it" } else { "them" }
            ));
        }
        if name == curves::GRADE
            && let Some(v) = value.as_deref().filter(|v| *v != "auto")
        {
            advice.push(format!(
                    "{name} = {v} pins one curve and ignores {}; `dhrotate curves --set modern` restores \"auto\"",
                    curves::CURVES
                ));
        }
        let overrides: Vec<(String, String)> = cf
            .master
            .services()
            .iter()
            .filter_map(|s| s.get(name).map(|o| (s.key(), o.value.clone())))
            .collect();
        for (svc, v) in &overrides {
            for u in curves::unknown_names(v).into_iter().filter(|_| is_list) {
                advice.push(format!(
                    "master.cf {svc} overrides {name} with {u}, which OpenSSL does not know"
                ));
            }
        }
        params.push(ParamView {
            name: name.to_owned(),
            value,
            set_in_main_cf: cf.main.get(name).is_some(),
            unknown,
            overrides,
        });
    }
    let ours = Version::find_in(openssl::version::version());
    if let (Some(theirs), Some(ours)) = (versions.openssl, ours)
        && (theirs.major, theirs.minor) != (ours.major, ours.minor)
    {
        advice.push(format!(
                "names were checked with OpenSSL {ours}, but Postfix runs with {theirs}: results may differ"
            ));
    }
    if curves::openssl_knows(curves::PQ_GROUP) {
        let has_pq = params.iter().any(|p| {
            p.value
                .as_deref()
                .is_some_and(|v| curves::groups(v).iter().any(|g| g.name == curves::PQ_GROUP))
        });
        if !has_pq {
            advice.push(format!(
                "this OpenSSL supports the post-quantum hybrid {}; `dhrotate curves --set pq-hybrid` offers it first",
                curves::PQ_GROUP
            ));
        }
    }
    Ok(CurvesView {
        checked_with: openssl::version::version().to_owned(),
        postfix_openssl: versions.openssl,
        params,
        advice,
    })
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
