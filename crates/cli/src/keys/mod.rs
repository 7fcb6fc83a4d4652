//! `kubeseal keys …`: list, back up, restore, rotate and retire sealing keys, in the cluster
//! (the controller's namespace, through the kubeconfig) or in a local keyring directory
//! (`--keyring DIR`, format in [`keyring_dir`]); and `kubeseal reencrypt DIR…`.
//!
//! # Backups
//!
//! A backup is an upstream-compatible `v1` `List` of `kubernetes.io/tls` key Secrets (what
//! upstream's README has users save with `kubectl get secret -l … -o yaml`), encrypted with
//! age: to recipients (`age1…`, SSH public keys) or to a passphrase (scrypt, work factor 18),
//! ASCII-armored unless `--binary`. `age -d` (or `kubeseal keys restore`) opens it; the result
//! can be `kubectl apply`'d into an upstream installation. After a backup, each exported key is
//! marked with the annotation `sealedsecrets.bitnami.com/backed-up-at: <RFC 3339>` (keyring:
//! a `<stem>.backed-up` file) so `list` and the controller's metrics show keys never saved.
//!
//! # `keys rotate` contract with the controller
//!
//! Through the Kubernetes API only, never the controller's HTTP port: `kubeseal` merge-patches
//! the annotation `sealedsecrets.bitnami.com/renewal-requested-at: <now, RFC 3339 UTC, whole
//! seconds>` onto the current sealing key Secret in the controller's namespace. The controller
//! watches its key Secrets and, seeing a request newer than its newest key, writes exactly one
//! new key Secret. `kubeseal` then polls the key Secrets until an active key that was not
//! there before appears (`--timeout`, default 60 s) and prints its fingerprint (`--cert-out`
//! writes its certificate). Authorization is the API server's RBAC on patching key Secrets,
//! which only key administrators hold, rather than an HTTP endpoint that anyone who can reach
//! the service proxy could call.

mod backup;
mod bundle;
mod cluster;
mod compromise;
mod init;
mod keyring_dir;
mod list;
mod reencrypt;
mod restore;
mod rotate;
mod secrets_input;
mod source_args;
mod sources;
mod store;
mod stored;

use anyhow::Result;

pub use bundle::Unlock;
pub use reencrypt::{ReencryptArgs, run_reencrypt};
pub use secrets_input::{PassphraseArgs, identities};
pub use sources::{KeySources, load_keyring};

use backup::{BackupArgs, backup};
use compromise::{CompromiseArgs, compromise};
use init::{InitArgs, init};
use list::{ListArgs, list};
use restore::{RestoreArgs, restore};
use rotate::{RotateArgs, rotate};

/// `kubeseal keys …`.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// List every sealing key: fingerprint, size, dates, status, which one seals, backups.
    List(ListArgs),
    /// Export all keys into one age-encrypted bundle (an upstream-compatible key List inside).
    Backup(BackupArgs),
    /// Import keys from a bundle, an upstream plaintext backup List, or PEM keys.
    Restore(RestoreArgs),
    /// Make a new sealing key now: ask the controller (an annotation on its key Secret, through
    /// the Kubernetes API) and wait for the key, or add one to a local keyring.
    Rotate(RotateArgs),
    /// Relabel a key so it no longer seals (it still unseals).
    Compromise(CompromiseArgs),
    /// Create a local keyring directory with a new keypair and certificate.
    Init(InitArgs),
}

/// Runs one `kubeseal keys` command.
pub fn run(command: &KeysCommand) -> Result<()> {
    match command {
        KeysCommand::List(args) => list(args),
        KeysCommand::Backup(args) => backup(args),
        KeysCommand::Restore(args) => restore(args),
        KeysCommand::Rotate(args) => rotate(args),
        KeysCommand::Compromise(args) => compromise(args),
        KeysCommand::Init(args) => init(args),
    }
}
