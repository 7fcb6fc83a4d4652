//! The fake API server is at least as strict as the real one for everything the controller
//! writes: each kind of object (the unsealed Secret, the SealedSecret status patch, the
//! events.k8s.io/v1 Event as `EventSink` builds it, the leader Lease, the key Secret), and
//! deliberately invalid variants of them, go to both the fake and the real test control
//! plane, and both must give the same verdict: accepted, or rejected with the same HTTP code.
//! A fake that accepts what the real server rejects hides controller bugs (events named with a
//! `generateName` ending in `.` were rejected by every real cluster, never by the fake).

use std::fmt::Write as _;

use fake_apiserver::FakeApiServer;
use k8s_openapi::api::core::v1::{Namespace, ObjectReference};
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use sealed_secrets_controller::crd::SealedSecret;
use sealed_secrets_controller::events::{EventSink, EventType};
use sealed_secrets_controller::reconcile::status::{Observed, next_status, status_patch};
use serde_json::{Value, json};
use test_cluster::ControlPlane;

/// Accepted, or rejected with this HTTP status code.
type Verdict = Result<(), u16>;

fn verdict_of<T>(result: Result<T, kube::Error>) -> Verdict {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) => {
            println!("  {}: {}", status.code, status.message);
            Err(status.code)
        }
        Err(e) => panic!("no answer from the API server: {e}"),
    }
}

/// An API server under test, with a namespace of its own.
struct Server {
    client: kube::Client,
    ns: String,
}

impl Server {
    async fn new(client: kube::Client, ns: &str) -> Self {
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .expect("create namespace");
        Self {
            client,
            ns: ns.to_owned(),
        }
    }

    fn api(&self, api_version: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        Api::namespaced_with(
            self.client.clone(),
            &self.ns,
            &ApiResource::from_gvk_with_plural(&gvk, plural),
        )
    }

    /// POSTs `body` (its `apiVersion` and `kind` say where).
    async fn post(&self, body: &Value) -> Verdict {
        let api_version = body["apiVersion"].as_str().unwrap();
        let kind = body["kind"].as_str().unwrap();
        let plural = match kind {
            "Secret" => "secrets",
            "Event" => "events",
            "Lease" => "leases",
            "SealedSecret" => "sealedsecrets",
            other => panic!("no plural for {other}"),
        };
        let mut body = body.clone();
        body["metadata"]["namespace"] = json!(self.ns);
        if body.pointer("/regarding/namespace") == Some(&json!(NAMESPACE)) {
            body["regarding"]["namespace"] = json!(self.ns);
        }
        let object: DynamicObject = serde_json::from_value(body).expect("a Kubernetes object");
        verdict_of(
            self.api(api_version, kind, plural)
                .create(&PostParams::default(), &object)
                .await,
        )
    }

    /// PUTs `body` over the object of the same name, at its current resourceVersion.
    async fn replace(&self, body: &Value) -> Verdict {
        let api = self.api("v1", "Secret", "secrets");
        let name = body["metadata"]["name"].as_str().unwrap();
        let current = api.get(name).await.expect("the object to replace exists");
        let mut body = body.clone();
        body["metadata"]["namespace"] = json!(self.ns);
        body["metadata"]["resourceVersion"] = json!(current.metadata.resource_version);
        let object: DynamicObject = serde_json::from_value(body).expect("a Kubernetes object");
        verdict_of(api.replace(name, &PostParams::default(), &object).await)
    }

    /// Writes a `Synced` status as the controller does (a merge patch of `status`).
    async fn patch_status(&self, name: &str, status: &Value) -> Verdict {
        let api: Api<SealedSecret> = Api::namespaced(self.client.clone(), &self.ns);
        verdict_of(
            api.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
                .await,
        )
    }

    /// Publishes an event about the SealedSecret `name` through the controller's `EventSink`.
    async fn publish(&self, name: &str, note: &str) -> Verdict {
        let api: Api<SealedSecret> = Api::namespaced(self.client.clone(), &self.ns);
        let regarding = match api.get_opt(name).await.expect("get SealedSecret") {
            Some(sealed) => ObjectReference {
                api_version: Some("bitnami.com/v1alpha1".into()),
                kind: Some("SealedSecret".into()),
                name: sealed.metadata.name,
                namespace: sealed.metadata.namespace,
                uid: sealed.metadata.uid,
                resource_version: sealed.metadata.resource_version,
                ..ObjectReference::default()
            },
            // An object that does not exist (names the API server would not store).
            None => ObjectReference {
                api_version: Some("bitnami.com/v1alpha1".into()),
                kind: Some("SealedSecret".into()),
                name: Some(name.into()),
                namespace: Some(self.ns.clone()),
                uid: Some("00000000-0000-0000-0000-000000000000".into()),
                ..ObjectReference::default()
            },
        };
        let sink = EventSink::new(self.client.clone(), "sealed-secrets", "ctl-a");
        verdict_of(
            sink.publish(
                EventType::Warning,
                "ErrUnsealFailed",
                note,
                "Unseal",
                regarding,
            )
            .await,
        )
    }
}

