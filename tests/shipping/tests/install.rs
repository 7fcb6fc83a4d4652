//! Every install path against the real control plane (`crates/test-cluster`): the release
//! manifest, the kustomize base and the Helm chart pass a server-side dry run, CRD included; and
//! the controller image's entrypoint, run from the unpacked image as its non-root user with a
//! pod's in-cluster configuration, makes its key and unseals a SealedSecret.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, DeleteParams, PostParams};
use sealed_secrets_controller::crd::SealedSecret;
use serde_json::json;
use test_cluster::{ControlPlane, free_port};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ok(what: &str, output: &Output) -> String {
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `kubectl apply --dry-run=server -f -` of `manifest` on the control plane.
fn server_dry_run(what: &str, manifest: &str) -> String {
    let mut child = Command::new("kubectl")
        .args(["apply", "--dry-run=server", "-f", "-"])
        .env("KUBECONFIG", ControlPlane::shared().kubeconfig())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl");
    {
        use std::io::Write as _;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(manifest.as_bytes())
            .expect("write the manifest");
    }
    ok(what, &child.wait_with_output().expect("kubectl output"))
}

fn assert_dry_run_creates_everything(what: &str, manifest: &str) {
    let out = server_dry_run(what, manifest);
    for object in [
        "customresourcedefinition.apiextensions.k8s.io/sealedsecrets.bitnami.com",
        "deployment.apps/",
        "service/",
        "clusterrole.rbac.authorization.k8s.io/",
        "serviceaccount/",
    ] {
        assert!(out.contains(object), "{what}: no {object} in\n{out}");
    }
    assert!(out.contains("(server dry run)"), "{out}");
}

#[test]
#[cfg_attr(
    not(control_plane),
    ignore = "needs the test control plane (etcd and Go): see tests/README.md"
)]
fn release_manifest_passes_a_server_dry_run() {
    let manifest =
        std::fs::read_to_string(repo().join("controller.yaml")).expect("controller.yaml");
    assert_dry_run_creates_everything("controller.yaml", &manifest);
}

#[test]
#[cfg_attr(
    not(control_plane),
    ignore = "needs the test control plane (etcd and Go): see tests/README.md"
)]
fn kustomize_base_passes_a_server_dry_run() {
    let manifest = ok(
        "kubectl kustomize deploy/",
        &Command::new("kubectl")
            .arg("kustomize")
            .arg(repo().join("deploy"))
            .output()
            .expect("run kubectl kustomize"),
    );
    assert_dry_run_creates_everything("kustomize base", &manifest);
}

#[test]
#[cfg_attr(
    not(all(control_plane, helm)),
    ignore = "needs the test control plane and helm: see tests/README.md and deploy/tools.sh"
)]
fn helm_chart_passes_a_server_dry_run() {
    let manifest = ok(
        "helm template",
        &Command::new(env!("SHIPPING_HELM"))
            .args(["template", "sealed-secrets", "--include-crds"])
            .args(["--namespace", "kube-system"])
            .arg(repo().join("deploy/helm/sealed-secrets"))
            .output()
            .expect("run helm"),
    );
    assert_dry_run_creates_everything("helm chart", &manifest);
}

/// Kills the entrypoint when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Seals `key: value` as `namespace/name` with the certificate the controller on `api` serves,
/// creates the SealedSecret, and waits until the controller has written the Secret with that
/// value and marked the SealedSecret `Synced=True`.
async fn seal_and_wait_for_unseal(
    client: &kube::Client,
    api: u16,
    namespace: &str,
    name: &str,
    (key, value): (&str, &str),
) {
    let pem = poll("the controller serves its certificate", || async {
        let (code, body) = e2e::http(([127, 0, 0, 1], api).into(), "GET", "/v1/cert.pem", "").await;
        (code == 200 && body.contains("BEGIN CERTIFICATE")).then_some(body)
    })
    .await;
    let cert = seal::Certificate::from_pem(pem.as_bytes()).expect("certificate parses");
    let secret = seal::read_secrets(
        &json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "stringData": {key: value},
        })
        .to_string(),
    )
    .expect("Secret parses")
    .remove(0);
    let sealed =
        seal::seal_secret(&secret, cert.public_key(), &seal::SealOptions::default()).expect("seal");
    let sealed: SealedSecret =
        serde_json::from_value(serde_json::to_value(&sealed).unwrap()).unwrap();
    let sealed_api = Api::<SealedSecret>::namespaced(client.clone(), namespace);
    sealed_api
        .create(&PostParams::default(), &sealed)
        .await
        .expect("create SealedSecret");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let unsealed = poll("the Secret", || async {
        secrets.get_opt(name).await.ok().flatten()
    })
    .await;
    assert_eq!(unsealed.data.unwrap_or_default()[key].0, value.as_bytes());
    poll("status Synced=True", || async {
        let object = sealed_api.get_opt(name).await.ok().flatten()?;
        object
            .status?
            .conditions
            .iter()
            .any(|c| c.type_ == "Synced" && c.status == "True")
            .then_some(())
    })
    .await;
}

