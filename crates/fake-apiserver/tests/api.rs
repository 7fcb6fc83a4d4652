//! The fake driven through a real `kube::Client`.

use std::time::Duration;

use fake_apiserver::{FakeApiServer, Fault, Gvr, Verb};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
    PostParams, WatchEvent, WatchParams,
};
use kube::runtime::watcher;
use kube::{Api, Client};
use serde_json::json;

fn secret(name: &str, data: &[(&str, &str)]) -> Secret {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "stringData": data.iter().map(|(k, v)| ((*k).to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
    }))
    .unwrap()
}

fn ss_api(client: &Client, ns: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("bitnami.com", "v1alpha1", "SealedSecret"),
        "sealedsecrets",
    );
    Api::namespaced_with(client.clone(), ns, &ar)
}

fn sealed(name: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
        "metadata": {"name": name},
        "spec": {"encryptedData": {"a": "AgA="}, "template": {"metadata": {"labels": {"x": "y"}}}},
        "status": {"observedGeneration": 7}
    }))
    .unwrap()
}

fn api_err(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn crud_and_status_errors() {
    let fake = FakeApiServer::new();
    let api: Api<Secret> = Api::namespaced(fake.client("default"), "ns1");
    let created = api
        .create(&PostParams::default(), &secret("s", &[("k", "v")]))
        .await
        .unwrap();
    let md = &created.metadata;
    assert_eq!(md.namespace.as_deref(), Some("ns1"));
    assert!(md.uid.is_some() && md.creation_timestamp.is_some());
    assert!(md.generation.is_none(), "Secrets have no generation");
    assert_eq!(created.type_.as_deref(), Some("Opaque"));
    assert_eq!(created.data.as_ref().unwrap()["k"].0, b"v");
    assert!(created.string_data.is_none());

    let got = api.get("s").await.unwrap();
    assert_eq!(got, created);

    let e = api_err(
        api.create(&PostParams::default(), &secret("s", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(e.message, r#"secrets "s" already exists"#);

    let e = api_err(api.get("nope").await.unwrap_err());
    assert_eq!((e.code, e.reason.as_str()), (404, "NotFound"));
    assert_eq!(e.message, r#"secrets "nope" not found"#);
    assert!(api.get_opt("nope").await.unwrap().is_none());

    // Update bumps the resourceVersion; a no-op update does not.
    let mut s2 = got.clone();
    s2.metadata.labels = Some([("a".to_string(), "b".to_string())].into());
    let updated = api.replace("s", &PostParams::default(), &s2).await.unwrap();
    assert_ne!(
        updated.metadata.resource_version,
        got.metadata.resource_version
    );
    let same = api
        .replace("s", &PostParams::default(), &updated)
        .await
        .unwrap();
    assert_eq!(
        same.metadata.resource_version,
        updated.metadata.resource_version
    );

    // Stale resourceVersion → 409 Conflict.
    let e = api_err(
        api.replace("s", &PostParams::default(), &s2)
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert!(e.message.starts_with(
        r#"Operation cannot be fulfilled on secrets "s": the object has been modified"#
    ));

    api.delete("s", &DeleteParams::default()).await.unwrap();
    assert!(api.get_opt("s").await.unwrap().is_none());
    let e = api_err(api.delete("s", &DeleteParams::default()).await.unwrap_err());
    assert_eq!(e.code, 404);

    // Built-in types accept an unconditional update (no resourceVersion).
    api.create(&PostParams::default(), &secret("u", &[]))
        .await
        .unwrap();
    api.replace("u", &PostParams::default(), &secret("u", &[("x", "y")]))
        .await
        .unwrap();
    // Secret data must be base64.
    let bad: Secret = serde_json::from_value(json!({"metadata": {"name": "b"}})).unwrap();
    let mut bad = serde_json::to_value(bad).unwrap();
    bad["data"] = json!({"k": "not base64!"});
    let req = http::Request::post("/api/v1/namespaces/ns1/secrets")
        .header("content-type", "application/json")
        .body(bad.to_string().into_bytes())
        .unwrap();
    let e = api_err(
        fake.client("default")
            .request::<Secret>(req)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 400);
    assert!(
        e.message
            .starts_with("Secret in version \"v1\" cannot be handled as a Secret")
    );

    // Group resources qualify their names in messages.
    let e = api_err(
        ss_api(&fake.client("default"), "ns1")
            .get("x")
            .await
            .unwrap_err(),
    );
    assert_eq!(e.message, r#"sealedsecrets.bitnami.com "x" not found"#);
}

#[tokio::test]
async fn generate_name() {
    let fake = FakeApiServer::new();
    let api: Api<Secret> = Api::namespaced(fake.client("default"), "kube-system");
    let mut s = secret("", &[]);
    s.metadata.name = None;
    s.metadata.generate_name = Some("sealed-secrets-key".into());
    let a = api.create(&PostParams::default(), &s).await.unwrap();
    let b = api.create(&PostParams::default(), &s).await.unwrap();
    let (na, nb) = (a.metadata.name.unwrap(), b.metadata.name.unwrap());
    assert_ne!(na, nb);
    for n in [&na, &nb] {
        let suffix = n.strip_prefix("sealed-secrets-key").unwrap();
        assert_eq!(suffix.len(), 5, "{n}");
        assert!(
            suffix
                .chars()
                .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c))
        );
    }
    s.metadata.generate_name = None;
    let e = api_err(api.create(&PostParams::default(), &s).await.unwrap_err());
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
}

/// The real API server rejects names and `generateName` prefixes that are not DNS-1123
/// subdomains; the controller's events once used `<name>.` and every one was refused.
#[tokio::test]
async fn regression_invalid_names_and_generate_name_ending_in_a_dot_are_rejected() {
    let fake = FakeApiServer::new();
    let api: Api<Secret> = Api::namespaced(fake.client("default"), "default");
    for (name, generate_name) in [
        (None, Some("testsecret.")),
        (Some("Upper"), None),
        (Some("ends-with-dash-"), None),
        (Some("a..b"), None),
    ] {
        let mut s = secret("", &[]);
        s.metadata.name = name.map(Into::into);
        s.metadata.generate_name = generate_name.map(Into::into);
        let e = api_err(api.create(&PostParams::default(), &s).await.unwrap_err());
        assert_eq!(
            (e.code, e.reason.as_str()),
            (422, "Invalid"),
            "{name:?} {generate_name:?}"
        );
    }
    // Namespace names are labels: 63 characters at most, no dots.
    let namespaces: Api<Namespace> = Api::all(fake.client("default"));
    for name in ["a".repeat(64), "a.b".to_owned()] {
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        let e = api_err(
            namespaces
                .create(&PostParams::default(), &namespace)
                .await
                .unwrap_err(),
        );
        assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"), "{name}");
    }
    // A trailing dash is masked before the check, as the API server does.
    let mut s = secret("", &[]);
    s.metadata.name = None;
    s.metadata.generate_name = Some("testsecret-".into());
    api.create(&PostParams::default(), &s).await.unwrap();
}

#[tokio::test]
async fn label_and_field_selectors() {
    let fake = FakeApiServer::new();
    let client = fake.client("default");
    for (ns, name, labels) in [
        (
            "a",
            "k1",
            json!({"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}),
        ),
        (
            "a",
            "k2",
            json!({"sealedsecrets.bitnami.com/sealed-secrets-key": "compromised"}),
        ),
        ("a", "plain", json!({"app": "x"})),
        (
            "b",
            "k3",
            json!({"sealedsecrets.bitnami.com/sealed-secrets-key": "active", "app": "y"}),
        ),
    ] {
        fake.insert(
            &Gvr::secrets(),
            json!({"metadata": {"name": name, "namespace": ns, "labels": labels}}),
        );
    }
    let names = |list: kube::core::ObjectList<Secret>| -> Vec<String> {
        list.items
            .into_iter()
            .map(|s| s.metadata.name.unwrap())
            .collect()
    };
    let a: Api<Secret> = Api::namespaced(client.clone(), "a");
    let all: Api<Secret> = Api::all(client.clone());
    let lp = |s: &str| ListParams::default().labels(s);
    let key = "sealedsecrets.bitnami.com/sealed-secrets-key";
    assert_eq!(
        names(a.list(&lp(&format!("{key}=active"))).await.unwrap()),
        ["k1"]
    );
    assert_eq!(
        names(a.list(&lp(&format!("{key}==active"))).await.unwrap()),
        ["k1"]
    );
    assert_eq!(
        names(a.list(&lp(&format!("{key}!=active"))).await.unwrap()),
        ["k2", "plain"]
    );
    assert_eq!(
        names(
            a.list(&lp(&format!("{key} in (active,compromised)")))
                .await
                .unwrap()
        ),
        ["k1", "k2"]
    );
    assert_eq!(
        names(a.list(&lp(&format!("{key} notin (active)"))).await.unwrap()),
        ["k2", "plain"]
    );
    assert_eq!(names(a.list(&lp(key)).await.unwrap()), ["k1", "k2"]);
    assert_eq!(
        names(a.list(&lp(&format!("!{key}"))).await.unwrap()),
        ["plain"]
    );
    assert_eq!(
        names(all.list(&lp(&format!("{key}=active"))).await.unwrap()),
        ["k1", "k3"]
    );
    let fp = ListParams::default().fields("metadata.name=k3");
    assert_eq!(names(all.list(&fp).await.unwrap()), ["k3"]);
    let fp = ListParams::default().fields("metadata.namespace=a,metadata.name!=k1");
    assert_eq!(names(all.list(&fp).await.unwrap()), ["k2", "plain"]);
    // Pagination.
    let page = all.list(&ListParams::default().limit(3)).await.unwrap();
    assert_eq!(page.items.len(), 3);
    let rest = all
        .list(
            &ListParams::default()
                .limit(3)
                .continue_token(page.metadata.continue_.as_deref().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(names(rest), ["k3"]);
    // Bad selector → 400.
    let e = api_err(a.list(&lp("a in b")).await.unwrap_err());
    assert_eq!(e.code, 400);
}

#[tokio::test]
async fn namespaces_and_cluster_scope() {
    let fake = FakeApiServer::new();
    let ns: Api<Namespace> = Api::all(fake.client("default"));
    let got = ns.get("kube-system").await.unwrap();
    assert_eq!(got.metadata.name.as_deref(), Some("kube-system"));
    fake.create_namespace("team-a");
    let names: Vec<_> = ns
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|n| n.metadata.name.unwrap())
        .collect();
    assert_eq!(names, ["default", "kube-public", "kube-system", "team-a"]);
    // Deleting a namespace deletes what is in it.
    fake.insert(
        &Gvr::secrets(),
        json!({"metadata": {"name": "s", "namespace": "team-a"}}),
    );
    ns.delete("team-a", &DeleteParams::default()).await.unwrap();
    assert!(fake.get(&Gvr::secrets(), "team-a", "s").is_none());
}

#[tokio::test]
async fn status_subresource_and_generation() {
    let fake = FakeApiServer::new();
    let client = fake.client("default");
    let api = ss_api(&client, "default");
    let created = api
        .create(&PostParams::default(), &sealed("s"))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(
        created.data.get("status").is_none(),
        "create ignores status"
    );

    // Status write changes only .status.
    let mut st = created.clone();
    st.data["status"] =
        json!({"observedGeneration": 1, "conditions": [{"type": "Synced", "status": "True"}]});
    st.data["spec"]["encryptedData"]["a"] = json!("changed");
    let after = api
        .replace_status("s", &PostParams::default(), &st)
        .await
        .unwrap();
    assert_eq!(after.data["status"]["observedGeneration"], 1);
    assert_eq!(after.data["spec"]["encryptedData"]["a"], "AgA=");
    assert_eq!(after.metadata.generation, Some(1));

    // Main-resource write ignores .status; spec change bumps generation.
    let mut main = after.clone();
    main.data["status"] = json!({"observedGeneration": 99});
    main.data["spec"]["encryptedData"]["b"] = json!("Ag==");
    let after2 = api
        .replace("s", &PostParams::default(), &main)
        .await
        .unwrap();
    assert_eq!(after2.data["status"]["observedGeneration"], 1);
    assert_eq!(after2.metadata.generation, Some(2));

    // Metadata-only change: no generation bump.
    let pp = PatchParams::default();
    let after3 = api
        .patch(
            "s",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"l": "v"}}})),
        )
        .await
        .unwrap();
    assert_eq!(after3.metadata.generation, Some(2));
    assert_ne!(
        after3.metadata.resource_version,
        after2.metadata.resource_version
    );

    // Status patch (merge) only touches status.
    let after4 = api
        .patch_status(
            "s",
            &pp,
            &Patch::Merge(
                json!({"spec": {"encryptedData": null}, "status": {"observedGeneration": 2}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(after4.data["status"]["observedGeneration"], 2);
    assert_eq!(after4.data["status"]["conditions"][0]["type"], "Synced");
    assert_eq!(after4.data["spec"]["encryptedData"]["a"], "AgA=");
    assert_eq!(after4.metadata.generation, Some(2));

    // Custom resources need a resourceVersion on PUT.
    let mut no_rv = after4.clone();
    no_rv.metadata.resource_version = None;
    let e = api_err(
        api.replace("s", &PostParams::default(), &no_rv)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 422);
    assert!(e.message.ends_with(
        "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
    ));

    // Stale status write → conflict.
    let e = api_err(
        api.replace_status("s", &PostParams::default(), &st)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 409);
    assert!(e.message.contains(r#"sealedsecrets.bitnami.com "s""#));
}

#[tokio::test]
async fn patch_flavours() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::namespaced(fake.client("default"), "default");
    let pp = PatchParams::default();
    let e = api_err(
        api.patch("cm", &pp, &Patch::Merge(json!({"data": {"a": "1"}})))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 404);

    // Server-side apply creates, then merges.
    let apply = PatchParams::apply("test").force();
    let cm = api
        .patch(
            "cm",
            &apply,
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1", "b": "2"}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(cm.data.unwrap()["a"], "1");
    let cm = api
        .patch(
            "cm",
            &pp,
            &Patch::Merge(json!({"data": {"a": null, "c": "3"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        cm.data.as_ref().unwrap().keys().collect::<Vec<_>>(),
        ["b", "c"]
    );
    let cm = api
        .patch("cm", &pp, &Patch::Strategic(json!({"data": {"d": "4"}})))
        .await
        .unwrap();
    assert_eq!(cm.data.as_ref().unwrap().len(), 3);
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/b", "value": "2"},
        {"op": "replace", "path": "/data/b", "value": "22"},
    ]))
    .unwrap();
    let cm = api.patch("cm", &pp, &Patch::Json::<()>(ops)).await.unwrap();
    assert_eq!(cm.data.as_ref().unwrap()["b"], "22");
    let bad: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/data/b", "value": "nope"}]))
            .unwrap();
    let e = api_err(
        api.patch("cm", &pp, &Patch::Json::<()>(bad))
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 422);
    // A resourceVersion in a merge patch is a precondition.
    let e = api_err(
        api.patch(
            "cm",
            &pp,
            &Patch::Merge(json!({"metadata": {"resourceVersion": "1"}, "data": {"x": "y"}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(e.code, 409);
    assert_eq!(fake.count(Verb::Patch, "configmaps"), 7);
}

#[tokio::test]
async fn immutable_secrets() {
    let fake = FakeApiServer::new();
    let api: Api<Secret> = Api::namespaced(fake.client("default"), "default");
    let mut s = secret("imm", &[("k", "v")]);
    s.immutable = Some(true);
    let created = api.create(&PostParams::default(), &s).await.unwrap();
    let e = api_err(
        api.patch(
            "imm",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"k": "w"}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        e.message,
        "Secret \"imm\" is invalid: data: Forbidden: field is immutable when `immutable` is set"
    );
    // Metadata may still change.
    let mut m = created.clone();
    m.metadata.labels = Some([("a".to_string(), "b".to_string())].into());
    api.replace("imm", &PostParams::default(), &m)
        .await
        .unwrap();
    let e = api_err(
        api.patch(
            "imm",
            &PatchParams::default(),
            &Patch::Merge(json!({"immutable": false, "data": {"k": "eA=="}})),
        )
        .await
        .unwrap_err(),
    );
    assert!(e.message.starts_with("Secret \"imm\" is invalid: [immutable: Forbidden: field is immutable when `immutable` is set, data: Forbidden"), "{}", e.message);
    let e = api_err(
        api.patch(
            "imm",
            &PatchParams::default(),
            &Patch::Merge(json!({"type": "kubernetes.io/tls"})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(
        e.message,
        "Secret \"imm\" is invalid: type: Invalid value: \"kubernetes.io/tls\": field is immutable"
    );
}

#[tokio::test]
async fn garbage_collection_of_owned_secrets() {
    let fake = FakeApiServer::new();
    let client = fake.client("default");
    let ss = ss_api(&client, "default");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "default");
    let owner = ss
        .create(&PostParams::default(), &sealed("owner"))
        .await
        .unwrap();
    let other = ss
        .create(&PostParams::default(), &sealed("other"))
        .await
        .unwrap();
    let oref = |o: &DynamicObject| OwnerReference {
        api_version: "bitnami.com/v1alpha1".into(),
        kind: "SealedSecret".into(),
        name: o.metadata.name.clone().unwrap(),
        uid: o.metadata.uid.clone().unwrap(),
        controller: Some(true),
        block_owner_deletion: None,
    };
    let mut owned = secret("owner", &[("k", "v")]);
    owned.metadata.owner_references = Some(vec![oref(&owner)]);
    secrets
        .create(&PostParams::default(), &owned)
        .await
        .unwrap();
    let mut shared = secret("shared", &[]);
    shared.metadata.owner_references = Some(vec![oref(&owner), oref(&other)]);
    secrets
        .create(&PostParams::default(), &shared)
        .await
        .unwrap();
    let mut unowned = secret("unowned", &[]);
    unowned.metadata.owner_references = Some(vec![oref(&other)]);
    secrets
        .create(&PostParams::default(), &unowned)
        .await
        .unwrap();

    ss.delete("owner", &DeleteParams::default()).await.unwrap();
    assert!(
        secrets.get_opt("owner").await.unwrap().is_none(),
        "owned Secret collected"
    );
    let shared = secrets.get("shared").await.unwrap();
    assert_eq!(
        shared.metadata.owner_references.unwrap().len(),
        1,
        "dangling ref dropped, object kept"
    );
    assert!(secrets.get_opt("unowned").await.unwrap().is_some());

    // Orphan propagation keeps dependents and strips the reference.
    ss.delete("other", &DeleteParams::orphan()).await.unwrap();
    let u = secrets.get("unowned").await.unwrap();
    assert!(u.metadata.owner_references.is_none());
}

#[tokio::test]
async fn finalizers_delay_deletion() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::namespaced(fake.client("default"), "default");
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "f", "finalizers": ["x/y"]}})).unwrap();
    api.create(&PostParams::default(), &cm).await.unwrap();
    api.delete("f", &DeleteParams::default()).await.unwrap();
    let got = api.get("f").await.unwrap();
    assert!(got.metadata.deletion_timestamp.is_some());
    api.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(api.get_opt("f").await.unwrap().is_none());
}

#[tokio::test]
async fn fault_injection_and_counters() {
    let fake = FakeApiServer::new();
    let api: Api<Secret> = Api::namespaced(fake.client("default"), "default");
    fake.fail_next(2, Verb::Create, "secrets", None, 500, "InternalError");
    for _ in 0..2 {
        let e = api_err(
            api.create(&PostParams::default(), &secret("a", &[]))
                .await
                .unwrap_err(),
        );
        assert_eq!((e.code, e.reason.as_str()), (500, "InternalError"));
    }
    api.create(&PostParams::default(), &secret("a", &[]))
        .await
        .unwrap();
    fake.inject_conflicts(1, Verb::Update, "secrets", Some("a"));
    let cur = api.get("a").await.unwrap();
    let e = api_err(
        api.replace("a", &PostParams::default(), &cur)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 409);
    assert!(e.message.contains("the object has been modified"));
    api.replace("a", &PostParams::default(), &cur)
        .await
        .unwrap();
    fake.fail(
        Fault::new(403, "Forbidden")
            .verb(Verb::Get)
            .name("a")
            .message("nope"),
    );
    let e = api_err(api.get("a").await.unwrap_err());
    assert_eq!((e.code, e.message.as_str()), (403, "nope"));
    api.get("a").await.unwrap();

    assert_eq!(fake.count(Verb::Create, "secrets"), 3);
    assert_eq!(fake.count(Verb::Update, "secrets"), 2);
    assert_eq!(fake.count(Verb::Get, "secrets"), 3);
    assert_eq!(fake.writes("secrets"), 5);
    fake.reset_requests();
    assert_eq!(fake.writes("secrets"), 0);

    // Latency.
    fake.set_latency(Duration::from_millis(100));
    let t = std::time::Instant::now();
    api.get("a").await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn raw_watch_resume_and_expiry() {
    let fake = FakeApiServer::new();
    let api: Api<Secret> = Api::namespaced(fake.client("default"), "default");
    let a = api
        .create(&PostParams::default(), &secret("a", &[]))
        .await
        .unwrap();
    let rv = a.metadata.resource_version.clone().unwrap();
    api.create(&PostParams::default(), &secret("b", &[]))
        .await
        .unwrap();
    api.delete("a", &DeleteParams::default()).await.unwrap();

    // Resume after `a` was created: sees b ADDED and a DELETED, in order.
    let mut wp = WatchParams::default().timeout(1);
    wp.bookmarks = false;
    let events: Vec<_> = api
        .watch(&wp, &rv)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let kinds: Vec<String> = events
        .iter()
        .map(|e| match e {
            WatchEvent::Added(s) => format!("ADDED {}", s.metadata.name.as_deref().unwrap()),
            WatchEvent::Deleted(s) => format!("DELETED {}", s.metadata.name.as_deref().unwrap()),
            WatchEvent::Modified(_) => "MODIFIED".into(),
            WatchEvent::Bookmark(_) => "BOOKMARK".into(),
            WatchEvent::Error(e) => format!("ERROR {}", e.code),
        })
        .collect();
    assert_eq!(kinds, ["ADDED b", "DELETED a"]);

    // rv "0" starts with the current state.
    let events: Vec<_> = api
        .watch(&wp, "0")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(
        matches!(&events[..], [WatchEvent::Added(s), ..] if s.metadata.name.as_deref() == Some("b"))
    );
    assert!(
        events[1..]
            .iter()
            .all(|e| matches!(e, WatchEvent::Bookmark(_)))
    );

    // After compaction an old resourceVersion is answered with a 410 ERROR event.
    fake.compact();
    let events: Vec<_> = api
        .watch(&wp, &rv)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    match &events[..] {
        [WatchEvent::Error(e)] => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected one 410 error, got {} events", other.len()),
    }

    // Open watches are counted until the client goes away.
    assert_eq!(fake.open_watches(), 0);
    let stream = api.watch(&WatchParams::default(), "0").await.unwrap();
    assert_eq!(fake.open_watches(), 1);
    drop(stream);
    for _ in 0..100 {
        if fake.open_watches() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fake.open_watches(), 0);

    // Bookmarks, when allowed.
    fake.set_bookmark_interval(Duration::from_millis(50));
    let mut wp = WatchParams::default().timeout(1);
    wp.bookmarks = true;
    let now = fake.resource_version().to_string();
    let events: Vec<_> = api
        .watch(&wp, &now)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|e| matches!(e, WatchEvent::Bookmark(b) if b.metadata.resource_version == now))
    );
}

#[tokio::test]
async fn watch_with_label_selector_reports_leaving_objects_as_deleted() {
    let fake = FakeApiServer::new();
    let api: Api<ConfigMap> = Api::namespaced(fake.client("default"), "default");
    let rv = fake.resource_version().to_string();
    let pp = PatchParams::default();
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "c", "labels": {"k": "a"}}})).unwrap();
    api.create(&PostParams::default(), &cm).await.unwrap();
    api.patch(
        "c",
        &pp,
        &Patch::Merge(json!({"metadata": {"labels": {"k": "b"}}})),
    )
    .await
    .unwrap();
    api.patch(
        "c",
        &pp,
        &Patch::Merge(json!({"metadata": {"labels": {"k": "a"}}})),
    )
    .await
    .unwrap();
    api.patch("c", &pp, &Patch::Merge(json!({"data": {"x": "y"}})))
        .await
        .unwrap();
    let mut wp = WatchParams::default().labels("k=a").timeout(1);
    wp.bookmarks = false;
    let events: Vec<_> = api
        .watch(&wp, &rv)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["ADDED", "DELETED", "ADDED", "MODIFIED"]);
}

async fn next_apply(
    stream: &mut (impl futures::Stream<Item = Result<watcher::Event<Secret>, watcher::Error>> + Unpin),
) -> watcher::Event<Secret> {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("watcher event in time")
            .expect("stream open");
        // Skip errors (e.g. the 410) and Init markers.
        if let Ok(
            ev @ (watcher::Event::Apply(_)
            | watcher::Event::Delete(_)
            | watcher::Event::InitApply(_)
            | watcher::Event::InitDone),
        ) = ev
        {
            return ev;
        }
    }
}

fn name_of(ev: &watcher::Event<Secret>) -> String {
    match ev {
        watcher::Event::Apply(s) => format!("apply {}", s.metadata.name.as_deref().unwrap()),
        watcher::Event::Delete(s) => format!("delete {}", s.metadata.name.as_deref().unwrap()),
        watcher::Event::InitApply(s) => {
            format!("init-apply {}", s.metadata.name.as_deref().unwrap())
        }
        watcher::Event::InitDone => "init-done".into(),
        _ => "other".into(),
    }
}

async fn exercise_watcher(config: watcher::Config) {
    let fake = FakeApiServer::new();
    fake.set_bookmark_interval(Duration::from_millis(20));
    let client = fake.client("default");
    let api: Api<Secret> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &secret("pre", &[]))
        .await
        .unwrap();
    let mut stream = watcher(api.clone(), config).boxed();
    // Initial listing.
    let mut init = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            watcher::Event::InitApply(s) => init.push(s.metadata.name.unwrap()),
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(init, ["pre"]);

    api.create(&PostParams::default(), &secret("a", &[]))
        .await
        .unwrap();
    assert_eq!(name_of(&next_apply(&mut stream).await), "apply a");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"stringData": {"x": "y"}})),
    )
    .await
    .unwrap();
    assert_eq!(name_of(&next_apply(&mut stream).await), "apply a");
    api.delete("a", &DeleteParams::default()).await.unwrap();
    assert_eq!(name_of(&next_apply(&mut stream).await), "delete a");

    // Closing watches: the watcher re-watches from its last resourceVersion and misses nothing.
    tokio::time::sleep(Duration::from_millis(60)).await;
    fake.close_watches();
    api.create(&PostParams::default(), &secret("b", &[]))
        .await
        .unwrap();
    assert_eq!(name_of(&next_apply(&mut stream).await), "apply b");

    // Closing watches after compaction: 410 → relist.
    fake.compact();
    fake.close_watches();
    api.create(&PostParams::default(), &secret("c", &[]))
        .await
        .unwrap();
    let mut seen: Vec<String> = Vec::new();
    while !seen.iter().any(|s| s.ends_with("apply c")) {
        seen.push(name_of(&next_apply(&mut stream).await));
    }
    assert!(
        seen.iter().any(|s| s == "init-apply b"),
        "relisted after 410: {seen:?}"
    );
}

#[tokio::test]
async fn runtime_watcher_list_watch() {
    exercise_watcher(watcher::Config::default()).await;
}

#[tokio::test]
async fn runtime_watcher_streaming_list() {
    exercise_watcher(watcher::Config::default().streaming_lists()).await;
}

#[tokio::test]
async fn runtime_watcher_paginated_initial_list() {
    let fake = FakeApiServer::new();
    for i in 0..7 {
        fake.insert(
            &Gvr::secrets(),
            json!({"metadata": {"name": format!("s{i}"), "namespace": "default"}}),
        );
    }
    let api: Api<Secret> = Api::all(fake.client("default"));
    let mut stream = watcher(api, watcher::Config::default().page_size(3)).boxed();
    let mut n = 0;
    loop {
        match stream.next().await.unwrap().unwrap() {
            watcher::Event::InitApply(_) => n += 1,
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(n, 7);
    assert_eq!(fake.count(Verb::List, "secrets"), 3);
}

#[tokio::test]
async fn leases_and_events() {
    let fake = FakeApiServer::new();
    let client = fake.client("kube-system");
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": "sealed-secrets-controller"},
        "spec": {"holderIdentity": "pod-a", "leaseDurationSeconds": 15}
    }))
    .unwrap();
    let l = leases.create(&PostParams::default(), &lease).await.unwrap();
    let mut l2 = l.clone();
    l2.spec.as_mut().unwrap().holder_identity = Some("pod-b".into());
    leases
        .replace("sealed-secrets-controller", &PostParams::default(), &l2)
        .await
        .unwrap();
    // A second replica with the stale copy loses.
    let e = api_err(
        leases
            .replace("sealed-secrets-controller", &PostParams::default(), &l2)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code, 409);

    // kube-runtime's event recorder (events.k8s.io/v1).
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};
    let recorder = Recorder::new(client.clone(), Reporter::from("sealed-secrets"));
    let secret_ref = fake.insert(
        &Gvr::secrets(),
        json!({"metadata": {"name": "s", "namespace": "kube-system"}}),
    );
    let secret: Secret = serde_json::from_value(secret_ref).unwrap();
    let oref = kube::Resource::object_ref(&secret, &());
    recorder
        .publish(
            &Event {
                type_: EventType::Normal,
                reason: "Unsealed".into(),
                note: Some("SealedSecret unsealed successfully".into()),
                action: "Unseal".into(),
                secondary: None,
            },
            &oref,
        )
        .await
        .unwrap();
    let events = fake.list(
        &Gvr::new("events.k8s.io", "v1", "events"),
        Some("kube-system"),
    );
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["reason"], "Unsealed");
}

