//! Which Postfix instances a run manages (`instances`), each with its
//! settings and commands: asked by rotation and by `status`.

use anyhow::Result;

use crate::config::{Instances, Settings};
use crate::error::Failure;
use crate::postfix::Postfix;
use crate::postfix::multi::ListedInstance;

/// One managed instance: what it is, its settings, its commands (`None`
/// for the primary, whose commands the caller already has).
pub struct Managed {
    /// The instance.
    pub instance: ListedInstance,
    /// `Settings::for_instance` (the primary's own settings for it).
    pub settings: Settings,
    /// Its `postconf`/`postfix`, for a secondary.
    pub postfix: Option<Box<dyn Postfix>>,
}

impl Managed {
    /// Its commands: its own, or `primary` for the primary.
    pub fn postfix<'a>(&'a self, primary: &'a dyn Postfix) -> &'a dyn Postfix {
        self.postfix.as_deref().unwrap_or(primary)
    }
}

/// The primary, then the secondaries `instances` selects, in
/// `postmulti -l` order. A name that postmulti does not list is a
/// configuration error (exit 2) naming those it does.
pub fn select(settings: &Settings, pf: &dyn Postfix) -> Result<Vec<Managed>> {
    let primary = Managed {
        instance: ListedInstance::only(&settings.postfix_config_dir),
        settings: settings.clone(),
        postfix: None,
    };
    if settings.instances == Instances::Primary {
        return Ok(vec![primary]);
    }
    let listed = pf.instances().map_err(|e| {
        Failure::Config(e.context("listing Postfix instances (instances is not \"primary\")"))
    })?;
    let missing = match &settings.instances {
        Instances::Named(names) => names.iter().find(|n| !listed.iter().any(|i| &i.name == *n)),
        _ => None,
    };
    if let Some(missing) = missing {
        let known: Vec<&str> = listed
            .iter()
            .filter(|i| !i.primary)
            .map(|i| i.name.as_str())
            .collect();
        return Err(Failure::Config(anyhow::anyhow!(
            "instances names {missing:?}, which `postmulti -l` does not list (it lists: {}); \
             create it with `postmulti -I {missing} -e create` or fix the name",
            if known.is_empty() {
                "no secondary instance".to_owned()
            } else {
                known.join(", ")
            }
        ))
        .into());
    }
    let mut out = vec![Managed {
        instance: listed
            .iter()
            .find(|i| i.primary)
            .cloned()
            .unwrap_or(primary.instance),
        ..primary
    }];
    for inst in listed.into_iter().filter(|i| !i.primary) {
        if matches!(&settings.instances, Instances::Named(names) if !names.contains(&inst.name)) {
            continue;
        }
        let Some(postfix) = pf.for_instance(&inst.config_dir) else {
            anyhow::bail!("this Postfix cannot reach instance {}", inst.name);
        };
        let mut settings = settings.for_instance(&inst.name, &inst.config_dir);
        only_services_it_has(&mut settings);
        out.push(Managed {
            settings,
            instance: inst,
            postfix: Some(postfix),
        });
    }
    Ok(out)
}

/// A group's master.cf `use` names a listener of one instance (the
/// primary's submission, say); in a secondary without that service it
/// does not apply, and a group used nowhere there is not kept there. An
/// unreadable configuration is left for the planner to report.
fn only_services_it_has(settings: &mut Settings) {
    let Ok(cf) = crate::postfix::ConfigFiles::load(&settings.postfix_config_dir) else {
        return;
    };
    for g in &mut settings.groups {
        g.uses.retain(|u| match u {
            crate::config::Use::MainCf => true,
            crate::config::Use::Service(key) => cf.master.service(key).is_some(),
        });
    }
    settings.groups.retain(|g| !g.uses.is_empty());
}

/// Refuses, before anything is planned, a secondary instance whose
/// directories this process cannot write: under the shipped
/// dhrotate.service (ProtectSystem=strict) only the primary's are
/// writable, and a run would fail at its first write there. The message
/// is the drop-in that fixes it.
pub fn check_writable(managed: &[Managed], primary: &dyn Postfix) -> Result<()> {
    let mut blocked = Vec::new();
    let mut all_dirs = Vec::new();
    for m in managed.iter().filter(|m| !m.instance.primary) {
        let pf = m.postfix(primary);
        let mut dirs = vec![m.instance.config_dir.clone()];
        if let Ok(out) = pf.postconf(&["-h", "queue_directory", "data_directory"]) {
            dirs.extend(
                out.lines()
                    .map(str::trim)
                    .filter(|l| l.starts_with('/'))
                    .map(std::path::PathBuf::from),
            );
        }
        for d in dirs {
            if let Err(
                nix::errno::Errno::EROFS | nix::errno::Errno::EACCES | nix::errno::Errno::EPERM,
            ) = nix::unistd::access(&d, nix::unistd::AccessFlags::W_OK)
            {
                blocked.push(format!("{} ({})", d.display(), m.instance.name));
            }
            all_dirs.push(d.display().to_string());
        }
    }
    if blocked.is_empty() {
        return Ok(());
    }
    Err(Failure::Config(anyhow::anyhow!(
        "this process cannot write {}: a secondary Postfix instance's configuration and queue must be writable. \
         Under dhrotate.service (ProtectSystem=strict) add them with `systemctl edit dhrotate.service` \
         (and dhrotate-daemon.service): [Service] ReadWritePaths={}",
        blocked.join(", "),
        all_dirs.join(" ")
    ))
    .into())
}
