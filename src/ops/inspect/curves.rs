//! `dhrotate curves` and `status`: what the curve / FFDHE policy is now,
//! every name checked against OpenSSL. `--set` is a rotation
//! (ops/rotate/curves.rs).

use anyhow::Result;
use serde::Serialize;

use crate::postfix::curves::{
    CURVES, FFDHE, GRADE, PARAMS, PQ_GROUP, groups, openssl_knows, unknown_names,
};
use crate::postfix::{self, ConfigFiles, Postfix, Version};

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

/// Gathers the current policy without changing anything.
pub fn view(pf: &dyn Postfix) -> Result<CurvesView> {
    let versions = postfix::version::detect(pf)?;
    let cf = ConfigFiles::load(pf.config_dir())?;
    let mut params = Vec::new();
    let mut advice = Vec::new();
    for name in PARAMS {
        let supported = name != FFDHE || versions.postfix >= Version::new(3, 8, 0);
        let value = if supported {
            Some(pf.postconf(&["-h", name])?.trim().to_owned())
        } else {
            None
        };
        let is_list = name != GRADE;
        let unknown = match (&value, is_list) {
            (Some(v), true) => unknown_names(v),
            _ => Vec::new(),
        };
        if !unknown.is_empty() {
            advice.push(format!(
                "{name} names {} that OpenSSL does not know; Postfix skips {} silently",
                unknown.join(", "),
                if unknown.len() == 1 { "it" } else { "them" }
            ));
        }
        if let Some(v) = value.as_deref().filter(|v| name == GRADE && *v != "auto") {
            advice.push(format!(
                    "{name} = {v} pins one curve and ignores {}; `dhrotate curves --set modern` restores \"auto\"",
                    CURVES
                ));
        }
        let overrides: Vec<(String, String)> = cf
            .master
            .services()
            .iter()
            .filter_map(|s| s.get(name).map(|o| (s.key(), o.value.clone())))
            .collect();
        for (svc, v) in &overrides {
            for u in unknown_names(v).into_iter().filter(|_| is_list) {
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
    let differ = |(theirs, ours): &(Version, Version)| {
        (theirs.major, theirs.minor) != (ours.major, ours.minor)
    };
    if let Some((theirs, ours)) = versions.openssl.zip(ours).filter(differ) {
        advice.push(format!(
                "names were checked with OpenSSL {ours}, but Postfix runs with {theirs}: results may differ"
            ));
    }
    if openssl_knows(PQ_GROUP) {
        let has_pq = params.iter().any(|p| {
            p.value
                .as_deref()
                .is_some_and(|v| groups(v).iter().any(|g| g.name == PQ_GROUP))
        });
        if !has_pq {
            advice.push(format!(
                "this OpenSSL supports the post-quantum hybrid {}; `dhrotate curves --set pq-hybrid` offers it first",
                PQ_GROUP
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
