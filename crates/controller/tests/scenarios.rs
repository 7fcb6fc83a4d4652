//! The whole controller (`app::run`) in-process against an API server: upstream's 23
//! controller integration scenarios (integration/controller_test.go), plus key life-cycle,
//! leader hand-over, the namespace flags, fault recovery and the one-write-per-object property.
//!
//! Every scenario that needs no fault injection runs twice (`scenario!`):
//! - `<name>::fake`: the in-process stateful fake (`fake-apiserver`), read from its store;
//! - `<name>::cluster`: the real control plane of `test-cluster` (kube-apiserver, etcd and
//!   kube-controller-manager on loopback), shared by every test of this binary; ignored, with
//!   the reason, where it cannot run.
//!
//! What a real server cannot easily do stays on the fake: injected 500s and conflicts, dropped
//! watches, compaction, garbage collection switched off, and request counts. Shared scenarios
//! check their request counts on the fake only ([`Env::fake`]).
//!
//! Each test has its own namespaces (the test's, another one, and the controller's for its key
//! Secrets and Lease; deleted afterwards on the real server) and its own controller(s). On the
//! real server a controller watches only its test's namespaces (`--all-namespaces=false
//! --additional-namespaces=...`), so that tests running in parallel never see each other's
//! objects; the fake keeps the default, all namespaces. The controller generates its own key
//! and the tests seal with the certificate it serves on `/v1/cert.pem`, as upstream's suite does.

use std::collections::BTreeMap;
use std::fmt::{Debug, Display};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use clap::Parser;
use fake_apiserver::{FakeApiServer, Fault, Gvr, Verb};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::{ByteString, NamespaceResourceScope};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use sealed_secrets_controller::app::{self, Environment};
use sealed_secrets_controller::config::Flags;
use sealed_secrets_controller::crd::{SealedSecret, SealedSecretCondition};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use test_cluster::{ControlPlane, free_addr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, watch};

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

/// Generates `<name>::fake` and `<name>::cluster` from `async fn <name>(env: &Env)`.
macro_rules! scenario {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn fake() {
                let env = super::Env::start(super::Kind::Fake, stringify!($name)).await;
                super::$name(&env).await;
                env.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(control_plane),
                ignore = "needs the test control plane (etcd and Go): see tests/README.md"
            )]
            async fn cluster() {
                let env = super::Env::start(super::Kind::Real, stringify!($name)).await;
                super::$name(&env).await;
                env.finish().await;
            }
        }
    };
}

/// Which API server a test talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A fake of its own.
    Fake,
    /// The control plane shared by this test binary.
    Real,
}

/// One test's API server and namespaces.
struct Env {
    fake: Option<FakeApiServer>,
    /// The test's own client (cluster admin on the real server).
    client: kube::Client,
    /// Upstream's test namespace.
    ns: String,
    /// Another namespace (moved SealedSecrets, `--additional-namespaces`).
    other: String,
    /// The controller's namespace: key Secrets, Lease.
    controller_ns: String,
}

/// Namespace names unique in this process, readable after the test: `<test>-<n>`.
fn namespace_base(test: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let short: String = test.replace('_', "-").chars().take(40).collect();
    format!("{}-{n}", short.trim_end_matches('-'))
}

impl Env {
    async fn start(kind: Kind, test: &str) -> Self {
        let (fake, client) = match kind {
            Kind::Fake => {
                let fake = FakeApiServer::new();
                let client = fake.client("default");
                (Some(fake), client)
            }
            Kind::Real => {
                // Starting (or building) the control plane blocks.
                let plane = match tokio::task::spawn_blocking(ControlPlane::shared).await {
                    Ok(plane) => plane,
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                };
                let client = plane.client().await;
                test_cluster::install_crd(&client).await;
                (None, client)
            }
        };
        let base = namespace_base(test);
        let env = Self {
            fake,
            client,
            other: format!("{base}-other"),
            controller_ns: format!("{base}-ctl"),
            ns: base,
        };
        let namespaces: Api<Namespace> = Api::all(env.client.clone());
        for name in [&env.ns, &env.other, &env.controller_ns] {
            let namespace: Namespace =
                serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
            namespaces
                .create(&PostParams::default(), &namespace)
                .await
                .expect("create namespace");
        }
        env
    }

    /// Deletes the test's namespaces on the real server (its namespace controller empties
    /// them); a fake goes with the test.
    async fn finish(self) {
        if self.fake.is_some() {
            return;
        }
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        for name in [&self.ns, &self.other, &self.controller_ns] {
            namespaces
                .delete(name, &DeleteParams::background())
                .await
                .expect("delete namespace");
        }
    }

    /// The fake, for checks only it can make (request counts, faults).
    fn fake(&self) -> Option<&FakeApiServer> {
        self.fake.as_ref()
    }

    /// The fake of a fake-only scenario.
    fn expect_fake(&self) -> &FakeApiServer {
        self.fake().expect("a fake-only scenario runs on the fake")
    }

    /// The client a controller replica gets.
    fn controller_client(&self) -> kube::Client {
        match &self.fake {
            Some(fake) => fake.client("default"),
            None => self.client.clone(),
        }
    }

    fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: kube::Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// One object, from the fake's store or the real API server.
    async fn get<K>(&self, namespace: &str, name: &str) -> Option<K>
    where
        K: kube::Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + DeserializeOwned
            + Clone
            + Debug,
    {
        match &self.fake {
            Some(fake) => fake.get_as(namespace, name),
            None => self
                .api::<K>(namespace)
                .get_opt(name)
                .await
                .unwrap_or_else(|e| panic!("get {namespace}/{name}: {e}")),
        }
    }

    /// Every object of a kind in `namespace`.
    async fn list<K>(&self, namespace: &str) -> Vec<K>
    where
        K: kube::Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + DeserializeOwned
            + Clone
            + Debug,
    {
        match &self.fake {
            Some(fake) => fake.list_as(Some(namespace)),
            None => {
                self.api::<K>(namespace)
                    .list(&ListParams::default())
                    .await
                    .unwrap_or_else(|e| panic!("list in {namespace}: {e}"))
                    .items
            }
        }
    }

    async fn secret(&self, namespace: &str, name: &str) -> Option<Secret> {
        self.get(namespace, name).await
    }

    async fn sealed(&self, namespace: &str, name: &str) -> Option<SealedSecret> {
        self.get(namespace, name).await
    }

    fn ss_api(&self, namespace: &str) -> Api<SealedSecret> {
        self.api(namespace)
    }

    fn secret_api(&self, namespace: &str) -> Api<Secret> {
        self.api(namespace)
    }
}

/// One controller replica running `app::run` in this process.
struct Controller {
    api: SocketAddr,
    metrics: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    renew_now: Arc<Notify>,
}

/// The namespace flags of a controller on the shared real server: the test's own unless the
/// test sets them, and then they must still leave other tests' namespaces alone.
fn scope_flags(env: &Env, extra: &[&str]) -> Vec<String> {
    let sets_scope = extra
        .iter()
        .any(|f| f.starts_with("--all-namespaces") || f.starts_with("--additional-namespaces"));
    if !sets_scope {
        return vec![
            "--all-namespaces=false".to_owned(),
            format!("--additional-namespaces={},{}", env.ns, env.other),
        ];
    }
    assert!(
        extra.iter().any(|f| *f == "--all-namespaces=false"
            || f.strip_prefix("--additional-namespaces=")
                .is_some_and(|v| !v.trim().is_empty())),
        "a controller on the shared API server must not watch all namespaces: {extra:?}"
    );
    Vec::new()
}

