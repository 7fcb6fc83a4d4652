//! The `SealedSecret` custom resource (`bitnami.com/v1alpha1`), wire-compatible with upstream.
//!
//! The CRD in `deploy/crd.yaml` is generated from these types (`cargo run -p
//! sealed-secrets-controller --bin crdgen > deploy/crd.yaml`); a test keeps it in sync.
//! The schema mirrors upstream's Helm CRD (controller-gen output): no shortNames, status
//! subresource, printer columns `Status`/`Synced`/`Age`, `nullable` on `template.metadata` and
//! `template.data`. One deliberate difference: `template.metadata` types every `ObjectMeta`
//! field, not only upstream's five, so that the API server refuses what the controller could
//! not read (see [`template_metadata_schema`]).

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

/// Condition type written by the controller.
pub const CONDITION_SYNCED: &str = "Synced";

/// Specification of a SealedSecret.
// The three `printcolumn(...)` entries share keys, which clippy misreads as duplicates.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "bitnami.com",
    version = "v1alpha1",
    kind = "SealedSecret",
    plural = "sealedsecrets",
    singular = "sealedsecret",
    namespaced,
    status = "SealedSecretStatus",
    doc = "SealedSecret is a Secret encrypted with the controller's public key; only the controller can turn it back into a Secret.",
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.conditions[0].message"
    ),
    printcolumn(
        name = "Synced",
        type_ = "string",
        json_path = ".status.conditions[0].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretSpec {
    /// Sealed values, one per Secret data key (standard base64).
    #[serde(deserialize_with = "lenient_string_map")]
    #[schemars(schema_with = "preserved_string_map_schema")]
    pub encrypted_data: EncryptedData,

    /// Deprecated v1 format: one sealed blob holding a whole serialized Secret. Use encryptedData.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "byte_string_schema")]
    pub data: Option<String>,

    /// Template for the Secret created from this SealedSecret.
    #[serde(default, skip_serializing_if = "SecretTemplateSpec::is_empty")]
    pub template: SecretTemplateSpec,
}

/// The shape of the Secret to create: its metadata, type, immutability and templated data.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretTemplateSpec {
    /// Metadata of the Secret (labels, annotations, finalizers, ...); name and namespace are
    /// always those of the SealedSecret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "template_metadata_schema")]
    // Boxed: an ObjectMeta is large inline, and in the watch cache most templates have
    // none left (the controller drops the name and namespace, which unsealing never reads).
    pub metadata: Option<Box<ObjectMeta>>,

    /// Secret type, e.g. `kubernetes.io/tls`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "string_schema")]
    pub type_: Option<String>,

    /// When true the Secret is created immutable: its data cannot be updated afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "bool_schema")]
    pub immutable: Option<bool>,

    /// Keys rendered with Go text/template syntax from the decrypted values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "nullable_string_map_schema")]
    pub data: Option<BTreeMap<String, String>>,
}

impl SecretTemplateSpec {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Most recently observed state of a SealedSecret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretStatus {
    /// The metadata.generation the controller last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "int64_schema")]
    pub observed_generation: Option<i64>,

    /// Latest observations; the controller writes a single `Synced` condition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<SealedSecretCondition>,
}

/// State of a SealedSecret at a point in time.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretCondition {
    /// Condition type; the controller writes `Synced`.
    #[serde(rename = "type")]
    pub type_: String,

    /// `True`, `False` or `Unknown`.
    pub status: String,

    /// Last time the condition was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "date_time_schema")]
    pub last_update_time: Option<String>,

    /// Last time the status flipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "date_time_schema")]
    pub last_transition_time: Option<String>,

    /// Machine-readable reason for the last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "string_schema")]
    pub reason: Option<String>,

    /// Human-readable details (the error text when unsealing failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "string_schema")]
    pub message: Option<String>,
}

/// `spec.encryptedData`: item name → sealed value (standard base64), sorted by name.
///
/// Reads, writes and compares like the `BTreeMap<String, String>` it stands for (a JSON object,
/// keys in byte order, the last of duplicate keys wins), but is stored as one sorted boxed
/// slice: the watch cache keeps a copy of every SealedSecret, and a B-tree allocates a whole
/// node however few the entries, several times what a few entries take here.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EncryptedData(Box<[(Box<str>, Box<str>)]>);

impl EncryptedData {
    /// Number of items.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no items.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(key))
    }

    /// The sealed value of `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.find(key).ok().map(|i| &*self.0[i].1)
    }

    /// Items in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }

    /// Sets `key` (the slice is rebuilt: meant for tests and tools, not hot paths); returns
    /// the value it replaces.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        let value = value.into_boxed_str();
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value).into_string()),
            Err(i) => {
                let mut items = std::mem::take(&mut self.0).into_vec();
                items.insert(i, (key.into_boxed_str(), value));
                self.0 = items.into_boxed_slice();
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.find(key).ok()?;
        let mut items = std::mem::take(&mut self.0).into_vec();
        let (_, value) = items.remove(i);
        self.0 = items.into_boxed_slice();
        Some(value.into_string())
    }
}

impl From<BTreeMap<String, String>> for EncryptedData {
    fn from(map: BTreeMap<String, String>) -> Self {
        Self(
            map.into_iter()
                .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
                .collect(),
        )
    }
}

impl std::ops::Index<&str> for EncryptedData {
    type Output = str;

    /// The value of `key`; panics if there is none, like `BTreeMap`'s index.
    fn index(&self, key: &str) -> &str {
        self.get(key).expect("no entry found for key")
    }
}

