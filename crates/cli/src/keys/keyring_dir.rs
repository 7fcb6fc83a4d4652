//! A local keyring directory (documented in `keys/README.md`):
//!
//! - `<stem>.key`: the private key, PKCS#1 PEM, mode 0600;
//! - `<stem>.crt`: its certificate, PEM;
//! - `<stem>.compromised`: present when the key must no longer seal (it still unseals);
//! - `<stem>.backed-up`: the RFC 3339 time of the last `kubeseal keys backup`.
//!
//! The active key with the newest certificate `notBefore` seals. The repository's `keys/`
//! (`tls.key` + `tls.crt`) is such a directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use seal::key_record::{KeyRecord, KeyRecordError, KeySecretFields, KeyStatus};
use seal::{
    Certificate, ObjectMeta, PrivateKey, SEALING_KEY_LABEL, Secret, SecretBytes, TLS_SECRET_TYPE,
    tls_key_secret,
};
use zeroize::Zeroizing;

use super::stored::{BACKED_UP_AT_ANNOTATION, Loaded, StoredKey, format_time, secret_name_for};
use crate::files::{FileMode, Overwrite, create_private_dir, write_atomically};

const KEY_EXT: &str = "key";
/// Extension of the marker file that retires a key; named after the label value.
const COMPROMISED: &str = "compromised";

fn stems(dir: &Path) -> Result<Vec<String>> {
    let entries = fs::read_dir(dir).with_context(|| {
        format!(
            "cannot read keyring directory {} (create one with `kubeseal keys init --keyring {}`)",
            dir.display(),
            dir.display()
        )
    })?;
    let mut stems = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') || !path.is_file() {
            continue;
        }
        if let Some(stem) = name.strip_suffix(".key")
            && !stem.is_empty()
        {
            stems.push(stem.to_owned());
        }
    }
    stems.sort();
    Ok(stems)
}

fn file(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    dir.join(format!("{stem}.{ext}"))
}

/// Reads every key of the keyring. Unreadable keys become warnings.
pub fn load(dir: &Path, namespace: &str) -> Result<Loaded> {
    let mut loaded = Loaded::default();
    for stem in stems(dir)? {
        match load_one(dir, &stem, namespace) {
            Ok(key) => loaded.keys.push(key),
            Err(e) => loaded
                .warnings
                .push(format!("{}: {e:#}", file(dir, &stem, KEY_EXT).display())),
        }
    }
    Ok(loaded)
}

fn load_one(dir: &Path, stem: &str, namespace: &str) -> Result<StoredKey> {
    let key_path = file(dir, stem, KEY_EXT);
    let pem = Zeroizing::new(fs::read(&key_path).context("cannot read")?);
    let crt_path = file(dir, stem, "crt");
    let crt = match fs::read(&crt_path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", crt_path.display())),
    };
    let status = if file(dir, stem, COMPROMISED).exists() {
        KeyStatus::Compromised
    } else {
        KeyStatus::Active
    };
    let backed_up_at = fs::read_to_string(file(dir, stem, "backed-up"))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let annotations = backed_up_at
        .iter()
        .map(|at| (BACKED_UP_AT_ANNOTATION.to_owned(), at.clone()))
        .collect();
    let mut record = KeyRecord::from_fields(KeySecretFields {
        name: stem,
        label: Some(status.label()),
        annotations: Some(&annotations),
        created: None,
        tls_key: Some(&pem),
        tls_crt: crt.as_deref(),
    })
    .map_err(|e| match e {
        KeyRecordError::TlsCrt(_) | KeyRecordError::CertificateMismatch => {
            anyhow::anyhow!("{}: {e}", crt_path.display())
        }
        KeyRecordError::TlsKey(e) => e.into(),
        e => e.into(),
    })?;
    // A keyring directory has no creation time: the certificate's start, else the file's.
    record.created = record
        .certificate
        .as_ref()
        .map(Certificate::not_before)
        .or_else(|| fs::metadata(&key_path).and_then(|m| m.modified()).ok());
    let secret = key_secret(
        &record.key,
        record.certificate.as_ref(),
        namespace,
        status == KeyStatus::Compromised,
        backed_up_at.as_deref(),
    );
    Ok(StoredKey { record, secret })
}