impl Controller {
    async fn start(env: &Env, identity: &str, extra: &[&str]) -> Self {
        let api = free_addr();
        let metrics = free_addr();
        let mut args = vec![
            "sealed-secrets-controller".to_owned(),
            format!("--listen-addr={api}"),
            format!("--listen-metrics-addr={metrics}"),
            "--leader-elect-lease-duration=3s".to_owned(),
        ];
        if env.fake().is_none() {
            args.extend(scope_flags(env, extra));
        }
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let flags = Flags::try_parse_from(&args).expect("flags parse");
        let (shutdown, shutdown_rx) = watch::channel(false);
        let renew_now = Arc::new(Notify::new());
        let task = tokio::spawn(app::run(
            flags,
            env.controller_client(),
            Environment {
                namespace: env.controller_ns.clone(),
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
        let result = tokio::time::timeout(TIMEOUT, self.task)
            .await
            .expect("controller stops in time")
            .expect("controller task did not panic");
        result.expect("controller ended without error");
    }

    /// The sealing certificate, as `kubeseal --fetch-cert` would get it.
    async fn cert(&self) -> seal::Certificate {
        let pem = eventually("GET /v1/cert.pem answers 200", async || {
            match http(self.api, "GET", "/v1/cert.pem", "").await {
                Some((200, body)) => Some(body),
                _ => None,
            }
        })
        .await;
        seal::Certificate::from_pem(pem.as_bytes()).expect("cert.pem parses")
    }

    async fn metrics_text(&self) -> String {
        eventually("GET /metrics answers 200", async || {
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

/// How long anything may take: generous, the real server shares a loaded machine.
const TIMEOUT: Duration = Duration::from_secs(60);
/// A watch that failed comes back after kube's backoff (0.8 s doubling, with jitter) once per
/// error: a relist after a failed re-watch and an expired resourceVersion can take 10 s.
const RELIST_TIMEOUT: Duration = Duration::from_secs(45);
const POLL: Duration = Duration::from_millis(50);

/// Polls `probe` until it yields something ([`TIMEOUT`] at most, every 50 ms).
async fn eventually<T>(what: impl Display, probe: impl AsyncFnMut() -> Option<T>) -> T {
    eventually_within(TIMEOUT, what, probe).await
}

/// [`eventually`] with another time limit.
async fn eventually_within<T>(
    timeout: Duration,
    what: impl Display,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
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

/// Asserts `check` holds for the whole of `period`.
async fn stays(what: impl Display, period: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + period;
    while tokio::time::Instant::now() < deadline {
        assert!(check().await, "{what}");
        tokio::time::sleep(POLL).await;
    }
    assert!(check().await, "{what}");
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
    /// `testsecret` in the test's namespace.
    fn new(env: &Env) -> Self {
        Self {
            namespace: env.ns.clone(),
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

/// Creates `sealed`, moved to `namespace`/`name` (to test renames and moves).
async fn create_as(env: &Env, sealed: &SealedSecret, namespace: &str, name: &str) -> SealedSecret {
    let mut sealed = sealed.clone();
    sealed.metadata.namespace = Some(namespace.into());
    sealed.metadata.name = Some(name.into());
    env.ss_api(namespace)
        .create(&PostParams::default(), &sealed)
        .await
        .expect("create SealedSecret")
}

async fn create(env: &Env, sealed: &SealedSecret) -> SealedSecret {
    let namespace = sealed.metadata.namespace.clone().unwrap();
    let name = sealed.metadata.name.clone().unwrap();
    create_as(env, sealed, &namespace, &name).await
}

/// Replaces the spec of the stored SealedSecret with `sealed`'s (a new generation).
async fn update_spec(env: &Env, sealed: &SealedSecret) {
    let namespace = sealed.metadata.namespace.clone().unwrap();
    let name = sealed.metadata.name.clone().unwrap();
    env.ss_api(&namespace)
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": serde_json::to_value(&sealed.spec).unwrap()})),
        )
        .await
        .expect("patch SealedSecret spec");
}

async fn delete_secret(env: &Env, namespace: &str, name: &str) {
    env.secret_api(namespace)
        .delete(name, &DeleteParams::default())
        .await
        .expect("delete Secret");
}

async fn delete_sealed(env: &Env, namespace: &str, name: &str) {
    env.ss_api(namespace)
        .delete(name, &DeleteParams::default())
        .await
        .expect("delete SealedSecret");
    eventually(
        format!("SealedSecret {namespace}/{name} gone"),
        async || env.sealed(namespace, name).await.is_none().then_some(()),
    )
    .await;
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
    env: &Env,
    namespace: &str,
    name: &str,
    expected: &[(&str, &str)],
) -> Secret {
    let expected = map(expected);
    eventually(
        format!("Secret {namespace}/{name} with data {expected:?}"),
        async || {
            env.secret(namespace, name)
                .await
                .filter(|s| data_of(s) == expected)
        },
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
    env: &Env,
    namespace: &str,
    name: &str,
    status: &str,
    generation: i64,
) -> SealedSecretCondition {
    eventually(
        format!("{namespace}/{name} Synced={status} at generation {generation}"),
        async || {
            let sealed = env.sealed(namespace, name).await?;
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
    /// `regarding.uid`: which incarnation of the object it is about.
    uid: String,
    count: u64,
}

/// The events.k8s.io/v1 Events about `kind` `namespace/name`.
async fn events(env: &Env, namespace: &str, kind: &str, name: &str) -> Vec<SeenEvent> {
    let all: Vec<Value> = match env.fake() {
        Some(fake) => fake.list(&Gvr::new("events.k8s.io", "v1", "events"), Some(namespace)),
        None => env
            .list::<k8s_openapi::api::events::v1::Event>(namespace)
            .await
            .iter()
            .map(|e| serde_json::to_value(e).expect("event serializes"))
            .collect(),
    };
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    all.into_iter()
        .filter(|e| e["regarding"]["name"] == name && e["regarding"]["kind"] == kind)
        .map(|e| SeenEvent {
            type_: text(&e["type"]),
            reason: text(&e["reason"]),
            note: text(&e["note"]),
            instance: text(&e["reportingInstance"]),
            uid: text(&e["regarding"]["uid"]),
            count: e["series"]["count"].as_u64().unwrap_or(1),
        })
        .collect()
}

/// How many times `reason` was reported for the SealedSecret.
async fn event_count(env: &Env, namespace: &str, name: &str, reason: &str) -> u64 {
    events(env, namespace, "SealedSecret", name)
        .await
        .iter()
        .filter(|e| e.reason == reason)
        .map(|e| e.count)
        .sum()
}

/// Waits for an event `reason` about the SealedSecret `namespace/name`, and checks that it
/// names the object's uid.
async fn event(env: &Env, namespace: &str, name: &str, reason: &str) -> SeenEvent {
    let sealed = env
        .sealed(namespace, name)
        .await
        .unwrap_or_else(|| panic!("SealedSecret {namespace}/{name} exists"));
    let uid = sealed.metadata.uid.expect("stored objects have a uid");
    event_about(env, namespace, "SealedSecret", name, &uid, reason).await
}

/// Waits for an event `reason` about `kind` `namespace/name` and checks that it is about the
/// incarnation `uid`: as events.k8s.io/v1 `regarding.uid` and in the core/v1 view upstream's
/// suite searches (`Events(ns).Search`: `involvedObject.uid`).
async fn event_about(
    env: &Env,
    namespace: &str,
    kind: &str,
    name: &str,
    uid: &str,
    reason: &str,
) -> SeenEvent {
    let seen = eventually(
        format!("event {reason} for {kind} {namespace}/{name}"),
        async || {
            events(env, namespace, kind, name)
                .await
                .into_iter()
                .find(|e| e.reason == reason)
        },
    )
    .await;
    assert_eq!(seen.uid, uid, "regarding.uid of {seen:?}");
    let selector = format!(
        "involvedObject.kind={kind},involvedObject.namespace={namespace},\
         involvedObject.name={name},involvedObject.uid={uid}"
    );
    let core = env
        .api::<k8s_openapi::api::core::v1::Event>(namespace)
        .list(&ListParams::default().fields(&selector))
        .await
        .expect("list core/v1 events");
    assert!(
        core.items
            .iter()
            .any(|e| e.reason.as_deref() == Some(reason)
                && e.type_.as_deref() == Some(seen.type_.as_str())),
        "core/v1 events with {selector}: {:?}",
        core.items
    );
    seen
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

/// A pre-existing Secret `testsecret` in the test's namespace (created through the API).
async fn pre_existing(
    env: &Env,
    annotations: &[(&str, &str)],
    labels: &[(&str, &str)],
    data: &[(&str, &str)],
) -> Secret {
    let secret = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some(NAME.into()),
            namespace: Some(env.ns.clone()),
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
    env.secret_api(&env.ns)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create pre-existing Secret")
}

// ----- keys -----

async fn key_secrets(env: &Env) -> Vec<Secret> {
    env.list::<Secret>(&env.controller_ns)
        .await
        .into_iter()
        .filter(|s| {
            s.metadata
                .labels
                .as_ref()
                .is_some_and(|l| l.contains_key(KEY_LABEL))
        })
        .collect()
}

/// Waits until there are exactly `n` key Secrets.
async fn key_count(env: &Env, n: usize) {
    eventually(format!("{n} key Secrets"), async || {
        (key_secrets(env).await.len() == n).then_some(())
    })
    .await;
}

fn fixture(name: &str, file: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}/{file}")).expect("fixture")
}

fn fixture_cert(name: &str) -> seal::Certificate {
    seal::Certificate::from_pem(fixture(name, "tls.crt").as_bytes()).expect("fixture cert")
}

/// A key Secret as an operator restores it from a backup.
fn restored_key(env: &Env, name: &str, fixture_name: &str, label: &str) -> Value {
    json!({
        "metadata": {
            "name": name,
            "namespace": env.controller_ns,
            "labels": {KEY_LABEL: label},
        },
        "type": "kubernetes.io/tls",
        "stringData": {
            "tls.key": fixture(fixture_name, "tls.key"),
            "tls.crt": fixture(fixture_name, "tls.crt"),
        },
    })
}

async fn create_key_secret(env: &Env, secret: Value) -> Secret {
    let secret: Secret = serde_json::from_value(secret).unwrap();
    env.secret_api(&env.controller_ns)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create key Secret")
}

fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

// ----- request counting (the fake only) -----

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

scenario!(s01_create);
/// Upstream 1: Create: Secret with foo=bar and the template label; status set with
/// lastTransitionTime == lastUpdateTime; event Unsealed.
async fn s01_create(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let created = create(env, &TestSecret::new(env).seal(&cert)).await;

    let s = secret_with_data(env, &env.ns, NAME, &[("foo", "bar")]).await;
    assert_eq!(labels_of(&s), map(&[("mylabel", "myvalue")]));
    assert_eq!(owner_uids(&s), vec![created.metadata.uid.clone().unwrap()]);
    let c = synced(env, &env.ns, NAME, "True", 1).await;
    assert!(c.last_update_time.is_some());
    assert_eq!(c.last_transition_time, c.last_update_time);
    assert_eq!(c.message, None);
    let e = event(env, &env.ns, NAME, "Unsealed").await;
    assert_eq!(e.type_, "Normal");
    assert_eq!(e.note, "SealedSecret unsealed successfully");
    ctl.stop().await;
}

scenario!(s02_update);
/// Upstream 2: Update (re-sealed foo=baz): Secret updated; observedGeneration 2; times differ.
async fn s02_update(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    create(env, &TestSecret::new(env).seal(&cert)).await;
    secret_with_data(env, &env.ns, NAME, &[("foo", "bar")]).await;
    synced(env, &env.ns, NAME, "True", 1).await;
    // Status times have whole seconds: let the clock move on.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    update_spec(
        env,
        &TestSecret::new(env).data(&[("foo", "baz")]).seal(&cert),
    )
    .await;
    secret_with_data(env, &env.ns, NAME, &[("foo", "baz")]).await;
    let c = synced(env, &env.ns, NAME, "True", 2).await;
    assert_ne!(c.last_transition_time, c.last_update_time);
    ctl.stop().await;
}

scenario!(s03_renamed_item);
/// Upstream 3: Renamed encryptedData item: item keys are not part of the label.
async fn s03_renamed_item(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let mut sealed = TestSecret::new(env).seal(&cert);
    let value = sealed.spec.encrypted_data.remove("foo").unwrap();
    sealed.spec.encrypted_data.insert("xyzzy".into(), value);
    create(env, &sealed).await;
    secret_with_data(env, &env.ns, NAME, &[("xyzzy", "bar")]).await;
    ctl.stop().await;
}

scenario!(s04_appended_item);
/// Upstream 4: An item sealed separately (raw, label `ns/name`) appended to encryptedData.
async fn s04_appended_item(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let mut sealed = TestSecret::new(env).seal(&cert);
    let label = format!("{}/{NAME}", env.ns);
    let raw = seal::seal_value(cert.public_key(), label.as_bytes(), b"bar2");
    use base64::Engine as _;
    sealed.spec.encrypted_data.insert(
        "foo2".into(),
        base64::engine::general_purpose::STANDARD.encode(raw),
    );
    create(env, &sealed).await;
    secret_with_data(env, &env.ns, NAME, &[("foo", "bar"), ("foo2", "bar2")]).await;
    ctl.stop().await;
}

scenario!(s05_managed_takeover);
/// Upstream 5: Pre-existing Secret with `managed`: taken over wholesale.
async fn s05_managed_takeover(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    pre_existing(
        env,
        &[(MANAGED, "true")],
        &[("otherlabel", "x")],
        &[("foo2", "bar2")],
    )
    .await;
    let created = create(env, &TestSecret::new(env).seal(&cert)).await;
    let s = secret_with_data(env, &env.ns, NAME, &[("foo", "bar")]).await;
    assert_eq!(owner_uids(&s), vec![created.metadata.uid.unwrap()]);
    assert!(annotations_of(&s).is_empty(), "{:?}", annotations_of(&s));
    assert_eq!(labels_of(&s), map(&[("mylabel", "myvalue")]));
    synced(env, &env.ns, NAME, "True", 1).await;
    event(env, &env.ns, NAME, "Unsealed").await;
    ctl.stop().await;
}

scenario!(s06_managed_and_patch);
/// Upstream 6: Pre-existing with `managed` + `patch`: merged and owned.
async fn s06_managed_and_patch(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    pre_existing(
        env,
        &[(MANAGED, "true"), (PATCH, "true")],
        &[("otherlabel", "x")],
        &[("foo2", "bar2")],
    )
    .await;
    let created = create(env, &TestSecret::new(env).seal(&cert)).await;
    let s = secret_with_data(env, &env.ns, NAME, &[("foo", "bar"), ("foo2", "bar2")]).await;
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

scenario!(s07_patch);
/// Upstream 7: Pre-existing with `patch` only: merged, not owned.
async fn s07_patch(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    pre_existing(
        env,
        &[(PATCH, "true")],
        &[("otherlabel", "x")],
        &[("foo2", "bar2")],
    )
    .await;
    create(env, &TestSecret::new(env).seal(&cert)).await;
    let s = secret_with_data(env, &env.ns, NAME, &[("foo", "bar"), ("foo2", "bar2")]).await;
    assert!(owner_uids(&s).is_empty());
    assert_eq!(annotations_of(&s), map(&[(PATCH, "true")]));
    assert_eq!(
        labels_of(&s),
        map(&[("mylabel", "myvalue"), ("otherlabel", "x")])
    );
    synced(env, &env.ns, NAME, "True", 1).await;
    ctl.stop().await;
}

scenario!(s08_empty_with_patch);
/// Upstream 8: Pre-existing empty Secret with `patch`.
async fn s08_empty_with_patch(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    pre_existing(env, &[(PATCH, "true")], &[], &[]).await;
    create(env, &TestSecret::new(env).seal(&cert)).await;
    let s = secret_with_data(env, &env.ns, NAME, &[("foo", "bar")]).await;
    assert_eq!(labels_of(&s), map(&[("mylabel", "myvalue")]));
    assert!(owner_uids(&s).is_empty());
    ctl.stop().await;
}

scenario!(s09_owned_secret_deleted_is_recreated);
/// Upstream 9: Owned Secret deleted: re-created with the ownerReference and an Unsealed event.
async fn s09_owned_secret_deleted_is_recreated(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let created = create(env, &TestSecret::new(env).seal(&cert)).await;
    let first = secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    event(env, ns, NAME, "Unsealed").await;
    let before = event_count(env, ns, NAME, "Unsealed").await;

    delete_secret(env, ns, NAME).await;
    let again = eventually("Secret re-created", async || {
        env.secret(ns, NAME)
            .await
            .filter(|s| s.metadata.uid != first.metadata.uid)
    })
    .await;
    assert_eq!(data_of(&again), map(&[("foo", "bar")]));
    assert_eq!(owner_uids(&again), vec![created.metadata.uid.unwrap()]);
    eventually("a new Unsealed event", async || {
        (event_count(env, ns, NAME, "Unsealed").await > before).then_some(())
    })
    .await;
    ctl.stop().await;
}

scenario!(s10_managed_secret_deleted_is_recreated);
/// Upstream 10: A `managed` Secret that was taken over and then deleted is re-created, owned.
async fn s10_managed_secret_deleted_is_recreated(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let original = pre_existing(env, &[(MANAGED, "true")], &[], &[("foo2", "bar2")]).await;
    let created = create(env, &TestSecret::new(env).seal(&cert)).await;
    secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    delete_secret(env, ns, NAME).await;
    let again = eventually("Secret re-created", async || {
        env.secret(ns, NAME)
            .await
            .filter(|s| s.metadata.uid != original.metadata.uid)
    })
    .await;
    assert_eq!(data_of(&again), map(&[("foo", "bar")]));
    assert_eq!(owner_uids(&again), vec![created.metadata.uid.unwrap()]);
    ctl.stop().await;
}

scenario!(s11_unowned_secret_deleted_is_not_recreated);
/// Upstream 11: An unowned Secret without annotations: refused, and not re-created once deleted.
async fn s11_unowned_secret_deleted_is_not_recreated(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    pre_existing(env, &[], &[], &[("foo2", "bar2")]).await;
    create(env, &TestSecret::new(env).seal(&cert)).await;
    let e = event(env, ns, NAME, "ErrUpdateFailed").await;
    assert_eq!(e.type_, "Warning");
    assert!(
        e.note
            .contains("already exists and is not managed by SealedSecret"),
        "{}",
        e.note
    );
    let c = synced(env, ns, NAME, "False", 1).await;
    assert!(c.message.unwrap().contains("is not managed"));
    let untouched = env.secret(ns, NAME).await.unwrap();
    assert_eq!(data_of(&untouched), map(&[("foo2", "bar2")]));

    delete_secret(env, ns, NAME).await;
    stays(
        "no Secret re-created",
        Duration::from_millis(1500),
        async || env.secret(ns, NAME).await.is_none(),
    )
    .await;
    ctl.stop().await;
}

scenario!(s12_patched_secret_deleted_is_not_recreated);
/// Upstream 12: A `patch`-only Secret deleted is not re-created.
async fn s12_patched_secret_deleted_is_not_recreated(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    pre_existing(env, &[(PATCH, "true")], &[], &[("foo2", "bar2")]).await;
    create(env, &TestSecret::new(env).seal(&cert)).await;
    secret_with_data(env, ns, NAME, &[("foo", "bar"), ("foo2", "bar2")]).await;
    delete_secret(env, ns, NAME).await;
    stays(
        "no Secret re-created",
        Duration::from_millis(1500),
        async || env.secret(ns, NAME).await.is_none(),
    )
    .await;
    ctl.stop().await;
}

scenario!(s13_foreign_key);
/// Upstream 13: Sealed with a key the cluster does not have: no Secret, ErrUnsealFailed.
async fn s13_foreign_key(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let _ = ctl.cert().await;
    create(
        env,
        &TestSecret::new(env).seal(&fixture_cert("foreign2048")),
    )
    .await;
    let e = event(env, ns, NAME, "ErrUnsealFailed").await;
    assert_eq!(e.type_, "Warning");
    assert!(e.note.starts_with("Failed to unseal: "), "{}", e.note);
    assert!(e.note.contains("no key could decrypt secret"), "{}", e.note);
    let c = synced(env, ns, NAME, "False", 1).await;
    assert!(
        c.message
            .as_deref()
            .unwrap()
            .contains("no key could decrypt secret (foo)"),
        "{c:?}"
    );
    assert!(env.secret(ns, NAME).await.is_none());
    ctl.stop().await;
}

scenario!(legacy_v1_blob_with_extra_metadata_syncs_instead_of_panicking);
/// A legacy v1 `spec.data` blob whose metadata Kubernetes cannot read (`creationTimestamp: 1`)
/// used to panic the reconcile; now its Secret is created without that metadata, and the
/// controller goes on with the next object.
async fn legacy_v1_blob_with_extra_metadata_syncs_instead_of_panicking(env: &Env) {
    use base64::Engine as _;
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let inner = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": NAME, "creationTimestamp": 1, "resourceVersion": {"x": 1},
            "labels": {"team": "a"}},
        "data": {"foo": "YmFy"}
    });
    let blob = seal::seal_value(
        cert.public_key(),
        format!("{ns}/{NAME}").as_bytes(),
        inner.to_string().as_bytes(),
    );
    let legacy: SealedSecret = serde_json::from_value(json!({
        "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
        "metadata": {"name": NAME, "namespace": ns},
        "spec": {"encryptedData": {},
            "data": base64::engine::general_purpose::STANDARD.encode(&blob)}
    }))
    .unwrap();
    create(env, &legacy).await;
    let s = secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    assert_eq!(labels_of(&s), map(&[("team", "a")]));
    synced(env, ns, NAME, "True", 1).await;
    // The controller is still reconciling.
    create(env, &TestSecret::new(env).named(ns, "after").seal(&cert)).await;
    secret_with_data(env, ns, "after", &[("foo", "bar")]).await;
    ctl.stop().await;
}

scenario!(s14_dockerconfigjson);
/// Upstream 14: Secret type kubernetes.io/dockerconfigjson.
async fn s14_dockerconfigjson(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let config = r#"{"auths":{"r.example":{"auth":"dTpw"}}}"#;
    create(
        env,
        &TestSecret::new(env)
            .data(&[(".dockerconfigjson", config)])
            .type_("kubernetes.io/dockerconfigjson")
            .seal(&cert),
    )
    .await;
    let s = secret_with_data(env, &env.ns, NAME, &[(".dockerconfigjson", config)]).await;
    assert_eq!(s.type_.as_deref(), Some("kubernetes.io/dockerconfigjson"));
    event(env, &env.ns, NAME, "Unsealed").await;
    ctl.stop().await;
}

scenario!(s15_immutable);
/// Upstream 15: template.immutable: the Secret is immutable.
async fn s15_immutable(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    create(env, &TestSecret::new(env).immutable().seal(&cert)).await;
    let s = secret_with_data(env, &env.ns, NAME, &[("foo", "bar")]).await;
    assert_eq!(s.immutable, Some(true));
    ctl.stop().await;
}

scenario!(s16_immutable_update_fails);
/// Upstream 16: Updating the SealedSecret of an immutable Secret: ErrUpdateFailed, generation observed.
async fn s16_immutable_update_fails(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    create(env, &TestSecret::new(env).immutable().seal(&cert)).await;
    secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    update_spec(
        env,
        &TestSecret::new(env)
            .immutable()
            .data(&[("foo", "baz")])
            .seal(&cert),
    )
    .await;
    let e = event(env, ns, NAME, "ErrUpdateFailed").await;
    assert_eq!(e.type_, "Warning");
    assert!(
        e.note.contains("the target Secret is immutable"),
        "{}",
        e.note
    );
    let c = synced(env, ns, NAME, "False", 2).await;
    assert!(
        c.message
            .unwrap()
            .contains("the target Secret is immutable")
    );
    assert_eq!(
        data_of(&env.secret(ns, NAME).await.unwrap()),
        map(&[("foo", "bar")])
    );
    ctl.stop().await;
}

scenario!(s17_strict_renamed_fails);
/// Upstream 17: A strict SealedSecret renamed does not open.
async fn s17_strict_renamed_fails(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    create_as(env, &TestSecret::new(env).seal(&cert), ns, "renamed").await;
    let e = event(env, ns, "renamed", "ErrUnsealFailed").await;
    assert_eq!(e.type_, "Warning");
    synced(env, ns, "renamed", "False", 1).await;
    assert!(env.secret(ns, "renamed").await.is_none());
    ctl.stop().await;
}

scenario!(s18_strict_moved_fails);
/// Upstream 18: A strict SealedSecret moved to another namespace does not open.
async fn s18_strict_moved_fails(env: &Env) {
    let other = env.other.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    create_as(env, &TestSecret::new(env).seal(&cert), other, NAME).await;
    let e = event(env, other, NAME, "ErrUnsealFailed").await;
    assert_eq!(e.type_, "Warning");
    assert!(env.secret(other, NAME).await.is_none());
    ctl.stop().await;
}

scenario!(s19_cluster_wide_renamed);
/// Upstream 19: A cluster-wide SealedSecret renamed opens under the new name.
async fn s19_cluster_wide_renamed(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let sealed = TestSecret::new(env)
        .annotation(CLUSTER_WIDE, "true")
        .seal(&cert);
    create_as(env, &sealed, ns, "renamed").await;
    secret_with_data(env, ns, "renamed", &[("foo", "bar")]).await;
    synced(env, ns, "renamed", "True", 1).await;
    ctl.stop().await;
}

scenario!(s20_cluster_wide_moved);
/// Upstream 20: A cluster-wide SealedSecret moved opens in the other namespace.
async fn s20_cluster_wide_moved(env: &Env) {
    let other = env.other.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let sealed = TestSecret::new(env)
        .annotation(CLUSTER_WIDE, "true")
        .seal(&cert);
    create_as(env, &sealed, other, NAME).await;
    secret_with_data(env, other, NAME, &[("foo", "bar")]).await;
    synced(env, other, NAME, "True", 1).await;
    ctl.stop().await;
}

scenario!(s21_namespace_wide_renamed);
/// Upstream 21: A namespace-wide SealedSecret renamed opens.
async fn s21_namespace_wide_renamed(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let sealed = TestSecret::new(env)
        .annotation(NAMESPACE_WIDE, "true")
        .seal(&cert);
    create_as(env, &sealed, ns, "renamed").await;
    secret_with_data(env, ns, "renamed", &[("foo", "bar")]).await;
    ctl.stop().await;
}

scenario!(s22_namespace_wide_moved_fails);
/// Upstream 22: A namespace-wide SealedSecret moved does not open.
async fn s22_namespace_wide_moved_fails(env: &Env) {
    let other = env.other.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let sealed = TestSecret::new(env)
        .annotation(NAMESPACE_WIDE, "true")
        .seal(&cert);
    create_as(env, &sealed, other, NAME).await;
    event(env, other, NAME, "ErrUnsealFailed").await;
    assert!(env.secret(other, NAME).await.is_none());
    ctl.stop().await;
}

/// Upstream 23: `--version` prints `controller version: <v>` (no API server involved).
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

scenario!(key_renewal_adds_keys_and_old_keys_still_unseal);
/// A short renewal period makes a second key; values sealed with the first still open.
async fn key_renewal_adds_keys_and_old_keys_still_unseal(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &["--key-renew-period=2s"]).await;
    let first = ctl.cert().await;
    eventually("a second key Secret", async || {
        (key_secrets(env).await.len() >= 2).then_some(())
    })
    .await;
    let second = eventually("cert.pem serves the new key", async || {
        let cert = ctl.cert().await;
        (cert.public_key().fingerprint() != first.public_key().fingerprint()).then_some(cert)
    })
    .await;
    assert!(key_secrets(env).await.iter().all(|s| {
        s.metadata.labels.as_ref().unwrap()[KEY_LABEL] == "active"
            && s.metadata
                .name
                .as_deref()
                .unwrap()
                .starts_with("sealed-secrets-key")
    }));
    create(env, &TestSecret::new(env).seal(&first)).await;
    create(env, &TestSecret::new(env).named(ns, "second").seal(&second)).await;
    secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    secret_with_data(env, ns, "second", &[("foo", "bar")]).await;
    ctl.stop().await;
}

scenario!(renew_now_makes_one_key);
/// SIGUSR1's in-process equivalent: `renew_now` makes one new key.
async fn renew_now_makes_one_key(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &["--key-renew-period=0"]).await;
    let first = ctl.cert().await;
    assert_eq!(key_secrets(env).await.len(), 1);
    // Keys are ordered by notBefore, which has whole seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ctl.renew_now.notify_one();
    key_count(env, 2).await;
    eventually("cert.pem follows", async || {
        (ctl.cert().await.public_key().fingerprint() != first.public_key().fingerprint())
            .then_some(())
    })
    .await;
    stays("no third key", Duration::from_millis(1500), async || {
        key_secrets(env).await.len() == 2
    })
    .await;
    ctl.stop().await;
}

scenario!(restored_key_at_runtime_recovers_stale_status);
/// A restored key added at runtime opens what failed before, without a restart, and the
/// stale `no key could decrypt` status recovers (upstream #853/#1516).
async fn restored_key_at_runtime_recovers_stale_status(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let _ = ctl.cert().await;
    create(env, &TestSecret::new(env).seal(&fixture_cert("rsa2048"))).await;
    let failed = synced(env, ns, NAME, "False", 1).await;
    assert!(
        failed
            .message
            .as_deref()
            .unwrap()
            .contains("no key could decrypt secret")
    );
    event(env, ns, NAME, "ErrUnsealFailed").await;

    create_key_secret(env, restored_key(env, "restored", "rsa2048", "active")).await;
    secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    let c = synced(env, ns, NAME, "True", 1).await;
    assert_eq!(c.message, None);
    event(env, ns, NAME, "Unsealed").await;
    ctl.stop().await;
}

scenario!(compromised_key_stops_sealing_but_still_unseals);
/// Relabelling a key `compromised` stops it sealing at once; it still unseals.
async fn compromised_key_stops_sealing_but_still_unseals(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &["--key-renew-period=0"]).await;
    let generated = ctl.cert().await;
    create_key_secret(env, restored_key(env, "restored", "rsa2048", "active")).await;
    let restored = fixture_cert("rsa2048");
    // The generated key is newer: it still seals.
    let generated_secret = key_secrets(env)
        .await
        .into_iter()
        .find(|s| s.metadata.name.as_deref() != Some("restored"))
        .unwrap();
    assert_eq!(
        ctl.cert().await.public_key().fingerprint(),
        generated.public_key().fingerprint()
    );

    env.secret_api(&env.controller_ns)
        .patch(
            generated_secret.metadata.name.as_deref().unwrap(),
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {KEY_LABEL: "compromised"}}})),
        )
        .await
        .unwrap();
    eventually("cert.pem switches to the restored key", async || {
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
    create(env, &TestSecret::new(env).seal(&generated)).await;
    secret_with_data(env, &env.ns, NAME, &[("foo", "bar")]).await;
    // The controller never relabels or deletes keys itself.
    assert_eq!(key_secrets(env).await.len(), 2);
    ctl.stop().await;
}

scenario!(deleted_key_leaves_the_keyring);
/// A deleted key Secret leaves the keyring: what it sealed no longer opens (existing Secrets
/// stay).
async fn deleted_key_leaves_the_keyring(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let _ = ctl.cert().await;
    create_key_secret(env, restored_key(env, "restored", "rsa2048", "active")).await;
    let restored = fixture_cert("rsa2048");
    create(env, &TestSecret::new(env).seal(&restored)).await;
    secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;

    delete_secret(env, &env.controller_ns, "restored").await;
    eventually("one active key left in the metrics", async || {
        let text = ctl.metrics_text().await;
        (metric(&text, "sealed_secrets_controller_keys{status=\"active\"}") == Some(1.0))
            .then_some(())
    })
    .await;
    create(
        env,
        &TestSecret::new(env).named(ns, "after").seal(&restored),
    )
    .await;
    event(env, ns, "after", "ErrUnsealFailed").await;
    assert!(env.secret(ns, "after").await.is_none());
    assert!(
        env.secret(ns, NAME).await.is_some(),
        "existing Secrets are kept"
    );
    ctl.stop().await;
}

scenario!(malformed_key_secret_is_skipped_and_reported);
/// A malformed key Secret (present at start and added later) is skipped and reported; the
/// controller keeps working (upstream crashloops).
async fn malformed_key_secret_is_skipped_and_reported(env: &Env) {
    let broken = |name: &str| {
        json!({
            "metadata": {"name": name, "namespace": env.controller_ns, "labels": {KEY_LABEL: "active"}},
            "type": "kubernetes.io/tls",
            "stringData": {"tls.key": "not a key", "tls.crt": "not a certificate"},
        })
    };
    let mut uids = BTreeMap::new();
    let at_start = create_key_secret(env, broken("broken-at-start")).await;
    uids.insert("broken-at-start", at_start.metadata.uid.unwrap());
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let later = create_key_secret(env, broken("broken-later")).await;
    uids.insert("broken-later", later.metadata.uid.unwrap());

    for (name, uid) in &uids {
        let e = event_about(
            env,
            &env.controller_ns,
            "Secret",
            name,
            uid,
            "ErrKeyMalformed",
        )
        .await;
        assert_eq!(e.type_, "Warning");
        assert!(!e.note.contains("not a key"), "{}", e.note);
    }
    eventually("malformed_keys metric is 2", async || {
        let text = ctl.metrics_text().await;
        (metric(&text, "sealed_secrets_controller_malformed_keys") == Some(2.0)).then_some(())
    })
    .await;
    create(env, &TestSecret::new(env).seal(&cert)).await;
    secret_with_data(env, &env.ns, NAME, &[("foo", "bar")]).await;
    assert!(!ctl.task.is_finished());
    ctl.stop().await;
}

scenario!(renewal_annotation_makes_exactly_one_key);
/// The renewal annotation on any key Secret asks for exactly one new key.
async fn renewal_annotation_makes_exactly_one_key(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &["--key-renew-period=0"]).await;
    let first = ctl.cert().await;
    let name = key_secrets(env).await[0].metadata.name.clone().unwrap();
    // A request in the same second as the newest key is already satisfied by it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // As an operator would write it: now, with sub-second precision.
    let now = jiff::Timestamp::now().to_string();
    env.secret_api(&env.controller_ns)
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {RENEWAL_REQUESTED_AT: now}}})),
        )
        .await
        .unwrap();
    eventually("a second key", async || {
        (key_secrets(env).await.len() >= 2).then_some(())
    })
    .await;
    eventually("cert.pem follows", async || {
        (ctl.cert().await.public_key().fingerprint() != first.public_key().fingerprint())
            .then_some(())
    })
    .await;
    stays(
        "exactly one new key",
        Duration::from_millis(2500),
        async || key_secrets(env).await.len() == 2,
    )
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
async fn untouched(env: &Env, namespace: &str, name: &str) -> bool {
    env.secret(namespace, name).await.is_none()
        && env
            .sealed(namespace, name)
            .await
            .is_some_and(|s| s.status.is_none())
        && events(env, namespace, "SealedSecret", name)
            .await
            .is_empty()
}

