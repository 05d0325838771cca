//! The one reader of Postfix's configuration: main.cf and master.cf as
//! read (refusing an unsafe directory and lines Postfix would read
//! differently), the values set in either with `$config_directory`
//! expanded, and the in-memory edits a rotation or a curve policy makes,
//! with the intents Postfix's own parser later confirms.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};

use super::mastercf::EditError;
use super::oracle::{self, Intent, Scope};
use super::{MainCf, MasterCf, maincf};
use crate::error::Failure;
use crate::sys::fsutil::{self, FileMode};

/// A configuration file's bytes before and after the edit.
#[derive(Debug, Clone)]
pub struct FileEdit {
    /// The file.
    pub path: PathBuf,
    /// Its bytes now.
    pub before: Vec<u8>,
    /// Its bytes after the edit.
    pub after: Vec<u8>,
    /// Mode and owner to keep.
    pub mode: FileMode,
}

/// main.cf and master.cf as read, and as edited so far.
#[derive(Clone)]
pub struct ConfigFiles {
    /// Path of main.cf.
    pub main_path: PathBuf,
    /// Path of master.cf.
    pub master_path: PathBuf,
    /// main.cf, edited in memory.
    pub main: MainCf,
    /// master.cf, edited in memory.
    pub master: MasterCf,
    dir: PathBuf,
    originals: [(Vec<u8>, FileMode); 2],
    intents: Vec<Intent>,
    olds: Vec<(Scope, String, Option<String>)>,
}

/// One setting an edit changed: main.cf or a service, old and new value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    /// main.cf or a master.cf service.
    pub scope: Scope,
    /// The parameter.
    pub name: String,
    /// As read (`None`: not set).
    pub old: Option<String>,
    /// After the edit (`None`: removed).
    pub new: Option<String>,
}

impl ConfigFiles {
    /// Reads both files from Postfix's config directory, refusing an unsafe directory.
    pub fn load(dir: &Path) -> Result<ConfigFiles> {
        if !dir.is_dir() {
            return Err(Failure::Config(anyhow!(
                "{} is not a directory; set postfix_config_dir (or --postfix-dir) to Postfix's \
                 configuration directory, `postconf -h config_directory`",
                dir.display()
            ))
            .into());
        }
        fsutil::check_dir_safe(dir).map_err(Failure::Config)?;
        let main_path = dir.join("main.cf");
        let master_path = dir.join("master.cf");
        let main_orig = read_config(&main_path)?;
        let master_orig = read_config(&master_path)?;
        Ok(ConfigFiles {
            main: MainCf::parse(&main_orig.0),
            master: MasterCf::parse(&master_orig.0),
            main_path,
            master_path,
            dir: dir.to_path_buf(),
            originals: [main_orig, master_orig],
            intents: Vec::new(),
            olds: Vec::new(),
        })
    }

    /// What the edits so far mean to change.
    pub fn intents(&self) -> Vec<Intent> {
        self.intents.clone()
    }

    /// Sets `name = value` in main.cf.
    pub fn set_main(&mut self, name: &str, value: &str) -> maincf::Change {
        self.note_old(Scope::Main, name);
        oracle::record(&mut self.intents, Scope::Main, name, Some(value));
        self.main.set(name, value)
    }

    /// Remembers a setting's value as read, before its first edit.
    fn note_old(&mut self, scope: Scope, name: &str) {
        if !self.olds.iter().any(|(s, n, _)| *s == scope && n == name) {
            let old = self.value(&scope, name).map(str::to_owned);
            self.olds.push((scope, name.to_owned(), old));
        }
    }

    /// Every setting the edits change, with its value as read and after
    /// (`None`: not set), in the order first edited; settings edited back
    /// to what they were are left out.
    pub fn changes(&self) -> Vec<SettingChange> {
        self.olds
            .iter()
            .filter_map(|(scope, name, old)| {
                let new = self.value(scope, name).map(str::to_owned);
                (new != *old).then(|| SettingChange {
                    scope: scope.clone(),
                    name: name.clone(),
                    old: old.clone(),
                    new,
                })
            })
            .collect()
    }

    /// Postfix's config_directory these files are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Removes every `name =` from main.cf.
    pub fn remove_main(&mut self, name: &str) -> maincf::Change {
        self.note_old(Scope::Main, name);
        oracle::record(&mut self.intents, Scope::Main, name, None);
        self.main.remove(name)
    }

