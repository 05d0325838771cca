//! `dhrotate curves --set`: the curve / FFDHE policy's edit, through the
//! same lock, confirmation, check, reload and rollback as a rotation.

use anyhow::Result;

use crate::config::Settings;
use crate::ops::rotate::{self, Env, Plan, RunReport};
use crate::postfix::curves::{CurvePolicy, apply_policy};
use crate::postfix::{self, ConfigFiles, Postfix};

/// `curves --set`: plans the policy's edit and applies it with the same
/// lock, staged confirmation, `postfix check`, reload and rollback as a
/// rotation; nothing is recorded in the state file.
pub fn set(
    settings: &Settings,
    pf: &dyn Postfix,
    policy: CurvePolicy,
    dry_run: bool,
) -> Result<RunReport> {
    let planner = move |s: &Settings, pf: &dyn Postfix| -> Result<Plan> {
        let versions = postfix::version::detect(pf)?;
        let mut cf = ConfigFiles::load(&s.postfix_config_dir)?;
        let warnings = apply_policy(&mut cf, &policy, &versions)?;
        Ok(Plan {
            changes: cf.changes(),
            intents: cf.intents(),
            edits: cf.edits(),
            versions,
            decision: None,
            groups: Vec::new(),
            old_files: Vec::new(),
            warnings,
            not_due: Vec::new(),
        })
    };
    let catalog = crate::dh::Catalog::embedded();
    let env = Env {
        postfix: pf,
        source: &crate::dh::OpenSslSource,
        catalog: &catalog,
        proofs: None,
        phases: Default::default(),
        now: std::time::SystemTime::now(),
    };
    let how = rotate::How {
        dry_run,
        record: false,
    };
    rotate::execute(settings, &env, how, &planner, &mut rotate::Seen::default())
}
