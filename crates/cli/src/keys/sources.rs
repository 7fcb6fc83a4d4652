//! The one offline key loader, for `--recovery-unseal`, `--validate`, `--re-encrypt` and
//! `kubeseal reencrypt`. Keys come from:
//!
//! - keyring directories (`--keyring DIR`, format in [`super::keyring_dir`]), which also name
//!   the sealing certificate (the newest active key's);
//! - key files (`--recovery-private-key FILE`, `reencrypt --key FILE`): PEM private keys, key
//!   Secrets (JSON/YAML, any type with a `tls.key`), `v1` `List`s of them (upstream's
//!   `kubectl get secret -l … -o yaml` backup), and age backup bundles, opened with `-i FILE`
//!   or a passphrase (`--passphrase-file`, `$SEALED_SECRETS_BACKUP_PASSPHRASE`, the terminal);
//! - directories of such files: files without keys (certificates, READMEs) are skipped, but
//!   the directory must hold at least one key.
//!
//! Errors are one line naming the file; they never hold key bytes or passphrases.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Result, anyhow, bail};
use seal::key_record::KeyOrder;
use seal::{Certificate, Keyring, read_private_keys};

use super::bundle::{self, Unlock};
use super::keyring_dir;
use super::secrets_input::{PASSPHRASE_ENV, PassphraseArgs};
use crate::files::{describe_io, read_file};

/// Flags that name private keys for `kubeseal reencrypt`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeySourceArgs {
    /// Keyring directory to take keys (and the sealing certificate) from; repeatable.
    #[arg(long, value_name = "DIR")]
    pub keyring: Vec<PathBuf>,
    /// Private key file or directory: PEM, key Secret, backup List or age bundle; repeatable
    /// or comma-separated.
    #[arg(long = "key", value_name = "FILE", value_delimiter = ',')]
    pub keys: Vec<PathBuf>,
    /// age identity file or SSH private key to open bundles; repeatable.
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

impl KeySourceArgs {
    /// The sources these flags name.
    pub fn sources(&self) -> KeySources {
        KeySources {
            keyrings: self.keyring.clone(),
            files: self.keys.clone(),
            unlock: Unlock {
                identities: self.identities.clone(),
                passphrase: self.passphrase.clone(),
            },
        }
    }
}

/// Where private keys come from.
#[derive(Debug, Clone, Default)]
pub struct KeySources {
    /// Keyring directories.
    pub keyrings: Vec<PathBuf>,
    /// Key files, bundles, or directories of them.
    pub files: Vec<PathBuf>,
    /// What opens age bundles.
    pub unlock: Unlock,
}

impl KeySources {
    /// Whether no key source was named at all.
    pub fn is_empty(&self) -> bool {
        self.keyrings.is_empty() && self.files.is_empty()
    }
}

/// Every private key of the sources (all unseal, compromised ones included), and the
/// certificate of the newest active keyring key (what seals), if any. A source that holds no
/// key is an error.
pub fn load_keyring(sources: &KeySources) -> Result<(Keyring, Option<Certificate>)> {
    let mut keyring = Keyring::new();
    let mut sealing: Option<Certificate> = None;
    for dir in &sources.keyrings {
        let mut loaded = keyring_dir::load(dir, "")?;
        loaded.sort(KeyOrder::default());
        for w in &loaded.warnings {
            eprintln!("warning: skipped unreadable key: {w}");
        }
        if loaded.keys.is_empty() {
            bail!(
                "keyring {} holds no keys (expected <name>.key files)",
                dir.display()
            );
        }
        if let Some(cert) = loaded.sealing().and_then(|k| k.record.certificate.clone())
            && sealing
                .as_ref()
                .is_none_or(|s| s.not_before() < cert.not_before())
        {
            sealing = Some(cert);
        }
        for key in loaded.keys {
            let time = key.record.ordering_time(KeyOrder::default());
            keyring.insert(key.record.key, key.record.certificate, time);
        }
    }
    for path in &sources.files {
        let meta = fs::metadata(path)
            .map_err(|e| anyhow!("open {}: {}", path.display(), describe_io(&e)))?;
        if meta.is_dir() {
            load_dir(path, &sources.unlock, &mut keyring)?;
        } else {
            load_file(path, &sources.unlock, &mut keyring)?;
        }
    }
    Ok((keyring, sealing))
}

/// Whether something can open an age bundle without asking on the terminal.
fn can_unlock(unlock: &Unlock) -> bool {
    !unlock.identities.is_empty()
        || unlock.passphrase.requested()
        || std::env::var_os(PASSPHRASE_ENV).is_some_and(|v| !v.is_empty())
}

/// Loads the keys of one file into `keyring`; returns how many it held.
fn load_file(path: &Path, unlock: &Unlock, keyring: &mut Keyring) -> Result<usize> {
    let data = read_file(path)?;
    let plaintext;
    let text: &[u8] = if bundle::is_age(&data) {
        plaintext =
            bundle::decrypt(&data, unlock).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        &plaintext
    } else {
        &data
    };
    let loaded = read_private_keys(text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let count = loaded.len();
    for key in loaded {
        // Every reader refuses a certificate of another key (`seal::KeyRecord`).
        let certificate = key.certificate;
        let time = certificate
            .as_ref()
            .map_or(SystemTime::UNIX_EPOCH, Certificate::not_before);
        keyring.insert(key.key, certificate, time);
    }
    Ok(count)
}

fn load_dir(dir: &Path, unlock: &Unlock, keyring: &mut Keyring) -> Result<()> {
    let all: Vec<_> = fs::read_dir(dir)
        .map_err(|e| anyhow!("open {}: {}", dir.display(), describe_io(&e)))?
        .filter_map(std::result::Result::ok)
        .map(|e| e.path())
        .collect();
    let has_subdirectories = all.iter().any(|p| p.is_dir());
    let mut entries: Vec<_> = all
        .into_iter()
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    entries.sort();
    let unlockable = can_unlock(unlock);
    let mut found = 0;
    let mut first_error = None;
    for path in entries {
        // Never prompt for a bundle met while scanning a directory: only open it when -i or
        // a passphrase source was given.
        if !unlockable
            && fs::read(&path)
                .map(|data| bundle::is_age(&data))
                .unwrap_or(false)
        {
            first_error.get_or_insert_with(|| {
                anyhow!(
                    "{}: an age bundle (give -i FILE or a passphrase to open it)",
                    path.display()
                )
            });
            continue;
        }
        match load_file(&path, unlock, keyring) {
            Ok(n) => found += n,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if found == 0 {
        return Err(match first_error {
            Some(e) => anyhow!("{}: no private key found ({e:#})", dir.display()),
            None if has_subdirectories => anyhow!(
                "{}: no private key found (its subdirectories are not searched: name them, comma-separated)",
                dir.display()
            ),
            None => anyhow!(
                "{}: no private key found (the directory is empty)",
                dir.display()
            ),
        });
    }
    Ok(())
}
