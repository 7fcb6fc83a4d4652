//! The whole controller (`app::run`) in-process against the stateful fake API server:
//! upstream's 23 controller integration scenarios (integration/controller_test.go), plus key
//! life-cycle, leader hand-over, fault recovery and the one-write-per-object property.
//!
//! Each test has its own fake and controller(s); the controller generates its own key and the
//! tests seal with the certificate it serves on `/v1/cert.pem`, as upstream's suite does.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use fake_apiserver::{FakeApiServer, Fault, Gvr, Verb};
use k8s_openapi::ByteString;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use sealed_secrets_controller::app::{self, Environment};
use sealed_secrets_controller::config::Flags;
use sealed_secrets_controller::crd::{SealedSecret, SealedSecretCondition};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, watch};

const CONTROLLER_NS: &str = "kube-system";
const NS: &str = "testns";
const NAME: &str = "testsecret";
const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";
const MANAGED: &str = "sealedsecrets.bitnami.com/managed";
const PATCH: &str = "sealedsecrets.bitnami.com/patch";
const CLUSTER_WIDE: &str = "sealedsecrets.bitnami.com/cluster-wide";
const NAMESPACE_WIDE: &str = "sealedsecrets.bitnami.com/namespace-wide";
const RENEWAL_REQUESTED_AT: &str = "sealedsecrets.bitnami.com/renewal-requested-at";

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../seal/tests/fixtures/compat/keys"
);

// ---------------------------------------------------------------------------------------------
// harness
// ---------------------------------------------------------------------------------------------

fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address")
}

/// One controller replica running `app::run` in this process.
struct Controller {
    api: SocketAddr,
    metrics: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    renew_now: Arc<Notify>,
}

impl Controller {
    async fn start(fake: &FakeApiServer, identity: &str, extra: &[&str]) -> Self {
        let api = free_addr();
        let metrics = free_addr();
        let mut args = vec![
            "sealed-secrets-controller".to_owned(),
            format!("--listen-addr={api}"),
            format!("--listen-metrics-addr={metrics}"),
            "--leader-elect-lease-duration=3s".to_owned(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let flags = Flags::try_parse_from(&args).expect("flags parse");
        let (shutdown, shutdown_rx) = watch::channel(false);
        let renew_now = Arc::new(Notify::new());
        let task = tokio::spawn(app::run(
            flags,
            fake.client("default"),
            Environment {
                namespace: CONTROLLER_NS.into(),
                identity: identity.into(),
            },
            shutdown_rx,
            Arc::clone(&renew_now),
        ));
        Self {
            api,
            metrics,
            shutdown,
            task,
            renew_now,
        }
    }

    /// Stops gracefully and returns what `app::run` returned.
    async fn stop(self) {
        let _ = self.shutdown.send(true);
        let result = tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("controller stops within 20s")
            .expect("controller task did not panic");
        result.expect("controller ended without error");
    }

    /// The sealing certificate, as `kubeseal --fetch-cert` would get it.
    async fn cert(&self) -> seal::Certificate {
        let pem = eventually("GET /v1/cert.pem answers 200", || async {
            match http(self.api, "GET", "/v1/cert.pem", "").await {
                Some((200, body)) => Some(body),
                _ => None,
            }
        })
        .await;
        seal::Certificate::from_pem(pem.as_bytes()).expect("cert.pem parses")
    }

    async fn metrics_text(&self) -> String {
        eventually("GET /metrics answers 200", || async {
            match http(self.metrics, "GET", "/metrics", "").await {
                Some((200, body)) => Some(body),
                _ => None,
            }
        })
        .await
    }
}

/// A minimal HTTP/1.1 client: (status, body).
async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.ok()?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_owned()))
}

const TIMEOUT: Duration = Duration::from_secs(15);
/// A watch that failed comes back after kube's backoff (0.8 s doubling, with jitter) once per
/// error: a relist after a failed re-watch and an expired resourceVersion can take 10 s.
const RELIST_TIMEOUT: Duration = Duration::from_secs(45);
const POLL: Duration = Duration::from_millis(50);

/// Polls `probe` until it yields something (15 s at most, every 50 ms).
async fn eventually<T, F, Fut>(what: impl Display, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(TIMEOUT, what, probe).await
}

/// [`eventually`] with another time limit.
async fn eventually_within<T, F, Fut>(timeout: Duration, what: impl Display, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Polls a synchronous check (usually against the fake's store).
async fn until<T>(what: impl Display, mut probe: impl FnMut() -> Option<T>) -> T {
    eventually(what, || std::future::ready(probe())).await
}

/// Asserts `check` holds for the whole of `period`.
async fn stays(what: impl Display, period: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + period;
    while tokio::time::Instant::now() < deadline {
        assert!(check(), "{what}");
        tokio::time::sleep(POLL).await;
    }
    assert!(check(), "{what}");
}

/// A fake with namespace `testns` and one controller (`ctl-a`) started on it.
async fn setup(extra: &[&str]) -> (FakeApiServer, Controller) {
    let fake = FakeApiServer::new();
    fake.create_namespace(NS);
    let controller = Controller::start(&fake, "ctl-a", extra).await;
    (fake, controller)
}

// ----- objects -----

/// Upstream's test Secret: label `mylabel=myvalue`, plus the given data, annotations, type.
struct TestSecret {
    namespace: String,
    name: String,
    data: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    type_: Option<String>,
    immutable: Option<bool>,
}

impl TestSecret {
    fn new() -> Self {
        Self {
            namespace: NS.into(),
            name: NAME.into(),
            data: vec![("foo".into(), "bar".into())],
            annotations: Vec::new(),
            type_: None,
            immutable: None,
        }
    }

    fn data(mut self, pairs: &[(&str, &str)]) -> Self {
        self.data = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        self
    }

    fn named(mut self, namespace: &str, name: &str) -> Self {
        self.namespace = namespace.into();
        self.name = name.into();
        self
    }

    fn annotation(mut self, key: &str, value: &str) -> Self {
        self.annotations.push((key.into(), value.into()));
        self
    }

    fn type_(mut self, type_: &str) -> Self {
        self.type_ = Some(type_.into());
        self
    }

    fn immutable(mut self) -> Self {
        self.immutable = Some(true);
        self
    }

    fn seal(&self, cert: &seal::Certificate) -> SealedSecret {
        let string_data: serde_json::Map<String, Value> = self
            .data
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let annotations: serde_json::Map<String, Value> = self
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let mut manifest = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {"mylabel": "myvalue"},
                "annotations": annotations,
            },
            "stringData": string_data,
        });
        if let Some(t) = &self.type_ {
            manifest["type"] = json!(t);
        }
        if let Some(i) = self.immutable {
            manifest["immutable"] = json!(i);
        }
        let secret = seal::read_secrets(&manifest.to_string())
            .expect("test Secret parses")
            .remove(0);
        let sealed = seal::seal_secret(&secret, cert.public_key(), &seal::SealOptions::default())
            .expect("seal");
        to_crd(&sealed)
    }
}

fn to_crd(sealed: &seal::SealedSecret) -> SealedSecret {
    serde_json::from_value(serde_json::to_value(sealed).expect("serialize"))
        .expect("a sealed SealedSecret is a valid CRD object")
}

fn ss_api(fake: &FakeApiServer, namespace: &str) -> Api<SealedSecret> {
    Api::namespaced(fake.client(namespace), namespace)
}

fn secret_api(fake: &FakeApiServer, namespace: &str) -> Api<Secret> {
    Api::namespaced(fake.client(namespace), namespace)
}

/// Creates `sealed`, moved to `namespace`/`name` (to test renames and moves).
async fn create_as(
    fake: &FakeApiServer,
    sealed: &SealedSecret,
    namespace: &str,
    name: &str,
) -> SealedSecret {
    let mut sealed = sealed.clone();
    sealed.metadata.namespace = Some(namespace.into());
    sealed.metadata.name = Some(name.into());
    ss_api(fake, namespace)
        .create(&PostParams::default(), &sealed)
        .await
        .expect("create SealedSecret")
}

async fn create(fake: &FakeApiServer, sealed: &SealedSecret) -> SealedSecret {
    let namespace = sealed.metadata.namespace.clone().unwrap();
    let name = sealed.metadata.name.clone().unwrap();
    create_as(fake, sealed, &namespace, &name).await
}

/// Replaces the spec of the stored SealedSecret with `sealed`'s (a new generation).
async fn update_spec(fake: &FakeApiServer, sealed: &SealedSecret) {
    let namespace = sealed.metadata.namespace.clone().unwrap();
    let name = sealed.metadata.name.clone().unwrap();
    ss_api(fake, &namespace)
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": serde_json::to_value(&sealed.spec).unwrap()})),
        )
        .await
        .expect("patch SealedSecret spec");
}

async fn delete_secret(fake: &FakeApiServer, namespace: &str, name: &str) {
    secret_api(fake, namespace)
        .delete(name, &DeleteParams::default())
        .await
        .expect("delete Secret");
}

