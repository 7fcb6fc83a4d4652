//! The one view of a stored key that every `kubeseal keys` command works with, whichever store
//! (cluster or keyring directory) it came from. A leaf: the stores build these, nothing here
//! knows the stores.

use std::time::SystemTime;

use anyhow::Result;
use seal::key_record::{self, KeyOrder, KeyRecord, KeyStatus, LEGACY_KEY_SECRET_NAME};
use seal::manifest::LAST_APPLIED_ANNOTATIONS;
use seal::{Fingerprint, Secret};

pub use seal::key_record::{BACKED_UP_AT_ANNOTATION, parse_time};

/// One sealing key as stored.
#[derive(Debug)]
pub struct StoredKey {
    /// The key, read with the one key-Secret model (its name: the Secret name, or the file
    /// stem in a keyring directory).
    pub record: KeyRecord,
    /// The key as an upstream-style `kubernetes.io/tls` Secret, server-side fields removed:
    /// what a backup holds.
    pub secret: Secret,
}

impl StoredKey {
    /// Secret name (cluster) or file stem (keyring directory).
    pub fn id(&self) -> &str {
        &self.record.name
    }

    /// Public fingerprint.
    pub fn fingerprint(&self) -> &Fingerprint {
        self.record.fingerprint()
    }

    /// Whether the key only unseals.
    pub fn compromised(&self) -> bool {
        self.record.status == KeyStatus::Compromised
    }

    /// Whether a backup was recorded at or after the key was stored.
    pub fn backed_up(&self) -> bool {
        let Some(at) = self.record.backed_up_at.as_deref() else {
            return false;
        };
        match (parse_time(at), self.record.created) {
            (Some(at), Some(created)) => at + std::time::Duration::from_secs(1) >= created,
            _ => true,
        }
    }
}

/// Every key of a store, newest first, plus what could not be read.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Readable keys, newest first.
    pub keys: Vec<StoredKey>,
    /// One line per unreadable key (never key material).
    pub warnings: Vec<String>,
}

impl Loaded {
    /// Sorts newest first by `order`, as the controller does ([`key_record::newest_first`]).
    pub fn sort(&mut self, order: KeyOrder) {
        key_record::sort_newest_first(&mut self.keys, |k| &k.record, order);
    }

    /// The key that seals (after [`Loaded::sort`]), by the controller's rule.
    pub fn sealing(&self) -> Option<&StoredKey> {
        key_record::sealing_key(&self.keys, |k| &k.record)
    }

    /// Finds a key by full fingerprint, or by a unique prefix of it (with or without `SHA256:`).
    pub fn find(&self, fingerprint: &str) -> Result<Vec<&StoredKey>> {
        let wanted = fingerprint.trim();
        let wanted = wanted.strip_prefix("SHA256:").unwrap_or(wanted);
        if wanted.is_empty() {
            anyhow::bail!("empty fingerprint");
        }
        let matching: Vec<&StoredKey> = self
            .keys
            .iter()
            .filter(|k| {
                let fp = k.fingerprint().as_str();
                fp.strip_prefix("SHA256:").unwrap_or(fp).starts_with(wanted)
            })
            .collect();
        let distinct: std::collections::BTreeSet<_> =
            matching.iter().map(|k| k.fingerprint().clone()).collect();
        match distinct.len() {
            0 => anyhow::bail!("no key with fingerprint {fingerprint}"),
            1 => Ok(matching),
            n => anyhow::bail!("{n} keys match {fingerprint}: give more of the fingerprint"),
        }
    }
}

/// A key Secret as a backup holds it: no server-side fields, no owner references (their
/// owners do not exist in another cluster), no last-applied annotations (they copy the data).
pub fn exportable(mut secret: Secret) -> Secret {
    secret.metadata.uid = None;
    secret.metadata.extra.clear();
    secret.metadata.owner_references.clear();
    secret.metadata.finalizers.clear();
    for annotation in LAST_APPLIED_ANNOTATIONS {
        secret.metadata.annotations.remove(annotation);
    }
    secret
}

/// `2024-01-02T03:04:05Z`.
pub fn format_time(time: SystemTime) -> String {
    jiff::Timestamp::try_from(time)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| "-".into())
}

/// A Secret name for a key from its fingerprint: `sealed-secrets-key` + 10 lowercase
/// alphanumerics, stable for the same key.
pub fn secret_name_for(fingerprint: &Fingerprint) -> String {
    let suffix: String = fingerprint
        .as_str()
        .trim_start_matches("SHA256:")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(10)
        .collect();
    format!("{LEGACY_KEY_SECRET_NAME}{suffix}")
}
