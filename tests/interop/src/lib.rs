//! Upstream's real binaries beside ours on the real test control plane (`test-cluster`): the
//! pinned release of upstream's `kubeseal` and controller, installed with `go install` by
//! `tests/interop/install-upstream`, and a controller process of either kind run as a pod would
//! run it ([`test_cluster::ControlPlane::in_cluster`]: upstream's controller reads only the
//! in-cluster configuration).
//!
//! Used by `tests/interop.rs` (who seals for whom, controller swaps, key backups) and by the
//! real-server benchmark (`benches/real_server.rs`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, ListParams, PostParams};
use sealed_secrets_controller::crd::SealedSecret;
use serde_json::{Value, json};
use test_cluster::{ControlPlane, free_addr};

/// How long a test waits for a controller to do one thing (the machine may be busy).
pub const PATIENCE: Duration = Duration::from_secs(120);

/// Upstream's binaries.
#[derive(Debug)]
pub struct Upstream {
    /// Upstream's `kubeseal`.
    pub kubeseal: PathBuf,
    /// Upstream's controller.
    pub controller: PathBuf,
}

/// Upstream's binaries: `$SEALED_SECRETS_UPSTREAM_BIN` (a directory holding `kubeseal` and
/// `controller`), else what `tests/interop/install-upstream` prints (it installs once and
/// caches). Panics when they cannot be had: a test that needs them must not pass without them.
pub fn upstream() -> &'static Upstream {
    static UPSTREAM: OnceLock<Upstream> = OnceLock::new();
    UPSTREAM.get_or_init(|| {
        let dir = match std::env::var_os("SEALED_SECRETS_UPSTREAM_BIN") {
            Some(dir) => PathBuf::from(dir),
            None => {
                let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install-upstream");
                let output = Command::new("bash")
                    .arg(&script)
                    .stderr(Stdio::inherit())
                    .output()
                    .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
                assert!(
                    output.status.success(),
                    "{} failed ({}): upstream's binaries are needed (Go and the Go module proxy)",
                    script.display(),
                    output.status
                );
                let stdout = String::from_utf8_lossy(&output.stdout);
                PathBuf::from(stdout.lines().last().unwrap_or_default().trim())
            }
        };
        let upstream = Upstream {
            kubeseal: dir.join("kubeseal"),
            controller: dir.join("controller"),
        };
        for program in [&upstream.kubeseal, &upstream.controller] {
            assert!(program.is_file(), "{} is missing", program.display());
        }
        upstream
    })
}

/// Whose binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Upstream's release.
    Upstream,
    /// Ours, built from this workspace.
    Ours,
}

impl Flavor {
    /// The controller program.
    #[must_use]
    pub fn controller(self) -> &'static Path {
        match self {
            Self::Upstream => &upstream().controller,
            Self::Ours => &e2e::binaries().controller,
        }
    }

    /// The `kubeseal` program.
    #[must_use]
    pub fn kubeseal(self) -> &'static Path {
        match self {
            Self::Upstream => &upstream().kubeseal,
            Self::Ours => &e2e::binaries().kubeseal,
        }
    }

    /// `upstream` or `ours`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Upstream => "upstream",
            Self::Ours => "ours",
        }
    }
}

/// A controller process of either flavor, run as a pod would run it. Killed when dropped.
#[derive(Debug)]
pub struct Controller {
    /// Whose.
    pub flavor: Flavor,
    /// Its HTTP API (`/v1/cert.pem`, ...).
    pub api: SocketAddr,
    /// Its metrics endpoint.
    pub metrics: SocketAddr,
    child: Option<Child>,
    log: PathBuf,
}

