//! The modes of bare `kubeseal`, in upstream's precedence order (see [`run`]).

use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use seal::{
    Format, Keyring, Scope, SealOptions, SealedSecret, Secret, UnsealOptions, read_sealed_secrets,
    read_secrets, reencrypt, seal_secret, seal_value, unseal, verify, write_documents,
};
use zeroize::Zeroizing;

use crate::certs;
use crate::cli::Cli;
use crate::escrow::{self, Recipient};
use crate::files::{self, Input, Sink};
use crate::keys::{KeySources, PassphraseArgs, Unlock, load_keyring};
use crate::kubeconfig;
use crate::online::Controller;
use crate::sealed_with;

const TTY_MANIFEST_HINT: &str = "(tty detected: expecting json/yaml k8s resource in stdin)";
const TTY_RAW_HINT: &str = "(tty detected: expecting a secret to encrypt in stdin)";

/// A mistake in how the flags are combined: exits with status 2, like clap's own errors.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

pub(crate) fn usage(message: impl Into<String>) -> anyhow::Error {
    Usage(message.into()).into()
}

/// Runs bare `kubeseal` in upstream's order: `--from-file` check, `--recovery-unseal`,
/// `--validate`, `--re-encrypt`, certificate, `--fetch-cert`, `--merge-into`, `--raw`, seal.
pub fn run(cli: &Cli) -> Result<()> {
    if !cli.from_file.is_empty() && !cli.raw {
        return Err(usage("--from-file requires --raw"));
    }
    let offline_keys = !key_sources(cli).is_empty();
    if cli.recovery_unseal {
        return recovery_unseal(cli);
    }
    if offline_keys && !cli.validate && !cli.re_encrypt && std::io::stderr().is_terminal() {
        eprintln!(
            "warning: ignoring --recovery-private-key/--keyring because unseal command not chosen with --recovery-unseal"
        );
    }
    if cli.validate {
        return validate(cli);
    }
    if cli.re_encrypt {
        return re_encrypt(cli);
    }
    if cli.fetch_cert {
        let (bytes, _) = certs::cert_bytes(cli)?;
        return output_sink(cli).write(&bytes);
    }
    // Fail on a bad -o or escrow recipient before any network or crypto work.
    let recipients = sealing_recipients(cli)?;
    let cert = certs::certificate(cli)?;
    let sealed = if let Some(target) = &cli.merge_into {
        merge_into(cli, target, &cert, &recipients)
    } else if cli.raw {
        raw(cli, &cert)
    } else {
        seal_mode(cli, &cert, &recipients)
    };
    certs::warn_after(&cert, sealed)
}

/// The escrow recipients of a sealing run, after checking `-o`; none for `--raw` (with a
/// warning when some were asked for).
pub(crate) fn sealing_recipients(cli: &Cli) -> Result<Vec<Recipient>> {
    if cli.raw {
        if !cli.escrow_recipient.is_empty() && !cli.no_escrow {
            eprintln!("warning: --raw writes a bare value: no escrow copy is made");
        }
        return Ok(Vec::new());
    }
    output_format(cli, None, Format::Json)?;
    escrow::resolve(&cli.escrow_recipient, cli.no_escrow)
}

pub(crate) fn output_sink(cli: &Cli) -> Sink {
    match &cli.sealed_secret_file {
        Some(path) => Sink::File {
            path: path.clone(),
            private: false,
        },
        None => Sink::Stdout,
    }
}

/// `-o` if given (either case); else by the extension of `target` (`-w`, or the file being
/// rewritten): `.yaml`/`.yml` → YAML, `.json` → JSON; else `fallback` (the input's format).
pub(crate) fn output_format(cli: &Cli, target: Option<&Path>, fallback: Format) -> Result<Format> {
    if let Some(name) = &cli.format {
        return match name.to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "yaml" => Ok(Format::Yaml),
            _ => Err(usage(format!("unsupported output format: {name}"))),
        };
    }
    let target = target.or(cli.sealed_secret_file.as_deref());
    let extension = target
        .and_then(Path::extension)
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    Ok(match extension.as_deref() {
        Some("yaml" | "yml") => Format::Yaml,
        Some("json") => Format::Json,
        _ => fallback,
    })
}

