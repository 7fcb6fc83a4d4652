//! The reconcile decision, in two pure steps: [`desired_secret`] unseals a SealedSecret into
//! the Secret it describes (the RSA work), and [`apply_to_existing`] applies upstream's
//! existing-Secret matrix to say what to write, or why not. No I/O; the shell applies it.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Deref, DerefMut};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use seal::{
    Fingerprint, Keyring, SKIP_SET_OWNER_REFERENCES_ANNOTATION, SealedSecret, UnsealOptions,
};
use zeroize::Zeroize as _;

/// Annotation on a pre-existing Secret: the controller may take it over.
pub const MANAGED_ANNOTATION: &str = "sealedsecrets.bitnami.com/managed";
/// Annotation on a pre-existing Secret: merge into it instead of replacing it.
pub const PATCH_ANNOTATION: &str = "sealedsecrets.bitnami.com/patch";

/// A Kubernetes Secret holding plaintext values: wiped when dropped, redacted in `Debug`.
/// Every Secret with values that the controller holds (unsealed, read live, or returned by a
/// write) is kept in one; the API types themselves are plain byte vectors.
#[derive(Clone, Default, PartialEq)]
pub struct PlainSecret(Secret);

impl PlainSecret {
    /// Takes charge of `secret`.
    #[must_use]
    pub fn new(secret: Secret) -> Self {
        Self(secret)
    }
}

impl Deref for PlainSecret {
    type Target = Secret;

    fn deref(&self) -> &Secret {
        &self.0
    }
}

impl DerefMut for PlainSecret {
    fn deref_mut(&mut self) -> &mut Secret {
        &mut self.0
    }
}

impl Drop for PlainSecret {
    fn drop(&mut self) {
        for value in self.0.data.iter_mut().flat_map(BTreeMap::values_mut) {
            value.0.zeroize();
        }
        for value in self.0.string_data.iter_mut().flat_map(BTreeMap::values_mut) {
            value.zeroize();
        }
    }
}

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainSecret")
            .field("namespace", &self.0.metadata.namespace)
            .field("name", &self.0.metadata.name)
            .field(
                "keys",
                &self
                    .0
                    .data
                    .iter()
                    .flat_map(BTreeMap::keys)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// What to do with the Secret.
#[derive(Debug, Clone, PartialEq)]
pub enum SecretAction {
    /// No Secret exists: create this one.
    Create(PlainSecret),
    /// Replace the existing Secret with this one (carries the existing `resourceVersion`).
    Update(PlainSecret),
    /// The Secret is already as it should be.
    Unchanged,
}

/// Why a SealedSecret cannot be applied. Messages never contain plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The values do not open (wrong key, wrong scope, tampered, bad base64, bad template).
    Unseal(String),
    /// A Secret of that name exists and this controller may not touch it.
    Unmanaged(String),
    /// The existing Secret is immutable and its data would have to change.
    Immutable(String),
    /// The API server did not take the write (retried with backoff).
    Write(String),
}

impl Failure {
    /// Event reason, as upstream.
    #[must_use]
    pub fn event_reason(&self) -> &'static str {
        match self {
            Self::Unseal(_) => "ErrUnsealFailed",
            Self::Unmanaged(_) | Self::Immutable(_) | Self::Write(_) => "ErrUpdateFailed",
        }
    }

    /// `reason` label of `sealed_secrets_controller_unseal_errors_total`, as upstream.
    #[must_use]
    pub fn metric_reason(&self) -> &'static str {
        match self {
            Self::Unseal(_) => "unseal",
            Self::Unmanaged(_) => "unmanaged",
            Self::Immutable(_) | Self::Write(_) => "update",
        }
    }

    /// Event message.
    #[must_use]
    pub fn event_message(&self) -> String {
        match self {
            Self::Unseal(e) => format!("Failed to unseal: {e}"),
            Self::Unmanaged(m) | Self::Immutable(m) | Self::Write(m) => m.clone(),
        }
    }

    /// Status condition message.
    #[must_use]
    pub fn status_message(&self) -> String {
        match self {
            Self::Unseal(e) | Self::Immutable(e) | Self::Write(e) => e.clone(),
            Self::Unmanaged(m) => format!("failed update: {m}"),
        }
    }
}

