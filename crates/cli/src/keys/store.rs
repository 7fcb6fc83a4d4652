//! Where sealing keys live — a local keyring directory or the controller's namespace — and the
//! one view of a stored key that every command works with.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Result;
use seal::manifest::LAST_APPLIED_ANNOTATIONS;
use seal::{Certificate, Fingerprint, PrivateKey, SEALING_KEY_LABEL, Secret};

use super::cluster::ClusterStore;
use super::keyring_dir;

/// Annotation recording when a key Secret was last exported by `kubeseal keys backup`.
/// Holds only an RFC 3339 time.
pub const BACKED_UP_ANNOTATION: &str = "sealedsecrets.bitnami.com/backed-up-at";
/// Label value of a key that seals (when newest) and unseals.
pub const ACTIVE: &str = "active";
/// Label value of a key that only unseals.
pub const COMPROMISED: &str = "compromised";
/// Name of the legacy (pre-0.9) unlabelled key Secret, and the `generateName` of new ones.
pub const KEY_PREFIX: &str = "sealed-secrets-key";

/// One sealing key as stored.
#[derive(Debug)]
pub struct StoredKey {
    /// Secret name (cluster) or file stem (keyring directory).
    pub id: String,
    /// The private key.
    pub key: PrivateKey,
    /// Its certificate, when stored with one.
    pub certificate: Option<Certificate>,
    /// Labelled anything but `active` (or the legacy unlabelled Secret): unseals only.
    pub compromised: bool,
    /// When the key was stored (Secret creation, or the certificate's start).
    pub created: Option<SystemTime>,
    /// The backed-up annotation or marker, as written (RFC 3339).
    pub backed_up_at: Option<String>,
    /// The key as an upstream-style `kubernetes.io/tls` Secret, server-side fields removed:
    /// what a backup holds.
    pub secret: Secret,
}

impl StoredKey {
    /// The time that orders keys (upstream's default: the certificate's `notBefore`).
    pub fn ordering_time(&self) -> SystemTime {
        self.certificate
            .as_ref()
            .map(Certificate::not_before)
            .or(self.created)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// Public fingerprint.
    pub fn fingerprint(&self) -> &Fingerprint {
        self.key.fingerprint()
    }

    /// Whether a backup was recorded at or after the key was stored.
    pub fn backed_up(&self) -> bool {
        let Some(at) = self.backed_up_at.as_deref() else {
            return false;
        };
        match (parse_time(at), self.created) {
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
    /// Sorts newest first; equal times (certificates made in the same second) are ordered by
    /// fingerprint so every reader picks the same sealing key.
    pub fn sort(&mut self) {
        self.keys.sort_by(|a, b| {
            b.ordering_time()
                .cmp(&a.ordering_time())
                .then_with(|| a.fingerprint().cmp(b.fingerprint()))
        });
    }

    /// The key that seals: the newest active key with a certificate.
    pub fn sealing(&self) -> Option<&StoredKey> {
        self.keys
            .iter()
            .find(|k| !k.compromised && k.certificate.is_some())
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

/// The store a command works on.
pub enum Store {
    /// A local keyring directory; Secrets are named for `namespace`.
    Dir { dir: PathBuf, namespace: String },
    /// The controller's namespace, through the kubeconfig.
    Cluster(ClusterStore),
}

impl Store {
    /// Human name: `keyring DIR` or `namespace NS`.
    pub fn describe(&self) -> String {
        match self {
            Self::Dir { dir, .. } => format!("keyring {}", dir.display()),
            Self::Cluster(c) => format!("namespace {}", c.namespace()),
        }
    }

    /// Every key, newest first.
    pub fn load(&self) -> Result<Loaded> {
        let mut loaded = match self {
            Self::Dir { dir, namespace } => keyring_dir::load(dir, namespace)?,
            Self::Cluster(c) => c.load()?,
        };
        loaded.sort();
        Ok(loaded)
    }

    /// Records that `key` was exported at `at`.
    pub fn mark_backed_up(&self, key: &StoredKey, at: &str) -> Result<()> {
        match self {
            Self::Dir { dir, .. } => keyring_dir::mark_backed_up(dir, &key.id, at),
            Self::Cluster(c) => c.annotate(&key.id, BACKED_UP_ANNOTATION, at),
        }
    }

    /// Relabels `key` so it no longer seals.
    pub fn mark_compromised(&self, key: &StoredKey) -> Result<()> {
        match self {
            Self::Dir { dir, .. } => keyring_dir::mark_compromised(dir, &key.id),
            Self::Cluster(c) => c.relabel(&key.id, COMPROMISED),
        }
    }

    /// Stores a new key; returns its id (Secret name or file stem).
    pub fn add(&self, item: &super::bundle::KeyItem) -> Result<String> {
        match self {
            Self::Dir { dir, .. } => keyring_dir::add(
                dir,
                &item.key,
                &item.certificate,
                item.name.as_deref(),
                item.compromised,
                item.backed_up_at.as_deref(),
            ),
            Self::Cluster(c) => c.create(&item.secret),
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

/// Whether a key Secret's label marks it as sealing.
pub fn is_active(labels: &BTreeMap<String, String>) -> bool {
    labels.get(SEALING_KEY_LABEL).is_some_and(|v| v == ACTIVE)
}

/// `2024-01-02T03:04:05Z`.
pub fn format_time(time: SystemTime) -> String {
    jiff::Timestamp::try_from(time)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| "-".into())
}

/// Reads an RFC 3339 time.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    text.trim()
        .parse::<jiff::Timestamp>()
        .ok()
        .map(SystemTime::from)
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
    format!("{KEY_PREFIX}{suffix}")
}
