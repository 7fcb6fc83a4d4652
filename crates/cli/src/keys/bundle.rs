//! Backup bundles: an upstream-compatible `v1` `List` of `kubernetes.io/tls` key Secrets,
//! encrypted with age (to recipients, or to a passphrase with scrypt work factor 18), ASCII
//! armored by default. Reading also accepts upstream's plaintext List and PEM private keys.

use std::io::{Read, Write};
use std::iter;
use std::path::PathBuf;

use age::armor::{ArmoredReader, ArmoredWriter, Format as ArmorFormat};
use age::secrecy::SecretString;
use anyhow::{Context, Result, anyhow, bail};
use seal::{
    Certificate, Format, KeyFileError, KeyRecordError, KeyStatus, PrivateKey, SEALING_KEY_LABEL,
    Secret, key_record_of, read_secrets, tls_key_secret, write_documents,
};
use serde::Serialize;
use zeroize::Zeroizing;

use super::secrets_input::{PassphraseArgs, identities};
use super::stored::exportable;

/// scrypt work factor (log2 N) of passphrase bundles: fixed so they open on slow machines and
/// with the reference `age` tool.
pub const SCRYPT_WORK_FACTOR: u8 = 18;
/// Largest scrypt work factor accepted when opening a bundle (about 1 GiB of memory).
pub const MAX_SCRYPT_WORK_FACTOR: u8 = 20;

const AGE_BINARY_MAGIC: &[u8] = b"age-encryption.org/";
const AGE_ARMOR_BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

/// One key read from a bundle, List or PEM file.
#[derive(Debug)]
pub struct KeyItem {
    /// The Secret's name in the List, if any.
    pub name: Option<String>,
    /// The key.
    pub key: PrivateKey,
    /// Its certificate (made now, self-signed, when the input had none).
    pub certificate: Certificate,
    /// Whether the certificate was made now.
    pub certificate_generated: bool,
    /// Not labelled `active`.
    pub compromised: bool,
    /// The backed-up annotation carried by the item.
    pub backed_up_at: Option<String>,
    /// The Secret to create in a cluster (server-side fields removed).
    pub secret: Secret,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct List<'a, T> {
    api_version: &'static str,
    kind: &'static str,
    items: &'a [T],
}

/// `apiVersion: v1`, `kind: List`, `items: [...]`, as `kubectl get -o yaml` writes it.
pub fn list_document<T: Serialize>(items: &[T], format: Format) -> Zeroizing<String> {
    let list = List {
        api_version: "v1",
        kind: "List",
        items,
    };
    let text = write_documents(std::slice::from_ref(&list), format);
    match text.strip_prefix("---\n") {
        Some(rest) => Zeroizing::new(rest.to_owned()),
        None => text,
    }
}

/// How a bundle is protected.
pub enum Protection {
    /// age recipients (X25519 or SSH).
    Recipients(Vec<Box<dyn age::Recipient + Send>>),
    /// A passphrase (scrypt, work factor [`SCRYPT_WORK_FACTOR`]).
    Passphrase(SecretString),
}

/// Encrypts `plaintext` with age.
pub fn encrypt(plaintext: &[u8], protection: &Protection, armor: bool) -> Result<Vec<u8>> {
    let encryptor = match protection {
        Protection::Recipients(recipients) => age::Encryptor::with_recipients(
            recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient),
        )
        .map_err(|e| anyhow!("cannot encrypt to these recipients: {e}"))?,
        Protection::Passphrase(passphrase) => {
            let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
            recipient.set_work_factor(SCRYPT_WORK_FACTOR);
            age::Encryptor::with_recipients(iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| anyhow!("cannot encrypt with a passphrase: {e}"))?
        }
    };
    let format = if armor {
        ArmorFormat::AsciiArmor
    } else {
        ArmorFormat::Binary
    };
    let fail = |e: std::io::Error| anyhow!("cannot encrypt the bundle: {e}");
    let armored = ArmoredWriter::wrap_output(Vec::new(), format).map_err(fail)?;
    let mut writer = encryptor.wrap_output(armored).map_err(fail)?;
    writer.write_all(plaintext).map_err(fail)?;
    let armored = writer.finish().map_err(fail)?;
    armored.finish().map_err(fail)
}

