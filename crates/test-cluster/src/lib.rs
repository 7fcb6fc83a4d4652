//! A real Kubernetes control plane for tests: etcd (Debian's `etcd-server`) plus the
//! kube-apiserver and kube-controller-manager built from the pinned `k8s.io/kubernetes` Go module
//! in `tests/control-plane`, on free ports of 127.0.0.1, with token auth and RBAC.
//!
//! | to | use |
//! | --- | --- |
//! | share one control plane between the tests of one test binary | [`ControlPlane::shared`] |
//! | own one (outages, restarts) | [`ControlPlane::start`] |
//! | talk to it | [`ControlPlane::client`], [`ControlPlane::kubeconfig`] |
//! | run a program as if it ran in a pod (in-cluster config) | [`ControlPlane::in_cluster`] |
//! | stop or restart one component | [`ControlPlane::stop`], [`ControlPlane::restart`] |
//!
//! Tests that need it are marked
//! `#[cfg_attr(not(control_plane), ignore = "needs the control plane: see tests/README.md")]`
//! and their crate uses `crates/test-cluster/cfg.rs` as build script, which sets the cfg when
//! etcd and Go are present (and fails the build in CI when they are not).
//!
//! Every process is started under `setpriv --pdeathsig KILL` from a thread that lives as long as
//! the test process, so nothing outlives the process, even after a panic or Ctrl-C.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

mod ports;
pub use ports::{free_addr, free_port};

/// How long the API server may take to answer `/readyz` after it starts.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Why the control plane could not start.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn error(what: impl fmt::Display) -> Error {
    Error(what.to_string())
}

/// One process of the control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    /// etcd.
    Etcd,
    /// kube-apiserver.
    ApiServer,
    /// kube-controller-manager (garbage collector and namespace controllers).
    ControllerManager,
}

impl Component {
    fn name(self) -> &'static str {
        match self {
            Self::Etcd => "etcd",
            Self::ApiServer => "kube-apiserver",
            Self::ControllerManager => "kube-controller-manager",
        }
    }
}

/// A running control plane. Dropping it stops every process and removes its files.
pub struct ControlPlane {
    dir: tempfile::TempDir,
    bin: PathBuf,
    etcd: PathBuf,
    etcd_port: u16,
    etcd_peer_port: u16,
    port: u16,
    token: String,
    processes: Mutex<BTreeMap<Component, Child>>,
}

