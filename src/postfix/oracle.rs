//! Postfix's own parser as the judge of every edit, at run time.
//!
//! dhrotate edits main.cf and master.cf with its own reader. Before the
//! edited files are installed, both versions are copied into a private
//! stage and read by `postconf -n`, `-P` and `-M`: exactly the intended
//! parameters of exactly the intended services may change, to exactly the
//! intended values, and no new warning may appear. Whatever dhrotate's
//! reader gets wrong (a spelling nobody has thought of yet) then shows up
//! as a difference, and the edit is refused before anything is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;

/// Where an intended setting lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// main.cf.
    Main,
    /// A master.cf `-o` override of `service/type`.
    Service(String),
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Main => f.write_str("main.cf"),
            Scope::Service(key) => write!(f, "master.cf {key}"),
        }
    }
}

/// One setting an edit means to change: to `value`, or away (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// main.cf or a service.
    pub scope: Scope,
    /// The parameter.
    pub name: String,
    /// The new value; `None` removes the setting.
    pub value: Option<String>,
}

/// Records intents, the last one per setting winning.
pub fn record(intents: &mut Vec<Intent>, scope: Scope, name: &str, value: Option<&str>) {
    intents.retain(|i| !(i.scope == scope && i.name == name));
    intents.push(Intent {
        scope,
        name: name.to_owned(),
        value: value.map(str::to_owned),
    });
}

/// Runs `postconf -c STAGE ARGS...`: its stdout and stderr.
pub type Postconf<'a> = &'a dyn Fn(&[&str]) -> Result<(String, String)>;

/// What `postconf` reads from one copy of the configuration.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct View {
    main: BTreeMap<String, String>,
    overrides: BTreeMap<(String, String), String>,
    entries: BTreeMap<String, String>,
    warnings: BTreeSet<String>,
}

impl View {
    /// Asks postconf about the copy in `dir`; `run` runs `postconf -c dir
    /// ARGS` and returns its stdout and stderr.
    pub fn read(dir: &Path, run: Postconf) -> Result<View> {
        let mut view = View::default();
        let shown = dir.display().to_string();
        // Postfix 3.11 follows a deprecation warning with a second one,
        // "See https://www.postfix.org/DEPRECATION_README.html for details",
        // which names nothing: it belongs to the warning before it.
        let mut warn = |stderr: &str| {
            let mut pending: Option<String> = None;
            for line in stderr.lines().filter(|l| l.contains("warning:")) {
                let line = line.replace(&shown, "<config>");
                let text = line
                    .split_once("warning:")
                    .map_or(line.as_str(), |(_, w)| w)
                    .trim();
                match pending.as_mut() {
                    Some(p) if text.starts_with("See ") => {
                        p.push(' ');
                        p.push_str(text);
                    }
                    _ => {
                        view.warnings.extend(pending.take());
                        pending = Some(text.to_owned());
                    }
                }
            }
            view.warnings.extend(pending);
        };
        let (n, e) = run(&["-n"])?;
        warn(&e);
        let (p, e) = run(&["-P"])?;
        warn(&e);
        let (m, e) = run(&["-M"])?;
        warn(&e);
        view.main = n.lines().filter_map(assignment).collect();
        view.overrides = p
            .lines()
            .filter_map(assignment)
            .filter_map(|(k, v)| {
                let (svc, name) = k.rsplit_once('/')?;
                Some(((svc.to_owned(), name.to_owned()), v))
            })
            .collect();
        view.entries = m
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let key = format!("{}/{}", f.next()?, f.next()?);
                Some((key, l.split_whitespace().collect::<Vec<_>>().join(" ")))
            })
            .collect();
        Ok(view)
    }
}

/// `name = value` (postconf prints `name =` for an empty value).
fn assignment(line: &str) -> Option<(String, String)> {
    let (k, v) = line.split_once(" =")?;
    Some((k.trim().to_owned(), v.trim().to_owned()))
}

fn norm(v: Option<&String>) -> Option<String> {
    v.map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Compares what Postfix reads before and after with what was meant;
/// every difference is one sentence for the administrator. `line_of`
/// tells the line of main.cf (`Scope::Main`, parameter) or of the master.cf
/// entry (`Scope::Service`) in the current file, where there is one.
pub fn judge(
    old: &View,
    new: &View,
    intents: &[Intent],
    line_of: &dyn Fn(&Scope, &str) -> Option<usize>,
) -> Vec<String> {
    let mut judge = Judge {
        intents,
        line_of,
        problems: Vec::new(),
    };
    judge.main_cf(old, new);
    judge.overrides(old, new);
    judge.services(old, new);
    judge.warnings(old, new);
    judge.problems
}

struct Judge<'a> {
    intents: &'a [Intent],
    line_of: &'a dyn Fn(&Scope, &str) -> Option<usize>,
    problems: Vec<String>,
}