fn secret(fake: &FakeApiServer, namespace: &str, name: &str) -> Option<Secret> {
    fake.get_as::<Secret>(namespace, name)
}

fn data_of(secret: &Secret) -> BTreeMap<String, String> {
    secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
        .collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn labels_of(secret: &Secret) -> BTreeMap<String, String> {
    secret.metadata.labels.clone().unwrap_or_default()
}

fn annotations_of(secret: &Secret) -> BTreeMap<String, String> {
    secret.metadata.annotations.clone().unwrap_or_default()
}

/// Waits for the Secret to exist with exactly `expected` data.
async fn secret_with_data(
    fake: &FakeApiServer,
    namespace: &str,
    name: &str,
    expected: &[(&str, &str)],
) -> Secret {
    let expected = map(expected);
    until(
        format!("Secret {namespace}/{name} with data {expected:?}"),
        || secret(fake, namespace, name).filter(|s| data_of(s) == expected),
    )
    .await
}

fn synced_condition(sealed: &SealedSecret) -> Option<SealedSecretCondition> {
    sealed
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Synced")
        .cloned()
}

/// Waits for `Synced` = `status` with `observedGeneration` = `generation`.
async fn synced(
    fake: &FakeApiServer,
    namespace: &str,
    name: &str,
    status: &str,
    generation: i64,
) -> SealedSecretCondition {
    until(
        format!("{namespace}/{name} Synced={status} at generation {generation}"),
        || {
            let sealed = fake.get_as::<SealedSecret>(namespace, name)?;
            let observed = sealed.status.as_ref()?.observed_generation;
            let condition = synced_condition(&sealed)?;
            (condition.status == status && observed == Some(generation)).then_some(condition)
        },
    )
    .await
}

/// One events.k8s.io/v1 Event (repeats of a series counted).
#[derive(Debug, Clone)]
struct SeenEvent {
    type_: String,
    reason: String,
    note: String,
    instance: String,
    count: u64,
}

fn events(fake: &FakeApiServer, namespace: &str, kind: &str, name: &str) -> Vec<SeenEvent> {
    fake.list(&Gvr::new("events.k8s.io", "v1", "events"), Some(namespace))
        .into_iter()
        .filter(|e| e["regarding"]["name"] == name && e["regarding"]["kind"] == kind)
        .map(|e| SeenEvent {
            type_: e["type"].as_str().unwrap_or_default().to_owned(),
            reason: e["reason"].as_str().unwrap_or_default().to_owned(),
            note: e["note"].as_str().unwrap_or_default().to_owned(),
            instance: e["reportingInstance"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            count: e["series"]["count"].as_u64().unwrap_or(1),
        })
        .collect()
}

/// How many times `reason` was reported for the SealedSecret.
fn event_count(fake: &FakeApiServer, namespace: &str, name: &str, reason: &str) -> u64 {
    events(fake, namespace, "SealedSecret", name)
        .iter()
        .filter(|e| e.reason == reason)
        .map(|e| e.count)
        .sum()
}

async fn event(fake: &FakeApiServer, namespace: &str, name: &str, reason: &str) -> SeenEvent {
    until(format!("event {reason} for {namespace}/{name}"), || {
        events(fake, namespace, "SealedSecret", name)
            .into_iter()
            .find(|e| e.reason == reason)
    })
    .await
}

fn owner_uids(secret: &Secret) -> Vec<String> {
    secret
        .metadata
        .owner_references
        .iter()
        .flatten()
        .map(|r| {
            assert_eq!(r.kind, "SealedSecret");
            assert_eq!(r.api_version, "bitnami.com/v1alpha1");
            assert_eq!(r.controller, Some(true));
            r.uid.clone()
        })
        .collect()
}

/// A pre-existing Secret `testns/testsecret` (created through the API).
async fn pre_existing(
    fake: &FakeApiServer,
    annotations: &[(&str, &str)],
    labels: &[(&str, &str)],
    data: &[(&str, &str)],
) -> Secret {
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(NAME.into()),
            namespace: Some(NS.into()),
            annotations: (!annotations.is_empty()).then(|| map(annotations)),
            labels: (!labels.is_empty()).then(|| map(labels)),
            ..Default::default()
        },
        data: (!data.is_empty()).then(|| {
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
                .collect()
        }),
        ..Default::default()
    };
    secret_api(fake, NS)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create pre-existing Secret")
}

// ----- keys -----

fn key_secrets(fake: &FakeApiServer) -> Vec<Secret> {
    fake.list_as::<Secret>(Some(CONTROLLER_NS))
        .into_iter()
        .filter(|s| {
            s.metadata
                .labels
                .as_ref()
                .is_some_and(|l| l.contains_key(KEY_LABEL))
        })
        .collect()
}

fn fixture(name: &str, file: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}/{file}")).expect("fixture")
}

fn fixture_cert(name: &str) -> seal::Certificate {
    seal::Certificate::from_pem(fixture(name, "tls.crt").as_bytes()).expect("fixture cert")
}

/// A key Secret as an operator restores it from a backup.
fn restored_key(name: &str, fixture_name: &str, label: &str) -> Value {
    json!({
        "metadata": {
            "name": name,
            "namespace": CONTROLLER_NS,
            "labels": {KEY_LABEL: label},
        },
        "type": "kubernetes.io/tls",
        "stringData": {
            "tls.key": fixture(fixture_name, "tls.key"),
            "tls.crt": fixture(fixture_name, "tls.crt"),
        },
    })
}

async fn create_key_secret(fake: &FakeApiServer, secret: Value) {
    let secret: Secret = serde_json::from_value(secret).unwrap();
    secret_api(fake, CONTROLLER_NS)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create key Secret");
}

fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

// ----- request counting -----

fn writes_in(fake: &FakeApiServer, namespace: &str, resource: &str, sub: Option<&str>) -> usize {
    fake.requests()
        .iter()
        .filter(|r| {
            r.verb.is_write()
                && r.namespace.as_deref() == Some(namespace)
                && r.gvr.as_ref().is_some_and(|g| g.resource == resource)
                && r.subresource.as_deref() == sub
        })
        .count()
}

fn count_in(fake: &FakeApiServer, namespace: &str, verb: Verb, resource: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| {
            r.verb == verb
                && r.namespace.as_deref() == Some(namespace)
                && r.gvr.as_ref().is_some_and(|g| g.resource == resource)
                && r.subresource.is_none()
        })
        .count()
}

// =============================================================================================
// upstream integration/controller_test.go, scenarios 1–23
// =============================================================================================

/// 1. Create: Secret with foo=bar and the template label; status set with
/// lastTransitionTime == lastUpdateTime; event Unsealed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s01_create() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    let created = create(&fake, &TestSecret::new().seal(&cert)).await;

    let s = secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    assert_eq!(labels_of(&s), map(&[("mylabel", "myvalue")]));
    assert_eq!(owner_uids(&s), vec![created.metadata.uid.clone().unwrap()]);
    let c = synced(&fake, NS, NAME, "True", 1).await;
    assert!(c.last_update_time.is_some());
    assert_eq!(c.last_transition_time, c.last_update_time);
    assert_eq!(c.message, None);
    let e = event(&fake, NS, NAME, "Unsealed").await;
    assert_eq!(e.type_, "Normal");
    assert_eq!(e.note, "SealedSecret unsealed successfully");
    ctl.stop().await;
}

/// 2. Update (re-sealed foo=baz): Secret updated; observedGeneration 2; times differ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s02_update() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    create(&fake, &TestSecret::new().seal(&cert)).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    synced(&fake, NS, NAME, "True", 1).await;
    // Status times have whole seconds: let the clock move on.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    update_spec(
        &fake,
        &TestSecret::new().data(&[("foo", "baz")]).seal(&cert),
    )
    .await;
    secret_with_data(&fake, NS, NAME, &[("foo", "baz")]).await;
    let c = synced(&fake, NS, NAME, "True", 2).await;
    assert_ne!(c.last_transition_time, c.last_update_time);
    ctl.stop().await;
}

/// 3. Renamed encryptedData item: item keys are not part of the label.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s03_renamed_item() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    let mut sealed = TestSecret::new().seal(&cert);
    let value = sealed.spec.encrypted_data.remove("foo").unwrap();
    sealed.spec.encrypted_data.insert("xyzzy".into(), value);
    create(&fake, &sealed).await;
    secret_with_data(&fake, NS, NAME, &[("xyzzy", "bar")]).await;
    ctl.stop().await;
}

/// 4. An item sealed separately (raw, label `ns/name`) appended to encryptedData.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s04_appended_item() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    let mut sealed = TestSecret::new().seal(&cert);
    let label = format!("{NS}/{NAME}");
    let raw = seal::seal_value(cert.public_key(), label.as_bytes(), b"bar2");
    use base64::Engine as _;
    sealed.spec.encrypted_data.insert(
        "foo2".into(),
        base64::engine::general_purpose::STANDARD.encode(raw),
    );
    create(&fake, &sealed).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar"), ("foo2", "bar2")]).await;
    ctl.stop().await;
}

