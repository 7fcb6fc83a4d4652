//! `kubeseal keys …` against a stateful fake API server over HTTP with a kubeconfig.

mod keys_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use age::secrecy::ExposeSecret;
use fake_apiserver::{FakeApiServer, Gvr};
use keys_support::*;
use seal::{Certificate, Keyring, PrivateKey};
use serde_json::{Value, json};

const NS: &str = "kube-system";

struct Cluster {
    fake: FakeApiServer,
    kubeconfig: PathBuf,
}

fn cluster(dir: &Path, name: &str) -> Cluster {
    let fake = FakeApiServer::new();
    fake.create_namespace(NS);
    let kubeconfig = dir.join(format!("{name}.kubeconfig"));
    fake.write_kubeconfig(&kubeconfig, "default").unwrap();
    Cluster { fake, kubeconfig }
}

fn b64(data: &[u8]) -> String {
    // serde_json::Value of k8s-openapi ByteString is base64; build it that way.
    serde_json::to_value(k8s_openapi::ByteString(data.to_vec()))
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

fn key_secret(name: &str, label: &str, key: &PrivateKey, cert: &Certificate) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": NS, "labels": {KEY_LABEL: label}},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": b64(cert.to_pem().as_bytes()), "tls.key": b64(key.to_pkcs1_pem().as_bytes())},
    })
}

fn secrets(c: &Cluster) -> Vec<Value> {
    c.fake.list(&Gvr::core("secrets"), Some(NS))
}

fn keyring_from(c: &Cluster) -> Keyring {
    let mut keyring = Keyring::new();
    for s in secrets(c) {
        if s["metadata"]["labels"][KEY_LABEL].is_string() {
            let pem: k8s_openapi::ByteString =
                serde_json::from_value(s["data"]["tls.key"].clone()).unwrap();
            keyring.insert(
                PrivateKey::from_pem(&pem.0).unwrap(),
                None,
                SystemTime::UNIX_EPOCH,
            );
        }
    }
    keyring
}

fn kc(c: &Cluster) -> &str {
    s(&c.kubeconfig)
}