    /// The files whose bytes the in-memory edits changed.
    pub fn edits(&self) -> Vec<FileEdit> {
        let [(main_before, main_mode), (master_before, master_mode)] = &self.originals;
        let mut edits = Vec::new();
        for (path, before, after, mode) in [
            (&self.main_path, main_before, self.main.bytes(), main_mode),
            (
                &self.master_path,
                master_before,
                self.master.bytes(),
                master_mode,
            ),
        ] {
            if before.as_slice() != after {
                edits.push(FileEdit {
                    path: path.clone(),
                    before: before.clone(),
                    after: crate::sys::failpoint::misedit(after.to_vec()),
                    mode: *mode,
                });
            }
        }
        edits
    }

    /// Sets `-o name=value` on a service, mapping errors to configuration errors.
    pub fn set_override(&mut self, key: &str, name: &str, value: &str) -> Result<maincf::Change> {
        self.note_old(Scope::Service(key.into()), name);
        oracle::record(
            &mut self.intents,
            Scope::Service(key.into()),
            name,
            Some(value),
        );
        self.master
            .set(key, name, value)
            .map_err(|e| service_error(e, &self.master, &self.master_path))
    }

    /// Removes `-o name=...` from a service.
    pub fn remove_override(&mut self, key: &str, name: &str) -> Result<maincf::Change> {
        self.note_old(Scope::Service(key.into()), name);
        oracle::record(&mut self.intents, Scope::Service(key.into()), name, None);
        self.master
            .remove(key, name)
            .map_err(|e| service_error(e, &self.master, &self.master_path))
    }

    /// The value `scope` sets `name` to, as written (`None`: not set there).
    pub fn value(&self, scope: &Scope, name: &str) -> Option<&str> {
        match scope {
            Scope::Main => self.main.get(name).map(|p| p.value.as_str()),
            Scope::Service(key) => self
                .master
                .service(key)
                .and_then(|s| s.get(name))
                .map(|o| o.value.as_str()),
        }
    }

    /// Whether `scope` points `name` at `file`, reading `$config_directory`
    /// as Postfix does: the one judgement planning and `status` share.
    pub fn points_at(&self, scope: &Scope, name: &str, file: &Path) -> bool {
        self.value(scope, name)
            .is_some_and(|v| super::expand_config_directory(v, &self.dir) == file.to_string_lossy())
    }

    /// The bytes of `main.cf` or `master.cf` as read, before any edit.
    pub fn original(&self, name: &str) -> Option<&[u8]> {
        let [(main, _), (master, _)] = &self.originals;
        match name {
            "main.cf" => Some(main),
            "master.cf" => Some(master),
            _ => None,
        }
    }

    /// Removes `-o name=...` from every service that sets it; returns
    /// their `service/type` keys, for the notes.
    pub fn remove_overrides(&mut self, name: &str) -> Result<Vec<String>> {
        let keys = self.services_overriding(name);
        for key in &keys {
            self.remove_override(key, name)?;
        }
        Ok(keys)
    }

    /// `service/type` of every entry that overrides `name`.
    pub fn services_overriding(&self, name: &str) -> Vec<String> {
        self.master
            .services()
            .iter()
            .filter(|s| s.get(name).is_some())
            .map(|s| s.key())
            .collect()
    }
}

fn read_config(path: &Path) -> Result<(Vec<u8>, FileMode)> {
    if !path.exists() && !path.is_symlink() {
        return Err(Failure::Config(anyhow!(
            "{} does not exist; set postfix_config_dir (or --postfix-dir) to Postfix's \
             configuration directory, `postconf -h config_directory`",
            path.display()
        ))
        .into());
    }
    let bytes = fsutil::read_regular(path).map_err(Failure::Config)?;
    // Postfix reads a line only up to a NUL byte, so the rest of that line
    // means something else to it than to any editor: refuse to touch it.
    if let Some(at) = memchr::memchr(0, &bytes) {
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(Failure::Config(anyhow!(
            "{} line {line} contains a NUL byte; Postfix would read that line only up to it. \
             Remove it, then run again",
            path.display()
        ))
        .into());
    }
    let meta = std::fs::metadata(path).with_context(|| format!("inspecting {}", path.display()))?;
    Ok((bytes, FileMode::of(&meta)))
}

fn service_error(e: EditError, master: &MasterCf, path: &Path) -> anyhow::Error {
    let e = match e {
        EditError::NoService(_) => {
            let known: Vec<String> = master.services().iter().map(|s| s.key()).collect();
            anyhow!(
                "{}: {e}; the configuration names it in a group's `use`. Services there: {}",
                path.display(),
                known.join(", ")
            )
        }
        other => anyhow!("{}: {other}", path.display()),
    };
    Failure::Config(e).into()
}
