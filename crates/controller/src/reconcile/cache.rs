//! What the Secret watch cache keeps: each Secret's metadata, type and immutability, and a
//! keyed digest of its data instead of the values.
//!
//! The cache answers the two questions a reconcile asks most, without a request: "is the
//! Secret already exactly what we would write?" (every resync and restart) and "is it someone
//! else's?". Whenever a write is due, the Secret is read live and the decision is made on it,
//! so the write never starts from a stale or partial copy. Holding digests instead of values
//! keeps plaintext out of the cache and makes its size independent of the Secrets' sizes
//! (Helm release Secrets can be close to 1 MiB each); Secrets this controller neither owns nor
//! may manage keep only their name, and kubectl's last-applied copy (which holds the values)
//! keeps only its key.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use aws_lc_rs::hmac;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use seal::SecretBytes;
use serde::{Deserialize, Deserializer};

use super::decide::{
    Failure, MANAGED_ANNOTATION, OthersMetadata, PATCH_ANNOTATION, PlainSecret, SecretAction,
    annotated, apply_to_existing, made_without_owner,
};

/// A keyed digest (HMAC-SHA-256 under a per-process random key) of a Secret's `data`.
/// Absent and empty data have the same digest, as the API server stores them alike.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DataDigest([u8; 32]);

impl DataDigest {
    /// The digest of `data`.
    #[must_use]
    pub fn of(data: Option<&BTreeMap<String, ByteString>>) -> Self {
        Self::of_entries(
            data.into_iter()
                .flatten()
                .map(|(name, value)| (name.as_str(), value.0.as_slice())),
        )
    }

    /// The digest of `(name, value)` entries in name order.
    fn of_entries<'a>(entries: impl Iterator<Item = (&'a str, &'a [u8])>) -> Self {
        static KEY: OnceLock<hmac::Key> = OnceLock::new();
        let key = KEY.get_or_init(|| {
            hmac::Key::generate(hmac::HMAC_SHA256, &aws_lc_rs::rand::SystemRandom::new())
                .expect("the system RNG works")
        });
        let mut context = hmac::Context::with_key(key);
        // Length-prefixed, so that no two different maps feed the same bytes.
        for (name, value) in entries {
            context.update(&(name.len() as u64).to_be_bytes());
            context.update(name.as_bytes());
            context.update(&(value.len() as u64).to_be_bytes());
            context.update(value);
        }
        let mut digest = [0; 32];
        digest.copy_from_slice(context.sign().as_ref());
        Self(digest)
    }
}

impl Default for DataDigest {
    fn default() -> Self {
        Self::of(None)
    }
}

impl fmt::Debug for DataDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataDigest(..)")
    }
}

/// A watched Secret's `data`, decoded into buffers that are wiped when dropped: every Secret
/// in the cluster passes through here, and its values must not stay in freed memory.
fn wiped_data<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<BTreeMap<String, SecretBytes>>, D::Error> {
    Option::<BTreeMap<String, SecretBytes>>::deserialize(deserializer)
}

fn digest_of_data<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DataDigest, D::Error> {
    let data = wiped_data(deserializer)?;
    Ok(DataDigest::of_entries(
        data.iter()
            .flatten()
            .map(|(name, value)| (name.as_str(), value.expose())),
    ))
}

/// A Secret as the watch cache keeps it (see the module docs). Watched and listed as
/// `v1/Secret`; only deserialized, never written.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CachedSecret {
    /// The Secret's metadata, without field-ownership records or its own uid.
    pub metadata: ObjectMeta,
    /// `type`.
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// `immutable`.
    #[serde(default)]
    pub immutable: Option<bool>,
    /// Digest of `data`.
    #[serde(default, rename = "data", deserialize_with = "digest_of_data")]
    pub data: DataDigest,
}

watched_as_secret!(CachedSecret);

/// True when a SealedSecret owns `secret` (it is the controller owner).
#[must_use]
pub fn owned_by_sealed_secret(metadata: &ObjectMeta) -> bool {
    metadata.owner_references.iter().flatten().any(|r| {
        r.kind == "SealedSecret"
            && r.api_version.starts_with("bitnami.com/")
            && r.controller == Some(true)
    })
}

