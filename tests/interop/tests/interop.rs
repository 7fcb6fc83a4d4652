//! Upstream's kubeseal and controller (the pinned release) beside ours on the real control
//! plane: each seals for the other, the controllers take over each other's keys and objects,
//! and upstream's keys, backed up either way, open everything in a fresh cluster running ours.

use std::collections::BTreeMap;
use std::path::Path;

use interop::{
    Controller, Flavor, create_namespaces, create_sealed, is_synced, kubectl_get_keys_yaml,
    kubeseal, sealed_values, secret_data, secret_versions, success, unique,
};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use sealed_secrets_controller::crd::SealedSecret;
use serde_json::json;
use test_cluster::ControlPlane;

/// A Secret manifest (YAML) with string values.
fn secret_yaml(name: &str, namespace: &str, values: &[(&str, &str)]) -> String {
    let data: String = values
        .iter()
        .map(|(k, v)| format!("  {k}: {v}\n"))
        .collect();
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {namespace}\nstringData:\n{data}"
    )
}

fn expected(values: &[(&str, &str)]) -> BTreeMap<String, String> {
    values
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Seals with `sealer`'s kubeseal (certificate from the running controller of `opener`, as a
/// file) in every scope, `--raw` and `--merge-into`, and checks that the controller opens each.
async fn sealed_by_opened_by(sealer: Flavor, opener: Flavor) {
    let plane = ControlPlane::shared();
    let client = plane.client().await;
    let ns = unique(&format!("seal-{}-open-{}", sealer.name(), opener.name()));
    let ns2 = format!("{ns}-2");
    create_namespaces(&client, &[&ns, &ns2]).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut controller = Controller::start(plane, opener, &ns, &[&ns2], &[], dir.path());
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, controller.cert_pem().await).expect("write cert.pem");
    let cert = cert.to_str().expect("UTF-8 path");
    let kubeconfig = plane.kubeconfig();
    let run = |args: &[&str], stdin: &str| {
        let output = kubeseal(sealer.kubeseal(), &kubeconfig, dir.path(), args, stdin);
        success(&output, &format!("{} kubeseal {args:?}", sealer.name()))
    };

    // strict, applied as sealed; ours also keeps an escrow copy (to a new SSH key)
    let strict = [("foo", "strict value")];
    let escrow_key = dir.path().join("escrow_ed25519");
    let made = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&escrow_key)
        .status()
        .expect("ssh-keygen (apt-get install openssh-client)");
    assert!(made.success(), "ssh-keygen failed");
    let escrow_recipient = format!("{}.pub", escrow_key.display());
    let mut strict_args = vec!["--cert", cert, "-o", "yaml"];
    if sealer == Flavor::Ours {
        strict_args.extend(["--escrow-recipient", &escrow_recipient]);
    }
    let out = run(&strict_args, &secret_yaml("strict", &ns, &strict));
    for object in sealed_values(&out) {
        create_sealed(&client, object, &ns, "strict").await;
    }
    // namespace-wide, renamed within its namespace
    let wide = [("foo", "namespace-wide value")];
    let out = run(
        &["--cert", cert, "--scope", "namespace-wide", "-o", "yaml"],
        &secret_yaml("wide", &ns, &wide),
    );
    for object in sealed_values(&out) {
        create_sealed(&client, object, &ns, "wide-renamed").await;
    }
    // cluster-wide, renamed and moved to the other namespace
    let cluster = [("foo", "cluster-wide value")];
    let out = run(
        &["--cert", cert, "--scope", "cluster-wide", "-o", "yaml"],
        &secret_yaml("cluster", &ns, &cluster),
    );
    for object in sealed_values(&out) {
        create_sealed(&client, object, &ns2, "cluster-moved").await;
    }
    // --raw, strict, put into a SealedSecret by hand as upstream's docs show
    let value_file = dir.path().join("value.txt");
    std::fs::write(&value_file, "raw value").expect("write value");
    let value_file = value_file.to_str().expect("UTF-8 path");
    let ciphertext = run(
        &[
            "--cert",
            cert,
            "--raw",
            "--scope",
            "strict",
            "--namespace",
            &ns,
            "--name",
            "raw",
            "--from-file",
            value_file,
        ],
        "",
    );
    let raw = json!({
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "raw", "namespace": ns},
        "spec": {
            "encryptedData": {"value": ciphertext.trim()},
            "template": {"metadata": {"name": "raw", "namespace": ns}},
        },
    });
    create_sealed(&client, raw, &ns, "raw").await;
    // --merge-into: a second value added to an existing sealed file
    let first = [("foo", "first value")];
    let merged_file = dir.path().join("merged.yaml");
    std::fs::write(
        &merged_file,
        run(
            &["--cert", cert, "-o", "yaml"],
            &secret_yaml("merged", &ns, &first),
        ),
    )
    .expect("write merged.yaml");
    let merged_path = merged_file.to_str().expect("UTF-8 path");
    run(
        &["--cert", cert, "--merge-into", merged_path],
        &secret_yaml("merged", &ns, &[("bar", "second value")]),
    );
    let merged = std::fs::read_to_string(&merged_file).expect("read merged.yaml");
    for object in sealed_values(&merged) {
        create_sealed(&client, object, &ns, "merged").await;
    }

    let log = || controller.log();
    for (namespace, name, values) in [
        (&ns, "strict", expected(&strict)),
        (&ns, "wide-renamed", expected(&wide)),
        (&ns2, "cluster-moved", expected(&cluster)),
        (&ns, "raw", expected(&[("value", "raw value")])),
        (
            &ns,
            "merged",
            expected(&[("foo", "first value"), ("bar", "second value")]),
        ),
    ] {
        assert_eq!(
            secret_data(&client, namespace, name, log).await,
            values,
            "Secret {namespace}/{name}: sealed by {}'s kubeseal, opened by {}'s controller",
            sealer.name(),
            opener.name()
        );
    }
    // Ours records the sealing key and an escrow copy on the SealedSecret itself (upstream's
    // kubeseal does neither); neither controller copies anything of ours into the Secret.
    const SEALED_WITH: &str = "sealed-secrets-rs/sealed-with";
    let strict_sealed = Api::<SealedSecret>::namespaced(client.clone(), &ns)
        .get("strict")
        .await
        .expect("get SealedSecret strict");
    for annotation in [SEALED_WITH, "sealed-secrets-rs/escrow"] {
        let recorded = strict_sealed
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(annotation));
        assert_eq!(
            recorded,
            sealer == Flavor::Ours,
            "{annotation} on the SealedSecret"
        );
    }
    for (namespace, name) in [
        (&ns, "strict"),
        (&ns, "wide-renamed"),
        (&ns2, "cluster-moved"),
        (&ns, "merged"),
    ] {
        let secret = Api::<Secret>::namespaced(client.clone(), namespace)
            .get(name)
            .await
            .expect("get Secret");
        let ours: Vec<String> = secret
            .metadata
            .annotations
            .unwrap_or_default()
            .into_keys()
            .filter(|k| k.starts_with("sealed-secrets-rs/"))
            .collect();
        assert!(
            ours.is_empty(),
            "Secret {namespace}/{name} got {ours:?} from {}'s controller",
            opener.name()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(control_plane),
    ignore = "needs the control plane and Go for upstream's binaries: see tests/README.md"
)]
async fn upstream_kubeseal_seals_for_our_controller() {
    sealed_by_opened_by(Flavor::Upstream, Flavor::Ours).await;
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(control_plane),
    ignore = "needs the control plane and Go for upstream's binaries: see tests/README.md"
)]
async fn our_kubeseal_seals_for_upstream_controller() {
    sealed_by_opened_by(Flavor::Ours, Flavor::Upstream).await;
}

