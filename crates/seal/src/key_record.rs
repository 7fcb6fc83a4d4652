//! The one model of a sealing key Secret, shared by the controller and every `kubeseal`
//! command: which Secrets hold keys, which of their fields must agree, which keys may seal, and
//! which key is the newest. Pure: callers hand in the Secret's fields, however they read it.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use crate::keys::{Certificate, Fingerprint, KeyError, PrivateKey};

/// Label that marks a Secret as a sealing key; its value is the key's [`KeyStatus`].
pub const SEALING_KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";
/// `type` of the key Secrets the controller writes.
pub const TLS_SECRET_TYPE: &str = "kubernetes.io/tls";
/// Name of the legacy (pre-0.9, unlabelled) key Secret, and the default `generateName` of new
/// key Secrets.
pub const LEGACY_KEY_SECRET_NAME: &str = "sealed-secrets-key";
/// Annotation `kubeseal keys backup` puts on each key Secret it exported (RFC 3339).
pub const BACKED_UP_AT_ANNOTATION: &str = "sealedsecrets.bitnami.com/backed-up-at";
/// Annotation an operator (or `kubeseal keys rotate`) puts on a key Secret to ask the
/// controller for a new key now (RFC 3339). Authorization is the API server's: whoever may
/// patch key Secrets.
pub const RENEWAL_REQUESTED_AT_ANNOTATION: &str = "sealedsecrets.bitnami.com/renewal-requested-at";

/// Which time orders keys, to pick the newest for sealing (the controller's
/// `--key-order-priority`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyOrder {
    /// The certificate's `notBefore` (upstream's default).
    #[default]
    CertNotBefore,
    /// The key Secret's `metadata.creationTimestamp`.
    SecretCreationTimestamp,
}

impl FromStr for KeyOrder {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "CertNotBefore" => Ok(Self::CertNotBefore),
            "SecretCreationTimestamp" => Ok(Self::SecretCreationTimestamp),
            other => Err(format!(
                "invalid key order priority {other:?}: must be CertNotBefore or SecretCreationTimestamp"
            )),
        }
    }
}

/// Whether a key may seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyStatus {
    /// Labelled `active`: seals (when newest) and unseals.
    Active,
    /// Labelled anything else (`compromised`), or the unlabelled legacy Secret: unseals only.
    Compromised,
}

impl KeyStatus {
    /// The one status rule: only the label value `active` seals.
    #[must_use]
    pub fn from_label(value: Option<&str>) -> Self {
        if value == Some(Self::Active.label()) {
            Self::Active
        } else {
            Self::Compromised
        }
    }

    /// The label value that gives this status.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Compromised => "compromised",
        }
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A key Secret's fields as the model needs them, borrowed from whatever type the caller read
/// (a watch-cache object, a manifest, a keyring directory).
#[derive(Debug, Clone, Copy, Default)]
pub struct KeySecretFields<'a> {
    /// `metadata.name` (a keyring directory: the file stem).
    pub name: &'a str,
    /// The sealing-key label's value, when labelled.
    pub label: Option<&'a str>,
    /// `metadata.annotations`.
    pub annotations: Option<&'a BTreeMap<String, String>>,
    /// `metadata.creationTimestamp` (a keyring directory: none).
    pub created: Option<SystemTime>,
    /// `data["tls.key"]`.
    pub tls_key: Option<&'a [u8]>,
    /// `data["tls.crt"]`.
    pub tls_crt: Option<&'a [u8]>,
}

/// Why a key Secret cannot be used. Never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRecordError {
    /// No `tls.key`.
    #[error("no tls.key in data")]
    MissingTlsKey,
    /// `tls.key` is not a readable RSA private key.
    #[error("tls.key: {0}")]
    TlsKey(KeyError),
    /// `tls.crt` is not a readable certificate.
    #[error("tls.crt: {0}")]
    TlsCrt(KeyError),
    /// `tls.crt` certifies another key.
    #[error("tls.crt does not belong to tls.key")]
    CertificateMismatch,
}

/// One sealing key as a key Secret holds it: the single validation and status rule.
#[derive(Debug)]
pub struct KeyRecord {
    /// Secret name (or keyring file stem).
    pub name: String,
    /// The private key.
    pub key: PrivateKey,
    /// Its certificate, when the Secret has `tls.crt`.
    pub certificate: Option<Certificate>,
    /// Whether it may seal.
    pub status: KeyStatus,
    /// `metadata.creationTimestamp`, when known.
    pub created: Option<SystemTime>,
    /// The backed-up annotation, as written.
    pub backed_up_at: Option<String>,
    /// The renewal-request annotation, when it holds an RFC 3339 time.
    pub renewal_requested_at: Option<SystemTime>,
}

