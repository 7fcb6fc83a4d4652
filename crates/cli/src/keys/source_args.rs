//! Where the keys of a `kubeseal keys` command are: a local keyring directory or the cluster.

use std::path::PathBuf;

use anyhow::Result;

use super::cluster::{ClusterArgs, ClusterStore};
use super::store::Store;
use super::stored::Loaded;

/// Where the keys are: a local keyring directory, or the cluster.
#[derive(Debug, Clone, clap::Args)]
pub struct SourceArgs {
    /// Work on a local keyring directory instead of the cluster.
    #[arg(long, value_name = "DIR")]
    pub keyring: Option<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

impl SourceArgs {
    pub(super) fn store(&self) -> Result<Store> {
        Ok(match &self.keyring {
            Some(dir) => Store::Dir {
                dir: dir.clone(),
                namespace: self.cluster.controller_namespace.clone(),
            },
            None => Store::Cluster(ClusterStore::connect(&self.cluster)?),
        })
    }
}

pub(super) fn warn_all(loaded: &Loaded) {
    for w in &loaded.warnings {
        eprintln!("warning: skipped unreadable key: {w}");
    }
}