/// 5. Pre-existing Secret with `managed`: taken over wholesale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s05_managed_takeover() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    pre_existing(
        &fake,
        &[(MANAGED, "true")],
        &[("otherlabel", "x")],
        &[("foo2", "bar2")],
    )
    .await;
    let created = create(&fake, &TestSecret::new().seal(&cert)).await;
    let s = secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    assert_eq!(owner_uids(&s), vec![created.metadata.uid.unwrap()]);
    assert!(annotations_of(&s).is_empty(), "{:?}", annotations_of(&s));
    assert_eq!(labels_of(&s), map(&[("mylabel", "myvalue")]));
    synced(&fake, NS, NAME, "True", 1).await;
    ctl.stop().await;
}

/// 6. Pre-existing with `managed` + `patch`: merged and owned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s06_managed_and_patch() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    pre_existing(
        &fake,
        &[(MANAGED, "true"), (PATCH, "true")],
        &[("otherlabel", "x")],
        &[("foo2", "bar2")],
    )
    .await;
    let created = create(&fake, &TestSecret::new().seal(&cert)).await;
    let s = secret_with_data(&fake, NS, NAME, &[("foo", "bar"), ("foo2", "bar2")]).await;
    assert_eq!(owner_uids(&s), vec![created.metadata.uid.unwrap()]);
    assert_eq!(
        annotations_of(&s),
        map(&[(MANAGED, "true"), (PATCH, "true")])
    );
    assert_eq!(
        labels_of(&s),
        map(&[("mylabel", "myvalue"), ("otherlabel", "x")])
    );
    ctl.stop().await;
}

/// 7. Pre-existing with `patch` only: merged, not owned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s07_patch() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    pre_existing(
        &fake,
        &[(PATCH, "true")],
        &[("otherlabel", "x")],
        &[("foo2", "bar2")],
    )
    .await;
    create(&fake, &TestSecret::new().seal(&cert)).await;
    let s = secret_with_data(&fake, NS, NAME, &[("foo", "bar"), ("foo2", "bar2")]).await;
    assert!(owner_uids(&s).is_empty());
    assert_eq!(annotations_of(&s), map(&[(PATCH, "true")]));
    assert_eq!(
        labels_of(&s),
        map(&[("mylabel", "myvalue"), ("otherlabel", "x")])
    );
    synced(&fake, NS, NAME, "True", 1).await;
    ctl.stop().await;
}

/// 8. Pre-existing empty Secret with `patch`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s08_empty_with_patch() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    pre_existing(&fake, &[(PATCH, "true")], &[], &[]).await;
    create(&fake, &TestSecret::new().seal(&cert)).await;
    let s = secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    assert_eq!(labels_of(&s), map(&[("mylabel", "myvalue")]));
    assert!(owner_uids(&s).is_empty());
    ctl.stop().await;
}

/// 9. Owned Secret deleted: re-created with the ownerReference and an Unsealed event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s09_owned_secret_deleted_is_recreated() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    let created = create(&fake, &TestSecret::new().seal(&cert)).await;
    let first = secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    event(&fake, NS, NAME, "Unsealed").await;
    let before = event_count(&fake, NS, NAME, "Unsealed");

    delete_secret(&fake, NS, NAME).await;
    let again = until("Secret re-created", || {
        secret(&fake, NS, NAME).filter(|s| s.metadata.uid != first.metadata.uid)
    })
    .await;
    assert_eq!(data_of(&again), map(&[("foo", "bar")]));
    assert_eq!(owner_uids(&again), vec![created.metadata.uid.unwrap()]);
    until("a new Unsealed event", || {
        (event_count(&fake, NS, NAME, "Unsealed") > before).then_some(())
    })
    .await;
    ctl.stop().await;
}

/// 10. A `managed` Secret that was taken over and then deleted is re-created, owned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s10_managed_secret_deleted_is_recreated() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    let original = pre_existing(&fake, &[(MANAGED, "true")], &[], &[("foo2", "bar2")]).await;
    let created = create(&fake, &TestSecret::new().seal(&cert)).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    delete_secret(&fake, NS, NAME).await;
    let again = until("Secret re-created", || {
        secret(&fake, NS, NAME).filter(|s| s.metadata.uid != original.metadata.uid)
    })
    .await;
    assert_eq!(data_of(&again), map(&[("foo", "bar")]));
    assert_eq!(owner_uids(&again), vec![created.metadata.uid.unwrap()]);
    ctl.stop().await;
}

/// 11. An unowned Secret without annotations: refused, and not re-created once deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s11_unowned_secret_deleted_is_not_recreated() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    pre_existing(&fake, &[], &[], &[("foo2", "bar2")]).await;
    create(&fake, &TestSecret::new().seal(&cert)).await;
    let e = event(&fake, NS, NAME, "ErrUpdateFailed").await;
    assert_eq!(e.type_, "Warning");
    assert!(
        e.note
            .contains("already exists and is not managed by SealedSecret"),
        "{}",
        e.note
    );
    let c = synced(&fake, NS, NAME, "False", 1).await;
    assert!(c.message.unwrap().contains("is not managed"));
    let untouched = secret(&fake, NS, NAME).unwrap();
    assert_eq!(data_of(&untouched), map(&[("foo2", "bar2")]));

    delete_secret(&fake, NS, NAME).await;
    stays("no Secret re-created", Duration::from_millis(1500), || {
        secret(&fake, NS, NAME).is_none()
    })
    .await;
    ctl.stop().await;
}

/// 12. A `patch`-only Secret deleted is not re-created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s12_patched_secret_deleted_is_not_recreated() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    pre_existing(&fake, &[(PATCH, "true")], &[], &[("foo2", "bar2")]).await;
    create(&fake, &TestSecret::new().seal(&cert)).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar"), ("foo2", "bar2")]).await;
    delete_secret(&fake, NS, NAME).await;
    stays("no Secret re-created", Duration::from_millis(1500), || {
        secret(&fake, NS, NAME).is_none()
    })
    .await;
    ctl.stop().await;
}

/// 13. Sealed with a key the cluster does not have: no Secret, ErrUnsealFailed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s13_foreign_key() {
    let (fake, ctl) = setup(&[]).await;
    let _ = ctl.cert().await;
    create(&fake, &TestSecret::new().seal(&fixture_cert("foreign2048"))).await;
    let e = event(&fake, NS, NAME, "ErrUnsealFailed").await;
    assert_eq!(e.type_, "Warning");
    assert!(e.note.starts_with("Failed to unseal: "), "{}", e.note);
    assert!(e.note.contains("no key could decrypt secret"), "{}", e.note);
    let c = synced(&fake, NS, NAME, "False", 1).await;
    assert!(
        c.message
            .as_deref()
            .unwrap()
            .contains("no key could decrypt secret (foo)"),
        "{c:?}"
    );
    assert!(secret(&fake, NS, NAME).is_none());
    ctl.stop().await;
}

/// A legacy v1 `spec.data` blob whose metadata Kubernetes cannot read (`creationTimestamp: 1`)
/// used to panic the reconcile; now its Secret is created without that metadata, and the
/// controller goes on with the next object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_v1_blob_with_extra_metadata_syncs_instead_of_panicking() {
    use base64::Engine as _;
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    let inner = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": NAME, "creationTimestamp": 1, "resourceVersion": {"x": 1},
            "labels": {"team": "a"}},
        "data": {"foo": "YmFy"}
    });
    let blob = seal::seal_value(
        cert.public_key(),
        format!("{NS}/{NAME}").as_bytes(),
        inner.to_string().as_bytes(),
    );
    let mut legacy: SealedSecret = serde_json::from_value(json!({
        "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
        "metadata": {"name": NAME, "namespace": NS},
        "spec": {"encryptedData": {},
            "data": base64::engine::general_purpose::STANDARD.encode(&blob)}
    }))
    .unwrap();
    legacy.metadata.namespace = Some(NS.into());
    create(&fake, &legacy).await;
    let s = secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    assert_eq!(labels_of(&s), map(&[("team", "a")]));
    synced(&fake, NS, NAME, "True", 1).await;
    // The controller is still reconciling.
    create(&fake, &TestSecret::new().named(NS, "after").seal(&cert)).await;
    secret_with_data(&fake, NS, "after", &[("foo", "bar")]).await;
    ctl.stop().await;
}

/// 14. Secret type kubernetes.io/dockerconfigjson.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s14_dockerconfigjson() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    let config = r#"{"auths":{"r.example":{"auth":"dTpw"}}}"#;
    create(
        &fake,
        &TestSecret::new()
            .data(&[(".dockerconfigjson", config)])
            .type_("kubernetes.io/dockerconfigjson")
            .seal(&cert),
    )
    .await;
    let s = secret_with_data(&fake, NS, NAME, &[(".dockerconfigjson", config)]).await;
    assert_eq!(s.type_.as_deref(), Some("kubernetes.io/dockerconfigjson"));
    event(&fake, NS, NAME, "Unsealed").await;
    ctl.stop().await;
}

