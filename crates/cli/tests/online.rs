//! Online modes against a fake controller / API server: --controller-url, the service proxy
//! via kubeconfig, --cert URLs, --fetch-cert, --validate and --re-encrypt.

mod common;

use std::fs;

use common::*;
use predicates::prelude::*;

const SECRET_YAML: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: mysecret\n  namespace: myns\nstringData:\n  user: admin\n";

fn sealed_yaml() -> String {
    let out = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(SECRET_YAML)
        .output()
        .unwrap();
    stdout(&out)
}

#[test]
fn seal_with_controller_url() {
    let server = Server::start(Controller::dev());
    let out = kubeseal()
        .args(["--controller-url", &server.url])
        .write_stdin(SECRET_YAML)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        value(&unseal_with(&dev_key(), &stdout(&out))[0], "user"),
        "admin"
    );
    assert_eq!(server.paths(), ["GET /v1/cert.pem"]);
    // A trailing slash and a path prefix are fine.
    kubeseal()
        .args(["--controller-url", &format!("{}/", server.url)])
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
}

#[test]
fn seal_through_the_api_server_service_proxy() {
    let server = Server::start(Controller::dev());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path(), Some("ctxns"));
    let out = kubeseal()
        .env("KUBECONFIG", &kubeconfig)
        .write_stdin("kind: Secret\nmetadata: {name: a}\nstringData: {k: v}\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let secrets = unseal_with(&dev_key(), &stdout(&out));
    assert_eq!(secrets[0].metadata.namespace(), "ctxns");
    assert_eq!(
        server.paths(),
        [
            "GET /api/v1/namespaces/kube-system/services/sealed-secrets-controller",
            "GET /api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem",
        ]
    );
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen[1].headers["authorization"], "Bearer kubeconfig-token");
    assert!(seen[1].headers["accept"].contains("application/x-pem-file"));
}

#[test]
fn controller_name_namespace_and_connection_overrides() {
    let mut controller = Controller::dev();
    controller.service_namespace = "sealed".into();
    controller.service_name = "sealed-secrets".into();
    let server = Server::start(controller);
    let dir = tempfile::tempdir().unwrap();
    // The kubeconfig points nowhere; --server and --token override it.
    let kubeconfig = write_kubeconfig(dir.path(), "http://127.0.0.1:1", None);
    kubeseal()
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--server", &server.url, "--token", "flag-token"])
        .args(["--controller-namespace", "sealed"])
        .env("SEALED_SECRETS_CONTROLLER_NAME", "sealed-secrets")
        .write_stdin(SECRET_YAML)
        .assert()
        .success()
        .stdout(predicate::str::contains("kind: SealedSecret"));
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(
        seen[1].path,
        "/api/v1/namespaces/sealed/services/http:sealed-secrets:http/proxy/v1/cert.pem"
    );
    assert_eq!(seen[0].headers["authorization"], "Bearer flag-token");
    // --server alone works with no kubeconfig at all.
    kubeseal()
        .args([
            "-s",
            &server.url,
            "--controller-namespace",
            "sealed",
            "--controller-name",
            "sealed-secrets",
        ])
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
}

#[test]
fn missing_service_and_no_cluster_errors() {
    let server = Server::start(Controller::dev());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path(), None);
    kubeseal()
        .env("KUBECONFIG", &kubeconfig)
        .args(["--controller-name", "nope"])
        .write_stdin(SECRET_YAML)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            r#"error: cannot get sealed secret service: services "nope" not found. Please, use the flag --controller-name and --controller-namespace"#,
        ));
    // Unreachable API server: one line, exit 1.
    let dead = write_kubeconfig(dir.path(), "http://127.0.0.1:1", None);
    let out = kubeseal()
        .arg("--kubeconfig")
        .arg(&dead)
        .args(["--request-timeout", "5s"])
        .write_stdin(SECRET_YAML)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("error: cannot get sealed secret service:"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1);
    // No configuration at all.
    kubeseal()
        .write_stdin(SECRET_YAML)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no configuration has been provided",
        ));
}

#[test]
fn cert_from_url() {
    let server = Server::start(Controller::dev());
    kubeseal()
        .args(["--cert", &format!("{}/files/cert.pem", server.url)])
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
    let url = format!("{}/missing.pem", server.url);
    kubeseal()
        .args(["--cert", &url])
        .write_stdin(SECRET_YAML)
        .assert()
        .code(1)
        .stderr(format!("error: cannot fetch {url:?}: 404 Not Found\n"));
}

#[test]
fn fetch_cert_prints_it_verbatim() {
    let server = Server::start(Controller::dev());
    let pem = fs::read(dev_cert()).unwrap();
    kubeseal()
        .args(["--fetch-cert", "--controller-url", &server.url])
        .assert()
        .success()
        .stdout(pem.clone());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path(), None);
    kubeseal()
        .args(["--fetch-cert", "--kubeconfig"])
        .arg(&kubeconfig)
        .assert()
        .success()
        .stdout(pem.clone());
    let target = dir.path().join("cert.pem");
    kubeseal()
        .args(["--fetch-cert", "--cert"])
        .arg(dev_cert())
        .arg("-w")
        .arg(&target)
        .assert()
        .success()
        .stdout("");
    assert_eq!(fs::read(&target).unwrap(), pem);
}