/// One request, sent the same way to both servers.
enum Request {
    Post(Value),
    Replace(Value),
    PatchStatus(&'static str, Value),
    Publish(String, String),
}

async fn send(server: &Server, request: &Request) -> Verdict {
    match request {
        Request::Post(body) => server.post(body).await,
        Request::Replace(body) => server.replace(body).await,
        Request::PatchStatus(name, status) => server.patch_status(name, status).await,
        Request::Publish(name, note) => server.publish(name, note).await,
    }
}

fn b64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A Secret as the controller creates it from a SealedSecret, without the ownerReference
/// (the real garbage collector deletes objects whose owner does not exist).
fn unsealed_secret(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "labels": {"mylabel": "myvalue"},
            "annotations": {"sealedsecrets.bitnami.com/managed": "true"},
        },
        "type": "Opaque",
        "data": {"foo": b64("bar")},
    })
}

/// The same Secret owned by a SealedSecret (that does not exist).
fn owned(mut secret: Value) -> Value {
    secret["metadata"]["ownerReferences"] = json!([{
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "name": secret["metadata"]["name"],
        "uid": "6c1a3b2e-0d4f-4a8e-9b7c-2f1e0d3c4b5a",
        "controller": true,
    }]);
    secret
}

fn with(mut value: Value, pointer: &str, new: Value) -> Value {
    *value
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} exists")) = new;
    value
}

fn without(mut value: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    value
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("{parent} is an object"))
        .remove(key);
    value
}

/// A key Secret as the controller generates it (`generateName` = the key prefix).
fn key_secret(prefix: &str) -> Value {
    let key = seal::PrivateKey::generate(2048).expect("generate a key");
    let cert = seal::Certificate::self_signed(
        &key,
        "",
        std::time::Duration::from_secs(10 * 365 * 24 * 3600),
    )
    .expect("self-signed certificate");
    let metadata = seal::ObjectMeta {
        generate_name: Some(prefix.into()),
        ..seal::ObjectMeta::default()
    };
    let mut value = serde_json::to_value(seal::tls_key_secret(&key, &cert, metadata)).unwrap();
    value["apiVersion"] = json!("v1");
    value["kind"] = json!("Secret");
    value
}

/// An events.k8s.io/v1 Event as `EventSink` writes it, for variants it never produces.
fn raw_event(name: &str) -> Value {
    json!({
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": format!("{name}.187e4a5c3b2a1f00")},
        "eventTime": "2026-12-05T10:00:00.000000Z",
        "action": "Unseal",
        "reason": "Unsealed",
        "note": "SealedSecret unsealed successfully",
        "type": "Normal",
        "reportingController": "sealed-secrets",
        "reportingInstance": "ctl-a",
        "regarding": {
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "name": name,
            "namespace": NAMESPACE,
            "uid": "6c1a3b2e-0d4f-4a8e-9b7c-2f1e0d3c4b5a",
        },
    })
}

/// Stands for the namespace of the server an event is posted to.
const NAMESPACE: &str = "<namespace>";

fn lease(name: &str) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name},
        "spec": {
            "holderIdentity": "ctl-a",
            "leaseDurationSeconds": 15,
            "acquireTime": "2026-12-05T10:00:00.000000Z",
            "renewTime": "2026-12-05T10:00:00.000000Z",
            "leaseTransitions": 0,
        },
    })
}

fn sealed_secret(name: &str) -> Value {
    json!({
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": name},
        "spec": {
            "encryptedData": {"foo": "AgBy3i4OJSWK+PiTySYZZA=="},
            "template": {"metadata": {"name": name}},
        },
    })
}

