//! Groups on their own, outside a rotation: `generate` one, `check` files,
//! and keep the `pool` of ready groups. Each group is validated exactly as
//! a rotation validates it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::config::Settings;
use crate::dh::pool::Pool;
use crate::dh::search::Control;
use crate::dh::{Acceptance, Catalog, ValidGroup, source, validate};
use crate::sys::fsutil::{self, FileMode};
use crate::sys::signals::Interrupt;

/// How groups are generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// dhrotate's deep-sieve search on every core.
    Search,
    /// OpenSSL's own generator (what `openssl dhparam` uses), one core.
    Openssl,
}

/// One fresh group of `bits` bits, validated; `threads` for the search
/// (default all cores). The search stops on SIGINT/SIGTERM (`interrupt`).
pub fn generate(
    bits: u32,
    engine: Engine,
    threads: Option<usize>,
    interrupt: &Interrupt,
) -> Result<ValidGroup> {
    let dh = match engine {
        Engine::Openssl => crate::dh::generate::generate(bits)?,
        Engine::Search => {
            let threads = threads.unwrap_or_else(source::default_threads);
            let control = Arc::new(Control::default());
            match source::interruptible(bits, threads, &control, interrupt)? {
                Some(dh) => dh,
                None => bail!("interrupted; nothing was written"),
            }
        }
    };
    let policy = Acceptance {
        expected_bits: Some(bits),
        min_bits: bits,
        named: false,
    };
    let what = format!("the generated {bits}-bit group");
    Ok(validate::accept(
        &dh,
        &what,
        &policy,
        &Catalog::embedded(),
        &validate::FromScratch,
    )?)
}

/// Writes a group atomically, mode 0644.
pub fn install(path: &Path, group: &ValidGroup) -> Result<()> {
    fsutil::write_atomic(path, &group.pem, FileMode::PUBLIC)
}

/// `check`'s finding for one file.
#[derive(Debug, Serialize)]
pub struct FileReport {
    /// The file.
    pub file: PathBuf,
    /// Validation passed.
    pub accepted: bool,
    /// Every test's result, when the file parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<validate::Verdict>,
    /// Why it was refused.
    pub problems: Vec<String>,
}

/// Validates each file as it is (a file that cannot be read or parsed is
/// refused with the reason).
pub fn check_files(files: &[PathBuf], policy: &Acceptance) -> Vec<FileReport> {
    let catalog = Catalog::embedded();
    files
        .iter()
        .map(|file| {
            let verdict = fsutil::read_regular(file)
                .map_err(|e| format!("{e:#}"))
                .and_then(|b| {
                    validate::validate_pem(&b, policy, &catalog, &validate::FromScratch)
                        .map_err(|e| e.to_string())
                });
            match verdict {
                Ok((_, v)) => FileReport {
                    file: file.clone(),
                    accepted: v.accepted(),
                    problems: v.problems.clone(),
                    verdict: Some(v),
                },
                Err(problem) => FileReport {
                    file: file.clone(),
                    accepted: false,
                    verdict: None,
                    problems: vec![problem],
                },
            }
        })
        .collect()
}

/// Fills the pool to `[pool] size` per configured size (or only `bits`),
/// or adds exactly `count`; `added` hears of each group as it lands.
/// Background work by nature: the process lowers its priority first.
pub fn fill_pool(
    settings: &Settings,
    bits: Option<u32>,
    count: Option<usize>,
    threads: Option<usize>,
    interrupt: &Interrupt,
    added: &mut dyn FnMut(&Path, u32),
) -> Result<()> {
    // SAFETY: setpriority only changes this process's nice value.
    unsafe {
        nix::libc::setpriority(nix::libc::PRIO_PROCESS, 0, 19);
    }
    let pool = Pool::new(&settings.state_dir);
    let threads = threads.unwrap_or_else(source::default_threads);
    let control = Arc::new(Control::default());
    pool.clean_stale()?;
    let catalog = Catalog::embedded();
    // What a rotation takes from the pool is proved already.
    let proofs = crate::dh::Proofs::open(&settings.state_dir);
    for bits in bits.map_or_else(|| settings.group_sizes(), |b| vec![b]) {
        let want = match count {
            Some(k) => k,
            None => (settings.pool_size as usize).saturating_sub(pool.count(bits)?),
        };
        for _ in 0..want {
            let Some(dh) = source::interruptible(bits, threads, &control, interrupt)? else {
                bail!("interrupted; the groups added so far stay in the pool");
            };
            let policy = Acceptance {
                expected_bits: Some(bits),
                min_bits: bits,
                named: false,
            };
            let valid = validate::accept(&dh, "a pool group", &policy, &catalog, &proofs)?;
            added(&pool.put(bits, &valid)?, bits);
            proofs.save_or_warn();
        }
    }
    Ok(())
}
