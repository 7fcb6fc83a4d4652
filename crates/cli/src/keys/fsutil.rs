//! Files that never end up half-written: write a temporary file beside the target (mode 0600
//! when it holds keys), then rename or hard-link it into place; on any failure the temporary
//! file is removed and the target is as it was.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};

/// How to treat an existing target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Fail if the target exists (checked atomically with a hard link where possible).
    Refuse,
    /// Replace the target.
    Replace,
}

/// A temporary file beside its target, removed on drop unless persisted.
struct TempFile {
    path: PathBuf,
    file: Option<File>,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.file.take();
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn temp_beside(target: &Path, mode: u32) -> Result<TempFile> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = parent_dir(target);
    let name = target
        .file_name()
        .with_context(|| format!("{}: not a file name", target.display()))?;
    for _ in 0..100 {
        let path = dir.join(format!(
            ".{}.{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        match options.open(&path) {
            Ok(file) => {
                return Ok(TempFile {
                    path,
                    file: Some(file),
                    keep: false,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot create a file in {}", dir.display()));
            }
        }
    }
    bail!("cannot create a temporary file in {}", dir.display())
}

fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Writes `bytes` to `target` atomically. `mode` applies to a new file (0600 for anything
/// holding keys); the umask may only remove bits, and we set the mode explicitly afterwards.
pub fn write_file(target: &Path, bytes: &[u8], mode: u32, overwrite: Overwrite) -> Result<()> {
    if overwrite == Overwrite::Refuse && fs::symlink_metadata(target).is_ok() {
        bail!(
            "{} already exists: refusing to overwrite it (pass --force to replace it)",
            target.display()
        );
    }
    let mut temp = temp_beside(target, mode)?;
    {
        let file = temp.file.as_mut().expect("open until persisted");
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", target.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(mode))
                .with_context(|| format!("cannot set the mode of {}", target.display()))?;
        }
    }
    temp.file.take();
    match overwrite {
        Overwrite::Replace => {
            fs::rename(&temp.path, target)
                .with_context(|| format!("cannot write {}", target.display()))?;
            temp.keep = true;
        }
        Overwrite::Refuse => match fs::hard_link(&temp.path, target) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => bail!(
                "{} already exists: refusing to overwrite it (pass --force to replace it)",
                target.display()
            ),
            Err(_) => {
                // File systems without hard links: check-then-rename (racy, but still never
                // partial).
                if fs::symlink_metadata(target).is_ok() {
                    bail!(
                        "{} already exists: refusing to overwrite it (pass --force to replace it)",
                        target.display()
                    );
                }
                fs::rename(&temp.path, target)
                    .with_context(|| format!("cannot write {}", target.display()))?;
                temp.keep = true;
            }
        },
    }
    Ok(())
}

/// The permission bits of an existing file (0644 when unknown), to keep them on rewrite.
pub fn mode_of(path: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        0o644
    }
}

/// Creates a directory (and parents) with mode 0700 for new directories.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_existing_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        write_file(&target, b"one", 0o600, Overwrite::Refuse).unwrap();
        let err = write_file(&target, b"two", 0o600, Overwrite::Refuse).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(fs::read(&target).unwrap(), b"one");
        write_file(&target, b"three", 0o600, Overwrite::Replace).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"three");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&target).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