/// Names document `index` of `total` read from `source`, for messages.
fn locate(source: &str, index: usize, total: usize, name: &str) -> String {
    match (total, name.is_empty()) {
        (1, true) => source.to_owned(),
        (1, false) => format!("{source} ({name})"),
        (_, true) => format!("{source}, document {} of {total}", index + 1),
        (_, false) => format!("{source}, document {} of {total} ({name})", index + 1),
    }
}

pub(crate) fn read_secret_input(cli: &Cli) -> Result<(Input, Vec<Secret>)> {
    let input = files::read_input(cli.secret_file.as_deref(), TTY_MANIFEST_HINT)?;
    let secrets = read_secrets(&input.text).map_err(|e| anyhow!("{}: {e}", input.source))?;
    if secrets.is_empty() {
        bail!("no secrets found. Ensure the input is valid and UTF-8 encoded");
    }
    Ok((input, secrets))
}

fn read_sealed_input(cli: &Cli) -> Result<(Input, Vec<SealedSecret>)> {
    let input = files::read_input(cli.secret_file.as_deref(), TTY_MANIFEST_HINT)?;
    let sealed = read_sealed_secrets(&input.text).map_err(|e| anyhow!("{}: {e}", input.source))?;
    if sealed.is_empty() {
        bail!(
            "{}: no sealed secrets found. Ensure the input is valid and UTF-8 encoded",
            input.source
        );
    }
    Ok((input, sealed))
}

fn explicit_namespace(cli: &Cli) -> Option<String> {
    cli.namespace.clone().filter(|ns| !ns.is_empty())
}

/// Seals each Secret of `secrets`, rewriting scope annotations to `scope` and names to `name`,
/// with an escrow copy to `recipients` (when there are any).
pub(crate) fn seal_all(
    cli: &Cli,
    source: &str,
    secrets: &[Secret],
    cert: &seal::Certificate,
    scope: Option<Scope>,
    name: Option<String>,
    recipients: &[Recipient],
) -> Result<Vec<SealedSecret>> {
    let namespace = explicit_namespace(cli);
    // The kubeconfig is read only when some Secret needs its namespace.
    let needs_default =
        namespace.is_none() && secrets.iter().any(|s| s.metadata.namespace().is_empty());
    let (default_namespace, kubeconfig_problem) = if needs_default {
        match kubeconfig::namespace(cli.namespace.as_deref(), &cli.kube) {
            Ok(ns) => (Some(ns), None),
            Err(e) => (None, Some(e)),
        }
    } else {
        (None, None)
    };
    let options = SealOptions {
        scope,
        name,
        namespace,
        default_namespace,
        allow_empty_data: cli.allow_empty_data,
    };
    let total = secrets.len();
    secrets
        .iter()
        .enumerate()
        .map(|(i, secret)| {
            let mut sealed = seal_secret(secret, cert.public_key(), &options).map_err(|e| {
                let at = locate(source, i, total, secret.metadata.name());
                match (&e, &kubeconfig_problem) {
                    (seal::SealError::MissingNamespace, Some(problem)) => {
                        anyhow!("{at}: {e} ({problem:#})")
                    }
                    _ => anyhow!("{at}: {e}"),
                }
            })?;
            let fingerprint = cert.public_key().fingerprint().as_str();
            sealed_with::set(
                &mut sealed.metadata.annotations,
                fingerprint,
                !cli.no_sealed_with,
            );
            if !recipients.is_empty() {
                escrow::escrow_all(
                    &mut sealed.metadata.annotations,
                    &escrow::items_of(secret),
                    &sealed.spec.encrypted_data,
                    recipients,
                )
                .map_err(|e| {
                    anyhow!(
                        "{}: {e:#}",
                        locate(source, i, total, secret.metadata.name())
                    )
                })?;
            }
            Ok(sealed)
        })
        .collect()
}

pub(crate) fn default_scope(cli: &Cli) -> Option<Scope> {
    // Like upstream, only a non-default --scope rewrites the input's annotations.
    cli.scope.filter(|s| *s != Scope::Strict)
}

