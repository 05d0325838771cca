//! The groups a run installs: taken from the pool, searched, or RFC 7919's
//! in named mode, and validated before anything is written.

use std::path::PathBuf;

use anyhow::Result;
use tracing::info;

use super::env::{Env, Part};
use super::phases::Phase;
use super::plan::Plan;
use crate::config::GroupSpec;
use crate::dh::{self, ValidGroup};
use crate::ops::mode::group_policy;

/// A group generated and validated for one configured group.
pub(super) struct Fresh<'a> {
    pub spec: &'a GroupSpec,
    pub group: ValidGroup,
    pub origin: &'static str,
    /// The same file is shared with an earlier instance of the run, which
    /// writes it; this one only points at it and verifies it.
    pub written_by_another: bool,
}

/// The groups one part's plan installs, generated and validated; a file
/// another part already got a group for (`instance_files = "shared"`) is
/// written once, with that group.
pub(super) fn fresh_groups<'a>(
    part: &Part<'a>,
    env: &Env,
    made: &mut Vec<(PathBuf, ValidGroup, &'static str)>,
) -> Result<Vec<Fresh<'a>>> {
    let plan: &'a Plan = part.plan;
    let named = plan
        .decision
        .as_ref()
        .is_some_and(|d| d.mode == super::Effective::Named);
    let named_source = dh::NamedSource {
        catalog: env.catalog,
    };
    let source: &dyn dh::GroupSource = if named { &named_source } else { env.source };
    let mut fresh = Vec::new();
    for g in &plan.groups {
        if let Some((_, valid, origin)) = made.iter().find(|(file, ..)| *file == g.file) {
            fresh.push(Fresh {
                spec: g,
                group: valid.clone(),
                origin,
                written_by_another: true,
            });
            continue;
        }
        if named {
            info!(group = %g.name, bits = g.bits, "taking the RFC 7919 group of this size");
        } else {
            info!(group = %g.name, bits = g.bits, "getting a fresh group (pool or search)");
        }
        let (dh, origin) = env.phases.time(Phase::Source, || source.fresh(g.bits))?;
        let policy = group_policy(g, part.settings, named);
        let what = format!("the new {}-bit group {:?}", g.bits, g.name);
        let valid = env.phases.time(Phase::Validation, || {
            dh::validate::accept(
                &dh,
                &what,
                &policy,
                env.catalog,
                dh::proofs::or_scratch(env.proofs),
            )
        })?;
        info!(group = %g.name, bits = g.bits, origin, fingerprint = %valid.verdict.proof.fingerprint, "validated");
        made.push((g.file.clone(), valid.clone(), origin));
        fresh.push(Fresh {
            spec: g,
            group: valid,
            origin,
            written_by_another: false,
        });
    }
    Ok(fresh)
}