/// As a map, like `BTreeMap`'s (values are ciphertext, not plaintext).
impl fmt::Debug for EncryptedData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for EncryptedData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// Like upstream's `SealedSecretEncryptedData.UnmarshalJSON`: `null` is empty and values that are
/// not strings are dropped, so one malformed object cannot stall the informer.
fn lenient_string_map<'de, D: Deserializer<'de>>(d: D) -> Result<EncryptedData, D::Error> {
    let v = Option::<BTreeMap<String, Value>>::deserialize(d)?.unwrap_or_default();
    // The map is sorted and deduplicated already.
    Ok(EncryptedData(
        v.into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k.into_boxed_str(), s.into_boxed_str())),
                _ => None,
            })
            .collect(),
    ))
}

// ----- schema fragments (kept literal so the CRD matches upstream's exactly) -----

fn from_json(v: Value) -> schemars::Schema {
    schemars::Schema::try_from(v).unwrap_or_default()
}

fn string_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    from_json(json!({"type": "string"}))
}

fn bool_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    from_json(json!({"type": "boolean"}))
}

fn int64_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    from_json(json!({"type": "integer", "format": "int64"}))
}

fn date_time_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    from_json(json!({"type": "string", "format": "date-time"}))
}

fn byte_string_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    from_json(json!({"type": "string", "format": "byte"}))
}

fn preserved_string_map_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    from_json(json!({
        "type": "object",
        "additionalProperties": {"type": "string"},
        "x-kubernetes-preserve-unknown-fields": true
    }))
}

fn nullable_string_map_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    from_json(
        json!({"type": "object", "nullable": true, "additionalProperties": {"type": "string"}}),
    )
}

/// `spec.template.metadata`: upstream's schema (name, namespace, labels, annotations, finalizers)
/// plus every other `ObjectMeta` field, typed, because the controller reads the whole template
/// metadata as an `ObjectMeta` and copies it to the Secret: a value of the wrong type (say
/// `creationTimestamp: 5`) must be refused by the API server, not stored where the controller
/// cannot read it. The added fields are nullable: Go marshals an unset `creationTimestamp` as
/// `null` (upstream kubeseal's output has it), and `null` was accepted before for all of them.
/// Unknown fields are still kept, as upstream keeps them.
fn template_metadata_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let string = json!({"type": "string"});
    let string_map = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let nullable = |mut schema: Value| {
        schema["nullable"] = json!(true);
        schema
    };
    let timestamp = nullable(json!({"type": "string", "format": "date-time"}));
    let int64 = nullable(json!({"type": "integer", "format": "int64"}));
    let boolean = nullable(json!({"type": "boolean"}));
    let owner_reference = json!({
        "type": "object",
        "required": ["apiVersion", "kind", "name", "uid"],
        "properties": {
            "apiVersion": string,
            "blockOwnerDeletion": boolean,
            "controller": boolean,
            "kind": string,
            "name": string,
            "uid": string
        }
    });
    let managed_fields_entry = json!({
        "type": "object",
        "properties": {
            "apiVersion": nullable(string.clone()),
            "fieldsType": nullable(string.clone()),
            "fieldsV1": {
                "type": "object",
                "nullable": true,
                "x-kubernetes-preserve-unknown-fields": true
            },
            "manager": nullable(string.clone()),
            "operation": nullable(string.clone()),
            "subresource": nullable(string.clone()),
            "time": timestamp
        }
    });
    from_json(json!({
        "type": "object",
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "annotations": string_map,
            "creationTimestamp": timestamp,
            "deletionGracePeriodSeconds": int64,
            "deletionTimestamp": timestamp,
            "finalizers": {"type": "array", "items": {"type": "string"}},
            "generateName": nullable(string.clone()),
            "generation": int64,
            "labels": string_map,
            "managedFields": nullable(json!({"type": "array", "items": managed_fields_entry})),
            "name": string,
            "namespace": string,
            "ownerReferences": nullable(json!({"type": "array", "items": owner_reference})),
            "resourceVersion": nullable(string.clone()),
            "selfLink": nullable(string.clone()),
            "uid": nullable(string.clone())
        }
    }))
}

impl SealedSecret {
    /// The one conversion from the watched object to the core's SealedSecret (what unsealing
    /// works on). Both follow upstream's JSON shape, so it goes through that shape.
    ///
    /// # Errors
    /// A field the core cannot read (the message names it, never a value).
    pub fn to_sealed(&self) -> Result<seal::SealedSecret, String> {
        serde_json::to_value(self)
            .and_then(serde_json::from_value)
            .map_err(|e| e.to_string())
    }
}

/// The CustomResourceDefinition for [`SealedSecret`].
///
/// Derived from the types, then aligned with upstream's CRD where kube's derive differs:
/// `listKind` is spelled out, the root schema has no `title`, and `status` is not `nullable`.
pub fn crd() -> CustomResourceDefinition {
    let mut crd = <SealedSecret as kube::CustomResourceExt>::crd();
    crd.spec.names.list_kind = Some("SealedSecretList".to_string());
    for v in &mut crd.spec.versions {
        if let Some(root) = v
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        {
            root.title = None;
            if let Some(status) = root.properties.as_mut().and_then(|p| p.get_mut("status")) {
                status.nullable = None;
            }
        }
    }
    crd
}

/// [`crd`] as the YAML committed in `deploy/crd.yaml`.
pub fn crd_yaml() -> anyhow::Result<String> {
    Ok(serde_saphyr::to_string(&crd())?)
}
