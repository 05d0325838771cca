//! `[[group]]`: the groups dhrotate keeps fresh and where each is used.
//! Each group validates itself; then no two may write one file or set one
//! parameter in one place.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::merge;

const SERVICE_TYPES: [&str; 5] = ["inet", "unix", "unix-dgram", "fifo", "pass"];

/// Where a group's file is named.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Use {
    /// main.cf.
    MainCf,
    /// A master.cf `-o` override of `service/type`.
    Service(String),
}

impl Use {
    /// The same place, as the Postfix layer names it.
    pub fn scope(&self) -> crate::postfix::oracle::Scope {
        match self {
            Use::MainCf => crate::postfix::oracle::Scope::Main,
            Use::Service(key) => crate::postfix::oracle::Scope::Service(key.clone()),
        }
    }
}

impl std::fmt::Display for Use {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.scope().fmt(f)
    }
}

/// One DH group dhrotate keeps fresh.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GroupSpec {
    /// Name from the config (`main`, `submission`).
    pub name: String,
    /// Prime size.
    pub bits: u32,
    /// Absolute path of the PEM file.
    pub file: PathBuf,
    /// Where Postfix is pointed at it.
    pub uses: Vec<Use>,
}

impl GroupSpec {
    /// The Postfix parameter this group's file goes into.
    pub fn parameter(&self) -> &'static str {
        if self.bits == 512 {
            crate::postfix::DH512
        } else {
            crate::postfix::DH1024
        }
    }
}

/// Validates every group (the built-in `main` when none is configured).
pub(super) fn validate(
    mut drafts: Vec<merge::Group>,
    min_bits: u32,
    postfix_dir: &Path,
) -> Result<Vec<GroupSpec>> {
    if drafts.is_empty() {
        drafts.push(merge::Group {
            name: "main".into(),
            at: "built-in default".into(),
            ..Default::default()
        });
    }
    let specs = drafts
        .into_iter()
        .map(|d| GroupSpec::validate(d, min_bits, postfix_dir))
        .collect::<Result<Vec<_>>>()?;
    check_no_overlap(&specs)?;
    Ok(specs)
}

impl GroupSpec {
    /// Validates one merged `[[group]]`, key by key; errors name its file
    /// and line.
    fn validate(d: merge::Group, min_bits: u32, postfix_dir: &Path) -> Result<GroupSpec> {
        let name = group_name(&d)?;
        let uses = uses(&d, &name)?;
        let bits = bits(&d, &name, min_bits, &uses)?;
        let file = file(&d, &name, bits, postfix_dir)?;
        Ok(GroupSpec {
            name,
            bits,
            file,
            uses,
        })
    }
}

fn group_name(d: &merge::Group) -> Result<String> {
    let name = &d.name;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!(
            "{}: group name {name:?} must be letters, digits, '-' or '_'",
            d.at
        );
    }
    Ok(name.clone())
}

/// `use`: "main.cf" (the default) and master.cf services as `postconf -P`
/// names them, each once.
fn uses(d: &merge::Group, name: &str) -> Result<Vec<Use>> {
    let uses_raw = d
        .uses
        .as_ref()
        .map_or_else(|| vec!["main.cf".to_owned()], |o| o.value.clone());
    let uses_at = d
        .uses
        .as_ref()
        .map_or_else(|| d.at.clone(), |o| o.at.clone());
    if uses_raw.is_empty() {
        bail!(
            "{uses_at}: group {name:?} has an empty `use`; name \"main.cf\" and/or services like \"submission/inet\""
        );
    }
    let mut uses = Vec::new();
    for u in &uses_raw {
        let parsed = if u == "main.cf" {
            Use::MainCf
        } else {
            match u.rsplit_once('/') {
                Some((svc, ty))
                    if !svc.is_empty()
                        && SERVICE_TYPES.contains(&ty)
                        && !svc.contains(char::is_whitespace) =>
                {
                    Use::Service(u.clone())
                }
                _ => bail!(
                    "{uses_at}: group {name:?}: use = {u:?} is neither \"main.cf\" nor a master.cf service as `postconf -P` names it (service/type, e.g. \"submission/inet\")"
                ),
            }
        };
        if uses.contains(&parsed) {
            bail!("{uses_at}: group {name:?} lists {u:?} twice");
        }
        uses.push(parsed);
    }
    Ok(uses)
}

/// `bits`: 2048 (or min_bits, when higher) by default; a size OpenSSL and
/// Postfix take; at least min_bits where main.cf uses it.
fn bits(d: &merge::Group, name: &str, min_bits: u32, uses: &[Use]) -> Result<u32> {
    let default_bits = if min_bits > 2048 { min_bits } else { 2048 };
    let (bits, bits_at) = d
        .bits
        .as_ref()
        .map_or((default_bits, d.at.clone()), |o| (o.value, o.at.clone()));
    if !(512..=8192).contains(&bits) || bits % 64 != 0 {
        bail!(
            "{bits_at}: group {name:?}: bits = {bits} is not allowed; use 2048 (recommended), 3072 or 4096 (1024 or 512 only for legacy clients, at most 8192, a multiple of 64)"
        );
    }
    if uses.contains(&Use::MainCf) && bits < min_bits {
        bail!(
            "{bits_at}: group {name:?} is used in main.cf but bits = {bits} is below min_bits = {min_bits}; smaller groups are allowed only for master.cf overrides"
        );
    }
    Ok(bits)
}

/// `file`: dh{bits}.pem by default, relative to postfix_config_dir; a path
/// main.cf and master.cf can hold as it is.
fn file(d: &merge::Group, name: &str, bits: u32, postfix_dir: &Path) -> Result<PathBuf> {
    let file = d.file.as_ref().map_or_else(
        || PathBuf::from(format!("dh{bits}.pem")),
        |o| o.value.clone(),
    );
    let text = file.to_string_lossy();
    if text.is_empty()
        || text.contains(|c: char| c.is_whitespace() || c.is_control() || "${},=\"'#".contains(c))
    {
        bail!(
            "{}: group {name:?}: file = {text:?} must be a plain path without spaces or any of $ {{ }} , = \" ' #",
            d.at
        );
    }
    Ok(if file.is_absolute() {
        file
    } else {
        postfix_dir.join(file)
    })
}

fn check_no_overlap(specs: &[GroupSpec]) -> Result<()> {
    for (i, a) in specs.iter().enumerate() {
        for b in &specs[i + 1..] {
            if a.file == b.file {
                bail!(
                    "groups {:?} and {:?} both write {}; give each its own file",
                    a.name,
                    b.name,
                    a.file.display()
                );
            }
            let shared = a.uses.iter().find(|u| b.uses.contains(u));
            if let Some(u) = shared.filter(|_| a.parameter() == b.parameter()) {
                bail!(
                    "groups {:?} and {:?} both set {} in {u}; each place can use one group",
                    a.name,
                    b.name,
                    a.parameter()
                );
            }
        }
    }
    Ok(())
}
