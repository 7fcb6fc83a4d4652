//! Shared test support: paths to fixtures, a clean `kubeseal` command, and a tiny HTTP
//! server that plays the sealed-secrets controller and the API server's service proxy.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use seal::{Certificate, Keyring, SealedSecret, read_private_keys, reencrypt, verify};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A path under the workspace root.
pub fn repo(path: &str) -> PathBuf {
    root().join(path)
}

/// A path under the compat vectors (in the repo, under `crates/seal/tests/fixtures/compat`).
pub fn compat(path: &str) -> PathBuf {
    repo("crates/seal/tests/fixtures/compat").join(path)
}

/// A path under this crate's fixtures.
pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

pub fn dev_cert() -> PathBuf {
    repo("keys/tls.crt")
}

pub fn dev_key() -> PathBuf {
    repo("keys/tls.key")
}

/// `kubeseal` with a clean environment: no KUBECONFIG, no SEALED_SECRETS_*, a HOME without
/// a kubeconfig, not in a cluster.
pub fn kubeseal() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeseal"));
    cmd.env_clear()
        .env("HOME", "/nonexistent-kubeseal-test-home")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    cmd
}

/// Reads a keyring from key files.
pub fn keyring(paths: &[PathBuf]) -> Keyring {
    let mut ring = Keyring::new();
    for path in paths {
        for key in read_private_keys(&std::fs::read(path).unwrap()).unwrap() {
            let time = key
                .certificate
                .as_ref()
                .map_or(std::time::UNIX_EPOCH, Certificate::not_before);
            ring.insert(key.key, key.certificate, time);
        }
    }
    ring
}

pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// `stderr` without the warning every run sealing with the development certificate prints.
pub fn without_dev_cert_warning(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with("warning: sealed with the development certificate"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// One request the fake server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// What the fake server knows.
pub struct Controller {
    /// `/v1/cert.pem` reply.
    pub cert_pem: Vec<u8>,
    /// Keys for `/v1/verify` and `/v1/rotate`.
    pub keyring: Keyring,
    /// Certificate `/v1/rotate` seals with.
    pub rotate_cert: Certificate,
    /// Controller Service namespace and name for the API-server paths.
    pub service_namespace: String,
    pub service_name: String,
}

impl Controller {
    /// The development key and certificate, service `kube-system/sealed-secrets-controller`.
    pub fn dev() -> Self {
        let cert_pem = std::fs::read(dev_cert()).unwrap();
        Self {
            rotate_cert: Certificate::from_pem(&cert_pem).unwrap(),
            cert_pem,
            keyring: keyring(&[dev_key()]),
            service_namespace: "kube-system".into(),
            service_name: "sealed-secrets-controller".into(),
        }
    }
}

/// A fake controller + API server on 127.0.0.1.
pub struct Server {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    pub fn start(controller: Controller) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = handle(stream, &controller, &log);
            }
        });
        Self { url, seen }
    }

    pub fn paths(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| format!("{} {}", s.method, s.path))
            .collect()
    }

    /// Writes a kubeconfig pointing at this server; returns its path (inside `dir`).
    pub fn kubeconfig(&self, dir: &Path, namespace: Option<&str>) -> PathBuf {
        write_kubeconfig(dir, &self.url, namespace)
    }
}

pub fn write_kubeconfig(dir: &Path, server: &str, namespace: Option<&str>) -> PathBuf {
    let ns = namespace.map_or(String::new(), |ns| format!("    namespace: {ns}\n"));
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {server}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n{ns}- name: other\n  context:\n    cluster: fake\n    user: fake\n    namespace: otherns\ncurrent-context: fake\nusers:\n- name: fake\n  user:\n    token: kubeconfig-token\n"
    );
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    path
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        path,
        headers,
        body,
    })
}