#[test]
fn validate_online() {
    let server = Server::start(Controller::dev());
    let sealed = sealed_yaml();
    kubeseal()
        .args(["--validate", "--controller-url", &server.url])
        .write_stdin(sealed.clone())
        .assert()
        .success()
        .stdout("");
    let renamed = sealed.replace("name: mysecret", "name: other");
    kubeseal()
        .args(["--validate", "--controller-url", &server.url])
        .write_stdin(renamed.clone())
        .assert()
        .code(1)
        .stderr("error: unable to decrypt sealed secret: other\n");
    let posted = server.seen.lock().unwrap()[0].clone();
    assert_eq!(posted.path, "/v1/verify");
    let body: serde_json::Value = serde_json::from_slice(&posted.body).unwrap();
    assert_eq!(body["kind"], "SealedSecret");
    // Through the service proxy.
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path(), None);
    kubeseal()
        .args(["--validate", "--kubeconfig"])
        .arg(&kubeconfig)
        .write_stdin(sealed)
        .assert()
        .success();
    kubeseal()
        .args(["--validate", "--kubeconfig"])
        .arg(&kubeconfig)
        .write_stdin(renamed)
        .assert()
        .code(1)
        .stderr("error: unable to decrypt sealed secret: other\n");
    assert!(server.paths().contains(
        &"POST /api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/verify".to_owned()
    ));
}

#[test]
fn re_encrypt_online_and_in_place() {
    // The controller rotates to the 4096-bit vector key.
    let mut controller = Controller::dev();
    controller.rotate_cert =
        seal::Certificate::from_pem(&fs::read(compat("keys/rsa4096/tls.crt")).unwrap()).unwrap();
    let server = Server::start(controller);
    let sealed = sealed_yaml();
    let out = kubeseal()
        .args(["--re-encrypt", "--controller-url", &server.url])
        .write_stdin(sealed.clone())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("---\n"));
    assert!(!text.contains("creationTimestamp"));
    let secrets = unseal_with(&compat("keys/rsa4096/tls.key"), &text);
    assert_eq!(value(&secrets[0], "user"), "admin");
    // -f without -w rewrites the file in place, keeping YAML; --rotate is the old spelling.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sealed.yaml");
    fs::write(&file, &sealed).unwrap();
    let kubeconfig = server.kubeconfig(dir.path(), None);
    kubeseal()
        .args(["--rotate", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("-f")
        .arg(&file)
        .assert()
        .success()
        .stdout("")
        .stderr(predicate::str::contains("--rotate has been deprecated"));
    let rewritten = fs::read_to_string(&file).unwrap();
    assert!(rewritten.starts_with("---\n"));
    assert_eq!(
        value(
            &unseal_with(&compat("keys/rsa4096/tls.key"), &rewritten)[0],
            "user"
        ),
        "admin"
    );
    // A SealedSecret the controller cannot open: upstream's error, file untouched.
    let foreign = fs::read_to_string(compat("negative/foreign-key.yaml")).unwrap();
    fs::write(&file, &foreign).unwrap();
    kubeseal()
        .args(["--re-encrypt", "--controller-url", &server.url, "-f"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "error: unable to rotate secret",
        ));
    assert_eq!(fs::read_to_string(&file).unwrap(), foreign);
}

#[test]
fn proxies_from_the_environment() {
    let server = Server::start(Controller::dev());
    // HTTP_PROXY carries a plain-http --cert URL (tunnelled with CONNECT).
    kubeseal()
        .env("HTTP_PROXY", &server.url)
        .args(["--cert", "http://sealing.example.invalid/files/cert.pem"])
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
    assert_eq!(
        server.paths(),
        ["CONNECT sealing.example.invalid:80", "GET /files/cert.pem"]
    );
    // NO_PROXY and loopback addresses bypass it (the proxy here does not exist).
    kubeseal()
        .env("HTTP_PROXY", "http://127.0.0.1:1")
        .env("HTTPS_PROXY", "http://127.0.0.1:1")
        .args(["--controller-url", &server.url])
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path(), None);
    kubeseal()
        .env("HTTPS_PROXY", "http://127.0.0.1:1")
        .env("HTTP_PROXY", "http://127.0.0.1:1")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
}

/// A refused connection, a name that does not resolve and a TLS failure all read
/// `ServiceError: client error (Connect)`: the reason is further down the error's chain.
#[test]
fn connection_failures_say_why_and_where() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}/cert.pem");
    kubeseal()
        .args(["--cert", &url])
        .write_stdin(SECRET_YAML)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "tcp connect error: Connection refused",
        ));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), &format!("http://127.0.0.1:{closed}"), None);
    kubeseal()
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--controller-namespace", "zzz", "--fetch-cert"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "Get \"http://127.0.0.1:{closed}/api/v1/namespaces/zzz/services/sealed-secrets-controller\""
        )))
        .stderr(predicate::str::contains("Connection refused"));
}

/// kubectl's `--proxy-url` was refused as an unknown flag; upstream takes it.
#[test]
fn proxy_url_flag_carries_the_api_server_requests() {
    let server = Server::start(Controller::dev());
    let dir = tempfile::tempdir().unwrap();
    // A server name that does not resolve: only the proxy can reach it.
    let kubeconfig = write_kubeconfig(dir.path(), "http://api.example.invalid", None);
    kubeseal()
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--proxy-url", &server.url, "--disable-compression"])
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
    let paths = server.paths();
    assert!(
        paths.iter().any(|p| p.contains("/proxy/v1/cert.pem")),
        "{paths:?}"
    );
}