fn seal_mode(cli: &Cli, cert: &seal::Certificate, recipients: &[Recipient]) -> Result<()> {
    let (input, secrets) = read_secret_input(cli)?;
    let format = output_format(cli, None, Format::detect(&input.text))?;
    let sealed = seal_all(
        cli,
        &input.source,
        &secrets,
        cert,
        default_scope(cli),
        cli.name.clone().filter(|n| !n.is_empty()),
        recipients,
    )?;
    drop(secrets);
    output_sink(cli).write(write_documents(&sealed, format).as_bytes())
}

fn raw(cli: &Cli, cert: &seal::Certificate) -> Result<()> {
    let (label, value) = raw_input(cli)?;
    let encoded = seal_raw(cert, &label, &value);
    drop(value);
    output_sink(cli).write(encoded.as_bytes())
}

/// One sealed value of `--raw`, base64.
pub(crate) fn seal_raw(cert: &seal::Certificate, label: &[u8], value: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(seal_value(cert.public_key(), label, value))
}

/// The scope label and the value `--raw` seals, checked and read once.
pub(crate) fn raw_input(cli: &Cli) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>)> {
    let scope = cli.scope.unwrap_or_default();
    let mut namespace = String::new();
    let mut name = String::new();
    if scope != Scope::ClusterWide {
        namespace = kubeconfig::namespace(cli.namespace.as_deref(), &cli.kube).map_err(|e| {
            usage(format!(
                "must provide the --namespace flag with --raw and --scope {scope} ({e:#})"
            ))
        })?;
        if namespace.is_empty() {
            return Err(usage(format!(
                "must provide the --namespace flag with --raw and --scope {scope}"
            )));
        }
        if scope == Scope::Strict {
            name = cli.name.clone().unwrap_or_default();
            if name.is_empty() {
                return Err(usage(format!(
                    "must provide the --name flag with --raw and --scope {scope}"
                )));
            }
        }
    }
    let (value, warn_newline) = match cli.from_file.as_slice() {
        [] => {
            let tty = std::io::stdin().is_terminal();
            (files::read_stdin(TTY_RAW_HINT)?, tty)
        }
        [one] => {
            let path = one.split_once('=').map_or(one.as_str(), |(_, p)| p);
            (files::read_file(Path::new(path))?, true)
        }
        _ => {
            return Err(usage(
                "must provide only one --from-file when encrypting a single item with --raw",
            ));
        }
    };
    if warn_newline && value.last() == Some(&b'\n') {
        eprintln!(
            "warning: the value ends with a newline, which is sealed too; use printf '%s' or echo -n to leave it out"
        );
    }
    Ok((scope.label(&namespace, &name), value))
}

fn merge_into(
    cli: &Cli,
    target: &Path,
    cert: &seal::Certificate,
    recipients: &[Recipient],
) -> Result<()> {
    let (input, secrets) = read_secret_input(cli)?;
    let merged = merged_file(cli, target, cert, recipients, &input.source, secrets)?;
    write_merged(&merge_target(target)?, &merged)
}

/// The file `--merge-into TARGET` rewrites: the one a symlink at `TARGET` names (the link
/// stays), and only if it may be written, as upstream opens it; the rename that replaces it
/// would otherwise get around a read-only mode.
pub(crate) fn merge_target(target: &Path) -> Result<PathBuf> {
    let fail = |e: std::io::Error| {
        anyhow!(
            "cannot write {}: {}",
            target.display(),
            files::describe_io(&e)
        )
    };
    let file = std::fs::canonicalize(target).map_err(fail)?;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .map_err(fail)?;
    Ok(file)
}

/// Rewrites `file`, a [`merge_target`], with what [`merged_file`] made of it.
pub(crate) fn write_merged(file: &Path, merged: &str) -> Result<()> {
    files::write_atomically(
        file,
        merged.as_bytes(),
        files::FileMode::KeepExisting,
        files::Overwrite::Replace,
    )
}