impl CachedSecret {
    /// A SealedSecret owns this Secret or may take it over: when it changes or goes, its
    /// SealedSecret is reconciled (and re-creates it). A `patch`-only Secret is not, as
    /// upstream: deleting it deletes it.
    #[must_use]
    pub fn wanted_back(&self) -> bool {
        owned_by_sealed_secret(&self.metadata) || annotated(&self.metadata, MANAGED_ANNOTATION)
    }

    /// A SealedSecret owns this Secret, made it without an ownerReference, or its annotations
    /// let one take it over or patch it.
    #[must_use]
    pub fn concerns_sealed_secrets(&self) -> bool {
        self.wanted_back()
            || annotated(&self.metadata, PATCH_ANNOTATION)
            || made_without_owner(&self.metadata)
    }

    /// Drops what no decision reads, before the Secret enters the cache.
    pub fn slim(&mut self) {
        self.metadata.managed_fields = None;
        self.metadata.uid = None;
        if !self.concerns_sealed_secrets() {
            // Only its existence matters: any SealedSecret of that name is refused.
            self.metadata.labels = None;
            self.metadata.annotations = None;
            self.metadata.owner_references = None;
            self.metadata.finalizers = None;
            self.type_ = None;
        }
        // kubectl's copy of an applied Secret holds its values. The key stays (the cache must
        // still see that the annotation exists, as the decision on the live Secret would), the
        // value goes: no decision compares it, since the template never sets it.
        if let Some(annotations) = self.metadata.annotations.as_mut() {
            for annotation in seal::manifest::LAST_APPLIED_ANNOTATIONS {
                if let Some(value) = annotations.get_mut(annotation) {
                    zeroize::Zeroize::zeroize(value);
                }
            }
        }
    }

    /// The outcome for `desired`, when the cache alone settles it: the Secret is someone
    /// else's (decided on metadata alone), or it already holds exactly what would be written.
    /// `None`: a write may be due; decide on the live Secret.
    #[must_use]
    pub fn settled_outcome(
        &self,
        sealed: &seal::SealedSecret,
        desired: &PlainSecret,
        others: OthersMetadata,
    ) -> Option<Result<SecretAction, Failure>> {
        let same_data = self.data == DataDigest::of(desired.data.as_ref());
        // With equal digests, the cached Secret with the desired values is the live one as far
        // as the matrix looks.
        let probe = PlainSecret::new(Secret {
            metadata: self.metadata.clone(),
            type_: self.type_.clone(),
            immutable: self.immutable,
            data: same_data.then(|| desired.data.clone()).flatten(),
            ..Secret::default()
        });
        match apply_to_existing(sealed, desired.clone(), Some(&probe), others) {
            Err(unmanaged @ Failure::Unmanaged(_)) => Some(Err(unmanaged)),
            Ok(SecretAction::Unchanged) if same_data => Some(Ok(SecretAction::Unchanged)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, ByteString> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
            .collect()
    }

    #[test]
    fn digest_tells_data_apart_and_treats_empty_as_absent() {
        let ab = data(&[("a", "b")]);
        assert_eq!(DataDigest::of(Some(&ab)), DataDigest::of(Some(&ab.clone())));
        assert_ne!(
            DataDigest::of(Some(&ab)),
            DataDigest::of(Some(&data(&[("a", "c")])))
        );
        // Moving bytes between name and value, or between entries, changes the digest.
        assert_ne!(
            DataDigest::of(Some(&data(&[("ab", "")]))),
            DataDigest::of(Some(&data(&[("a", "b")])))
        );
        assert_ne!(
            DataDigest::of(Some(&data(&[("a", "bc")]))),
            DataDigest::of(Some(&data(&[("a", "b"), ("c", "")])))
        );
        assert_eq!(DataDigest::of(None), DataDigest::of(Some(&BTreeMap::new())));
        assert_eq!(format!("{:?}", DataDigest::of(Some(&ab))), "DataDigest(..)");
    }

    #[test]
    fn cached_secret_keeps_a_digest_not_the_values() {
        let json = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "namespace": "ns", "uid": "u", "resourceVersion": "7",
                "managedFields": [{"manager": "kubectl"}],
                "ownerReferences": [{"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
                    "name": "s", "uid": "owner", "controller": true}]},
            "type": "Opaque",
            "data": {"password": "aHVudGVyMg=="}
        });
        let mut cached: CachedSecret = serde_json::from_value(json).unwrap();
        cached.slim();
        assert_eq!(
            cached.data,
            DataDigest::of(Some(&data(&[("password", "hunter2")])))
        );
        assert!(cached.metadata.managed_fields.is_none() && cached.metadata.uid.is_none());
        assert!(cached.concerns_sealed_secrets());
        assert_eq!(cached.type_.as_deref(), Some("Opaque"));
        let debug = format!("{cached:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("aHVudGVyMg"),
            "{debug}"
        );