/// `sealed` with these labels on the SealedSecret itself (not on the template).
fn labelled(mut sealed: SealedSecret, labels: &[(&str, &str)]) -> SealedSecret {
    sealed.metadata.labels = Some(map(labels));
    sealed
}

scenario!(old_gc_behavior_deletes_secret_with_its_sealed_secret);
/// `--old-gc-behavior`: the controller deletes the Secret itself when its SealedSecret goes,
/// also a Secret that garbage collection leaves alone (no ownerReference, from the
/// skip-set-owner-references template annotation); on the fake also an owned one when nothing
/// collects it (garbage collection off).
async fn old_gc_behavior_deletes_secret_with_its_sealed_secret(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &["--old-gc-behavior"]).await;
    let cert = ctl.cert().await;

    // Not owned: garbage collection would keep it.
    create(
        env,
        &TestSecret::new(env)
            .annotation(SKIP_OWNER_REFERENCES, "true")
            .seal(&cert),
    )
    .await;
    let s = secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    assert!(owner_uids(&s).is_empty());
    synced(env, ns, NAME, "True", 1).await;
    delete_sealed(env, ns, NAME).await;
    eventually(
        "the unowned Secret is deleted by the controller",
        async || env.secret(ns, NAME).await.is_none().then_some(()),
    )
    .await;

    // Owned, with garbage collection off: only the controller can delete it.
    if let Some(fake) = env.fake() {
        fake.set_garbage_collection(false);
        create(env, &TestSecret::new(env).named(ns, "owned").seal(&cert)).await;
        let s = secret_with_data(env, ns, "owned", &[("foo", "bar")]).await;
        assert_eq!(owner_uids(&s).len(), 1);
        synced(env, ns, "owned", "True", 1).await;
        delete_sealed(env, ns, "owned").await;
        eventually(
            "the owned Secret is deleted by the controller",
            async || env.secret(ns, "owned").await.is_none().then_some(()),
        )
        .await;
        assert_eq!(count_in(fake, ns, Verb::Delete, "secrets"), 2);
    }
    ctl.stop().await;
}