impl fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControlPlane")
            .field("server", &self.server())
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl ControlPlane {
    /// The control plane of this test process, started on first use (building it first if the
    /// build cache is cold). Panics, saying how to fix it, when it cannot start.
    pub fn shared() -> &'static ControlPlane {
        static SHARED: OnceLock<Result<ControlPlane, String>> = OnceLock::new();
        match SHARED.get_or_init(|| Self::start().map_err(|e| e.to_string())) {
            Ok(plane) => plane,
            Err(e) => panic!(
                "the test control plane could not start: {e}\n\
                 (it needs etcd from Debian's etcd-server package and Go to build \
                 tests/control-plane; see tests/README.md)"
            ),
        }
    }

    /// Starts a new control plane of its own and waits until the API server is ready.
    pub fn start() -> Result<Self, Error> {
        let bin = control_plane_binaries()?;
        let etcd = std::env::var_os("SEALED_SECRETS_ETCD")
            .map(PathBuf::from)
            .or_else(|| which("etcd"))
            .ok_or_else(|| error("etcd not found (apt-get install etcd-server)"))?;
        let dir = scratch_dir()?;
        let token = random_hex();
        fs::write(
            dir.path().join("tokens.csv"),
            format!("{token},admin,admin-uid,system:masters\n"),
        )
        .map_err(|e| error(format!("write tokens.csv: {e}")))?;
        let service_account_key = seal::PrivateKey::generate(2048)
            .map_err(|e| error(format!("service-account key: {e}")))?;
        fs::write(
            dir.path().join("sa.key"),
            service_account_key.to_pkcs8_pem().as_bytes(),
        )
        .map_err(|e| error(format!("write sa.key: {e}")))?;
        let plane = Self {
            bin,
            etcd,
            etcd_port: free_port(),
            etcd_peer_port: free_port(),
            port: free_port(),
            token,
            processes: Mutex::new(BTreeMap::new()),
            dir,
        };
        plane.write_kubeconfig()?;
        for component in [Component::Etcd, Component::ApiServer] {
            plane.launch(component)?;
        }
        plane.wait_ready(READY_TIMEOUT)?;
        plane.launch(Component::ControllerManager)?;
        Ok(plane)
    }

    /// `https://127.0.0.1:<port>`.
    #[must_use]
    pub fn server(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The API server's port on 127.0.0.1.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A kubeconfig for a cluster admin (`system:masters`), namespace `default`.
    #[must_use]
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// The bearer token of the cluster admin.
    #[must_use]
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The CA bundle that verifies the API server's serving certificate.
    #[must_use]
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("certs").join("apiserver.crt")
    }

    /// A scratch directory that lives as long as the control plane.
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The process id of a running component.
    #[must_use]
    pub fn pid(&self, component: Component) -> Option<u32> {
        self.processes().get(&component).map(Child::id)
    }

    /// A client acting as cluster admin, default namespace `default`.
    pub async fn client(&self) -> kube::Client {
        let kubeconfig = Kubeconfig::read_from(self.kubeconfig()).expect("read the kubeconfig");
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .expect("the kubeconfig is valid");
        kube::Client::try_from(config).expect("build a client")
    }

    /// The API server's Prometheus metrics (`apiserver_request_total`, ...).
    pub async fn apiserver_metrics(&self) -> String {
        let request = http::Request::get("/metrics")
            .body(Vec::new())
            .expect("request");
        self.client()
            .await
            .request_text(request)
            .await
            .expect("GET /metrics")
    }

    /// A command that runs `program` as a pod would see the cluster: `KUBERNETES_SERVICE_HOST`
    /// and `_PORT` point at this API server, and `/var/run/secrets/kubernetes.io/serviceaccount`
    /// (token, ca.crt, namespace) is bind-mounted inside a private mount namespace
    /// (`unshare -m`, needs root). The token is the cluster admin's.
    pub fn in_cluster(&self, program: &Path, namespace: &str) -> Command {
        let account = self.service_account_dir(namespace);
        let mut command = Command::new("unshare");
        command
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(
                "set -e; target=/var/run/secrets/kubernetes.io/serviceaccount; \
                 mkdir -p \"$target\"; mount --bind \"$1\" \"$target\"; shift; exec \"$@\"",
            )
            .arg("in-cluster")
            .arg(&account)
            .arg(program)
            .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
            .env("KUBERNETES_SERVICE_PORT", self.port.to_string());
        command
    }

    /// A directory as a pod's `/var/run/secrets/kubernetes.io/serviceaccount` holds it: `token`
    /// (the cluster admin's), `ca.crt` and `namespace`.
    pub fn service_account_dir(&self, namespace: &str) -> PathBuf {
        let account = self.dir.path().join(format!("serviceaccount-{namespace}"));
        fs::create_dir_all(&account).expect("create the service-account directory");
        fs::write(account.join("token"), &self.token).expect("write token");
        fs::copy(self.ca_file(), account.join("ca.crt")).expect("copy ca.crt");
        fs::write(account.join("namespace"), namespace).expect("write namespace");
        account
    }

    /// Kills one component (SIGKILL) and waits for it to exit.
    pub fn stop(&self, component: Component) {
        if let Some(mut child) = self.processes().remove(&component) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a stopped component again, with the same ports and data; for the API server,
    /// waits until it is ready.
    pub fn restart(&self, component: Component) -> Result<(), Error> {
        self.stop(component);
        self.launch(component)?;
        if component == Component::ApiServer {
            self.wait_ready(READY_TIMEOUT)?;
        }
        Ok(())
    }

    /// Waits until `/readyz` answers `ok`.
    pub fn wait_ready(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        // A runtime of its own, made and dropped on a thread of its own: callers may be inside
        // a runtime, where neither is allowed.
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| error(format!("tokio runtime: {e}")))?
                        .block_on(self.poll_ready(deadline))
                })
                .join()
                .unwrap_or_else(|_| Err(error("the readiness check panicked")))
        })
    }

    async fn poll_ready(&self, deadline: Instant) -> Result<(), Error> {
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            for (component, child) in self.processes().iter_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(error(format!(
                        "{} exited ({status}); its log: {}",
                        component.name(),
                        self.log(*component).display()
                    )));
                }
            }
            if self.ca_file().is_file() {
                match self.readyz().await {
                    Ok(()) => return Ok(()),
                    Err(e) => last = e,
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(error(format!(
            "kube-apiserver not ready within {READY_TIMEOUT:?} ({last}); its log: {}",
            self.log(Component::ApiServer).display()
        )))
    }

    async fn readyz(&self) -> Result<(), String> {
        let kubeconfig = Kubeconfig::read_from(self.kubeconfig()).map_err(|e| e.to_string())?;
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|e| e.to_string())?;
        let client = kube::Client::try_from(config).map_err(|e| e.to_string())?;
        let request = http::Request::get("/readyz")
            .body(Vec::new())
            .map_err(|e| e.to_string())?;
        let body = client
            .request_text(request)
            .await
            .map_err(|e| e.to_string())?;
        if body.trim() == "ok" {
            Ok(())
        } else {
            Err(body)
        }
    }

    fn processes(&self) -> MutexGuard<'_, BTreeMap<Component, Child>> {
        self.processes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Where a component's output goes.
    #[must_use]
    pub fn log(&self, component: Component) -> PathBuf {
        self.dir.path().join(format!("{}.log", component.name()))
    }

    fn launch(&self, component: Component) -> Result<(), Error> {
        let dir = self.dir.path();
        let (program, args): (PathBuf, Vec<String>) = match component {
            Component::Etcd => {
                let client = format!("http://127.0.0.1:{}", self.etcd_port);
                let peer = format!("http://127.0.0.1:{}", self.etcd_peer_port);
                (
                    self.etcd.clone(),
                    vec![
                        "--name=test".into(),
                        format!("--data-dir={}", dir.join("etcd").display()),
                        format!("--listen-client-urls={client}"),
                        format!("--advertise-client-urls={client}"),
                        format!("--listen-peer-urls={peer}"),
                        format!("--initial-advertise-peer-urls={peer}"),
                        format!("--initial-cluster=test={peer}"),
                        "--log-level=warn".into(),
                        "--logger=zap".into(),
                    ],
                )
            }
            Component::ApiServer => {
                let key = dir.join("sa.key");
                (
                    self.bin.join("kube-apiserver"),
                    vec![
                        format!("--etcd-servers=http://127.0.0.1:{}", self.etcd_port),
                        "--bind-address=127.0.0.1".into(),
                        "--advertise-address=127.0.0.1".into(),
                        format!("--secure-port={}", self.port),
                        format!("--cert-dir={}", dir.join("certs").display()),
                        format!("--token-auth-file={}", dir.join("tokens.csv").display()),
                        "--authorization-mode=RBAC".into(),
                        "--service-account-issuer=https://kubernetes.default.svc".into(),
                        format!("--service-account-key-file={}", key.display()),
                        format!("--service-account-signing-key-file={}", key.display()),
                        "--service-cluster-ip-range=10.0.0.0/24".into(),
                        // Endpoints may not hold loopback addresses: no `kubernetes` Endpoints.
                        "--endpoint-reconciler-type=none".into(),
                        "--allow-privileged=true".into(),
                        "--profiling=false".into(),
                        "--v=1".into(),
                    ],
                )
            }
            Component::ControllerManager => (
                self.bin.join("kube-controller-manager"),
                vec![
                    format!("--kubeconfig={}", self.kubeconfig().display()),
                    "--controllers=garbage-collector-controller,namespace-controller".into(),
                    "--leader-elect=false".into(),
                    "--secure-port=0".into(),
                    "--use-service-account-credentials=false".into(),
                    "--v=1".into(),
                ],
            ),
        };
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log(component))
            .map_err(|e| error(format!("open the {} log: {e}", component.name())))?;
        let err = log
            .try_clone()
            .map_err(|e| error(format!("open the {} log: {e}", component.name())))?;
        let mut command = Command::new("setpriv");
        command
            .args(["--pdeathsig", "KILL", "--"])
            .arg(&program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        let child =
            spawn(command).map_err(|e| error(format!("start {}: {e}", program.display())))?;
        self.processes().insert(component, child);
        Ok(())
    }

    fn write_kubeconfig(&self) -> Result<(), Error> {
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    \
             certificate-authority: {}\nusers:\n- name: admin\n  user:\n    token: {}\n\
             contexts:\n- name: test\n  context:\n    cluster: test\n    user: admin\n    \
             namespace: default\ncurrent-context: test\n",
            self.server(),
            self.ca_file().display(),
            self.token,
        );
        fs::write(self.kubeconfig(), kubeconfig)
            .map_err(|e| error(format!("write kubeconfig: {e}")))
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        for component in [
            Component::ControllerManager,
            Component::ApiServer,
            Component::Etcd,
        ] {
            self.stop(component);
        }
    }
}

