//! Sealing keys held in Secrets: which are loaded, which one seals, and when to make a new one.
//! Pure functions over key Secrets as the API server returns them ([`KeySecret`]); the watcher
//! that feeds them and the writer that creates new keys live in [`key_manager`](crate::key_manager).

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use seal::key_record::{self, KeyRecord, KeySecretFields, whole_seconds};
use seal::{Certificate, Fingerprint, Keyring, SEALING_KEY_LABEL, SecretBytes};
use serde::{Deserialize, Deserializer};

/// A key Secret as the key manager caches it: metadata, and values (private keys) held in
/// memory that is wiped when dropped and redacted in `Debug`, where k8s-openapi's `Secret`
/// keeps plain byte vectors for as long as the watch cache lives. Only deserialized.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeySecret {
    /// The Secret's metadata.
    pub metadata: ObjectMeta,
    /// `data`, decoded.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub data: BTreeMap<String, SecretBytes>,
}

watched_as_secret!(KeySecret);

fn null_as_empty<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, SecretBytes>, D::Error> {
    Ok(Option::deserialize(deserializer)?.unwrap_or_default())
}

pub use seal::key_record::{
    BACKED_UP_AT_ANNOTATION, KeyOrder, KeyStatus, RENEWAL_REQUESTED_AT_ANNOTATION,
};

/// What is known of one loaded key (public facts only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Name of the Secret holding it.
    pub secret_name: String,
    /// Fingerprint.
    pub fingerprint: Fingerprint,
    /// Modulus bits.
    pub bits: usize,
    /// The time that orders it.
    pub ordering_time: SystemTime,
    /// Certificate validity end, when it has one.
    pub not_after: Option<SystemTime>,
    /// Whether it may seal.
    pub status: KeyStatus,
    /// When `kubeseal keys backup` last exported it.
    pub backed_up_at: Option<SystemTime>,
}

/// A key Secret that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedKey {
    /// Name of the Secret.
    pub secret_name: String,
    /// Why (never key material).
    pub reason: String,
}

/// All keys the controller holds at one moment.
#[derive(Debug, Default)]
pub struct KeySet {
    /// Every loaded key, newest first: all of them unseal.
    pub keyring: Keyring,
    /// Public facts, in keyring order.
    pub info: Vec<KeyInfo>,
    /// Secrets that were skipped.
    pub malformed: Vec<MalformedKey>,
    /// The latest explicit request for a new key (annotation on any key Secret).
    pub renewal_requested_at: Option<SystemTime>,
}

impl KeySet {
    /// Builds the key set from the labelled key Secrets and the legacy Secret named exactly
    /// `key_prefix` (loaded when present, labelled or not). Malformed Secrets are reported in
    /// `malformed` and skipped, never fatal.
    #[must_use]
    pub fn from_secrets<'a>(
        secrets: impl IntoIterator<Item = &'a KeySecret>,
        key_prefix: &str,
        order: KeyOrder,
    ) -> Self {
        let mut set = Self::default();
        let mut records = Vec::new();
        for secret in secrets {
            let name = secret.metadata.name.as_deref().unwrap_or_default();
            let label = secret
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SEALING_KEY_LABEL));
            if label.is_none() && name != key_prefix {
                continue;
            }
            let annotations = secret.metadata.annotations.as_ref();
            if let Some(requested) = annotations
                .and_then(|a| a.get(RENEWAL_REQUESTED_AT_ANNOTATION))
                .and_then(|text| key_record::parse_time(text))
            {
                set.renewal_requested_at = set.renewal_requested_at.max(Some(requested));
            }
            let fields = KeySecretFields {
                name,
                label: label.map(String::as_str),
                annotations,
                created: secret
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .map(|t| SystemTime::from(t.0)),
                tls_key: secret.data.get("tls.key").map(SecretBytes::expose),
                tls_crt: secret.data.get("tls.crt").map(SecretBytes::expose),
            };
            match KeyRecord::from_fields(fields) {
                Ok(record) => records.push(record),
                Err(error) => set.malformed.push(MalformedKey {
                    secret_name: name.to_owned(),
                    reason: error.to_string(),
                }),
            }
        }
        key_record::sort_newest_first(&mut records, |r| r, order);
        for record in records {
            let ordering_time = record.ordering_time(order);
            let info = KeyInfo {
                secret_name: record.name.clone(),
                fingerprint: record.fingerprint().clone(),
                bits: record.key.public_key().bits(),
                ordering_time,
                not_after: record.certificate.as_ref().map(Certificate::not_after),
                status: record.status,
                backed_up_at: record.backed_up_at_time(),
            };
            // Records come newest first, so the keyring keeps their order.
            if set
                .keyring
                .insert(record.key, record.certificate, ordering_time)
            {
                set.info.push(info);
            } else if info.status == KeyStatus::Compromised
                && let Some(other) = set
                    .info
                    .iter_mut()
                    .find(|i| i.fingerprint == info.fingerprint)
            {
                // The same key under two Secrets: a compromised label wins.
                other.status = KeyStatus::Compromised;
            }
        }
        set
    }

    /// The key that seals: the newest active one with a certificate (the one rule,
    /// [`key_record::sealing_key`], which `kubeseal keys` applies too).
    #[must_use]
    pub fn sealing_key(&self) -> Option<&KeyInfo> {
        self.info
            .iter()
            .find(|i| i.status == KeyStatus::Active && i.not_after.is_some())
    }

    /// Whether another key set holds the same keys in the same roles.
    #[must_use]
    pub fn same_keys(&self, other: &Self) -> bool {
        self.info == other.info
            && self.malformed == other.malformed
            && self.renewal_requested_at == other.renewal_requested_at
    }

    /// The sealing key's certificate, as `/v1/cert.pem` serves it.
    #[must_use]
    pub fn sealing_certificate(&self) -> Option<&Certificate> {
        let info = self.sealing_key()?;
        self.keyring.get(&info.fingerprint)?.certificate()
    }
}