/// Serves one connection. A `CONNECT` (the server playing an HTTP proxy) is accepted and
/// the tunnelled request served on the same stream; both are recorded.
fn handle(mut stream: TcpStream, controller: &Controller, log: &Mutex<Vec<Seen>>) -> Option<()> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request = read_request(&mut reader)?;
    if request.method == "CONNECT" {
        stream
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .ok()?;
        log.lock().unwrap().push(request);
        request = read_request(&mut reader)?;
    }
    let (status, content_type, reply) =
        route(&request.method, &request.path, &request.body, controller);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        reply.len()
    );
    log.lock().unwrap().push(request);
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(&reply).ok()?;
    stream.flush().ok()
}

fn not_found(what: &str) -> (&'static str, &'static str, Vec<u8>) {
    let status = serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure",
        "message": format!("{what} not found"), "reason": "NotFound", "code": 404
    });
    (
        "404 Not Found",
        "application/json",
        serde_json::to_vec(&status).unwrap(),
    )
}

fn route(
    method: &str,
    path: &str,
    body: &[u8],
    c: &Controller,
) -> (&'static str, &'static str, Vec<u8>) {
    let service = format!(
        "/api/v1/namespaces/{}/services/{}",
        c.service_namespace, c.service_name
    );
    let proxy = format!(
        "/api/v1/namespaces/{}/services/http:{}:http/proxy",
        c.service_namespace, c.service_name
    );
    if method == "GET" && path == service {
        let reply = serde_json::json!({
            "kind": "Service", "apiVersion": "v1",
            "metadata": {"name": c.service_name, "namespace": c.service_namespace},
            "spec": {"ports": [{"name": "http", "port": 8080, "targetPort": 8080}]}
        });
        return (
            "200 OK",
            "application/json",
            serde_json::to_vec(&reply).unwrap(),
        );
    }
    if path.starts_with("/api/v1/namespaces/") && !path.starts_with(&proxy) {
        return not_found(&format!("services {:?}", path.rsplit('/').next().unwrap()));
    }
    let endpoint = path.strip_prefix(&proxy).unwrap_or(path);
    match (method, endpoint) {
        ("GET", "/v1/cert.pem" | "/files/cert.pem") => {
            ("200 OK", "application/x-pem-file", c.cert_pem.clone())
        }
        ("POST", "/v1/verify") => {
            let Ok(sealed) = serde_json::from_slice::<SealedSecret>(body) else {
                return ("400 Bad Request", "text/plain", b"bad request".to_vec());
            };
            match verify(&sealed, &c.keyring) {
                Ok(()) => ("200 OK", "text/plain", Vec::new()),
                Err(_) => ("409 Conflict", "text/plain", b"Conflict".to_vec()),
            }
        }
        ("POST", "/v1/rotate") => {
            let Ok(sealed) = serde_json::from_slice::<SealedSecret>(body) else {
                return ("400 Bad Request", "text/plain", b"bad request".to_vec());
            };
            match reencrypt(&sealed, &c.keyring, c.rotate_cert.public_key()) {
                Ok(mut rotated) => {
                    rotated
                        .metadata
                        .extra
                        .insert("creationTimestamp".into(), "2024-01-01T00:00:00Z".into());
                    (
                        "200 OK",
                        "application/json",
                        serde_json::to_vec(&rotated).unwrap(),
                    )
                }
                Err(_) => ("409 Conflict", "text/plain", b"Conflict".to_vec()),
            }
        }
        ("GET", "/v1/broken") => ("500 Internal Server Error", "text/plain", b"boom".to_vec()),
        _ => (
            "404 Not Found",
            "text/plain",
            b"404 page not found".to_vec(),
        ),
    }
}

/// Unseals `sealed` (any format) with `key` through the binary; returns the Secrets.
pub fn unseal_with(key: &Path, sealed: &str) -> Vec<seal::Secret> {
    let output = kubeseal()
        .arg("--recovery-unseal")
        .arg("--recovery-private-key")
        .arg(key)
        .write_stdin(sealed.to_owned())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "unseal failed: {}",
        stderr(&output)
    );
    seal::read_secrets(&stdout(&output)).unwrap()
}

/// The plaintext of item `key` of a Secret.
pub fn value(secret: &seal::Secret, key: &str) -> String {
    String::from_utf8(secret.data[key].expose().to_vec()).unwrap()
}
