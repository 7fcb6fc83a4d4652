//! Whole objects: Secret → SealedSecret ([`seal_secret`]) and back ([`unseal`]), plus the
//! template-free operations the controller's HTTP API offers ([`verify`], [`reencrypt`]).

use std::collections::BTreeMap;
use std::fmt;

use crate::format::{OpenError, seal_value};
use crate::keyring::Keyring;
use crate::keys::{Fingerprint, PublicKey};
use crate::manifest::{
    LAST_APPLIED_ANNOTATIONS, ObjectMeta, OwnerReference, SEALED_SECRET_API_VERSION,
    SEALED_SECRET_KIND, SealedSecret, Secret,
};
use crate::scope::{CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION, Scope};
use crate::secret::{SecretBytes, encode_base64};
use gotemplate::TemplateError;

/// Annotation on the template: the produced Secret gets no ownerReference.
pub const SKIP_SET_OWNER_REFERENCES_ANNOTATION: &str =
    "sealedsecrets.bitnami.com/skip-set-owner-references";

/// Choices for [`seal_secret`] (the `kubeseal` flags that shape one object).
#[derive(Debug, Clone, Default)]
pub struct SealOptions {
    /// Rewrite the scope annotations to this scope (`--scope`, when not the default).
    pub scope: Option<Scope>,
    /// Override the Secret's name (`--name`).
    pub name: Option<String>,
    /// Namespace given explicitly (`-n`): fills a missing namespace; a different one is an error.
    pub namespace: Option<String>,
    /// Namespace of the kubeconfig context: fills a missing namespace when `namespace` is unset.
    pub default_namespace: Option<String>,
    /// Accept a Secret with no `data` and no `stringData` (`--allow-empty-data`).
    pub allow_empty_data: bool,
}

/// Why a Secret cannot be sealed. Holds names, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// No data to seal.
    #[error(
        "secret.data is empty in input Secret, assuming this is an error and aborting. To work with empty data, --allow-empty-data can be used"
    )]
    EmptyData,
    /// No `metadata.name` and no override.
    #[error("missing metadata.name in input Secret")]
    MissingName,
    /// No namespace from the input, the flag or the context.
    #[error("secret must declare a namespace")]
    MissingNamespace,
    /// `-n` disagrees with the input.
    #[error(
        "namespace mismatch: input secret is in namespace {input:?} but {given:?} was specified"
    )]
    NamespaceMismatch {
        /// Namespace in the input.
        input: String,
        /// Namespace given with `-n`.
        given: String,
    },
}

/// Seals one Secret with `public_key`.
///
/// The SealedSecret's outer metadata gets the name, namespace and scope annotations; its
/// template gets the Secret's metadata without server-side fields, ownerReferences and the
/// last-applied annotations (which hold the plaintext). `stringData` wins over `data`.
pub fn seal_secret(
    secret: &Secret,
    public_key: &PublicKey,
    options: &SealOptions,
) -> Result<SealedSecret, SealError> {
    if secret.data.is_empty() && secret.string_data.is_empty() && !options.allow_empty_data {
        return Err(SealError::EmptyData);
    }
    let mut metadata = secret.metadata.clone();
    if let Some(name) = &options.name {
        metadata.name = Some(name.clone());
    }
    if metadata.name().is_empty() {
        return Err(SealError::MissingName);
    }
    if let Some(scope) = options.scope {
        scope.write_annotations(&mut metadata.annotations);
    }
    let scope = Scope::from_annotations(&metadata.annotations);
    match (&options.namespace, metadata.namespace()) {
        (Some(given), input) if !input.is_empty() && input != given => {
            return Err(SealError::NamespaceMismatch {
                input: input.to_owned(),
                given: given.clone(),
            });
        }
        (given, "") if scope != Scope::ClusterWide => {
            metadata.namespace = given
                .clone()
                .or_else(|| options.default_namespace.clone())
                .filter(|ns| !ns.is_empty());
            if metadata.namespace.is_none() {
                return Err(SealError::MissingNamespace);
            }
        }
        _ => {}
    }
    for annotation in LAST_APPLIED_ANNOTATIONS {
        metadata.annotations.remove(annotation);
    }
    metadata.owner_references.clear();
    metadata.uid = None;
    metadata.extra.clear();

    let label = scope.label(metadata.namespace(), metadata.name());
    let mut sealed = SealedSecret::new(ObjectMeta {
        name: metadata.name.clone(),
        namespace: metadata.namespace.clone(),
        annotations: scope_annotations(&metadata.annotations),
        ..ObjectMeta::default()
    });
    for (key, value) in &secret.data {
        let bytes = seal_value(public_key, &label, value.expose());
        sealed
            .spec
            .encrypted_data
            .insert(key.clone(), encode_base64(&bytes));
    }
    for (key, value) in &secret.string_data {
        let bytes = seal_value(public_key, &label, value.expose().as_bytes());
        sealed
            .spec
            .encrypted_data
            .insert(key.clone(), encode_base64(&bytes));
    }
    sealed.spec.template.type_.clone_from(&secret.type_);
    sealed.spec.template.immutable = secret.immutable;
    sealed.spec.template.metadata = metadata;
    Ok(sealed)
}

