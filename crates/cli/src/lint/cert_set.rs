//! `lint --cert FILE|DIR|URL`: the set of certificates SealedSecrets may be sealed with.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Result, anyhow, bail};
use seal::Certificate;

use super::checks::KnownCert;
use crate::certs::{Location, classify};
use crate::cli::Cli;
use crate::files::read_file;

/// Reads every location: key fingerprint → what the checks need to know of its certificate.
pub fn load(cli: &Cli, locations: &[String]) -> Result<BTreeMap<String, KnownCert>> {
    let now = SystemTime::now();
    let mut set = BTreeMap::new();
    for location in locations {
        for (source, cert) in read_location(cli, location)? {
            let public = cert.public_key();
            let expired_on = (cert.not_after() < now).then(|| date(cert.not_after()));
            set.insert(
                public.fingerprint().to_string(),
                KnownCert {
                    source,
                    key_bytes: public.bits().div_ceil(8),
                    expired_on,
                },
            );
        }
    }
    Ok(set)
}

fn date(time: SystemTime) -> String {
    jiff::Timestamp::try_from(time)
        .map_or_else(|_| "?".to_owned(), |t| t.strftime("%Y-%m-%d").to_string())
}

fn parse(bytes: &[u8], source: &str) -> Result<Certificate> {
    Certificate::from_pem(bytes).map_err(|e| anyhow!("--cert {source}: {e}"))
}

fn read_location(cli: &Cli, location: &str) -> Result<Vec<(String, Certificate)>> {
    let path = match classify(location) {
        Location::Http => {
            let bytes = crate::online::fetch_url(cli, location)?;
            return Ok(vec![(location.to_owned(), parse(&bytes, location)?)]);
        }
        Location::Other(scheme) => {
            bail!("--cert {location}: unsupported protocol scheme {scheme:?}")
        }
        Location::File(path) => Path::new(path),
    };
    if !path.is_dir() {
        let bytes = read_file(path)?;
        return Ok(vec![(location.to_owned(), parse(&bytes, location)?)]);
    }
    let mut entries: Vec<_> = fs::read_dir(path)
        .and_then(|d| d.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow!("--cert {location}: {}", crate::files::describe_io(&e)))?;
    entries.sort_by_key(fs::DirEntry::file_name);
    let mut certs = Vec::new();
    for entry in entries {
        let entry_path = entry.path();
        let is_cert_file = entry_path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "crt" | "pem"));
        if !is_cert_file || !entry_path.is_file() {
            continue;
        }
        let bytes = read_file(&entry_path)?;
        // A keyring's *.pem may be a private key: only certificates count.
        if !bytes
            .windows(27)
            .any(|w| w == b"-----BEGIN CERTIFICATE-----")
        {
            continue;
        }
        let source = entry_path.display().to_string();
        let cert = parse(&bytes, &source)?;
        certs.push((source, cert));
    }
    if certs.is_empty() {
        bail!("--cert {location}: no certificates (*.crt, *.pem) in the directory");
    }
    Ok(certs)
}