/// 15. template.immutable: the Secret is immutable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s15_immutable() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    create(&fake, &TestSecret::new().immutable().seal(&cert)).await;
    let s = secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    assert_eq!(s.immutable, Some(true));
    ctl.stop().await;
}

/// 16. Updating the SealedSecret of an immutable Secret: ErrUpdateFailed, generation observed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s16_immutable_update_fails() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    create(&fake, &TestSecret::new().immutable().seal(&cert)).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    update_spec(
        &fake,
        &TestSecret::new()
            .immutable()
            .data(&[("foo", "baz")])
            .seal(&cert),
    )
    .await;
    let e = event(&fake, NS, NAME, "ErrUpdateFailed").await;
    assert!(
        e.note.contains("the target Secret is immutable"),
        "{}",
        e.note
    );
    let c = synced(&fake, NS, NAME, "False", 2).await;
    assert!(
        c.message
            .unwrap()
            .contains("the target Secret is immutable")
    );
    assert_eq!(
        data_of(&secret(&fake, NS, NAME).unwrap()),
        map(&[("foo", "bar")])
    );
    ctl.stop().await;
}

/// 17. A strict SealedSecret renamed does not open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s17_strict_renamed_fails() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    create_as(&fake, &TestSecret::new().seal(&cert), NS, "renamed").await;
    event(&fake, NS, "renamed", "ErrUnsealFailed").await;
    synced(&fake, NS, "renamed", "False", 1).await;
    assert!(secret(&fake, NS, "renamed").is_none());
    ctl.stop().await;
}

/// 18. A strict SealedSecret moved to another namespace does not open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s18_strict_moved_fails() {
    let (fake, ctl) = setup(&[]).await;
    fake.create_namespace("otherns");
    let cert = ctl.cert().await;
    create_as(&fake, &TestSecret::new().seal(&cert), "otherns", NAME).await;
    event(&fake, "otherns", NAME, "ErrUnsealFailed").await;
    assert!(secret(&fake, "otherns", NAME).is_none());
    ctl.stop().await;
}

/// 19. A cluster-wide SealedSecret renamed opens under the new name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s19_cluster_wide_renamed() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    let sealed = TestSecret::new()
        .annotation(CLUSTER_WIDE, "true")
        .seal(&cert);
    create_as(&fake, &sealed, NS, "renamed").await;
    secret_with_data(&fake, NS, "renamed", &[("foo", "bar")]).await;
    synced(&fake, NS, "renamed", "True", 1).await;
    ctl.stop().await;
}

/// 20. A cluster-wide SealedSecret moved opens in the other namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s20_cluster_wide_moved() {
    let (fake, ctl) = setup(&[]).await;
    fake.create_namespace("otherns");
    let cert = ctl.cert().await;
    let sealed = TestSecret::new()
        .annotation(CLUSTER_WIDE, "true")
        .seal(&cert);
    create_as(&fake, &sealed, "otherns", NAME).await;
    secret_with_data(&fake, "otherns", NAME, &[("foo", "bar")]).await;
    synced(&fake, "otherns", NAME, "True", 1).await;
    ctl.stop().await;
}

/// 21. A namespace-wide SealedSecret renamed opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s21_namespace_wide_renamed() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    let sealed = TestSecret::new()
        .annotation(NAMESPACE_WIDE, "true")
        .seal(&cert);
    create_as(&fake, &sealed, NS, "renamed").await;
    secret_with_data(&fake, NS, "renamed", &[("foo", "bar")]).await;
    ctl.stop().await;
}

/// 22. A namespace-wide SealedSecret moved does not open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s22_namespace_wide_moved_fails() {
    let (fake, ctl) = setup(&[]).await;
    fake.create_namespace("otherns");
    let cert = ctl.cert().await;
    let sealed = TestSecret::new()
        .annotation(NAMESPACE_WIDE, "true")
        .seal(&cert);
    create_as(&fake, &sealed, "otherns", NAME).await;
    event(&fake, "otherns", NAME, "ErrUnsealFailed").await;
    assert!(secret(&fake, "otherns", NAME).is_none());
    ctl.stop().await;
}

/// 23. `--version` prints `controller version: <v>`.
#[test]
fn s23_version() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sealed-secrets-controller"))
        .arg("--version")
        .output()
        .expect("run the controller binary");
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let version = stdout
        .strip_prefix("controller version: ")
        .expect("upstream's prefix")
        .trim_end();
    let semver = version.trim_start_matches('v').split('.').count() == 3;
    assert!(semver, "{stdout:?}");
}

// =============================================================================================
// keys: renewal, live changes, the renewal annotation, malformed key Secrets
// =============================================================================================

/// A short renewal period makes a second key; values sealed with the first still open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_renewal_adds_keys_and_old_keys_still_unseal() {
    let (fake, ctl) = setup(&["--key-renew-period=2s"]).await;
    let first = ctl.cert().await;
    until("a second key Secret", || {
        (key_secrets(&fake).len() >= 2).then_some(())
    })
    .await;
    let second = eventually("cert.pem serves the new key", || async {
        let cert = ctl.cert().await;
        (cert.public_key().fingerprint() != first.public_key().fingerprint()).then_some(cert)
    })
    .await;
    assert!(key_secrets(&fake).iter().all(|s| {
        s.metadata.labels.as_ref().unwrap()[KEY_LABEL] == "active"
            && s.metadata
                .name
                .as_deref()
                .unwrap()
                .starts_with("sealed-secrets-key")
    }));
    create(&fake, &TestSecret::new().seal(&first)).await;
    create(&fake, &TestSecret::new().named(NS, "second").seal(&second)).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    secret_with_data(&fake, NS, "second", &[("foo", "bar")]).await;
    ctl.stop().await;
}

/// SIGUSR1's in-process equivalent: `renew_now` makes one new key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renew_now_makes_one_key() {
    let (fake, ctl) = setup(&["--key-renew-period=0"]).await;
    let first = ctl.cert().await;
    assert_eq!(key_secrets(&fake).len(), 1);
    // Keys are ordered by notBefore, which has whole seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ctl.renew_now.notify_one();
    until("a second key", || {
        (key_secrets(&fake).len() == 2).then_some(())
    })
    .await;
    eventually("cert.pem follows", || async {
        (ctl.cert().await.public_key().fingerprint() != first.public_key().fingerprint())
            .then_some(())
    })
    .await;
    stays("no third key", Duration::from_millis(1500), || {
        key_secrets(&fake).len() == 2
    })
    .await;
    ctl.stop().await;
}

/// A restored key added at runtime opens what failed before, without a restart, and the
/// stale `no key could decrypt` status recovers (upstream #853/#1516).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restored_key_at_runtime_recovers_stale_status() {
    let (fake, ctl) = setup(&[]).await;
    let _ = ctl.cert().await;
    create(&fake, &TestSecret::new().seal(&fixture_cert("rsa2048"))).await;
    let failed = synced(&fake, NS, NAME, "False", 1).await;
    assert!(
        failed
            .message
            .as_deref()
            .unwrap()
            .contains("no key could decrypt secret")
    );
    event(&fake, NS, NAME, "ErrUnsealFailed").await;

    create_key_secret(&fake, restored_key("restored", "rsa2048", "active")).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    let c = synced(&fake, NS, NAME, "True", 1).await;
    assert_eq!(c.message, None);
    event(&fake, NS, NAME, "Unsealed").await;
    ctl.stop().await;
}

/// Relabelling a key `compromised` stops it sealing at once; it still unseals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compromised_key_stops_sealing_but_still_unseals() {
    let (fake, ctl) = setup(&["--key-renew-period=0"]).await;
    let generated = ctl.cert().await;
    create_key_secret(&fake, restored_key("restored", "rsa2048", "active")).await;
    let restored = fixture_cert("rsa2048");
    // The generated key is newer: it still seals.
    let generated_secret = key_secrets(&fake)
        .into_iter()
        .find(|s| s.metadata.name.as_deref() != Some("restored"))
        .unwrap();
    assert_eq!(
        ctl.cert().await.public_key().fingerprint(),
        generated.public_key().fingerprint()
    );

    secret_api(&fake, CONTROLLER_NS)
        .patch(
            generated_secret.metadata.name.as_deref().unwrap(),
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {KEY_LABEL: "compromised"}}})),
        )
        .await
        .unwrap();
    eventually("cert.pem switches to the restored key", || async {
        (ctl.cert().await.public_key().fingerprint() == restored.public_key().fingerprint())
            .then_some(())
    })
    .await;
    let text = ctl.metrics_text().await;
    assert_eq!(
        metric(
            &text,
            "sealed_secrets_controller_keys{status=\"compromised\"}"
        ),
        Some(1.0),
        "{text}"
    );
    // Sealed with the compromised key: still opens.
    create(&fake, &TestSecret::new().seal(&generated)).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    // The controller never relabels or deletes keys itself.
    assert_eq!(key_secrets(&fake).len(), 2);
    ctl.stop().await;
}

