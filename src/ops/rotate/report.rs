//! What a run did, or would do, in the words `now`, `curves --set` and the
//! demo print: versions and mode first, then the groups, the unified diffs
//! of the config edits, and what became of Postfix.

use std::fmt;

use super::{Applied, Plan, RunReport};

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let several = !self.others.is_empty();
        if several {
            writeln!(f, "== primary instance")?;
        }
        one(f, &self.plan, self.applied.as_ref())?;
        for o in &self.others {
            writeln!(
                f,
                "== instance {} ({}{})",
                o.instance.name,
                o.instance.config_dir.display(),
                if o.instance.enabled { "" } else { ", disabled" }
            )?;
            one(f, &o.plan, o.applied.as_ref())?;
        }
        if self.applied.is_none() {
            if self.changes_groups() {
                for h in &self.hook_specs {
                    writeln!(
                        f,
                        "would run hook {:?}: {}{} (timeout {})",
                        h.name,
                        std::iter::once(h.program.display().to_string())
                            .chain(h.args.iter().cloned())
                            .collect::<Vec<_>>()
                            .join(" "),
                        h.verify.as_ref().map_or_else(String::new, |v| format!(
                            ", then check that {} serves group {:?}",
                            v.addr, v.group
                        )),
                        humantime::format_duration(h.timeout)
                    )?;
                }
            }
            writeln!(f, "dry run: nothing was changed")?;
        }
        for h in &self.hooks {
            writeln!(f, "{}", h.describe())?;
        }
        Ok(())
    }
}

/// Summary for the daemon's log line.
impl RunReport {
    /// One line: the primary's counts, then each secondary's and the hooks.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self.applied.iter().map(Applied::summary).collect();
        for o in &self.others {
            if let Some(a) = &o.applied {
                parts.push(format!("instance {}: {}", o.instance.name, a.summary()));
            }
        }
        let ok = self
            .hooks
            .iter()
            .filter(|h| h.outcome == crate::ops::rotate::hooks::HookOutcome::Ok)
            .count();
        if !self.hooks.is_empty() {
            parts.push(format!("{ok}/{} hook(s) ok", self.hooks.len()));
        }
        parts.join("; ")
    }
}

/// One instance: its plan, then what was done or (`None`) would be.
fn one(f: &mut fmt::Formatter<'_>, plan: &Plan, applied: Option<&Applied>) -> fmt::Result {
    head(f, plan)?;
    if let Some(applied) = applied {
        return done(f, applied);
    }
    let named = plan
        .decision
        .as_ref()
        .is_some_and(|d| d.mode == super::Effective::Named);
    for g in &plan.groups {
        let what = if named {
            format!("install RFC 7919's ffdhe{} as group {:?}", g.bits, g.name)
        } else {
            format!("generate a {}-bit group {:?}", g.bits, g.name)
        };
        writeln!(
            f,
            "would {what} -> {} (previous kept as .prev)",
            g.file.display()
        )?;
    }
    for e in &plan.edits {
        write!(f, "{}", unified_diff(e))?;
    }
    for old in plan.old_files.iter().filter(|o| o.remove) {
        writeln!(f, "would remove {} (and its .prev)", old.path.display())?;
    }
    if !plan.changes_anything() {
        writeln!(f, "nothing to change")?;
    }
    Ok(())
}

/// Versions, mode and warnings: the first lines of every report.
fn head(f: &mut fmt::Formatter<'_>, plan: &Plan) -> fmt::Result {
    writeln!(
        f,
        "Postfix {}, OpenSSL {} ({})",
        plan.versions.postfix,
        plan.versions
            .openssl
            .map_or_else(|| "unknown".into(), |v| v.to_string()),
        plan.versions.openssl_source,
    )?;
    if let Some(d) = &plan.decision {
        writeln!(f, "mode {:?}: {}", d.mode, d.why)?;
    }
    for old in plan.old_files.iter().filter(|o| !o.remove) {
        writeln!(
            f,
            "kept {}: no longer used in auto mode (auto_old_files = \"remove\" removes it)",
            old.path.display()
        )?;
    }
    for w in &plan.warnings {
        writeln!(f, "warning: {w}")?;
    }
    for n in &plan.not_due {
        writeln!(
            f,
            "not due: group {:?} ({}) is {} old, younger than rotate_after",
            n.name,
            n.file.display(),
            humantime::format_duration(std::time::Duration::from_secs(n.age.as_secs()))
        )?;
    }
    Ok(())
}

/// What an applied plan wrote, edited, removed, and what became of Postfix.
fn done(f: &mut fmt::Formatter<'_>, applied: &Applied) -> fmt::Result {
    for g in &applied.written {
        writeln!(
            f,
            "wrote {} ({} bits, group {:?}, {}, sha256(p) {})",
            g.file.display(),
            g.bits,
            g.name,
            match g.source.as_str() {
                "pool" => "taken from the pool",
                "search" => "newly generated",
                "rfc7919" => "RFC 7919's named group",
                other => other,
            },
            g.fingerprint
        )?;
    }
    for path in &applied.edited {
        writeln!(f, "edited {}", path.display())?;
    }
    for path in &applied.removed {
        writeln!(f, "removed {} (and its .prev)", path.display())?;
    }
    writeln!(f, "{}", applied.reload.describe())?;
    for v in &applied.verification {
        let mark = if v.ok() { "verified" } else { "MISMATCH" };
        writeln!(f, "{mark}: {}", v.describe())?;
    }
    Ok(())
}

fn unified_diff(e: &crate::postfix::FileEdit) -> String {
    let before = String::from_utf8_lossy(&e.before);
    let after = String::from_utf8_lossy(&e.after);
    let name = e.path.display().to_string();
    similar::TextDiff::from_lines(before.as_ref(), after.as_ref())
        .unified_diff()
        .context_radius(2)
        .header(&name, &name)
        .to_string()
}