/// Options for unsealing.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecideOptions<'a> {
    /// Accept the deprecated v1 `spec.data` blob.
    pub accept_deprecated_v1_data: bool,
    /// The key that opened this object last time.
    pub key_hint: Option<&'a Fingerprint>,
    /// Limits for rendering `template.data` (`None`: the defaults).
    pub template_limits: Option<&'a gotemplate::Limits>,
}

/// What becomes of labels and annotations on an owned Secret that its template does not have
/// (a tool's, an operator's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OthersMetadata {
    /// The SealedSecret's spec changed (or this controller has not synced it since it
    /// started): the template's labels and annotations replace the Secret's, as upstream.
    Replace,
    /// Nothing in the spec changed: they stay. Putting them back on every change to the Secret
    /// would have the controller and the tool that adds them rewrite it in turn.
    Keep,
}

/// The Secret a SealedSecret describes, before looking at what exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The Secret to create, or to apply to the existing one.
    pub secret: PlainSecret,
    /// The key that opened the values (a hint for next time).
    pub key: Option<Fingerprint>,
}

/// Step one: unseals `sealed` into the Secret it describes (the RSA work).
///
/// # Errors
/// [`Failure::Unseal`] when no key opens the values, the scope does not match, or the
/// template cannot be rendered.
pub fn desired_secret(
    sealed: &SealedSecret,
    keyring: &Keyring,
    options: &DecideOptions<'_>,
) -> Result<Desired, Failure> {
    let unsealed = seal::unseal(
        sealed,
        keyring,
        &UnsealOptions {
            accept_deprecated_v1_data: options.accept_deprecated_v1_data,
            key_hint: options.key_hint,
            template_limits: options.template_limits,
        },
    )
    .map_err(|e| Failure::Unseal(e.to_string()))?;
    Ok(Desired {
        secret: to_k8s_secret(&unsealed.secret)?,
        key: unsealed.key,
    })
}

fn to_k8s_secret(secret: &seal::Secret) -> Result<PlainSecret, Failure> {
    // Metadata holds no secrets: it goes through the shared JSON shape, which keeps every
    // field. Values are copied straight into the wiping wrapper, never into a JSON tree.
    // Metadata comes from the tenant (template, or a v1 blob), so a field Kubernetes cannot
    // read is that object's failure, never a panic of the reconcile.
    let metadata = serde_json::to_value(&secret.metadata)
        .and_then(serde_json::from_value)
        .map_err(|_| {
            Failure::Unseal("the Secret's metadata is not valid Kubernetes metadata".into())
        })?;
    Ok(PlainSecret::new(Secret {
        metadata,
        type_: secret.type_.clone(),
        immutable: secret.immutable,
        data: (!secret.data.is_empty()).then(|| {
            secret
                .data
                .iter()
                .map(|(name, value)| (name.clone(), ByteString(value.expose().to_vec())))
                .collect()
        }),
        string_data: (!secret.string_data.is_empty()).then(|| {
            secret
                .string_data
                .iter()
                .map(|(name, value)| (name.clone(), value.expose().to_owned()))
                .collect()
        }),
    }))
}

/// Whether `metadata` carries `annotation: "true"`.
pub(super) fn annotated(metadata: &ObjectMeta, annotation: &str) -> bool {
    metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(annotation))
        .is_some_and(|v| v == "true")
}

/// A SealedSecret whose template says `skip-set-owner-references` made this Secret: it carries
/// that annotation (from the template) and nothing controls it.
pub(super) fn made_without_owner(metadata: &ObjectMeta) -> bool {
    annotated(metadata, SKIP_SET_OWNER_REFERENCES_ANNOTATION) && controller_of(metadata).is_none()
}

/// The ownerReference that says who controls the object (Kubernetes allows one).
fn controller_of(metadata: &ObjectMeta) -> Option<&OwnerReference> {
    metadata
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true))
}

fn is_controlled_by(secret: &Secret, sealed: &SealedSecret) -> bool {
    let Some(uid) = sealed.metadata.uid.as_deref() else {
        return false;
    };
    secret
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|r: &OwnerReference| r.controller == Some(true) && r.uid == uid)
}