/// `(what, request)` in order: later ones may rely on objects earlier ones created.
fn cases() -> Vec<(String, Request)> {
    use Request::{PatchStatus, Post, Publish, Replace};
    let synced = serde_json::to_value(
        next_status(None, Some(1), &Observed::Synced, jiff::Timestamp::now()).unwrap(),
    )
    .unwrap();
    let failed = serde_json::to_value(
        next_status(
            None,
            Some(1),
            &Observed::Failed {
                reason: "ErrUnsealFailed",
                message: "no key could decrypt secret (foo)",
            },
            jiff::Timestamp::now(),
        )
        .unwrap(),
    )
    .unwrap();
    let status = |s: &Value| status_patch(&serde_json::from_value(s.clone()).unwrap());
    let mut immutable = unsealed_secret("immutable");
    immutable["immutable"] = json!(true);
    let tls = |name: &str| {
        let mut v = unsealed_secret(name);
        v["type"] = json!("kubernetes.io/tls");
        v["data"] = json!({"tls.crt": b64("crt"), "tls.key": b64("key")});
        v
    };
    let docker = |name: &str, config: &str| {
        let mut v = unsealed_secret(name);
        v["type"] = json!("kubernetes.io/dockerconfigjson");
        v["data"] = json!({".dockerconfigjson": b64(config)});
        v
    };
    let long_name = format!("{}.{}", "a".repeat(200), "b".repeat(52));
    let mut big_annotations = serde_json::Map::new();
    for i in 0..5 {
        big_annotations.insert(format!("example.com/a{i}"), json!("x".repeat(60 * 1024)));
    }
    vec![
        // The unsealed Secret.
        (
            "Secret as unsealed".into(),
            Post(unsealed_secret("testsecret")),
        ),
        (
            "Secret again (exists)".into(),
            Post(unsealed_secret("testsecret")),
        ),
        (
            "Secret named with '_'".into(),
            Post(unsealed_secret("test_secret")),
        ),
        (
            "Secret named with capitals".into(),
            Post(unsealed_secret("TestSecret")),
        ),
        (
            "Secret with a 254-character name".into(),
            Post(unsealed_secret(&"a".repeat(254))),
        ),
        (
            "Secret with a 253-character name".into(),
            Post(unsealed_secret(&long_name)),
        ),
        (
            "Secret with generateName ending in '.'".into(),
            Post(unsealed_secret("x")).map_generate_name("testsecret."),
        ),
        (
            "Secret with a label value with a space".into(),
            Post(with(
                unsealed_secret("bad-label-value"),
                "/metadata/labels/mylabel",
                json!("my value"),
            )),
        ),
        (
            "Secret with a 64-character label value".into(),
            Post(with(
                unsealed_secret("long-label-value"),
                "/metadata/labels/mylabel",
                json!("v".repeat(64)),
            )),
        ),
        (
            "Secret with a bad label key".into(),
            Post(with(
                unsealed_secret("bad-label-key"),
                "/metadata/labels",
                json!({"my label": "x"}),
            )),
        ),
        (
            "Secret with a bad annotation key".into(),
            Post(with(
                unsealed_secret("bad-annotation-key"),
                "/metadata/annotations",
                json!({"a/b/c": "x"}),
            )),
        ),
        (
            "Secret with 300 KiB of annotations".into(),
            Post(with(
                unsealed_secret("big-annotations"),
                "/metadata/annotations",
                Value::Object(big_annotations),
            )),
        ),
        (
            "Secret with a bad data key".into(),
            Post(with(
                unsealed_secret("bad-data-key"),
                "/data",
                json!({"foo bar": b64("x")}),
            )),
        ),
        (
            "Secret over 1 MiB".into(),
            Post(with(
                unsealed_secret("too-big"),
                "/data",
                json!({"foo": b64(&"x".repeat(1024 * 1024 + 1))}),
            )),
        ),
        ("Secret of type tls".into(), Post(tls("tls"))),
        (
            "Secret of type tls without tls.key".into(),
            Post(without(tls("tls-no-key"), "/data/tls.key")),
        ),
        (
            "Secret of type dockerconfigjson".into(),
            Post(docker("docker", r#"{"auths":{}}"#)),
        ),
        (
            "Secret of type dockerconfigjson, not JSON".into(),
            Post(docker("docker-bad", "not json")),
        ),
        (
            "Secret with an ownerReference without uid".into(),
            Post(without(
                owned(unsealed_secret("owner-no-uid")),
                "/metadata/ownerReferences/0/uid",
            )),
        ),
        (
            "Secret with an ownerReference".into(),
            Post(owned(unsealed_secret("owned"))),
        ),
        (
            "Secret with two controller ownerReferences".into(),
            Post({
                let mut v = owned(unsealed_secret("two-controllers"));
                let first = v["metadata"]["ownerReferences"][0].clone();
                let mut second = first.clone();
                second["uid"] = json!("7d2b4c3f-1e5a-4b9f-8c8d-3a2f1e4d5c6b");
                v["metadata"]["ownerReferences"] = json!([first, second]);
                v
            }),
        ),
        ("immutable Secret".into(), Post(immutable.clone())),
        (
            "immutable Secret, data replaced".into(),
            Replace(with(immutable, "/data/foo", json!(b64("baz")))),
        ),
        // The key Secret.
        ("key Secret".into(), Post(key_secret("sealed-secrets-key"))),
        (
            "key Secret with a prefix ending in '.'".into(),
            Post(key_secret("sealed-secrets-key.")),
        ),
        (
            "key Secret with a prefix starting with '-'".into(),
            Post(key_secret("-sealed-secrets-key")),
        ),
        // The SealedSecret status.
        ("SealedSecret".into(), Post(sealed_secret("sealed"))),
        (
            "status Synced=True".into(),
            PatchStatus("sealed", status(&synced)),
        ),
        (
            "status Synced=False".into(),
            PatchStatus("sealed", status(&failed)),
        ),
        (
            "status of a missing SealedSecret".into(),
            PatchStatus("missing", status(&synced)),
        ),
        // The event, as EventSink builds it.
        (
            "event from EventSink".into(),
            Publish("sealed".into(), "Failed to unseal: no key".into()),
        ),
        (
            "event from EventSink with a 2 KiB note".into(),
            Publish("sealed".into(), "n".repeat(2048)),
        ),
        (
            "event from EventSink about a 253-character name".into(),
            Publish(long_name, "note".into()),
        ),
        // Events EventSink never writes.
        ("event".into(), Post(raw_event("raw"))),
        (
            "event with generateName ending in '.'".into(),
            Post(raw_event("gen")).map_generate_name("gen."),
        ),
        (
            "event with a 1025-byte note".into(),
            Post(with(raw_event("note"), "/note", json!("n".repeat(1025)))),
        ),
        (
            "event without reportingController".into(),
            Post(without(raw_event("no-controller"), "/reportingController")),
        ),
        (
            "event without eventTime".into(),
            Post(without(raw_event("no-time"), "/eventTime")),
        ),
        (
            "event with a 129-character reason".into(),
            Post(with(raw_event("reason"), "/reason", json!("R".repeat(129)))),
        ),
        (
            "event with a 129-character reportingInstance".into(),
            Post(with(
                raw_event("instance"),
                "/reportingInstance",
                json!("i".repeat(129)),
            )),
        ),
        (
            "event without action".into(),
            Post(without(raw_event("no-action"), "/action")),
        ),
        (
            "event about an object without namespace".into(),
            Post(without(raw_event("no-namespace"), "/regarding/namespace")),
        ),
        (
            "event with a series of 1".into(),
            Post(raw_event("series")).map_body(|mut v| {
                v["series"] =
                    json!({"count": 1, "lastObservedTime": "2026-12-05T10:00:00.000000Z"});
                v
            }),
        ),
        (
            "event of type Bogus".into(),
            Post(with(raw_event("type"), "/type", json!("Bogus"))),
        ),
        // The Lease.
        ("Lease".into(), Post(lease("sealed-secrets-controller"))),
        ("Lease named with '_'".into(), Post(lease("sealed_secrets"))),
        (
            "Lease with leaseDurationSeconds 0".into(),
            Post(with(lease("zero"), "/spec/leaseDurationSeconds", json!(0))),
        ),
        (
            "Lease with leaseTransitions -1".into(),
            Post(with(lease("negative"), "/spec/leaseTransitions", json!(-1))),
        ),
    ]
}

trait GenerateName {
    /// The same POST with `metadata.generateName` instead of a name.
    fn map_generate_name(self, prefix: &str) -> Self;
    /// The same POST with another body.
    fn map_body(self, f: impl FnOnce(Value) -> Value) -> Self;
}

impl GenerateName for Request {
    fn map_body(self, f: impl FnOnce(Value) -> Value) -> Self {
        match self {
            Request::Post(body) => Request::Post(f(body)),
            other => other,
        }
    }

    fn map_generate_name(self, prefix: &str) -> Self {
        match self {
            Request::Post(mut body) => {
                body["metadata"]
                    .as_object_mut()
                    .expect("metadata")
                    .remove("name");
                body["metadata"]["generateName"] = json!(prefix);
                Request::Post(body)
            }
            other => other,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(control_plane),
    ignore = "needs the test control plane (etcd and Go): see tests/README.md"
)]
async fn fake_gives_the_real_api_servers_verdict_on_everything_the_controller_writes() {
    let plane = match tokio::task::spawn_blocking(ControlPlane::shared).await {
        Ok(plane) => plane,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    let client = plane.client().await;
    test_cluster::install_crd(&client).await;
    let real = Server::new(client, "strictness").await;
    let fake_server = FakeApiServer::new();
    let fake = Server::new(fake_server.client("default"), "strictness").await;

    let mut table = String::new();
    let mut differ = Vec::new();
    for (what, request) in cases() {
        println!("{what}:");
        let want = send(&real, &request).await;
        let got = send(&fake, &request).await;
        let show = |v: &Verdict| match v {
            Ok(()) => "accepted".to_owned(),
            Err(code) => format!("rejected {code}"),
        };
        let _ = writeln!(
            table,
            "{what:<55} real: {:<13} fake: {}",
            show(&want),
            show(&got)
        );
        if want != got {
            differ.push(what);
        }
    }
    println!("{table}");
    assert!(
        differ.is_empty(),
        "the fake differs on {differ:?}:\n{table}"
    );
}
