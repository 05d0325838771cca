//! Groups on their own, outside a rotation: `generate` one, `check` files,
//! and keep the `pool` of ready groups. Each group is validated exactly as
//! a rotation validates it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::config::{Mode, Settings};
use crate::dh::pool::Pool;
use crate::dh::search::Control;
use crate::dh::{Acceptance, Catalog, ValidGroup, source, validate};
use crate::ops::mode::{self, Effective};
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

/// Fills the pool to `[pool] size` for each of `sizes` (`pool_sizes`), or
/// adds exactly `count`; `added` hears of each group as it lands.
/// Background work by nature: the process lowers its priority first.
pub fn fill_pool(
    settings: &Settings,
    sizes: &[u32],
    count: Option<usize>,
    threads: Option<usize>,
    interrupt: &Interrupt,
    added: &mut dyn FnMut(&Path, u32),
) -> Result<()> {
    lower_priority();
    let pool = Pool::new(&settings.state_dir);
    let threads = threads.unwrap_or_else(source::default_threads);
    let control = Arc::new(Control::default());
    pool.clean_stale()?;
    let catalog = Catalog::embedded();
    // What a rotation takes from the pool is proved already.
    let proofs = crate::dh::Proofs::open(&settings.state_dir);
    for &bits in sizes {
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

/// Lowers this process's priority as far as it goes. A nice value ranks a
/// process only among the others of its scheduling group, and where the
/// kernel groups by session (autogroup) a session is one group however
/// nice its members are: systemd starts every service command in a session
/// of its own, and the refill starts in one too (`Refill::command`). So the
/// leader of a session lowers the session's group as well.
fn lower_priority() {
    // SAFETY: setpriority only changes this process's nice value.
    unsafe {
        nix::libc::setpriority(nix::libc::PRIO_PROCESS, 0, 19);
    }
    if nix::unistd::getsid(None) == Ok(nix::unistd::getpid()) {
        // Absent where the kernel has no autogroups; lowering needs no
        // privilege, and a failure leaves only the nice value.
        if let Err(e) = std::fs::write("/proc/self/autogroup", "19") {
            tracing::debug!("cannot lower this session's scheduling group: {e}");
        }
    }
}

/// What `pool fill` fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolSizes {
    /// These sizes.
    Fill(Vec<u32>),
    /// Nothing: the mode in effect takes no groups from the pool.
    Unused(Effective),
}

/// `bits` when given; else the sizes of the configured groups when the
/// mode in effect takes groups from the pool. Named mode copies RFC 7919's
/// groups and auto mode has none, so a fill there would search for groups
/// no rotation takes. For `detect`, Postfix and OpenSSL decide, as for a
/// rotation.
pub fn pool_sizes(settings: &Settings, bits: Option<u32>) -> Result<PoolSizes> {
    if let Some(b) = bits {
        return Ok(PoolSizes::Fill(vec![b]));
    }
    let mode = match settings.mode {
        Mode::Explicit => Effective::Explicit,
        Mode::Named => Effective::Named,
        Mode::Auto => Effective::Auto,
        Mode::Detect => {
            let versions = crate::postfix::version::detect(&crate::ops::system_postfix(settings))?;
            mode::decide(settings.mode, settings.policy.prefer, &versions)?.mode
        }
    };
    Ok(match mode {
        Effective::Explicit => PoolSizes::Fill(settings.group_sizes()),
        other => PoolSizes::Unused(other),
    })
}