/// Installs the SealedSecret CRD from `deploy/crd.yaml` unless the cluster has it, and waits until
/// it is established.
pub async fn install_crd(client: &kube::Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = "sealedsecrets.bitnami.com";
    if api.get_opt(name).await.expect("get CRD").is_none() {
        let yaml = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crd.yaml"),
        )
        .expect("deploy/crd.yaml");
        let crd: CustomResourceDefinition =
            serde_saphyr::from_str(&yaml).expect("deploy/crd.yaml parses");
        let _ = api.create(&PostParams::default(), &crd).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let established = api.get_opt(name).await.ok().flatten().is_some_and(|crd| {
            crd.status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
        });
        if established {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "CRD not established"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The directory holding `kube-apiserver` and `kube-controller-manager`:
/// `$SEALED_SECRETS_CONTROL_PLANE_BIN`, else what `tests/control-plane/build` prints (it builds
/// once and caches by the module's pins).
fn control_plane_binaries() -> Result<PathBuf, Error> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(dir) = std::env::var_os("SEALED_SECRETS_CONTROL_PLANE_BIN") {
            return Ok(PathBuf::from(dir));
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/control-plane/build");
        let output = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("run {}: {e}", script.display()))?;
        if !output.status.success() {
            return Err(format!("{} failed ({})", script.display(), output.status));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let dir = stdout.lines().last().unwrap_or_default().trim();
        Ok(PathBuf::from(dir))
    })
    .clone()
    .map_err(Error)
}

/// Scratch space under `/dev/shm` where it exists (etcd fsyncs every write), named after this
/// process so that what a killed run left behind is removed by the next one.
fn scratch_dir() -> Result<tempfile::TempDir, Error> {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.join("sealed-secrets-control-plane")
    } else {
        std::env::temp_dir().join("sealed-secrets-control-plane")
    };
    fs::create_dir_all(&base).map_err(|e| error(format!("create {}: {e}", base.display())))?;
    if let Ok(entries) = fs::read_dir(&base) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let owner = name.to_string_lossy();
            let pid = owner.split('-').next().unwrap_or_default();
            if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    tempfile::Builder::new()
        .prefix(&format!("{}-", std::process::id()))
        .tempdir_in(&base)
        .map_err(|e| error(format!("create a directory in {}: {e}", base.display())))
}

type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawns from one thread that lives as long as the process: `--pdeathsig` fires when the
/// thread that forked the child ends, and test threads end early.
fn spawn(command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("control-plane-spawner".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("start the spawner thread");
        Mutex::new(tx)
    });
    let (reply, answer) = mpsc::channel();
    sender
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send((command, reply))
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("the spawner thread is gone"))?
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn random_hex() -> String {
    rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
