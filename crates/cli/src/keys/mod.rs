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

mod bundle;
mod cluster;
mod keyring_dir;
mod reencrypt;
mod secrets_input;
mod sources;
mod store;
mod stored;

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow, bail};
use seal::{Certificate, Format, PrivateKey, go_flags, write_documents};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use bundle::Unlock;
pub use reencrypt::{ReencryptArgs, run_reencrypt};
pub use secrets_input::{PassphraseArgs, identities};
pub use sources::{KeySources, load_keyring};

use crate::files::{FileMode, Overwrite, write_atomically};
use bundle::Protection;
use cluster::{ClusterArgs, ClusterStore};
use seal::key_record::{RENEWAL_REQUESTED_AT_ANNOTATION, whole_seconds};
use store::Store;
use stored::{BACKED_UP_AT_ANNOTATION, Loaded, StoredKey, format_time};

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
    fn store(&self) -> Result<Store> {
        Ok(match &self.keyring {
            Some(dir) => Store::Dir {
                dir: dir.clone(),
                namespace: self.cluster.controller_namespace.clone(),
            },
            None => Store::Cluster(ClusterStore::connect(&self.cluster)?),
        })
    }
}

fn warn_all(loaded: &Loaded) {
    for w in &loaded.warnings {
        eprintln!("warning: skipped unreadable key: {w}");
    }
}

// ---------------------------------------------------------------------------------- list

/// `kubeseal keys list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Output format: table, json or yaml.
    #[arg(short = 'o', long = "output", default_value = "table", value_parser = ["table", "json", "yaml"])]
    pub output: String,
    /// Also count, per key, the SealedSecrets under these files or directories that its
    /// certificate sealed (from their sealed-with annotations).
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub usage: Vec<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// One row of `keys list` (public facts only).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KeyRow {
    /// Secret name, or file stem in a keyring.
    pub name: String,
    /// `SHA256:…`.
    pub fingerprint: String,
    /// Modulus size.
    pub bits: usize,
    /// When the key was stored.
    pub created: Option<String>,
    /// Certificate validity start.
    pub not_before: Option<String>,
    /// Certificate validity end.
    pub not_after: Option<String>,
    /// Whether the certificate has expired (kubeseal refuses to seal with it).
    pub expired: bool,
    /// `active` or `compromised`.
    pub status: String,
    /// Whether this key seals new secrets.
    pub sealing: bool,
    /// Whether a backup was recorded since the key was stored.
    pub backed_up: bool,
    /// When, as recorded.
    pub backed_up_at: Option<String>,
    /// With `--usage`: `file:line` of each SealedSecret this key sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<Vec<String>>,
}

fn rows(loaded: &Loaded) -> Vec<KeyRow> {
    let sealing = loaded.sealing().map(|k| k.fingerprint().clone());
    let now = SystemTime::now();
    loaded
        .keys
        .iter()
        .map(|k| KeyRow {
            name: k.id().to_owned(),
            fingerprint: k.fingerprint().to_string(),
            bits: k.record.key.public_key().bits(),
            created: k.record.created.map(format_time),
            not_before: k
                .record
                .certificate
                .as_ref()
                .map(|c| format_time(c.not_before())),
            not_after: k
                .record
                .certificate
                .as_ref()
                .map(|c| format_time(c.not_after())),
            expired: k
                .record
                .certificate
                .as_ref()
                .is_some_and(|c| c.not_after() < now),
            status: k.record.status.label().into(),
            sealing: sealing.as_ref() == Some(k.fingerprint()),
            backed_up: k.backed_up(),
            backed_up_at: k.record.backed_up_at.clone(),
            used_by: None,
        })
        .collect()
}

fn list(args: &ListArgs) -> Result<()> {
    let store = args.source.store()?;
    let loaded = store.load()?;
    warn_all(&loaded);
    let mut rows = rows(&loaded);
    let usage = (!args.usage.is_empty()).then(|| crate::lint::usage::scan(&args.usage));
    if let Some(usage) = &usage {
        for row in &mut rows {
            row.used_by = Some(
                usage
                    .by_fingerprint
                    .get(&row.fingerprint)
                    .cloned()
                    .unwrap_or_default(),
            );
        }
    }
    let text = match args.output.as_str() {
        "json" => serde_json::to_string_pretty(&rows).expect("rows serialize") + "\n",
        "yaml" => {
            let mut text = write_documents(std::slice::from_ref(&rows), Format::Yaml)
                .trim_start_matches("---\n")
                .to_owned();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text
        }
        _ => {
            let mut text = table(&rows, &store.describe());
            if let Some(usage) = &usage {
                let keys: Vec<_> = rows
                    .iter()
                    .map(|r| (r.name.clone(), r.fingerprint.clone(), r.sealing))
                    .collect();
                text.push_str(&crate::lint::usage::render(&keys, usage));
            }
            text
        }
    };
    io::stdout()
        .write_all(text.as_bytes())
        .context("cannot write to standard output")
}

