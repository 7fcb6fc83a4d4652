//! Reading inputs and writing outputs, for every mode and `kubeseal keys` command: whole-input
//! reads, and the one atomic file writer (a temp file in the target's directory, renamed or
//! linked over the target only when everything succeeded).

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Reads `path`, or standard input when it is `-` (printing `hint` first on a terminal).
pub fn read_path_or_stdin(path: &Path, hint: &str) -> Result<Zeroizing<Vec<u8>>> {
    if path.as_os_str() == "-" {
        read_stdin(hint)
    } else {
        read_file(path)
    }
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
            Self::File { path, private } => write_atomically(
                path,
                bytes,
                if *private {
                    FileMode::Private
                } else {
                    FileMode::KeepExisting
                },
                Overwrite::Replace,
            ),
        }
    }
}

/// The permissions of a written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// 0600, whatever was there: plaintext Secrets, private keys, backups.
    Private,
    /// 0644: certificates.
    Public,
    /// An existing regular file's permissions, else a plain create's (0666 less the umask):
    /// sealed output rewritten in place.
    KeepExisting,
}

/// How to treat an existing target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Fail if the target exists (checked atomically with a hard link where possible).
    Refuse,
    /// Replace the target.
    Replace,
}

fn already_exists(path: &Path) -> anyhow::Error {
    anyhow!(
        "{} already exists: refusing to overwrite it (pass --force to replace it)",
        path.display()
    )
}

/// The one atomic writer: `bytes` go to a new temporary file beside `path`, synced, then
/// renamed (or, with [`Overwrite::Refuse`], hard-linked) into place. The temporary file is
/// removed on any failure, so `path` is either untouched or complete. A symlink at `path` is
/// replaced, never followed, unless what it leads to is a device, pipe or socket: see
/// [`write_through`].
pub fn write_atomically(
    path: &Path,
    bytes: &[u8],
    mode: FileMode,
    overwrite: Overwrite,
) -> Result<()> {
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
    if is_pipe_or_device(path) {
        return write_through(path, bytes, mode);
    }
    if overwrite == Overwrite::Refuse && existing.is_some() {
        return Err(already_exists(path));
    }
    // Plaintext never inherits a mode: an existing world-readable file (or whatever a symlink
    // there points to) must not make it world-readable.
    let keep_permissions = existing
        .filter(|m| mode == FileMode::KeepExisting && m.file_type().is_file())
        .map(|m| m.permissions());
    let (tmp_path, mut file) = create_temp(dir, &name, mode == FileMode::Private)?;
    let guard = TempGuard(Some(tmp_path.clone()));
    let result = (|| -> io::Result<()> {
        if let Some(permissions) = keep_permissions {
            file.set_permissions(permissions)?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            match mode {
                FileMode::Private => file.set_permissions(fs::Permissions::from_mode(0o600))?,
                FileMode::Public => file.set_permissions(fs::Permissions::from_mode(0o644))?,
                FileMode::KeepExisting => {}
            }
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        match overwrite {
            Overwrite::Replace => fs::rename(&tmp_path, path),
            Overwrite::Refuse => match fs::hard_link(&tmp_path, path) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                    // File systems without hard links: check-then-rename (racy, but still
                    // never partial).
                    if fs::symlink_metadata(path).is_ok() {
                        return Err(io::ErrorKind::AlreadyExists.into());
                    }
                    fs::rename(&tmp_path, path)
                }
                other => other,
            },
        }
    })();
    match result {
        Ok(()) => {
            // After a hard link the temporary name goes; after a rename it is already gone.
            if overwrite == Overwrite::Replace {
                guard.disarm();
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && overwrite == Overwrite::Refuse => {
            Err(already_exists(path))
        }
        Err(e) => Err(anyhow!(
            "cannot write {}: {}",
            path.display(),
            describe_io(&e)
        )),
    }
}

/// `rendered` (written with `\n`) with `original`'s line endings: a file rewritten in place keeps
/// its CRLF, or every line of it would show up in a diff.
#[must_use]
pub fn with_line_endings_of(original: &str, rendered: &str) -> Zeroizing<String> {
    if original.contains("\r\n") {
        Zeroizing::new(rendered.replace('\n', "\r\n"))
    } else {
        Zeroizing::new(rendered.to_owned())
    }
}

/// Whether `path` is, or a symlink there leads to, a pipe, device or socket (`/dev/stdout`):
/// nothing there to keep or refuse to overwrite.
pub fn is_pipe_or_device(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// `/dev/null`, `/dev/stdout`, a named pipe: a rename would put a regular file where the device
/// or pipe was (and `-w /dev/null` would leave a file named `/dev/null` behind), so these are
/// written in place, as a shell's `>` would. There is nothing to keep whole on failure.
///
/// Plaintext goes only into a pipe or device of our own or root's: a named pipe that someone
/// else left at the output path in a shared directory would hand them the values.
fn write_through(path: &Path, bytes: &[u8], mode: FileMode) -> Result<()> {
    write_through_as(path, bytes, mode, effective_uid())
}

fn write_through_as(path: &Path, bytes: &[u8], mode: FileMode, us: Option<u32>) -> Result<()> {
    let fail = |e: &io::Error| anyhow!("cannot write {}: {}", path.display(), describe_io(e));
    let mut file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| fail(&e))?;
    let opened = file.metadata().map_err(|e| fail(&e))?;
    if opened.is_file() || opened.is_dir() {
        return Err(anyhow!(
            "{}: changed while it was being written; nothing was written",
            path.display()
        ));
    }
    if mode == FileMode::Private && !may_take_private_data(owner(&opened), us) {
        return Err(anyhow!(
            "{}: a pipe or device owned by another user: refusing to write private data into it",
            path.display()
        ));
    }
    file.write_all(bytes).map_err(|e| fail(&e))
}

#[cfg(unix)]
fn effective_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    // The owner of /proc/self is the process's effective user.
    fs::metadata("/proc/self").map(|m| m.uid()).ok()
}

