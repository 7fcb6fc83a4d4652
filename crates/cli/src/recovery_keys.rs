//! `--recovery-private-key`: PEM keys, key Secrets, `List` backups, or directories of them.

use std::fs;
use std::path::Path;

use anyhow::{Result, anyhow};
use seal::{Certificate, Keyring, read_private_keys};

use crate::files::{describe_io, read_file};

/// Loads every key from every path into one keyring. A file that holds no key is an error;
/// in a directory, files without keys (certificates, READMEs) are skipped, but the directory
/// must hold at least one key.
pub fn load_keyring(paths: &[impl AsRef<Path>]) -> Result<Keyring> {
    let mut keyring = Keyring::new();
    for path in paths {
        let path = path.as_ref();
        let meta = fs::metadata(path)
            .map_err(|e| anyhow!("open {}: {}", path.display(), describe_io(&e)))?;
        if meta.is_dir() {
            load_dir(path, &mut keyring)?;
        } else {
            load_file(path, &mut keyring)?;
        }
    }
    Ok(keyring)
}

fn load_file(path: &Path, keyring: &mut Keyring) -> Result<usize> {
    let data = read_file(path)?;
    let loaded = read_private_keys(&data).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let count = loaded.len();
    for key in loaded {
        let time = key
            .certificate
            .as_ref()
            .map_or(std::time::UNIX_EPOCH, Certificate::not_before);
        keyring.insert(key.key, key.certificate, time);
    }
    Ok(count)
}

fn load_dir(dir: &Path, keyring: &mut Keyring) -> Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| anyhow!("open {}: {}", dir.display(), describe_io(&e)))?
        .filter_map(std::result::Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    entries.sort();
    let mut found = 0;
    let mut first_error = None;
    for path in entries {
        match load_file(&path, keyring) {
            Ok(n) => found += n,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if found == 0 {
        return Err(match first_error {
            Some(e) => anyhow!("{}: no private key found ({e:#})", dir.display()),
            None => anyhow!(
                "{}: no private key found (the directory is empty)",
                dir.display()
            ),
        });
    }
    Ok(())
}