impl Controller {
    /// Starts a controller of `flavor` whose own namespace (keys) is `namespace`, watching it and
    /// `additional` only, with `extra` flags. Its output goes to `<log_dir>/<flavor>-<ns>.log`.
    pub fn start(
        plane: &ControlPlane,
        flavor: Flavor,
        namespace: &str,
        additional: &[&str],
        extra: &[&str],
        log_dir: &Path,
    ) -> Self {
        let api = free_addr();
        let metrics = free_addr();
        let log = log_dir.join(format!("{}-{namespace}.log", flavor.name()));
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("controller log file");
        let mut command = plane.in_cluster(flavor.controller(), namespace);
        command
            .arg(format!("--listen-addr={api}"))
            .arg(format!("--listen-metrics-addr={metrics}"))
            .arg("--all-namespaces=false")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file);
        if !additional.is_empty() {
            command.arg(format!("--additional-namespaces={}", additional.join(",")));
        }
        if flavor == Flavor::Ours {
            // A killed predecessor's Lease must not hold the next one back for long.
            command.arg("--leader-elect-lease-duration=3s");
            command.env("POD_NAME", format!("{namespace}-controller"));
        }
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("SEALED_SECRETS_") || k == "KUBECONFIG" || k == "POD_NAMESPACE" {
                command.env_remove(&*k);
            }
        }
        let child = command.spawn().expect("start the controller");
        Self {
            flavor,
            api,
            metrics,
            child: Some(child),
            log,
        }
    }

    /// The process id (the controller itself: `unshare` and `sh` exec into it).
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Its output so far.
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails with the log when the process has exited.
    pub fn assert_running(&mut self) {
        if let Some(child) = self.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            panic!(
                "{} controller exited ({status}); log:\n{}",
                self.flavor.name(),
                self.log()
            );
        }
    }

    /// The sealing certificate (PEM), waiting until the controller serves one.
    pub async fn cert_pem(&mut self) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            self.assert_running();
            let (code, body) = http(self.api, "GET", "/v1/cert.pem", "").await;
            if code == 200 && body.contains("BEGIN CERTIFICATE") {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no certificate from the {} controller ({code}: {body}); log:\n{}",
                self.flavor.name(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// One counter or gauge of its metrics endpoint, summed over its series (0 when absent).
    pub async fn metric(&self, name: &str) -> f64 {
        let (_, body) = http(self.metrics, "GET", "/metrics", "").await;
        metric_sum(&body, name)
    }

    /// Waits until `sealed_secrets_controller_unseal_requests_total` reaches `n`: it has looked
    /// at `n` SealedSecrets since it started.
    pub async fn wait_unseal_requests(&mut self, n: usize) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            self.assert_running();
            let seen = self
                .metric("sealed_secrets_controller_unseal_requests_total")
                .await;
            if seen >= n as f64 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the {} controller looked at {seen} of {n} SealedSecrets; log:\n{}",
                self.flavor.name(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Kills it and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("{} controller log:\n{}", self.flavor.name(), self.log());
        }
    }
}

/// The sum of every series of metric `name` in a Prometheus text exposition.
#[must_use]
pub fn metric_sum(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub use e2e::{http, unique};

/// Creates namespaces (and the SealedSecret CRD when the cluster lacks it).
pub async fn create_namespaces(client: &kube::Client, names: &[&str]) {
    test_cluster::install_crd(client).await;
    let api: Api<Namespace> = Api::all(client.clone());
    for name in names {
        let namespace: Namespace =
            serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace");
        api.create(&PostParams::default(), &namespace)
            .await
            .expect("create namespace");
    }
}

/// Runs a `kubeseal` program with `args` and `stdin` in `dir`, with `KUBECONFIG` = `kubeconfig`.
pub fn kubeseal(
    program: &Path,
    kubeconfig: &Path,
    dir: &Path,
    args: &[&str],
    stdin: &str,
) -> Output {
    use std::io::Write as _;
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SEALED_SECRETS_") {
            command.env_remove(k);
        }
    }
    command.env("KUBECONFIG", kubeconfig);
    let mut child = command.spawn().expect("run kubeseal");
    {
        let mut input = child.stdin.take().expect("stdin");
        let _ = input.write_all(stdin.as_bytes());
    }
    child.wait_with_output().expect("kubeseal output")
}

