//! Harness for the end-to-end suite: runs the built `kubeseal` and `sealed-secrets-controller`
//! binaries against a cluster.
//!
//! Two targets run the same test bodies:
//! - [`Target::Fake`]: the stateful fake API server served over HTTP with a kubeconfig. The
//!   controller's Service is proxied by the fake to the local controller.
//! - [`Target::Cluster`]: the real control plane of `test-cluster` (kube-apiserver, etcd,
//!   kube-controller-manager on loopback), shared by the tests of this binary. The controller
//!   still runs as a local process (`POD_NAMESPACE` = the test's namespace, watching only the
//!   test's namespaces), so the API server cannot proxy to it: `kubeseal` is given
//!   `--controller-url` and `/v1/verify` is reached directly on its local address instead.
//!
//! Each test gets fresh namespaces (deleted afterwards on a real cluster) and its own controller.
//! Binaries: `$E2E_KUBESEAL_BIN` / `$E2E_CONTROLLER_BIN`, else built once with `cargo build`
//! into this test's target directory.

pub mod browser;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fake_apiserver::FakeApiServer;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use sealed_secrets_controller::crd::SealedSecret;
use serde_json::{Value, json};
use test_cluster::{ControlPlane, free_addr};

/// The controller's Service name, as kubeseal looks for it.
pub const SERVICE: &str = "sealed-secrets-controller";
const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";

/// Where a test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The fake API server over HTTP.
    Fake,
    /// The real control plane (`test_cluster::ControlPlane::shared`).
    Cluster,
}

/// Paths of the two binaries.
#[derive(Debug)]
pub struct Binaries {
    /// `kubeseal`.
    pub kubeseal: PathBuf,
    /// `sealed-secrets-controller`.
    pub controller: PathBuf,
}

/// The binaries under test, built (once per test process) unless given by environment.
pub fn binaries() -> &'static Binaries {
    static BINARIES: OnceLock<Binaries> = OnceLock::new();
    BINARIES.get_or_init(|| {
        let given = |var: &str| std::env::var_os(var).map(PathBuf::from);
        if let (Some(kubeseal), Some(controller)) =
            (given("E2E_KUBESEAL_BIN"), given("E2E_CONTROLLER_BIN"))
        {
            return Binaries {
                kubeseal,
                controller,
            };
        }
        // This test runs as <target>/<profile>/deps/e2e-<hash>.
        let exe = std::env::current_exe().expect("current exe");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary lives in <target>/<profile>/deps")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let profile = profile_dir
            .file_name()
            .and_then(|p| p.to_str())
            .unwrap_or("debug")
            .to_owned();
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .current_dir(&workspace)
            .args([
                "build",
                "--quiet",
                "--locked",
                "-p",
                "kubeseal",
                "-p",
                "sealed-secrets-controller",
                "--bins",
                "--target-dir",
            ])
            .arg(&target_dir);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                build.arg("--release");
            }
            other => {
                build.args(["--profile", other]);
            }
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "cargo build of the binaries failed");
        let exe_name =
            |name: &str| profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        Binaries {
            kubeseal: exe_name("kubeseal"),
            controller: exe_name("sealed-secrets-controller"),
        }
    })
}

/// A namespace name unique to this run: `<prefix>-<hex>`, at most 59 characters.
#[must_use]
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32).rotate_left(7))
        .unwrap_or_default();
    // A namespace name is a DNS label (63 characters at most); callers append `-2`.
    let prefix: String = prefix.chars().take(50).collect();
    format!(
        "{}-{:08x}",
        prefix.trim_end_matches('-'),
        nanos ^ std::process::id().rotate_left(16)
    )
}

/// Runs `body` against `target`.
pub async fn run<F, Fut>(target: Target, test: &str, body: F)
where
    F: FnOnce(Env) -> Fut,
    Fut: Future<Output = ()>,
{
    let env = Env::start(target, test).await;
    body(env).await;
}

/// One test's cluster, namespaces and controller.
pub struct Env {
    /// Where it runs.
    pub target: Target,
    /// The fake (for [`Target::Fake`]).
    pub fake: Option<FakeApiServer>,
    /// A client for the test itself.
    pub client: kube::Client,
    /// The controller namespace; SealedSecrets of the test live here too.
    pub ns: String,
    /// A second namespace the controller also watches.
    pub ns2: String,
    /// Scratch directory.
    pub dir: tempfile::TempDir,
    /// Kubeconfig for child processes.
    kubeconfig: PathBuf,
    /// The controller's local API address.
    pub api: SocketAddr,
    controller: Option<Child>,
    log: PathBuf,
}

