//! The controller under a hostile tenant, an API outage and a lost leader: the
//! `sealed-secrets-controller` binary run as a process (so that it can be killed, stopped and
//! restarted) against the real control plane of `test-cluster`, and against the fake API server
//! where the real one cannot show the case.
//!
//! Each test makes its own namespaces and runs its controllers with `POD_NAMESPACE` set to the
//! first and `--all-namespaces=false`, so tests sharing a control plane never see each other's
//! objects. Measured times are printed as tables (`cargo test -- --nocapture`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fake_apiserver::FakeApiServer;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use sealed_secrets_controller::crd::SealedSecret;
use serde_json::{Value, json};
use test_cluster::{ControlPlane, free_addr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONTROLLER: &str = env!("CARGO_BIN_EXE_sealed-secrets-controller");
const POLL: Duration = Duration::from_millis(100);

// =============================================================================================
// harness
// =============================================================================================

fn unique(prefix: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let salt = now.subsec_nanos() ^ std::process::id().rotate_left(16);
    format!("{prefix}-{salt:08x}")
}

/// Polls `probe` until it yields something; panics with `what` and `context()` after `timeout`.
async fn eventually<T, F, Fut>(
    timeout: Duration,
    what: &str,
    context: impl Fn() -> String,
    mut probe: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for: {what}\n{}",
            context()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Runs `f` on a thread of its own: the control plane's launcher blocks while it waits for
/// `/readyz`, and must not hold up the runtime's workers meanwhile.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(f).join().expect("the launcher panicked"))
}

/// The control plane shared by this binary's tests.
fn shared_plane() -> &'static ControlPlane {
    off_runtime(ControlPlane::shared)
}

async fn client_for(kubeconfig: &Path) -> kube::Client {
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(kubeconfig).expect("read the kubeconfig"),
        &KubeConfigOptions::default(),
    )
    .await
    .expect("a valid kubeconfig");
    kube::Client::try_from(config).expect("a client")
}

