//! Atomic writes, snapshots for rollback, and the permission checks that
//! keep a root-run tool from being steered through a writable directory.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::fcntl::OFlag;

/// Largest file dhrotate reads: DH PEM files are ~1 KiB, main.cf rarely
/// above 100 KiB. Anything bigger is not what we think it is.
pub const MAX_READ: u64 = 16 * 1024 * 1024;

/// Owner and mode a file should get when written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMode {
    /// Permission bits, e.g. 0o644.
    pub mode: u32,
    /// Owner to set, or `None` to leave the writer's (root when run by root).
    pub owner: Option<(u32, u32)>,
}

impl FileMode {
    /// World-readable file owned by whoever runs us (root in production).
    pub const PUBLIC: FileMode = FileMode {
        mode: 0o644,
        owner: None,
    };

    /// The mode and owner of an existing file, so a rewrite keeps them.
    pub fn of(meta: &fs::Metadata) -> FileMode {
        FileMode {
            mode: meta.mode() & 0o7777,
            owner: Some((meta.uid(), meta.gid())),
        }
    }
}

/// The bytes and mode of a file before we touched it (`None`: it did not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The path the snapshot was taken of.
    pub path: PathBuf,
    /// Contents and mode, or `None` when the file did not exist.
    pub content: Option<(Vec<u8>, FileMode)>,
}

impl Snapshot {
    /// Records `path` as it is now; refuses symlinks and non-regular files.
    pub fn take(path: &Path) -> Result<Snapshot> {
        let content = match fs::symlink_metadata(path) {
            Ok(meta) => {
                let bytes = read_regular(path)?;
                Some((bytes, FileMode::of(&meta)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("inspecting {}", path.display())),
        };
        Ok(Snapshot {
            path: path.to_path_buf(),
            content,
        })
    }

    /// Puts the file back exactly as recorded (or removes it if it did not exist).
    pub fn restore(&self) -> Result<()> {
        match &self.content {
            Some((bytes, mode)) => write_atomic(&self.path, bytes, *mode),
            None => match fs::remove_file(&self.path) {
                Ok(()) => sync_parent(&self.path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e).with_context(|| format!("removing {}", self.path.display())),
            },
        }
    }
}

/// Reads a regular file without following a symlink at its last component.
pub fn read_regular(path: &Path) -> Result<Vec<u8>> {
    let (file, meta) = open_regular(path)?;
    read_opened(path, file, &meta)
}

/// Reads state dhrotate acts on without checking it again (the verdict
/// cache): a regular file, not a symlink, that only root (or we) can
/// write, in a directory likewise. Checked on the open file, so what is
/// judged is what is read.
pub fn read_trusted(path: &Path) -> Result<Vec<u8>> {
    check_trusted(parent_of(path))?;
    let (file, meta) = open_regular(path)?;
    if let Some(why) = untrusted(path, &meta) {
        bail!("refusing {why}");
    }
    read_opened(path, file, &meta)
}

fn open_regular(path: &Path) -> Result<(File, fs::Metadata)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NOFOLLOW.bits() | OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(nix::libc::ELOOP) {
                anyhow::anyhow!(
                    "refusing {}: it is a symbolic link; point the configuration at the real file",
                    path.display()
                )
            } else {
                anyhow::Error::new(e).context(format!("opening {}", path.display()))
            }
        })?;
    let meta = file
        .metadata()
        .with_context(|| format!("inspecting {}", path.display()))?;
    if !meta.is_file() {
        bail!("refusing {}: not a regular file", path.display());
    }
    Ok((file, meta))
}