/// The stdout of a successful run; fails with its stderr otherwise.
pub fn success(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

/// The SealedSecrets of a kubeseal output (JSON or YAML) as JSON values.
#[must_use]
pub fn sealed_values(manifest: &str) -> Vec<Value> {
    seal::read_sealed_secrets(manifest)
        .expect("kubeseal output parses")
        .iter()
        .map(|s| serde_json::to_value(s).expect("serializes"))
        .collect()
}

/// Creates a SealedSecret given as JSON, in `namespace` under `name` (the template follows).
pub async fn create_sealed(client: &kube::Client, mut object: Value, namespace: &str, name: &str) {
    object["metadata"]["namespace"] = json!(namespace);
    object["metadata"]["name"] = json!(name);
    if let Some(template) = object
        .pointer_mut("/spec/template/metadata")
        .and_then(Value::as_object_mut)
    {
        if template.contains_key("name") {
            template.insert("name".into(), json!(name));
        }
        if template.contains_key("namespace") {
            template.insert("namespace".into(), json!(namespace));
        }
    }
    let sealed: SealedSecret = serde_json::from_value(object).expect("a SealedSecret");
    Api::<SealedSecret>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &sealed)
        .await
        .expect("create SealedSecret");
}

/// Waits ([`PATIENCE`]) for Secret `namespace/name` and returns its data as text; `log` explains a
/// timeout.
pub async fn secret_data(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    log: impl Fn() -> String,
) -> BTreeMap<String, String> {
    e2e::secret_data(client, namespace, name, PATIENCE, log).await
}

/// name → resourceVersion of the Secrets in `namespace` (key Secrets excluded).
pub async fn secret_versions(client: &kube::Client, namespace: &str) -> BTreeMap<String, String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    api.list_metadata(&ListParams::default().labels(&format!("!{}", seal::SEALING_KEY_LABEL)))
        .await
        .expect("list Secrets")
        .items
        .into_iter()
        .map(|s| {
            (
                s.metadata.name.unwrap_or_default(),
                s.metadata.resource_version.unwrap_or_default(),
            )
        })
        .collect()
}

/// Whether a SealedSecret's status says `Synced=True` for its current generation.
#[must_use]
pub fn is_synced(sealed: &SealedSecret) -> bool {
    sealed.status.as_ref().is_some_and(|status| {
        status
            .conditions
            .iter()
            .any(|c| c.type_ == "Synced" && c.status == "True")
            && status.observed_generation == sealed.metadata.generation
    })
}

/// Upstream's documented key backup, `kubectl get secret -n <namespace> -l
/// sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`: the key Secrets listed through the
/// API and rendered as kubectl renders a List.
pub async fn kubectl_get_keys_yaml(client: &kube::Client, namespace: &str) -> String {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let keys = api
        .list(&ListParams::default().labels(seal::SEALING_KEY_LABEL))
        .await
        .expect("list key Secrets");
    let items: Vec<Value> = keys
        .items
        .into_iter()
        .map(|s| {
            let mut v = serde_json::to_value(s).expect("serializes");
            v["apiVersion"] = json!("v1");
            v["kind"] = json!("Secret");
            v
        })
        .collect();
    let list = json!({
        "apiVersion": "v1",
        "items": items,
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    });
    serde_saphyr::to_string(&list).expect("YAML")
}

#[cfg(test)]
mod tests {
    use super::metric_sum;

    #[test]
    fn metric_sum_adds_every_series_of_that_name_only() {
        let exposition = "# HELP x_total a counter\n\
                          x_total{ns=\"a\"} 2\n\
                          x_total{ns=\"b\"} 3\n\
                          x_total_other 7\n\
                          x_totally 9\n";
        assert!((metric_sum(exposition, "x_total") - 5.0).abs() < f64::EPSILON);
        assert!((metric_sum("x_total 4\n", "x_total") - 4.0).abs() < f64::EPSILON);
        assert!(metric_sum(exposition, "y_total").abs() < f64::EPSILON);
    }
}