/// The SealedSecret file `target` with `secrets` (read from `source`) sealed in as items, its
/// escrow copy kept in step for `recipients`; nothing is written.
pub(crate) fn merged_file(
    cli: &Cli,
    target: &Path,
    cert: &seal::Certificate,
    recipients: &[Recipient],
    source: &str,
    mut secrets: Vec<Secret>,
) -> Result<Zeroizing<String>> {
    let original_text = files::read_file(target)?;
    let original_text = std::str::from_utf8(&original_text)
        .map_err(|_| anyhow!("{}: not valid UTF-8", target.display()))?;
    let mut docs =
        read_sealed_secrets(original_text).map_err(|e| anyhow!("{}: {e}", target.display()))?;
    if docs.len() != 1 {
        bail!(
            "{}: expected exactly one SealedSecret to merge into, found {}",
            target.display(),
            docs.len()
        );
    }
    let mut original = docs.remove(0);
    let file_scope = Scope::from_annotations(&original.metadata.annotations);
    if let Some(scope) = cli.scope
        && scope != file_scope
    {
        return Err(usage(format!(
            "--scope {scope} does not match the scope of {} ({file_scope}); items sealed with it would not open",
            target.display()
        )));
    }
    if original.metadata.name().is_empty() {
        bail!(
            "{}: the SealedSecret has no metadata.name",
            target.display()
        );
    }
    // Items must open under the file's identity: its name, namespace and scope.
    for secret in &mut secrets {
        secret.metadata.name.clone_from(&original.metadata.name);
        secret
            .metadata
            .namespace
            .clone_from(&original.metadata.namespace);
    }
    let format = output_format(cli, Some(target), Format::detect(original_text))?;
    let updates = seal_all(
        cli,
        source,
        &secrets,
        cert,
        Some(file_scope),
        original.metadata.name.clone(),
        &[],
    )?;
    let before = original.spec.encrypted_data.clone();
    let mut added = std::collections::BTreeMap::new();
    for secret in &secrets {
        added.extend(escrow::items_of(secret));
    }
    let every_old_item_replaced = original.spec.data.is_none()
        && original.spec.encrypted_data.keys().all(|key| {
            updates
                .iter()
                .any(|u| u.spec.encrypted_data.contains_key(key))
        });
    sealed_with::merge(
        &mut original.metadata.annotations,
        cert.public_key().fingerprint().as_str(),
        every_old_item_replaced,
        !cli.no_sealed_with,
    );
    let spec = &mut original.spec;
    for update in updates {
        spec.encrypted_data.extend(update.spec.encrypted_data);
        let template = update.spec.template;
        spec.template
            .metadata
            .annotations
            .extend(template.metadata.annotations);
        spec.template
            .metadata
            .labels
            .extend(template.metadata.labels);
        if let Some(data) = template.data {
            spec.template.data.get_or_insert_default().extend(data);
        }
    }
    let warning = escrow::merge(
        &mut original.metadata.annotations,
        &before,
        &added,
        &original.spec.encrypted_data,
        recipients,
    )
    .map_err(|e| anyhow!("{}: {e:#}", target.display()))?;
    drop(added);
    drop(secrets);
    if let Some(warning) = warning {
        eprintln!("warning: {}: {warning}", target.display());
    }
    Ok(files::with_line_endings_of(
        original_text,
        &write_documents(std::slice::from_ref(&original), format),
    ))
}

/// The offline key sources of the bare command: `--recovery-private-key`, `--keyring`, and
/// what opens bundles (`-i`, `--passphrase`, `--passphrase-file`).
fn key_sources(cli: &Cli) -> KeySources {
    KeySources {
        keyrings: cli.keyring.clone(),
        files: cli.recovery_private_key.clone(),
        unlock: Unlock {
            identities: cli.identity.clone(),
            passphrase: PassphraseArgs {
                passphrase: cli.passphrase,
                passphrase_file: cli.passphrase_file.clone(),
            },
        },
    }
}

fn keyring(cli: &Cli) -> Result<(Keyring, Option<seal::Certificate>)> {
    load_keyring(&key_sources(cli))
}

const NO_KEYS_HINT: &str =
    "no private keys were given: pass --recovery-private-key FILE|DIR or --keyring DIR";