scenario!(old_gc_behavior_keeps_a_patched_secret);
/// `--old-gc-behavior` keeps a `patch`-only Secret (someone else's, values merged in) when
/// its SealedSecret goes; upstream deletes it with all its other values.
async fn old_gc_behavior_keeps_a_patched_secret(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &["--old-gc-behavior"]).await;
    let cert = ctl.cert().await;
    pre_existing(env, &[(PATCH, "true")], &[], &[("theirs", "keep")]).await;
    create(env, &TestSecret::new(env).seal(&cert)).await;
    secret_with_data(env, ns, NAME, &[("foo", "bar"), ("theirs", "keep")]).await;
    synced(env, ns, NAME, "True", 1).await;
    delete_sealed(env, ns, NAME).await;
    stays(
        "the patched Secret stays",
        Duration::from_millis(1500),
        async || env.secret(ns, NAME).await.is_some(),
    )
    .await;
    if let Some(fake) = env.fake() {
        assert_eq!(count_in(fake, ns, Verb::Delete, "secrets"), 0);
    }
    ctl.stop().await;
}

/// `--old-gc-behavior` when the SealedSecret goes while the watch is down: the relist no
/// longer shows it, and its Secret is deleted all the same (client-go reports such objects
/// as `DeletedFinalStateUnknown`, so upstream deletes the Secret too). Fake only: dropped
/// watches and compaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_gc_behavior_deletes_secret_of_sealed_secret_deleted_during_a_watch_gap() {
    let env = Env::start(Kind::Fake, "old_gc_watch_gap").await;
    let (env, fake, ns) = (&env, env.expect_fake(), env.ns.as_str());
    let ctl = Controller::start(env, "ctl-a", &["--old-gc-behavior"]).await;
    let cert = ctl.cert().await;
    create(
        env,
        &TestSecret::new(env)
            .annotation(SKIP_OWNER_REFERENCES, "true")
            .seal(&cert),
    )
    .await;
    secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    synced(env, ns, NAME, "True", 1).await;

    // The SealedSecret watch drops and its first retry fails; meanwhile the object goes and
    // history is compacted, so the watcher has to relist.
    fake.fail(
        Fault::new(500, "InternalError")
            .verb(Verb::Watch)
            .resource("sealedsecrets"),
    );
    fake.close_watches();
    delete_sealed(env, ns, NAME).await;
    fake.compact();
    eventually_within(
        RELIST_TIMEOUT,
        "the Secret is deleted after the relist",
        async || env.secret(ns, NAME).await.is_none().then_some(()),
    )
    .await;
    ctl.stop().await;
}