#[tokio::test]
async fn discovery_finds_sealed_secrets() {
    let fake = FakeApiServer::new();
    let client = fake.client("default");
    let v = client.apiserver_version().await.unwrap();
    assert_eq!(v.major, "1");
    let d = kube::discovery::Discovery::new(client).run().await.unwrap();
    let (ar, caps) = d
        .resolve_gvk(&GroupVersionKind::gvk(
            "bitnami.com",
            "v1alpha1",
            "SealedSecret",
        ))
        .expect("SealedSecret discovered");
    assert_eq!(ar.plural, "sealedsecrets");
    assert!(caps.subresources.iter().any(|(s, _)| s.plural == "status"));
    assert!(
        d.resolve_gvk(&GroupVersionKind::gvk("coordination.k8s.io", "v1", "Lease"))
            .is_some()
    );
}

#[tokio::test]
async fn typed_accessors() {
    let fake = FakeApiServer::new();
    let s = fake.insert_as(&secret("t", &[("k", "v")]));
    assert_eq!(s.metadata.namespace.as_deref(), Some("default"));
    let got: Secret = fake.get_as("default", "t").unwrap();
    assert_eq!(got.data.unwrap()["k"].0, b"v");
    assert_eq!(fake.list_as::<Secret>(None).len(), 1);
    assert!(fake.remove(&Gvr::secrets(), "default", "t").is_some());
    assert!(fake.get_as::<Secret>("default", "t").is_none());
}