fn recovery_unseal(cli: &Cli) -> Result<()> {
    let sources = key_sources(cli);
    if sources.is_empty() && !cli.identity.is_empty() {
        return escrow_unseal(cli);
    }
    let (keyring, _) = load_keyring(&sources)?;
    let (input, sealed) = read_sealed_input(cli)?;
    let format = output_format(cli, None, Format::detect(&input.text))?;
    let options = UnsealOptions {
        accept_deprecated_v1_data: true,
        key_hint: None,
        template_limits: None,
    };
    let total = sealed.len();
    let mut secrets = Vec::with_capacity(total);
    for (i, s) in sealed.iter().enumerate() {
        let unsealed = unseal(s, &keyring, &options).map_err(|e| {
            if sources.is_empty() {
                // As upstream, which looks for keys and finds none: the decryption error, and
                // how to give keys.
                anyhow!("{e}; {NO_KEYS_HINT}")
            } else {
                anyhow!(
                    "{}: {e}",
                    locate(&input.source, i, total, s.metadata.name())
                )
            }
        })?;
        secrets.push(unsealed.secret);
    }
    plaintext_sink(cli).write(write_documents(&secrets, format).as_bytes())
}

/// Where recovered plaintext goes: `-w` (created 0600, atomically) or standard output.
fn plaintext_sink(cli: &Cli) -> Sink {
    match &cli.sealed_secret_file {
        Some(path) => Sink::File {
            path: path.clone(),
            private: true,
        },
        None => Sink::Stdout,
    }
}

/// `--recovery-unseal -i IDENTITY` with no keys: the Secrets from the escrow copies. A stale
/// copy is still opened (it is all there is) with a warning naming the object.
fn escrow_unseal(cli: &Cli) -> Result<()> {
    escrow::warn_if_shared(&cli.identity);
    let identities = crate::keys::identities(&cli.identity)?;
    let (input, sealed) = read_sealed_input(cli)?;
    let format = output_format(cli, None, Format::detect(&input.text))?;
    let options = UnsealOptions {
        accept_deprecated_v1_data: true,
        key_hint: None,
        template_limits: None,
    };
    let total = sealed.len();
    let mut secrets = Vec::with_capacity(total);
    for (i, s) in sealed.iter().enumerate() {
        let at = || locate(&input.source, i, total, s.metadata.name());
        match escrow::status(&s.metadata.annotations, &s.spec.encrypted_data) {
            Ok(escrow::Status::Current | escrow::Status::Missing) => {}
            Ok(escrow::Status::Stale(why)) => eprintln!(
                "warning: {}: the escrow copy is stale ({why}): the values recovered may not be the sealed ones",
                at()
            ),
            Err(e) => bail!("{}: {e}", at()),
        }
        let values = escrow::open(s, &identities).map_err(|e| anyhow!("{}: {e:#}", at()))?;
        let secret =
            seal::secret_from_values(s, values, &options).map_err(|e| anyhow!("{}: {e}", at()))?;
        secrets.push(secret);
    }
    plaintext_sink(cli).write(write_documents(&secrets, format).as_bytes())
}

fn validate(cli: &Cli) -> Result<()> {
    if !key_sources(cli).is_empty() {
        let (keyring, _) = keyring(cli)?;
        let (input, sealed) = read_sealed_input(cli)?;
        let total = sealed.len();
        for (i, s) in sealed.iter().enumerate() {
            verify(s, &keyring).map_err(|e| {
                anyhow!(
                    "unable to decrypt sealed secret: {}: {e}",
                    locate(&input.source, i, total, s.metadata.name())
                )
            })?;
        }
        return Ok(());
    }
    let (input, sealed) = read_sealed_input(cli)?;
    let controller = Controller::connect(cli)?;
    let total = sealed.len();
    for (i, s) in sealed.iter().enumerate() {
        let body = serde_json::to_vec(s)?;
        let reply = controller
            .post("verify", body)
            .map_err(|e| anyhow!("cannot validate sealed secret: {e:#}"))?;
        match reply.status.as_u16() {
            200..=299 => {}
            409 => bail!(
                "unable to decrypt sealed secret: {}",
                if total == 1 {
                    s.metadata.name().to_owned()
                } else {
                    locate(&input.source, i, total, s.metadata.name())
                }
            ),
            _ => bail!("cannot validate sealed secret: {}", reply.message()),
        }
    }
    Ok(())
}

