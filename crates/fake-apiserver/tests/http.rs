//! The fake served over HTTP, reached through a kubeconfig, and its service proxy.

use fake_apiserver::{FakeApiServer, Gvr, ProxyResponse, Verb};
use k8s_openapi::api::core::v1::Secret;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde_json::json;

async fn client_from_kubeconfig(path: &std::path::Path) -> Client {
    let kc = Kubeconfig::read_from(path).unwrap();
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

fn get(path: &str) -> http::Request<Vec<u8>> {
    http::Request::get(path).body(Vec::new()).unwrap()
}

#[tokio::test]
async fn kubeconfig_client_over_http() {
    let fake = FakeApiServer::new();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    let addr = fake.write_kubeconfig(&kc, "team-a").unwrap();
    assert_eq!(fake.serve().await.unwrap(), addr, "serving is idempotent");
    let client = client_from_kubeconfig(&kc).await;
    assert_eq!(client.default_namespace(), "team-a");
    let api: Api<Secret> = Api::default_namespaced(client.clone());
    let s: Secret =
        serde_json::from_value(json!({"metadata": {"name": "x"}, "stringData": {"a": "b"}}))
            .unwrap();
    api.create(&Default::default(), &s).await.unwrap();
    assert!(fake.get(&Gvr::secrets(), "team-a", "x").is_some());
    assert_eq!(client.apiserver_version().await.unwrap().minor, "33");

    // Watches stream over HTTP too.
    use futures::StreamExt;
    let mut wp = kube::api::WatchParams::default().timeout(2);
    wp.bookmarks = false;
    let mut stream = api.watch(&wp, "0").await.unwrap().boxed();
    let first = stream.next().await.unwrap().unwrap();
    assert!(
        matches!(first, kube::api::WatchEvent::Added(ref s) if s.metadata.name.as_deref() == Some("x"))
    );
    api.delete("x", &Default::default()).await.unwrap();
    let second = stream.next().await.unwrap().unwrap();
    assert!(matches!(second, kube::api::WatchEvent::Deleted(_)));
}

#[tokio::test]
async fn service_proxy_to_handler_and_url() {
    let fake = FakeApiServer::new();
    fake.set_service_proxy_handler("kube-system", "sealed-secrets-controller", |req| {
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/v1/cert.pem") => ProxyResponse::new(
                200,
                "application/x-pem-file",
                "-----BEGIN CERTIFICATE-----\n",
            ),
            ("POST", "/v1/verify") if req.body.as_ref() == b"{}" => {
                ProxyResponse::new(409, "text/plain", "")
            }
            _ => ProxyResponse::new(404, "text/plain", "404 page not found\n"),
        }
    });
    let client = fake.client("default");
    let base = "/api/v1/namespaces/kube-system/services";
    for id in [
        "http:sealed-secrets-controller:http",
        "http:sealed-secrets-controller:8080",
        "sealed-secrets-controller:http",
    ] {
        let text = client
            .request_text(get(&format!("{base}/{id}/proxy/v1/cert.pem")))
            .await
            .unwrap();
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----"), "{id}");
    }
    // Percent-encoded colons work as well.
    let text = client
        .request_text(get(&format!(
            "{base}/http%3Asealed-secrets-controller%3Ahttp/proxy/v1/cert.pem"
        )))
        .await
        .unwrap();
    assert!(text.starts_with("-----BEGIN"));
    let verify = http::Request::post(format!(
        "{base}/http:sealed-secrets-controller:http/proxy/v1/verify"
    ))
    .body(b"{}".to_vec())
    .unwrap();
    let err = client.request_text(verify).await.unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409),
        "{err:?}"
    );

    // An unnamed port (upstream's controller.yaml) does not match a named one, as on a real cluster.
    let err = client
        .request_text(get(&format!(
            "{base}/http:sealed-secrets-controller:/proxy/v1/cert.pem"
        )))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 503);
            assert!(
                s.message.contains("no endpoints available"),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }
    // Missing service → 404 NotFound.
    let err = client
        .request_text(get(&format!("{base}/http:nope:/proxy/v1/cert.pem")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 404 && s.message == r#"services "nope" not found"#)
    );
    assert_eq!(fake.count(Verb::Proxy, "services/proxy"), 7);

    // Service GET (kubeseal looks up the port name).
    let svc: Api<k8s_openapi::api::core::v1::Service> =
        Api::namespaced(client.clone(), "kube-system");
    let s = svc.get("sealed-secrets-controller").await.unwrap();
    assert_eq!(
        s.spec.unwrap().ports.unwrap()[0].name.as_deref(),
        Some("http")
    );

    // Forwarding to a real local URL: a second fake served over HTTP plays the backend.
    let backend = FakeApiServer::new();
    let backend_addr = backend.serve().await.unwrap();
    fake.set_service_proxy("default", "backend", &format!("http://{backend_addr}"));
    let text = client
        .request_text(get(
            "/api/v1/namespaces/default/services/http:backend:http/proxy/version",
        ))
        .await
        .unwrap();
    assert!(text.contains("\"gitVersion\""), "{text}");
    let post = http::Request::post("/api/v1/namespaces/default/services/backend:8080/proxy/api/v1/namespaces/default/configmaps")
        .header("content-type", "application/json")
        .body(json!({"metadata": {"name": "via-proxy"}}).to_string().into_bytes())
        .unwrap();
    client.request_text(post).await.unwrap();
    assert!(
        backend
            .get(&Gvr::core("configmaps"), "default", "via-proxy")
            .is_some()
    );

    fake.clear_service_proxy("default", "backend");
    let err = client
        .request_text(get(
            "/api/v1/namespaces/default/services/http:backend:http/proxy/version",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 503));
}

/// A real binary (kubectl) driven against the served fake. Skipped when kubectl is missing.
#[test]
fn kubectl_against_the_fake() {
    use std::process::Command;
    let fake = FakeApiServer::new();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    fake.write_kubeconfig(&kc, "default").unwrap();
    let kubectl = |args: &[&str]| {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kc)
            .args(args)
            .output()
    };
    let out = match kubectl(&["get", "ns", "-o", "name"]) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("SKIPPED: kubectl not available ({e})");
            return;
        }
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "namespace/default\nnamespace/kube-public\nnamespace/kube-system\n"
    );
    let manifest = dir.path().join("s.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  a: b\n",
    )
    .unwrap();
    // Validation would need /openapi/v2, which the fake does not serve.
    let out = kubectl(&[
        "apply",
        "--validate=false",
        "-f",
        manifest.to_str().unwrap(),
    ])
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = fake.get(&Gvr::secrets(), "default", "s").unwrap();
    assert_eq!(s["data"]["a"], "Yg==");
    let out = kubectl(&["get", "secret", "s", "-o", "jsonpath={.data.a}"]).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Yg==");
}