#[test]
fn backup_and_restore_through_the_api_server() {
    let tmp = tempfile::tempdir().unwrap();
    let src = cluster(tmp.path(), "src");
    let mut sealed = Vec::new();
    for (i, label) in ["active", "compromised"].iter().enumerate() {
        let key = PrivateKey::generate(2048).unwrap();
        let cert = Certificate::self_signed(&key, "", seal::keys::DEFAULT_CERT_VALIDITY).unwrap();
        sealed.push((
            seal_with(&cert, &format!("s{i}"), &format!("v{i}")),
            format!("v{i}"),
        ));
        src.fake.insert(
            &Gvr::core("secrets"),
            key_secret(&format!("sealed-secrets-key{i}abcd"), label, &key, &cert),
        );
    }
    src.fake.insert(
        &Gvr::core("secrets"),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "unrelated", "namespace": NS}, "data": {"x": "eA=="}}),
    );

    let rows: Vec<Value> = serde_json::from_str(&ok(&[
        "keys",
        "list",
        "--kubeconfig",
        kc(&src),
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["backedUp"] == false));
    assert_eq!(rows.iter().filter(|r| r["sealing"] == true).count(), 1);
    assert!(rows.iter().any(|r| r["status"] == "compromised"));

    let identity = age::x25519::Identity::generate();
    let id_path = tmp.path().join("id.txt");
    fs::write(&id_path, identity.to_string().expose_secret()).unwrap();
    let bundle = tmp.path().join("cluster.age");
    let (good, out, err) = run(&[
        "keys",
        "backup",
        "--kubeconfig",
        kc(&src),
        "-o",
        s(&bundle),
        "-r",
        &identity.to_public().to_string(),
    ]);
    assert!(good, "{err}");
    assert_no_key_material(&(out + &err), &[]);
    // Each exported key Secret is annotated with the backup time, and nothing else changed.
    for secret in secrets(&src) {
        let name = secret["metadata"]["name"].as_str().unwrap();
        let at = &secret["metadata"]["annotations"][BACKED_UP];
        if name == "unrelated" {
            assert!(at.is_null());
        } else {
            let at = at.as_str().unwrap();
            assert!(at.parse::<jiff::Timestamp>().is_ok(), "{at}");
            assert!(at.len() < 30);
        }
    }
    let rows: Vec<Value> = serde_json::from_str(&ok(&[
        "keys",
        "list",
        "--kubeconfig",
        kc(&src),
        "-o",
        "json",
    ]))
    .unwrap();
    assert!(rows.iter().all(|r| r["backedUp"] == true), "{rows:?}");

    // Restore into an empty cluster.
    let dst = cluster(tmp.path(), "dst");
    let dry = ok(&[
        "keys",
        "restore",
        s(&bundle),
        "-i",
        s(&id_path),
        "--kubeconfig",
        kc(&dst),
        "--dry-run",
    ]);
    assert_eq!(dry.matches("would import").count(), 2, "{dry}");
    assert!(secrets(&dst).is_empty());
    let out = ok(&[
        "keys",
        "restore",
        s(&bundle),
        "-i",
        s(&id_path),
        "--kubeconfig",
        kc(&dst),
    ]);
    assert_eq!(out.matches("imported").count(), 2, "{out}");
    let restored = secrets(&dst);
    assert_eq!(restored.len(), 2);
    for s in &restored {
        assert_eq!(s["type"], "kubernetes.io/tls");
        assert!(s["metadata"]["annotations"][BACKED_UP].is_string());
        assert!(s["metadata"].get("ownerReferences").is_none());
    }
    let labels: Vec<&str> = restored
        .iter()
        .map(|s| s["metadata"]["labels"][KEY_LABEL].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"active") && labels.contains(&"compromised"),
        "{labels:?}"
    );
    let keyring = keyring_from(&dst);
    for (s, value) in &sealed {
        assert_eq!(unseal_value(s, &keyring).as_deref(), Some(value.as_str()));
    }

    // Restoring again skips both by fingerprint and writes nothing.
    dst.fake.reset_requests();
    let out = ok(&[
        "keys",
        "restore",
        s(&bundle),
        "-i",
        s(&id_path),
        "--kubeconfig",
        kc(&dst),
    ]);
    assert_eq!(out.matches("skip").count(), 2, "{out}");
    assert_eq!(dst.fake.writes("secrets"), 0);
    assert_eq!(secrets(&dst).len(), 2);

    // A key that exists under a different name but another key holds the name: new name.
    let third = cluster(tmp.path(), "third");
    let key = PrivateKey::generate(2048).unwrap();
    let cert = Certificate::self_signed(&key, "", seal::keys::DEFAULT_CERT_VALIDITY).unwrap();
    third.fake.insert(
        &Gvr::core("secrets"),
        key_secret("sealed-secrets-key0abcd", "active", &key, &cert),
    );
    ok(&[
        "keys",
        "restore",
        s(&bundle),
        "-i",
        s(&id_path),
        "--kubeconfig",
        kc(&third),
    ]);
    assert_eq!(secrets(&third).len(), 3);
    assert_eq!(keyring_from(&third).len(), 3);

    // Compromise through the API: relabel only.
    let fp = rows.iter().find(|r| r["status"] == "active").unwrap()["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let (good, _, err) = run(&["keys", "compromise", &fp, "--kubeconfig", kc(&dst)]);
    assert!(good, "{err}");
    assert!(err.contains("rotate the real secrets"), "{err}");
    assert!(
        secrets(&dst)
            .iter()
            .all(|s| s["metadata"]["labels"][KEY_LABEL] == "compromised")
    );
    assert_eq!(secrets(&dst).len(), 2, "nothing deleted");
}

#[test]
fn errors_from_the_cluster_are_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = cluster(tmp.path(), "empty");
    let out = tmp.path().join("b.age");
    let err = fails(&[
        "keys",
        "backup",
        "--kubeconfig",
        kc(&empty),
        "-o",
        s(&out),
        "--unencrypted",
    ]);
    assert!(
        err.contains("no sealing keys in namespace kube-system"),
        "{err}"
    );
    assert!(!out.exists());
    let err = fails(&[
        "keys",
        "list",
        "--kubeconfig",
        s(&tmp.path().join("missing")),
    ]);
    assert!(err.contains("missing: no such file or directory"), "{err}");
}

/// `kubeseal keys …` built its client with `Config::infer()` and ignored the kubectl overrides
/// (`--server`, `--token`, `--as`, `--request-timeout`, …) that the sealing modes honour; both
/// now use one builder.
#[test]
fn keys_honour_the_kubeconfig_overrides_like_sealing() {
    let tmp = tempfile::tempdir().unwrap();
    let c = cluster(tmp.path(), "overrides");
    let key = PrivateKey::generate(2048).unwrap();
    let cert = Certificate::self_signed(&key, "", seal::keys::DEFAULT_CERT_VALIDITY).unwrap();
    c.fake.insert(
        &Gvr::core("secrets"),
        key_secret("sealed-secrets-keyabc", "active", &key, &cert),
    );
    let addr = c.fake.addr().unwrap();
    // A kubeconfig whose server answers nothing: only --server reaches the fake.
    let dead = tmp.path().join("dead.kubeconfig");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    fs::write(&dead, FakeApiServer::kubeconfig_yaml(closed, "default")).unwrap();
    let server = format!("http://{addr}");
    let out = ok(&[
        "keys",
        "list",
        "-o",
        "json",
        "--kubeconfig",
        s(&dead),
        "--server",
        &server,
        "--request-timeout",
        "5s",
    ]);
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["fingerprint"], key.fingerprint().to_string());
    let err = fails(&[
        "keys",
        "list",
        "--kubeconfig",
        s(&dead),
        "--request-timeout",
        "5s",
    ]);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

