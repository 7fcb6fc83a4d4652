//! `kubeseal reencrypt PATH…`: re-seal every SealedSecret file under the paths with the
//! current certificate, in place. Offline: the old keys come from keyrings, key files or
//! backup bundles. Files already sealed entirely with the current key, and files that are not
//! SealedSecrets, are left byte-identical. Each file is replaced atomically; a file that fails
//! stays as it was and the others are still done.

use std::collections::BTreeMap;
use std::fs;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use seal::{
    Certificate, Format, Keyring, ManifestError, SealedSecret, SecretBytes, read_sealed_secrets,
    write_documents,
};

use super::bundle::list_document;
use super::sources::{KeySourceArgs, load_keyring};
use crate::files::{FileMode, Overwrite, write_atomically};

/// `kubeseal reencrypt`.
#[derive(Debug, clap::Args)]
pub struct ReencryptArgs {
    /// SealedSecret files, or directories searched recursively for *.yaml, *.yml and *.json.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub keys: KeySourceArgs,
    /// Certificate to seal with (default: the keyring's sealing key).
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// Files processed in parallel (default: number of CPUs).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Do not record the new key's fingerprint in the sealed-with annotation.
    #[arg(long = "no-sealed-with")]
    pub no_sealed_with: bool,
    /// Take the values from the escrow copies, opened with -i IDENTITY, instead of private
    /// keys: re-seals for a cluster whose old keys are lost (needs --cert). Objects whose
    /// escrow copy is missing or stale fail; their files are left unchanged.
    #[arg(long = "from-escrow", requires = "cert")]
    pub from_escrow: bool,
    /// Give every SealedSecret a fresh escrow copy encrypted to this recipient (age1…, an SSH
    /// public key, or a file of them), replacing its copy: how an existing repository adopts
    /// escrow. Repeatable or comma-separated. Files whose copy is current and already
    /// encrypted to these recipients are left as they are when nothing else changes.
    #[arg(
        long = "escrow-recipient",
        value_name = "RECIPIENT|FILE",
        value_delimiter = ','
    )]
    pub escrow_recipient: Vec<String>,
}

/// Where the values to re-seal come from.
enum Source<'a> {
    /// Private keys; `current` holds the sealing key, if among them, to skip files already
    /// sealed with it.
    Keys {
        keyring: &'a Keyring,
        current: &'a Keyring,
    },
    /// Escrow copies.
    Escrow(&'a [Box<dyn age::Identity + Send + Sync>]),
}

/// What happened to one file.
#[derive(Debug)]
enum Outcome {
    Changed(usize),
    Current,
    NotSealed,
    Failed(String),
}

/// Runs `kubeseal reencrypt`.
pub fn run_reencrypt(args: &ReencryptArgs) -> Result<()> {
    if args.from_escrow {
        if args.keys.identities.is_empty() {
            bail!(
                "--from-escrow needs -i IDENTITY: the age identity or SSH key the escrow copies are encrypted to"
            );
        }
        crate::escrow::warn_if_shared(&args.keys.identities);
        let identities = super::secrets_input::identities(&args.keys.identities)?;
        let Some(path) = &args.cert else {
            bail!("--from-escrow needs --cert FILE: the new cluster's certificate");
        };
        let cert = crate::certs::certificate_file(path)?;
        return run_files(args, &Source::Escrow(&identities), &cert);
    }
    let (keyring, sealing) = load_keyring(&args.keys.sources())?;
    if keyring.is_empty() {
        bail!("no private keys: give --keyring DIR or --key FILE (a key, a backup List or bundle)");
    }
    let cert = match &args.cert {
        Some(path) => crate::certs::certificate_file(path)?,
        None => {
            let cert = sealing.context(
                "no certificate to seal with: give --cert FILE, or a --keyring with an active key",
            )?;
            crate::certs::check_expiry(
                &cert,
                "the keyring's sealing certificate",
                crate::certs::Expired::Refuse,
            )?;
            cert
        }
    };
    let mut current = Keyring::new();
    if let Some(entry) = keyring.get(cert.public_key().fingerprint()) {
        let copy = entry.key().duplicate()?;
        current.insert(copy, None, SystemTime::UNIX_EPOCH);
    }
    let source = Source::Keys {
        keyring: &keyring,
        current: &current,
    };
    run_files(args, &source, &cert)
}

