//! Offline key sources for `--recovery-unseal`, `--validate`, `--re-encrypt` and
//! `reencrypt`: keyring directories and key files (PEM keys, key Secrets, upstream backup
//! Lists, and age backup bundles decrypted on the fly).

use std::fs;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Context, Result};
use seal::{Certificate, Keyring};
use zeroize::Zeroizing;

use super::bundle::{self, Unlock};
use super::keyring_dir;
use super::secrets_input::PassphraseArgs;

/// Flags that name private keys for offline work.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeySourceArgs {
    /// Keyring directory to take keys (and the sealing certificate) from; repeatable.
    #[arg(long, value_name = "DIR")]
    pub keyring: Vec<PathBuf>,
    /// Private key file: PEM, key Secret, backup List or age bundle; repeatable or comma-separated.
    #[arg(long = "key", value_name = "FILE", value_delimiter = ',')]
    pub keys: Vec<PathBuf>,
    /// age identity file or SSH private key to open bundles; repeatable.
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// Every private key of the sources (all unseal, compromised ones included), and the
/// certificate of the newest active keyring key (what seals), if any.
pub fn load_keyring(args: &KeySourceArgs) -> Result<(Keyring, Option<Certificate>)> {
    let mut keyring = Keyring::new();
    let mut sealing: Option<Certificate> = None;
    for dir in &args.keyring {
        let mut loaded = keyring_dir::load(dir, "")?;
        loaded.sort();
        for w in &loaded.warnings {
            eprintln!("warning: skipped unreadable key: {w}");
        }
        if let Some(cert) = loaded.sealing().and_then(|k| k.certificate.clone())
            && sealing
                .as_ref()
                .is_none_or(|s| s.not_before() < cert.not_before())
        {
            sealing = Some(cert);
        }
        for key in loaded.keys {
            let time = key.ordering_time();
            keyring.insert(key.key, key.certificate, time);
        }
    }
    let unlock = Unlock {
        identities: args.identities.clone(),
        passphrase: args.passphrase.clone(),
    };
    for path in &args.keys {
        let data = Zeroizing::new(
            fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        );
        let items =
            bundle::read_any(&data, &unlock).with_context(|| format!("{}", path.display()))?;
        for item in items {
            // A certificate made just now for a bare PEM key must not make it look newest.
            let time = if item.certificate_generated {
                SystemTime::UNIX_EPOCH
            } else {
                item.certificate.not_before()
            };
            keyring.insert(item.key, Some(item.certificate), time);
        }
    }
    Ok((keyring, sealing))
}
