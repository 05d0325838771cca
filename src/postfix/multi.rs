//! Postfix multi-instance (MULTI_INSTANCE_README): the instances
//! `postmulti -l` lists, read from its text columns or, on Postfix >= 3.11,
//! from `postmulti -j -l` (one JSON object per line; postmulti(1) "JSON
//! OBJECT FORMAT"). Parsing only; running postmulti is the caller's.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

/// One Postfix instance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListedInstance {
    /// `multi_instance_name`, or "primary" for the instance dhrotate's
    /// `postfix_config_dir` names (postmulti shows it as "-").
    pub name: String,
    /// `multi_instance_group`, if set.
    pub group: Option<String>,
    /// `multi_instance_enable`: a disabled instance is edited but neither
    /// reloaded nor started.
    pub enabled: bool,
    /// Its config_directory.
    pub config_dir: PathBuf,
    /// The instance whose main.cf lists the others.
    pub primary: bool,
}

/// The name a primary instance is shown and recorded under.
pub const PRIMARY: &str = "primary";

impl ListedInstance {
    /// The one instance of a host without multi-instance support.
    pub fn only(config_dir: &Path) -> ListedInstance {
        ListedInstance {
            name: PRIMARY.into(),
            group: None,
            enabled: true,
            config_dir: config_dir.to_path_buf(),
            primary: true,
        }
    }
}

/// `postmulti -l` (text) or `postmulti -j -l` (JSON lines), with
/// `primary_dir` telling which entry is the primary.
pub fn parse(text: &str, json: bool, primary_dir: &Path) -> Result<Vec<ListedInstance>> {
    let mut rows = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = format!("postmulti -l line {}", n + 1);
        let columns = if json {
            json_line(line)
        } else {
            text_line(line)
        }
        .map_err(|e| anyhow!("{at}: {e}: {line:?}"))?;
        rows.push((at, columns));
    }
    assemble(rows, primary_dir, "postmulti -l does not list")
}

/// One secondary as its own main.cf describes it (empty name or group:
/// not set).
pub struct Listed {
    /// Its config_directory, from the primary's multi_instance_directories.
    pub config_dir: PathBuf,
    /// `multi_instance_name`.
    pub name: String,
    /// `multi_instance_group`.
    pub group: String,
    /// `multi_instance_enable = yes`.
    pub enabled: bool,
}

/// The primary and its secondaries read through postconf, checked as
/// `parse` checks postmulti's listing.
pub fn from_listed(primary_dir: &Path, listed: Vec<Listed>) -> Result<Vec<ListedInstance>> {
    let dash = |v: String| if v.is_empty() { "-".to_owned() } else { v };
    let primary = (
        "postfix_config_dir".to_owned(),
        (
            "-".into(),
            "-".into(),
            true,
            primary_dir.display().to_string(),
        ),
    );
    let rows = std::iter::once(primary)
        .chain(listed.into_iter().map(|l| {
            (
                format!(
                    "multi_instance_directories entry {}",
                    l.config_dir.display()
                ),
                (
                    dash(l.name),
                    dash(l.group),
                    l.enabled,
                    l.config_dir.display().to_string(),
                ),
            )
        }))
        .collect();
    assemble(
        rows,
        primary_dir,
        "multi_instance_directories does not name",
    )
}

/// Instances from rows of (where it was read, columns): directories
/// absolute, every secondary named, `primary_dir` among them.
fn assemble(
    rows: Vec<(String, Columns)>,
    primary_dir: &Path,
    missing: &str,
) -> Result<Vec<ListedInstance>> {
    let mut out = Vec::new();
    for (at, (name, group, enabled, dir)) in rows {
        let config_dir = PathBuf::from(dir);
        if !config_dir.is_absolute() {
            bail!(
                "{at}: config_directory {} is not absolute",
                config_dir.display()
            );
        }
        let primary = same_dir(&config_dir, primary_dir);
        let named = |v: String| Some(v).filter(|v| v != "-");
        out.push(ListedInstance {
            name: if primary {
                PRIMARY.into()
            } else {
                named(name).ok_or_else(|| {
                    anyhow!(
                        "{at}: the instance in {} has no multi_instance_name",
                        config_dir.display()
                    )
                })?
            },
            group: named(group),
            enabled: primary || enabled,
            config_dir,
            primary,
        });
    }
    if !out.iter().any(|i| i.primary) {
        bail!(
            "{missing} {} (dhrotate's postfix_config_dir) as an instance; \
             set postfix_config_dir to the primary instance's config_directory",
            primary_dir.display()
        );
    }
    Ok(out)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    canon(a) == canon(b)
}