scenario!(secret_made_without_owner_reference_stays_synced_and_takes_updates);
/// skip-set-owner-references: the Secret made without an ownerReference is still the
/// SealedSecret's to update. Upstream refuses it at once ("already exists and is not managed")
/// and never updates it; an earlier version of ours reported Synced and then refused it at the
/// object's next reconcile.
async fn secret_made_without_owner_reference_stays_synced_and_takes_updates(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let skipping = || TestSecret::new(env).annotation(SKIP_OWNER_REFERENCES, "true");
    create(env, &skipping().seal(&cert)).await;
    let s = secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    assert!(owner_uids(&s).is_empty());
    synced(env, ns, NAME, "True", 1).await;

    update_spec(env, &skipping().data(&[("foo", "baz")]).seal(&cert)).await;
    let s = secret_with_data(env, ns, NAME, &[("foo", "baz")]).await;
    assert!(owner_uids(&s).is_empty());
    synced(env, ns, NAME, "True", 2).await;
    assert_eq!(
        event_count(env, ns, NAME, "ErrUpdateFailed").await,
        0,
        "{:?}",
        events(env, ns, "SealedSecret", NAME).await
    );
    ctl.stop().await;
}

scenario!(without_old_gc_behavior_unowned_secret_outlives_its_sealed_secret);
/// Without `--old-gc-behavior` the controller deletes nothing: an unowned Secret
/// (skip-set-owner-references) outlives its SealedSecret; an owned one goes through garbage
/// collection (kube-controller-manager's on the real server), and on the fake with garbage
/// collection off it stays.
async fn without_old_gc_behavior_unowned_secret_outlives_its_sealed_secret(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    create(
        env,
        &TestSecret::new(env)
            .annotation(SKIP_OWNER_REFERENCES, "true")
            .seal(&cert),
    )
    .await;
    create(env, &TestSecret::new(env).named(ns, "owned").seal(&cert)).await;
    create(
        env,
        &TestSecret::new(env).named(ns, "collected").seal(&cert),
    )
    .await;
    let s = secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    assert!(owner_uids(&s).is_empty());
    for name in [NAME, "owned", "collected"] {
        secret_with_data(env, ns, name, &[("foo", "bar")]).await;
        synced(env, ns, name, "True", 1).await;
    }

    delete_sealed(env, ns, "collected").await;
    eventually("garbage collection deletes the owned Secret", async || {
        env.secret(ns, "collected").await.is_none().then_some(())
    })
    .await;
    delete_sealed(env, ns, NAME).await;
    let mut survivors = vec![NAME];
    if let Some(fake) = env.fake() {
        // Garbage collection off: an owned Secret outlives its SealedSecret as well.
        fake.set_garbage_collection(false);
        delete_sealed(env, ns, "owned").await;
        survivors.push("owned");
    }
    stays("the Secrets stay", QUIET, async || {
        for name in &survivors {
            if env.secret(ns, name).await.is_none() {
                return false;
            }
        }
        true
    })
    .await;
    assert_eq!(
        data_of(&env.secret(ns, NAME).await.unwrap()),
        map(&[("foo", "bar")])
    );
    if let Some(fake) = env.fake() {
        assert_eq!(count_in(fake, ns, Verb::Delete, "secrets"), 0);
    }
    ctl.stop().await;
}

scenario!(label_selector_unseals_only_matching_sealed_secrets);
/// `--label-selector`: only matching SealedSecrets are unsealed; the others get no Secret,
/// no status and no event, until relabelled to match.
async fn label_selector_unseals_only_matching_sealed_secrets(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &["--label-selector=shard=a"]).await;
    let cert = ctl.cert().await;
    create(
        env,
        &labelled(
            TestSecret::new(env).named(ns, "other").seal(&cert),
            &[("shard", "b")],
        ),
    )
    .await;
    create(
        env,
        &TestSecret::new(env).named(ns, "unlabelled").seal(&cert),
    )
    .await;
    create(
        env,
        &labelled(TestSecret::new(env).seal(&cert), &[("shard", "a")]),
    )
    .await;

    let s = secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    assert_eq!(labels_of(&s), map(&[("mylabel", "myvalue")]));
    synced(env, ns, NAME, "True", 1).await;
    event(env, ns, NAME, "Unsealed").await;
    stays(
        "non-matching SealedSecrets are left alone",
        QUIET,
        async || untouched(env, ns, "other").await && untouched(env, ns, "unlabelled").await,
    )
    .await;

    // Relabelled to match: unsealed.
    env.ss_api(ns)
        .patch(
            "other",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"shard": "a"}}})),
        )
        .await
        .unwrap();
    secret_with_data(env, ns, "other", &[("foo", "bar")]).await;
    synced(env, ns, "other", "True", 1).await;
    event(env, ns, "other", "Unsealed").await;
    assert!(untouched(env, ns, "unlabelled").await);
    ctl.stop().await;
}

scenario!(label_selector_manages_secrets_whose_labels_do_not_match);
/// `--label-selector` selects SealedSecrets; the Secrets they make carry the template's
/// labels, which need not match. Such a Secret must still be updated when the SealedSecret
/// changes (not re-created: it exists), and re-created when deleted.
async fn label_selector_manages_secrets_whose_labels_do_not_match(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &["--label-selector=shard=a"]).await;
    let cert = ctl.cert().await;
    let created = create(
        env,
        &labelled(TestSecret::new(env).seal(&cert), &[("shard", "a")]),
    )
    .await;
    let first = secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    assert!(!labels_of(&first).contains_key("shard"));
    synced(env, ns, NAME, "True", 1).await;

    update_spec(
        env,
        &TestSecret::new(env).data(&[("foo", "baz")]).seal(&cert),
    )
    .await;
    secret_with_data(env, ns, NAME, &[("foo", "baz")]).await;
    synced(env, ns, NAME, "True", 2).await;
    assert!(
        event_count(env, ns, NAME, "ErrUpdateFailed").await == 0,
        "{:?}",
        events(env, ns, "SealedSecret", NAME).await
    );

    delete_secret(env, ns, NAME).await;
    let again = eventually("Secret re-created", async || {
        env.secret(ns, NAME)
            .await
            .filter(|s| s.metadata.uid != first.metadata.uid)
    })
    .await;
    assert_eq!(data_of(&again), map(&[("foo", "baz")]));
    assert_eq!(owner_uids(&again), vec![created.metadata.uid.unwrap()]);
    ctl.stop().await;
}

/// Requests that list or watch Secrets outside the controller namespace (where keys live).
fn secret_watches_outside_keys(env: &Env, fake: &FakeApiServer) -> usize {
    fake.requests()
        .iter()
        .filter(|r| {
            matches!(r.verb, Verb::List | Verb::Watch)
                && r.gvr.as_ref().is_some_and(|g| g.resource == "secrets")
                && r.namespace.as_deref() != Some(env.controller_ns.as_str())
        })
        .count()
}

scenario!(skip_recreate_does_not_recreate_deleted_secret);
/// `--skip-recreate`: Secrets are not watched, so a deleted Secret is not re-created until
/// the SealedSecret changes; creating and updating still work.
async fn skip_recreate_does_not_recreate_deleted_secret(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &["--skip-recreate"]).await;
    let cert = ctl.cert().await;
    let created = create(env, &TestSecret::new(env).seal(&cert)).await;
    secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    synced(env, ns, NAME, "True", 1).await;

    delete_secret(env, ns, NAME).await;
    stays("no Secret re-created", QUIET, async || {
        env.secret(ns, NAME).await.is_none()
    })
    .await;

    // The SealedSecret changes: the Secret is made again.
    update_spec(
        env,
        &TestSecret::new(env).data(&[("foo", "baz")]).seal(&cert),
    )
    .await;
    let again = secret_with_data(env, ns, NAME, &[("foo", "baz")]).await;
    assert_eq!(owner_uids(&again), vec![created.metadata.uid.unwrap()]);
    synced(env, ns, NAME, "True", 2).await;
    // And updated in place on the next change.
    update_spec(
        env,
        &TestSecret::new(env).data(&[("foo", "qux")]).seal(&cert),
    )
    .await;
    let updated = secret_with_data(env, ns, NAME, &[("foo", "qux")]).await;
    assert_eq!(updated.metadata.uid, again.metadata.uid);
    synced(env, ns, NAME, "True", 3).await;
    if let Some(fake) = env.fake() {
        assert_eq!(
            secret_watches_outside_keys(env, fake),
            0,
            "Secrets are not watched"
        );
    }
    ctl.stop().await;
}

scenario!(skip_recreate_reads_existing_secrets_live);
/// `--skip-recreate` reads existing Secrets live: a `managed` one is taken over, an unowned
/// one is refused.
async fn skip_recreate_reads_existing_secrets_live(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &["--skip-recreate"]).await;
    let cert = ctl.cert().await;
    pre_existing(
        env,
        &[(MANAGED, "true")],
        &[("otherlabel", "x")],
        &[("foo2", "bar2")],
    )
    .await;
    let unowned = env
        .secret_api(ns)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "unowned", "namespace": ns},
                "data": {"foo2": "YmFyMg=="},
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let created = create(env, &TestSecret::new(env).seal(&cert)).await;
    create(env, &TestSecret::new(env).named(ns, "unowned").seal(&cert)).await;

    let s = secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    assert_eq!(owner_uids(&s), vec![created.metadata.uid.unwrap()]);
    assert_eq!(labels_of(&s), map(&[("mylabel", "myvalue")]));
    synced(env, ns, NAME, "True", 1).await;

    let e = event(env, ns, "unowned", "ErrUpdateFailed").await;
    assert!(
        e.note.contains("is not managed by SealedSecret"),
        "{}",
        e.note
    );
    synced(env, ns, "unowned", "False", 1).await;
    let kept = env.secret(ns, "unowned").await.unwrap();
    assert_eq!(
        kept.metadata.resource_version,
        unowned.metadata.resource_version
    );
    if let Some(fake) = env.fake() {
        assert_eq!(
            secret_watches_outside_keys(env, fake),
            0,
            "Secrets are not watched"
        );
    }
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

