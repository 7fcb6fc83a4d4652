//! `kubeseal keys init`: a new local keyring directory with one keypair.

use std::path::PathBuf;

use std::time::{Duration, SystemTime};

use anyhow::{Result, bail};
use seal::key_record::whole_seconds;
use seal::{Certificate, PrivateKey};

/// `kubeseal keys init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The keyring directory (created, mode 0700, if missing).
    #[arg(long, value_name = "DIR")]
    pub keyring: PathBuf,
    /// RSA key size: 2048, 3072 or 4096.
    #[arg(long, default_value_t = seal::keys::DEFAULT_KEY_BITS)]
    pub key_size: usize,
    /// Common name of the certificate (default: empty, as upstream).
    #[arg(long, default_value = "")]
    pub my_cn: String,
}

pub(super) fn init(args: &InitArgs) -> Result<()> {
    // Run again by a setup script, init would otherwise add (and seal with) another key.
    if args.keyring.exists() {
        let held = super::keyring_dir::load(&args.keyring, "")?;
        let count = held.keys.len() + held.warnings.len();
        if count > 0 {
            bail!(
                "{} already holds {count} key(s): `kubeseal keys rotate --keyring {}` adds one",
                args.keyring.display(),
                args.keyring.display()
            );
        }
    }
    let (cert, stem) = new_keyring_key(&args.keyring, args.key_size, &args.my_cn)?;
    println!("{}", cert.public_key().fingerprint());
    eprintln!(
        "created {} (private key, mode 0600) and {}",
        args.keyring.join(format!("{stem}.key")).display(),
        args.keyring.join(format!("{stem}.crt")).display()
    );
    Ok(())
}

/// A new key in a keyring directory: its certificate and file stem.
pub(super) fn new_keyring_key(
    dir: &std::path::Path,
    bits: usize,
    cn: &str,
) -> Result<(Certificate, String)> {
    let key = PrivateKey::generate(bits)?;
    wait_past_newest_key(dir);
    let cert = Certificate::self_signed(&key, cn, seal::keys::DEFAULT_CERT_VALIDITY)?;
    let stem = super::keyring_dir::add(dir, &key, &cert, None, false, None)?;
    Ok((cert, stem))
}

/// Keys are ordered by their certificate's start, in whole seconds: a key made in the same
/// second as the newest one would tie with it, and the tie need not go to the new key (a
/// rotation that reports a new sealing key while the old one goes on sealing). Waits, at most
/// a second or two, until the new certificate starts after the newest.
fn wait_past_newest_key(dir: &std::path::Path) {
    let newest = super::keyring_dir::load(dir, "").ok().and_then(|loaded| {
        loaded
            .keys
            .iter()
            .filter_map(|k| k.record.certificate.as_ref().map(Certificate::not_before))
            .max()
    });
    if let Some(newest) = newest {
        let next = whole_seconds(newest) + Duration::from_secs(1);
        if let Ok(wait) = next.duration_since(SystemTime::now()) {
            std::thread::sleep(wait.min(Duration::from_secs(2)));
        }
    }
}