impl KeyRecord {
    /// Reads one key Secret: `tls.key` must be an RSA key, and `tls.crt`, when present, its
    /// certificate. The `type` is not checked, as upstream's controller does not check it.
    ///
    /// # Errors
    /// A missing or malformed `tls.key`, a malformed `tls.crt`, or one for another key.
    pub fn from_fields(fields: KeySecretFields<'_>) -> Result<Self, KeyRecordError> {
        let key_pem = fields.tls_key.ok_or(KeyRecordError::MissingTlsKey)?;
        let key = PrivateKey::from_pem(key_pem).map_err(KeyRecordError::TlsKey)?;
        let certificate = match fields.tls_crt {
            Some(pem) => {
                let certificate = Certificate::from_pem(pem).map_err(KeyRecordError::TlsCrt)?;
                if certificate.public_key().fingerprint() != key.fingerprint() {
                    return Err(KeyRecordError::CertificateMismatch);
                }
                Some(certificate)
            }
            None => None,
        };
        let annotation = |name: &str| fields.annotations.and_then(|a| a.get(name));
        Ok(Self {
            name: fields.name.to_owned(),
            key,
            certificate,
            status: KeyStatus::from_label(fields.label),
            created: fields.created,
            backed_up_at: annotation(BACKED_UP_AT_ANNOTATION).cloned(),
            renewal_requested_at: annotation(RENEWAL_REQUESTED_AT_ANNOTATION)
                .and_then(|text| parse_time(text)),
        })
    }

    /// Public fingerprint.
    #[must_use]
    pub fn fingerprint(&self) -> &Fingerprint {
        self.key.fingerprint()
    }

    /// The time that orders this key under `order`; the other time when the chosen one is
    /// unknown, else the epoch.
    #[must_use]
    pub fn ordering_time(&self, order: KeyOrder) -> SystemTime {
        let not_before = self.certificate.as_ref().map(Certificate::not_before);
        let (first, second) = match order {
            KeyOrder::CertNotBefore => (not_before, self.created),
            KeyOrder::SecretCreationTimestamp => (self.created, not_before),
        };
        first.or(second).unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// The backed-up annotation as a time, when it holds one.
    #[must_use]
    pub fn backed_up_at_time(&self) -> Option<SystemTime> {
        parse_time(self.backed_up_at.as_deref()?)
    }

    /// Whether the key may seal: active, and with a certificate to seal to.
    #[must_use]
    pub fn can_seal(&self) -> bool {
        self.status == KeyStatus::Active && self.certificate.is_some()
    }
}

/// The one key order: newest ordering time first; among equal times (certificates made in the
/// same second) the newer Secret, then the smaller fingerprint, so every reader, whatever order
/// it listed the Secrets in, picks the same sealing key. Not the name: a key keeps its
/// fingerprint through a backup and restore, not its Secret name or file stem.
#[must_use]
pub fn newest_first(a: &KeyRecord, b: &KeyRecord, order: KeyOrder) -> Ordering {
    b.ordering_time(order)
        .cmp(&a.ordering_time(order))
        .then_with(|| b.created.cmp(&a.created))
        .then_with(|| a.fingerprint().cmp(b.fingerprint()))
}

/// Sorts records by [`newest_first`].
pub fn sort_newest_first<T>(records: &mut [T], record: impl Fn(&T) -> &KeyRecord, order: KeyOrder) {
    records.sort_by(|a, b| newest_first(record(a), record(b), order));
}

/// The key that seals among records sorted by [`newest_first`]: the first that
/// [`can seal`](KeyRecord::can_seal).
pub fn sealing_key<'a, T: 'a>(
    sorted: impl IntoIterator<Item = &'a T>,
    record: impl Fn(&T) -> &KeyRecord,
) -> Option<&'a T> {
    sorted.into_iter().find(|item| record(item).can_seal())
}

/// `t` without its fraction of a second: certificate and Secret times have whole seconds, so
/// times compared with them are truncated the same way.
#[must_use]
pub fn whole_seconds(t: SystemTime) -> SystemTime {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(t, |d| {
        SystemTime::UNIX_EPOCH + Duration::from_secs(d.as_secs())
    })
}