scenario!(key_cutoff_time_after_newest_key_makes_a_new_key_at_startup);
/// `--key-cutoff-time` later than the newest key (and past): a new key at startup, exactly
/// one; what the old key sealed still opens.
async fn key_cutoff_time_after_newest_key_makes_a_new_key_at_startup(env: &Env) {
    let ns = env.ns.as_str();
    create_key_secret(env, restored_key(env, "restored", "rsa2048", "active")).await;
    let restored = fixture_cert("rsa2048");
    let cutoff = restored.not_before() + Duration::from_secs(1);
    assert!(cutoff <= std::time::SystemTime::now());
    let flag = format!("--key-cutoff-time={}", rfc1123z(cutoff));
    let ctl = Controller::start(env, "ctl-a", &["--key-renew-period=0", &flag]).await;

    key_count(env, 2).await;
    let sealing = eventually("cert.pem serves the new key", async || {
        let cert = ctl.cert().await;
        (cert.public_key().fingerprint() != restored.public_key().fingerprint()).then_some(cert)
    })
    .await;
    stays("exactly one new key", QUIET, async || {
        key_secrets(env).await.len() == 2
    })
    .await;
    create(env, &TestSecret::new(env).seal(&restored)).await;
    create(env, &TestSecret::new(env).named(ns, "new").seal(&sealing)).await;
    secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    secret_with_data(env, ns, "new", &[("foo", "bar")]).await;
    ctl.stop().await;
}

scenario!(key_cutoff_time_before_newest_key_makes_no_key);
/// `--key-cutoff-time` earlier than the newest key: no new key.
async fn key_cutoff_time_before_newest_key_makes_no_key(env: &Env) {
    create_key_secret(env, restored_key(env, "restored", "rsa2048", "active")).await;
    let restored = fixture_cert("rsa2048");
    let cutoff = restored.not_before() - Duration::from_secs(24 * 3600);
    let flag = format!("--key-cutoff-time={}", rfc1123z(cutoff));
    let ctl = Controller::start(env, "ctl-a", &["--key-renew-period=0", &flag]).await;

    assert_eq!(
        ctl.cert().await.public_key().fingerprint(),
        restored.public_key().fingerprint()
    );
    create(env, &TestSecret::new(env).seal(&restored)).await;
    secret_with_data(env, &env.ns, NAME, &[("foo", "bar")]).await;
    stays("no new key", QUIET, async || {
        key_secrets(env).await.len() == 1
    })
    .await;
    if let Some(fake) = env.fake() {
        assert_eq!(
            count_in(fake, &env.controller_ns, Verb::Create, "secrets"),
            1
        );
    }
    ctl.stop().await;
}

scenario!(key_cutoff_time_now_renews_at_restart);
/// The operator's early renewal after a compromise: restart with `--key-cutoff-time
/// "$(date -R)"` makes one new key past the controller's own.
async fn key_cutoff_time_now_renews_at_restart(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &["--key-renew-period=0"]).await;
    let first = ctl.cert().await;
    ctl.stop().await;
    // notBefore and the flag have whole seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let flag = format!(
        "--key-cutoff-time={}",
        rfc1123z(std::time::SystemTime::now())
    );
    let again = Controller::start(env, "ctl-b", &["--key-renew-period=0", &flag]).await;
    key_count(env, 2).await;
    eventually("cert.pem serves the new key", async || {
        (again.cert().await.public_key().fingerprint() != first.public_key().fingerprint())
            .then_some(())
    })
    .await;
    stays("exactly one new key", QUIET, async || {
        key_secrets(env).await.len() == 2
    })
    .await;
    again.stop().await;
}

scenario!(key_cutoff_time_ahead_renews_when_it_passes);
/// `--key-cutoff-time` still ahead, renewal disabled: no key at startup, one new key once the
/// cutoff passes (it used to wait for something else to wake the renewer).
async fn key_cutoff_time_ahead_renews_when_it_passes(env: &Env) {
    create_key_secret(env, restored_key(env, "restored", "rsa2048", "active")).await;
    let cutoff = std::time::SystemTime::now() + Duration::from_secs(4);
    let flag = format!("--key-cutoff-time={}", rfc1123z(cutoff));
    let ctl = Controller::start(env, "ctl-a", &["--key-renew-period=0", &flag]).await;
    let _ = ctl.cert().await;
    let keys = key_secrets(env).await.len();
    // The flag has whole seconds: the cutoff may come up to a second early.
    if std::time::SystemTime::now() + Duration::from_secs(1) < cutoff {
        assert_eq!(keys, 1, "no key before the cutoff");
    }
    key_count(env, 2).await;
    assert!(std::time::SystemTime::now() >= cutoff - Duration::from_secs(1));
    stays("exactly one new key", QUIET, async || {
        key_secrets(env).await.len() == 2
    })
    .await;
    ctl.stop().await;
}

scenario!(update_status_false_writes_no_status);
/// `--update-status=false`: Secrets and events as usual, no status write at all.
async fn update_status_false_writes_no_status(env: &Env) {
    let ns = env.ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &["--update-status=false"]).await;
    let cert = ctl.cert().await;
    create(env, &TestSecret::new(env).seal(&cert)).await;
    create(
        env,
        &TestSecret::new(env)
            .named(ns, "foreign")
            .seal(&fixture_cert("foreign2048")),
    )
    .await;
    secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    event(env, ns, NAME, "Unsealed").await;
    event(env, ns, "foreign", "ErrUnsealFailed").await;
    update_spec(
        env,
        &TestSecret::new(env).data(&[("foo", "baz")]).seal(&cert),
    )
    .await;
    secret_with_data(env, ns, NAME, &[("foo", "baz")]).await;
    stays("no status", QUIET, async || {
        for name in [NAME, "foreign"] {
            if env
                .sealed(ns, name)
                .await
                .is_none_or(|s| s.status.is_some())
            {
                return false;
            }
        }
        true
    })
    .await;
    if let Some(fake) = env.fake() {
        assert_eq!(writes_in(fake, ns, "sealedsecrets", Some("status")), 0);
    }
    ctl.stop().await;
}

scenario!(all_namespaces_false_reconciles_only_the_controller_namespace);
/// `--all-namespaces=false`: only the controller's namespace.
async fn all_namespaces_false_reconciles_only_the_controller_namespace(env: &Env) {
    let ctl_ns = env.controller_ns.as_str();
    let ctl = Controller::start(env, "ctl-a", &["--all-namespaces=false"]).await;
    let cert = ctl.cert().await;
    create(env, &TestSecret::new(env).seal(&cert)).await;
    create(env, &TestSecret::new(env).named(ctl_ns, NAME).seal(&cert)).await;
    secret_with_data(env, ctl_ns, NAME, &[("foo", "bar")]).await;
    synced(env, ctl_ns, NAME, "True", 1).await;
    event(env, ctl_ns, NAME, "Unsealed").await;
    stays("other namespaces are left alone", QUIET, async || {
        untouched(env, &env.ns, NAME).await
    })
    .await;
    ctl.stop().await;
}

/// The controller's namespace plus the listed one (`other`), nothing else (`ns`).
async fn watches_listed_and_controller_namespaces_only(env: &Env, flags: &[&str]) {
    let ctl = Controller::start(env, "ctl-a", flags).await;
    let cert = ctl.cert().await;
    create(env, &TestSecret::new(env).seal(&cert)).await;
    for ns in [&env.controller_ns, &env.other] {
        create(env, &TestSecret::new(env).named(ns, NAME).seal(&cert)).await;
    }
    for ns in [&env.controller_ns, &env.other] {
        secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
        synced(env, ns, NAME, "True", 1).await;
        event(env, ns, NAME, "Unsealed").await;
    }
    stays(
        format!("{} is left alone ({flags:?})", env.ns),
        QUIET,
        async || untouched(env, &env.ns, NAME).await,
    )
    .await;
    ctl.stop().await;
}

scenario!(additional_namespaces_with_all_namespaces_false);
/// `--all-namespaces=false --additional-namespaces=<other>`.
async fn additional_namespaces_with_all_namespaces_false(env: &Env) {
    let listed = format!("--additional-namespaces={}", env.other);
    watches_listed_and_controller_namespaces_only(env, &["--all-namespaces=false", &listed]).await;
}

scenario!(additional_namespaces_alone_limit_the_scope);
/// `--additional-namespaces=<other>` alone limits the scope too, as upstream.
async fn additional_namespaces_alone_limit_the_scope(env: &Env) {
    let listed = format!("--additional-namespaces={}", env.other);
    watches_listed_and_controller_namespaces_only(env, &[&listed]).await;
}

scenario!(additional_namespaces_repeated_are_watched_once);
/// Listing a namespace twice, or the controller's own, still reconciles each object once
/// (upstream de-duplicates the list and skips its own namespace).
async fn additional_namespaces_repeated_are_watched_once(env: &Env) {
    let (ns, ctl_ns) = (env.ns.as_str(), env.controller_ns.as_str());
    let listed = format!("--additional-namespaces={ctl_ns},{ns},{ns}");
    let ctl = Controller::start(env, "ctl-a", &["--all-namespaces=false", &listed]).await;
    let cert = ctl.cert().await;
    create(env, &TestSecret::new(env).seal(&cert)).await;
    create(env, &TestSecret::new(env).named(ctl_ns, NAME).seal(&cert)).await;
    for ns in [ns, ctl_ns] {
        secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
        synced(env, ns, NAME, "True", 1).await;
        event(env, ns, NAME, "Unsealed").await;
    }
    tokio::time::sleep(QUIET).await;
    for ns in [ns, ctl_ns] {
        assert_eq!(
            event_count(env, ns, NAME, "Unsealed").await,
            1,
            "{ns}: one event"
        );
    }
    let Some(fake) = env.fake() else {
        return ctl.stop().await;
    };
    for ns in [ns, ctl_ns] {
        // The key Secret is the other create in the controller namespace.
        let key = usize::from(ns == ctl_ns);
        assert_eq!(
            count_in(fake, ns, Verb::Create, "secrets"),
            1 + key,
            "{ns}: one Secret create"
        );
        assert_eq!(
            writes_in(fake, ns, "sealedsecrets", Some("status")),
            1,
            "{ns}: one status write"
        );
        let lists = count_in(fake, ns, Verb::List, "sealedsecrets");
        assert_eq!(lists, 1, "{ns}: SealedSecrets listed once");
    }
    ctl.stop().await;
}

// =============================================================================================
// leader election
// =============================================================================================

async fn lease_holder(env: &Env) -> Option<String> {
    env.get::<Lease>(&env.controller_ns, "sealed-secrets-controller")
        .await?
        .spec?
        .holder_identity
}

