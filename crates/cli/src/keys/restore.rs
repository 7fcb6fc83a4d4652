//! `kubeseal keys restore`: keys from a bundle, an upstream backup List or PEM keys.

use std::path::PathBuf;

use anyhow::{Context, Result};
use seal::go_flags;

use super::bundle::Unlock;
use super::secrets_input::PassphraseArgs;
use super::source_args::{SourceArgs, warn_all};
use super::store::Store;
use super::stored::Loaded;

/// `kubeseal keys restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A backup bundle, an upstream plaintext key List, or PEM private keys (`-` for stdin).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// age identity file or SSH private key that opens the bundle; repeatable.
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    pub identities: Vec<PathBuf>,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Show what would be imported, change nothing.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub dry_run: bool,
    #[command(flatten)]
    pub source: SourceArgs,
}

pub(super) fn restore(args: &RestoreArgs) -> Result<()> {
    let data = crate::files::read_path_or_stdin(
        &args.file,
        "(reading the keys to restore from standard input; end with Ctrl-D)",
    )?;
    let unlock = Unlock {
        identities: args.identities.clone(),
        passphrase: args.passphrase.clone(),
    };
    let mut items = super::bundle::read_any(&data, &unlock)
        .with_context(|| format!("{}", args.file.display()))?;
    // The key that seals first: a keyring names the first key it gets `tls`, and `tls.crt`
    // must not end up being a compromised or an old key.
    items.sort_by_key(|item| {
        (
            item.compromised,
            std::cmp::Reverse(item.certificate.not_before()),
        )
    });
    drop(data);
    let store = args.source.store()?;
    let existing = match &store {
        Store::Dir { dir, .. } if !dir.exists() => Loaded::default(),
        _ => store.load()?,
    };
    warn_all(&existing);
    let (mut imported, mut skipped) = (0, 0);
    let verb = if args.dry_run {
        "would import"
    } else {
        "imported"
    };
    for item in &items {
        if let Some(present) = existing
            .keys
            .iter()
            .find(|k| k.fingerprint() == item.key.fingerprint())
        {
            println!(
                "skip {} (already present as {})",
                item.key.fingerprint(),
                present.id()
            );
            skipped += 1;
            continue;
        }
        let id = if args.dry_run {
            match &store {
                Store::Dir { .. } if existing.keys.is_empty() && imported == 0 => {
                    super::keyring_dir::FIRST_KEY_STEM.to_owned()
                }
                _ => item.name.clone().unwrap_or_else(|| "a new key".into()),
            }
        } else {
            store
                .add(item)
                .with_context(|| format!("importing {}", item.key.fingerprint()))?
        };
        println!(
            "{verb} {} as {id}{}{}",
            item.key.fingerprint(),
            if item.compromised {
                " (compromised)"
            } else {
                ""
            },
            if item.certificate_generated {
                " (new self-signed certificate: the input had none)"
            } else {
                ""
            }
        );
        imported += 1;
    }
    eprintln!(
        "{verb} {imported} key(s) into {}, skipped {skipped} already present",
        store.describe()
    );
    Ok(())
}
