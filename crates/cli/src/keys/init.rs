//! `kubeseal keys init`: a new local keyring directory with one keypair.

use std::path::PathBuf;

use anyhow::Result;
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
    let cert = Certificate::self_signed(&key, cn, seal::keys::DEFAULT_CERT_VALIDITY)?;
    let stem = super::keyring_dir::add(dir, &key, &cert, None, false, None)?;
    Ok((cert, stem))
}