scenario!(leader_hand_over);
/// Only the leader reconciles and makes keys; stopping it releases the Lease and the other
/// replica takes over.
async fn leader_hand_over(env: &Env) {
    let ns = env.ns.as_str();
    let a = Controller::start(env, "ctl-a", &[]).await;
    let cert = a.cert().await;
    assert_eq!(lease_holder(env).await.as_deref(), Some("ctl-a"));
    let b = Controller::start(env, "ctl-b", &[]).await;
    // Every replica serves the same certificate (from the shared key Secrets).
    assert_eq!(
        b.cert().await.public_key().fingerprint(),
        cert.public_key().fingerprint()
    );

    create(env, &TestSecret::new(env).seal(&cert)).await;
    secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    let e = event(env, ns, NAME, "Unsealed").await;
    assert_eq!(e.instance, "ctl-a");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(key_secrets(env).await.len(), 1, "the follower made no key");
    assert!(
        events(env, ns, "SealedSecret", NAME)
            .await
            .iter()
            .all(|e| e.instance == "ctl-a"),
        "the follower reconciled nothing"
    );
    assert_eq!(lease_holder(env).await.as_deref(), Some("ctl-a"));

    a.stop().await;
    eventually("ctl-b holds the lease", async || {
        (lease_holder(env).await.as_deref() == Some("ctl-b")).then_some(())
    })
    .await;
    create(env, &TestSecret::new(env).named(ns, "after").seal(&cert)).await;
    secret_with_data(env, ns, "after", &[("foo", "bar")]).await;
    let e = event(env, ns, "after", "Unsealed").await;
    assert_eq!(e.instance, "ctl-b");
    assert_eq!(key_secrets(env).await.len(), 1);
    b.stop().await;
    assert_ne!(
        lease_holder(env).await.as_deref(),
        Some("ctl-b"),
        "the lease is released on shutdown"
    );
}

// =============================================================================================
// failures (fake only: injected faults, dropped watches, compaction)
// =============================================================================================

/// Failed Secret creates (500), conflicts on update, failed status writes and closed or
/// expired watches: everything converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_from_api_failures() {
    let env = Env::start(Kind::Fake, "recovers_from_api_failures").await;
    let (env, fake, ns) = (&env, env.expect_fake(), env.ns.as_str());
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;

    // Two failed creates, then success.
    fake.fail(
        Fault::new(500, "InternalError")
            .verb(Verb::Create)
            .resource("secrets")
            .namespace(ns)
            .times(2),
    );
    create(env, &TestSecret::new(env).seal(&cert)).await;
    secret_with_data(env, ns, NAME, &[("foo", "bar")]).await;
    synced(env, ns, NAME, "True", 1).await;
    assert_eq!(count_in(fake, ns, Verb::Create, "secrets"), 3);

    // Conflicts on the update, then success.
    fake.inject_conflicts(2, Verb::Update, "secrets", Some(NAME));
    update_spec(
        env,
        &TestSecret::new(env).data(&[("foo", "baz")]).seal(&cert),
    )
    .await;
    secret_with_data(env, ns, NAME, &[("foo", "baz")]).await;
    synced(env, ns, NAME, "True", 2).await;

    // A failed status write is retried.
    fake.fail(
        Fault::new(500, "InternalError")
            .verb(Verb::Patch)
            .resource("sealedsecrets/status")
            .times(1),
    );
    update_spec(
        env,
        &TestSecret::new(env).data(&[("foo", "qux")]).seal(&cert),
    )
    .await;
    secret_with_data(env, ns, NAME, &[("foo", "qux")]).await;
    synced(env, ns, NAME, "True", 3).await;

    // Closed watches, then an expired resourceVersion: the watchers relist.
    fake.close_watches();
    create(
        env,
        &TestSecret::new(env).named(ns, "after-close").seal(&cert),
    )
    .await;
    secret_with_data(env, ns, "after-close", &[("foo", "bar")]).await;
    fake.compact();
    fake.close_watches();
    create(
        env,
        &TestSecret::new(env).named(ns, "after-compact").seal(&cert),
    )
    .await;
    secret_with_data(env, ns, "after-compact", &[("foo", "bar")]).await;
    // An owned Secret deleted while watches were down is still re-created.
    fake.close_watches();
    delete_secret(env, ns, "after-close").await;
    secret_with_data(env, ns, "after-close", &[("foo", "bar")]).await;
    ctl.stop().await;
}