/// The release manifest's controller watches every namespace, as installed: beside another
/// controller with another key it would mark that one's SealedSecrets as failing to unseal.
/// The tests that run a controller take turns.
static ONE_CONTROLLER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A namespace of its own for one test.
async fn new_namespace(client: &kube::Client, prefix: &str) -> String {
    let ns = e2e::unique(prefix);
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .expect("create namespace");
    ns
}

async fn poll<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(control_plane, images)),
    ignore = "needs the test control plane and the unpacked images (deploy/image/build-and-check)"
)]
async fn controller_image_entrypoint_makes_its_key_and_unseals_in_cluster() {
    let _alone = ONE_CONTROLLER_AT_A_TIME.lock().await;
    let plane = ControlPlane::shared();
    let client = plane.client().await;
    test_cluster::install_crd(&client).await;
    let ns = new_namespace(&client, "image").await;

    let rootfs = Path::new(env!("SHIPPING_IMAGES_DIR")).join("controller.bundle/rootfs");
    assert!(
        rootfs.join("usr/local/bin/controller").is_file(),
        "{}",
        rootfs.display()
    );
    let (api, metrics) = (free_port(), free_port());
    // As a kubelet would: the service-account volume mounted into the image's root, then the
    // entrypoint as the image's user, with nothing else from the host.
    let entrypoint = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(
            "set -e; target=\"$2/var/run/secrets/kubernetes.io/serviceaccount\"; \
             mkdir -p \"$target\"; mount --bind \"$1\" \"$target\"; \
             exec chroot --userspec=1001:1001 \"$2\" /usr/local/bin/controller \"$3\" \"$4\" \
             --all-namespaces=false",
        )
        .arg("entrypoint")
        .arg(plane.service_account_dir(&ns))
        .arg(&rootfs)
        .arg(format!("--listen-addr=127.0.0.1:{api}"))
        .arg(format!("--listen-metrics-addr=127.0.0.1:{metrics}"))
        .env_clear()
        .env("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        .env("KUBERNETES_SERVICE_PORT", plane.port().to_string())
        .env("POD_NAME", "image-test")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run the image's entrypoint");
    let _running = Running(entrypoint);

    seal_and_wait_for_unseal(&client, api, &ns, "from-image", ("password", "s3cr3t")).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let keys = secrets
        .list(
            &kube::api::ListParams::default()
                .labels("sealedsecrets.bitnami.com/sealed-secrets-key"),
        )
        .await
        .expect("list key Secrets");
    assert_eq!(keys.items.len(), 1, "the image's controller made one key");
    let _ = Api::<Namespace>::all(client.clone())
        .delete(&ns, &DeleteParams::default())
        .await;
}

/// The release manifest's ServiceAccount and RBAC, applied for real, are all the controller needs:
/// with that account's token (and nothing else) it makes its key, unseals, writes status and
/// events, and holds its Lease. Catches a permission trimmed one step too far.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(control_plane, static_binaries)),
    ignore = "needs the test control plane and the static binaries (deploy/build-static)"
)]
async fn release_manifest_rbac_is_all_the_controller_needs() {
    let _alone = ONE_CONTROLLER_AT_A_TIME.lock().await;
    let plane = ControlPlane::shared();
    let kubectl = |args: &[&str]| {
        Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", plane.kubeconfig())
            .output()
            .expect("run kubectl")
    };
    let manifest = repo().join("controller.yaml");
    ok(
        "kubectl apply -f controller.yaml",
        &kubectl(&["apply", "-f", manifest.to_str().unwrap()]),
    );
    let token = ok(
        "kubectl create token",
        &kubectl(&[
            "-n",
            "kube-system",
            "create",
            "token",
            "sealed-secrets-controller",
            "--duration=1h",
        ]),
    );
    let kubeconfig = plane.dir().join("kubeconfig-sealed-secrets-controller");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: {}\n    \
             certificate-authority: {}\nusers:\n- name: controller\n  user:\n    token: {}\n\
             contexts:\n- name: test\n  context:\n    cluster: test\n    user: controller\n\
             current-context: test\n",
            plane.server(),
            plane.ca_file().display(),
            token.trim()
        ),
    )
    .expect("write the controller's kubeconfig");

    let client = plane.client().await;
    let ns = new_namespace(&client, "rbac").await;

    let (api, metrics) = (free_port(), free_port());
    let controller =
        Command::new(Path::new(env!("SHIPPING_STATIC_DIR")).join("sealed-secrets-controller"))
            .arg(format!("--listen-addr=127.0.0.1:{api}"))
            .arg(format!("--listen-metrics-addr=127.0.0.1:{metrics}"))
            .env_clear()
            .env("KUBECONFIG", &kubeconfig)
            .env("POD_NAMESPACE", "kube-system")
            .env("POD_NAME", "rbac-test")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run the controller");
    let _running = Running(controller);

    seal_and_wait_for_unseal(&client, api, &ns, "with-rbac", ("token", "t0k3n")).await;
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), &ns);
    poll("the Unsealed event", || async {
        let list = events.list(&Default::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| e.reason.as_deref() == Some("Unsealed"))
            .then_some(())
    })
    .await;
    let _ = Api::<Namespace>::all(client.clone())
        .delete(&ns, &DeleteParams::default())
        .await;
}
