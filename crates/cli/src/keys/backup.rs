//! `kubeseal keys backup`: every key into one age-encrypted, upstream-compatible key List.

use std::fs;
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Result, anyhow, bail};
use seal::{Format, go_flags};
use zeroize::Zeroizing;

use super::bundle::Protection;
use super::secrets_input::PassphraseArgs;
use super::source_args::{SourceArgs, warn_all};
use super::stored::{BACKED_UP_AT_ANNOTATION, format_time};
use crate::files::{FileMode, Overwrite, Sink, is_pipe_or_device, write_atomically};

/// `kubeseal keys backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The bundle to write (mode 0600; never partial; refused if it exists, unless --force), or
    /// `-` for standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Encrypt to this age recipient (age1…) or SSH public key; repeatable.
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,
    /// Encrypt to every recipient listed in FILE (one per line); repeatable.
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Write the key List in PLAINTEXT, like upstream's `kubectl get secret … -o yaml`.
    #[arg(long, conflicts_with_all = ["recipients", "recipients_files", "passphrase", "passphrase_file", "binary"], num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub unencrypted: bool,
    /// Write binary age instead of ASCII armor.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub binary: bool,
    /// Replace an existing output file.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub force: bool,
    #[command(flatten)]
    pub source: SourceArgs,
}

pub(super) fn backup(args: &BackupArgs) -> Result<()> {
    let has_recipients = !args.recipients.is_empty() || !args.recipients_files.is_empty();
    // Usage errors (exit 2), as the command line's own.
    if has_recipients && args.passphrase.requested() {
        return Err(crate::modes::usage(
            "choose either recipients or a passphrase, not both",
        ));
    }
    if !has_recipients && !args.passphrase.requested() && !args.unencrypted {
        return Err(crate::modes::usage(
            "choose how to protect the backup: --recipient/--recipients-file, --passphrase/--passphrase-file, or (plaintext) --unencrypted",
        ));
    }
    let overwrite = if args.force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    let to_stdout = args.output.as_os_str() == "-";
    if overwrite == Overwrite::Refuse
        && !to_stdout
        && !is_pipe_or_device(&args.output)
        && fs::symlink_metadata(&args.output).is_ok()
    {
        bail!(
            "{} already exists: refusing to overwrite it (pass --force to replace it)",
            args.output.display()
        );
    }
    let protection = if has_recipients {
        Some(Protection::Recipients(super::secrets_input::recipients(
            &args.recipients,
            &args.recipients_files,
        )?))
    } else if args.passphrase.requested() {
        Some(Protection::Passphrase(args.passphrase.get(true)?))
    } else {
        None
    };
    let store = args.source.store()?;
    let loaded = store.load()?;
    warn_all(&loaded);
    if loaded.keys.is_empty() {
        bail!(
            "no sealing keys in {}: nothing to back up",
            store.describe()
        );
    }
    let at = format_time(SystemTime::now());
    let items: Vec<seal::Secret> = loaded
        .keys
        .iter()
        .map(|k| {
            let mut secret = k.secret.clone();
            secret
                .metadata
                .annotations
                .insert(BACKED_UP_AT_ANNOTATION.into(), at.clone());
            secret
        })
        .collect();
    let plaintext = super::bundle::list_document(&items, Format::Yaml);
    drop(items);
    let bytes: Zeroizing<Vec<u8>> = match &protection {
        Some(p) => Zeroizing::new(super::bundle::encrypt(
            plaintext.as_bytes(),
            p,
            !args.binary,
        )?),
        None => {
            eprintln!(
                "WARNING: writing {} private key(s) UNENCRYPTED to {}. Anyone who can read this file can decrypt every SealedSecret sealed with them.",
                loaded.keys.len(),
                args.output.display()
            );
            Zeroizing::new(plaintext.as_bytes().to_vec())
        }
    };
    if to_stdout {
        // Not the quiet end a closed pipe is elsewhere: a backup that did not arrive failed.
        Sink::Stdout
            .write(&bytes)
            .map_err(|e| anyhow!("the backup did not reach standard output: {e:#}"))?;
    } else {
        write_atomically(&args.output, &bytes, FileMode::Private, overwrite)?;
    }
    let mut marked = 0;
    for key in &loaded.keys {
        match store.mark_backed_up(key, &at) {
            Ok(()) => marked += 1,
            Err(e) => eprintln!(
                "warning: backup written, but {} could not be marked as backed up: {e:#}",
                key.fingerprint()
            ),
        }
    }
    let how = match &protection {
        Some(Protection::Recipients(r)) => format!("encrypted to {} recipient(s)", r.len()),
        Some(Protection::Passphrase(_)) => "encrypted with a passphrase".into(),
        None => "UNENCRYPTED".into(),
    };
    let target = if to_stdout {
        "standard output".to_owned()
    } else {
        args.output.display().to_string()
    };
    eprintln!(
        "backed up {} key(s) from {} to {target} ({how}); {marked} marked as backed up at {at}",
        loaded.keys.len(),
        store.describe(),
    );
    Ok(())
}