/// A SealedSecret deleted while its watch was down gets no Delete event; the relist shows it
/// gone, and its `condition_info` series and per-object state go with it (others stay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_secret_deleted_during_a_relist_is_forgotten() {
    let env = Env::start(Kind::Fake, "deleted_during_a_relist").await;
    let (env, fake, ns) = (&env, env.expect_fake(), env.ns.as_str());
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    for name in ["gone", "kept"] {
        create(env, &TestSecret::new(env).named(ns, name).seal(&cert)).await;
        synced(env, ns, name, "True", 1).await;
    }
    let series = |text: &str, name: &str| {
        text.lines().any(|l| {
            l.starts_with("sealed_secrets_controller_condition_info{")
                && l.contains(&format!("name=\"{name}\""))
        })
    };
    eventually("both series", async || {
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
    delete_sealed(env, ns, "gone").await;
    fake.compact();
    eventually_within(
        RELIST_TIMEOUT,
        "the series of the deleted object removed",
        async || {
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
// one write per object (fake only: request counts)
// =============================================================================================

/// 50 SealedSecrets: one Secret create, one status write and one event each; a restart and a
/// resync with nothing changed write nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_write_per_object_and_quiet_restart() {
    const N: usize = 50;
    let env = Env::start(Kind::Fake, "one_write_per_object").await;
    let (env, fake, ns) = (&env, env.expect_fake(), env.ns.as_str());
    let ctl = Controller::start(env, "ctl-a", &["--resync-period=1s"]).await;
    let cert = ctl.cert().await;
    for i in 0..N {
        create(
            env,
            &TestSecret::new(env)
                .named(ns, &format!("s{i:02}"))
                .seal(&cert),
        )
        .await;
    }
    eventually("all Secrets and statuses", async || {
        (0..N)
            .all(|i| {
                let name = format!("s{i:02}");
                fake.get_as::<Secret>(ns, &name).is_some()
                    && fake
                        .get_as::<SealedSecret>(ns, &name)
                        .as_ref()
                        .and_then(synced_condition)
                        .is_some_and(|c| c.status == "True")
            })
            .then_some(())
    })
    .await;
    // Let echoes of our own writes and a resync or two pass.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(count_in(fake, ns, Verb::Create, "secrets"), N);
    assert_eq!(
        writes_in(fake, ns, "secrets", None),
        N,
        "one Secret write each"
    );
    assert_eq!(
        writes_in(fake, ns, "sealedsecrets", Some("status")),
        N,
        "one status write each"
    );
    assert_eq!(writes_in(fake, ns, "events", None), N, "one event each");
    assert_eq!(
        count_in(fake, ns, Verb::Get, "secrets"),
        0,
        "new Secrets need no GET: the watch cache says they do not exist"
    );
    let text = ctl.metrics_text().await;
    let reconciles = metric(&text, "sealed_secrets_controller_unseal_requests_total").unwrap();
    assert!(reconciles >= N as f64, "{text}");
    ctl.stop().await;

    // A restart with nothing changed: every object looked at, nothing written.
    fake.reset_requests();
    let again = Controller::start(env, "ctl-b", &[]).await;
    eventually("the new replica reconciled everything", async || {
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
    assert_eq!(writes_in(fake, ns, "secrets", None), 0);
    assert_eq!(writes_in(fake, ns, "sealedsecrets", Some("status")), 0);
    assert_eq!(writes_in(fake, ns, "events", None), 0, "no new events");
    assert_eq!(
        count_in(fake, ns, Verb::Get, "secrets"),
        0,
        "unchanged Secrets are recognised from the cache's digests, without a GET"
    );
    assert_eq!(key_secrets(env).await.len(), 1);

    // A spec change: the Secret is read live once, then written once.
    fake.reset_requests();
    update_spec(
        env,
        &TestSecret::new(env)
            .named(ns, "s00")
            .data(&[("foo", "changed")])
            .seal(&cert),
    )
    .await;
    secret_with_data(env, ns, "s00", &[("foo", "changed")]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count_in(fake, ns, Verb::Get, "secrets"), 1);
    assert_eq!(writes_in(fake, ns, "secrets", None), 1);
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
            namespace: "kube-system".into(),
            identity: "x".into(),
        },
        rx,
        Arc::new(Notify::new()),
    );
    assert_send(&future);
}

// ----- template budgets -----

/// A SealedSecret `namespace/name` (foo=bar) whose `template.data` is `items`.
fn templated(
    env: &Env,
    cert: &seal::Certificate,
    namespace: &str,
    name: &str,
    items: BTreeMap<String, String>,
) -> SealedSecret {
    let mut sealed = TestSecret::new(env).named(namespace, name).seal(cert);
    sealed.spec.template.data = Some(items);
    sealed
}

fn good_items() -> BTreeMap<String, String> {
    BTreeMap::from([("shout".to_owned(), "{{ .foo | upper }}!".to_owned())])
}

/// Hostile templates from the security issue: 250 items of a mebibyte each (memory), a loop
/// that never ends (CPU), and a list nested in itself 60 times compared with itself (which Go
/// answers at once, as we now do).
fn hostile_items(i: usize) -> (BTreeMap<String, String>, Option<&'static [&'static str]>) {
    match i % 3 {
        0 => (
            (0..250)
                .map(|n| (format!("big{n}"), r#"{{ repeat 1048576 "a" }}"#.to_owned()))
                .collect(),
            // Unoptimised builds may reach the deadline first (wiping a mebibyte is slow).
            Some(&[
                "rendered output per object limit exceeded",
                "template time per object limit exceeded",
            ]),
        ),
        1 => (
            BTreeMap::from([(
                "spin".to_owned(),
                "{{ range 1000000000 }}{{ range 1000000000 }}{{ end }}{{ end }}".to_owned(),
            )]),
            Some(&[
                "template time per object limit exceeded",
                "template work per object limit exceeded",
            ]),
        ),
        _ => (
            BTreeMap::from([(
                "nested".to_owned(),
                "{{ $a := list 0 }}{{ range until 60 }}{{ $a = list $a $a }}{{ end }}{{ deepEqual $a $a }}"
                    .to_owned(),
            )]),
            None,
        ),
    }
}

/// Creates `count` good objects `<prefix>-<i>` in `namespace` and returns how long until all are
/// synced.
async fn sync_good_objects(
    env: &Env,
    cert: &seal::Certificate,
    namespace: &str,
    prefix: &str,
    count: usize,
) -> Duration {
    let started = std::time::Instant::now();
    for i in 0..count {
        create(
            env,
            &templated(env, cert, namespace, &format!("{prefix}-{i}"), good_items()),
        )
        .await;
    }
    eventually_within(
        Duration::from_secs(600),
        format!("{count} good objects in {namespace} synced"),
        async || {
            let secrets: Vec<Secret> = env.list(namespace).await;
            let shouting = secrets
                .iter()
                .filter(|s| {
                    s.metadata
                        .name
                        .as_deref()
                        .is_some_and(|n| n.starts_with(&format!("{prefix}-")))
                })
                .filter(|s| data_of(s).get("shout").map(String::as_str) == Some("BAR!"))
                .count();
            (shouting == count).then_some(())
        },
    )
    .await;
    started.elapsed()
}

/// Hostile HTTP clients of the security issue against the controller's API port: more
/// connections than the server takes, each sending half a request head and trickling the rest
/// (items 5), and a flood of 1 MiB `/v1/verify` bodies, each under a new `X-Forwarded-For`
/// (items 3 and 6).
struct HostileClients {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    report: Arc<AttackReport>,
}

#[derive(Default)]
struct AttackReport {
    slow_cut_off: AtomicUsize,
    flood_sent: AtomicUsize,
    flood_refused: AtomicUsize,
}

/// What the server did to the attackers.
#[derive(Debug)]
#[allow(dead_code, reason = "read through Debug in the printed report")]
struct AttackOutcome {
    slow_cut_off: usize,
    flood_sent: usize,
    flood_refused: usize,
}

impl HostileClients {
    const SLOW_CONNECTIONS: usize = 600;
    const FLOODERS: usize = 4;

    fn start(api: SocketAddr) -> Self {
        let (stop, stopped) = watch::channel(false);
        let report = Arc::new(AttackReport::default());
        let mut tasks = Vec::new();
        for _ in 0..Self::SLOW_CONNECTIONS {
            let (mut stopped, report) = (stopped.clone(), Arc::clone(&report));
            tasks.push(tokio::spawn(async move {
                while !*stopped.borrow() {
                    tokio::select! {
                        () = slow_request_head(api, &report) => {}
                        _ = stopped.changed() => return,
                    }
                }
            }));
        }
        for flooder in 0..Self::FLOODERS {
            let (mut stopped, report) = (stopped.clone(), Arc::clone(&report));
            tasks.push(tokio::spawn(async move {
                let mut n = 0u32;
                while !*stopped.borrow() {
                    n += 1;
                    let forwarded = format!("10.{flooder}.{}.{}", (n >> 8) & 0xff, n & 0xff);
                    tokio::select! {
                        () = verify_flood_request(api, &forwarded, &report) => {}
                        _ = stopped.changed() => return,
                    }
                }
            }));
        }
        Self {
            stop,
            tasks,
            report,
        }
    }

    fn outcome(&self) -> AttackOutcome {
        self.report.outcome()
    }

    async fn stop(self) -> AttackOutcome {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.report.outcome()
    }
}

impl AttackReport {
    fn outcome(&self) -> AttackOutcome {
        AttackOutcome {
            slow_cut_off: self.slow_cut_off.load(Ordering::Relaxed),
            flood_sent: self.flood_sent.load(Ordering::Relaxed),
            flood_refused: self.flood_refused.load(Ordering::Relaxed),
        }
    }
}

/// Sends half a request head and then one header line a second until the server hangs up.
async fn slow_request_head(api: SocketAddr, report: &AttackReport) {
    let Ok(mut stream) = tokio::net::TcpStream::connect(api).await else {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return;
    };
    if stream
        .write_all(b"GET /v1/cert.pem HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .is_err()
    {
        return;
    }
    let mut byte = [0u8; 1];
    loop {
        tokio::select! {
            read = stream.read(&mut byte) => {
                if matches!(read, Ok(0) | Err(_)) {
                    report.slow_cut_off.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                    report.slow_cut_off.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
    }
}

/// One `/v1/verify` of a mebibyte of garbage under a forged client address.
async fn verify_flood_request(api: SocketAddr, forwarded: &str, report: &AttackReport) {
    let Ok(mut stream) = tokio::net::TcpStream::connect(api).await else {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return;
    };
    let body = vec![b'A'; 1 << 20];
    let head = format!(
        "POST /v1/verify HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: {forwarded}\r\n\
         Content-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    report.flood_sent.fetch_add(1, Ordering::Relaxed);
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    // A refusal may come before the whole body is read.
    let _ = stream.write_all(&body).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    if answer.starts_with(b"HTTP/1.1 429") {
        report.flood_refused.fetch_add(1, Ordering::Relaxed);
    }
}

scenario!(template_budgets_hostile_objects_get_a_status_and_good_ones_sync);
/// Security issue items 1, 2, 3, 5 and 6: 16 hostile objects (output, CPU, self-nested lists)
/// next to 100 good ones, then 100 more good ones while hostile HTTP clients hold connections
/// and flood `/v1/verify`. The good ones all sync; each hostile one gets a status naming the
/// limit it hit; the server cuts the slow connections off and rate-limits the flood by peer.
/// Prints the time the good ones took alone, beside the hostile objects and under the attack.
async fn template_budgets_hostile_objects_get_a_status_and_good_ones_sync(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let (quiet, noisy) = (env.ns.as_str(), env.other.as_str());

    let alone = sync_good_objects(env, &cert, quiet, "good", 100).await;

    let mut expected = Vec::new();
    for i in 0..16 {
        let name = format!("hostile-{i}");
        let (items, limits) = hostile_items(i);
        create(env, &templated(env, &cert, noisy, &name, items)).await;
        expected.push((name, limits));
    }
    let beside_hostile = sync_good_objects(env, &cert, noisy, "good", 100).await;
    let attack = HostileClients::start(ctl.api);
    let beside_clients = sync_good_objects(env, &cert, quiet, "besieged", 100).await;
    // The header deadline may be longer than the sync took.
    eventually_within(
        Duration::from_secs(120),
        "the server cuts off slow connections and rate-limits the flood",
        async || {
            let so_far = attack.outcome();
            (so_far.slow_cut_off > 0 && so_far.flood_refused > 0).then_some(())
        },
    )
    .await;
    let attack = attack.stop().await;
    // Whoever behaves gets an answer again once the attack ends.
    ctl.cert().await;

    for (name, limits) in &expected {
        match limits {
            Some(limits) => {
                let condition = synced(env, noisy, name, "False", 1).await;
                let message = condition.message.unwrap_or_default();
                assert!(
                    limits.iter().any(|l| message.contains(l)),
                    "{name}: {message}"
                );
                assert!(
                    message.contains("template.data item ("),
                    "{name}: {message}"
                );
                let e = event(env, noisy, name, "ErrUnsealFailed").await;
                assert!(
                    limits.iter().any(|l| e.note.contains(l)),
                    "{name}: {}",
                    e.note
                );
            }
            None => {
                synced(env, noisy, name, "True", 1).await;
                let s = env.secret(noisy, name).await.expect("Secret written");
                assert_eq!(data_of(&s).get("nested").map(String::as_str), Some("true"));
            }
        }
    }
    println!(
        "100 good objects: {:.2}s alone, {:.2}s beside 16 hostile ones (ratio {:.2}), \
         {:.2}s under hostile HTTP clients (ratio {:.2}; {attack:?})",
        alone.as_secs_f64(),
        beside_hostile.as_secs_f64(),
        beside_hostile.as_secs_f64() / alone.as_secs_f64(),
        beside_clients.as_secs_f64(),
        beside_clients.as_secs_f64() / alone.as_secs_f64(),
    );
    ctl.stop().await;
}

scenario!(template_failure_status_names_item_and_function_only);
/// Security issue item 9: a failing template names the item and the function, never a
/// position, a type or anything computed from the values.
async fn template_failure_status_names_item_and_function_only(env: &Env) {
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    let items = BTreeMap::from([(
        "port".to_owned(),
        "line one\n  {{ index .foo 7 }}".to_owned(),
    )]);
    create(env, &templated(env, &cert, &env.ns, NAME, items)).await;
    let condition = synced(env, &env.ns, NAME, "False", 1).await;
    let message = condition.message.unwrap_or_default();
    assert_eq!(
        message,
        "cannot render template.data item (port): error calling index"
    );
    let e = event(env, &env.ns, NAME, "ErrUnsealFailed").await;
    assert_eq!(
        e.note,
        "Failed to unseal: cannot render template.data item (port): error calling index"
    );
    ctl.stop().await;
}

scenario!(a_changed_type_is_reported_in_the_api_servers_words_and_immutable_is_set_on_create_only);
/// A new `template.type` was reported as "the target Secret is immutable", which it was not
/// (the API server refuses a change of `type`); and `template.immutable` added later made the
/// existing Secret immutable for good, where upstream sets it on create only.
async fn a_changed_type_is_reported_in_the_api_servers_words_and_immutable_is_set_on_create_only(
    env: &Env,
) {
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    create(env, &TestSecret::new(env).seal(&cert)).await;
    synced(env, &env.ns, NAME, "True", 1).await;

    update_spec(
        env,
        &TestSecret::new(env)
            .data(&[("foo", "baz")])
            .immutable()
            .seal(&cert),
    )
    .await;
    let s = secret_with_data(env, &env.ns, NAME, &[("foo", "baz")]).await;
    assert_ne!(s.immutable, Some(true));
    synced(env, &env.ns, NAME, "True", 2).await;

    update_spec(
        env,
        &TestSecret::new(env)
            .data(&[("foo", "baz")])
            .type_("kubernetes.io/basic-auth")
            .seal(&cert),
    )
    .await;
    let c = synced(env, &env.ns, NAME, "False", 3).await;
    let message = c.message.unwrap_or_default();
    assert!(message.contains("field is immutable"), "{message}");
    assert!(
        !message.contains("the target Secret is immutable"),
        "{message}"
    );
    ctl.stop().await;
}

scenario!(labels_and_annotations_others_add_to_an_owned_secret_stay_and_hand_edits_are_put_back);
/// Every edit to an owned Secret was put back wholesale within a moment, a tool's own label or
/// annotation included, so the tool and the controller rewrote the Secret in turn. Others'
/// labels and annotations now stay until the spec changes; edited values are still put back.
async fn labels_and_annotations_others_add_to_an_owned_secret_stay_and_hand_edits_are_put_back(
    env: &Env,
) {
    let ctl = Controller::start(env, "ctl-a", &[]).await;
    let cert = ctl.cert().await;
    create(env, &TestSecret::new(env).seal(&cert)).await;
    secret_with_data(env, &env.ns, NAME, &[("foo", "bar")]).await;
    synced(env, &env.ns, NAME, "True", 1).await;
    let unsealed = event_count(env, &env.ns, NAME, "Unsealed").await;

    let stamp = json!({"metadata": {
        "labels": {"app.kubernetes.io/instance": "myapp"},
        "annotations": {"tool.example.com/stamp": "1"}}});
    env.secret_api(&env.ns)
        .patch(NAME, &PatchParams::default(), &Patch::Merge(stamp))
        .await
        .expect("label the Secret");
    stays(
        "others' label and annotation stay",
        Duration::from_secs(2),
        async || {
            let s = env.secret_api(&env.ns).get(NAME).await.unwrap();
            labels_of(&s)
                .get("app.kubernetes.io/instance")
                .map(String::as_str)
                == Some("myapp")
                && annotations_of(&s).contains_key("tool.example.com/stamp")
        },
    )
    .await;
    assert_eq!(event_count(env, &env.ns, NAME, "Unsealed").await, unsealed);

    let hack = json!({"data": {"foo": "aGFja2Vk"}, "metadata": {"labels": {"mylabel": "changed"}}});
    env.secret_api(&env.ns)
        .patch(NAME, &PatchParams::default(), &Patch::Merge(hack))
        .await
        .expect("edit the Secret");
    secret_with_data(env, &env.ns, NAME, &[("foo", "bar")]).await;
    let s = eventually("the template label back", async || {
        let s = env.secret_api(&env.ns).get(NAME).await.ok()?;
        (labels_of(&s).get("mylabel").map(String::as_str) == Some("myvalue")).then_some(s)
    })
    .await;
    assert_eq!(
        labels_of(&s)
            .get("app.kubernetes.io/instance")
            .map(String::as_str),
        Some("myapp")
    );

    // A new spec: the template's labels and annotations replace them, as upstream.
    update_spec(
        env,
        &TestSecret::new(env).data(&[("foo", "baz")]).seal(&cert),
    )
    .await;
    let s = secret_with_data(env, &env.ns, NAME, &[("foo", "baz")]).await;
    assert_eq!(labels_of(&s), map(&[("mylabel", "myvalue")]));
    ctl.stop().await;
}