fn read_opened(path: &Path, file: File, meta: &fs::Metadata) -> Result<Vec<u8>> {
    if meta.len() > MAX_READ {
        bail!(
            "refusing {}: {} bytes is larger than the {} byte limit for this kind of file",
            path.display(),
            meta.len(),
            MAX_READ
        );
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_READ + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(bytes)
}

/// Whether a file or directory that tells root what to do (a config file,
/// conf.d, a program dhrotate runs) is one only root, or the user running
/// dhrotate, controls: owned by one of them, writable by nobody else.
/// `None` when trusted, else the reason and the fix.
fn untrusted(path: &Path, meta: &fs::Metadata) -> Option<String> {
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != 0 && meta.uid() != me {
        return Some(format!(
            "{} is owned by uid {}, not by root{}; `chown root {}`",
            path.display(),
            meta.uid(),
            if me == 0 {
                String::new()
            } else {
                format!(" or uid {me}")
            },
            path.display()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Some(format!(
            "{} is group- or world-writable (mode {:o}); `chmod go-w {}`",
            path.display(),
            meta.mode() & 0o7777,
            path.display()
        ));
    }
    None
}

/// A configuration file or directory is trusted (see `untrusted`).
pub fn check_trusted(path: &Path) -> Result<()> {
    let meta = fs::metadata(path).with_context(|| format!("inspecting {}", path.display()))?;
    match untrusted(path, &meta) {
        Some(why) => bail!("refusing {why}"),
        None => Ok(()),
    }
}

/// A program dhrotate will run is trusted, and so is every directory on
/// the way to it: anyone who can replace a directory on the path can
/// replace the program. A root-owned directory with the sticky bit (/tmp,
/// /var/tmp) is fine: nobody else can rename or remove entries in it. A
/// program that does not exist is left to the command that runs it, which
/// names it.
pub fn check_trusted_program(path: &Path) -> Result<()> {
    let real = match fs::canonicalize(path) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("resolving {}", path.display())),
    };
    let meta = fs::metadata(&real).with_context(|| format!("inspecting {}", real.display()))?;
    if let Some(why) = untrusted(&real, &meta) {
        bail!("refusing to run {}: {why}", path.display());
    }
    for dir in real.ancestors().skip(1) {
        let meta = fs::metadata(dir).with_context(|| format!("inspecting {}", dir.display()))?;
        let sticky_root = meta.uid() == 0 && meta.mode() & 0o1000 != 0;
        if let Some(why) = untrusted(dir, &meta).filter(|_| !sticky_root) {
            bail!("refusing to run {}: its directory {why}", path.display());
        }
    }
    Ok(())
}

/// Refuses to write into a directory that someone other than root (or us)
/// could write: they could swap files under us between check and rename.
pub fn check_dir_safe(dir: &Path) -> Result<()> {
    let meta =
        fs::symlink_metadata(dir).with_context(|| format!("inspecting {}", dir.display()))?;
    if meta.file_type().is_symlink() {
        // A symlinked directory is common (/etc/postfix -> ...); judge what
        // it points to, but still refuse if the target is unsafe.
        let real = fs::canonicalize(dir).with_context(|| format!("resolving {}", dir.display()))?;
        return check_dir_safe(&real);
    }
    if !meta.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    match untrusted(dir, &meta) {
        Some(why) => bail!("refusing to write in {}: {why}", dir.display()),
        None => Ok(()),
    }
}

/// Refuses a target path that is a symlink or anything but a regular file.
pub fn check_target(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => bail!(
            "refusing {}: it is a symbolic link; remove it or point the configuration at a plain file",
            path.display()
        ),
        Ok(meta) if !meta.is_file() => {
            bail!(
                "refusing {}: exists and is not a regular file",
                path.display()
            )
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("inspecting {}", path.display())),
    }
}

/// Writes `bytes` to `path` so that readers see the old or the new file,
/// never a mix: temp file in the same directory, fsync, chmod/chown,
/// rename, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: FileMode) -> Result<()> {
    let dir = parent_of(path);
    check_target(path)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".dhrotate-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let tmp_path = tmp.path().to_path_buf();
    let ctx = || format!("writing {} (via {})", path.display(), tmp_path.display());
    tmp.write_all(bytes).with_context(ctx)?;
    let file = tmp.as_file();
    if let Some((uid, gid)) = mode.owner {
        std::os::unix::fs::fchown(file, Some(uid), Some(gid)).with_context(ctx)?;
    }
    file.set_permissions(fs::Permissions::from_mode(mode.mode))
        .with_context(ctx)?;
    file.sync_all().with_context(ctx)?;
    // Named by directory and file: the backup of main.cf in the state
    // directory is not the write of main.cf itself.
    crate::sys::failpoint::hit(&format!(
        "temp:{}/{}",
        path.parent()
            .and_then(Path::file_name)
            .unwrap_or_default()
            .to_string_lossy(),
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("renaming {} over {}", tmp_path.display(), path.display()))?;
    sync_parent(path)
}

/// Flushes a directory entry change (rename, unlink) to disk.
pub fn sync_parent(path: &Path) -> Result<()> {
    let dir = parent_of(path);
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing directory {}", dir.display()))
}

/// Removes temp files a killed run may have left behind in `dir`.
pub fn remove_stale_temps(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".dhrotate-") && name.ends_with(".tmp") {
            fs::remove_file(entry.path())
                .with_context(|| format!("removing stale {}", entry.path().display()))?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_sets_mode_and_replaces_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.pem");
        write_atomic(&p, b"one", FileMode::PUBLIC).unwrap();
        write_atomic(&p, b"two", FileMode::PUBLIC).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o644);
        assert_eq!(remove_stale_temps(dir.path()).unwrap(), 0);
    }

    #[test]
    fn write_atomic_refuses_symlink_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::write(&real, b"keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = write_atomic(&link, b"x", FileMode::PUBLIC).unwrap_err();
        assert!(format!("{err:#}").contains("symbolic link"), "{err:#}");
        assert_eq!(fs::read(&real).unwrap(), b"keep");
    }

    #[test]
    fn snapshot_restore_is_byte_identical_and_removes_new_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        fs::write(&a, b"old\r\nbytes\0").unwrap();
        fs::set_permissions(&a, fs::Permissions::from_mode(0o640)).unwrap();
        let b = dir.path().join("b");
        let (sa, sb) = (Snapshot::take(&a).unwrap(), Snapshot::take(&b).unwrap());
        write_atomic(&a, b"new", FileMode::PUBLIC).unwrap();
        write_atomic(&b, b"new", FileMode::PUBLIC).unwrap();
        sa.restore().unwrap();
        sb.restore().unwrap();
        assert_eq!(fs::read(&a).unwrap(), b"old\r\nbytes\0");
        assert_eq!(fs::metadata(&a).unwrap().mode() & 0o777, 0o640);
        assert!(!b.exists());
    }

    #[test]
    fn world_writable_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_dir_safe(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("world-writable"), "{err:#}");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        check_dir_safe(dir.path()).unwrap();
    }
}