fn scope_annotations(annotations: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    annotations
        .iter()
        .filter(|(k, _)| *k == CLUSTER_WIDE_ANNOTATION || *k == NAMESPACE_WIDE_ANNOTATION)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The OAEP label of a SealedSecret: from its outer metadata only, never its template.
#[must_use]
pub fn label_of(sealed: &SealedSecret) -> Vec<u8> {
    Scope::from_annotations(&sealed.metadata.annotations)
        .label(sealed.metadata.namespace(), sealed.metadata.name())
}

/// Why one item failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemError {
    /// The item is not standard padded base64.
    BadBase64,
    /// The sealed bytes did not open.
    Open(OpenError),
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadBase64 => f.write_str("illegal base64 data"),
            Self::Open(e) => e.fmt(f),
        }
    }
}

/// Why a SealedSecret could not be unsealed. Names items, never values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum UnsealError {
    /// Some items failed; grouped as upstream prints them: `no key could decrypt secret (a, b)`.
    #[error("{}", describe_items(.0))]
    Items(Vec<(String, ItemError)>),
    /// Both the v1 `data` blob and `encryptedData` are set.
    #[error(
        "cannot use the field 'encryptedData' and the deprecated field 'data' at the same time"
    )]
    BothDataFields,
    /// The v1 `data` blob is present but not accepted.
    #[error("using deprecated 'data' field, use 'encryptedData' or flip the feature flag")]
    DeprecatedDataRejected,
    /// The v1 `data` blob opened but is not a Secret.
    #[error("deprecated 'data' field does not hold a Secret")]
    DeprecatedDataMalformed,
    /// A `template.data` entry failed to render.
    #[error("cannot render template.data item ({item}): {source}")]
    Template {
        /// The `template.data` key.
        item: String,
        /// What went wrong (no plaintext).
        source: TemplateError,
    },
}

impl UnsealError {
    /// The failing items, when that is the cause.
    #[must_use]
    pub fn items(&self) -> &[(String, ItemError)] {
        match self {
            Self::Items(items) => items,
            _ => &[],
        }
    }
}

