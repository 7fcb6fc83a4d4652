//! Escrow copies: a SealedSecret's values encrypted with age to offline recipients, so that
//! whoever holds an escrow identity can recover them with no cluster key at all.
//!
//! Three annotations on the SealedSecret's own (outer) metadata, never its template, so no
//! controller copies them into the Secret (upstream's ignores unknown annotations):
//!
//! - [`ESCROW`]: a JSON object, one entry per `encryptedData` item: the item's plaintext bytes
//!   encrypted with age (binary age format, standard base64). One age file per item, so
//!   `--merge-into` escrows the items it adds without opening the others (which would need the
//!   offline identity), and `age -d` of one entry gives exactly the value.
//! - [`ESCROW_OF`]: `sha256:<hex>` over the `encryptedData` the copy was made for (see
//!   [`digest`]): a copy whose digest does not match the current values is stale, which anyone
//!   can tell without the identity. It is not a signature: it detects forgetting, not forgery.
//! - [`ESCROW_RECIPIENTS`]: who can open every entry: `age1…` recipients as they are, SSH keys
//!   by their OpenSSH fingerprint (`SHA256:…`, as `ssh-keygen -l` prints it). age's X25519
//!   stanzas do not name their recipient, so this is the only record of it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use seal::{SealedSecret, Secret, SecretBytes};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The per-item age ciphertexts.
pub const ESCROW: &str = "sealed-secrets-rs/escrow";
/// The digest of the `encryptedData` the escrow copy is for.
pub const ESCROW_OF: &str = "sealed-secrets-rs/escrow-of";
/// The recipients every entry is encrypted to.
pub const ESCROW_RECIPIENTS: &str = "sealed-secrets-rs/escrow-recipients";
/// The API server's limit on the total size of an object's annotations (keys and values).
pub const MAX_ANNOTATION_BYTES: usize = 256 * 1024;
/// The repository configuration file looked for from the current directory upwards.
pub const CONFIG_FILE: &str = ".sealed-secrets.yaml";

/// One escrow recipient: what age encrypts to, and how it is recorded.
pub struct Recipient {
    /// `age1…`, or the SSH key's `SHA256:…` fingerprint.
    pub id: String,
    inner: Box<dyn age::Recipient + Send + Sync>,
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id)
    }
}

impl Recipient {
    /// An `age1…` X25519 recipient or an SSH public key (`ssh-ed25519`, `ssh-rsa`).
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if let Ok(r) = text.parse::<age::x25519::Recipient>() {
            return Ok(Self {
                id: r.to_string(),
                inner: Box::new(r),
            });
        }
        let invalid = || {
            let shown: String = text.chars().take(40).collect();
            anyhow!(
                "invalid escrow recipient {shown:?}: expected an age public key (age1…) or an SSH public key (ssh-ed25519, ssh-rsa)"
            )
        };
        let r = text.parse::<age::ssh::Recipient>().map_err(|_| invalid())?;
        let blob = text
            .split_whitespace()
            .nth(1)
            .and_then(|b| STANDARD.decode(b).ok())
            .ok_or_else(invalid)?;
        Ok(Self {
            id: format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(&blob))),
            inner: Box::new(r),
        })
    }
}

/// What can go wrong reading an escrow copy (names, never values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscrowError {
    /// The annotation is not a JSON object of strings.
    Malformed,
}

impl std::fmt::Display for EscrowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed => write!(
                f,
                "the {ESCROW} annotation is not a JSON object of base64 strings"
            ),
        }
    }
}

impl std::error::Error for EscrowError {}

/// How a SealedSecret's escrow copy stands against its current values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// No escrow copy.
    Missing,
    /// Made for exactly the current `encryptedData`, one entry per item.
    Current,
    /// Present but made for other values (why, without values).
    Stale(String),
}