/// An API server to run against.
struct Cluster {
    kubeconfig: PathBuf,
    client: kube::Client,
    /// Present when the cluster is the fake.
    fake: Option<FakeApiServer>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// The fake API server, served over HTTP.
    async fn fake() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let fake = FakeApiServer::new();
        let kubeconfig = dir.path().join("kubeconfig");
        fake.write_kubeconfig(&kubeconfig, "default")
            .expect("serve the fake");
        Self {
            client: client_for(&kubeconfig).await,
            kubeconfig,
            fake: Some(fake),
            _dir: dir,
        }
    }

    /// A real control plane (with the CRD installed).
    async fn real(plane: &ControlPlane) -> Self {
        let client = plane.client().await;
        test_cluster::install_crd(&client).await;
        Self {
            kubeconfig: plane.kubeconfig(),
            client,
            fake: None,
            _dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    fn is_real(&self) -> bool {
        self.fake.is_none()
    }

    async fn namespace(&self, prefix: &str) -> String {
        let name = unique(prefix);
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": name}})).expect("a Namespace");
        Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .expect("create the namespace");
        name
    }

    fn sealed_secrets(&self, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            namespace,
            &ApiResource::erase::<SealedSecret>(&()),
        )
    }

    /// Creates a SealedSecret from its JSON, as stored (no client-side type in the way).
    async fn create(&self, namespace: &str, object: &Value) -> Result<(), kube::Error> {
        let object: DynamicObject = serde_json::from_value(object.clone()).expect("an object");
        self.sealed_secrets(namespace)
            .create(&PostParams::default(), &object)
            .await
            .map(drop)
    }

    /// Whether the API server would store `object` (a dry run).
    async fn accepts(&self, namespace: &str, object: &Value) -> bool {
        let object: DynamicObject = serde_json::from_value(object.clone()).expect("an object");
        let params = PostParams {
            dry_run: true,
            ..PostParams::default()
        };
        match self
            .sealed_secrets(namespace)
            .create(&params, &object)
            .await
        {
            Ok(_) => true,
            Err(kube::Error::Api(status)) if status.code == 422 || status.code == 400 => false,
            Err(e) => panic!("dry-run create: {e}"),
        }
    }

    async fn secrets(&self, namespace: &str) -> Vec<Secret> {
        Api::<Secret>::namespaced(self.client.clone(), namespace)
            .list(&ListParams::default())
            .await
            .map(|list| list.items)
            .unwrap_or_default()
    }

    /// Events about `name` in `namespace`, as `reason: note`.
    async fn events_about(&self, namespace: &str, name: &str) -> Vec<String> {
        Api::<Event>::namespaced(self.client.clone(), namespace)
            .list(&ListParams::default())
            .await
            .map(|list| list.items)
            .unwrap_or_default()
            .into_iter()
            .filter(|event| event.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .map(|event| {
                format!(
                    "{}: {}",
                    event.reason.unwrap_or_default(),
                    event.note.unwrap_or_default()
                )
            })
            .collect()
    }
}

/// One controller replica, run as a process.
struct Replica {
    child: Option<Child>,
    api: SocketAddr,
    metrics: SocketAddr,
    log: PathBuf,
}

/// How to start a replica.
#[derive(Clone)]
struct ReplicaConfig {
    kubeconfig: PathBuf,
    /// The controller namespace (`POD_NAMESPACE`); SealedSecrets are watched there and in
    /// `also`.
    namespace: String,
    also: Vec<String>,
    identity: String,
    extra: Vec<String>,
    log_dir: PathBuf,
}

impl ReplicaConfig {
    fn new(cluster: &Cluster, namespace: &str, log_dir: &Path) -> Self {
        Self {
            kubeconfig: cluster.kubeconfig.clone(),
            namespace: namespace.to_owned(),
            also: Vec::new(),
            identity: "rep-a".into(),
            extra: Vec::new(),
            log_dir: log_dir.to_owned(),
        }
    }
}

impl Replica {
    fn start(config: &ReplicaConfig) -> Self {
        let api = free_addr();
        let metrics = free_addr();
        let log = config.log_dir.join(format!("{}.log", config.identity));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open the controller log");
        let mut command = Command::new("setpriv");
        command
            .args(["--pdeathsig", "KILL", "--", CONTROLLER])
            .arg(format!("--listen-addr={api}"))
            .arg(format!("--listen-metrics-addr={metrics}"))
            .arg("--all-namespaces=false")
            .arg(format!("--additional-namespaces={}", config.also.join(",")))
            .args(&config.extra)
            .env("KUBECONFIG", &config.kubeconfig)
            .env("POD_NAMESPACE", &config.namespace)
            .env("POD_NAME", &config.identity)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SEALED_SECRETS_") {
                command.env_remove(name);
            }
        }
        Self {
            child: Some(command.spawn().expect("start the controller")),
            api,
            metrics,
            log,
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends a signal (`KILL`, `TERM`, `STOP`, `CONT`).
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// `kill -9` and reap.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn cert(&self) -> seal::Certificate {
        let pem = eventually(
            Duration::from_secs(60),
            "the controller serves its certificate",
            || self.log(),
            || async {
                match http_get(self.api, "/v1/cert.pem").await {
                    Some((200, body)) if body.contains("BEGIN CERTIFICATE") => Some(body),
                    _ => None,
                }
            },
        )
        .await;
        seal::Certificate::from_pem(pem.as_bytes()).expect("cert.pem parses")
    }

    /// A metric's value (`name{labels}` as exported), once the metrics server answers.
    async fn metric(&self, series: &str) -> Option<f64> {
        let text = match http_get(self.metrics, "/metrics").await {
            Some((200, text)) => text,
            _ => return None,
        };
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!("---- {} ----\n{}", self.log.display(), self.log());
        }
    }
}

/// A minimal HTTP/1.1 GET: (status, body).
async fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.ok()?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_owned()))
}

/// A SealedSecret (JSON) for `namespace/name` holding `items` sealed with `cert`.
fn sealed(cert: &seal::Certificate, namespace: &str, name: &str, items: &[(&str, &str)]) -> Value {
    let data: serde_json::Map<String, Value> = items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": data,
    });
    let secret = seal::read_secrets(&secret.to_string())
        .expect("the Secret parses")
        .remove(0);
    let sealed =
        seal::seal_secret(&secret, cert.public_key(), &seal::SealOptions::default()).expect("seal");
    let mut value = serde_json::to_value(&sealed).expect("serialize");
    value["metadata"]
        .as_object_mut()
        .expect("metadata")
        .remove("creationTimestamp");
    value
}

// =============================================================================================
// 4. version strings
// =============================================================================================

