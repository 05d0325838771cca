//! Which Postfix instances a run manages (`instances`), each with its
//! settings and commands: asked by rotation and by `status`.

use anyhow::Result;

use crate::config::{Instances, Settings};
use crate::error::Failure;
use crate::postfix::Postfix;
use crate::postfix::multi::Instance;

/// One managed instance: what it is, its settings, its commands (`None`
/// for the primary, whose commands the caller already has).
pub struct Managed {
    /// The instance.
    pub instance: Instance,
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
        instance: Instance::only(&settings.postfix_config_dir),
        settings: settings.clone(),
        postfix: None,
    };
    if settings.instances == Instances::Primary {
        return Ok(vec![primary]);
    }
    let listed = pf
        .instances()
        .map_err(|e| Failure::Config(e.context("listing Postfix instances (instances is not \"primary\")")))?;
    if let Instances::Named(names) = &settings.instances
        && let Some(missing) = names.iter().find(|n| !listed.iter().any(|i| &i.name == *n))
    {
        let known: Vec<&str> = listed
            .iter()
            .filter(|i| !i.primary)
            .map(|i| i.name.as_str())
            .collect();
        return Err(Failure::Config(anyhow::anyhow!(
            "instances names {missing:?}, which `postmulti -l` does not list (it lists: {}); \
             create it with `postmulti -I {missing} -e create` or fix the name",
            if known.is_empty() { "no secondary instance".to_owned() } else { known.join(", ") }
        ))
        .into());
    }
    let mut out = vec![Managed {
        instance: listed.iter().find(|i| i.primary).cloned().unwrap_or(primary.instance),
        ..primary
    }];
    for inst in listed.into_iter().filter(|i| !i.primary) {
        if let Instances::Named(names) = &settings.instances
            && !names.contains(&inst.name)
        {
            continue;
        }
        let Some(postfix) = pf.for_instance(&inst.config_dir) else {
            anyhow::bail!("this Postfix cannot reach instance {}", inst.name);
        };
        out.push(Managed {
            settings: settings.for_instance(&inst.name, &inst.config_dir),
            instance: inst,
            postfix: Some(postfix),
        });
    }
    Ok(out)
}