/// `sha256:<hex>` over the items in key order, each as the length (8 bytes, big-endian) and
/// bytes of its key, then of its base64 text: unambiguous whatever the keys hold.
#[must_use]
pub fn digest(encrypted_data: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (key, value) in encrypted_data {
        for part in [key.as_bytes(), value.as_bytes()] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
    }
    let hash = hasher.finalize();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in hash {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// The escrow entries (item → base64 age file), `None` when there is no escrow copy.
pub fn entries(
    annotations: &BTreeMap<String, String>,
) -> Result<Option<BTreeMap<String, String>>, EscrowError> {
    let Some(text) = annotations.get(ESCROW) else {
        return Ok(None);
    };
    serde_json::from_str(text)
        .map(Some)
        .map_err(|_| EscrowError::Malformed)
}

/// The recorded recipients, `None` when not recorded.
#[must_use]
pub fn recipients_of(annotations: &BTreeMap<String, String>) -> Option<BTreeSet<String>> {
    let set: BTreeSet<String> = annotations
        .get(ESCROW_RECIPIENTS)?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    (!set.is_empty()).then_some(set)
}

/// Where the escrow copy of an object with these annotations and values stands.
pub fn status(
    annotations: &BTreeMap<String, String>,
    encrypted_data: &BTreeMap<String, String>,
) -> Result<Status, EscrowError> {
    let Some(entries) = entries(annotations)? else {
        return Ok(Status::Missing);
    };
    match annotations.get(ESCROW_OF) {
        None => return Ok(Status::Stale(format!("it has no {ESCROW_OF} annotation"))),
        Some(of) if *of != digest(encrypted_data) => {
            return Ok(Status::Stale(
                "it was made for other sealed values (its escrow-of digest does not match spec.encryptedData)"
                    .to_owned(),
            ));
        }
        Some(_) => {}
    }
    let missing: Vec<&str> = encrypted_data
        .keys()
        .filter(|k| !entries.contains_key(*k))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Ok(Status::Stale(format!(
            "it has no entry for {}",
            missing.join(", ")
        )));
    }
    let extra: Vec<&str> = entries
        .keys()
        .filter(|k| !encrypted_data.contains_key(*k))
        .map(String::as_str)
        .collect();
    if !extra.is_empty() {
        return Ok(Status::Stale(format!(
            "it has entries for items that are not sealed: {}",
            extra.join(", ")
        )));
    }
    Ok(Status::Current)
}

/// Encrypts one value to `recipients`: a binary age file, base64.
pub fn encrypt_value(value: &[u8], recipients: &[Recipient]) -> Result<String> {
    let encryptor = age::Encryptor::with_recipients(
        recipients
            .iter()
            .map(|r| r.inner.as_ref() as &dyn age::Recipient),
    )
    .map_err(|e| anyhow!("cannot encrypt the escrow copy to these recipients: {e}"))?;
    let fail = |e: std::io::Error| anyhow!("cannot encrypt the escrow copy: {e}");
    let mut writer = encryptor.wrap_output(Vec::new()).map_err(fail)?;
    writer.write_all(value).map_err(fail)?;
    let file = writer.finish().map_err(fail)?;
    Ok(STANDARD.encode(file))
}

/// Opens one entry with `identities`.
pub fn decrypt_value(
    item: &str,
    entry: &str,
    identities: &[Box<dyn age::Identity + Send + Sync>],
) -> Result<SecretBytes> {
    let bytes = STANDARD
        .decode(entry.trim())
        .map_err(|_| anyhow!("escrow entry {item:?} is not base64"))?;
    let decryptor = age::Decryptor::new(&bytes[..])
        .map_err(|_| anyhow!("escrow entry {item:?} is not an age file"))?;
    let mut stream = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys | age::DecryptError::DecryptionFailed => anyhow!(
                "no identity matches the escrow copy (item {item:?}): it was encrypted to other recipients"
            ),
            age::DecryptError::KeyDecryptionFailed => {
                anyhow!("cannot decrypt the SSH identity (wrong passphrase?)")
            }
            _ => anyhow!("escrow entry {item:?} is corrupt: its age header does not authenticate"),
        })?;
    let mut plaintext = Zeroizing::new(Vec::new());
    stream
        .read_to_end(&mut plaintext)
        .map_err(|_| anyhow!("escrow entry {item:?} is truncated or was tampered with"))?;
    Ok(SecretBytes::from_slice(&plaintext))
}

/// Opens every entry of `sealed`'s escrow copy: the values of its `encryptedData` items.
pub fn open(
    sealed: &SealedSecret,
    identities: &[Box<dyn age::Identity + Send + Sync>],
) -> Result<BTreeMap<String, SecretBytes>> {
    let entries = entries(&sealed.metadata.annotations)?
        .ok_or_else(|| anyhow!("it has no escrow copy (no {ESCROW} annotation)"))?;
    entries
        .iter()
        .map(|(item, entry)| Ok((item.clone(), decrypt_value(item, entry, identities)?)))
        .collect()
}

/// Total size of the annotations as the API server counts it (keys and values).
#[must_use]
pub fn annotation_bytes(annotations: &BTreeMap<String, String>) -> usize {
    annotations.iter().map(|(k, v)| k.len() + v.len()).sum()
}