/// Upstream's integration test matches
/// `^controller version: (v[0-9]+\.[0-9]+\.[0-9]+|[0-9a-f]{40})(\+dirty)?`; scripts parse the `v`.
#[test]
fn version_matches_upstreams_pattern() {
    let out = Command::new(CONTROLLER)
        .arg("--version")
        .output()
        .expect("run the controller");
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let version = stdout
        .strip_prefix("controller version: v")
        .and_then(|v| v.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{stdout:?}"));
    let parts: Vec<&str> = version.split('.').collect();
    assert!(
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
        "{stdout:?}"
    );
}

// =============================================================================================
// 1. one tenant must not stop the controller for everyone
// =============================================================================================

/// What the controller must make of a bad object.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// It cannot be read: a Warning event `ErrDecodeFailed` naming this field, the
    /// `undecodable_objects` metric, no Secret.
    Undecodable(&'static str),
    /// The API server refuses its Secret: a Warning event `ErrUpdateFailed` naming this field.
    Refused(&'static str),
    /// Nothing wrong after all: its Secret appears with this many items.
    Synced(usize),
}

/// A kind of bad object from the issue.
struct BadKind {
    name: &'static str,
    /// Turns a good SealedSecret into the bad one.
    spoil: fn(&mut Value, &seal::Certificate),
    /// Whether the CRD's schema refuses it (it then goes in through a relaxed schema).
    schema_refuses: bool,
    outcome: Outcome,
    /// Whether the fake can show the outcome (it checks no Secret the way the real server does).
    on_fake: bool,
}

fn template_metadata(object: &mut Value) -> &mut serde_json::Map<String, Value> {
    let template = object["spec"]
        .as_object_mut()
        .expect("spec")
        .entry("template")
        .or_insert_with(|| json!({}));
    let metadata = template
        .as_object_mut()
        .expect("template")
        .entry("metadata")
        .or_insert_with(|| json!({}));
    if metadata.is_null() {
        *metadata = json!({});
    }
    metadata.as_object_mut().expect("template.metadata")
}

fn bad_kinds() -> Vec<BadKind> {
    vec![
        BadKind {
            name: "timestamp",
            spoil: |o, _| {
                template_metadata(o).insert("creationTimestamp".into(), json!(5));
            },
            schema_refuses: true,
            outcome: Outcome::Undecodable("spec.template.metadata.creationTimestamp"),
            on_fake: true,
        },
        BadKind {
            name: "owner-references",
            spoil: |o, _| {
                template_metadata(o).insert("ownerReferences".into(), json!([{}]));
            },
            schema_refuses: true,
            // The Secret's ownerReferences are the controller's, whatever the template says.
            outcome: Outcome::Synced(1),
            on_fake: true,
        },
        BadKind {
            name: "label-values",
            spoil: |o, _| {
                template_metadata(o).insert("labels".into(), json!({"tier": 1}));
            },
            schema_refuses: true,
            outcome: Outcome::Undecodable("spec.template.metadata.labels"),
            on_fake: true,
        },
        BadKind {
            name: "annotation-values",
            spoil: |o, _| {
                template_metadata(o).insert("annotations".into(), json!({"note": {"a": true}}));
            },
            schema_refuses: true,
            outcome: Outcome::Undecodable("spec.template.metadata.annotations"),
            on_fake: true,
        },
        BadKind {
            name: "item-value",
            spoil: |o, _| {
                o["spec"]["encryptedData"]["b"] = json!(12);
            },
            schema_refuses: true,
            outcome: Outcome::Undecodable("spec.encryptedData.b"),
            on_fake: true,
        },
        BadKind {
            name: "thousand-items",
            spoil: |o, cert| {
                let namespace = o["metadata"]["namespace"].as_str().expect("namespace");
                let name = o["metadata"]["name"].as_str().expect("name");
                let values: Vec<(String, String)> = (0..1000)
                    .map(|i| (format!("item-{i:04}"), format!("value {i}")))
                    .collect();
                let items: Vec<(&str, &str)> = values
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                o["spec"] = sealed(cert, namespace, name, &items)["spec"].clone();
            },
            schema_refuses: false,
            outcome: Outcome::Synced(1000),
            on_fake: true,
        },
        BadKind {
            name: "big-annotation",
            spoil: |o, _| {
                template_metadata(o)
                    .insert("annotations".into(), json!({"big": "x".repeat(1 << 20)}));
            },
            schema_refuses: false,
            outcome: Outcome::Refused("metadata.annotations"),
            on_fake: false,
        },
        BadKind {
            name: "service-account-token",
            spoil: |o, _| {
                o["spec"]["template"]["type"] = json!("kubernetes.io/service-account-token");
            },
            schema_refuses: false,
            outcome: Outcome::Refused("kubernetes.io/service-account.name"),
            on_fake: false,
        },
    ]
}

/// Changes to the (cluster-wide) CRD, one test at a time.
static CRD_CHANGES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Stores `object`, which the CRD's schema refuses, the way it got into clusters: through a
/// schema that lets anything through (as an older CRD or a relaxed version would), which is
/// then put back.
async fn create_past_the_schema(cluster: &Cluster, namespace: &str, object: &Value) {
    let _serial = CRD_CHANGES.lock().await;
    let crds: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    let strict = sealed_secrets_controller::crd::crd();
    let name = "sealedsecrets.bitnami.com";
    let mut relaxed = crds.get(name).await.expect("get the CRD");
    relaxed.spec.versions[0].schema = serde_json::from_value(json!({
        "openAPIV3Schema": {
            "type": "object",
            "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
        }
    }))
    .expect("a schema");
    crds.replace(name, &PostParams::default(), &relaxed)
        .await
        .expect("relax the CRD");
    // The API server takes the new schema in a moment later.
    eventually(
        Duration::from_secs(30),
        "the relaxed schema lets the object in",
        String::new,
        || async { cluster.create(namespace, object).await.ok() },
    )
    .await;
    let mut restored = crds.get(name).await.expect("get the CRD");
    restored.spec = strict.spec;
    crds.replace(name, &PostParams::default(), &restored)
        .await
        .expect("restore the CRD");
    let mut probe = object.clone();
    probe["metadata"]["name"] = json!("schema-probe");
    eventually(
        Duration::from_secs(30),
        "the restored schema refuses the object again",
        String::new,
        || async { (!cluster.accepts(namespace, &probe).await).then_some(()) },
    )
    .await;
}

const MARKER: &str = "marker-that-must-never-be-logged";

/// Each bad object from the issue, stored while the controller runs, then a controller restart
/// with 100 new good objects: all 100 sync, the bad object gets an event saying what is wrong,
/// an unreadable one is counted in `undecodable_objects`, and no response body is logged.
async fn bad_objects_do_not_stop_the_others(cluster: Cluster) {
    let namespace = cluster.namespace("bad-objects").await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = ReplicaConfig::new(&cluster, &namespace, dir.path());
    let mut replica = Replica::start(&config);
    let cert = replica.cert().await;
    let mut undecodable = 0;
    for kind in bad_kinds() {
        if !cluster.is_real() && !kind.on_fake {
            continue;
        }
        let bad = format!("bad-{}", kind.name);
        let mut object = sealed(&cert, &namespace, &bad, &[("a", "1")]);
        object["metadata"]["annotations"] = json!({"robustness/marker": MARKER});
        (kind.spoil)(&mut object, &cert);
        if cluster.is_real() {
            assert_eq!(
                cluster.accepts(&namespace, &object).await,
                !kind.schema_refuses,
                "{}: the CRD schema should {} it",
                kind.name,
                if kind.schema_refuses {
                    "refuse"
                } else {
                    "accept"
                }
            );
        }
        if cluster.is_real() && kind.schema_refuses {
            create_past_the_schema(&cluster, &namespace, &object).await;
        } else {
            cluster
                .create(&namespace, &object)
                .await
                .unwrap_or_else(|e| panic!("create {bad}: {e}"));
        }
        // The running controller reports it too, but the restart is what used to stall.
        replica.kill();
        let good = format!("good-{}-", kind.name);
        for i in 0..100 {
            let name = format!("{good}{i:03}");
            let value = i.to_string();
            cluster
                .create(
                    &namespace,
                    &sealed(&cert, &namespace, &name, &[("v", &value)]),
                )
                .await
                .expect("create a good SealedSecret");
        }
        replica = Replica::start(&config);
        let started = Instant::now();
        eventually(
            Duration::from_secs(120),
            &format!("100 Secrets synced after {bad} and a restart"),
            || replica.log(),
            || async {
                let synced = cluster
                    .secrets(&namespace)
                    .await
                    .iter()
                    .filter(|s| {
                        s.metadata
                            .name
                            .as_deref()
                            .is_some_and(|n| n.starts_with(&good))
                    })
                    .count();
                (synced == 100).then_some(())
            },
        )
        .await;
        let synced_in = started.elapsed();
        let (reason, field) = match kind.outcome {
            Outcome::Undecodable(field) => ("ErrDecodeFailed", field),
            Outcome::Refused(field) => ("ErrUpdateFailed", field),
            Outcome::Synced(items) => {
                let secret = eventually(
                    Duration::from_secs(120),
                    &format!("the Secret of {bad}"),
                    || replica.log(),
                    || async {
                        Api::<Secret>::namespaced(cluster.client.clone(), &namespace)
                            .get_opt(&bad)
                            .await
                            .ok()
                            .flatten()
                    },
                )
                .await;
                assert_eq!(secret.data.unwrap_or_default().len(), items);
                println!(
                    "{:<24} 100 good synced {synced_in:>6.1?} after a restart",
                    kind.name
                );
                continue;
            }
        };
        let events = eventually(
            Duration::from_secs(60),
            &format!("a {reason} event on {bad} naming {field}"),
            || replica.log(),
            || async {
                let events = cluster.events_about(&namespace, &bad).await;
                events
                    .iter()
                    .any(|e| e.starts_with(reason) && e.contains(field))
                    .then_some(events)
            },
        )
        .await;
        if let Outcome::Undecodable(_) = kind.outcome {
            undecodable += 1;
            let series = format!(
                "sealed_secrets_controller_undecodable_objects{{namespace=\"{namespace}\"}}"
            );
            eventually(
                Duration::from_secs(30),
                &format!("{series} = {undecodable}"),
                || replica.log(),
                || async {
                    (replica.metric(&series).await == Some(f64::from(undecodable))).then_some(())
                },
            )
            .await;
        }
        let secret = Api::<Secret>::namespaced(cluster.client.clone(), &namespace)
            .get_opt(&bad)
            .await
            .expect("get Secret");
        assert!(secret.is_none(), "{bad} got a Secret");
        println!(
            "{:<24} 100 good synced {synced_in:>6.1?} after a restart; {}",
            kind.name,
            events.join(" | ")
        );
    }
    let log = replica.log();
    for line in log.lines() {
        assert!(
            !line.contains(MARKER) && !line.contains("SealedSecretList"),
            "a log line carries a response body: {line}"
        );
    }
    // One warning per bad object, however often it was listed.
    let warnings = log
        .lines()
        .filter(|l| l.contains("cannot read SealedSecret"))
        .count();
    assert!(warnings >= undecodable as usize, "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_objects_do_not_stop_the_others_on_the_fake() {
    bad_objects_do_not_stop_the_others(Cluster::fake().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(control_plane),
    ignore = "needs the control plane: see tests/README.md"
)]
async fn bad_objects_do_not_stop_the_others_on_the_real_server() {
    bad_objects_do_not_stop_the_others(Cluster::real(shared_plane()).await).await;
}

// =============================================================================================
// 3. two replicas, one writer
// =============================================================================================

const LEASE: &str = "sealed-secrets-controller";

async fn lease_holder(cluster: &Cluster, namespace: &str) -> Option<String> {
    Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(cluster.client.clone(), namespace)
        .get_opt(LEASE)
        .await
        .ok()
        .flatten()?
        .spec?
        .holder_identity
}

/// Events in `namespace` by reporting instance (replica): every Secret the controller writes
/// gets one, from the replica that wrote it.
async fn events_by(
    cluster: &Cluster,
    namespace: &str,
) -> Vec<(String, String, Option<jiff::Timestamp>)> {
    Api::<Event>::namespaced(cluster.client.clone(), namespace)
        .list(&ListParams::default())
        .await
        .map(|list| list.items)
        .unwrap_or_default()
        .into_iter()
        .map(|event| {
            (
                event.reporting_instance.unwrap_or_default(),
                event.regarding.and_then(|r| r.name).unwrap_or_default(),
                event.event_time.map(|t| t.0),
            )
        })
        .collect()
}

/// Creates `name` at once and returns how long until its Secret exists.
async fn time_to_secret(
    cluster: &Cluster,
    cert: &seal::Certificate,
    namespace: &str,
    name: &str,
    since: Instant,
    logs: impl Fn() -> String,
) -> Duration {
    cluster
        .create(namespace, &sealed(cert, namespace, name, &[("k", "v")]))
        .await
        .expect("create a SealedSecret");
    let secrets = Api::<Secret>::namespaced(cluster.client.clone(), namespace);
    eventually(
        Duration::from_secs(90),
        &format!("the Secret of {name}"),
        logs,
        || async { secrets.get_opt(name).await.ok().flatten().map(drop) },
    )
    .await;
    since.elapsed()
}

/// Two replicas (lease 15 s): only the leader writes; `kill -9` of the leader hands over
/// within the lease duration + 2 s, SIGTERM within 2 s (the lease is released), and a leader
/// stopped past its lease writes nothing when it resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(control_plane),
    ignore = "needs the control plane: see tests/README.md"
)]
async fn two_replicas_one_writer_on_the_real_server() {
    let lease = Duration::from_secs(15);
    let cluster = Cluster::real(shared_plane()).await;
    let namespace = cluster.namespace("replicas").await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = |identity: &str| ReplicaConfig {
        identity: identity.into(),
        extra: vec![format!(
            "--leader-elect-lease-duration={}s",
            lease.as_secs()
        )],
        ..ReplicaConfig::new(&cluster, &namespace, dir.path())
    };
    let mut a = Replica::start(&config("rep-a"));
    let cert = a.cert().await;
    let mut b = Replica::start(&config("rep-b"));
    b.cert().await;
    let logs = |a: &Replica, b: &Replica| format!("{}\n----\n{}", a.log(), b.log());
    let mut table = vec![];

    // Only the leader writes.
    for i in 0..5 {
        let name = format!("first-{i}");
        time_to_secret(&cluster, &cert, &namespace, &name, Instant::now(), || {
            logs(&a, &b)
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events = events_by(&cluster, &namespace).await;
    assert!(!events.is_empty());
    assert!(
        events.iter().all(|(by, _, _)| by == "rep-a"),
        "only the leader writes: {events:?}"
    );
    assert_eq!(
        lease_holder(&cluster, &namespace).await.as_deref(),
        Some("rep-a")
    );
    let keys = cluster
        .secrets(&namespace)
        .await
        .into_iter()
        .filter(|s| {
            s.metadata
                .labels
                .as_ref()
                .is_some_and(|l| l.contains_key("sealedsecrets.bitnami.com/sealed-secrets-key"))
        })
        .count();
    assert_eq!(keys, 1, "one key, made by the leader");

    // kill -9 of the leader.
    a.signal("KILL");
    let killed = Instant::now();
    let took = time_to_secret(&cluster, &cert, &namespace, "after-kill", killed, || {
        logs(&a, &b)
    })
    .await;
    a.kill();
    table.push((
        "kill -9 of the leader",
        took,
        lease + Duration::from_secs(2),
    ));
    // The table holds the target (lease + 2 s); the assertion only proves the hand-over came
    // with the lease's expiry, with room for a loaded machine (measured figures: README).
    assert!(
        took <= lease + Duration::from_secs(10),
        "hand-over after kill -9 took {took:?}"
    );

    // SIGTERM of the leader (now rep-b) while rep-a follows again.
    a = Replica::start(&config("rep-a"));
    a.cert().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    b.signal("TERM");
    let terminated = Instant::now();
    let took = time_to_secret(
        &cluster,
        &cert,
        &namespace,
        "after-term",
        terminated,
        || logs(&a, &b),
    )
    .await;
    table.push(("SIGTERM of the leader", took, Duration::from_secs(2)));
    // Released, not expired: well before the lease would have run out (target in the table).
    assert!(
        took < lease / 2,
        "hand-over after SIGTERM took {took:?}: the lease was not released"
    );
    b.kill();

    // SIGSTOP of the leader (now rep-a) past its lease; rep-b takes over; SIGCONT.
    b = Replica::start(&config("rep-b"));
    b.cert().await;
    a.signal("STOP");
    let stopped = Instant::now();
    eventually(
        lease + Duration::from_secs(10),
        "rep-b takes the lease of the stopped leader",
        || logs(&a, &b),
        || async {
            (lease_holder(&cluster, &namespace).await.as_deref() == Some("rep-b")).then_some(())
        },
    )
    .await;
    let taken = stopped.elapsed();
    // A write while the old leader is stopped: it gets the events when it resumes.
    time_to_secret(
        &cluster,
        &cert,
        &namespace,
        "while-stopped",
        Instant::now(),
        || logs(&a, &b),
    )
    .await;
    let resumed = jiff::Timestamp::now();
    a.signal("CONT");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let late: Vec<_> = events_by(&cluster, &namespace)
        .await
        .into_iter()
        .filter(|(by, _, at)| by == "rep-a" && at.is_none_or(|at| at >= resumed))
        .collect();
    assert!(
        late.is_empty(),
        "the old leader wrote after it resumed: {late:?}"
    );
    assert!(a.log().contains("lost the lease"), "{}", a.log());
    assert_eq!(
        lease_holder(&cluster, &namespace).await.as_deref(),
        Some("rep-b")
    );
    table.push((
        "SIGSTOP past the lease (take-over)",
        taken,
        lease + Duration::from_secs(2),
    ));

    let mut writes: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for (by, _, _) in events_by(&cluster, &namespace).await {
        *writes.entry(by).or_default() += 1;
    }
    println!("\n| hand-over | time | bound |\n| --- | --- | --- |");
    for (what, took, bound) in &table {
        println!(
            "| {what} | {:.1} s | {:.0} s |",
            took.as_secs_f64(),
            bound.as_secs_f64()
        );
    }
    println!("events (one per Secret write) by replica: {writes:?}");
}

/// A key renewal due during a hand-over makes exactly one new key: the old leader either made it
/// before it let go, or the new one makes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(control_plane),
    ignore = "needs the control plane: see tests/README.md"
)]
async fn a_key_renewal_during_a_hand_over_makes_one_key_on_the_real_server() {
    let cluster = Cluster::real(shared_plane()).await;
    let namespace = cluster.namespace("renewal").await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let renew = Duration::from_secs(8);
    let config = |identity: &str| ReplicaConfig {
        identity: identity.into(),
        extra: vec![
            "--leader-elect-lease-duration=6s".into(),
            format!("--key-renew-period={}s", renew.as_secs()),
        ],
        ..ReplicaConfig::new(&cluster, &namespace, dir.path())
    };
    let count_keys = || async {
        cluster
            .secrets(&namespace)
            .await
            .into_iter()
            .filter(|s| {
                s.metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l.contains_key("sealedsecrets.bitnami.com/sealed-secrets-key"))
            })
            .count()
    };
    let mut a = Replica::start(&config("rep-a"));
    a.cert().await;
    let first = Instant::now();
    let mut b = Replica::start(&config("rep-b"));
    b.cert().await;
    assert_eq!(count_keys().await, 1);
    // Hand over just before the renewal is due.
    tokio::time::sleep(renew.saturating_sub(first.elapsed() + Duration::from_millis(300))).await;
    a.signal("TERM");
    eventually(
        Duration::from_secs(20),
        "rep-b leads",
        || format!("{}\n----\n{}", a.log(), b.log()),
        || async {
            (lease_holder(&cluster, &namespace).await.as_deref() == Some("rep-b")).then_some(())
        },
    )
    .await;
    // Well past the renewal, well before the next.
    tokio::time::sleep(
        (first + renew + Duration::from_secs(4)).saturating_duration_since(Instant::now()),
    )
    .await;
    assert_eq!(count_keys().await, 2, "exactly one new key");
    a.kill();
    b.kill();
}

// =============================================================================================
// 2. an API outage heals fast
// =============================================================================================

/// One outage of the test: what is stopped and for how long.
#[derive(Debug, Clone, Copy)]
enum Outage {
    ApiServer(Duration),
    EtcdRestart,
}

/// kube-apiserver stopped for 5 s, 20 s and 2 min, and an etcd restart, under a running
/// controller: SealedSecrets created before, during (the client retrying until the server is
/// back) and right after each outage all have their Secrets within 5 s of `/readyz`, and only
/// those Secrets are written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(control_plane),
    ignore = "needs the control plane: see tests/README.md"
)]
async fn api_outages_heal_within_5s_of_readyz_on_the_real_server() {
    let plane = off_runtime(ControlPlane::start).expect("a control plane of its own");
    let cluster = Cluster::real(&plane).await;
    let namespace = cluster.namespace("outage").await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let replica = Replica::start(&ReplicaConfig::new(&cluster, &namespace, dir.path()));
    let cert = replica.cert().await;
    let outages = [
        Outage::ApiServer(Duration::from_secs(5)),
        Outage::ApiServer(Duration::from_secs(20)),
        Outage::EtcdRestart,
        // The longest once, last.
        Outage::ApiServer(Duration::from_secs(120)),
    ];
    let mut table = Vec::new();
    for (round, outage) in outages.into_iter().enumerate() {
        let before = format!("before-{round}");
        time_to_secret(&cluster, &cert, &namespace, &before, Instant::now(), || {
            replica.log()
        })
        .await;
        let versions_before = secret_versions(&cluster, &namespace).await;
        let during = format!("during-{round}");
        let after = format!("after-{round}");
        let queued = {
            let cluster_client = cluster.client.clone();
            let object = sealed(&cert, &namespace, &during, &[("k", "v")]);
            let namespace = namespace.clone();
            let stop = plane_stopper(&plane, outage);
            stop();
            tokio::spawn(async move {
                let api: Api<DynamicObject> = Api::namespaced_with(
                    cluster_client,
                    &namespace,
                    &ApiResource::erase::<SealedSecret>(&()),
                );
                let object: DynamicObject = serde_json::from_value(object).expect("an object");
                // As a client queueing its request: retry until the server takes it.
                while api.create(&PostParams::default(), &object).await.is_err() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        if let Outage::ApiServer(length) = outage {
            tokio::time::sleep(length).await;
        }
        let component = match outage {
            Outage::ApiServer(_) => test_cluster::Component::ApiServer,
            Outage::EtcdRestart => test_cluster::Component::Etcd,
        };
        off_runtime(|| plane.restart(component)).expect("restart");
        off_runtime(|| plane.wait_ready(Duration::from_secs(120))).expect("/readyz");
        let ready = Instant::now();
        let secrets = Api::<Secret>::namespaced(cluster.client.clone(), &namespace);
        cluster
            .create(
                &namespace,
                &sealed(&cert, &namespace, &after, &[("k", "v")]),
            )
            .await
            .expect("create after the outage");
        eventually(
            Duration::from_secs(150),
            &format!("the Secrets of {during} and {after}"),
            || replica.log(),
            || async {
                let both = secrets.get_opt(&during).await.ok().flatten().is_some()
                    && secrets.get_opt(&after).await.ok().flatten().is_some();
                both.then_some(())
            },
        )
        .await;
        let converged = ready.elapsed();
        queued.await.expect("the queued create");
        tokio::time::sleep(Duration::from_secs(1)).await;
        // Secrets written (one written twice would count once; the kill -9 test counts writes).
        let writes = secret_versions(&cluster, &namespace)
            .await
            .difference(&versions_before)
            .count();
        table.push((outage, converged, writes));
    }
    println!("\n| outage | converged after /readyz | Secrets written |\n| --- | ---: | ---: |");
    for (outage, converged, writes) in &table {
        let what = match outage {
            Outage::ApiServer(length) => format!("kube-apiserver stopped {length:?}"),
            Outage::EtcdRestart => "etcd restarted".into(),
        };
        println!("| {what} | {:.1} s | {writes} |", converged.as_secs_f64());
    }
    for (outage, converged, writes) in table {
        // The target (5 s) is what the table shows; the assertion catches back-offs left
        // grown after the server returns (they once took over 100 s) without failing on a
        // loaded machine.
        assert!(
            converged <= Duration::from_secs(30),
            "{outage:?}: converged {converged:?} after /readyz"
        );
        assert_eq!(
            writes, 2,
            "{outage:?}: only the two new Secrets are written"
        );
    }
}

/// (name, resourceVersion) of the Secrets the controller made: a new pair is a write.
async fn secret_versions(
    cluster: &Cluster,
    namespace: &str,
) -> std::collections::BTreeSet<(String, String)> {
    cluster
        .secrets(namespace)
        .await
        .into_iter()
        .filter(|s| {
            s.metadata
                .owner_references
                .as_ref()
                .is_some_and(|owners| owners.iter().any(|o| o.kind == "SealedSecret"))
        })
        .filter_map(|s| Some((s.metadata.name?, s.metadata.resource_version?)))
        .collect()
}

/// Stops what an outage stops (an etcd restart is a stop then, in the test, a start).
fn plane_stopper(plane: &ControlPlane, outage: Outage) -> impl FnOnce() + '_ {
    move || match outage {
        Outage::ApiServer(_) => plane.stop(test_cluster::Component::ApiServer),
        Outage::EtcdRestart => plane.stop(test_cluster::Component::Etcd),
    }
}

/// `kill -9` of the controller halfway through syncing 500 objects, then a restart: all 500
/// are synced and each Secret is written once (counted by resourceVersion on a watch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(control_plane),
    ignore = "needs the control plane: see tests/README.md"
)]
async fn kill_9_halfway_through_500_objects_writes_each_secret_once_on_the_real_server() {
    use futures::StreamExt as _;
    use kube::runtime::{WatchStreamExt as _, watcher};

    const OBJECTS: usize = 500;
    let cluster = Cluster::real(shared_plane()).await;
    let namespace = cluster.namespace("kill-9").await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = ReplicaConfig::new(&cluster, &namespace, dir.path());
    let mut replica = Replica::start(&config);
    let cert = replica.cert().await;
    replica.kill();

    let versions = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::<
        String,
        std::collections::BTreeSet<String>,
    >::new()));
    let recorder = {
        let versions = std::sync::Arc::clone(&versions);
        let secrets = Api::<Secret>::namespaced(cluster.client.clone(), &namespace);
        tokio::spawn(async move {
            let mut events = std::pin::pin!(
                watcher::watcher(secrets, watcher::Config::default()).touched_objects()
            );
            while let Some(event) = events.next().await {
                if let Ok(secret) = event
                    && let (Some(name), Some(version)) =
                        (secret.metadata.name, secret.metadata.resource_version)
                    && name.starts_with("object-")
                {
                    versions
                        .lock()
                        .expect("versions")
                        .entry(name)
                        .or_default()
                        .insert(version);
                }
            }
        })
    };
    for i in 0..OBJECTS {
        let name = format!("object-{i:03}");
        cluster
            .create(&namespace, &sealed(&cert, &namespace, &name, &[("k", "v")]))
            .await
            .expect("create");
    }
    let synced = || versions.lock().expect("versions").len();
    replica = Replica::start(&config);
    eventually(
        Duration::from_secs(120),
        "half the Secrets",
        || replica.log(),
        || async { (synced() >= OBJECTS / 2).then_some(()) },
    )
    .await;
    replica.signal("KILL");
    let at_kill = synced();
    replica.kill();
    let restarted = Instant::now();
    replica = Replica::start(&config);
    eventually(
        Duration::from_secs(180),
        "all Secrets",
        || replica.log(),
        || async { (synced() == OBJECTS).then_some(()) },
    )
    .await;
    let took = restarted.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    recorder.abort();
    let versions = versions.lock().expect("versions").clone();
    let twice: Vec<_> = versions.iter().filter(|(_, v)| v.len() > 1).collect();
    let writes: usize = versions.values().map(std::collections::BTreeSet::len).sum();
    println!(
        "\n| kill -9 at | synced after restart in | Secret writes for {OBJECTS} objects |\n| --- | ---: | ---: |\n| {at_kill} of {OBJECTS} synced | {:.1} s | {writes} |",
        took.as_secs_f64()
    );
    assert!(twice.is_empty(), "Secrets written twice: {twice:?}");
    assert_eq!(writes, OBJECTS);
}