const RENEWAL: &str = "sealedsecrets.bitnami.com/renewal-requested-at";

/// Plays the controller: waits for the renewal annotation on `name`, then writes `new_key`
/// as a new active key Secret. Returns the annotation's value.
fn play_controller(fake: &FakeApiServer, name: &str, new_key: &PrivateKey) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let secret = fake.get(&Gvr::core("secrets"), NS, name).unwrap();
        if let Some(at) = secret["metadata"]["annotations"][RENEWAL].as_str() {
            let cert =
                Certificate::self_signed(new_key, "", seal::keys::DEFAULT_CERT_VALIDITY).unwrap();
            fake.insert(
                &Gvr::core("secrets"),
                key_secret("sealed-secrets-keynew", "active", new_key, &cert),
            );
            return at.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no renewal request");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn rotate_asks_the_controller_through_the_renewal_annotation() {
    let tmp = tempfile::tempdir().unwrap();
    let c = cluster(tmp.path(), "rot");
    let old = PrivateKey::generate(2048).unwrap();
    let old_cert = Certificate::self_signed(&old, "", seal::keys::DEFAULT_CERT_VALIDITY).unwrap();
    c.fake.insert(
        &Gvr::core("secrets"),
        key_secret("sealed-secrets-keyold", "active", &old, &old_cert),
    );
    let new = PrivateKey::generate(2048).unwrap();
    let cert_out = tmp.path().join("new.crt");
    let before = SystemTime::now();
    let (at, out) = std::thread::scope(|scope| {
        let controller = scope.spawn(|| play_controller(&c.fake, "sealed-secrets-keyold", &new));
        let out = ok(&[
            "keys",
            "rotate",
            "--kubeconfig",
            kc(&c),
            "--cert-out",
            s(&cert_out),
        ]);
        (controller.join().unwrap(), out)
    });
    assert_eq!(out.trim(), new.fingerprint().as_str());
    let cert = Certificate::from_pem(&fs::read(&cert_out).unwrap()).unwrap();
    assert_eq!(cert.public_key().fingerprint(), new.fingerprint());
    // RFC 3339, UTC, whole seconds, not before the request and after the old key was made.
    assert!(
        at.len() == 20 && at.ends_with('Z') && !at.contains('.'),
        "{at}"
    );
    let requested = SystemTime::from(at.parse::<jiff::Timestamp>().unwrap());
    assert!(
        requested + std::time::Duration::from_secs(1) >= before,
        "{at}"
    );
    assert!(requested > old_cert.not_before(), "{at}");
    // Only the annotation was written; no HTTP call to the controller, nothing deleted.
    assert_eq!(secrets(&c).len(), 2);
    assert!(
        c.fake.requests().iter().all(|r| !r.path.contains("/proxy")),
        "no service proxy use"
    );
    assert!(
        c.fake.requests().iter().any(|r| r
            .patch_type
            .as_deref()
            .is_some_and(|t| t.contains("merge-patch"))),
        "a merge patch"
    );
}

#[test]
fn rotate_fails_clearly_without_a_controller_or_a_key() {
    let tmp = tempfile::tempdir().unwrap();
    let c = cluster(tmp.path(), "idle");
    let err = fails(&["keys", "rotate", "--kubeconfig", kc(&c)]);
    assert!(
        err.contains("no active sealing key in namespace kube-system"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let key = PrivateKey::generate(2048).unwrap();
    let cert = Certificate::self_signed(&key, "", seal::keys::DEFAULT_CERT_VALIDITY).unwrap();
    c.fake.insert(
        &Gvr::core("secrets"),
        key_secret("sealed-secrets-keyidle", "active", &key, &cert),
    );
    let (ok, _, err) = run(&["keys", "rotate", "--kubeconfig", kc(&c), "--timeout", "1s"]);
    assert!(!ok);
    let last = err.trim().lines().last().unwrap();
    assert!(
        last.starts_with("error: no new key appeared in namespace kube-system within 1s"),
        "{err}"
    );
    let secret = c
        .fake
        .get(&Gvr::core("secrets"), NS, "sealed-secrets-keyidle")
        .unwrap();
    assert!(secret["metadata"]["annotations"][RENEWAL].is_string());
    // The HTTP route is gone.
    let (ok, _, err) = run(&["keys", "rotate", "--controller-url", "http://127.0.0.1:1"]);
    assert!(!ok && err.contains("--controller-url"), "{err}");
}
