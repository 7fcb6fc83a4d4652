//! Key files as operators have them: PEM private keys, `kubernetes.io/tls` key Secrets, and
//! `v1` `List`s of them (the shape of an upstream key backup), in YAML or JSON.

use std::collections::BTreeMap;

use crate::key_record::{
    KeyRecord, KeyRecordError, KeySecretFields, KeyStatus, SEALING_KEY_LABEL, TLS_SECRET_TYPE,
};
use crate::keys::{Certificate, KeyError, PrivateKey};
use crate::manifest::{ManifestError, ObjectMeta, Secret, read_secrets};
use crate::secret::SecretBytes;

/// A key file that cannot be used. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// A PEM key or certificate is malformed.
    #[error("{0}")]
    Key(#[from] KeyError),
    /// The manifest cannot be read.
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    /// A Secret without `tls.key`.
    #[error("secret {0:?} has no 'tls.key' in its data")]
    MissingTlsKey(String),
    /// A key Secret whose `tls.key` or `tls.crt` cannot be used.
    #[error("secret {name:?}: {error}")]
    KeySecret {
        /// The Secret's name.
        name: String,
        /// What is wrong with it.
        error: KeyRecordError,
    },
    /// Nothing that looks like a key.
    #[error("no private key found (expected PEM, a kubernetes.io/tls Secret, or a List of them)")]
    NoKeys,
}

/// A private key and, when the file had one, its certificate.
#[derive(Debug)]
pub struct LoadedKey {
    /// The key.
    pub key: PrivateKey,
    /// Its certificate (`tls.crt`), if present and readable.
    pub certificate: Option<Certificate>,
}

/// Reads every private key in `data`: PEM text, or YAML/JSON Secrets with `tls.key`
/// (single, multi-document or a `List`).
pub fn read_private_keys(data: &[u8]) -> Result<Vec<LoadedKey>, KeyFileError> {
    let text = String::from_utf8_lossy(data);
    let keys = if text.trim_start().starts_with("-----BEGIN") {
        PrivateKey::all_from_pem(data)?
            .into_iter()
            .map(|key| LoadedKey {
                key,
                certificate: None,
            })
            .collect()
    } else {
        let mut keys = Vec::new();
        for secret in read_secrets(&text)? {
            let record = key_record_of(&secret)?;
            keys.push(LoadedKey {
                key: record.key,
                certificate: record.certificate,
            });
        }
        keys
    };
    if keys.is_empty() {
        return Err(KeyFileError::NoKeys);
    }
    Ok(keys)
}

/// A key Secret read from a manifest (`stringData` counts, as the API server would merge it),
/// with the one validation every reader of key Secrets applies.
///
/// # Errors
/// What [`KeyRecord::from_fields`] refuses, naming the Secret.
pub fn key_record_of(secret: &Secret) -> Result<KeyRecord, KeyFileError> {
    let name = secret.metadata.name();
    let string_value = |field: &str| secret.string_data.get(field).map(|s| s.expose().as_bytes());
    let value = |field: &str| {
        secret
            .data
            .get(field)
            .map(SecretBytes::expose)
            .or_else(|| string_value(field))
    };
    KeyRecord::from_fields(KeySecretFields {
        name,
        label: secret
            .metadata
            .labels
            .get(SEALING_KEY_LABEL)
            .map(String::as_str),
        annotations: Some(&secret.metadata.annotations),
        created: None,
        tls_key: value("tls.key"),
        tls_crt: value("tls.crt"),
    })
    .map_err(|error| match error {
        KeyRecordError::MissingTlsKey => KeyFileError::MissingTlsKey(name.to_owned()),
        error => KeyFileError::KeySecret {
            name: name.to_owned(),
            error,
        },
    })
}

/// The `kubernetes.io/tls` Secret that holds a sealing key, labelled active, as upstream's
/// controller creates it.
#[must_use]
pub fn tls_key_secret(key: &PrivateKey, certificate: &Certificate, metadata: ObjectMeta) -> Secret {
    let mut secret = Secret::new(metadata);
    secret
        .metadata
        .labels
        .insert(SEALING_KEY_LABEL.into(), KeyStatus::Active.label().into());
    secret.type_ = Some(TLS_SECRET_TYPE.into());
    secret.data = BTreeMap::from([
        (
            "tls.crt".to_owned(),
            SecretBytes::from_slice(certificate.to_pem().as_bytes()),
        ),
        (
            "tls.key".to_owned(),
            SecretBytes::from_slice(key.to_pkcs1_pem().as_bytes()),
        ),
    ]);
    secret
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Format, write_documents};
    use crate::test_keys;

    #[test]
    fn reads_pem_secret_and_list() {
        let key = test_keys::rsa2048();
        let cert = test_keys::rsa2048_cert();
        let pem = key.to_pkcs1_pem();
        assert_eq!(read_private_keys(pem.as_bytes()).unwrap().len(), 1);

        let secret = tls_key_secret(
            &key,
            &cert,
            ObjectMeta {
                name: Some("sealed-secrets-keyabcde".into()),
                namespace: Some("kube-system".into()),
                ..ObjectMeta::default()
            },
        );
        for format in [Format::Yaml, Format::Json] {
            let text = write_documents(std::slice::from_ref(&secret), format);
            let loaded = read_private_keys(text.as_bytes()).unwrap();
            assert_eq!(loaded[0].key.fingerprint(), key.fingerprint());
            assert!(loaded[0].certificate.is_some());
        }
        let list = format!(
            "apiVersion: v1\nkind: List\nitems:\n{}",
            write_documents(std::slice::from_ref(&secret), Format::Json)
                .lines()
                .map(|l| format!("  {l}\n"))
                .collect::<String>()
                .replacen("  {", "- {", 1)
        );
        assert_eq!(read_private_keys(list.as_bytes()).unwrap().len(), 1);
    }

    #[test]
    fn clear_errors() {
        assert_eq!(
            read_private_keys(b"kind: Secret\nmetadata: {name: k}\ndata: {}\n").unwrap_err(),
            KeyFileError::MissingTlsKey("k".into())
        );
        assert_eq!(read_private_keys(b"").unwrap_err(), KeyFileError::NoKeys);
        assert_eq!(
            read_private_keys(b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")
                .unwrap_err(),
            KeyFileError::NoKeys
        );
    }
}
