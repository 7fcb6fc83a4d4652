//! Reading inputs and writing outputs: whole-input reads, and atomic file writes (a temp file
//! in the target's directory, renamed over the target only when everything succeeded).

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use zeroize::Zeroizing;

/// Text read from a file or standard input, wiped on drop (it may be a plaintext Secret).
pub struct Input {
    /// The text.
    pub text: Zeroizing<String>,
    /// Where it came from, for messages: the path, or `stdin`.
    pub source: String,
}

/// An `io::Error` worded like Go's (`no such file or directory`), without Rust's
/// `(os error N)` suffix, so upstream-matching scripts still match.
pub fn describe_io(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error ") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Reads all of `path`, naming it in the error.
pub fn read_file(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| anyhow!("open {}: {}", path.display(), describe_io(&e)))
}

/// Reads the input manifest: `-f FILE` or standard input. On a terminal, prints upstream's
/// hint first (`hint`), since the user probably forgot to redirect.
pub fn read_input(path: Option<&Path>, hint: &str) -> Result<Input> {
    let (bytes, source) = match path {
        Some(path) => {
            let bytes = fs::read(path).map(Zeroizing::new).map_err(|e| {
                anyhow!(
                    "Could not read file specified with --secret-file: open {}: {}",
                    path.display(),
                    describe_io(&e)
                )
            })?;
            (bytes, path.display().to_string())
        }
        None => (read_stdin(hint)?, "stdin".to_owned()),
    };
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| {
        anyhow!(
            "{source}: input is not valid UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok(Input {
        text: Zeroizing::new(text),
        source,
    })
}

/// Reads all of standard input, printing `hint` to stderr first when it is a terminal.
pub fn read_stdin(hint: &str) -> Result<Zeroizing<Vec<u8>>> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        eprintln!("{hint}");
    }
    let mut bytes = Zeroizing::new(Vec::new());
    stdin
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow!("cannot read standard input: {}", describe_io(&e)))?;
    Ok(bytes)
}

/// Where the result goes.
#[derive(Debug, Clone)]
pub enum Sink {
    /// Standard output.
    Stdout,
    /// A file, replaced atomically. `private` output (plaintext Secrets) is created mode 0600.
    File {
        /// The target.
        path: PathBuf,
        /// Whether the content is sensitive.
        private: bool,
    },
}

impl Sink {
    /// Writes `bytes` to the sink.
    pub fn write(&self, bytes: &[u8]) -> Result<()> {
        match self {
            Self::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)
                    .and_then(|()| out.flush())
                    .context("cannot write to standard output")
            }
            Self::File { path, private } => write_atomically(path, bytes, *private),
        }
    }
}

/// Writes `bytes` to a new temporary file beside `path`, syncs it, and renames it over `path`.
/// The temporary file is removed on any failure, so `path` is either untouched or complete.
/// A symlink at `path` is replaced, never followed. `private` output is always mode 0600; other
/// output keeps the permissions of an existing regular file.
pub fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("{}: not a file name", path.display()))?
        .to_string_lossy()
        .into_owned();
    let existing = fs::symlink_metadata(path).ok();
    if existing.as_ref().is_some_and(fs::Metadata::is_dir) {
        return Err(anyhow!("{}: is a directory", path.display()));
    }
    // Plaintext never inherits a mode: an existing world-readable file (or whatever a symlink
    // there points to) must not make it world-readable.
    let keep_permissions = existing
        .filter(|m| !private && m.file_type().is_file())
        .map(|m| m.permissions());
    let (tmp_path, mut file) = create_temp(dir, &name, private)?;
    let guard = TempGuard(Some(tmp_path.clone()));
    let result = (|| -> io::Result<()> {
        if let Some(permissions) = keep_permissions {
            file.set_permissions(permissions)?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp_path, path)
    })();
    match result {
        Ok(()) => {
            guard.disarm();
            Ok(())
        }
        Err(e) => Err(anyhow!(
            "cannot write {}: {}",
            path.display(),
            describe_io(&e)
        )),
    }
}

/// Creates a new file with the mode a plain create would give: 0666 (0600 when `private`)
/// less the umask.
fn create_temp(dir: &Path, name: &str, private: bool) -> Result<(PathBuf, File)> {
    let pid = std::process::id();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..100u32 {
        let tmp = dir.join(format!(".{name}.{pid}.{nanos:x}{attempt}.tmp"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(if private { 0o600 } else { 0o666 });
        }
        #[cfg(not(unix))]
        let _ = private;
        match options.open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(anyhow!(
                    "cannot create a temporary file in {}: {}",
                    dir.display(),
                    describe_io(&e)
                ));
            }
        }
    }
    Err(anyhow!(
        "cannot create a temporary file in {}",
        dir.display()
    ))
}

struct TempGuard(Option<PathBuf>);

impl TempGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_like_go() {
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(describe_io(&e), "no such file or directory");
    }

    #[test]
    fn atomic_write_replaces_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.yaml");
        fs::write(&target, "old").unwrap();
        write_atomically(&target, b"new", false).unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // A target in a missing directory fails and leaves nothing behind.
        assert!(write_atomically(&dir.path().join("no/such/x"), b"x", false).is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