/// Whether `data` looks like an age file (binary or armored).
pub fn is_age(data: &[u8]) -> bool {
    let trimmed = trim_ascii_start(data);
    trimmed.starts_with(AGE_BINARY_MAGIC) || trimmed.starts_with(AGE_ARMOR_BEGIN)
}

fn trim_ascii_start(data: &[u8]) -> &[u8] {
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(data.len());
    &data[start..]
}

/// What can open a bundle.
#[derive(Debug, Clone, Default)]
pub struct Unlock {
    /// age identity files or SSH private keys (`-i`).
    pub identities: Vec<PathBuf>,
    /// Passphrase sources.
    pub passphrase: PassphraseArgs,
}

/// Decrypts an age bundle. Errors name the problem in one line and carry no key material.
pub fn decrypt(data: &[u8], unlock: &Unlock) -> Result<Zeroizing<Vec<u8>>> {
    let reader = ArmoredReader::new(trim_ascii_start(data));
    let decryptor = age::Decryptor::new_buffered(reader).map_err(|e| match e {
        age::DecryptError::UnknownFormat => {
            anyhow!("unsupported age bundle: unknown format version")
        }
        _ => anyhow!("invalid age bundle: its header is truncated or corrupt"),
    })?;
    let stream = if decryptor.is_scrypt() {
        let passphrase = unlock.passphrase.get(false)?;
        let mut identity = age::scrypt::Identity::new(passphrase);
        identity.set_max_work_factor(MAX_SCRYPT_WORK_FACTOR);
        decryptor
            .decrypt(iter::once(&identity as &dyn age::Identity))
            .map_err(|e| header_error(&e, true))?
    } else {
        if unlock.identities.is_empty() {
            bail!(
                "the bundle is encrypted to age recipients: pass the matching identity file with -i FILE"
            );
        }
        let identities = identities(&unlock.identities)?;
        decryptor
            .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| header_error(&e, false))?
    };
    let mut plaintext = Zeroizing::new(Vec::new());
    let mut stream = stream;
    stream.read_to_end(&mut plaintext).map_err(|_| {
        anyhow!("the bundle is truncated or was tampered with: its content does not authenticate")
    })?;
    Ok(plaintext)
}

fn header_error(e: &age::DecryptError, passphrase: bool) -> anyhow::Error {
    match e {
        age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed
            if passphrase =>
        {
            anyhow!("wrong passphrase: the bundle cannot be decrypted with it")
        }
        age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed => {
            anyhow!("wrong identity: none of the given identities can decrypt the bundle")
        }
        age::DecryptError::KeyDecryptionFailed => {
            anyhow!("cannot decrypt the SSH identity (wrong passphrase?)")
        }
        age::DecryptError::ExcessiveWork { required, .. } => anyhow!(
            "the bundle's passphrase work factor ({required}) is above the accepted maximum ({MAX_SCRYPT_WORK_FACTOR})"
        ),
        age::DecryptError::InvalidMac => {
            anyhow!("the bundle was tampered with: its header does not authenticate")
        }
        _ => anyhow!("invalid age bundle: its header is truncated or corrupt"),
    }
}

/// Reads keys from any accepted input: an age bundle (decrypted with `unlock`), a plaintext
/// List or stream of key Secrets, or PEM private keys. Fails on the first bad item, before
/// anything is imported.
pub fn read_any(data: &[u8], unlock: &Unlock) -> Result<Vec<KeyItem>> {
    if is_age(data) {
        let plaintext = decrypt(data, unlock)?;
        return parse_keys(&plaintext).context("the decrypted bundle is not a valid key List");
    }
    parse_keys(data)
}