#[cfg(unix)]
fn owner(metadata: &fs::Metadata) -> u32 {
    std::os::unix::fs::MetadataExt::uid(metadata)
}

#[cfg(not(unix))]
fn effective_uid() -> Option<u32> {
    None
}

#[cfg(not(unix))]
fn owner(_: &fs::Metadata) -> u32 {
    u32::MAX
}

/// Whether a pipe or device owned by `owner` may receive plaintext from a process running as
/// `us` (unknown: only root's).
fn may_take_private_data(owner: u32, us: Option<u32>) -> bool {
    owner == 0 || us == Some(owner)
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

/// Creates a new file with the mode a plain create would give: 0666 (0600 when `private`)
/// less the umask.
fn create_temp(dir: &Path, name: &str, private: bool) -> Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    for _ in 0..100u32 {
        let attempt = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{pid}.{attempt}.tmp"));
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
        write_atomically(&target, b"new", FileMode::KeepExisting, Overwrite::Replace).unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // A target in a missing directory fails and leaves nothing behind.
        let missing = dir.path().join("no/such/x");
        assert!(
            write_atomically(&missing, b"x", FileMode::KeepExisting, Overwrite::Replace).is_err()
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// A new named pipe at `path`.
    #[cfg(target_os = "linux")]
    fn mkfifo(path: &Path) {
        let made = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap();
        assert!(made.success());
    }

    /// A reader of the pipe at `path` that is already open: the writer then opens without
    /// waiting, and the reader reads nothing if the bytes went anywhere but into the pipe.
    #[cfg(target_os = "linux")]
    fn pipe_reader(path: &Path) -> File {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000;
        OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open(path)
            .unwrap()
    }

    /// `kubeseal -w /dev/null` replaced the device with a regular file (and `-w /dev/stdout`
    /// the symlink): devices and pipes are written through, never renamed over.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_named_pipe_or_a_symlink_to_one_is_written_through_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        mkfifo(&fifo);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        for (target, bytes, mode) in [
            (&fifo, &b"through the pipe"[..], FileMode::KeepExisting),
            (&link, &b"through the link"[..], FileMode::KeepExisting),
            (&link, &b"private, our pipe"[..], FileMode::Private),
        ] {
            let mut reader = pipe_reader(&fifo);
            write_atomically(target, bytes, mode, Overwrite::Replace).unwrap();
            let mut got = Vec::new();
            let _ = reader.read_to_end(&mut got);
            assert_eq!(got, bytes);
        }
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn private_data_goes_only_into_pipes_and_devices_of_our_own_or_roots() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("planted");
        mkfifo(&fifo);
        let mut reader = pipe_reader(&fifo);
        // Root's pipes may take plaintext: as root, hand this one to an ordinary user first.
        if owner(&fs::metadata(&fifo).unwrap()) == 0 {
            std::os::unix::fs::chown(&fifo, Some(4242), None).unwrap();
        }
        // The same pipe, as seen by a process of another user than its (non-root) owner.
        let someone_else = Some(owner(&fs::metadata(&fifo).unwrap()) + 1);
        let err =
            write_through_as(&fifo, b"plaintext", FileMode::Private, someone_else).unwrap_err();
        assert!(err.to_string().contains("owned by another user"), "{err}");
        write_through_as(&fifo, b"sealed", FileMode::KeepExisting, someone_else).unwrap();
        let mut got = Vec::new();
        let _ = reader.read_to_end(&mut got);
        assert_eq!(got, b"sealed");

        assert!(may_take_private_data(1000, Some(1000)));
        assert!(may_take_private_data(0, Some(1000)));
        assert!(may_take_private_data(0, None));
        assert!(!may_take_private_data(1001, Some(1000)));
        assert!(!may_take_private_data(1000, None));
    }

    #[test]
    fn refuses_existing_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        write_atomically(&target, b"one", FileMode::Private, Overwrite::Refuse).unwrap();
        let err =
            write_atomically(&target, b"two", FileMode::Private, Overwrite::Refuse).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(fs::read(&target).unwrap(), b"one");
        write_atomically(&target, b"three", FileMode::Private, Overwrite::Replace).unwrap();
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