fn describe_items(items: &[(String, ItemError)]) -> String {
    let mut groups: Vec<(ItemError, Vec<&str>)> = Vec::new();
    for (key, error) in items {
        match groups.iter_mut().find(|(e, _)| e == error) {
            Some((_, keys)) => keys.push(key),
            None => groups.push((*error, vec![key])),
        }
    }
    groups
        .iter()
        .map(|(error, keys)| format!("{error} ({})", keys.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Choices for [`unseal`].
#[derive(Debug, Clone, Copy, Default)]
pub struct UnsealOptions<'a> {
    /// Accept the deprecated v1 `spec.data` blob (the controller does by default).
    pub accept_deprecated_v1_data: bool,
    /// The key that opened this object last time: tried first.
    pub key_hint: Option<&'a Fingerprint>,
    /// What rendering all of `template.data` may use (output, items, work, time); `None`
    /// means [`gotemplate::Limits::default`]. The deadline runs from the first item.
    pub template_limits: Option<&'a gotemplate::Limits>,
}

/// A Secret unsealed from a SealedSecret.
#[derive(Debug, Clone)]
pub struct Unsealed {
    /// The Secret the controller would write.
    pub secret: Secret,
    /// The key that opened the values; `None` when there were none.
    pub key: Option<Fingerprint>,
}

struct Opened {
    values: BTreeMap<String, SecretBytes>,
    key: Option<Fingerprint>,
}

/// After a failing item, whether to try the others (to name every failing item) or stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnFailure {
    TryTheRest,
    Stop,
}

/// Opens every `encryptedData` item; errors are collected for all items, or for the first.
fn open_items(
    sealed: &SealedSecret,
    keyring: &Keyring,
    hint: Option<&Fingerprint>,
    on_failure: OnFailure,
) -> Result<Opened, UnsealError> {
    let label = label_of(sealed);
    let mut key: Option<Fingerprint> = None;
    let mut values = BTreeMap::new();
    let mut errors = Vec::new();
    for (item, encoded) in &sealed.spec.encrypted_data {
        let Some(bytes) = SecretBytes::decode_base64(encoded) else {
            errors.push((item.clone(), ItemError::BadBase64));
            if on_failure == OnFailure::Stop {
                break;
            }
            continue;
        };
        // Items of one object are nearly always sealed with one key: try the last winner first.
        let hint = key.as_ref().or(hint);
        match keyring.open_value(&label, bytes.expose(), hint) {
            Ok((plaintext, fingerprint)) => {
                if key.as_ref() != Some(fingerprint) {
                    key = Some(fingerprint.clone());
                }
                values.insert(item.clone(), plaintext);
            }
            Err(e) => errors.push((item.clone(), ItemError::Open(e))),
        }
        if on_failure == OnFailure::Stop && !errors.is_empty() {
            break;
        }
    }
    if errors.is_empty() {
        Ok(Opened { values, key })
    } else {
        Err(UnsealError::Items(errors))
    }
}

fn open_legacy_blob(
    sealed: &SealedSecret,
    blob: &str,
    keyring: &Keyring,
    hint: Option<&Fingerprint>,
) -> Result<(Secret, Fingerprint), UnsealError> {
    let item = |e| UnsealError::Items(vec![("data".to_owned(), e)]);
    let bytes = SecretBytes::decode_base64(blob).ok_or_else(|| item(ItemError::BadBase64))?;
    let (plaintext, fingerprint) = keyring
        .open_value(&label_of(sealed), bytes.expose(), hint)
        .map_err(|e| item(ItemError::Open(e)))?;
    let mut secret: Secret = serde_json::from_slice(plaintext.expose())
        .map_err(|_| UnsealError::DeprecatedDataMalformed)?;
    // Only the metadata a Secret can be created with is taken from the blob: the rest
    // (`creationTimestamp`, `resourceVersion`, ...) belongs to the API server and, set by the
    // author of the blob, may not even have the right type.
    secret.metadata.extra.clear();
    secret.metadata.uid = None;
    Ok((secret, fingerprint.clone()))
}

fn legacy_blob(sealed: &SealedSecret) -> Option<&str> {
    sealed.spec.data.as_deref().filter(|d| !d.is_empty())
}

/// Unseals a SealedSecret into the Secret the controller writes: template metadata, type and
/// immutable; decrypted items; rendered `template.data`; name and namespace forced to the
/// SealedSecret's; an ownerReference to it unless the template says
/// `sealedsecrets.bitnami.com/skip-set-owner-references: "true"`.
pub fn unseal(
    sealed: &SealedSecret,
    keyring: &Keyring,
    options: &UnsealOptions<'_>,
) -> Result<Unsealed, UnsealError> {
    let (secret, key) = if let Some(blob) = legacy_blob(sealed) {
        if !sealed.spec.encrypted_data.is_empty() {
            return Err(UnsealError::BothDataFields);
        }
        if !options.accept_deprecated_v1_data {
            return Err(UnsealError::DeprecatedDataRejected);
        }
        let (secret, key) = open_legacy_blob(sealed, blob, keyring, options.key_hint)?;
        (secret, Some(key))
    } else {
        let opened = open_items(sealed, keyring, options.key_hint, OnFailure::TryTheRest)?;
        (
            secret_of_template(sealed, opened.values, options)?,
            opened.key,
        )
    };
    Ok(Unsealed {
        secret: finish_secret(sealed, secret),
        key,
    })
}

/// The Secret the controller would write from `sealed` if its `encryptedData` items opened to
/// `values`: what [`unseal`] does after decrypting, for values recovered some other way (an
/// escrow copy). Templates are rendered; the legacy v1 `data` blob is not read.
pub fn secret_from_values(
    sealed: &SealedSecret,
    values: BTreeMap<String, SecretBytes>,
    options: &UnsealOptions<'_>,
) -> Result<Secret, UnsealError> {
    let secret = secret_of_template(sealed, values, options)?;
    Ok(finish_secret(sealed, secret))
}

/// Template metadata, type and immutable; `values`; rendered `template.data`.
fn secret_of_template(
    sealed: &SealedSecret,
    values: BTreeMap<String, SecretBytes>,
    options: &UnsealOptions<'_>,
) -> Result<Secret, UnsealError> {
    let template = &sealed.spec.template;
    let mut secret = Secret::new(template.metadata.clone());
    secret.type_.clone_from(&template.type_);
    secret.immutable = template.immutable;
    if let Some(templates) = &template.data {
        let inputs: BTreeMap<String, &[u8]> = values
            .iter()
            .map(|(k, v)| (k.clone(), v.expose()))
            .collect();
        let mut rendered = BTreeMap::new();
        let mut budget =
            gotemplate::Budget::new(options.template_limits.cloned().unwrap_or_default());
        for (item, source) in templates {
            let output =
                budget
                    .render(source, &inputs)
                    .map_err(|source| UnsealError::Template {
                        item: item.clone(),
                        source,
                    })?;
            rendered.insert(item.clone(), output);
        }
        drop(inputs);
        secret.data = values;
        secret.data.extend(rendered);
    } else {
        secret.data = values;
    }
    Ok(secret)
}

/// Name and namespace forced to the SealedSecret's; the ownerReference.
fn finish_secret(sealed: &SealedSecret, mut secret: Secret) -> Secret {
    secret.metadata.name.clone_from(&sealed.metadata.name);
    secret
        .metadata
        .namespace
        .clone_from(&sealed.metadata.namespace);
    let skip_owner = sealed
        .spec
        .template
        .metadata
        .annotations
        .get(SKIP_SET_OWNER_REFERENCES_ANNOTATION)
        .is_some_and(|v| v == "true");
    secret.metadata.owner_references = if skip_owner {
        Vec::new()
    } else {
        vec![owner_reference(sealed)]
    };
    secret
}

/// The ownerReference the controller puts on Secrets it produces.
#[must_use]
pub fn owner_reference(sealed: &SealedSecret) -> OwnerReference {
    OwnerReference {
        api_version: SEALED_SECRET_API_VERSION.into(),
        kind: SEALED_SECRET_KIND.into(),
        name: sealed.metadata.name().to_owned(),
        uid: sealed.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: None,
    }
}

/// Checks that every value opens, without rendering templates (which are not bound by the
/// label and would make this an oracle). What `/v1/verify` and `kubeseal --validate` do.
pub fn verify(sealed: &SealedSecret, keyring: &Keyring) -> Result<(), UnsealError> {
    if let Some(blob) = legacy_blob(sealed) {
        if !sealed.spec.encrypted_data.is_empty() {
            return Err(UnsealError::BothDataFields);
        }
        return open_legacy_blob(sealed, blob, keyring, None).map(|_| ());
    }
    open_items(sealed, keyring, None, OnFailure::TryTheRest).map(|_| ())
}

/// [`verify`] that stops at the first item that does not open, naming only that one: what a
/// server answering yes or no does, so that a request full of bad items costs one failure.
pub fn verify_until_first_failure(
    sealed: &SealedSecret,
    keyring: &Keyring,
) -> Result<(), UnsealError> {
    if legacy_blob(sealed).is_some() {
        return verify(sealed, keyring);
    }
    open_items(sealed, keyring, None, OnFailure::Stop).map(|_| ())
}

/// Re-seals every value with `public_key` for the same label, keeping everything else,
/// `template.data` included. The scope is the outer metadata's. What `/v1/rotate` and
/// `kubeseal --re-encrypt` do.
pub fn reencrypt(
    sealed: &SealedSecret,
    keyring: &Keyring,
    public_key: &PublicKey,
) -> Result<SealedSecret, UnsealError> {
    let label = label_of(sealed);
    let mut out = sealed.clone();
    out.status = None;
    out.metadata.uid = None;
    out.metadata.extra.clear();
    if let Some(blob) = legacy_blob(sealed) {
        if !sealed.spec.encrypted_data.is_empty() {
            return Err(UnsealError::BothDataFields);
        }
        let bytes = SecretBytes::decode_base64(blob)
            .ok_or_else(|| UnsealError::Items(vec![("data".into(), ItemError::BadBase64)]))?;
        let (plaintext, _) = keyring
            .open_value(&label, bytes.expose(), None)
            .map_err(|e| UnsealError::Items(vec![("data".into(), ItemError::Open(e))]))?;
        out.spec.data = Some(encode_base64(&seal_value(
            public_key,
            &label,
            plaintext.expose(),
        )));
        return Ok(out);
    }
    let opened = open_items(sealed, keyring, None, OnFailure::TryTheRest)?;
    out.spec.encrypted_data = opened
        .values
        .iter()
        .map(|(k, v)| {
            let bytes = seal_value(public_key, &label, v.expose());
            (k.clone(), encode_base64(&bytes))
        })
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::read_secrets;
    use crate::test_keys;

    fn keyring() -> Keyring {
        let mut ring = Keyring::new();
        ring.insert_with_certificate(test_keys::rsa2048(), test_keys::rsa2048_cert());
        ring
    }

    fn secret(yaml: &str) -> Secret {
        read_secrets(yaml).unwrap().remove(0)
    }

    const BASIC: &str = "kind: Secret\nmetadata:\n  name: mysecret\n  namespace: myns\n  uid: abc\n  resourceVersion: '7'\n  ownerReferences: [{apiVersion: v1, kind: X, name: y, uid: z}]\n  annotations:\n    team: payments\n    kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"password\":\"c2VjcmV0\"}}'\n    kubecfg.ksonnet.io/last-applied-configuration: x\ndata:\n  password: c2VjcmV0\nstringData:\n  password: override\n  user: admin\n";

    #[test]
    fn seal_strips_server_fields_and_plaintext_annotations() {
        let cert = test_keys::rsa2048_cert();
        let sealed =
            seal_secret(&secret(BASIC), cert.public_key(), &SealOptions::default()).unwrap();
        let meta = &sealed.spec.template.metadata;
        assert_eq!(meta.annotations.len(), 1);
        assert_eq!(meta.annotations["team"], "payments");
        assert!(meta.owner_references.is_empty());
        assert!(meta.uid.is_none() && meta.extra.is_empty());
        assert!(sealed.metadata.annotations.is_empty());
        let unsealed = unseal(&sealed, &keyring(), &UnsealOptions::default()).unwrap();
        assert_eq!(unsealed.secret.data["password"].expose(), b"override");
        assert_eq!(unsealed.secret.data["user"].expose(), b"admin");
        assert_eq!(
            unsealed.key.as_ref(),
            Some(test_keys::rsa2048().fingerprint())
        );
    }

    #[test]
    fn namespace_rules() {
        let cert = test_keys::rsa2048_cert();
        let key = cert.public_key();
        let no_ns = secret("kind: Secret\nmetadata: {name: a}\ndata: {k: MQ==}\n");
        assert_eq!(
            seal_secret(&no_ns, key, &SealOptions::default()).unwrap_err(),
            SealError::MissingNamespace
        );
        let from_context = SealOptions {
            default_namespace: Some("ctx".into()),
            ..SealOptions::default()
        };
        assert_eq!(
            seal_secret(&no_ns, key, &from_context)
                .unwrap()
                .metadata
                .namespace(),
            "ctx"
        );
        let explicit = SealOptions {
            namespace: Some("argns".into()),
            default_namespace: Some("ctx".into()),
            ..SealOptions::default()
        };
        assert_eq!(
            seal_secret(&no_ns, key, &explicit)
                .unwrap()
                .metadata
                .namespace(),
            "argns"
        );
        let in_ns = secret("kind: Secret\nmetadata: {name: a, namespace: x}\ndata: {k: MQ==}\n");
        assert_eq!(
            seal_secret(&in_ns, key, &explicit).unwrap_err().to_string(),
            "namespace mismatch: input secret is in namespace \"x\" but \"argns\" was specified"
        );
        let cluster_wide = SealOptions {
            scope: Some(Scope::ClusterWide),
            ..SealOptions::default()
        };
        let sealed = seal_secret(&no_ns, key, &cluster_wide).unwrap();
        assert!(sealed.metadata.namespace.is_none());
        assert_eq!(sealed.metadata.annotations[CLUSTER_WIDE_ANNOTATION], "true");
        assert_eq!(
            sealed.spec.template.metadata.annotations[CLUSTER_WIDE_ANNOTATION],
            "true"
        );
    }

    #[test]
    fn empty_data_and_missing_name() {
        let key = test_keys::rsa2048_cert();
        let empty = secret("kind: Secret\nmetadata: {name: a, namespace: b}\n");
        assert_eq!(
            seal_secret(&empty, key.public_key(), &SealOptions::default()).unwrap_err(),
            SealError::EmptyData
        );
        let allowed = SealOptions {
            allow_empty_data: true,
            ..SealOptions::default()
        };
        assert!(seal_secret(&empty, key.public_key(), &allowed).is_ok());
        let nameless = secret("kind: Secret\nmetadata: {namespace: b}\ndata: {k: MQ==}\n");
        assert_eq!(
            seal_secret(&nameless, key.public_key(), &SealOptions::default()).unwrap_err(),
            SealError::MissingName
        );
        let named = SealOptions {
            name: Some("given".into()),
            ..SealOptions::default()
        };
        let sealed = seal_secret(&nameless, key.public_key(), &named).unwrap();
        assert_eq!(sealed.metadata.name(), "given");
        assert_eq!(sealed.spec.template.metadata.name(), "given");
    }

    #[test]
    fn skip_owner_reference_annotation() {
        let key = test_keys::rsa2048_cert();
        let s = secret(
            "kind: Secret\nmetadata:\n  name: a\n  namespace: b\n  annotations: {sealedsecrets.bitnami.com/skip-set-owner-references: 'true'}\ndata: {k: MQ==}\n",
        );
        let sealed = seal_secret(&s, key.public_key(), &SealOptions::default()).unwrap();
        let out = unseal(&sealed, &keyring(), &UnsealOptions::default()).unwrap();
        assert!(out.secret.metadata.owner_references.is_empty());
    }

    #[test]
    fn scope_comes_from_outer_metadata_only() {
        let key = test_keys::rsa2048_cert();
        let s = secret("kind: Secret\nmetadata: {name: a, namespace: b}\ndata: {k: MQ==}\n");
        let mut sealed = seal_secret(&s, key.public_key(), &SealOptions::default()).unwrap();
        // A template that claims cluster-wide changes nothing: still strict.
        Scope::ClusterWide.write_annotations(&mut sealed.spec.template.metadata.annotations);
        sealed.metadata.name = Some("renamed".into());
        assert!(unseal(&sealed, &keyring(), &UnsealOptions::default()).is_err());
        assert!(verify(&sealed, &keyring()).is_err());
        assert!(reencrypt(&sealed, &keyring(), key.public_key()).is_err());
    }

    #[test]
    fn errors_group_items_like_upstream() {
        let key = test_keys::rsa2048_cert();
        let s =
            secret("kind: Secret\nmetadata: {name: a, namespace: b}\ndata: {x: MQ==, y: MQ==}\n");
        let mut sealed = seal_secret(&s, key.public_key(), &SealOptions::default()).unwrap();
        sealed.metadata.name = Some("moved".into());
        sealed
            .spec
            .encrypted_data
            .insert("z".into(), "not base64!".into());
        let err = unseal(&sealed, &keyring(), &UnsealOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no key could decrypt secret (x, y); illegal base64 data (z)"
        );
    }

    #[test]
    fn legacy_blob_with_extra_metadata_keeps_only_creatable_metadata() {
        let key = test_keys::rsa2048_cert();
        let inner = r#"{"metadata":{"name":"a","uid":"u","creationTimestamp":1,"generation":"x","annotations":{"team":"a"}},"data":{"foo":"YmFy"}}"#;
        let mut sealed = SealedSecret::new(ObjectMeta {
            name: Some("a".into()),
            namespace: Some("b".into()),
            ..ObjectMeta::default()
        });
        sealed.spec.data = Some(encode_base64(&seal_value(
            key.public_key(),
            b"b/a",
            inner.as_bytes(),
        )));
        let accept = UnsealOptions {
            accept_deprecated_v1_data: true,
            key_hint: None,
            template_limits: None,
        };
        let out = unseal(&sealed, &keyring(), &accept).unwrap().secret;
        assert!(out.metadata.extra.is_empty(), "{:?}", out.metadata.extra);
        assert_eq!(out.metadata.uid, None);
        assert_eq!(out.metadata.annotations["team"], "a");
    }

    #[test]
    fn verify_stops_at_the_first_failing_item() {
        let secret = read_secrets(
            "kind: Secret\nmetadata: {name: s, namespace: ns}\ndata: {a: YQ==, b: Yg==, c: Yw==}\n",
        )
        .unwrap()
        .remove(0);
        let cert = test_keys::rsa2048_cert();
        let mut sealed = seal_secret(&secret, cert.public_key(), &SealOptions::default()).unwrap();
        for item in ["a", "b", "c"] {
            sealed
                .spec
                .encrypted_data
                .insert(item.into(), "AAAA".into());
        }
        assert_eq!(verify(&sealed, &keyring()).unwrap_err().items().len(), 3);
        let first = verify_until_first_failure(&sealed, &keyring()).unwrap_err();
        assert_eq!(first.items().len(), 1, "{first}");
        assert_eq!(first.items()[0].0, "a");
    }

    #[test]
    fn legacy_v1_blob() {
        let key = test_keys::rsa2048_cert();
        let inner = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"other","namespace":"elsewhere"},"data":{"foo":"YmFy"}}"#;
        let mut sealed = SealedSecret::new(ObjectMeta {
            name: Some("a".into()),
            namespace: Some("b".into()),
            ..ObjectMeta::default()
        });
        let bytes = seal_value(key.public_key(), b"b/a", inner.as_bytes());
        sealed.spec.data = Some(encode_base64(&bytes));
        assert_eq!(
            unseal(&sealed, &keyring(), &UnsealOptions::default()).unwrap_err(),
            UnsealError::DeprecatedDataRejected
        );
        let accept = UnsealOptions {
            accept_deprecated_v1_data: true,
            key_hint: None,
            template_limits: None,
        };
        let out = unseal(&sealed, &keyring(), &accept).unwrap().secret;
        assert_eq!(out.data["foo"].expose(), b"bar");
        assert_eq!(out.metadata.name(), "a");
        assert_eq!(out.metadata.namespace(), "b");
        assert!(verify(&sealed, &keyring()).is_ok());
        let rotated = reencrypt(&sealed, &keyring(), key.public_key()).unwrap();
        assert_ne!(rotated.spec.data, sealed.spec.data);
        assert!(unseal(&rotated, &keyring(), &accept).is_ok());
        sealed.spec.encrypted_data.insert("x".into(), "AA==".into());
        assert_eq!(
            unseal(&sealed, &keyring(), &accept).unwrap_err(),
            UnsealError::BothDataFields
        );
    }

    /// Security issue: 250 items of a mebibyte each were each rendered with fresh limits and
    /// all kept. One budget covers the whole object.
    #[test]
    fn template_output_budget_is_per_object() {
        let key = test_keys::rsa2048_cert();
        let s = secret("kind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {foo: bar}\n");
        let mut sealed = seal_secret(&s, key.public_key(), &SealOptions::default()).unwrap();
        sealed.spec.template.data = Some(
            (0..250)
                .map(|n| (format!("big{n}"), r#"{{ repeat 1048576 "a" }}"#.to_owned()))
                .collect(),
        );
        // No deadline: unoptimised builds wipe a mebibyte slowly.
        let limits = gotemplate::Limits {
            deadline: std::time::Duration::from_secs(3600),
            ..gotemplate::Limits::default()
        };
        let options = UnsealOptions {
            template_limits: Some(&limits),
            ..UnsealOptions::default()
        };
        let err = unseal(&sealed, &keyring(), &options).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot render template.data item (big1): rendered output per object limit exceeded"
        );
    }

    #[test]
    fn template_data_renders_over_decrypted_values() {
        let key = test_keys::rsa2048_cert();
        let s = secret(
            "kind: Secret\nmetadata: {name: a, namespace: b}\nstringData: {foo: bar, password: 'p\"w'}\n",
        );
        let mut sealed = seal_secret(&s, key.public_key(), &SealOptions::default()).unwrap();
        sealed.spec.template.data = Some(
            [
                (
                    "greeting".to_owned(),
                    "secret {{ index . \"foo\" }} !".to_owned(),
                ),
                ("json".to_owned(), "{{ toJson .password }}".to_owned()),
                ("foo".to_owned(), "overridden {{ .foo }}".to_owned()),
            ]
            .into(),
        );
        let out = unseal(&sealed, &keyring(), &UnsealOptions::default())
            .unwrap()
            .secret;
        assert_eq!(out.data["greeting"].expose(), b"secret bar !");
        assert_eq!(out.data["json"].expose(), b"\"p\\\"w\"");
        assert_eq!(out.data["foo"].expose(), b"overridden bar");
        assert_eq!(out.data["password"].expose(), b"p\"w");
        // Verify never renders templates: a failing template does not make it fail.
        sealed
            .spec
            .template
            .data
            .as_mut()
            .unwrap()
            .insert("boom".into(), "{{ fail .foo }}".into());
        assert!(verify(&sealed, &keyring()).is_ok());
        let err = unseal(&sealed, &keyring(), &UnsealOptions::default()).unwrap_err();
        assert!(matches!(err, UnsealError::Template { .. }));
        assert!(!err.to_string().contains("bar"), "{err}");
        assert!(!format!("{err:?}").contains("bar"), "{err:?}");
    }

    #[test]
    fn secret_from_values_is_what_unseal_writes() {
        let key = test_keys::rsa2048_cert();
        let s = secret(
            "kind: Secret\nmetadata: {name: a, namespace: b, labels: {app: x}}\ntype: kubernetes.io/basic-auth\nstringData: {foo: bar}\n",
        );
        let mut sealed = seal_secret(&s, key.public_key(), &SealOptions::default()).unwrap();
        sealed.spec.template.data = Some([("url".to_owned(), "db://{{ .foo }}".to_owned())].into());
        let options = UnsealOptions::default();
        let unsealed = unseal(&sealed, &keyring(), &options).unwrap().secret;
        let values = [("foo".to_owned(), SecretBytes::from_slice(b"bar"))].into();
        let rebuilt = secret_from_values(&sealed, values, &options).unwrap();
        assert_eq!(rebuilt, unsealed);
        assert_eq!(rebuilt.data["url"].expose(), b"db://bar");
    }

    #[test]
    fn reencrypt_keeps_template_and_changes_ciphertext() {
        let key = test_keys::rsa2048_cert();
        let s = secret(
            "kind: Secret\nmetadata: {name: a, namespace: b, labels: {l: v}}\ndata: {x: MQ==}\n",
        );
        let mut sealed = seal_secret(&s, key.public_key(), &SealOptions::default()).unwrap();
        sealed.spec.template.data = Some([("t".to_owned(), "v={{ .x }}".to_owned())].into());
        let rotated = reencrypt(&sealed, &keyring(), key.public_key()).unwrap();
        assert_ne!(rotated.spec.encrypted_data, sealed.spec.encrypted_data);
        assert_eq!(rotated.spec.template, sealed.spec.template);
    }
}