/// The current key set, shared between the key watcher (writer) and everyone else (readers).
/// Readers take a snapshot and never hold the lock across work; `subscribe` tells them when
/// it changed.
#[derive(Debug)]
pub struct SharedKeys {
    current: RwLock<Arc<KeySet>>,
    changes: tokio::sync::watch::Sender<u64>,
}

impl Default for SharedKeys {
    fn default() -> Self {
        Self {
            current: RwLock::default(),
            changes: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl SharedKeys {
    /// The current snapshot.
    #[must_use]
    pub fn get(&self) -> Arc<KeySet> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the snapshot and notifies subscribers.
    pub fn set(&self, keys: KeySet) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        self.changes.send_modify(|epoch| *epoch += 1);
    }

    /// How many times the snapshot was replaced.
    #[must_use]
    pub fn epoch(&self) -> u64 {
        *self.changes.borrow()
    }

    /// A receiver that wakes on every replacement.
    #[must_use]
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

/// When to make the next key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// Now: there is no sealing key.
    NowNoKey,
    /// Now: the newest key predates `--key-cutoff-time`.
    NowCutoff,
    /// Now: the newest key is a whole renewal period old.
    NowDue,
    /// Now: someone asked for a new key after the newest was made.
    NowRequested,
    /// After this long.
    After(Duration),
    /// Never: renewal is disabled and a key exists.
    Never,
}

/// Decides when to renew, from the newest sealing key's ordering time.
#[must_use]
pub fn next_renewal(
    newest: Option<SystemTime>,
    now: SystemTime,
    period: Option<Duration>,
    cutoff: Option<SystemTime>,
    requested: Option<SystemTime>,
) -> Renewal {
    let Some(newest) = newest else {
        return Renewal::NowNoKey;
    };
    // Ordering times (certificate notBefore, creationTimestamp) have whole seconds: compare
    // the request at that precision, or the key it caused would look older than the request
    // and another would follow.
    if requested.is_some_and(|requested| newest < whole_seconds(requested)) {
        return Renewal::NowRequested;
    }
    // A cutoff still ahead is a planned renewal: wake up for it.
    let until_cutoff = match cutoff.filter(|cutoff| newest < *cutoff) {
        Some(cutoff) => match cutoff.duration_since(now) {
            Ok(left) if !left.is_zero() => Some(left),
            _ => return Renewal::NowCutoff,
        },
        None => None,
    };
    let until_due = period.filter(|p| !p.is_zero()).map(|period| {
        let age = now.duration_since(newest).unwrap_or_default();
        period.checked_sub(age).unwrap_or_default()
    });
    match (until_due, until_cutoff) {
        (Some(due), _) if due.is_zero() => Renewal::NowDue,
        (Some(due), Some(cutoff)) => Renewal::After(due.min(cutoff)),
        (Some(left), None) | (None, Some(left)) => Renewal::After(left),
        (None, None) => Renewal::Never,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    const KEY: &str = include_str!("../../seal/tests/fixtures/compat/keys/rsa2048/tls.key");
    const CERT: &str = include_str!("../../seal/tests/fixtures/compat/keys/rsa2048/tls.crt");
    const KEY4096: &str = include_str!("../../seal/tests/fixtures/compat/keys/rsa4096/tls.key");
    const CERT4096: &str = include_str!("../../seal/tests/fixtures/compat/keys/rsa4096/tls.crt");

    fn key_secret(
        name: &str,
        label: Option<&str>,
        key: &str,
        cert: Option<&str>,
        created: i64,
    ) -> KeySecret {
        let mut data = BTreeMap::from([(
            "tls.key".to_owned(),
            SecretBytes::from_slice(key.as_bytes()),
        )]);
        if let Some(cert) = cert {
            data.insert("tls.crt".into(), SecretBytes::from_slice(cert.as_bytes()));
        }
        KeySecret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: label
                    .map(|l| BTreeMap::from([(SEALING_KEY_LABEL.to_owned(), l.to_owned())])),
                creation_timestamp: Some(Time(jiff::Timestamp::from_second(created).unwrap())),
                ..ObjectMeta::default()
            },
            data,
        }
    }

    #[test]
    fn key_secret_reads_the_api_shape_and_never_shows_the_key() {
        use base64::Engine as _;
        let json = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": "k", "namespace": "kube-system"},
            "data": {
                "tls.key": base64::engine::general_purpose::STANDARD.encode(KEY),
                "tls.crt": base64::engine::general_purpose::STANDARD.encode(CERT),
            }
        });
        let secret: KeySecret = serde_json::from_value(json).unwrap();
        assert_eq!(secret.data["tls.key"].expose(), KEY.as_bytes());
        let debug = format!("{secret:?}");
        assert!(
            !debug.contains("PRIVATE KEY") && !debug.contains("LS0t"),
            "{debug}"
        );
        let empty: KeySecret =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "k"}, "data": null}))
                .unwrap();
        assert!(empty.data.is_empty());
        let set = KeySet::from_secrets([&secret], "k", KeyOrder::CertNotBefore);
        assert_eq!(set.info.len(), 1);
    }

    #[test]
    fn loads_active_retired_and_legacy_and_skips_malformed() {
        let secrets = [
            key_secret(
                "sealed-secrets-keyaaaaa",
                Some("active"),
                KEY,
                Some(CERT),
                10,
            ),
            key_secret("sealed-secrets-key", None, KEY4096, Some(CERT4096), 5),
            key_secret("broken", Some("active"), "not a key", None, 20),
            key_secret("unrelated", None, KEY, None, 1),
        ];
        let set = KeySet::from_secrets(&secrets, "sealed-secrets-key", KeyOrder::CertNotBefore);
        assert_eq!(set.keyring.len(), 2);
        assert_eq!(set.malformed.len(), 1);
        assert_eq!(set.malformed[0].secret_name, "broken");
        let sealing = set.sealing_key().unwrap();
        assert_eq!(sealing.secret_name, "sealed-secrets-keyaaaaa");
        assert!(set.sealing_certificate().is_some());
        let legacy = set
            .info
            .iter()
            .find(|i| i.secret_name == "sealed-secrets-key")
            .unwrap();
        assert_eq!(legacy.bits, 4096);
    }

    #[test]
    fn compromised_key_unseals_but_does_not_seal() {
        let secrets = [
            key_secret("new", Some("compromised"), KEY, Some(CERT), 100),
            key_secret("old", Some("active"), KEY4096, Some(CERT4096), 1),
        ];
        let set = KeySet::from_secrets(
            &secrets,
            "sealed-secrets-key",
            KeyOrder::SecretCreationTimestamp,
        );
        assert_eq!(set.keyring.len(), 2);
        assert_eq!(set.sealing_key().unwrap().secret_name, "old");
    }

    #[test]
    fn order_priority_picks_the_newest_by_the_chosen_time() {
        // Both certificates carry a notBefore from the vectors' creation; creation timestamps
        // decide under SecretCreationTimestamp.
        let secrets = [
            key_secret("a", Some("active"), KEY, Some(CERT), 100),
            key_secret("b", Some("active"), KEY4096, Some(CERT4096), 200),
        ];
        let set = KeySet::from_secrets(&secrets, "p", KeyOrder::SecretCreationTimestamp);
        assert_eq!(set.sealing_key().unwrap().secret_name, "b");
        let swapped = [
            key_secret("a", Some("active"), KEY, Some(CERT), 300),
            key_secret("b", Some("active"), KEY4096, Some(CERT4096), 200),
        ];
        let set = KeySet::from_secrets(&swapped, "p", KeyOrder::SecretCreationTimestamp);
        assert_eq!(set.sealing_key().unwrap().secret_name, "a");
    }

    #[test]
    fn regression_equal_ordering_times_pick_the_same_key_in_any_listing_order() {
        // Both certificates have the same notBefore (made in the same second): the sealing key
        // used to depend on the cache's iteration order, so replicas could disagree.
        let older = key_secret("a", Some("active"), KEY4096, Some(CERT4096), 100);
        let newer = key_secret("b", Some("active"), KEY, Some(CERT), 200);
        for secrets in [[&older, &newer], [&newer, &older]] {
            let set = KeySet::from_secrets(secrets, "p", KeyOrder::CertNotBefore);
            assert_eq!(set.sealing_key().unwrap().secret_name, "b");
        }
    }

    /// `kubeseal keys list` and `keys rotate` never took a key without `tls.crt` for the
    /// sealing key; the controller did, and then had no certificate to serve.
    #[test]
    fn regression_a_newest_key_without_certificate_does_not_seal() {
        let secrets = [
            key_secret("new", Some("active"), KEY, None, 100),
            key_secret("old", Some("active"), KEY4096, Some(CERT4096), 1),
        ];
        let set = KeySet::from_secrets(
            &secrets,
            "sealed-secrets-key",
            KeyOrder::SecretCreationTimestamp,
        );
        assert_eq!(set.keyring.len(), 2);
        assert_eq!(set.sealing_key().unwrap().secret_name, "old");
        assert!(set.sealing_certificate().is_some());
    }

    #[test]
    fn mismatched_certificate_is_malformed() {
        let secrets = [key_secret("x", Some("active"), KEY, Some(CERT4096), 1)];
        let set = KeySet::from_secrets(&secrets, "p", KeyOrder::CertNotBefore);
        assert!(set.keyring.is_empty());
        assert_eq!(
            set.malformed[0].reason,
            "tls.crt does not belong to tls.key"
        );
    }

    #[test]
    fn renewal_schedule() {
        let day = Duration::from_secs(86_400);
        let t0 = SystemTime::UNIX_EPOCH + 1000 * day;
        let period = Some(30 * day);
        assert_eq!(
            next_renewal(None, t0, period, None, None),
            Renewal::NowNoKey
        );
        assert_eq!(
            next_renewal(Some(t0), t0 + day, period, None, None),
            Renewal::After(29 * day)
        );
        assert_eq!(
            next_renewal(Some(t0), t0 + 30 * day, period, None, None),
            Renewal::NowDue
        );
        assert_eq!(
            next_renewal(Some(t0), t0 + 90 * day, period, None, None),
            Renewal::NowDue
        );
        assert_eq!(
            next_renewal(Some(t0), t0 + day, None, None, None),
            Renewal::Never
        );
        assert_eq!(
            next_renewal(Some(t0), t0 + day, Some(Duration::ZERO), None, None),
            Renewal::Never
        );
        assert_eq!(
            next_renewal(Some(t0), t0 + 2 * day, None, Some(t0 + day), None),
            Renewal::NowCutoff
        );
        assert_eq!(
            next_renewal(Some(t0), t0 + 2 * day, period, None, Some(t0 + day)),
            Renewal::NowRequested
        );
        assert_eq!(
            next_renewal(Some(t0), t0 + 2 * day, None, None, Some(t0 - day)),
            Renewal::Never
        );
        // Regression: a request with sub-second precision is satisfied by a key made in the
        // same second (notBefore has whole seconds); it used to make a second key.
        let requested = t0 + Duration::from_millis(700);
        assert_eq!(
            next_renewal(Some(t0), t0 + day, None, None, Some(requested)),
            Renewal::Never
        );
        assert_eq!(
            next_renewal(
                Some(t0),
                t0 + day,
                None,
                None,
                Some(requested + Duration::from_secs(1))
            ),
            Renewal::NowRequested
        );
        // A cutoff in the future is waited for, also with renewal disabled (it used to be
        // noticed only when something else woke the renewer); one before the key does
        // nothing at all.
        assert_eq!(
            next_renewal(Some(t0), t0 + day, None, Some(t0 + 5 * day), None),
            Renewal::After(4 * day)
        );
        assert_eq!(
            next_renewal(Some(t0), t0 + day, Some(2 * day), Some(t0 + 5 * day), None),
            Renewal::After(day)
        );
        assert_eq!(
            next_renewal(Some(t0), t0 + 5 * day, None, Some(t0 + 5 * day), None),
            Renewal::NowCutoff
        );
        assert_eq!(
            next_renewal(Some(t0), t0 + day, None, Some(t0 - day), None),
            Renewal::Never
        );
    }
}