        // A patched Secret that kubectl applied: its last-applied copy keeps its key only.
        let json = serde_json::json!({
            "metadata": {"name": "s", "namespace": "ns", "annotations": {
                "sealedsecrets.bitnami.com/patch": "true",
                "kubectl.kubernetes.io/last-applied-configuration":
                    "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"}},
            "data": {"password": "aHVudGVyMg=="}
        });
        let mut cached: CachedSecret = serde_json::from_value(json).unwrap();
        cached.slim();
        let annotations = cached.metadata.annotations.as_ref().unwrap();
        assert_eq!(
            annotations["kubectl.kubernetes.io/last-applied-configuration"],
            ""
        );
        assert_eq!(annotations["sealedsecrets.bitnami.com/patch"], "true");
        assert!(!format!("{cached:?}").contains("aHVudGVyMg"));
    }

    #[test]
    fn secret_watch_decodes_data_into_wiping_buffers() {
        let json = serde_json::json!({"password": "aHVudGVyMg==", "user": "YWRtaW4="});
        // The decoded values are `SecretBytes`, which wipe on drop; the digest is the same as
        // over plain buffers.
        let decoded: Option<BTreeMap<String, SecretBytes>> = wiped_data(json.clone()).unwrap();
        let decoded = decoded.unwrap();
        assert_eq!(decoded["password"].expose(), b"hunter2");
        assert!(!format!("{decoded:?}").contains("hunter2"));
        assert_eq!(
            digest_of_data(json).unwrap(),
            DataDigest::of(Some(&data(&[("password", "hunter2"), ("user", "admin")])))
        );
        assert_eq!(
            digest_of_data(serde_json::Value::Null).unwrap(),
            DataDigest::default()
        );
    }

    #[test]
    fn unrelated_secrets_keep_only_their_name() {
        let json = serde_json::json!({
            "metadata": {"name": "helm-release", "namespace": "ns", "resourceVersion": "9",
                "labels": {"owner": "helm"}, "annotations": {"big": "x".repeat(10_000)}},
            "type": "helm.sh/release.v1",
            "data": {"release": "eA=="}
        });
        let mut cached: CachedSecret = serde_json::from_value(json).unwrap();
        cached.slim();
        assert!(!cached.concerns_sealed_secrets());
        assert_eq!(cached.metadata.name.as_deref(), Some("helm-release"));
        assert!(cached.metadata.labels.is_none() && cached.metadata.annotations.is_none());
        assert!(cached.type_.is_none());
    }

    #[test]
    fn secret_made_without_owner_reference_keeps_its_metadata() {
        // The annotation is all that says a SealedSecret made it: the cache must not drop it.
        let json = serde_json::json!({
            "metadata": {"name": "testsecret", "namespace": "ns", "resourceVersion": "9",
                "annotations": {"sealedsecrets.bitnami.com/skip-set-owner-references": "true"}},
            "data": {"foo": "YmFy"}
        });
        let mut cached: CachedSecret = serde_json::from_value(json).unwrap();
        cached.slim();
        assert!(cached.concerns_sealed_secrets());
        assert!(!cached.wanted_back());
        assert!(cached.metadata.annotations.is_some());
    }
}
