//! Merging fragments: later files override earlier ones key by key,
//! `[[group]]` and `[[hook]]` tables merge by `name`, and every value keeps the file and
//! line it came from, so each section's validation can name it. No rule
//! is checked here.

use std::path::PathBuf;

use super::fragment::{InstancesValue, Loaded, Mode};

/// A value and where it was set, for messages.
pub(super) struct Origin<T> {
    pub value: T,
    pub at: String,
}

fn pick<T: Clone>(slot: &mut Option<Origin<T>>, value: Option<&toml::Spanned<T>>, file: &Loaded) {
    if let Some(v) = value {
        *slot = Some(Origin {
            value: v.get_ref().clone(),
            at: file.at(v),
        });
    }
}

/// The top-level keys.
#[derive(Default)]
pub(super) struct General {
    pub mode: Option<Origin<Mode>>,
    pub postfix_config_dir: Option<Origin<PathBuf>>,
    pub state_dir: Option<Origin<PathBuf>>,
    pub min_bits: Option<Origin<u32>>,
    pub max_age: Option<Origin<String>>,
    pub lock_wait: Option<Origin<String>>,
    pub auto_old_files: Option<Origin<String>>,
    pub instances: Option<Origin<InstancesValue>>,
    pub instance_files: Option<Origin<String>>,
}

/// One `[[hook]]`, merged across files by name.
#[derive(Default)]
pub(super) struct Hook {
    pub name: String,
    pub at: String,
    pub command: Option<Origin<Vec<String>>>,
    pub timeout: Option<Origin<String>>,
    pub verify: Option<Origin<String>>,
    pub group: Option<Origin<String>>,
}

/// One `[[group]]`, merged across files by name.
#[derive(Default)]
pub(super) struct Group {
    pub name: String,
    pub at: String,
    pub bits: Option<Origin<u32>>,
    pub file: Option<Origin<PathBuf>>,
    pub uses: Option<Origin<Vec<String>>>,
}

/// `[reload]`.
pub(super) struct Reload {
    pub enabled: bool,
    pub verify: Option<Origin<String>>,
    pub endpoints: Vec<String>,
}

/// `[schedule]`.
pub(super) struct Schedule {
    pub cron: Option<Origin<String>>,
    pub jitter: Option<Origin<String>>,
    pub catch_up: bool,
    pub rotate_after: Option<Origin<String>>,
}

/// `[postfix]`.
#[derive(Default)]
pub(super) struct Tools {
    pub postconf: Option<Origin<PathBuf>>,
    pub postfix: Option<Origin<PathBuf>>,
    pub postmulti: Option<Origin<PathBuf>>,
    pub timeout: Option<Origin<String>>,
}

/// `[policy]`.
#[derive(Default)]
pub(super) struct PolicyDraft {
    pub prefer: Option<Origin<String>>,
    pub guideline: Option<Origin<String>>,
    pub enforce: Option<Origin<bool>>,
    pub dhe: Option<Origin<String>>,
}

/// Every section, merged.
pub(super) struct Merged {
    pub general: General,
    pub groups: Vec<Group>,
    pub hooks: Vec<Hook>,
    pub reload: Reload,
    pub pool_size: Option<Origin<u32>>,
    pub schedule: Schedule,
    pub curves_policy: Option<Origin<String>>,
    pub policy: PolicyDraft,
    pub metrics_textfile: Option<Origin<PathBuf>>,
    pub tools: Tools,
}

/// The table called `name` in `list` (`[[group]]`, `[[hook]]`): the one an
/// earlier file started, or a new one remembering where this file starts it.
fn named<'a, T>(
    list: &'a mut Vec<T>,
    name: &toml::Spanned<String>,
    file: &Loaded,
    name_of: impl Fn(&T) -> &String,
    new: impl FnOnce(String, String) -> T,
) -> &'a mut T {
    let idx = match list.iter().position(|d| name_of(d) == name.get_ref()) {
        Some(i) => i,
        None => {
            list.push(new(name.get_ref().clone(), file.at(name)));
            list.len() - 1
        }
    };
    &mut list[idx]
}

/// Merges `files` in order: each key of a later file replaces the same
/// key of an earlier one; groups and hooks merge by name.
pub(super) fn merge(files: &[Loaded]) -> Merged {
    let mut m = Merged::defaults();
    for f in files {
        m.merge_general(f);
        m.merge_hooks(f);
        m.merge_groups(f);
        m.merge_tables(f);
    }
    m
}