/// Step two, the existing-Secret matrix, as upstream: none → create; owned or `managed` →
/// replace data, labels, annotations (others' kept with [`OthersMetadata::Keep`]) and
/// ownerReferences; `patch` → merge, ownerReferences only if also `managed`; anything else →
/// refuse, untouched.
///
/// Unlike upstream, a Secret that carries `skip-set-owner-references` and that nothing
/// controls counts as owned: a SealedSecret's template made it so (the annotation comes from
/// there), and upstream refuses to update the very Secret it has just created.
///
/// # Errors
/// [`Failure::Unmanaged`] and [`Failure::Immutable`], with upstream's texts.
pub fn apply_to_existing(
    sealed: &SealedSecret,
    mut desired: PlainSecret,
    existing: Option<&Secret>,
    others: OthersMetadata,
) -> Result<SecretAction, Failure> {
    let Some(existing) = existing else {
        return Ok(SecretAction::Create(desired));
    };
    let managed = annotated(&existing.metadata, MANAGED_ANNOTATION);
    let patch = annotated(&existing.metadata, PATCH_ANNOTATION);
    if !is_controlled_by(existing, sealed)
        && !managed
        && !patch
        && !made_without_owner(&existing.metadata)
    {
        return Err(Failure::Unmanaged(format!(
            "Resource {:?} already exists and is not managed by SealedSecret",
            existing.metadata.name.as_deref().unwrap_or_default()
        )));
    }
    let mut next = PlainSecret::new(existing.clone());
    let data = desired.data.take();
    let labels = desired.metadata.labels.take();
    let annotations = desired.metadata.annotations.take();
    let owner_references = desired.metadata.owner_references.take();
    if patch {
        merge_into(&mut next.data, data);
        merge_into(&mut next.metadata.labels, labels);
        merge_into(&mut next.metadata.annotations, annotations);
        if managed {
            next.metadata.owner_references = owner_references;
        }
    } else {
        next.data = data;
        match others {
            OthersMetadata::Keep => {
                merge_into(&mut next.metadata.labels, labels);
                merge_into(&mut next.metadata.annotations, annotations);
            }
            OthersMetadata::Replace => {
                next.metadata.labels = labels;
                next.metadata.annotations = annotations;
            }
        }
        next.metadata.owner_references = owner_references;
    }
    if desired.type_.is_some() {
        next.type_ = desired.type_.take();
    }
    // `immutable` is applied on create only, as upstream: turning it on later could never be
    // undone, and every later change to the SealedSecret would fail until the Secret is deleted.
    if existing.immutable == Some(true)
        && (non_empty(&next.data) != non_empty(&existing.data) || next.type_ != existing.type_)
    {
        return Err(Failure::Immutable(format!(
            "Error updating {}/{}: the target Secret is immutable. Once a Secret is marked as immutable, it is not possible to revert this change nor to mutate the contents of the data field. You can only delete and recreate the Secret.",
            sealed.metadata.namespace(),
            sealed.metadata.name()
        )));
    }
    if same_content(&next, existing) {
        Ok(SecretAction::Unchanged)
    } else {
        Ok(SecretAction::Update(next))
    }
}

/// `--old-gc-behavior`: whether the Secret may go with its deleted SealedSecret (uid
/// `sealed_uid`). As upstream, a Secret without a controller is deleted (that is what
/// `skip-set-owner-references` makes); unlike upstream, never one controlled by something
/// else (such as a new SealedSecret of the same name) nor a `patch`-only Secret, which is
/// someone else's Secret with values merged in.
#[must_use]
pub fn deletable_with(secret: &Secret, sealed_uid: &str) -> bool {
    let foreign_controller = controller_of(&secret.metadata).is_some_and(|r| r.uid != sealed_uid);
    let patch_only = annotated(&secret.metadata, PATCH_ANNOTATION)
        && !annotated(&secret.metadata, MANAGED_ANNOTATION);
    !foreign_controller && !patch_only
}

fn merge_into<V>(target: &mut Option<BTreeMap<String, V>>, source: Option<BTreeMap<String, V>>) {
    if let Some(source) = source {
        target.get_or_insert_with(BTreeMap::new).extend(source);
    }
}

fn non_empty<V>(map: &Option<BTreeMap<String, V>>) -> Option<&BTreeMap<String, V>> {
    map.as_ref().filter(|m| !m.is_empty())
}

fn non_empty_vec<V>(list: &Option<Vec<V>>) -> Option<&Vec<V>> {
    list.as_ref().filter(|l| !l.is_empty())
}