/// The key Secret for a keyring key, named after its fingerprint.
pub fn key_secret(
    key: &PrivateKey,
    certificate: Option<&Certificate>,
    namespace: &str,
    compromised: bool,
    backed_up_at: Option<&str>,
) -> Secret {
    let metadata = ObjectMeta {
        name: Some(secret_name_for(key.fingerprint())),
        namespace: Some(namespace.to_owned()),
        ..ObjectMeta::default()
    };
    let mut secret = match certificate {
        Some(cert) => tls_key_secret(key, cert, metadata),
        None => {
            let mut secret = Secret::new(metadata);
            secret.type_ = Some(TLS_SECRET_TYPE.into());
            secret
                .metadata
                .labels
                .insert(SEALING_KEY_LABEL.into(), KeyStatus::Active.label().into());
            secret.data = BTreeMap::from([(
                "tls.key".to_owned(),
                SecretBytes::from_slice(key.to_pkcs1_pem().as_bytes()),
            )]);
            secret
        }
    };
    if compromised {
        secret.metadata.labels.insert(
            SEALING_KEY_LABEL.into(),
            KeyStatus::Compromised.label().into(),
        );
    }
    if let Some(at) = backed_up_at {
        secret
            .metadata
            .annotations
            .insert(BACKED_UP_AT_ANNOTATION.into(), at.to_owned());
    }
    secret
}

fn valid_stem(stem: &str) -> bool {
    !stem.is_empty()
        && stem.len() <= 200
        && !stem.starts_with('.')
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn taken(dir: &Path, stem: &str) -> bool {
    ["key", "crt", COMPROMISED, "backed-up"]
        .iter()
        .any(|ext| fs::symlink_metadata(file(dir, stem, ext)).is_ok())
}

/// The stem for a new key: `tls` in an empty keyring, else `hint` when free, else
/// `key-<UTC yyyymmddThhmmssZ>` (with `-2`, `-3`… on a clash).
/// The name of the first key of a keyring: `tls.key` and `tls.crt`, as in `keys/`.
pub const FIRST_KEY_STEM: &str = "tls";

fn new_stem(dir: &Path, hint: Option<&str>) -> Result<String> {
    if stems(dir)?.is_empty() && !taken(dir, FIRST_KEY_STEM) {
        return Ok(FIRST_KEY_STEM.into());
    }
    if let Some(hint) = hint.filter(|h| valid_stem(h))
        && !taken(dir, hint)
    {
        return Ok(hint.to_owned());
    }
    let base = jiff::Timestamp::try_from(SystemTime::now())
        .map(|t| t.strftime("key-%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|_| "key".into());
    let mut stem = base.clone();
    let mut n = 1;
    while taken(dir, &stem) {
        n += 1;
        stem = format!("{base}-{n}");
    }
    Ok(stem)
}

/// Adds a key to the keyring (creating the directory, mode 0700, if needed). The certificate
/// is written first and removed again if the key cannot be written.
pub fn add(
    dir: &Path,
    key: &PrivateKey,
    certificate: &Certificate,
    name_hint: Option<&str>,
    compromised: bool,
    backed_up_at: Option<&str>,
) -> Result<String> {
    create_private_dir(dir)?;
    let stem = new_stem(dir, name_hint)?;
    let crt = file(dir, &stem, "crt");
    write_atomically(
        &crt,
        certificate.to_pem().as_bytes(),
        FileMode::Public,
        Overwrite::Refuse,
    )?;
    let pem = key.to_pkcs1_pem();
    if let Err(e) = write_atomically(
        &file(dir, &stem, KEY_EXT),
        pem.as_bytes(),
        FileMode::Private,
        Overwrite::Refuse,
    ) {
        let _ = fs::remove_file(&crt);
        return Err(e);
    }
    if compromised {
        mark_compromised(dir, &stem)?;
    }
    if let Some(at) = backed_up_at {
        mark_backed_up(dir, &stem, at)?;
    }
    Ok(stem)
}

/// Writes `<stem>.backed-up`.
pub fn mark_backed_up(dir: &Path, stem: &str, at: &str) -> Result<()> {
    write_atomically(
        &file(dir, stem, "backed-up"),
        format!("{at}\n").as_bytes(),
        FileMode::Public,
        Overwrite::Replace,
    )
}

/// Writes `<stem>.compromised`.
pub fn mark_compromised(dir: &Path, stem: &str) -> Result<()> {
    write_atomically(
        &file(dir, stem, COMPROMISED),
        format!("{}\n", format_time(SystemTime::now())).as_bytes(),
        FileMode::Public,
        Overwrite::Replace,
    )
}