/// A deleted key Secret leaves the keyring: what it sealed no longer opens (existing Secrets
/// stay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_key_leaves_the_keyring() {
    let (fake, ctl) = setup(&[]).await;
    let _ = ctl.cert().await;
    create_key_secret(&fake, restored_key("restored", "rsa2048", "active")).await;
    let restored = fixture_cert("rsa2048");
    create(&fake, &TestSecret::new().seal(&restored)).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;

    delete_secret(&fake, CONTROLLER_NS, "restored").await;
    eventually("one active key left in the metrics", || async {
        let text = ctl.metrics_text().await;
        (metric(&text, "sealed_secrets_controller_keys{status=\"active\"}") == Some(1.0))
            .then_some(())
    })
    .await;
    create(&fake, &TestSecret::new().named(NS, "after").seal(&restored)).await;
    event(&fake, NS, "after", "ErrUnsealFailed").await;
    assert!(secret(&fake, NS, "after").is_none());
    assert!(
        secret(&fake, NS, NAME).is_some(),
        "existing Secrets are kept"
    );
    ctl.stop().await;
}

/// A malformed key Secret (present at start and added later) is skipped and reported; the
/// controller keeps working (upstream crashloops).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_key_secret_is_skipped_and_reported() {
    let fake = FakeApiServer::new();
    fake.create_namespace(NS);
    let broken = |name: &str| {
        json!({
            "metadata": {"name": name, "namespace": CONTROLLER_NS, "labels": {KEY_LABEL: "active"}},
            "type": "kubernetes.io/tls",
            "stringData": {"tls.key": "not a key", "tls.crt": "not a certificate"},
        })
    };
    create_key_secret(&fake, broken("broken-at-start")).await;
    let ctl = Controller::start(&fake, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    create_key_secret(&fake, broken("broken-later")).await;

    for name in ["broken-at-start", "broken-later"] {
        let e = until(format!("ErrKeyMalformed event for {name}"), || {
            events(&fake, CONTROLLER_NS, "Secret", name)
                .into_iter()
                .find(|e| e.reason == "ErrKeyMalformed")
        })
        .await;
        assert_eq!(e.type_, "Warning");
        assert!(!e.note.contains("not a key"), "{}", e.note);
    }
    eventually("malformed_keys metric is 2", || async {
        let text = ctl.metrics_text().await;
        (metric(&text, "sealed_secrets_controller_malformed_keys") == Some(2.0)).then_some(())
    })
    .await;
    create(&fake, &TestSecret::new().seal(&cert)).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    assert!(!ctl.task.is_finished());
    ctl.stop().await;
}

/// The renewal annotation on any key Secret asks for exactly one new key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_annotation_makes_exactly_one_key() {
    let (fake, ctl) = setup(&["--key-renew-period=0"]).await;
    let first = ctl.cert().await;
    let name = key_secrets(&fake)[0].metadata.name.clone().unwrap();
    // A request in the same second as the newest key is already satisfied by it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // As an operator would write it: now, with sub-second precision.
    let now = jiff::Timestamp::now().to_string();
    secret_api(&fake, CONTROLLER_NS)
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {RENEWAL_REQUESTED_AT: now}}})),
        )
        .await
        .unwrap();
    until("a second key", || {
        (key_secrets(&fake).len() >= 2).then_some(())
    })
    .await;
    eventually("cert.pem follows", || async {
        (ctl.cert().await.public_key().fingerprint() != first.public_key().fingerprint())
            .then_some(())
    })
    .await;
    stays("exactly one new key", Duration::from_millis(2500), || {
        key_secrets(&fake).len() == 2
    })
    .await;
    ctl.stop().await;
}

// =============================================================================================
// controller flags: --old-gc-behavior, --label-selector, --skip-recreate, --key-cutoff-time,
// --update-status, --all-namespaces / --additional-namespaces
// =============================================================================================

const SKIP_OWNER_REFERENCES: &str = "sealedsecrets.bitnami.com/skip-set-owner-references";

/// How long "nothing happens" is watched for.
const QUIET: Duration = Duration::from_millis(1200);

/// The controller left `namespace/name` alone: no Secret, no status, no event.
fn untouched(fake: &FakeApiServer, namespace: &str, name: &str) -> bool {
    secret(fake, namespace, name).is_none()
        && fake
            .get_as::<SealedSecret>(namespace, name)
            .is_some_and(|s| s.status.is_none())
        && events(fake, namespace, "SealedSecret", name).is_empty()
}

/// `sealed` with these labels on the SealedSecret itself (not on the template).
fn labelled(mut sealed: SealedSecret, labels: &[(&str, &str)]) -> SealedSecret {
    sealed.metadata.labels = Some(map(labels));
    sealed
}

async fn delete_sealed(fake: &FakeApiServer, namespace: &str, name: &str) {
    ss_api(fake, namespace)
        .delete(name, &DeleteParams::default())
        .await
        .expect("delete SealedSecret");
    assert!(fake.get_as::<SealedSecret>(namespace, name).is_none());
}

/// `--old-gc-behavior`: the controller deletes the Secret itself when its SealedSecret goes,
/// also a Secret that garbage collection leaves alone (no ownerReference, from the
/// skip-set-owner-references template annotation), and an owned one when nothing collects it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_gc_behavior_deletes_secret_with_its_sealed_secret() {
    let (fake, ctl) = setup(&["--old-gc-behavior"]).await;
    let cert = ctl.cert().await;

    // Not owned: garbage collection would keep it.
    create(
        &fake,
        &TestSecret::new()
            .annotation(SKIP_OWNER_REFERENCES, "true")
            .seal(&cert),
    )
    .await;
    let s = secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    assert!(owner_uids(&s).is_empty());
    synced(&fake, NS, NAME, "True", 1).await;
    delete_sealed(&fake, NS, NAME).await;
    until("the unowned Secret is deleted by the controller", || {
        secret(&fake, NS, NAME).is_none().then_some(())
    })
    .await;

    // Owned, with garbage collection off: only the controller can delete it.
    fake.set_garbage_collection(false);
    create(&fake, &TestSecret::new().named(NS, "owned").seal(&cert)).await;
    let s = secret_with_data(&fake, NS, "owned", &[("foo", "bar")]).await;
    assert_eq!(owner_uids(&s).len(), 1);
    synced(&fake, NS, "owned", "True", 1).await;
    delete_sealed(&fake, NS, "owned").await;
    until("the owned Secret is deleted by the controller", || {
        secret(&fake, NS, "owned").is_none().then_some(())
    })
    .await;
    assert_eq!(count_in(&fake, NS, Verb::Delete, "secrets"), 2);
    ctl.stop().await;
}

/// `--old-gc-behavior` keeps a `patch`-only Secret (someone else's, values merged in) when
/// its SealedSecret goes; upstream deletes it with all its other values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_gc_behavior_keeps_a_patched_secret() {
    let (fake, ctl) = setup(&["--old-gc-behavior"]).await;
    let cert = ctl.cert().await;
    pre_existing(&fake, &[(PATCH, "true")], &[], &[("theirs", "keep")]).await;
    create(&fake, &TestSecret::new().seal(&cert)).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar"), ("theirs", "keep")]).await;
    synced(&fake, NS, NAME, "True", 1).await;
    delete_sealed(&fake, NS, NAME).await;
    stays(
        "the patched Secret stays",
        Duration::from_millis(1500),
        || secret(&fake, NS, NAME).is_some(),
    )
    .await;
    assert_eq!(count_in(&fake, NS, Verb::Delete, "secrets"), 0);
    ctl.stop().await;
}

/// `--old-gc-behavior` when the SealedSecret goes while the watch is down: the relist no
/// longer shows it, and its Secret is deleted all the same (client-go reports such objects
/// as `DeletedFinalStateUnknown`, so upstream deletes the Secret too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_gc_behavior_deletes_secret_of_sealed_secret_deleted_during_a_watch_gap() {
    let (fake, ctl) = setup(&["--old-gc-behavior"]).await;
    let cert = ctl.cert().await;
    create(
        &fake,
        &TestSecret::new()
            .annotation(SKIP_OWNER_REFERENCES, "true")
            .seal(&cert),
    )
    .await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    synced(&fake, NS, NAME, "True", 1).await;

    // The SealedSecret watch drops and its first retry fails; meanwhile the object goes and
    // history is compacted, so the watcher has to relist.
    fake.fail(
        Fault::new(500, "InternalError")
            .verb(Verb::Watch)
            .resource("sealedsecrets"),
    );
    fake.close_watches();
    delete_sealed(&fake, NS, NAME).await;
    fake.compact();
    eventually_within(
        RELIST_TIMEOUT,
        "the Secret is deleted after the relist",
        || std::future::ready(secret(&fake, NS, NAME).is_none().then_some(())),
    )
    .await;
    ctl.stop().await;
}