/// Re-seals every file under the paths from `source`, several at once; reports each.
fn run_files(args: &ReencryptArgs, source: &Source<'_>, cert: &Certificate) -> Result<()> {
    let recipients =
        crate::escrow::resolve(&args.escrow_recipient, args.escrow_recipient.is_empty())?;
    let mut files = Vec::new();
    for path in &args.paths {
        collect(path, &mut files)?;
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .clamp(1, 64)
        .min(files.len().max(1));
    let outcomes: Mutex<Vec<Option<Outcome>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let progress = std::io::stderr().is_terminal();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let outcome = process(path, source, cert, &recipients, !args.no_sealed_with)
                        .unwrap_or_else(|e| Outcome::Failed(format!("{e:#}")));
                    outcomes
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(outcome);
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if progress {
                        let mut err = std::io::stderr().lock();
                        let _ = write!(err, "\rreencrypt: {n}/{} files", files.len());
                        let _ = err.flush();
                    }
                }
            });
        }
    });
    if progress && !files.is_empty() {
        eprintln!();
    }
    let outcomes = outcomes
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (mut changed, mut current_n, mut skipped, mut failed, mut objects) = (0, 0, 0, 0, 0);
    for (path, outcome) in files.iter().zip(outcomes) {
        match outcome.unwrap_or_else(|| Outcome::Failed("not processed".into())) {
            Outcome::Changed(n) => {
                changed += 1;
                objects += n;
                println!("re-encrypted {}", path.display());
            }
            Outcome::Current => current_n += 1,
            Outcome::NotSealed => skipped += 1,
            Outcome::Failed(reason) => {
                failed += 1;
                eprintln!("FAILED {}: {reason}", path.display());
            }
        }
    }
    eprintln!(
        "reencrypt: {changed} file(s) changed ({objects} SealedSecrets), {} skipped ({current_n} already sealed with {}, {skipped} not SealedSecrets), {failed} failed",
        current_n + skipped,
        cert.public_key().fingerprint()
    );
    if failed > 0 {
        bail!("{failed} file(s) could not be re-encrypted (left unchanged)");
    }
    Ok(())
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_dir() {
        out.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<_> = fs::read_dir(path)
        .with_context(|| format!("cannot read directory {}", path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot read directory {}", path.display()))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let file_type = entry
            .file_type()
            .with_context(|| format!("cannot read {}", entry.path().display()))?;
        if file_type.is_symlink() {
            continue;
        }
        if file_type.is_dir() {
            collect(&entry.path(), out)?;
        } else if file_type.is_file()
            && Path::new(&*name)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "yaml" | "yml" | "json"))
        {
            out.push(entry.path());
        }
    }
    Ok(())
}

fn process(
    path: &Path,
    source: &Source<'_>,
    cert: &Certificate,
    recipients: &[crate::escrow::Recipient],
    record_sealed_with: bool,
) -> Result<Outcome> {
    let bytes = crate::files::read_file(path)?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(Outcome::NotSealed);
    };
    if !text.contains("SealedSecret") {
        return Ok(Outcome::NotSealed);
    }
    let sealed = match read_sealed_secrets(text) {
        Ok(s) => s,
        Err(ManifestError::WrongKind { found, .. }) => {
            return Ok(Outcome::Failed(format!(
                "holds a {found} beside SealedSecrets: not rewritten"
            )));
        }
        Err(e) => return Ok(Outcome::Failed(e.to_string())),
    };
    if sealed.is_empty() {
        return Ok(Outcome::NotSealed);
    }
    if let Source::Keys { current, .. } = source
        && !current.is_empty()
        && sealed.iter().all(|s| seal::verify(s, current).is_ok())
        && sealed.iter().all(|s| escrowed_to(s, recipients))
    {
        return Ok(Outcome::Current);
    }
    let mut out: Vec<SealedSecret> = Vec::with_capacity(sealed.len());
    for s in &sealed {
        let at = || format!("{}/{}", s.metadata.namespace(), s.metadata.name());
        let (mut resealed, values) = match source {
            Source::Keys { keyring, .. } => {
                let resealed = seal::reencrypt(s, keyring, cert.public_key())
                    .map_err(|e| anyhow!("{}: {e}", at()))?;
                let values = if recipients.is_empty() {
                    BTreeMap::new()
                } else {
                    open_items(s, keyring).map_err(|e| anyhow!("{}: {e:#}", at()))?
                };
                (resealed, values)
            }
            Source::Escrow(identities) => {
                reseal_from_escrow(s, identities, cert).map_err(|e| anyhow!("{}: {e:#}", at()))?
            }
        };
        // Only the ciphertexts change: keep the file's metadata and status as they were.
        resealed.metadata = s.metadata.clone();
        crate::sealed_with::set(
            &mut resealed.metadata.annotations,
            cert.public_key().fingerprint().as_str(),
            record_sealed_with,
        );
        // The values are the same, so a copy current for the old ciphertexts is for the new.
        crate::escrow::rebind(
            &mut resealed.metadata.annotations,
            &s.spec.encrypted_data,
            &resealed.spec.encrypted_data,
        );
        if !recipients.is_empty() {
            let items: BTreeMap<String, &[u8]> = values
                .iter()
                .map(|(k, v)| (k.clone(), v.expose()))
                .collect();
            crate::escrow::escrow_all(
                &mut resealed.metadata.annotations,
                &items,
                &resealed.spec.encrypted_data,
                recipients,
            )
            .map_err(|e| anyhow!("{}: {e:#}", at()))?;
        }
        resealed.status = s.status.clone();
        out.push(resealed);
    }
    let format = Format::detect(text);
    let mut rendered = if is_list(text, format) {
        list_document(&out, format).to_string()
    } else {
        write_documents(&out, format).to_string()
    };
    if format == Format::Yaml
        && !text.trim_start().starts_with("---")
        && let Some(rest) = rendered.strip_prefix("---\n")
    {
        rendered = rest.to_owned();
    }
    write_atomically(
        path,
        crate::files::with_line_endings_of(text, &rendered).as_bytes(),
        FileMode::KeepExisting,
        Overwrite::Replace,
    )?;
    Ok(Outcome::Changed(out.len()))
}