/// Reads an RFC 3339 time (what the annotations hold).
#[must_use]
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let timestamp: jiff::Timestamp = text.trim().parse().ok()?;
    Some(timestamp.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys;

    fn record(
        name: &str,
        label: Option<&str>,
        key: &PrivateKey,
        certificate: Option<&Certificate>,
        created: u64,
    ) -> KeyRecord {
        let key_pem = key.to_pkcs1_pem();
        let crt_pem = certificate.map(Certificate::to_pem);
        KeyRecord::from_fields(KeySecretFields {
            name,
            label,
            annotations: None,
            created: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(created)),
            tls_key: Some(key_pem.as_bytes()),
            tls_crt: crt_pem.as_deref().map(str::as_bytes),
        })
        .unwrap()
    }

    #[test]
    fn status_rule() {
        assert_eq!(KeyStatus::from_label(Some("active")), KeyStatus::Active);
        assert_eq!(
            KeyStatus::from_label(Some("compromised")),
            KeyStatus::Compromised
        );
        assert_eq!(KeyStatus::from_label(Some("")), KeyStatus::Compromised);
        assert_eq!(KeyStatus::from_label(None), KeyStatus::Compromised);
    }

    #[test]
    fn validation() {
        let key = test_keys::rsa2048();
        let key_pem = key.to_pkcs1_pem();
        let own = test_keys::rsa2048_cert().to_pem();
        let foreign = test_keys::rsa4096_cert().to_pem();
        let fields = |tls_key: Option<&'static [u8]>| KeySecretFields {
            name: "k",
            tls_key,
            ..KeySecretFields::default()
        };
        assert_eq!(
            KeyRecord::from_fields(fields(None)).unwrap_err(),
            KeyRecordError::MissingTlsKey
        );
        assert!(matches!(
            KeyRecord::from_fields(fields(Some(b"not a key"))).unwrap_err(),
            KeyRecordError::TlsKey(_)
        ));
        let with_crt = |crt: &[u8]| {
            KeyRecord::from_fields(KeySecretFields {
                name: "k",
                tls_key: Some(key_pem.as_bytes()),
                tls_crt: Some(crt),
                ..KeySecretFields::default()
            })
        };
        assert!(with_crt(own.as_bytes()).unwrap().certificate.is_some());
        assert_eq!(
            with_crt(foreign.as_bytes()).unwrap_err(),
            KeyRecordError::CertificateMismatch
        );
        assert!(matches!(
            with_crt(b"garbage").unwrap_err(),
            KeyRecordError::TlsCrt(_)
        ));
    }

    #[test]
    fn order_and_sealing_key() {
        let (k2048, c2048) = (test_keys::rsa2048(), test_keys::rsa2048_cert());
        let (k4096, c4096) = (test_keys::rsa4096(), test_keys::rsa4096_cert());
        let newer_cert = if c2048.not_before() > c4096.not_before() {
            "a"
        } else {
            "b"
        };
        // Secret "b" (4096) is the newer Secret; "a" (2048) may have the newer certificate.
        let mut records = vec![
            record("a", Some("active"), &k2048, Some(&c2048), 10),
            record("b", Some("active"), &k4096, Some(&c4096), 20),
        ];
        sort_newest_first(&mut records, |r| r, KeyOrder::SecretCreationTimestamp);
        assert_eq!(records[0].name, "b");
        sort_newest_first(&mut records, |r| r, KeyOrder::CertNotBefore);
        assert_eq!(records[0].name, newer_cert);
        let sealing = sealing_key(&records, |r| r).unwrap();
        assert_eq!(sealing.name, newer_cert);

        // Equal times and equal creation: the smaller fingerprint, whatever the names.
        let smaller = if k2048.fingerprint() < k4096.fingerprint() {
            "z"
        } else {
            "y"
        };
        for names in [("z", "y"), ("y", "z")] {
            let (first, second) = if names.0 == "z" {
                (("z", &k2048), ("y", &k4096))
            } else {
                (("y", &k4096), ("z", &k2048))
            };
            let mut records = vec![
                record(first.0, Some("active"), first.1, None, 5),
                record(second.0, Some("active"), second.1, None, 5),
            ];
            sort_newest_first(&mut records, |r| r, KeyOrder::CertNotBefore);
            assert_eq!(records[0].name, smaller);
        }
        // A key with no certificate cannot seal; a compromised one neither.
        let records = [record("n", Some("active"), &k2048, None, 5)];
        assert!(sealing_key(&records, |r| r).is_none());
        let records = [record("c", Some("compromised"), &k2048, Some(&c2048), 1)];
        assert!(sealing_key(&records, |r| r).is_none());
    }

    #[test]
    fn annotations() {
        let key = test_keys::rsa2048();
        let key_pem = key.to_pkcs1_pem();
        let annotations = BTreeMap::from([
            (
                BACKED_UP_AT_ANNOTATION.to_owned(),
                "2024-01-02T03:04:05Z".to_owned(),
            ),
            (
                RENEWAL_REQUESTED_AT_ANNOTATION.to_owned(),
                "2024-02-02T03:04:05Z".to_owned(),
            ),
        ]);
        let record = KeyRecord::from_fields(KeySecretFields {
            name: "k",
            annotations: Some(&annotations),
            tls_key: Some(key_pem.as_bytes()),
            ..KeySecretFields::default()
        })
        .unwrap();
        assert_eq!(record.backed_up_at.as_deref(), Some("2024-01-02T03:04:05Z"));
        assert_eq!(
            record.backed_up_at_time(),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_164_645))
        );
        assert_eq!(
            record.renewal_requested_at,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_706_843_045))
        );
    }
}