impl Merged {
    /// Nothing set yet: what every key means when no file sets it.
    fn defaults() -> Merged {
        Merged {
            general: General::default(),
            groups: Vec::new(),
            hooks: Vec::new(),
            reload: Reload {
                enabled: true,
                verify: None,
                endpoints: Vec::new(),
            },
            pool_size: None,
            schedule: Schedule {
                cron: None,
                jitter: None,
                catch_up: true,
                rotate_after: None,
            },
            curves_policy: None,
            policy: PolicyDraft::default(),
            metrics_textfile: None,
            tools: Tools::default(),
        }
    }

    fn merge_general(&mut self, f: &Loaded) {
        let fr = &f.fragment;
        let g = &mut self.general;
        pick(&mut g.mode, fr.mode.as_ref(), f);
        pick(&mut g.postfix_config_dir, fr.postfix_config_dir.as_ref(), f);
        pick(&mut g.state_dir, fr.state_dir.as_ref(), f);
        pick(&mut g.min_bits, fr.min_bits.as_ref(), f);
        pick(&mut g.max_age, fr.max_age.as_ref(), f);
        pick(&mut g.lock_wait, fr.lock_wait.as_ref(), f);
        pick(&mut g.auto_old_files, fr.auto_old_files.as_ref(), f);
        pick(&mut g.instances, fr.instances.as_ref(), f);
        pick(&mut g.instance_files, fr.instance_files.as_ref(), f);
    }

    fn merge_hooks(&mut self, f: &Loaded) {
        for hf in &f.fragment.hook {
            let d = named(
                &mut self.hooks,
                &hf.name,
                f,
                |h| &h.name,
                |name, at| Hook {
                    name,
                    at,
                    ..Default::default()
                },
            );
            pick(&mut d.command, hf.command.as_ref(), f);
            pick(&mut d.timeout, hf.timeout.as_ref(), f);
            pick(&mut d.verify, hf.verify.as_ref(), f);
            pick(&mut d.group, hf.group.as_ref(), f);
        }
    }

    fn merge_groups(&mut self, f: &Loaded) {
        for gf in &f.fragment.group {
            let d = named(
                &mut self.groups,
                &gf.name,
                f,
                |g| &g.name,
                |name, at| Group {
                    name,
                    at,
                    ..Default::default()
                },
            );
            pick(&mut d.bits, gf.bits.as_ref(), f);
            pick(&mut d.file, gf.file.as_ref(), f);
            pick(&mut d.uses, gf.uses.as_ref(), f);
        }
    }

    /// The tables: [reload], [pool], [schedule], [curves], [metrics],
    /// [policy], [postfix].
    fn merge_tables(&mut self, f: &Loaded) {
        let fr = &f.fragment;
        if let Some(r) = &fr.reload {
            self.reload.enabled = r.enabled.unwrap_or(self.reload.enabled);
            pick(&mut self.reload.verify, r.verify.as_ref(), f);
            if let Some(e) = &r.endpoints {
                self.reload.endpoints = e.clone();
            }
        }
        if let Some(p) = &fr.pool {
            pick(&mut self.pool_size, p.size.as_ref(), f);
        }
        if let Some(s) = &fr.schedule {
            pick(&mut self.schedule.cron, s.cron.as_ref(), f);
            pick(&mut self.schedule.jitter, s.jitter.as_ref(), f);
            pick(&mut self.schedule.rotate_after, s.rotate_after.as_ref(), f);
            self.schedule.catch_up = s.catch_up.unwrap_or(self.schedule.catch_up);
        }
        if let Some(c) = &fr.curves {
            pick(&mut self.curves_policy, c.policy.as_ref(), f);
        }
        if let Some(mf) = &fr.metrics {
            pick(&mut self.metrics_textfile, mf.textfile.as_ref(), f);
        }
        if let Some(p) = &fr.policy {
            pick(&mut self.policy.prefer, p.prefer.as_ref(), f);
            pick(&mut self.policy.guideline, p.guideline.as_ref(), f);
            pick(&mut self.policy.enforce, p.enforce.as_ref(), f);
            pick(&mut self.policy.dhe, p.dhe.as_ref(), f);
        }
        if let Some(p) = &fr.postfix {
            pick(&mut self.tools.postconf, p.postconf.as_ref(), f);
            pick(&mut self.tools.postfix, p.postfix.as_ref(), f);
            pick(&mut self.tools.postmulti, p.postmulti.as_ref(), f);
            pick(&mut self.tools.timeout, p.timeout.as_ref(), f);
        }
    }
}