/// `sealed` with every item sealed anew from its escrow copy, for the scope of its outer
/// metadata; the template is kept. Refused when the copy is missing or stale: re-sealing old
/// values over newer ones would lose them silently.
fn reseal_from_escrow(
    sealed: &SealedSecret,
    identities: &[Box<dyn age::Identity + Send + Sync>],
    cert: &Certificate,
) -> Result<(SealedSecret, BTreeMap<String, SecretBytes>)> {
    if sealed.spec.data.as_deref().is_some_and(|d| !d.is_empty()) {
        bail!("the deprecated spec.data format has no escrow copy");
    }
    match crate::escrow::status(&sealed.metadata.annotations, &sealed.spec.encrypted_data)? {
        crate::escrow::Status::Current => {}
        crate::escrow::Status::Missing => {
            bail!("no escrow copy: it cannot be recovered without its old key")
        }
        crate::escrow::Status::Stale(why) => {
            bail!("the escrow copy is stale ({why}): not re-sealed")
        }
    }
    let values = crate::escrow::open(sealed, identities)?;
    let label = seal::label_of(sealed);
    let mut out = sealed.clone();
    out.status = None;
    out.spec.encrypted_data = values
        .iter()
        .map(|(k, v)| {
            let bytes = seal::seal_value(cert.public_key(), &label, v.expose());
            (
                k.clone(),
                base64::engine::general_purpose::STANDARD.encode(bytes),
            )
        })
        .collect();
    Ok((out, values))
}

/// The plaintext of every `encryptedData` item (for a new escrow copy).
fn open_items(sealed: &SealedSecret, keyring: &Keyring) -> Result<BTreeMap<String, SecretBytes>> {
    if sealed.spec.data.as_deref().is_some_and(|d| !d.is_empty()) {
        bail!(
            "the deprecated spec.data format cannot be escrowed: re-encrypt it without --escrow-recipient first"
        );
    }
    let label = seal::label_of(sealed);
    sealed
        .spec
        .encrypted_data
        .iter()
        .map(|(k, v)| {
            let bytes = SecretBytes::decode_base64(v)
                .ok_or_else(|| anyhow!("spec.encryptedData.{k} is not base64"))?;
            let (value, _) = keyring
                .open_value(&label, bytes.expose(), None)
                .map_err(|e| anyhow!("spec.encryptedData.{k}: {e}"))?;
            Ok((k.clone(), value))
        })
        .collect()
}

/// Whether `sealed` needs nothing for escrow: no recipients asked for, or a current copy
/// already encrypted to all of them.
fn escrowed_to(sealed: &SealedSecret, recipients: &[crate::escrow::Recipient]) -> bool {
    if recipients.is_empty() {
        return true;
    }
    let current = crate::escrow::status(&sealed.metadata.annotations, &sealed.spec.encrypted_data)
        == Ok(crate::escrow::Status::Current);
    let recorded = crate::escrow::recipients_of(&sealed.metadata.annotations).unwrap_or_default();
    current && recipients.iter().all(|r| recorded.contains(&r.id))
}

fn is_list(text: &str, format: Format) -> bool {
    match format {
        Format::Json => serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .is_some_and(|v| v.get("kind").and_then(|k| k.as_str()) == Some("List")),
        Format::Yaml => text.lines().any(|l| l.trim_end() == "kind: List"),
    }
}