impl Judge<'_> {
    /// " (line N)" where the current file has the setting.
    fn at(&self, scope: &Scope, name: &str) -> String {
        (self.line_of)(scope, name).map_or_else(String::new, |l| format!(" (line {l})"))
    }

    fn meant(&self, scope: &Scope, name: &str) -> Option<Option<String>> {
        self.intents
            .iter()
            .find(|i| &i.scope == scope && i.name == name)
            .map(|i| i.value.clone())
    }

    /// One parameter: a change nobody meant, or a meant value Postfix
    /// would not read.
    fn compare(
        &mut self,
        what: String,
        scope: &Scope,
        name: &str,
        before: Option<String>,
        after: Option<String>,
    ) {
        let show = |v: &Option<String>| {
            v.as_deref()
                .map_or("(not set)".into(), |v| format!("{v:?}"))
        };
        match self.meant(scope, name) {
            None if before != after => self.problems.push(format!(
                "{what}: Postfix would read {name} as {} instead of {}, a change dhrotate did not make on purpose",
                show(&after),
                show(&before)
            )),
            Some(want) if norm(want.as_ref()) != after => self.problems.push(format!(
                "{what}: dhrotate meant {name} = {}, but Postfix would read {}",
                show(&want),
                show(&after)
            )),
            _ => {}
        }
    }

    /// Every main.cf parameter either side sets, and every one meant.
    fn main_cf(&mut self, old: &View, new: &View) {
        // `postconf -c STAGE -n` lists config_directory (the stage itself).
        let names: BTreeSet<&String> = old
            .main
            .keys()
            .chain(new.main.keys())
            .filter(|n| *n != "config_directory")
            .collect();
        for name in names {
            let what = format!("main.cf{}", self.at(&Scope::Main, name));
            let (before, after) = (norm(old.main.get(name)), norm(new.main.get(name)));
            self.compare(what, &Scope::Main, name, before, after);
        }
        for i in self.intents.iter().filter(|i| i.scope == Scope::Main) {
            if !old.main.contains_key(&i.name) && !new.main.contains_key(&i.name) {
                let what = format!("main.cf{}", self.at(&Scope::Main, &i.name));
                self.compare(what, &Scope::Main, &i.name, None, None);
            }
        }
    }

    /// Every master.cf override either side sets, and every one meant.
    fn overrides(&mut self, old: &View, new: &View) {
        let keys: BTreeSet<&(String, String)> =
            old.overrides.keys().chain(new.overrides.keys()).collect();
        for key in &keys {
            let (svc, name) = key;
            let scope = Scope::Service(svc.clone());
            let what = format!("master.cf service {svc}{}", self.at(&scope, name));
            let before = norm(old.overrides.get(*key));
            let after = norm(new.overrides.get(*key));
            self.compare(what, &scope, name, before, after);
        }
        for i in self.intents {
            let Scope::Service(svc) = &i.scope else {
                continue;
            };
            if !keys.contains(&(svc.clone(), i.name.clone())) {
                let what = format!("master.cf service {svc}{}", self.at(&i.scope, &i.name));
                self.compare(what, &i.scope, &i.name, None, None);
            }
        }
    }

    /// master.cf services that appear, disappear, or change without an
    /// edit of dhrotate's.
    fn services(&mut self, old: &View, new: &View) {
        let edited: BTreeSet<&str> = self
            .intents
            .iter()
            .filter_map(|i| match &i.scope {
                Scope::Service(s) => Some(s.as_str()),
                Scope::Main => None,
            })
            .collect();
        let services: BTreeSet<&String> = old.entries.keys().chain(new.entries.keys()).collect();
        for svc in services {
            let problem = match (old.entries.get(svc), new.entries.get(svc)) {
                (Some(_), None) => format!("master.cf: Postfix would no longer see service {svc}"),
                (None, Some(_)) => format!("master.cf: Postfix would see a new service {svc}"),
                (Some(a), Some(b)) if a != b && !edited.contains(svc.as_str()) => format!(
                    "master.cf service {svc}{}: would change, although dhrotate did not edit it",
                    self.at(&Scope::Service(svc.clone()), "")
                ),
                _ => continue,
            };
            self.problems.push(problem);
        }
    }

    /// New postconf warnings, but those about a parameter dhrotate sets:
    /// setting one Postfix deprecates (explicit mode on 3.9+) warns by
    /// nature; that is the administrator's choice of mode.
    fn warnings(&mut self, old: &View, new: &View) {
        for w in new.warnings.difference(&old.warnings) {
            let about_intent = self
                .intents
                .iter()
                .any(|i| i.value.is_some() && w.contains(&format!("\"{}\"", i.name)));
            if !about_intent {
                self.problems
                    .push(format!("postconf warns about the edited files: {w}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(main: &[(&str, &str)], overrides: &[(&str, &str, &str)]) -> View {
        View {
            main: main
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            overrides: overrides
                .iter()
                .map(|(s, k, v)| ((s.to_string(), k.to_string()), v.to_string()))
                .collect(),
            entries: overrides
                .iter()
                .map(|(s, _, _)| (s.to_string(), format!("{s} smtpd")))
                .collect(),
            warnings: BTreeSet::new(),
        }
    }

    fn intent(scope: Scope, name: &str, value: Option<&str>) -> Intent {
        Intent {
            scope,
            name: name.into(),
            value: value.map(Into::into),
        }
    }

    #[test]
    fn the_intended_change_and_nothing_else_passes() {
        let old = view(&[("a", "1")], &[("sub/inet", "tls", "encrypt")]);
        let new = view(
            &[("a", "1"), ("dh", "/f.pem")],
            &[("sub/inet", "tls", "encrypt")],
        );
        let intents = [intent(Scope::Main, "dh", Some("/f.pem"))];
        assert!(judge(&old, &new, &intents, &|_, _| None).is_empty());
    }

    #[test]
    fn a_lost_override_is_named() {
        // What the unclosed-brace edit did: the service lost mandatory TLS.
        let old = view(&[], &[("sub/inet", "smtpd_tls_security_level", "encrypt")]);
        let new = view(
            &[],
            &[(
                "sub/inet",
                "smtpd_tls_dh1024_param_file",
                "/f.pem smtpd_tls_security_level = encrypt }",
            )],
        );
        let intents = [intent(
            Scope::Service("sub/inet".into()),
            "smtpd_tls_dh1024_param_file",
            Some("/f.pem"),
        )];
        let problems = judge(&old, &new, &intents, &|_, _| None);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("smtpd_tls_dh1024_param_file"),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("smtpd_tls_security_level")
                    && p.contains("did not make on purpose")),
            "{problems:?}"
        );
    }

    #[test]
    fn postfix_311s_see_also_line_belongs_to_its_deprecation_warning() {
        // What Postfix 3.11's postconf prints after explicit mode sets the
        // DH file (seen on Debian unstable in the real-systems harness).
        let stderr = "postconf: warning: /s/main.cf: support for parameter \"dh\" will be removed; instead, do not specify (leave at default)\n\
                      postconf: warning: See https://www.postfix.org/DEPRECATION_README.html for details\n";
        let run = |args: &[&str]| -> Result<(String, String)> {
            Ok(match args {
                ["-n"] => ("dh = /f.pem\n".into(), stderr.into()),
                _ => (String::new(), String::new()),
            })
        };
        let new = View::read(Path::new("/s"), &run).unwrap();
        assert_eq!(new.warnings.len(), 1, "{:?}", new.warnings);
        let intents = [intent(Scope::Main, "dh", Some("/f.pem"))];
        assert!(judge(&View::default(), &new, &intents, &|_, _| None).is_empty());
    }

    #[test]
    fn a_new_warning_refuses_unless_it_is_about_the_intended_setting() {
        let old = view(&[], &[]);
        let mut new = view(&[("dh", "/f.pem")], &[]);
        new.warnings
            .insert("<config>/main.cf: support for parameter \"dh\" will be removed".into());
        let intents = [intent(Scope::Main, "dh", Some("/f.pem"))];
        assert!(judge(&old, &new, &intents, &|_, _| None).is_empty());
        new.warnings
            .insert("<config>/master.cf: missing '}'".into());
        assert_eq!(judge(&old, &new, &intents, &|_, _| None).len(), 1);
    }
}