/// Without `--old-gc-behavior` the controller deletes nothing: an unowned Secret
/// (skip-set-owner-references) outlives its SealedSecret; an owned one goes only through
/// garbage collection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_old_gc_behavior_unowned_secret_outlives_its_sealed_secret() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    create(
        &fake,
        &TestSecret::new()
            .annotation(SKIP_OWNER_REFERENCES, "true")
            .seal(&cert),
    )
    .await;
    create(&fake, &TestSecret::new().named(NS, "owned").seal(&cert)).await;
    let s = secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    assert!(owner_uids(&s).is_empty());
    secret_with_data(&fake, NS, "owned", &[("foo", "bar")]).await;
    synced(&fake, NS, NAME, "True", 1).await;
    synced(&fake, NS, "owned", "True", 1).await;

    // Garbage collection off: an owned Secret outlives its SealedSecret as well.
    fake.set_garbage_collection(false);
    delete_sealed(&fake, NS, NAME).await;
    delete_sealed(&fake, NS, "owned").await;
    stays("both Secrets stay", QUIET, || {
        secret(&fake, NS, NAME).is_some() && secret(&fake, NS, "owned").is_some()
    })
    .await;
    assert_eq!(
        data_of(&secret(&fake, NS, NAME).unwrap()),
        map(&[("foo", "bar")])
    );
    assert_eq!(count_in(&fake, NS, Verb::Delete, "secrets"), 0);
    ctl.stop().await;
}

/// `--label-selector`: only matching SealedSecrets are unsealed; the others get no Secret,
/// no status and no event, until relabelled to match.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_selector_unseals_only_matching_sealed_secrets() {
    let (fake, ctl) = setup(&["--label-selector=shard=a"]).await;
    let cert = ctl.cert().await;
    create(
        &fake,
        &labelled(
            TestSecret::new().named(NS, "other").seal(&cert),
            &[("shard", "b")],
        ),
    )
    .await;
    create(
        &fake,
        &TestSecret::new().named(NS, "unlabelled").seal(&cert),
    )
    .await;
    create(
        &fake,
        &labelled(TestSecret::new().seal(&cert), &[("shard", "a")]),
    )
    .await;

    let s = secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    assert_eq!(labels_of(&s), map(&[("mylabel", "myvalue")]));
    synced(&fake, NS, NAME, "True", 1).await;
    event(&fake, NS, NAME, "Unsealed").await;
    stays("non-matching SealedSecrets are left alone", QUIET, || {
        untouched(&fake, NS, "other") && untouched(&fake, NS, "unlabelled")
    })
    .await;

    // Relabelled to match: unsealed.
    ss_api(&fake, NS)
        .patch(
            "other",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"shard": "a"}}})),
        )
        .await
        .unwrap();
    secret_with_data(&fake, NS, "other", &[("foo", "bar")]).await;
    synced(&fake, NS, "other", "True", 1).await;
    event(&fake, NS, "other", "Unsealed").await;
    assert!(untouched(&fake, NS, "unlabelled"));
    ctl.stop().await;
}

/// `--label-selector` selects SealedSecrets; the Secrets they make carry the template's
/// labels, which need not match. Such a Secret must still be updated when the SealedSecret
/// changes (not re-created: it exists), and re-created when deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_selector_manages_secrets_whose_labels_do_not_match() {
    let (fake, ctl) = setup(&["--label-selector=shard=a"]).await;
    let cert = ctl.cert().await;
    let created = create(
        &fake,
        &labelled(TestSecret::new().seal(&cert), &[("shard", "a")]),
    )
    .await;
    let first = secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    assert!(!labels_of(&first).contains_key("shard"));
    synced(&fake, NS, NAME, "True", 1).await;

    update_spec(
        &fake,
        &TestSecret::new().data(&[("foo", "baz")]).seal(&cert),
    )
    .await;
    secret_with_data(&fake, NS, NAME, &[("foo", "baz")]).await;
    synced(&fake, NS, NAME, "True", 2).await;
    assert!(
        event_count(&fake, NS, NAME, "ErrUpdateFailed") == 0,
        "{:?}",
        events(&fake, NS, "SealedSecret", NAME)
    );

    delete_secret(&fake, NS, NAME).await;
    let again = until("Secret re-created", || {
        secret(&fake, NS, NAME).filter(|s| s.metadata.uid != first.metadata.uid)
    })
    .await;
    assert_eq!(data_of(&again), map(&[("foo", "baz")]));
    assert_eq!(owner_uids(&again), vec![created.metadata.uid.unwrap()]);
    ctl.stop().await;
}

/// Requests that list or watch Secrets outside the controller namespace (where keys live).
fn secret_watches_outside_keys(fake: &FakeApiServer) -> usize {
    fake.requests()
        .iter()
        .filter(|r| {
            matches!(r.verb, Verb::List | Verb::Watch)
                && r.gvr.as_ref().is_some_and(|g| g.resource == "secrets")
                && r.namespace.as_deref() != Some(CONTROLLER_NS)
        })
        .count()
}

/// `--skip-recreate`: Secrets are not watched, so a deleted Secret is not re-created until
/// the SealedSecret changes; creating and updating still work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_recreate_does_not_recreate_deleted_secret() {
    let (fake, ctl) = setup(&["--skip-recreate"]).await;
    let cert = ctl.cert().await;
    let created = create(&fake, &TestSecret::new().seal(&cert)).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    synced(&fake, NS, NAME, "True", 1).await;

    delete_secret(&fake, NS, NAME).await;
    stays("no Secret re-created", QUIET, || {
        secret(&fake, NS, NAME).is_none()
    })
    .await;

    // The SealedSecret changes: the Secret is made again.
    update_spec(
        &fake,
        &TestSecret::new().data(&[("foo", "baz")]).seal(&cert),
    )
    .await;
    let again = secret_with_data(&fake, NS, NAME, &[("foo", "baz")]).await;
    assert_eq!(owner_uids(&again), vec![created.metadata.uid.unwrap()]);
    synced(&fake, NS, NAME, "True", 2).await;
    // And updated in place on the next change.
    update_spec(
        &fake,
        &TestSecret::new().data(&[("foo", "qux")]).seal(&cert),
    )
    .await;
    let updated = secret_with_data(&fake, NS, NAME, &[("foo", "qux")]).await;
    assert_eq!(updated.metadata.uid, again.metadata.uid);
    synced(&fake, NS, NAME, "True", 3).await;
    assert_eq!(
        secret_watches_outside_keys(&fake),
        0,
        "Secrets are not watched"
    );
    ctl.stop().await;
}

/// `--skip-recreate` reads existing Secrets live: a `managed` one is taken over, an unowned
/// one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_recreate_reads_existing_secrets_live() {
    let (fake, ctl) = setup(&["--skip-recreate"]).await;
    let cert = ctl.cert().await;
    pre_existing(
        &fake,
        &[(MANAGED, "true")],
        &[("otherlabel", "x")],
        &[("foo2", "bar2")],
    )
    .await;
    let unowned = secret_api(&fake, NS)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "unowned", "namespace": NS},
                "data": {"foo2": "YmFyMg=="},
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let created = create(&fake, &TestSecret::new().seal(&cert)).await;
    create(&fake, &TestSecret::new().named(NS, "unowned").seal(&cert)).await;

    let s = secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    assert_eq!(owner_uids(&s), vec![created.metadata.uid.unwrap()]);
    assert_eq!(labels_of(&s), map(&[("mylabel", "myvalue")]));
    synced(&fake, NS, NAME, "True", 1).await;

    let e = event(&fake, NS, "unowned", "ErrUpdateFailed").await;
    assert!(
        e.note.contains("is not managed by SealedSecret"),
        "{}",
        e.note
    );
    synced(&fake, NS, "unowned", "False", 1).await;
    let kept = secret(&fake, NS, "unowned").unwrap();
    assert_eq!(
        kept.metadata.resource_version,
        unowned.metadata.resource_version
    );
    assert_eq!(
        secret_watches_outside_keys(&fake),
        0,
        "Secrets are not watched"
    );
    ctl.stop().await;
}

/// A `--key-cutoff-time` flag value (RFC 1123Z, as `date -R` prints it).
fn rfc1123z(time: std::time::SystemTime) -> String {
    jiff::Timestamp::try_from(time)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%a, %d %b %Y %H:%M:%S %z")
        .to_string()
}

/// `--key-cutoff-time` later than the newest key (and past): a new key at startup, exactly
/// one; what the old key sealed still opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_cutoff_time_after_newest_key_makes_a_new_key_at_startup() {
    let fake = FakeApiServer::new();
    fake.create_namespace(NS);
    create_key_secret(&fake, restored_key("restored", "rsa2048", "active")).await;
    let restored = fixture_cert("rsa2048");
    let cutoff = restored.not_before() + Duration::from_secs(1);
    assert!(cutoff <= std::time::SystemTime::now());
    let flag = format!("--key-cutoff-time={}", rfc1123z(cutoff));
    let ctl = Controller::start(&fake, "ctl-a", &["--key-renew-period=0", &flag]).await;

    until("a new key", || {
        (key_secrets(&fake).len() == 2).then_some(())
    })
    .await;
    let sealing = eventually("cert.pem serves the new key", || async {
        let cert = ctl.cert().await;
        (cert.public_key().fingerprint() != restored.public_key().fingerprint()).then_some(cert)
    })
    .await;
    stays("exactly one new key", QUIET, || {
        key_secrets(&fake).len() == 2
    })
    .await;
    create(&fake, &TestSecret::new().seal(&restored)).await;
    create(&fake, &TestSecret::new().named(NS, "new").seal(&sealing)).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    secret_with_data(&fake, NS, "new", &[("foo", "bar")]).await;
    ctl.stop().await;
}

