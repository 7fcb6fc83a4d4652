//! The SealedSecret CRD: generated file in sync, schema shape equal to upstream's, wire JSON,
//! and the type working against an API server.

use std::collections::BTreeMap;

use fake_apiserver::FakeApiServer;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, CustomResourceExt, Resource};
use sealed_secrets_controller::crd::{
    CONDITION_SYNCED, EncryptedData, SealedSecret, SealedSecretCondition, SealedSecretSpec,
    SealedSecretStatus, SecretTemplateSpec, crd, crd_yaml,
};
use serde_json::{Value, json};

fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn committed_crd_is_up_to_date() {
    let path = repo_root().join("deploy/crd.yaml");
    let committed = std::fs::read_to_string(&path).expect("deploy/crd.yaml exists");
    let generated = crd_yaml().unwrap();
    assert!(
        committed == generated,
        "deploy/crd.yaml is stale; regenerate with\n  cargo run -p sealed-secrets-controller --bin crdgen > deploy/crd.yaml"
    );
    // And it reads back as the same object.
    let parsed: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
        serde_saphyr::from_str(&committed).unwrap();
    assert_eq!(parsed, crd());
}

fn strip_descriptions(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("description");
            m.values_mut().for_each(strip_descriptions);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

/// Upstream's Helm CRD (controller-gen v0.15.0, chart 2.18.x) without descriptions and without
/// the `apiVersion`/`kind`/`metadata` root properties the API server supplies anyway.
fn upstream_schema() -> Value {
    let str_map = json!({"additionalProperties": {"type": "string"}, "type": "object"});
    json!({
        "properties": {
            "spec": {
                "properties": {
                    "data": {"format": "byte", "type": "string"},
                    "encryptedData": {"additionalProperties": {"type": "string"}, "type": "object",
                                      "x-kubernetes-preserve-unknown-fields": true},
                    "template": {
                        "properties": {
                            "data": {"additionalProperties": {"type": "string"}, "nullable": true, "type": "object"},
                            "immutable": {"type": "boolean"},
                            "metadata": {
                                "nullable": true,
                                "properties": {
                                    "annotations": str_map,
                                    "finalizers": {"items": {"type": "string"}, "type": "array"},
                                    "labels": str_map,
                                    "name": {"type": "string"},
                                    "namespace": {"type": "string"}
                                },
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": true
                            },
                            "type": {"type": "string"}
                        },
                        "type": "object"
                    }
                },
                "required": ["encryptedData"],
                "type": "object"
            },
            "status": {
                "properties": {
                    "conditions": {
                        "items": {
                            "properties": {
                                "lastTransitionTime": {"format": "date-time", "type": "string"},
                                "lastUpdateTime": {"format": "date-time", "type": "string"},
                                "message": {"type": "string"},
                                "reason": {"type": "string"},
                                "status": {"type": "string"},
                                "type": {"type": "string"}
                            },
                            "required": ["status", "type"],
                            "type": "object"
                        },
                        "type": "array"
                    },
                    "observedGeneration": {"format": "int64", "type": "integer"}
                },
                "type": "object"
            }
        },
        "required": ["spec"],
        "type": "object"
    })
}

#[test]
fn crd_matches_upstream() {
    let c = serde_json::to_value(crd()).unwrap();
    assert_eq!(c["metadata"]["name"], "sealedsecrets.bitnami.com");
    assert_eq!(c["spec"]["group"], "bitnami.com");
    assert_eq!(c["spec"]["scope"], "Namespaced");
    assert_eq!(
        c["spec"]["names"],
        json!({"kind": "SealedSecret", "listKind": "SealedSecretList", "plural": "sealedsecrets", "singular": "sealedsecret"})
    );
    let versions = c["spec"]["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1);
    let v = &versions[0];
    assert_eq!(
        (
            v["name"].as_str(),
            v["served"].as_bool(),
            v["storage"].as_bool()
        ),
        (Some("v1alpha1"), Some(true), Some(true))
    );
    assert_eq!(v["subresources"], json!({"status": {}}));
    assert_eq!(
        v["additionalPrinterColumns"],
        json!([
            {"jsonPath": ".status.conditions[0].message", "name": "Status", "type": "string"},
            {"jsonPath": ".status.conditions[0].status", "name": "Synced", "type": "string"},
            {"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"}
        ])
    );
    let mut schema = v["schema"]["openAPIV3Schema"].clone();
    strip_descriptions(&mut schema);
    // Upstream's schema, plus the ObjectMeta fields it leaves untyped in `template.metadata`.
    let template_metadata = schema
        .pointer_mut("/properties/spec/properties/template/properties/metadata/properties")
        .and_then(Value::as_object_mut)
        .expect("template.metadata has properties");
    let added: Vec<String> = template_metadata
        .keys()
        .filter(|k| {
            !["annotations", "finalizers", "labels", "name", "namespace"].contains(&k.as_str())
        })
        .cloned()
        .collect();
    for field in &added {
        template_metadata.remove(field);
    }
    assert_eq!(
        added,
        [
            "creationTimestamp",
            "deletionGracePeriodSeconds",
            "deletionTimestamp",
            "generateName",
            "generation",
            "managedFields",
            "ownerReferences",
            "resourceVersion",
            "selfLink",
            "uid"
        ]
    );
    assert_eq!(schema, upstream_schema());
    // Every documented field carries a description.
    assert!(v["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["encryptedData"]["description"].is_string());
    assert_eq!(SealedSecret::crd_name(), "sealedsecrets.bitnami.com");
}

/// What upstream kubeseal emits (Go marshalling: `creationTimestamp: null`, empty template data absent).
const UPSTREAM_MANIFEST: &str = r#"{
  "kind": "SealedSecret",
  "apiVersion": "bitnami.com/v1alpha1",
  "metadata": {"name": "mysecret", "namespace": "default", "creationTimestamp": null,
               "annotations": {"sealedsecrets.bitnami.com/namespace-wide": "true"}},
  "spec": {
    "template": {
      "metadata": {"name": "mysecret", "namespace": "default", "creationTimestamp": null,
                   "annotations": {"sealedsecrets.bitnami.com/namespace-wide": "true"}},
      "type": "kubernetes.io/dockerconfigjson",
      "immutable": true,
      "data": {"config": "{{ index . \".dockerconfigjson\" }}"}
    },
    "encryptedData": {".dockerconfigjson": "AgBy3i4OJSWK+PiTySYZZA=="}
  },
  "status": {"observedGeneration": 2, "conditions": [
    {"type": "Synced", "status": "True", "lastUpdateTime": "2024-01-01T00:00:00Z",
     "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
}"#;

#[test]
fn reads_upstream_manifests_and_writes_camel_case() {
    let ss: SealedSecret = serde_json::from_str(UPSTREAM_MANIFEST).unwrap();
    assert_eq!(
        &ss.spec.encrypted_data[".dockerconfigjson"],
        "AgBy3i4OJSWK+PiTySYZZA=="
    );
    let t = &ss.spec.template;
    assert_eq!(t.type_.as_deref(), Some("kubernetes.io/dockerconfigjson"));
    assert_eq!(t.immutable, Some(true));
    assert_eq!(
        t.metadata
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .unwrap()
            .len(),
        1
    );
    let st = ss.status.as_ref().unwrap();
    assert_eq!(st.observed_generation, Some(2));
    assert_eq!(st.conditions[0].type_, CONDITION_SYNCED);

    let out = serde_json::to_value(&ss).unwrap();
    assert_eq!(
        out["spec"]["encryptedData"][".dockerconfigjson"],
        "AgBy3i4OJSWK+PiTySYZZA=="
    );
    assert_eq!(
        out["spec"]["template"]["type"],
        "kubernetes.io/dockerconfigjson"
    );
    assert_eq!(out["status"]["observedGeneration"], 2);
    assert_eq!(
        out["status"]["conditions"][0]["lastTransitionTime"],
        "2024-01-01T00:00:00Z"
    );
    assert!(
        out["status"]["conditions"][0].get("message").is_none(),
        "empty fields are omitted"
    );
    assert!(out["spec"].get("data").is_none());
}

#[test]
fn minimal_and_lenient_forms() {
    // Only encryptedData; empty template omitted on output.
    let ss = SealedSecret::new(
        "a",
        SealedSecretSpec {
            encrypted_data: BTreeMap::from([("k".to_string(), "AgA=".to_string())]).into(),
            ..Default::default()
        },
    );
    let v = serde_json::to_value(&ss).unwrap();
    assert_eq!(v["spec"], json!({"encryptedData": {"k": "AgA="}}));
    assert_eq!(v["apiVersion"], "bitnami.com/v1alpha1");
    assert_eq!(v["kind"], "SealedSecret");

    // Like upstream: non-string values are dropped and null is empty, rather than failing the object.
    let odd: SealedSecret = serde_json::from_value(json!({
        "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"name": "x"},
        "spec": {"encryptedData": {"good": "AgA=", "bad": 42, "worse": {"a": 1}}}
    }))
    .unwrap();
    assert_eq!(odd.spec.encrypted_data.keys().collect::<Vec<_>>(), ["good"]);
    let null: SealedSecret = serde_json::from_value(json!({
        "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"name": "x"},
        "spec": {"encryptedData": null, "data": "AAEC", "template": {"data": null, "metadata": null}}
    }))
    .unwrap();
    assert!(null.spec.encrypted_data.is_empty());
    assert_eq!(null.spec.data.as_deref(), Some("AAEC"));
    assert!(null.spec.template.is_empty());
}

#[test]
fn encrypted_data_behaves_like_a_sorted_map() {
    // Out of order, with a duplicate key: read, written and compared as a BTreeMap would be.
    let text = r#"{"b": "Ag==", "a": "AQ==", "c": "x", "a": "Aw=="}"#;
    let map: BTreeMap<String, String> = serde_json::from_str(text).unwrap();
    let spec: SealedSecretSpec =
        serde_json::from_str(&format!(r#"{{"encryptedData": {text}}}"#)).unwrap();
    let data = &spec.encrypted_data;
    assert_eq!(
        serde_json::to_string(data).unwrap(),
        serde_json::to_string(&map).unwrap()
    );
    assert_eq!(data, &EncryptedData::from(map.clone()));
    assert_eq!(format!("{data:?}"), format!("{map:?}"));
    assert_eq!(
        data.iter().collect::<Vec<_>>(),
        [("a", "Aw=="), ("b", "Ag=="), ("c", "x")]
    );
    assert_eq!(
        (data.len(), data.get("b"), data.get("z")),
        (3, Some("Ag=="), None)
    );

    let mut data = data.clone();
    assert_eq!(data.insert("0".into(), "AA==".into()), None);
    assert_eq!(data.insert("b".into(), "BB==".into()), Some("Ag==".into()));
    assert_eq!(data.remove("a"), Some("Aw==".into()));
    assert_eq!(data.remove("a"), None);
    assert_eq!(data.keys().collect::<Vec<_>>(), ["0", "b", "c"]);
    assert_eq!(&data["b"], "BB==");
}

#[tokio::test]
async fn works_against_the_fake_api_server() {
    let fake = FakeApiServer::new();
    let api: Api<SealedSecret> = Api::namespaced(fake.client("default"), "default");
    let mut ss = SealedSecret::new(
        "s",
        SealedSecretSpec {
            encrypted_data: BTreeMap::from([("k".to_string(), "AgA=".to_string())]).into(),
            template: SecretTemplateSpec {
                type_: Some("Opaque".into()),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    ss.meta_mut().namespace = Some("default".into());
    let created = api.create(&PostParams::default(), &ss).await.unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.status.is_none());

    let status = SealedSecretStatus {
        observed_generation: Some(1),
        conditions: vec![SealedSecretCondition {
            type_: CONDITION_SYNCED.into(),
            status: "True".into(),
            last_update_time: Some("2025-01-01T00:00:00Z".into()),
            last_transition_time: Some("2025-01-01T00:00:00Z".into()),
            ..Default::default()
        }],
    };
    let patched = api
        .patch_status(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": status})),
        )
        .await
        .unwrap();
    assert_eq!(patched.status.as_ref(), Some(&status));
    assert_eq!(patched.spec, created.spec);
    let stored: SealedSecret = fake.get_as("default", "s").unwrap();
    assert_eq!(stored.status, Some(status));
}