/// The same steps with ours on both sides: our controller, too, leaves what our kubeseal adds to
/// a SealedSecret's own metadata out of the Secret.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(control_plane),
    ignore = "needs the control plane and Go for upstream's binaries: see tests/README.md"
)]
async fn our_kubeseal_seals_for_our_controller() {
    sealed_by_opened_by(Flavor::Ours, Flavor::Ours).await;
}

/// Seals one Secret per name with `sealer`'s kubeseal and creates the SealedSecrets.
async fn seal_and_create(
    client: &kube::Client,
    sealer: Flavor,
    kubeconfig: &Path,
    dir: &Path,
    cert: &str,
    ns: &str,
    names: &[String],
) {
    for name in names {
        let output = kubeseal(
            sealer.kubeseal(),
            kubeconfig,
            dir,
            &["--cert", cert, "-o", "yaml"],
            &secret_yaml(name, ns, &[("value", name)]),
        );
        for object in sealed_values(&success(&output, "kubeseal")) {
            create_sealed(client, object, ns, name).await;
        }
    }
}

/// Waits until every SealedSecret of `ns` is `Synced=True` for its generation.
async fn wait_all_synced(client: &kube::Client, ns: &str, n: usize, controller: &mut Controller) {
    let api: Api<SealedSecret> = Api::namespaced(client.clone(), ns);
    let deadline = tokio::time::Instant::now() + interop::PATIENCE;
    loop {
        controller.assert_running();
        let all = api.list(&ListParams::default()).await.expect("list");
        let synced = all.items.iter().filter(|s| is_synced(s)).count();
        if all.items.len() == n && synced == n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{synced} of {n} SealedSecrets synced by the {} controller; log:\n{}",
            controller.flavor.name(),
            controller.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// The data of every Secret in `names` is its own name.
async fn assert_opened(client: &kube::Client, ns: &str, names: &[String], controller: &Controller) {
    for name in names {
        let data = secret_data(client, ns, name, || controller.log()).await;
        assert_eq!(data, expected(&[("value", name)]), "Secret {ns}/{name}");
    }
}

/// Hands the namespace over from the running controller to one of `next` flavor: the same key,
/// no write to any existing Secret, and a new SealedSecret (sealed by `sealer`) opened.
async fn hand_over(
    plane: &ControlPlane,
    previous: &mut Controller,
    next: Flavor,
    sealer: Flavor,
    ns: &str,
    dir: &Path,
    names: &mut Vec<String>,
) -> Controller {
    let client = plane.client().await;
    let cert_before = previous.cert_pem().await;
    let keys: Api<Secret> = Api::namespaced(client.clone(), ns);
    let key_list = ListParams::default().labels(seal::SEALING_KEY_LABEL);
    let keys_before = keys
        .list_metadata(&key_list)
        .await
        .expect("list keys")
        .items
        .len();
    let versions_before = secret_versions(&client, ns).await;
    assert_eq!(
        versions_before.len(),
        names.len(),
        "one Secret per SealedSecret"
    );
    previous.stop();

    let mut controller = Controller::start(plane, next, ns, &[], &["--key-renew-period=0"], dir);
    assert_eq!(
        controller.cert_pem().await,
        cert_before,
        "the {} controller seals with the {} controller's key",
        next.name(),
        previous.flavor.name()
    );
    let cert = dir.join(format!("cert-{}.pem", names.len()));
    std::fs::write(&cert, &cert_before).expect("write cert");
    let name = format!("after-{}-{}", previous.flavor.name(), names.len());
    seal_and_create(
        &client,
        sealer,
        &plane.kubeconfig(),
        dir,
        cert.to_str().expect("UTF-8 path"),
        ns,
        std::slice::from_ref(&name),
    )
    .await;
    assert_opened(&client, ns, std::slice::from_ref(&name), &controller).await;
    controller.wait_unseal_requests(names.len() + 1).await;
    wait_all_synced(&client, ns, names.len() + 1, &mut controller).await;

    let mut versions_after = secret_versions(&client, ns).await;
    assert!(versions_after.remove(&name).is_some());
    assert_eq!(
        versions_after,
        versions_before,
        "the {} controller wrote to Secrets the {} controller had made",
        next.name(),
        previous.flavor.name()
    );
    assert_eq!(
        keys.list_metadata(&key_list)
            .await
            .expect("list keys")
            .items
            .len(),
        keys_before,
        "the {} controller made a key although one existed",
        next.name()
    );
    names.push(name);
    assert_opened(&client, ns, names, &controller).await;
    controller
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(control_plane),
    ignore = "needs the control plane and Go for upstream's binaries: see tests/README.md"
)]
async fn swap_upstream_controller_for_ours_and_back() {
    let plane = ControlPlane::shared();
    let client = plane.client().await;
    let ns = unique("swap");
    create_namespaces(&client, &[&ns]).await;
    let dir = tempfile::tempdir().expect("temp dir");

    let mut upstream = Controller::start(
        plane,
        Flavor::Upstream,
        &ns,
        &[],
        &["--key-renew-period=0"],
        dir.path(),
    );
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, upstream.cert_pem().await).expect("write cert");
    let mut names: Vec<String> = (0..50).map(|i| format!("s{i:02}")).collect();
    seal_and_create(
        &client,
        Flavor::Upstream,
        &plane.kubeconfig(),
        dir.path(),
        cert.to_str().expect("UTF-8 path"),
        &ns,
        &names,
    )
    .await;
    assert_opened(&client, &ns, &names, &upstream).await;
    wait_all_synced(&client, &ns, names.len(), &mut upstream).await;

    let mut ours = hand_over(
        plane,
        &mut upstream,
        Flavor::Ours,
        Flavor::Upstream,
        &ns,
        dir.path(),
        &mut names,
    )
    .await;
    let _upstream_again = hand_over(
        plane,
        &mut ours,
        Flavor::Upstream,
        Flavor::Ours,
        &ns,
        dir.path(),
        &mut names,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(control_plane),
    ignore = "needs the control plane and Go for upstream's binaries: see tests/README.md"
)]
async fn upstream_keys_backed_up_both_ways_open_everything_in_a_fresh_cluster_running_ours() {
    let plane = ControlPlane::shared();
    let client = plane.client().await;
    let ns = unique("backup");
    create_namespaces(&client, &[&ns]).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = plane.kubeconfig();

    // Upstream's controller makes a key; a second one on request (the renewal annotation is
    // ours, so upstream's way: a restart with a cutoff time after the first key).
    let mut upstream = Controller::start(
        plane,
        Flavor::Upstream,
        &ns,
        &[],
        &["--key-renew-period=0"],
        dir.path(),
    );
    let first_cert = upstream.cert_pem().await;
    upstream.stop();
    // Certificates and restored Secrets tell key ages in whole seconds: keep the two keys a
    // second apart, or which one is newest after a restore is a coin toss.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // RFC 1123 with a numeric zone, a minute ahead: every existing key is older.
    let cutoff = rfc1123_in_a_minute();
    let mut upstream = Controller::start(
        plane,
        Flavor::Upstream,
        &ns,
        &[],
        &[
            "--key-renew-period=0",
            &format!("--key-cutoff-time={cutoff}"),
        ],
        dir.path(),
    );
    let second_cert = loop {
        let cert = upstream.cert_pem().await;
        if cert != first_cert {
            break cert;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    let mut names = Vec::new();
    for (i, cert_pem) in [&first_cert, &second_cert].into_iter().enumerate() {
        let cert = dir.path().join(format!("cert{i}.pem"));
        std::fs::write(&cert, cert_pem).expect("write cert");
        let batch = vec![format!("by-key{i}")];
        seal_and_create(
            &client,
            Flavor::Upstream,
            &kubeconfig,
            dir.path(),
            cert.to_str().expect("UTF-8 path"),
            &ns,
            &batch,
        )
        .await;
        names.extend(batch);
    }
    assert_opened(&client, &ns, &names, &upstream).await;
    upstream.stop();

    // Two backups: ours (a passphrase-encrypted bundle) and upstream's documented kubectl one.
    let passphrase = dir.path().join("passphrase");
    std::fs::write(&passphrase, "correct horse battery staple\n").expect("write passphrase");
    let passphrase = passphrase.to_str().expect("UTF-8 path");
    let bundle = dir.path().join("keys.age");
    let bundle = bundle.to_str().expect("UTF-8 path");
    success(
        &kubeseal(
            Flavor::Ours.kubeseal(),
            &kubeconfig,
            dir.path(),
            &[
                "keys",
                "backup",
                "-o",
                bundle,
                "--passphrase-file",
                passphrase,
                "--controller-namespace",
                &ns,
            ],
            "",
        ),
        "kubeseal keys backup",
    );
    let kubectl_backup = dir.path().join("main.key");
    std::fs::write(&kubectl_backup, kubectl_get_keys_yaml(&client, &ns).await)
        .expect("write main.key");
    let manifests: Vec<(String, String)> = {
        let api: Api<SealedSecret> = Api::namespaced(client.clone(), &ns);
        api.list(&ListParams::default())
            .await
            .expect("list SealedSecrets")
            .items
            .into_iter()
            .map(|s| {
                (
                    s.metadata.name.clone().unwrap_or_default(),
                    serde_json::to_string(&s).expect("serializes"),
                )
            })
            .collect()
    };
    assert_eq!(manifests.len(), names.len());

    let kubectl_backup = kubectl_backup.to_str().expect("UTF-8 path");
    for (how, restore) in [
        (
            "kubeseal keys backup, kubeseal keys restore",
            Some(vec![
                "keys",
                "restore",
                bundle,
                "--passphrase-file",
                passphrase,
            ]),
        ),
        (
            "kubectl get secret -o yaml, kubeseal keys restore",
            Some(vec!["keys", "restore", kubectl_backup]),
        ),
        ("kubectl get secret -o yaml, kubectl apply", None),
    ] {
        let fresh = ControlPlane::start().expect("a fresh control plane");
        let fresh_client = fresh.client().await;
        create_namespaces(&fresh_client, &[&ns]).await;
        if let Some(mut args) = restore {
            args.extend(["--controller-namespace", &ns]);
            success(
                &kubeseal(
                    Flavor::Ours.kubeseal(),
                    &fresh.kubeconfig(),
                    dir.path(),
                    &args,
                    "",
                ),
                &format!("restore ({how})"),
            );
        } else {
            kubectl_apply(&fresh_client, kubectl_backup).await;
        }
        let mut ours = Controller::start(
            &fresh,
            Flavor::Ours,
            &ns,
            &[],
            &["--key-renew-period=0"],
            dir.path(),
        );
        assert_eq!(
            ours.cert_pem().await,
            second_cert,
            "after restoring the {how} backup ours seals with upstream's newest key"
        );
        for (name, manifest) in &manifests {
            let object: serde_json::Value = serde_json::from_str(manifest).expect("JSON");
            let object = json!({
                "apiVersion": "bitnami.com/v1alpha1",
                "kind": "SealedSecret",
                "metadata": {"name": name, "namespace": ns},
                "spec": object["spec"],
            });
            create_sealed(&fresh_client, object, &ns, name).await;
        }
        assert_opened(&fresh_client, &ns, &names, &ours).await;
        ours.stop();
    }
}

/// What `kubectl apply -f` does with a List of Secrets on a cluster that has none of them:
/// creates each item without its server-set fields.
async fn kubectl_apply(client: &kube::Client, path: &str) {
    let text = std::fs::read_to_string(path).expect("read the backup");
    let list: serde_json::Value = serde_saphyr::from_str(&text).expect("the backup is YAML");
    let items = list["items"].as_array().expect("a List");
    assert!(!items.is_empty(), "no key in the backup");
    for item in items {
        let mut item = item.clone();
        let metadata = item["metadata"].as_object_mut().expect("metadata");
        for field in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "managedFields",
        ] {
            metadata.remove(field);
        }
        let namespace = metadata["namespace"]
            .as_str()
            .expect("namespace")
            .to_owned();
        let secret: Secret = serde_json::from_value(item).expect("a Secret");
        Api::<Secret>::namespaced(client.clone(), &namespace)
            .create(&kube::api::PostParams::default(), &secret)
            .await
            .expect("create the key Secret");
    }
}

/// Now plus a minute in RFC 1123 with a numeric zone (`Mon, 02 Jan 2006 15:04:05 -0700`),
/// upstream's `--key-cutoff-time` format.
fn rfc1123_in_a_minute() -> String {
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60);
    later.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}