fn check_size(annotations: &BTreeMap<String, String>) -> Result<()> {
    let total = annotation_bytes(annotations);
    if total > MAX_ANNOTATION_BYTES {
        bail!(
            "the escrow copy makes the SealedSecret's annotations {total} bytes, over the API server's limit of {MAX_ANNOTATION_BYTES} bytes (256 KiB): escrow to fewer recipients or split the Secret"
        );
    }
    Ok(())
}

fn write_entries(
    annotations: &mut BTreeMap<String, String>,
    entries: &BTreeMap<String, String>,
) -> Result<()> {
    annotations.insert(ESCROW.to_owned(), serde_json::to_string(entries)?);
    Ok(())
}

fn ids(recipients: &[Recipient]) -> BTreeSet<String> {
    recipients.iter().map(|r| r.id.clone()).collect()
}

fn join(ids: &BTreeSet<String>) -> String {
    ids.iter().cloned().collect::<Vec<_>>().join(",")
}

/// A Secret's values as they are sealed: `data`, with `stringData` winning for the same key.
#[must_use]
pub fn items_of(secret: &Secret) -> BTreeMap<String, &[u8]> {
    let mut items: BTreeMap<String, &[u8]> = secret
        .data
        .iter()
        .map(|(k, v)| (k.clone(), v.expose()))
        .collect();
    for (k, v) in &secret.string_data {
        items.insert(k.clone(), v.expose().as_bytes());
    }
    items
}

/// Gives a freshly sealed (or re-sealed) object an escrow copy of `values` (its items'
/// plaintexts, by key) made for `encrypted_data`, replacing any other.
pub fn escrow_all(
    annotations: &mut BTreeMap<String, String>,
    values: &BTreeMap<String, &[u8]>,
    encrypted_data: &BTreeMap<String, String>,
    recipients: &[Recipient],
) -> Result<()> {
    let entries = values
        .iter()
        .map(|(k, v)| Ok((k.clone(), encrypt_value(v, recipients)?)))
        .collect::<Result<BTreeMap<_, _>>>()?;
    write_entries(annotations, &entries)?;
    annotations.insert(ESCROW_OF.to_owned(), digest(encrypted_data));
    annotations.insert(ESCROW_RECIPIENTS.to_owned(), join(&ids(recipients)));
    check_size(annotations)
}

/// After `--merge-into` sealed `added` (plaintexts by key) into a file whose annotations and
/// `encryptedData` were `annotations` and `before`, now `after`: escrows the added items
/// beside the file's other entries, without opening them. The copy stays current when it was
/// current before (or every old item was replaced); the recipients recorded are those every
/// entry is encrypted to. Returns a warning when the copy does not cover every item.
pub fn merge(
    annotations: &mut BTreeMap<String, String>,
    before: &BTreeMap<String, String>,
    added: &BTreeMap<String, &[u8]>,
    after: &BTreeMap<String, String>,
    recipients: &[Recipient],
) -> Result<Option<String>> {
    let was = status(annotations, before)?;
    let every_old_item_replaced = before.keys().all(|k| added.contains_key(k));
    if recipients.is_empty() {
        return Ok(match was {
            Status::Missing => None,
            _ => Some(format!(
                "the escrow copy does not cover the merged items ({}): give --escrow-recipient to escrow them",
                added.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        });
    }
    if every_old_item_replaced {
        annotations.remove(ESCROW);
        annotations.remove(ESCROW_RECIPIENTS);
        escrow_all(annotations, added, after, recipients)?;
        return Ok(None);
    }
    let mut entries = entries(annotations)?.unwrap_or_default();
    for (key, value) in added {
        entries.insert(key.clone(), encrypt_value(value, recipients)?);
    }
    write_entries(annotations, &entries)?;
    let warning = if was == Status::Current {
        annotations.insert(ESCROW_OF.to_owned(), digest(after));
        let kept = recipients_of(annotations).map(|old| {
            old.intersection(&ids(recipients))
                .cloned()
                .collect::<BTreeSet<_>>()
        });
        match kept.filter(|k| !k.is_empty()) {
            Some(kept) => annotations.insert(ESCROW_RECIPIENTS.to_owned(), join(&kept)),
            None => annotations.remove(ESCROW_RECIPIENTS),
        };
        None
    } else {
        // The old items have no current entry: the copy is left stale (its escrow-of, or
        // the lack of one, does not match), and said so.
        annotations.remove(ESCROW_RECIPIENTS);
        let uncovered: Vec<&str> = before
            .keys()
            .filter(|k| !added.contains_key(*k))
            .map(String::as_str)
            .collect();
        Some(format!(
            "the escrow copy does not cover {} (sealed before without a current escrow copy): re-seal the whole Secret to escrow them",
            uncovered.join(", ")
        ))
    };
    check_size(annotations)?;
    Ok(warning)
}

/// After the values were re-sealed unchanged (`--re-encrypt`, `kubeseal reencrypt`): a copy
/// that was current for `before` is current for `after`.
pub fn rebind(
    annotations: &mut BTreeMap<String, String>,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) {
    if status(annotations, before) == Ok(Status::Current) {
        annotations.insert(ESCROW_OF.to_owned(), digest(after));
    }
}

/// One `--escrow-recipient` value: a recipient, or a file of them (one per line, `#`
/// comments), relative to `base`.
pub fn recipients_from(value: &str, base: &Path) -> Result<Vec<Recipient>> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(Vec::new());
    }
    let looks_like_key = value.starts_with("age1") || value.starts_with("ssh-");
    match Recipient::parse(value) {
        Ok(r) => return Ok(vec![r]),
        Err(e) if looks_like_key && !base.join(value).is_file() => return Err(e),
        Err(_) => {}
    }
    let path = base.join(value);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow!(
            "escrow recipient {value:?} is neither a recipient nor a readable file: {}",
            crate::files::describe_io(&e)
        )
    })?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(
            Recipient::parse(line).with_context(|| format!("{} line {}", path.display(), n + 1))?,
        );
    }
    if out.is_empty() {
        bail!(
            "escrow recipients file {} has no recipients",
            path.display()
        );
    }
    Ok(out)
}

