//! `kubeseal keys rotate`: a new sealing key, asked of the controller through the renewal
//! annotation, or added to a keyring.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow, bail};
use seal::key_record::{RENEWAL_REQUESTED_AT_ANNOTATION, whole_seconds};
use seal::{Certificate, go_flags};

use super::cluster::ClusterStore;
use super::init::new_keyring_key;
use super::source_args::{SourceArgs, warn_all};
use super::stored::format_time;
use crate::files::{FileMode, Overwrite, write_atomically};

/// `kubeseal keys rotate`.
#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    /// How long to wait for the controller's new key (e.g. 90s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_timeout, conflicts_with = "keyring")]
    pub timeout: Duration,
    /// Also write the new certificate to FILE.
    #[arg(long, value_name = "FILE")]
    pub cert_out: Option<PathBuf>,
    /// Key size for a keyring key.
    #[arg(long, default_value_t = seal::keys::DEFAULT_KEY_BITS)]
    pub key_size: usize,
    /// Common name of a keyring key's certificate (default: empty, as upstream).
    #[arg(long, default_value = "")]
    pub my_cn: String,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Whole seconds or a Go duration, as `--request-timeout`; zero would never wait.
fn parse_timeout(text: &str) -> std::result::Result<Duration, go_flags::GoFlagError> {
    let timeout = go_flags::parse_kubectl_timeout(text)?;
    if timeout.is_zero() {
        return Err(go_flags::GoFlagError::Zero(text.to_owned()));
    }
    Ok(timeout)
}

/// Asks the controller for a new key through the renewal annotation and waits for it.
fn rotate_in_cluster(store: &ClusterStore, timeout: Duration) -> Result<Certificate> {
    let namespace = store.namespace().to_owned();
    let loaded = store.load()?;
    warn_all(&loaded);
    let current = loaded.sealing().with_context(|| {
        format!(
            "cannot rotate keys: no active sealing key in namespace {namespace} to put the request on (the controller makes the first key when it starts)"
        )
    })?;
    let before: Vec<_> = loaded
        .keys
        .iter()
        .map(|k| k.fingerprint().clone())
        .collect();
    // The controller compares the request with its newest key at whole seconds: ask for a
    // time after the current key was made, or nothing would happen.
    let newest = current
        .record
        .certificate
        .as_ref()
        .map(Certificate::not_before)
        .into_iter()
        .chain(current.record.created)
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut at = whole_seconds(SystemTime::now());
    if at <= newest {
        let next = whole_seconds(newest) + Duration::from_secs(1);
        if let Ok(wait) = next.duration_since(SystemTime::now()) {
            std::thread::sleep(wait.min(Duration::from_secs(2)));
        }
        at = whole_seconds(SystemTime::now()).max(next);
    }
    let at = format_time(at);
    store
        .annotate(current.id(), RENEWAL_REQUESTED_AT_ANNOTATION, &at)
        .map_err(|e| anyhow!("cannot request a new key: {e:#}"))?;
    eprintln!(
        "requested a new key at {at} on Secret {namespace}/{}; waiting for the controller…",
        current.id()
    );
    let deadline = Instant::now() + timeout;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let loaded = store.load()?;
        if let Some(cert) = loaded
            .keys
            .iter()
            .filter(|k| k.record.can_seal() && !before.contains(k.fingerprint()))
            .find_map(|k| k.record.certificate.clone())
        {
            return Ok(cert);
        }
        if Instant::now() >= deadline {
            bail!(
                "no new key appeared in namespace {namespace} within {}s: is the controller running there? (the request stays recorded on Secret {namespace}/{}; the controller acts on it when it sees it)",
                timeout.as_secs(),
                current.id()
            );
        }
    }
}

pub(super) fn rotate(args: &RotateArgs) -> Result<()> {
    // Checked before the key is made: a rotation that fails afterwards has still made a key,
    // and every retry would make one more.
    if let Some(path) = &args.cert_out {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        if !dir.is_dir() {
            bail!(
                "--cert-out {}: no such directory {}",
                path.display(),
                dir.display()
            );
        }
        if path.is_dir() {
            bail!("--cert-out {}: is a directory", path.display());
        }
    }
    let cert = if let Some(dir) = &args.source.keyring {
        let (cert, stem) = new_keyring_key(dir, args.key_size, &args.my_cn)?;
        eprintln!(
            "created key {} in {}",
            cert.public_key().fingerprint(),
            dir.join(format!("{stem}.key")).display()
        );
        cert
    } else {
        let store = ClusterStore::connect(&args.source.cluster)?;
        rotate_in_cluster(&store, args.timeout)?
    };
    if let Some(path) = &args.cert_out {
        write_atomically(
            path,
            cert.to_pem().as_bytes(),
            FileMode::Public,
            Overwrite::Replace,
        )?;
    }
    println!("{}", cert.public_key().fingerprint());
    eprintln!(
        "new sealing key {}: new SealedSecrets are sealed with it. It is not backed up yet: run `kubeseal keys backup`.",
        cert.public_key().fingerprint()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_timeout("5"), Ok(Duration::from_secs(5)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("soon").is_err());
    }
}
