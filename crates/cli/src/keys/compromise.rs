//! `kubeseal keys compromise`: relabel a key so it no longer seals.

use anyhow::Result;

use super::source_args::{SourceArgs, warn_all};
use super::store::Store;
use super::stored::StoredKey;

/// `kubeseal keys compromise`.
#[derive(Debug, clap::Args)]
pub struct CompromiseArgs {
    /// Fingerprint of the key (`SHA256:…`, or a unique prefix), as `keys list` shows it.
    #[arg(value_name = "FINGERPRINT")]
    pub fingerprint: String,
    #[command(flatten)]
    pub source: SourceArgs,
}

pub(super) fn compromise(args: &CompromiseArgs) -> Result<()> {
    let store = args.source.store()?;
    let loaded = store.load()?;
    warn_all(&loaded);
    let keys: Vec<&StoredKey> = loaded.find(&args.fingerprint)?;
    let fingerprint = keys[0].fingerprint().clone();
    let mut changed = 0;
    for key in &keys {
        if !key.compromised() {
            store.mark_compromised(key)?;
            changed += 1;
        }
    }
    if changed == 0 {
        eprintln!("{fingerprint} is already marked compromised");
    } else {
        println!("{fingerprint} marked compromised: it no longer seals, and still unseals");
    }
    let next = loaded
        .keys
        .iter()
        .find(|k| k.record.can_seal() && k.fingerprint() != &fingerprint);
    match (next, &store) {
        (Some(next), _) => eprintln!("the sealing key is now {}", next.fingerprint()),
        (None, Store::Dir { dir, .. }) => eprintln!(
            "no active key is left: make one with `kubeseal keys rotate --keyring {}`",
            dir.display()
        ),
        (None, Store::Cluster(_)) => eprintln!(
            "no active key is left: the controller makes a new one; or run `kubeseal keys rotate`"
        ),
    }
    eprintln!(
        "REMINDER: anyone holding this key can still open every SealedSecret sealed with it, including old copies in git. Re-sealing is not enough: rotate the real secrets (passwords, tokens, keys) it protected, then seal the new values."
    );
    Ok(())
}