/// Reads a plaintext List of key Secrets or PEM private keys.
pub fn parse_keys(data: &[u8]) -> Result<Vec<KeyItem>> {
    const NOT_KEYS: &str = "not an age bundle, a List of key Secrets or a PEM private key";
    let text = std::str::from_utf8(data).map_err(|_| anyhow!("{NOT_KEYS} (binary data)"))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.is_empty() {
        bail!("{NOT_KEYS} (empty input)");
    }
    let mut items: Vec<KeyItem> = Vec::new();
    if trimmed.starts_with("-----BEGIN") {
        let keys = PrivateKey::all_from_pem(data)
            .map_err(|e| anyhow!("malformed PEM private key: {e}"))?;
        if keys.is_empty() {
            bail!("no private key in the PEM input (expected 'RSA PRIVATE KEY' or 'PRIVATE KEY')");
        }
        let cert = Certificate::from_pem(data).ok();
        for key in keys {
            let (certificate, generated) = match &cert {
                Some(c) if c.public_key().fingerprint() == key.fingerprint() => (c.clone(), false),
                _ => (new_certificate(&key)?, true),
            };
            let secret = tls_key_secret(&key, &certificate, seal::ObjectMeta::default());
            push_unique(
                &mut items,
                KeyItem {
                    name: None,
                    key,
                    certificate,
                    certificate_generated: generated,
                    compromised: false,
                    backed_up_at: None,
                    secret,
                },
            );
        }
        return Ok(items);
    }
    let secrets = read_secrets(text).map_err(|e| anyhow!("{NOT_KEYS}: {e}"))?;
    if secrets.is_empty() {
        bail!("{NOT_KEYS} (no documents)");
    }
    for (index, secret) in secrets.into_iter().enumerate() {
        let item = key_item(secret).with_context(|| format!("item {}", index + 1))?;
        push_unique(&mut items, item);
    }
    Ok(items)
}

fn push_unique(items: &mut Vec<KeyItem>, item: KeyItem) {
    if !items
        .iter()
        .any(|i| i.key.fingerprint() == item.key.fingerprint())
    {
        items.push(item);
    }
}

fn new_certificate(key: &PrivateKey) -> Result<Certificate> {
    Certificate::self_signed(key, "", seal::keys::DEFAULT_CERT_VALIDITY)
        .map_err(|e| anyhow!("cannot make a certificate for a PEM key: {e}"))
}

/// One key Secret of a List, read with the one key-Secret model (any `type`, as the
/// controller and `--recovery-private-key` take it; unlabelled is compromised, as the
/// controller treats the legacy Secret). Its label is written out, so the Secret restored into
/// a cluster is one the controller loads, with the same status.
fn key_item(secret: Secret) -> Result<KeyItem> {
    let name = secret.metadata.name().to_owned();
    let shown = if name.is_empty() {
        "unnamed Secret".to_owned()
    } else {
        format!("Secret {name:?}")
    };
    let record = match key_record_of(&secret) {
        Ok(record) => record,
        Err(KeyFileError::KeySecret { error, .. }) => match error {
            KeyRecordError::TlsKey(e) => bail!("{shown} has a malformed tls.key: {e}"),
            KeyRecordError::TlsCrt(e) => bail!("{shown} has a malformed tls.crt: {e}"),
            error => bail!("{shown}: {error}"),
        },
        Err(KeyFileError::MissingTlsKey(_)) => bail!("{shown} has no tls.key"),
        Err(e) => bail!("{shown}: {e}"),
    };
    let (certificate, generated) = match record.certificate {
        Some(certificate) => (certificate, false),
        None => (new_certificate(&record.key)?, true),
    };
    let mut secret = exportable(secret);
    if generated {
        secret.data.insert(
            "tls.crt".into(),
            seal::SecretBytes::from_slice(certificate.to_pem().as_bytes()),
        );
    }
    secret
        .metadata
        .labels
        .entry(SEALING_KEY_LABEL.into())
        .or_insert_with(|| record.status.label().into());
    Ok(KeyItem {
        name: (!name.is_empty()).then_some(name),
        compromised: record.status == KeyStatus::Compromised,
        backed_up_at: record.backed_up_at,
        key: record.key,
        certificate,
        certificate_generated: generated,
        secret,
    })
}