impl Env {
    async fn start(target: Target, test: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ns = unique(&format!("e2e-{}", test.replace('_', "-")));
        let ns2 = format!("{ns}-2");
        let (fake, kubeconfig) = match target {
            Target::Fake => {
                let fake = FakeApiServer::new();
                let path = dir.path().join("kubeconfig");
                fake.write_kubeconfig(&path, &ns).expect("serve the fake");
                (Some(fake), path)
            }
            Target::Cluster => (None, ControlPlane::shared().kubeconfig()),
        };
        let config = kube::Config::from_custom_kubeconfig(
            Kubeconfig::read_from(&kubeconfig).expect("read kubeconfig"),
            &KubeConfigOptions::default(),
        )
        .await
        .expect("kubeconfig");
        let client = kube::Client::try_from(config).expect("client");
        let namespaces: Api<Namespace> = Api::all(client.clone());
        for name in [&ns, &ns2] {
            let namespace: Namespace =
                serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
            namespaces
                .create(&PostParams::default(), &namespace)
                .await
                .expect("create namespace");
        }
        if target == Target::Cluster {
            test_cluster::install_crd(&client).await;
        }

        let api = free_addr();
        let metrics = free_addr();
        let log = dir.path().join("controller.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(&binaries().controller);
        command
            .args([
                format!("--listen-addr={api}"),
                format!("--listen-metrics-addr={metrics}"),
                "--all-namespaces=false".into(),
                format!("--additional-namespaces={ns2}"),
                "--leader-elect-lease-duration=3s".into(),
            ])
            .env("POD_NAMESPACE", &ns)
            .env("POD_NAME", format!("{ns}-controller"))
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SEALED_SECRETS_") {
                command.env_remove(k);
            }
        }
        command.env("KUBECONFIG", &kubeconfig);
        let controller = command.spawn().expect("start the controller");
        if let Some(fake) = &fake {
            fake.set_service_proxy(&ns, SERVICE, &format!("http://{api}"));
        }
        let env = Self {
            target,
            fake,
            client,
            ns,
            ns2,
            dir,
            kubeconfig,
            api,
            controller: Some(controller),
            log,
        };
        env.cert_pem().await;
        env
    }

    /// The controller's log so far.
    pub fn controller_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs `kubeseal` with `args` and `stdin`, against this cluster.
    pub fn kubeseal(&self, args: &[&str], stdin: &str) -> Output {
        self.kubeseal_with(args, stdin, &[])
    }

    /// Like [`Self::kubeseal`] with extra environment.
    pub fn kubeseal_with(&self, args: &[&str], stdin: &str, envs: &[(&str, &str)]) -> Output {
        let mut command = Command::new(&binaries().kubeseal);
        command
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SEALED_SECRETS_") {
                command.env_remove(k);
            }
        }
        command.env("KUBECONFIG", &self.kubeconfig);
        command.envs(envs.iter().copied());
        let mut child = command.spawn().expect("run kubeseal");
        {
            use std::io::Write as _;
            let mut input = child.stdin.take().expect("stdin");
            let _ = input.write_all(stdin.as_bytes());
        }
        child.wait_with_output().expect("kubeseal output")
    }

    /// Writes `contents` to `name` in the scratch directory and returns its path.
    pub fn file(&self, name: &str, contents: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path.to_string_lossy().into_owned()
    }

    /// A kubeconfig whose current context's namespace is `namespace` (same cluster).
    pub fn kubeconfig_with_namespace(&self, namespace: &str) -> String {
        let mut config = Kubeconfig::read_from(&self.kubeconfig).expect("read kubeconfig");
        let current = config.current_context.clone().unwrap_or_default();
        for named in &mut config.contexts {
            if named.name == current
                && let Some(context) = named.context.as_mut()
            {
                context.namespace = Some(namespace.to_owned());
            }
        }
        let json = serde_json::to_string(&config).expect("kubeconfig serializes");
        self.file("kubeconfig-ns", &json)
    }

    /// The `kubeseal` flags that reach this test's controller: the API server's service proxy on
    /// the fake, `--controller-url` on a real cluster (the controller runs outside it).
    #[must_use]
    pub fn controller_flags(&self) -> Vec<String> {
        match self.target {
            Target::Fake => vec!["--controller-namespace".into(), self.ns.clone()],
            Target::Cluster => vec!["--controller-url".into(), format!("http://{}", self.api)],
        }
    }

    /// GET or POST a path of the controller's API: through the API server's service proxy on
    /// the fake, directly on a real cluster (the controller runs outside it).
    pub async fn controller_request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        if self.target == Target::Fake {
            let uri = format!(
                "/api/v1/namespaces/{}/services/http:{SERVICE}:http/proxy{path}",
                self.ns
            );
            let request = http::Request::builder()
                .method(method)
                .uri(uri)
                .body(body.as_bytes().to_vec())
                .expect("request");
            match self.client.request_text(request).await {
                Ok(text) => (200, text),
                Err(kube::Error::Api(status)) => (status.code, status.message),
                Err(e) => (0, e.to_string()),
            }
        } else {
            http(self.api, method, path, body).await
        }
    }

    /// The sealing certificate (PEM), waiting for the controller to have one.
    pub async fn cert_pem(&self) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (code, body) = self.controller_request("GET", "/v1/cert.pem", "").await;
            if code == 200 && body.contains("BEGIN CERTIFICATE") {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no certificate from the controller ({code}: {body}); log:\n{}",
                self.controller_log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Creates the SealedSecret(s) in a kubeseal output (JSON or YAML).
    pub async fn apply(&self, manifest: &str) {
        for sealed in seal::read_sealed_secrets(manifest).expect("kubeseal output parses") {
            let object: SealedSecret =
                serde_json::from_value(serde_json::to_value(&sealed).unwrap()).unwrap();
            let namespace = object
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| self.ns.clone());
            Api::<SealedSecret>::namespaced(self.client.clone(), &namespace)
                .create(&PostParams::default(), &object)
                .await
                .expect("create SealedSecret");
        }
    }

    /// Waits for Secret `namespace/name` and returns its data as text.
    pub async fn secret_data(
        &self,
        namespace: &str,
        name: &str,
    ) -> std::collections::BTreeMap<String, String> {
        secret_data(
            &self.client,
            namespace,
            name,
            Duration::from_secs(30),
            || self.controller_log(),
        )
        .await
    }

    /// The active key Secrets as `kubectl get secret -l …=active -o json` prints them (a List).
    pub async fn exported_keys(&self) -> String {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.ns);
        let keys = api
            .list(&ListParams::default().labels(&format!("{KEY_LABEL}=active")))
            .await
            .expect("list key Secrets");
        let items: Vec<Value> = keys
            .items
            .into_iter()
            .map(|s| {
                let mut v = serde_json::to_value(s).unwrap();
                v["apiVersion"] = json!("v1");
                v["kind"] = json!("Secret");
                v
            })
            .collect();
        assert!(!items.is_empty(), "no active key");
        serde_json::to_string_pretty(&json!({"apiVersion": "v1", "kind": "List", "items": items}))
            .unwrap()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(mut child) = self.controller.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("controller log:\n{}", self.controller_log());
        }
        if self.target == Target::Cluster {
            // Delete the namespaces even when the test failed, from a runtime of our own.
            let namespaces = [self.ns.clone(), self.ns2.clone()];
            let _ = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async {
                    let api: Api<Namespace> = Api::all(ControlPlane::shared().client().await);
                    for ns in &namespaces {
                        let _ = api.delete(ns, &DeleteParams::default()).await;
                    }
                });
            })
            .join();
        }
    }
}

/// Plain HTTP/1.1 to a local address (a controller outside the cluster): (status, body); status 0
/// when nothing answers.
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return (0, "connection refused".into());
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        return (0, "write failed".into());
    }
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return (0, text.into_owned());
    };
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, body.to_owned())
}

/// Waits up to `timeout` for Secret `namespace/name` and returns its data as text; `log` explains
/// a timeout.
pub async fn secret_data(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    timeout: Duration,
    log: impl Fn() -> String,
) -> std::collections::BTreeMap<String, String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(secret) = api.get_opt(name).await.expect("get Secret") {
            return secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                .collect();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no Secret {namespace}/{name}; controller log:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Upstream's test Secret (label mylabel=myvalue, foo=bar) as YAML, in `namespace` if given.
#[must_use]
pub fn test_secret(name: &str, namespace: Option<&str>) -> String {
    let namespace = namespace.map_or_else(String::new, |ns| format!("  namespace: {ns}\n"));
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n{namespace}  labels:\n    mylabel: myvalue\ndata:\n  foo: YmFy\n"
    )
}