/// `--key-cutoff-time` earlier than the newest key: no new key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_cutoff_time_before_newest_key_makes_no_key() {
    let fake = FakeApiServer::new();
    fake.create_namespace(NS);
    create_key_secret(&fake, restored_key("restored", "rsa2048", "active")).await;
    let restored = fixture_cert("rsa2048");
    let cutoff = restored.not_before() - Duration::from_secs(24 * 3600);
    let flag = format!("--key-cutoff-time={}", rfc1123z(cutoff));
    let ctl = Controller::start(&fake, "ctl-a", &["--key-renew-period=0", &flag]).await;

    assert_eq!(
        ctl.cert().await.public_key().fingerprint(),
        restored.public_key().fingerprint()
    );
    create(&fake, &TestSecret::new().seal(&restored)).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    stays("no new key", QUIET, || key_secrets(&fake).len() == 1).await;
    assert_eq!(count_in(&fake, CONTROLLER_NS, Verb::Create, "secrets"), 1);
    ctl.stop().await;
}

/// The operator's early renewal after a compromise: restart with `--key-cutoff-time
/// "$(date -R)"` makes one new key past the controller's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_cutoff_time_now_renews_at_restart() {
    let (fake, ctl) = setup(&["--key-renew-period=0"]).await;
    let first = ctl.cert().await;
    ctl.stop().await;
    // notBefore and the flag have whole seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let flag = format!(
        "--key-cutoff-time={}",
        rfc1123z(std::time::SystemTime::now())
    );
    let again = Controller::start(&fake, "ctl-b", &["--key-renew-period=0", &flag]).await;
    until("a second key", || {
        (key_secrets(&fake).len() == 2).then_some(())
    })
    .await;
    eventually("cert.pem serves the new key", || async {
        (again.cert().await.public_key().fingerprint() != first.public_key().fingerprint())
            .then_some(())
    })
    .await;
    stays("exactly one new key", QUIET, || {
        key_secrets(&fake).len() == 2
    })
    .await;
    again.stop().await;
}

/// `--key-cutoff-time` still ahead, renewal disabled: no key at startup, one new key once the
/// cutoff passes (it used to wait for something else to wake the renewer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_cutoff_time_ahead_renews_when_it_passes() {
    let fake = FakeApiServer::new();
    fake.create_namespace(NS);
    create_key_secret(&fake, restored_key("restored", "rsa2048", "active")).await;
    let cutoff = std::time::SystemTime::now() + Duration::from_secs(3);
    let flag = format!("--key-cutoff-time={}", rfc1123z(cutoff));
    let ctl = Controller::start(&fake, "ctl-a", &["--key-renew-period=0", &flag]).await;
    let _ = ctl.cert().await;
    assert_eq!(key_secrets(&fake).len(), 1, "no key before the cutoff");
    until("a new key after the cutoff", || {
        (key_secrets(&fake).len() == 2).then_some(())
    })
    .await;
    assert!(std::time::SystemTime::now() >= cutoff - Duration::from_secs(1));
    stays("exactly one new key", QUIET, || {
        key_secrets(&fake).len() == 2
    })
    .await;
    ctl.stop().await;
}

/// `--update-status=false`: Secrets and events as usual, no status write at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_status_false_writes_no_status() {
    let (fake, ctl) = setup(&["--update-status=false"]).await;
    let cert = ctl.cert().await;
    create(&fake, &TestSecret::new().seal(&cert)).await;
    create(
        &fake,
        &TestSecret::new()
            .named(NS, "foreign")
            .seal(&fixture_cert("foreign2048")),
    )
    .await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    event(&fake, NS, NAME, "Unsealed").await;
    event(&fake, NS, "foreign", "ErrUnsealFailed").await;
    update_spec(
        &fake,
        &TestSecret::new().data(&[("foo", "baz")]).seal(&cert),
    )
    .await;
    secret_with_data(&fake, NS, NAME, &[("foo", "baz")]).await;
    stays("no status", QUIET, || {
        [NAME, "foreign"].iter().all(|name| {
            fake.get_as::<SealedSecret>(NS, name)
                .is_some_and(|s| s.status.is_none())
        })
    })
    .await;
    assert_eq!(writes_in(&fake, NS, "sealedsecrets", Some("status")), 0);
    ctl.stop().await;
}

/// `--all-namespaces=false`: only the controller's namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_namespaces_false_reconciles_only_the_controller_namespace() {
    let (fake, ctl) = setup(&["--all-namespaces=false"]).await;
    let cert = ctl.cert().await;
    create(&fake, &TestSecret::new().seal(&cert)).await;
    create(
        &fake,
        &TestSecret::new().named(CONTROLLER_NS, NAME).seal(&cert),
    )
    .await;
    secret_with_data(&fake, CONTROLLER_NS, NAME, &[("foo", "bar")]).await;
    synced(&fake, CONTROLLER_NS, NAME, "True", 1).await;
    stays("other namespaces are left alone", QUIET, || {
        untouched(&fake, NS, NAME)
    })
    .await;
    ctl.stop().await;
}

/// `--additional-namespaces` (with or without `--all-namespaces=false`, as upstream): the
/// controller's namespace plus the listed ones, nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn additional_namespaces_reconcile_listed_and_controller_namespaces_only() {
    for flags in [
        &["--all-namespaces=false", "--additional-namespaces=otherns"][..],
        &["--additional-namespaces=otherns"][..],
    ] {
        let (fake, ctl) = setup(flags).await;
        fake.create_namespace("otherns");
        let cert = ctl.cert().await;
        create(&fake, &TestSecret::new().seal(&cert)).await;
        for ns in [CONTROLLER_NS, "otherns"] {
            create(&fake, &TestSecret::new().named(ns, NAME).seal(&cert)).await;
        }
        for ns in [CONTROLLER_NS, "otherns"] {
            secret_with_data(&fake, ns, NAME, &[("foo", "bar")]).await;
            synced(&fake, ns, NAME, "True", 1).await;
            event(&fake, ns, NAME, "Unsealed").await;
        }
        stays(format!("{NS} is left alone ({flags:?})"), QUIET, || {
            untouched(&fake, NS, NAME)
        })
        .await;
        ctl.stop().await;
    }
}

/// Listing a namespace twice, or the controller's own, still reconciles each object once
/// (upstream de-duplicates the list and skips its own namespace).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn additional_namespaces_repeated_are_watched_once() {
    let (fake, ctl) = setup(&[
        "--all-namespaces=false",
        &format!("--additional-namespaces={CONTROLLER_NS},{NS},{NS}"),
    ])
    .await;
    let cert = ctl.cert().await;
    create(&fake, &TestSecret::new().seal(&cert)).await;
    create(
        &fake,
        &TestSecret::new().named(CONTROLLER_NS, NAME).seal(&cert),
    )
    .await;
    for ns in [NS, CONTROLLER_NS] {
        secret_with_data(&fake, ns, NAME, &[("foo", "bar")]).await;
        synced(&fake, ns, NAME, "True", 1).await;
    }
    tokio::time::sleep(QUIET).await;
    for ns in [NS, CONTROLLER_NS] {
        // The key Secret is the other create in the controller namespace.
        let key = usize::from(ns == CONTROLLER_NS);
        assert_eq!(
            count_in(&fake, ns, Verb::Create, "secrets"),
            1 + key,
            "{ns}: one Secret create"
        );
        assert_eq!(
            writes_in(&fake, ns, "sealedsecrets", Some("status")),
            1,
            "{ns}: one status write"
        );
        assert_eq!(
            event_count(&fake, ns, NAME, "Unsealed"),
            1,
            "{ns}: one event"
        );
    }
    for ns in [NS, CONTROLLER_NS] {
        let lists = count_in(&fake, ns, Verb::List, "sealedsecrets");
        assert_eq!(lists, 1, "{ns}: SealedSecrets listed once");
    }
    ctl.stop().await;
}

// =============================================================================================
// leader election
// =============================================================================================

fn lease_holder(fake: &FakeApiServer) -> Option<String> {
    fake.get_as::<Lease>(CONTROLLER_NS, "sealed-secrets-controller")?
        .spec?
        .holder_identity
}