/// Warns about identity files others can read: an escrow identity opens every escrowed
/// secret, so it should be as private as a root CA's key.
pub fn warn_if_shared(paths: &[PathBuf]) {
    #[cfg(unix)]
    for path in paths {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            eprintln!(
                "warning: identity file {} is readable by others (mode {:o}): it opens every escrowed secret; chmod 600 it",
                path.display(),
                meta.permissions().mode() & 0o777
            );
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Config {
    #[serde(default)]
    escrow_recipients: Vec<String>,
}

/// The nearest [`CONFIG_FILE`] in `dir` or above it.
#[must_use]
pub fn find_config(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(CONFIG_FILE))
        .find(|p| p.is_file())
}

/// The `escrowRecipients` of a config file (files named relative to it).
pub fn config_recipients(path: &Path) -> Result<Vec<Recipient>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("open {}: {}", path.display(), crate::files::describe_io(&e)))?;
    let config: Config = serde_saphyr::from_str(&text).map_err(|e| {
        let first = e.to_string();
        let first = first.lines().next().unwrap_or_default();
        let first = first.strip_prefix("error: ").unwrap_or(first);
        anyhow!("{}: {first}", path.display())
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for value in &config.escrow_recipients {
        out.extend(
            recipients_from(value, base)
                .with_context(|| format!("{}: escrowRecipients", path.display()))?,
        );
    }
    Ok(out)
}

/// The escrow recipients in force: none with `--no-escrow`; else `--escrow-recipient` (or
/// its environment variable); else the nearest config file's.
pub fn resolve(flag_values: &[String], no_escrow: bool) -> Result<Vec<Recipient>> {
    if no_escrow {
        return Ok(Vec::new());
    }
    if !flag_values.is_empty() {
        let mut out = Vec::new();
        for value in flag_values {
            out.extend(recipients_from(value, Path::new("."))?);
        }
        return Ok(out);
    }
    let Ok(cwd) = std::env::current_dir() else {
        return Ok(Vec::new());
    };
    match find_config(&cwd) {
        Some(path) => config_recipients(&path),
        None => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    fn identity() -> (age::x25519::Identity, Recipient) {
        let identity = age::x25519::Identity::generate();
        let recipient = Recipient::parse(&identity.to_public().to_string()).unwrap();
        (identity, recipient)
    }

    fn boxed(identity: age::x25519::Identity) -> Vec<Box<dyn age::Identity + Send + Sync>> {
        vec![Box::new(identity)]
    }

    fn data(items: &[(&str, &str)]) -> BTreeMap<String, String> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn digest_is_unambiguous_and_order_free() {
        let a = digest(&data(&[("a", "bc")]));
        assert_ne!(a, digest(&data(&[("ab", "c")])));
        assert_eq!(
            digest(&data(&[("x", "1"), ("y", "2")])),
            digest(&data(&[("y", "2"), ("x", "1")]))
        );
        assert!(a.starts_with("sha256:") && a.len() == 71);
    }

    #[test]
    fn round_trip_is_byte_exact() {
        let (id, recipient) = identity();
        let value = [0u8, 255, b'\n', 7];
        let entry = encrypt_value(&value, &[recipient]).unwrap();
        let opened = decrypt_value("k", &entry, &boxed(id)).unwrap();
        assert_eq!(opened.expose(), value);
        let (other, _) = identity();
        let err = decrypt_value("k", &entry, &boxed(other)).unwrap_err();
        assert!(err.to_string().contains("no identity matches"), "{err}");
    }

    #[test]
    fn status_tracks_the_sealed_values() {
        let (_, recipient) = identity();
        let sealed = data(&[("a", "AAA"), ("b", "BBB")]);
        let mut annotations = BTreeMap::new();
        assert_eq!(status(&annotations, &sealed), Ok(Status::Missing));
        let values: BTreeMap<String, &[u8]> =
            [("a".to_owned(), &b"1"[..]), ("b".to_owned(), &b"2"[..])].into();
        escrow_all(&mut annotations, &values, &sealed, &[recipient]).unwrap();
        assert_eq!(status(&annotations, &sealed), Ok(Status::Current));
        let changed = data(&[("a", "AAA"), ("b", "CCC")]);
        assert!(matches!(
            status(&annotations, &changed),
            Ok(Status::Stale(_))
        ));
        annotations.insert(ESCROW.into(), "[1]".into());
        assert_eq!(status(&annotations, &sealed), Err(EscrowError::Malformed));
    }

    #[test]
    fn merge_keeps_a_current_copy_current_without_opening_it() {
        let (id, recipient) = identity();
        let before = data(&[("a", "AAA")]);
        let mut annotations = BTreeMap::new();
        let one: BTreeMap<String, &[u8]> = [("a".to_owned(), &b"1"[..])].into();
        escrow_all(
            &mut annotations,
            &one,
            &before,
            std::slice::from_ref(&recipient),
        )
        .unwrap();
        let after = data(&[("a", "AAA"), ("b", "BBB")]);
        let two: BTreeMap<String, &[u8]> = [("b".to_owned(), &b"2"[..])].into();
        let warning = merge(&mut annotations, &before, &two, &after, &[recipient]).unwrap();
        assert_eq!(warning, None);
        assert_eq!(status(&annotations, &after), Ok(Status::Current));
        let mut sealed = SealedSecret::new(seal::ObjectMeta::default());
        sealed.metadata.annotations = annotations;
        let opened = open(&sealed, &boxed(id)).unwrap();
        assert_eq!(opened["a"].expose(), b"1");
        assert_eq!(opened["b"].expose(), b"2");
    }

    #[test]
    fn merge_into_a_file_without_a_copy_warns_and_stays_stale() {
        let (_, recipient) = identity();
        let before = data(&[("a", "AAA")]);
        let after = data(&[("a", "AAA"), ("b", "BBB")]);
        let two: BTreeMap<String, &[u8]> = [("b".to_owned(), &b"2"[..])].into();
        let mut annotations = BTreeMap::new();
        let warning = merge(&mut annotations, &before, &two, &after, &[recipient]).unwrap();
        assert!(warning.unwrap().contains("does not cover a "));
        assert!(matches!(status(&annotations, &after), Ok(Status::Stale(_))));
    }

    #[test]
    fn recipients_are_recorded_by_id() {
        let (id, recipient) = identity();
        assert_eq!(recipient.id, id.to_public().to_string());
        let ssh = Recipient::parse(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPl11WH2NuBXECQeJNjHDs9fQ0hkqvifcF+z6AmMR6ML test",
        )
        .unwrap();
        // As `ssh-keygen -l` prints it.
        assert_eq!(ssh.id, "SHA256:f6cJaMb99CDr/9c89C7a7N2mh2kXlgIsNIIXMeqKusI");
        let err = Recipient::parse("age1nope").unwrap_err();
        assert!(err.to_string().contains("invalid escrow recipient"));
        // The secret half never appears in what is recorded.
        assert!(!recipient.id.contains(id.to_string().expose_secret()));
    }

    #[test]
    fn annotations_over_the_limit_are_refused() {
        let mut annotations = BTreeMap::from([("x".to_owned(), "y".repeat(MAX_ANNOTATION_BYTES))]);
        let err = check_size(&annotations).unwrap_err();
        assert!(err.to_string().contains("262144 bytes (256 KiB)"), "{err}");
        annotations.insert("x".into(), String::new());
        assert!(check_size(&annotations).is_ok());
    }
}
