//! Where sealing keys live: a local keyring directory or the controller's namespace.

use std::path::PathBuf;

use anyhow::Result;
use seal::key_record::{KeyOrder, KeyStatus};

use super::bundle::KeyItem;
use super::cluster::ClusterStore;
use super::keyring_dir;
use super::stored::{BACKED_UP_AT_ANNOTATION, Loaded, StoredKey};

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

    /// Every key, newest first (in the cluster by the controller's key order, which
    /// `--key-order-priority` names).
    pub fn load(&self) -> Result<Loaded> {
        match self {
            Self::Dir { dir, namespace } => {
                let mut loaded = keyring_dir::load(dir, namespace)?;
                loaded.sort(KeyOrder::default());
                Ok(loaded)
            }
            Self::Cluster(c) => c.load(),
        }
    }

    /// Records that `key` was exported at `at`.
    pub fn mark_backed_up(&self, key: &StoredKey, at: &str) -> Result<()> {
        match self {
            Self::Dir { dir, .. } => keyring_dir::mark_backed_up(dir, key.id(), at),
            Self::Cluster(c) => c.annotate(key.id(), BACKED_UP_AT_ANNOTATION, at),
        }
    }

    /// Relabels `key` so it no longer seals.
    pub fn mark_compromised(&self, key: &StoredKey) -> Result<()> {
        match self {
            Self::Dir { dir, .. } => keyring_dir::mark_compromised(dir, key.id()),
            Self::Cluster(c) => c.relabel(key.id(), KeyStatus::Compromised.label()),
        }
    }

    /// Stores a new key; returns its id (Secret name or file stem).
    pub fn add(&self, item: &KeyItem) -> Result<String> {
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