/// Only the leader reconciles and makes keys; stopping it releases the Lease and the other
/// replica takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_hand_over() {
    let fake = FakeApiServer::new();
    fake.create_namespace(NS);
    let a = Controller::start(&fake, "ctl-a", &[]).await;
    let cert = a.cert().await;
    assert_eq!(lease_holder(&fake).as_deref(), Some("ctl-a"));
    let b = Controller::start(&fake, "ctl-b", &[]).await;
    // Every replica serves the same certificate (from the shared key Secrets).
    assert_eq!(
        b.cert().await.public_key().fingerprint(),
        cert.public_key().fingerprint()
    );

    create(&fake, &TestSecret::new().seal(&cert)).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    let e = event(&fake, NS, NAME, "Unsealed").await;
    assert_eq!(e.instance, "ctl-a");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(key_secrets(&fake).len(), 1, "the follower made no key");
    assert!(
        events(&fake, NS, "SealedSecret", NAME)
            .iter()
            .all(|e| e.instance == "ctl-a"),
        "the follower reconciled nothing"
    );
    assert_eq!(lease_holder(&fake).as_deref(), Some("ctl-a"));

    a.stop().await;
    until("ctl-b holds the lease", || {
        (lease_holder(&fake).as_deref() == Some("ctl-b")).then_some(())
    })
    .await;
    create(&fake, &TestSecret::new().named(NS, "after").seal(&cert)).await;
    secret_with_data(&fake, NS, "after", &[("foo", "bar")]).await;
    let e = event(&fake, NS, "after", "Unsealed").await;
    assert_eq!(e.instance, "ctl-b");
    assert_eq!(key_secrets(&fake).len(), 1);
    b.stop().await;
    assert_ne!(
        lease_holder(&fake).as_deref(),
        Some("ctl-b"),
        "the lease is released on shutdown"
    );
}

// =============================================================================================
// failures
// =============================================================================================

/// Failed Secret creates (500), conflicts on update, failed status writes and closed or
/// expired watches: everything converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_from_api_failures() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;

    // Two failed creates, then success.
    fake.fail(
        Fault::new(500, "InternalError")
            .verb(Verb::Create)
            .resource("secrets")
            .namespace(NS)
            .times(2),
    );
    create(&fake, &TestSecret::new().seal(&cert)).await;
    secret_with_data(&fake, NS, NAME, &[("foo", "bar")]).await;
    synced(&fake, NS, NAME, "True", 1).await;
    assert_eq!(count_in(&fake, NS, Verb::Create, "secrets"), 3);

    // Conflicts on the update, then success.
    fake.inject_conflicts(2, Verb::Update, "secrets", Some(NAME));
    update_spec(
        &fake,
        &TestSecret::new().data(&[("foo", "baz")]).seal(&cert),
    )
    .await;
    secret_with_data(&fake, NS, NAME, &[("foo", "baz")]).await;
    synced(&fake, NS, NAME, "True", 2).await;

    // A failed status write is retried.
    fake.fail(
        Fault::new(500, "InternalError")
            .verb(Verb::Patch)
            .resource("sealedsecrets/status")
            .times(1),
    );
    update_spec(
        &fake,
        &TestSecret::new().data(&[("foo", "qux")]).seal(&cert),
    )
    .await;
    secret_with_data(&fake, NS, NAME, &[("foo", "qux")]).await;
    synced(&fake, NS, NAME, "True", 3).await;

    // Closed watches, then an expired resourceVersion: the watchers relist.
    fake.close_watches();
    create(
        &fake,
        &TestSecret::new().named(NS, "after-close").seal(&cert),
    )
    .await;
    secret_with_data(&fake, NS, "after-close", &[("foo", "bar")]).await;
    fake.compact();
    fake.close_watches();
    create(
        &fake,
        &TestSecret::new().named(NS, "after-compact").seal(&cert),
    )
    .await;
    secret_with_data(&fake, NS, "after-compact", &[("foo", "bar")]).await;
    // An owned Secret deleted while watches were down is still re-created.
    fake.close_watches();
    delete_secret(&fake, NS, "after-close").await;
    secret_with_data(&fake, NS, "after-close", &[("foo", "bar")]).await;
    ctl.stop().await;
}

/// A SealedSecret deleted while its watch was down gets no Delete event; the relist shows it
/// gone, and its `condition_info` series and per-object state go with it (others stay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_secret_deleted_during_a_relist_is_forgotten() {
    let (fake, ctl) = setup(&[]).await;
    let cert = ctl.cert().await;
    for name in ["gone", "kept"] {
        create(&fake, &TestSecret::new().named(NS, name).seal(&cert)).await;
        synced(&fake, NS, name, "True", 1).await;
    }
    let series = |text: &str, name: &str| {
        text.lines().any(|l| {
            l.starts_with("sealed_secrets_controller_condition_info{")
                && l.contains(&format!("name=\"{name}\""))
        })
    };
    eventually("both series", || async {
        let text = ctl.metrics_text().await;
        (series(&text, "gone") && series(&text, "kept")).then_some(())
    })
    .await;

    // Keep the SealedSecret watch down while the object goes and the history is compacted,
    // so that it can only come back through a relist.
    fake.fail(
        Fault::new(500, "InternalError")
            .verb(Verb::Watch)
            .resource("sealedsecrets")
            .times(1),
    );
    fake.close_watches();
    delete_sealed(&fake, NS, "gone").await;
    fake.compact();
    eventually_within(
        RELIST_TIMEOUT,
        "the series of the deleted object removed",
        || async {
            let text = ctl.metrics_text().await;
            (!series(&text, "gone")).then_some(text)
        },
    )
    .await;
    let text = ctl.metrics_text().await;
    assert!(series(&text, "kept"), "{text}");
    ctl.stop().await;
}

// =============================================================================================
// one write per object
// =============================================================================================

/// 50 SealedSecrets: one Secret create, one status write and one event each; a restart and a
/// resync with nothing changed write nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_write_per_object_and_quiet_restart() {
    const N: usize = 50;
    let (fake, ctl) = setup(&["--resync-period=1s"]).await;
    let cert = ctl.cert().await;
    for i in 0..N {
        create(
            &fake,
            &TestSecret::new().named(NS, &format!("s{i:02}")).seal(&cert),
        )
        .await;
    }
    until("all Secrets and statuses", || {
        (0..N)
            .all(|i| {
                let name = format!("s{i:02}");
                secret(&fake, NS, &name).is_some()
                    && fake
                        .get_as::<SealedSecret>(NS, &name)
                        .as_ref()
                        .and_then(synced_condition)
                        .is_some_and(|c| c.status == "True")
            })
            .then_some(())
    })
    .await;
    // Let echoes of our own writes and a resync or two pass.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(count_in(&fake, NS, Verb::Create, "secrets"), N);
    assert_eq!(
        writes_in(&fake, NS, "secrets", None),
        N,
        "one Secret write each"
    );
    assert_eq!(
        writes_in(&fake, NS, "sealedsecrets", Some("status")),
        N,
        "one status write each"
    );
    assert_eq!(writes_in(&fake, NS, "events", None), N, "one event each");
    assert_eq!(
        count_in(&fake, NS, Verb::Get, "secrets"),
        0,
        "new Secrets need no GET: the watch cache says they do not exist"
    );
    let text = ctl.metrics_text().await;
    let reconciles = metric(&text, "sealed_secrets_controller_unseal_requests_total").unwrap();
    assert!(reconciles >= N as f64, "{text}");
    ctl.stop().await;

    // A restart with nothing changed: every object looked at, nothing written.
    fake.reset_requests();
    let again = Controller::start(&fake, "ctl-b", &[]).await;
    eventually("the new replica reconciled everything", || async {
        let text = again.metrics_text().await;
        let synced = text
            .lines()
            .filter(|l| {
                l.starts_with("sealed_secrets_controller_condition_info{") && l.ends_with(" 1")
            })
            .count();
        (synced >= N).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(writes_in(&fake, NS, "secrets", None), 0);
    assert_eq!(writes_in(&fake, NS, "sealedsecrets", Some("status")), 0);
    assert_eq!(writes_in(&fake, NS, "events", None), 0, "no new events");
    assert_eq!(
        count_in(&fake, NS, Verb::Get, "secrets"),
        0,
        "unchanged Secrets are recognised from the cache's digests, without a GET"
    );
    assert_eq!(key_secrets(&fake).len(), 1);

    // A spec change: the Secret is read live once, then written once.
    fake.reset_requests();
    update_spec(
        &fake,
        &TestSecret::new()
            .named(NS, "s00")
            .data(&[("foo", "changed")])
            .seal(&cert),
    )
    .await;
    secret_with_data(&fake, NS, "s00", &[("foo", "changed")]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count_in(&fake, NS, Verb::Get, "secrets"), 1);
    assert_eq!(writes_in(&fake, NS, "secrets", None), 1);
    again.stop().await;
}

/// Regression: `leader::lead` held a `watch::Ref` (from `wait_for` in a `select!` arm) across
/// awaits, so `app::run`'s future was not `Send` (it could not be spawned) and the borrow
/// blocked the lease watcher's sender while leader work shut down.
#[tokio::test]
async fn regression_app_run_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let fake = FakeApiServer::new();
    let (_tx, rx) = watch::channel(false);
    let future = app::run(
        Flags::try_parse_from(["c"]).unwrap(),
        fake.client("default"),
        Environment {
            namespace: CONTROLLER_NS.into(),
            identity: "x".into(),
        },
        rx,
        Arc::new(Notify::new()),
    );
    assert_send(&future);
}
