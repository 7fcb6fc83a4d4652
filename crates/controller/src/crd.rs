//! The `SealedSecret` custom resource (`bitnami.com/v1alpha1`), wire-compatible with upstream.
//!
//! The CRD in `deploy/crd.yaml` is generated from these types (`cargo run -p
//! sealed-secrets-controller --bin crdgen > deploy/crd.yaml`); a test keeps it in sync.
//! The schema mirrors upstream's Helm CRD (controller-gen output): no shortNames, status
//! subresource, printer columns `Status`/`Synced`/`Age`, `nullable` only on
//! `template.metadata` and `template.data`.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
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
    pub encrypted_data: BTreeMap<String, String>,

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
    pub metadata: Option<ObjectMeta>,

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

/// Like upstream's `SealedSecretEncryptedData.UnmarshalJSON`: `null` is empty and values that are
/// not strings are dropped, so one malformed object cannot stall the informer.
fn lenient_string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let v = Option::<BTreeMap<String, Value>>::deserialize(d)?.unwrap_or_default();
    Ok(v.into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            _ => None,
        })
        .collect())
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

fn template_metadata_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    from_json(json!({
        "type": "object",
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "items": {"type": "string"}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "name": {"type": "string"},
            "namespace": {"type": "string"}
        }
    }))
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