fn re_encrypt(cli: &Cli) -> Result<()> {
    let (input, sealed) = read_sealed_input(cli)?;
    // With -f and no -w the input file is rewritten in place (upstream #405).
    let target = cli
        .sealed_secret_file
        .clone()
        .or_else(|| cli.secret_file.clone());
    let format = output_format(cli, target.as_deref(), Format::detect(&input.text))?;
    let total = sealed.len();
    let mut out = Vec::with_capacity(total);
    // The certificate a local re-encryption sealed with (the controller's is its own business).
    let mut resealed_with = None;
    if key_sources(cli).is_empty() {
        let controller = Controller::connect(cli)?;
        for (i, s) in sealed.iter().enumerate() {
            let reply = controller
                .post("rotate", serde_json::to_vec(s)?)
                .map_err(|e| anyhow!("cannot re-encrypt secret: {e:#}"))?;
            match reply.status.as_u16() {
                200..=299 => {}
                409 => bail!(
                    "unable to rotate secret: {}",
                    locate(&input.source, i, total, s.metadata.name())
                ),
                _ => bail!("cannot re-encrypt secret: {}", reply.message()),
            }
            let mut rotated: SealedSecret = serde_json::from_slice(&reply.body)
                .map_err(|e| anyhow!("cannot re-encrypt secret: unexpected reply: {e}"))?;
            for field in ["creationTimestamp", "deletionTimestamp", "generation"] {
                rotated.metadata.extra.remove(field);
            }
            rotated.status = None;
            escrow::rebind(
                &mut rotated.metadata.annotations,
                &s.spec.encrypted_data,
                &rotated.spec.encrypted_data,
            );
            out.push(rotated);
        }
        // The controller rotates with its newest key, the one its certificate endpoint serves.
        let fingerprint = controller
            .cert()
            .ok()
            .and_then(|pem| seal::Certificate::from_pem(&pem).ok())
            .map(|cert| cert.public_key().fingerprint().to_string());
        for rotated in &mut out {
            let annotations = &mut rotated.metadata.annotations;
            match &fingerprint {
                Some(fp) => sealed_with::set(annotations, fp, !cli.no_sealed_with),
                None => sealed_with::set(annotations, "", false),
            }
        }
    } else {
        let (keyring, keyring_cert) = keyring(cli)?;
        // The keyring's sealing certificate unless --cert says otherwise.
        let cert = match keyring_cert {
            Some(cert) if cli.cert().is_none() => {
                certs::check_expiry(
                    &cert,
                    "the keyring's sealing certificate",
                    certs::Expired::from_flag(cli.allow_expired_cert),
                )?;
                cert
            }
            _ => certs::certificate(cli)?,
        };
        for (i, s) in sealed.iter().enumerate() {
            let mut rotated = reencrypt(s, &keyring, cert.public_key()).map_err(|e| {
                anyhow!(
                    "unable to rotate secret: {}: {e}",
                    locate(&input.source, i, total, s.metadata.name())
                )
            })?;
            sealed_with::set(
                &mut rotated.metadata.annotations,
                cert.public_key().fingerprint().as_str(),
                !cli.no_sealed_with,
            );
            escrow::rebind(
                &mut rotated.metadata.annotations,
                &s.spec.encrypted_data,
                &rotated.spec.encrypted_data,
            );
            out.push(rotated);
        }
        resealed_with = Some(cert);
    }
    let text: Zeroizing<String> = write_documents(&out, format);
    let written = match target {
        Some(path) => files::write_atomically(
            &path,
            text.as_bytes(),
            files::FileMode::KeepExisting,
            files::Overwrite::Replace,
        ),
        None => Sink::Stdout.write(text.as_bytes()),
    };
    match &resealed_with {
        Some(cert) => certs::warn_after(cert, written),
        None => written,
    }
}