/// Equal for what this controller writes; `None` and empty are the same, as the API server
/// stores them.
fn same_content(a: &Secret, b: &Secret) -> bool {
    non_empty(&a.data) == non_empty(&b.data)
        && non_empty(&a.metadata.labels) == non_empty(&b.metadata.labels)
        && non_empty(&a.metadata.annotations) == non_empty(&b.metadata.annotations)
        && non_empty_vec(&a.metadata.owner_references)
            == non_empty_vec(&b.metadata.owner_references)
        && a.type_ == b.type_
        && a.immutable.unwrap_or(false) == b.immutable.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::ByteString;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use seal::{Certificate, PrivateKey, SealOptions};

    use super::*;

    const KEY: &str = include_str!("../../../seal/tests/fixtures/compat/keys/rsa2048/tls.key");
    const CERT: &str = include_str!("../../../seal/tests/fixtures/compat/keys/rsa2048/tls.crt");
    const FOREIGN: &str =
        include_str!("../../../seal/tests/fixtures/compat/keys/foreign2048/tls.crt");

    fn keyring() -> Keyring {
        let mut ring = Keyring::new();
        ring.insert_with_certificate(
            PrivateKey::from_pem(KEY.as_bytes()).unwrap(),
            Certificate::from_pem(CERT.as_bytes()).unwrap(),
        );
        ring
    }

    /// `testsecret` in `ns` with label mylabel=myvalue and foo=bar, as upstream's suite.
    fn sealed_with(cert: &str, extra_annotations: &[(&str, &str)]) -> SealedSecret {
        let mut yaml = String::from(
            "kind: Secret\nmetadata:\n  name: testsecret\n  namespace: ns\n  labels: {mylabel: myvalue}\n  annotations: {",
        );
        for (k, v) in extra_annotations {
            yaml.push_str(&format!("{k}: '{v}', "));
        }
        yaml.push_str("}\ndata: {foo: YmFy}\n");
        let secret = seal::read_secrets(&yaml).unwrap().remove(0);
        let cert = Certificate::from_pem(cert.as_bytes()).unwrap();
        let mut sealed =
            seal::seal_secret(&secret, cert.public_key(), &SealOptions::default()).unwrap();
        sealed.metadata.uid = Some("uid-1".into());
        sealed
    }

    fn sealed() -> SealedSecret {
        sealed_with(CERT, &[])
    }

    fn existing(
        annotations: &[(&str, &str)],
        owner_uid: Option<&str>,
        data: &[(&str, &str)],
        labels: &[(&str, &str)],
    ) -> Secret {
        let map = |pairs: &[(&str, &str)]| {
            (!pairs.is_empty()).then(|| {
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect::<BTreeMap<_, _>>()
            })
        };
        Secret {
            metadata: ObjectMeta {
                name: Some("testsecret".into()),
                namespace: Some("ns".into()),
                resource_version: Some("41".into()),
                annotations: map(annotations),
                labels: map(labels),
                owner_references: owner_uid.map(|uid| {
                    vec![OwnerReference {
                        api_version: "bitnami.com/v1alpha1".into(),
                        kind: "SealedSecret".into(),
                        name: "testsecret".into(),
                        uid: uid.into(),
                        controller: Some(true),
                        block_owner_deletion: None,
                    }]
                }),
                ..ObjectMeta::default()
            },
            data: (!data.is_empty()).then(|| {
                data.iter()
                    .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
                    .collect()
            }),
            ..Secret::default()
        }
    }

    fn run(sealed: &SealedSecret, existing: Option<&Secret>) -> Result<SecretAction, Failure> {
        run_with(sealed, existing, OthersMetadata::Replace)
    }

    fn run_with(
        sealed: &SealedSecret,
        existing: Option<&Secret>,
        others: OthersMetadata,
    ) -> Result<SecretAction, Failure> {
        let desired = desired_secret(sealed, &keyring(), &DecideOptions::default())?;
        apply_to_existing(sealed, desired.secret, existing, others)
    }

    fn data(secret: &Secret) -> BTreeMap<String, String> {
        secret
            .data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), String::from_utf8(v.0.clone()).unwrap()))
            .collect()
    }

    fn owners(secret: &Secret) -> usize {
        secret.metadata.owner_references.iter().flatten().count()
    }

    /// A v1 `spec.data` blob for `testsecret` in `ns` holding `inner` (a Secret as JSON).
    fn legacy_sealed(inner: &str) -> SealedSecret {
        let cert = Certificate::from_pem(CERT.as_bytes()).unwrap();
        let mut sealed = sealed();
        sealed.spec.encrypted_data.clear();
        let blob = seal::seal_value(cert.public_key(), b"ns/testsecret", inner.as_bytes());
        sealed.spec.data = Some(base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            &blob,
        ));
        sealed
    }

    #[test]
    fn legacy_blob_with_extra_metadata_does_not_panic_the_reconcile() {
        let options = DecideOptions {
            accept_deprecated_v1_data: true,
            key_hint: None,
            template_limits: None,
        };
        // `creationTimestamp: 1` is not Kubernetes metadata: it used to reach an `expect`.
        let sealed = legacy_sealed(
            r#"{"metadata":{"name":"x","creationTimestamp":1,"resourceVersion":{"a":1},"labels":{"team":"a"}},"data":{"foo":"YmFy"}}"#,
        );
        let desired = desired_secret(&sealed, &keyring(), &options).unwrap();
        assert!(desired.secret.metadata.creation_timestamp.is_none());
        assert!(desired.secret.metadata.resource_version.is_none());
        assert_eq!(desired.secret.metadata.labels.clone().unwrap()["team"], "a");
        assert_eq!(
            data(&desired.secret),
            BTreeMap::from([("foo".into(), "bar".into())])
        );
    }

    #[test]
    fn metadata_kubernetes_cannot_read_is_an_unseal_failure_not_a_panic() {
        let mut secret = seal::Secret::new(seal::ObjectMeta::default());
        secret
            .metadata
            .extra
            .insert("creationTimestamp".into(), serde_json::json!(1));
        let Err(Failure::Unseal(message)) = to_k8s_secret(&secret) else {
            panic!("expected an unseal failure")
        };
        assert!(message.contains("metadata"), "{message}");
    }

    #[test]
    fn creates_an_owned_secret_when_none_exists() {
        let Ok(SecretAction::Create(secret)) = run(&sealed(), None) else {
            panic!("expected create")
        };
        assert_eq!(
            data(&secret),
            BTreeMap::from([("foo".into(), "bar".into())])
        );
        assert_eq!(
            secret.metadata.labels.clone().unwrap()["mylabel"],
            "myvalue"
        );
        let owner = &secret.metadata.owner_references.clone().unwrap()[0];
        assert_eq!(
            (owner.uid.as_str(), owner.controller),
            ("uid-1", Some(true))
        );
        assert_eq!(secret.metadata.namespace.as_deref(), Some("ns"));
    }

    #[test]
    fn owned_and_identical_is_unchanged() {
        let Ok(SecretAction::Create(created)) = run(&sealed(), None) else {
            panic!()
        };
        assert_eq!(run(&sealed(), Some(&created)), Ok(SecretAction::Unchanged));
    }

    #[test]
    fn owned_with_drifted_data_is_overwritten() {
        let current = existing(&[], Some("uid-1"), &[("foo", "old"), ("x", "y")], &[]);
        let Ok(SecretAction::Update(next)) = run(&sealed(), Some(&current)) else {
            panic!()
        };
        assert_eq!(data(&next), BTreeMap::from([("foo".into(), "bar".into())]));
        assert_eq!(next.metadata.resource_version.as_deref(), Some("41"));
    }

    #[test]
    fn unowned_without_annotation_is_refused_untouched() {
        let current = existing(&[], None, &[("foo", "old")], &[]);
        let outcome = run(&sealed(), Some(&current));
        let Err(failure) = outcome else { panic!() };
        assert_eq!(failure.event_reason(), "ErrUpdateFailed");
        assert_eq!(failure.metric_reason(), "unmanaged");
        assert_eq!(
            failure.event_message(),
            "Resource \"testsecret\" already exists and is not managed by SealedSecret"
        );
        // Owned by another SealedSecret (another uid) counts as unowned.
        let other = existing(&[], Some("uid-other"), &[], &[]);
        assert!(run(&sealed(), Some(&other)).is_err());
    }

    #[test]
    fn secret_made_without_owner_reference_takes_updates() {
        // What the first reconcile of a skip-set-owner-references SealedSecret creates: the
        // template's annotation, no ownerReference. Upstream refuses it from then on.
        let skip = [(SKIP_SET_OWNER_REFERENCES_ANNOTATION, "true")];
        let s = sealed_with(CERT, &skip);
        let Ok(SecretAction::Create(created)) = run(&s, None) else {
            panic!()
        };
        assert_eq!(owners(&created), 0);
        assert_eq!(run(&s, Some(&created)), Ok(SecretAction::Unchanged));
        let drifted = existing(&skip, None, &[("foo", "old")], &[]);
        let Ok(SecretAction::Update(next)) = run(&s, Some(&drifted)) else {
            panic!()
        };
        assert_eq!(data(&next), BTreeMap::from([("foo".into(), "bar".into())]));
        assert_eq!(owners(&next), 0);
        // The SealedSecret no longer skips them: it owns the Secret from now on.
        let Ok(SecretAction::Update(next)) = run(&sealed(), Some(&drifted)) else {
            panic!()
        };
        assert_eq!(owners(&next), 1);
    }

    #[test]
    fn skip_annotation_does_not_open_a_secret_someone_else_controls() {
        let skip = [(SKIP_SET_OWNER_REFERENCES_ANNOTATION, "true")];
        let s = sealed_with(CERT, &skip);
        let controlled = existing(&skip, Some("uid-of-something-else"), &[], &[]);
        assert!(matches!(
            run(&s, Some(&controlled)),
            Err(Failure::Unmanaged(_))
        ));
        // Nor one without the annotation: skipping owner references is no takeover.
        let unowned = existing(&[], None, &[("foo", "theirs")], &[]);
        assert!(matches!(
            run(&s, Some(&unowned)),
            Err(Failure::Unmanaged(_))
        ));
        let other_value = existing(
            &[(SKIP_SET_OWNER_REFERENCES_ANNOTATION, "false")],
            None,
            &[],
            &[],
        );
        assert!(matches!(
            run(&s, Some(&other_value)),
            Err(Failure::Unmanaged(_))
        ));
    }

    #[test]
    fn managed_takes_over_wholesale() {
        let current = existing(
            &[(MANAGED_ANNOTATION, "true"), ("keep", "no")],
            None,
            &[("foo2", "bar2")],
            &[("extra", "label")],
        );
        let Ok(SecretAction::Update(next)) = run(&sealed(), Some(&current)) else {
            panic!()
        };
        assert_eq!(data(&next), BTreeMap::from([("foo".into(), "bar".into())]));
        assert!(next.metadata.annotations.is_none());
        assert_eq!(
            next.metadata.labels.clone().unwrap(),
            BTreeMap::from([("mylabel".into(), "myvalue".into())])
        );
        assert_eq!(owners(&next), 1);
    }

    #[test]
    fn managed_and_patch_merges_and_owns() {
        let current = existing(
            &[(MANAGED_ANNOTATION, "true"), (PATCH_ANNOTATION, "true")],
            None,
            &[("foo2", "bar2")],
            &[("extra", "label")],
        );
        let Ok(SecretAction::Update(next)) = run(&sealed(), Some(&current)) else {
            panic!()
        };
        assert_eq!(
            data(&next),
            BTreeMap::from([("foo".into(), "bar".into()), ("foo2".into(), "bar2".into())])
        );
        assert_eq!(next.metadata.annotations.as_ref().unwrap().len(), 2);
        assert_eq!(next.metadata.labels.as_ref().unwrap().len(), 2);
        assert_eq!(owners(&next), 1);
    }

    /// kubeseal records the sealing key on the SealedSecret's own metadata
    /// (`sealed-secrets-rs/sealed-with`); the Secret is built from the template, so neither a
    /// created, a replaced nor a patched Secret carries it.
    #[test]
    fn sealed_with_annotation_never_reaches_the_secret() {
        const SEALED_WITH: &str = "sealed-secrets-rs/sealed-with";
        let mut sealed = sealed();
        sealed
            .metadata
            .annotations
            .insert(SEALED_WITH.into(), "SHA256:abc".into());
        let has_it = |secret: &Secret| {
            secret
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(SEALED_WITH))
        };
        let Ok(SecretAction::Create(created)) = run(&sealed, None) else {
            panic!("expected a Secret to create")
        };
        assert!(!has_it(&created));
        assert!(
            created
                .metadata
                .annotations
                .as_ref()
                .is_none_or(BTreeMap::is_empty),
            "the template has no annotations, so neither has the Secret"
        );
        for annotations in [
            &[(MANAGED_ANNOTATION, "true")][..],
            &[(MANAGED_ANNOTATION, "true"), (PATCH_ANNOTATION, "true")],
            &[(PATCH_ANNOTATION, "true")],
        ] {
            let current = existing(annotations, None, &[("old", "x")], &[]);
            let Ok(SecretAction::Update(next)) = run(&sealed, Some(&current)) else {
                panic!("expected an update for {annotations:?}")
            };
            assert!(!has_it(&next), "{annotations:?}");
        }
    }

    #[test]
    fn patch_only_merges_without_owning() {
        let current = existing(
            &[(PATCH_ANNOTATION, "true")],
            None,
            &[("foo2", "bar2")],
            &[],
        );
        let Ok(SecretAction::Update(next)) = run(&sealed(), Some(&current)) else {
            panic!()
        };
        assert_eq!(data(&next).len(), 2);
        assert_eq!(owners(&next), 0);
        assert_eq!(next.metadata.labels.clone().unwrap()["mylabel"], "myvalue");
    }

    #[test]
    fn patch_into_an_empty_secret_does_not_panic_on_missing_maps() {
        let current = existing(&[(PATCH_ANNOTATION, "true")], None, &[], &[]);
        let Ok(SecretAction::Update(next)) = run(&sealed(), Some(&current)) else {
            panic!()
        };
        assert_eq!(data(&next), BTreeMap::from([("foo".into(), "bar".into())]));
        assert_eq!(owners(&next), 0);
    }

    #[test]
    fn foreign_key_fails_to_unseal_without_touching_anything() {
        let outcome = run(&sealed_with(FOREIGN, &[]), None);
        let Err(failure) = outcome else { panic!() };
        assert_eq!(failure.event_reason(), "ErrUnsealFailed");
        assert_eq!(failure.metric_reason(), "unseal");
        assert_eq!(
            failure.event_message(),
            "Failed to unseal: no key could decrypt secret (foo)"
        );
    }

    #[test]
    fn immutable_secret_with_new_data_fails_with_upstream_text() {
        let mut current = existing(
            &[],
            Some("uid-1"),
            &[("foo", "old")],
            &[("mylabel", "myvalue")],
        );
        current.immutable = Some(true);
        let Err(failure) = run(&sealed(), Some(&current)) else {
            panic!()
        };
        assert!(
            failure
                .event_message()
                .contains("the target Secret is immutable")
        );
        assert_eq!(failure.event_reason(), "ErrUpdateFailed");
        // Same data: nothing to do, no error.
        let mut same = existing(
            &[],
            Some("uid-1"),
            &[("foo", "bar")],
            &[("mylabel", "myvalue")],
        );
        same.immutable = Some(true);
        let mut immutable_sealed = sealed();
        immutable_sealed.spec.template.immutable = Some(true);
        assert_eq!(
            run(&immutable_sealed, Some(&same)),
            Ok(SecretAction::Unchanged)
        );
    }

    /// Hand edits to an owned Secret were put back wholesale, labels and annotations that a
    /// tool adds included: the tool and the controller then rewrote it in turn.
    #[test]
    fn others_labels_and_annotations_stay_until_the_spec_changes() {
        let current = existing(
            &[("tool.example.com/stamp", "1")],
            Some("uid-1"),
            &[("foo", "bar")],
            &[("mylabel", "myvalue"), ("app.kubernetes.io/instance", "x")],
        );
        // In sync apart from others' metadata: nothing to write.
        assert_eq!(
            run_with(&sealed(), Some(&current), OthersMetadata::Keep),
            Ok(SecretAction::Unchanged)
        );
        // Data or a template label edited by hand: put back, others' metadata kept.
        let mut edited = current.clone();
        edited.data = existing(&[], None, &[("foo", "hacked")], &[]).data;
        edited
            .metadata
            .labels
            .as_mut()
            .unwrap()
            .insert("mylabel".into(), "changed".into());
        let Ok(SecretAction::Update(next)) =
            run_with(&sealed(), Some(&edited), OthersMetadata::Keep)
        else {
            panic!()
        };
        assert_eq!(data(&next), data(&current));
        assert_eq!(next.metadata.labels, current.metadata.labels);
        assert_eq!(next.metadata.annotations, current.metadata.annotations);
        // The spec changed: the template's labels and annotations replace them, as upstream.
        let Ok(SecretAction::Update(next)) =
            run_with(&sealed(), Some(&current), OthersMetadata::Replace)
        else {
            panic!()
        };
        assert_eq!(
            next.metadata.labels,
            Some(BTreeMap::from([("mylabel".into(), "myvalue".into())]))
        );
        assert_eq!(next.metadata.annotations, None);
    }

    /// Adding `template.immutable: true` made an existing Secret immutable, for good; upstream
    /// sets it on create only.
    #[test]
    fn template_immutable_added_later_leaves_an_existing_secret_mutable() {
        let current = existing(
            &[],
            Some("uid-1"),
            &[("foo", "old")],
            &[("mylabel", "myvalue")],
        );
        let mut s = sealed();
        s.spec.template.immutable = Some(true);
        let Ok(SecretAction::Update(secret)) = run(&s, Some(&current)) else {
            panic!()
        };
        assert_eq!(secret.immutable, None);
    }

    #[test]
    fn template_immutable_and_type_are_applied() {
        let mut s = sealed();
        s.spec.template.immutable = Some(true);
        s.spec.template.type_ = Some("kubernetes.io/dockerconfigjson".into());
        let Ok(SecretAction::Create(secret)) = run(&s, None) else {
            panic!()
        };
        assert_eq!(secret.immutable, Some(true));
        assert_eq!(
            secret.type_.as_deref(),
            Some("kubernetes.io/dockerconfigjson")
        );
    }

    #[test]
    fn renamed_strict_fails_and_cluster_wide_renamed_succeeds() {
        let mut strict = sealed();
        strict.metadata.name = Some("renamed".into());
        assert!(matches!(run(&strict, None), Err(Failure::Unseal(_))));
        let mut wide = sealed_with(CERT, &[("sealedsecrets.bitnami.com/cluster-wide", "true")]);
        wide.metadata.name = Some("renamed".into());
        wide.metadata.namespace = Some("elsewhere".into());
        let Ok(SecretAction::Create(secret)) = run(&wide, None) else {
            panic!()
        };
        assert_eq!(secret.metadata.name.as_deref(), Some("renamed"));
        assert_eq!(secret.metadata.namespace.as_deref(), Some("elsewhere"));
    }

    #[test]
    fn old_gc_deletes_only_what_the_sealed_secret_made_or_manages() {
        let uid = "uid-of-sealed";
        assert!(deletable_with(&existing(&[], Some(uid), &[], &[]), uid));
        // skip-set-owner-references: no owner at all.
        assert!(deletable_with(&existing(&[], None, &[], &[]), uid));
        assert!(deletable_with(
            &existing(&[(MANAGED_ANNOTATION, "true")], None, &[], &[]),
            uid
        ));
        assert!(deletable_with(
            &existing(
                &[(MANAGED_ANNOTATION, "true"), (PATCH_ANNOTATION, "true")],
                None,
                &[],
                &[]
            ),
            uid
        ));
        assert!(!deletable_with(
            &existing(&[], Some("uid-of-a-newer-one"), &[], &[]),
            uid
        ));
        assert!(!deletable_with(
            &existing(&[(PATCH_ANNOTATION, "true")], None, &[], &[]),
            uid
        ));
    }

    #[test]
    fn debug_output_never_carries_plaintext() {
        let action = run(&sealed(), None).unwrap();
        let Ok(SecretAction::Create(secret)) = run(&sealed(), None) else {
            panic!()
        };
        assert_eq!(data(&secret)["foo"], "bar");
        for text in [format!("{action:?}"), format!("{secret:?}")] {
            // Nor as text, base64 or the bytes k8s-openapi's Debug would list.
            for leak in ["bar", "YmFy", "98, 97, 114"] {
                assert!(!text.contains(leak), "{text}");
            }
            assert!(
                text.contains("foo") && text.contains("testsecret"),
                "{text}"
            );
        }
    }

    #[test]
    fn failure_messages_never_carry_plaintext() {
        let mut s = sealed();
        s.spec.template.data = Some(BTreeMap::from([("t".into(), "{{ fail .foo }}".into())]));
        let failure = run(&s, None).expect_err("a template that fails");
        for text in [failure.event_message(), failure.status_message()] {
            assert!(!text.contains("bar"), "{text}");
        }
    }
}