type Columns = (String, String, bool, String);

/// `%-15s %-15s %-9s %s`: name, group, y/n, config_directory (the rest
/// of the line, so a directory with spaces survives).
fn text_line(line: &str) -> Result<Columns, String> {
    let mut rest = line.trim_start();
    let mut field = || -> Result<String, String> {
        let end = rest
            .find(char::is_whitespace)
            .ok_or_else(|| "fewer than four columns".to_owned())?;
        let f = rest[..end].to_owned();
        rest = rest[end..].trim_start();
        Ok(f)
    };
    let name = field()?;
    let group = field()?;
    let enabled = yes(&field()?)?;
    let dir = rest.trim_end();
    if dir.is_empty() {
        return Err("no config_directory column".into());
    }
    Ok((name, group, enabled, dir.to_owned()))
}

fn json_line(line: &str) -> Result<Columns, String> {
    #[derive(serde::Deserialize)]
    struct Entry {
        name: String,
        group: String,
        enabled: String,
        config_directory: String,
    }
    let e: Entry = serde_json::from_str(line).map_err(|e| e.to_string())?;
    Ok((e.name, e.group, yes(&e.enabled)?, e.config_directory))
}

fn yes(v: &str) -> Result<bool, String> {
    match v {
        "y" => Ok(true),
        "n" => Ok(false),
        other => Err(format!("enabled column {other:?} is neither y nor n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_listings_mean_the_same_instances() {
        // As postmulti prints them (postmulti.c list_instances).
        let text = "-               -               y         /etc/postfix\n\
                    postfix-out     mta             n         /etc/postfix-out\n\
                    postfix-in      -               y         /srv/postfix in\n";
        let json = "{\"name\": \"-\",\"group\": \"-\",\"enabled\": \"y\",\"config_directory\": \"/etc/postfix\"}\n\
                    {\"name\": \"postfix-out\",\"group\": \"mta\",\"enabled\": \"n\",\"config_directory\": \"/etc/postfix-out\"}\n\
                    {\"name\": \"postfix-in\",\"group\": \"-\",\"enabled\": \"y\",\"config_directory\": \"/srv/postfix in\"}\n";
        let a = parse(text, false, Path::new("/etc/postfix")).unwrap();
        let b = parse(json, true, Path::new("/etc/postfix")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a[0], ListedInstance::only(Path::new("/etc/postfix")));
        assert_eq!(a[1].name, "postfix-out");
        assert_eq!(a[1].group.as_deref(), Some("mta"));
        assert!(!a[1].enabled && !a[1].primary);
        assert_eq!(a[2].config_dir, PathBuf::from("/srv/postfix in"));
        assert_eq!(a[2].group, None);
    }

    #[test]
    fn instances_read_through_postconf_are_checked_and_named_by_their_source() {
        let listed = |name: &str| Listed {
            config_dir: PathBuf::from("/etc/postfix-out"),
            name: name.into(),
            group: String::new(),
            enabled: false,
        };
        let got = from_listed(Path::new("/etc/postfix"), vec![listed("postfix-out")]).unwrap();
        assert_eq!(got[0], ListedInstance::only(Path::new("/etc/postfix")));
        assert_eq!(
            (got[1].name.as_str(), got[1].group.as_ref(), got[1].enabled),
            ("postfix-out", None, false)
        );
        let err = from_listed(Path::new("/etc/postfix"), vec![listed("")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("multi_instance_directories entry /etc/postfix-out")
                && err.contains("no multi_instance_name")
                && !err.contains("postmulti"),
            "{err}"
        );
    }

    #[test]
    fn a_listing_without_our_primary_or_with_garbage_is_refused() {
        let err = parse(
            "postfix-out - y /etc/postfix-out\n",
            false,
            Path::new("/etc/postfix"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("does not list /etc/postfix"), "{err}");
        let err = parse("- - maybe /etc/postfix\n", false, Path::new("/etc/postfix"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 1") && err.contains("neither y nor n"),
            "{err}"
        );
        let err = parse("- - y\n", false, Path::new("/etc/postfix"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("columns"), "{err}");
        let err = parse(
            "- - y /etc/postfix\n- - y /etc/postfix-x\n",
            false,
            Path::new("/etc/postfix"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no multi_instance_name"), "{err}");
    }
}