fn table(rows: &[KeyRow], source: &str) -> String {
    if rows.is_empty() {
        return format!("no sealing keys in {source}\n");
    }
    let header = [
        "NAME",
        "FINGERPRINT",
        "BITS",
        "CREATED",
        "VALID UNTIL",
        "STATUS",
        "SEALS",
        "BACKED UP",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.fingerprint.clone(),
                r.bits.to_string(),
                r.created.clone().unwrap_or_else(|| "-".into()),
                match (&r.not_after, r.expired) {
                    (Some(t), true) => format!("{t} (expired)"),
                    (Some(t), false) => t.clone(),
                    (None, _) => "-".into(),
                },
                r.status.clone(),
                if r.sealing { "yes" } else { "" }.into(),
                match (&r.backed_up_at, r.backed_up) {
                    (Some(t), true) => t.clone(),
                    _ => "never".into(),
                },
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cols: &[&str]| {
        let mut l = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            if i + 1 == cols.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  "));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &cells {
        line(&row.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let never = rows.iter().filter(|r| !r.backed_up).count();
    if never > 0 {
        out.push_str(&format!(
            "\n{never} key(s) never backed up: run `kubeseal keys backup`\n"
        ));
    }
    out
}

// -------------------------------------------------------------------------------- backup

/// `kubeseal keys backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The bundle to write (mode 0600; never partial; refused if it exists, unless --force).
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

fn backup(args: &BackupArgs) -> Result<()> {
    let has_recipients = !args.recipients.is_empty() || !args.recipients_files.is_empty();
    if has_recipients && args.passphrase.requested() {
        bail!("choose either recipients or a passphrase, not both");
    }
    if !has_recipients && !args.passphrase.requested() && !args.unencrypted {
        bail!(
            "choose how to protect the backup: --recipient/--recipients-file, --passphrase/--passphrase-file, or (plaintext) --unencrypted"
        );
    }
    let overwrite = if args.force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    if overwrite == Overwrite::Refuse && fs::symlink_metadata(&args.output).is_ok() {
        bail!(
            "{} already exists: refusing to overwrite it (pass --force to replace it)",
            args.output.display()
        );
    }
    let protection = if has_recipients {
        Some(Protection::Recipients(secrets_input::recipients(
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
    let plaintext = bundle::list_document(&items, Format::Yaml);
    drop(items);
    let bytes: Zeroizing<Vec<u8>> = match &protection {
        Some(p) => Zeroizing::new(bundle::encrypt(plaintext.as_bytes(), p, !args.binary)?),
        None => {
            eprintln!(
                "WARNING: writing {} private key(s) UNENCRYPTED to {}. Anyone who can read this file can decrypt every SealedSecret sealed with them.",
                loaded.keys.len(),
                args.output.display()
            );
            Zeroizing::new(plaintext.as_bytes().to_vec())
        }
    };
    write_atomically(&args.output, &bytes, FileMode::Private, overwrite)?;
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
    eprintln!(
        "backed up {} key(s) from {} to {} ({how}); {marked} marked as backed up at {at}",
        loaded.keys.len(),
        store.describe(),
        args.output.display()
    );
    Ok(())
}

// ------------------------------------------------------------------------------- restore

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

fn restore(args: &RestoreArgs) -> Result<()> {
    let data = crate::files::read_path_or_stdin(
        &args.file,
        "(reading the keys to restore from standard input; end with Ctrl-D)",
    )?;
    let unlock = Unlock {
        identities: args.identities.clone(),
        passphrase: args.passphrase.clone(),
    };
    let items =
        bundle::read_any(&data, &unlock).with_context(|| format!("{}", args.file.display()))?;
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
            item.name.clone().unwrap_or_else(|| "a new key".into())
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

// -------------------------------------------------------------------------------- rotate

/// `kubeseal keys rotate`.
#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    /// How long to wait for the controller's new key (e.g. 90s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_timeout, conflicts_with = "keyring")]
    pub timeout: Duration,
    /// Also write the new certificate to FILE.
    #[arg(long, value_name = "FILE")]
    pub cert_out: Option<PathBuf>,
    /// Key size for a keyring key.
    #[arg(long, default_value_t = seal::keys::DEFAULT_KEY_BITS)]
    pub key_size: usize,
    /// Common name of a keyring key's certificate (default: empty, as upstream).
    #[arg(long, default_value = "")]
    pub my_cn: String,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Whole seconds or a Go duration, as `--request-timeout`; zero would never wait.
fn parse_timeout(text: &str) -> std::result::Result<Duration, go_flags::GoFlagError> {
    let timeout = go_flags::parse_kubectl_timeout(text)?;
    if timeout.is_zero() {
        return Err(go_flags::GoFlagError::Zero(text.to_owned()));
    }
    Ok(timeout)
}

/// Asks the controller for a new key through the renewal annotation and waits for it.
fn rotate_in_cluster(store: &ClusterStore, timeout: Duration) -> Result<Certificate> {
    let namespace = store.namespace().to_owned();
    let loaded = store.load()?;
    warn_all(&loaded);
    let current = loaded.sealing().with_context(|| {
        format!(
            "cannot rotate keys: no active sealing key in namespace {namespace} to put the request on (the controller makes the first key when it starts)"
        )
    })?;
    let before: Vec<_> = loaded
        .keys
        .iter()
        .map(|k| k.fingerprint().clone())
        .collect();
    // The controller compares the request with its newest key at whole seconds: ask for a
    // time after the current key was made, or nothing would happen.
    let newest = current
        .record
        .certificate
        .as_ref()
        .map(Certificate::not_before)
        .into_iter()
        .chain(current.record.created)
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut at = whole_seconds(SystemTime::now());
    if at <= newest {
        let next = whole_seconds(newest) + Duration::from_secs(1);
        if let Ok(wait) = next.duration_since(SystemTime::now()) {
            std::thread::sleep(wait.min(Duration::from_secs(2)));
        }
        at = whole_seconds(SystemTime::now()).max(next);
    }
    let at = format_time(at);
    store
        .annotate(current.id(), RENEWAL_REQUESTED_AT_ANNOTATION, &at)
        .map_err(|e| anyhow!("cannot request a new key: {e:#}"))?;
    eprintln!(
        "requested a new key at {at} on Secret {namespace}/{}; waiting for the controller…",
        current.id()
    );
    let deadline = Instant::now() + timeout;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let loaded = store.load()?;
        if let Some(cert) = loaded
            .keys
            .iter()
            .filter(|k| k.record.can_seal() && !before.contains(k.fingerprint()))
            .find_map(|k| k.record.certificate.clone())
        {
            return Ok(cert);
        }
        if Instant::now() >= deadline {
            bail!(
                "no new key appeared in namespace {namespace} within {}s: is the controller running there? (the request stays recorded on Secret {namespace}/{}; the controller acts on it when it sees it)",
                timeout.as_secs(),
                current.id()
            );
        }
    }
}

fn rotate(args: &RotateArgs) -> Result<()> {
    let cert = if let Some(dir) = &args.source.keyring {
        let (cert, stem) = new_keyring_key(dir, args.key_size, &args.my_cn)?;
        eprintln!(
            "created key {} in {}",
            cert.public_key().fingerprint(),
            dir.join(format!("{stem}.key")).display()
        );
        cert
    } else {
        let store = ClusterStore::connect(&args.source.cluster)?;
        rotate_in_cluster(&store, args.timeout)?
    };
    if let Some(path) = &args.cert_out {
        write_atomically(
            path,
            cert.to_pem().as_bytes(),
            FileMode::Public,
            Overwrite::Replace,
        )?;
    }
    println!("{}", cert.public_key().fingerprint());
    eprintln!(
        "new sealing key {}: new SealedSecrets are sealed with it. It is not backed up yet: run `kubeseal keys backup`.",
        cert.public_key().fingerprint()
    );
    Ok(())
}

/// A new key in a keyring directory: its certificate and file stem.
fn new_keyring_key(dir: &std::path::Path, bits: usize, cn: &str) -> Result<(Certificate, String)> {
    let key = PrivateKey::generate(bits)?;
    let cert = Certificate::self_signed(&key, cn, seal::keys::DEFAULT_CERT_VALIDITY)?;
    let stem = keyring_dir::add(dir, &key, &cert, None, false, None)?;
    Ok((cert, stem))
}

// ---------------------------------------------------------------------------- compromise

/// `kubeseal keys compromise`.
#[derive(Debug, clap::Args)]
pub struct CompromiseArgs {
    /// Fingerprint of the key (`SHA256:…`, or a unique prefix), as `keys list` shows it.
    #[arg(value_name = "FINGERPRINT")]
    pub fingerprint: String,
    #[command(flatten)]
    pub source: SourceArgs,
}

fn compromise(args: &CompromiseArgs) -> Result<()> {
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

// ---------------------------------------------------------------------------------- init

/// `kubeseal keys init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The keyring directory (created, mode 0700, if missing).
    #[arg(long, value_name = "DIR")]
    pub keyring: PathBuf,
    /// RSA key size: 2048, 3072 or 4096.
    #[arg(long, default_value_t = seal::keys::DEFAULT_KEY_BITS)]
    pub key_size: usize,
    /// Common name of the certificate (default: empty, as upstream).
    #[arg(long, default_value = "")]
    pub my_cn: String,
}

fn init(args: &InitArgs) -> Result<()> {
    let (cert, stem) = new_keyring_key(&args.keyring, args.key_size, &args.my_cn)?;
    println!("{}", cert.public_key().fingerprint());
    eprintln!(
        "created {} (private key, mode 0600) and {}",
        args.keyring.join(format!("{stem}.key")).display(),
        args.keyring.join(format!("{stem}.crt")).display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_timeout("5"), Ok(Duration::from_secs(5)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("soon").is_err());
    }
}
