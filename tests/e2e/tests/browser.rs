//! The sealing page (`/` on the controller's API port) in a real headless Chromium: what it
//! writes is what `kubeseal` writes for the same input (ciphertexts aside), `kubeseal
//! --recovery-unseal` and the controller open it to the same bytes, and the only request the
//! page makes is for the certificate. Runs against the built controller binary on the real
//! control plane (the service-proxy path on the fake, which can proxy to a local process);
//! screenshots go to `<target>/<profile>/screenshots/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use e2e::browser::{Browser, PageRequest};
use e2e::{Env, Target};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use sealed_secrets_controller::crd::SealedSecret;
use serde_json::{Value, json};

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

macro_rules! browser_test {
    (Cluster, $name:ident) => {
        #[cfg_attr(
            not(all(browser, control_plane)),
            ignore = "needs chromium, chromium-driver and the test control plane: see tests/README.md"
        )]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            e2e::run(Target::Cluster, stringify!($name), bodies::$name).await;
        }
    };
    (Fake, $name:ident) => {
        #[cfg_attr(
            not(browser),
            ignore = "needs chromium and chromium-driver: apt-get install chromium chromium-driver"
        )]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            e2e::run(Target::Fake, stringify!($name), bodies::$name).await;
        }
    };
}

browser_test!(
    Cluster,
    form_with_text_and_binary_file_opens_to_the_same_bytes
);
browser_test!(
    Cluster,
    each_scope_matches_kubeseal_and_opens_where_it_should
);
browser_test!(Cluster, pasted_manifest_seals_like_kubeseal);
browser_test!(Fake, page_works_through_the_api_server_service_proxy);
browser_test!(Cluster, bad_inputs_show_their_errors_next_to_the_field);
browser_test!(Cluster, keyboard_only_seal_then_download);

/// Standalone (file://): no controller involved, the certificate is pasted.
#[cfg_attr(
    not(browser),
    ignore = "needs chromium and chromium-driver: apt-get install chromium chromium-driver"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_certificate_is_refused_unless_the_box_is_ticked() {
    let dir = tempfile::tempdir().unwrap();
    let browser = Browser::start(1280, 1000).await;
    let url = format!("file://{}", web_dir().join("index.html").display());
    browser.goto(&url).await;
    wait_for(
        &browser,
        "the file-mode hint",
        "return document.getElementById('cert-source').textContent.includes('Opened from a file')",
    )
    .await;
    let expired =
        std::fs::read_to_string(repo().join("crates/cli/tests/fixtures/expired.crt")).unwrap();
    set_value(&browser, "#cert-pem", &expired).await;
    wait_for(
        &browser,
        "the fingerprint",
        "return document.getElementById('cert-fingerprint').textContent.startsWith('SHA256:')",
    )
    .await;
    let shown = page_text(&browser, "#cert-not-after").await;
    assert_eq!(shown, "2020-01-02T00:00:00Z (expired)");
    let cert = seal::Certificate::from_pem(expired.as_bytes()).unwrap();
    assert_eq!(
        page_text(&browser, "#cert-fingerprint").await,
        cert.public_key().fingerprint().as_str()
    );

    fill(
        &browser,
        &Form::new(
            "s",
            "ns",
            "strict",
            &[("k", Item::Text("v-expired-plaintext"))],
        ),
    )
    .await;
    let result = seal(&browser).await;
    assert_eq!(result.output, "");
    assert_eq!(
        result.errors,
        [(
            "cert-error".to_owned(),
            "the certificate expired on 2020-01-02T00:00:00Z; tick the box below to seal with it anyway".to_owned()
        )]
    );

    browser.click("#allow-expired").await;
    let result = seal(&browser).await;
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let key = dir.path().join("tls.key");
    std::fs::copy(repo().join("keys/tls.key"), &key).unwrap();
    let secret = recovery_unseal_with(&key, &result.output, None);
    assert_eq!(secret["k"], b"v-expired-plaintext");

    let requests = browser.requests().await;
    let network: Vec<&PageRequest> = requests
        .iter()
        .filter(|r| !r.url.starts_with("file://") && r.url != "data:,")
        .collect();
    assert!(
        network.is_empty(),
        "a page opened from a file made requests: {:?}",
        network.iter().map(|r| &r.url).collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn web_dir() -> PathBuf {
    repo().join("crates/controller/web")
}

fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[derive(Clone, Copy)]
enum Item<'a> {
    Text(&'a str),
    Base64(&'a str),
    File(&'a Path),
}

struct Form<'a> {
    name: &'a str,
    namespace: &'a str,
    scope: &'a str,
    type_: &'a str,
    items: &'a [(&'a str, Item<'a>)],
}

impl<'a> Form<'a> {
    fn new(
        name: &'a str,
        namespace: &'a str,
        scope: &'a str,
        items: &'a [(&'a str, Item<'a>)],
    ) -> Self {
        Self {
            name,
            namespace,
            scope,
            type_: "Opaque",
            items,
        }
    }

    /// The bytes each item holds.
    fn bytes(&self) -> BTreeMap<String, Vec<u8>> {
        self.items
            .iter()
            .map(|(key, item)| {
                let bytes = match item {
                    Item::Text(t) => t.as_bytes().to_vec(),
                    Item::Base64(b) => BASE64.decode(b).unwrap(),
                    Item::File(p) => std::fs::read(p).unwrap(),
                };
                ((*key).to_owned(), bytes)
            })
            .collect()
    }

    /// The same Secret as a manifest, for kubeseal.
    fn manifest(&self) -> String {
        let data: serde_json::Map<String, Value> = self
            .bytes()
            .into_iter()
            .map(|(k, v)| (k, json!(BASE64.encode(v))))
            .collect();
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "type": self.type_,
            "data": data,
        })
        .to_string()
    }
}

async fn set_value(browser: &Browser, css: &str, value: &str) {
    // Large texts (certificates, manifests) are set at once, as a paste would.
    browser
        .execute(
            "const el = document.querySelector(arguments[0]); el.value = arguments[1]; el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true}));",
            &[json!(css), json!(value)],
        )
        .await;
}

async fn select(browser: &Browser, css: &str, value: &str) {
    set_value(browser, css, value).await;
}

async fn type_text(browser: &Browser, css: &str, text: &str) {
    browser.clear(css).await;
    if !text.is_empty() {
        browser.type_into(css, text).await;
    }
}

async fn fill(browser: &Browser, form: &Form<'_>) {
    type_text(browser, "#name", form.name).await;
    type_text(browser, "#namespace", form.namespace).await;
    select(browser, "#scope", form.scope).await;
    type_text(browser, "#type", form.type_).await;
    // Rows are numbered from 1 in the order they were added; start from one fresh row.
    browser
        .execute("document.getElementById('items').replaceChildren();", &[])
        .await;
    for (key, item) in form.items {
        browser.click("#add-item").await;
        let n = browser
            .execute(
                "return document.querySelector('#items li:last-child').dataset.n;",
                &[],
            )
            .await;
        let n = n.as_str().unwrap().to_owned();
        type_text(browser, &format!("#item-key-{n}"), key).await;
        match item {
            Item::Text(text) => type_text(browser, &format!("#item-value-{n}"), text).await,
            Item::Base64(text) => {
                select(browser, &format!("#item-source-{n}"), "base64").await;
                type_text(browser, &format!("#item-value-{n}"), text).await;
            }
            Item::File(path) => {
                select(browser, &format!("#item-source-{n}"), "file").await;
                browser
                    .type_into(&format!("#item-file-{n}"), &path.display().to_string())
                    .await;
            }
        }
    }
}

struct Sealed {
    output: String,
    /// (id, text) of every error shown.
    errors: Vec<(String, String)>,
}

async fn wait_for(browser: &Browser, what: &str, script: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while browser.execute(script, &[]).await != json!(true) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn page_text(browser: &Browser, css: &str) -> String {
    browser
        .execute(
            "return document.querySelector(arguments[0]).textContent;",
            &[json!(css)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Clicks Seal and waits for the YAML or an error.
async fn seal(browser: &Browser) -> Sealed {
    browser
        .execute(
            "document.getElementById('seal-status').textContent = '';",
            &[],
        )
        .await;
    browser.click("#seal").await;
    wait_for(
        browser,
        "sealing to finish",
        "return document.getElementById('seal-status').textContent !== '';",
    )
    .await;
    let value = browser
        .execute(
            "return {output: document.getElementById('output').value, errors: Array.from(document.querySelectorAll('.error')).filter(e => !e.hidden).map(e => [e.id, e.textContent])};",
            &[],
        )
        .await;
    Sealed {
        output: value["output"].as_str().unwrap().to_owned(),
        errors: value["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e[0].as_str().unwrap().to_owned(),
                    e[1].as_str().unwrap().to_owned(),
                )
            })
            .collect(),
    }
}

/// The YAML with every `encryptedData` value replaced by `<sealed>`, to compare layouts.
fn masked(yaml: &str) -> String {
    let mut out = String::new();
    let mut in_data = false;
    for line in yaml.lines() {
        if line == "  encryptedData:" {
            in_data = true;
        } else if in_data && line.starts_with("    ") {
            let (key, _) = line.rsplit_once(": ").expect("key: value");
            out.push_str(key);
            out.push_str(": <sealed>\n");
            continue;
        } else {
            in_data = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn kubeseal_output(env: &Env, cert: &str, manifest: &str, scope: &str) -> String {
    // The page writes what upstream's kubeseal writes: no sealed-with annotation.
    let output = env.kubeseal(
        &[
            "--cert",
            cert,
            "--scope",
            scope,
            "-o",
            "yaml",
            "--no-sealed-with",
        ],
        manifest,
    );
    assert!(
        output.status.success(),
        "kubeseal: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn recovery_unseal_with(
    key: &Path,
    sealed: &str,
    kubeconfig_env: Option<&Env>,
) -> BTreeMap<String, Vec<u8>> {
    let args = [
        "--recovery-unseal",
        "--recovery-private-key",
        key.to_str().unwrap(),
        "-o",
        "json",
    ];
    let output = match kubeconfig_env {
        Some(env) => env.kubeseal(&args, sealed),
        None => {
            let mut child = std::process::Command::new(&e2e::binaries().kubeseal)
                .args(args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            {
                use std::io::Write as _;
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(sealed.as_bytes())
                    .unwrap();
            }
            child.wait_with_output().unwrap()
        }
    };
    assert!(
        output.status.success(),
        "recovery-unseal: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let secret: Value = serde_json::from_slice(&output.stdout).unwrap();
    secret["data"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), BASE64.decode(v.as_str().unwrap()).unwrap()))
        .collect()
}

async fn recovery_unseal(env: &Env, sealed: &str) -> BTreeMap<String, Vec<u8>> {
    let keys = env.file("keys.json", &env.exported_keys().await);
    recovery_unseal_with(Path::new(&keys), sealed, Some(env))
}

/// The Secret the controller writes for `name` in `namespace`, as bytes.
async fn unsealed(env: &Env, namespace: &str, name: &str) -> BTreeMap<String, Vec<u8>> {
    let api: Api<Secret> = Api::namespaced(env.client.clone(), namespace);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(secret) = api.get_opt(name).await.unwrap() {
            return secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the controller wrote no Secret {namespace}/{name}; log:\n{}",
            env.controller_log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The status of the SealedSecret's `Synced` condition, once the controller has written it.
async fn synced(env: &Env, namespace: &str, name: &str) -> String {
    let api: Api<SealedSecret> = Api::namespaced(env.client.clone(), namespace);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = api
            .get_opt(name)
            .await
            .unwrap()
            .and_then(|s| s.status)
            .and_then(|s| s.conditions.into_iter().find(|c| c.type_ == "Synced"))
            .map(|c| c.status);
        if let Some(status) = status {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no Synced condition on {namespace}/{name}; log:\n{}",
            env.controller_log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens the page from `base` (ending in `/`) and waits for the controller's certificate.
async fn open(env: &Env, base: &str) -> (Browser, String) {
    let browser = Browser::start(1280, 1000).await;
    browser.goto(base).await;
    wait_for(
        &browser,
        "the certificate",
        "return document.getElementById('cert-fingerprint').textContent.startsWith('SHA256:');",
    )
    .await;
    let pem = env.cert_pem().await;
    let cert = seal::Certificate::from_pem(pem.as_bytes()).unwrap();
    assert_eq!(
        page_text(&browser, "#cert-fingerprint").await,
        cert.public_key().fingerprint().as_str(),
        "the page shows the fingerprint as `kubeseal keys list` does"
    );
    let cert_file = env.file("cert.pem", &pem);
    (browser, cert_file)
}

/// Every request is for the page, its two assets or the certificate (once), all GET, and none
/// carries any of `secrets` (as is, base64 or URL-encoded) anywhere.
fn assert_only_the_certificate_was_fetched(
    requests: &[PageRequest],
    base: &str,
    secrets: &[&[u8]],
) {
    let allowed = ["", "app.js", "style.css", "v1/cert.pem"].map(|p| format!("{base}{p}"));
    for request in requests {
        // blob: URLs are the page's own memory (the Download button).
        let own_blob = request.url.strip_prefix("blob:").is_some_and(|rest| {
            base.starts_with(
                rest.split('/')
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("/")
                    .as_str(),
            )
        });
        assert!(
            request.url == "data:," || own_blob || allowed.contains(&request.url),
            "unexpected request {} {}",
            request.method,
            request.url
        );
        assert_eq!(request.method, "GET", "{}", request.url);
        for secret in secrets {
            let forms = [
                String::from_utf8_lossy(secret).into_owned(),
                BASE64.encode(secret),
                BASE64.encode(secret).trim_end_matches('=').to_owned(),
                secret.iter().map(|b| format!("%{b:02X}")).collect(),
            ];
            for form in forms {
                assert!(
                    !request.everything.contains(&form),
                    "a request carries a plaintext: {}",
                    request.url
                );
            }
        }
    }
    let certs = requests.iter().filter(|r| r.url == allowed[3]).count();
    assert_eq!(
        certs,
        1,
        "the certificate is fetched once: {:?}",
        requests.iter().map(|r| &r.url).collect::<Vec<_>>()
    );
}

mod bodies {
    use super::*;

    pub async fn form_with_text_and_binary_file_opens_to_the_same_bytes(env: Env) {
        let base = format!("http://{}/", env.api);
        let (browser, cert) = open(&env, &base).await;
        let marker = format!("hunter2-{}", env.ns);
        let mut binary: Vec<u8> = (0..=255u8).collect();
        binary.extend_from_slice(format!("binary-{}", env.ns).as_bytes());
        binary.extend_from_slice(&[0, 0xff, 0xfe, 0x80]);
        let file = env.dir.path().join("blob.bin");
        std::fs::write(&file, &binary).unwrap();
        let items = [
            ("password", Item::Text(&marker)),
            ("blob.bin", Item::File(&file)),
        ];
        let form = Form::new("web-form", &env.ns, "strict", &items);
        fill(&browser, &form).await;
        let result = seal(&browser).await;
        assert!(result.errors.is_empty(), "{:?}", result.errors);
        let desktop = browser.screenshot().await;
        std::fs::write(screenshot_dir().join("browser-seal.png"), &desktop).unwrap();
        browser.viewport(360, 800, true).await;
        let overflow = browser
            .execute("return document.documentElement.scrollWidth;", &[])
            .await;
        assert_eq!(
            overflow,
            json!(360),
            "the page fits 360 px without scrolling sideways"
        );
        let phone = browser.screenshot().await;
        std::fs::write(screenshot_dir().join("browser-seal-360.png"), &phone).unwrap();

        assert_eq!(
            masked(&result.output),
            masked(&kubeseal_output(&env, &cert, &form.manifest(), "strict"))
        );
        let expected = form.bytes();
        assert_eq!(recovery_unseal(&env, &result.output).await, expected);
        env.apply(&result.output).await;
        assert_eq!(unsealed(&env, &env.ns, "web-form").await, expected);

        let requests = browser.requests().await;
        assert_only_the_certificate_was_fetched(
            &requests,
            &base,
            &[marker.as_bytes(), format!("binary-{}", env.ns).as_bytes()],
        );
    }

    pub async fn each_scope_matches_kubeseal_and_opens_where_it_should(env: Env) {
        let base = format!("http://{}/", env.api);
        let (browser, cert) = open(&env, &base).await;
        for scope in ["strict", "namespace-wide", "cluster-wide"] {
            let name = format!("web-{scope}");
            let value = format!("value-for-{scope}");
            let items = [("k", Item::Text(&value)), ("b64", Item::Base64("AAEC/w=="))];
            let form = Form::new(&name, &env.ns, scope, &items);
            fill(&browser, &form).await;
            let result = seal(&browser).await;
            assert!(result.errors.is_empty(), "{scope}: {:?}", result.errors);
            assert_eq!(
                masked(&result.output),
                masked(&kubeseal_output(&env, &cert, &form.manifest(), scope)),
                "{scope}"
            );
            assert_eq!(
                recovery_unseal(&env, &result.output).await,
                form.bytes(),
                "{scope}"
            );
            // Renamed (and, cluster-wide, moved), it opens only where the scope allows.
            let renamed = result
                .output
                .replace(&format!("name: {name}"), &format!("name: {name}-moved"));
            let moved = if scope == "cluster-wide" {
                renamed.replace(
                    &format!("namespace: {}", env.ns),
                    &format!("namespace: {}", env.ns2),
                )
            } else {
                renamed
            };
            let target_ns = if scope == "cluster-wide" {
                &env.ns2
            } else {
                &env.ns
            };
            env.apply(&result.output).await;
            assert_eq!(
                unsealed(&env, &env.ns, &name).await,
                form.bytes(),
                "{scope}"
            );
            env.apply(&moved).await;
            let moved_name = format!("{name}-moved");
            if scope == "strict" {
                assert_eq!(
                    synced(&env, target_ns, &moved_name).await,
                    "False",
                    "a renamed strict SealedSecret must not open"
                );
                let api: Api<Secret> = Api::namespaced(env.client.clone(), target_ns);
                assert!(api.get_opt(&moved_name).await.unwrap().is_none());
            } else {
                assert_eq!(
                    unsealed(&env, target_ns, &moved_name).await,
                    form.bytes(),
                    "{scope} moved"
                );
            }
        }
        let requests = browser.requests().await;
        assert_only_the_certificate_was_fetched(&requests, &base, &[b"value-for-"]);
    }

    pub async fn pasted_manifest_seals_like_kubeseal(env: Env) {
        let base = format!("http://{}/", env.api);
        let (browser, cert) = open(&env, &base).await;
        let manifest = format!(
            "# a comment\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: web-manifest\n  namespace: {ns}\n  labels:\n    app: \"yes\"\n    tier: 0777\n  annotations:\n    note: 'it''s: here' # trailing comment\n    kubectl.kubernetes.io/last-applied-configuration: '{{\"stringData\":{{\"x\":\"leak\"}}}}'\n    sealedsecrets.bitnami.com/namespace-wide: \"true\"\n  resourceVersion: \"42\"\n  uid: abc\ntype: kubernetes.io/tls\nimmutable: true\ndata:\n  tls.crt: QUJD\nstringData:\n  tls.key: |\n    line one\n      indented\n    last: x\n  \"on\": off\n  flow: {{a: b}}\n",
            ns = env.ns
        );
        let manifest = manifest.replace("  flow: {a: b}\n", "  flow: \"{a: b}\"\n");
        browser.click("#mode-manifest").await;
        set_value(&browser, "#manifest", &manifest).await;
        type_text(&browser, "#name", "").await;
        type_text(&browser, "#namespace", "").await;
        select(&browser, "#scope", "strict").await;
        let result = seal(&browser).await;
        assert!(result.errors.is_empty(), "{:?}", result.errors);
        let scope = browser
            .execute("return document.getElementById('scope').value;", &[])
            .await;
        assert_eq!(
            scope,
            json!("namespace-wide"),
            "the manifest's annotation chose the scope, as kubeseal does"
        );
        // kubeseal without --scope: the annotations decide.
        let output = env.kubeseal(
            &["--cert", &cert, "-o", "yaml", "--no-sealed-with"],
            &manifest,
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let expected = String::from_utf8(output.stdout).unwrap();
        assert_eq!(masked(&result.output), masked(&expected));
        assert!(
            !result.output.contains("leak"),
            "last-applied annotation dropped"
        );
        let opened = recovery_unseal(&env, &result.output).await;
        assert_eq!(opened["tls.key"], b"line one\n  indented\nlast: x\n");
        assert_eq!(opened["tls.crt"], b"ABC");
        assert_eq!(opened["on"], b"off");
        assert_eq!(opened["flow"], b"{a: b}");

        // The same Secret as JSON.
        let json_manifest = json!({"kind": "Secret", "apiVersion": "v1",
            "metadata": {"name": "web-json", "namespace": env.ns},
            "stringData": {"k": "v"}})
        .to_string();
        set_value(&browser, "#manifest", &json_manifest).await;
        let result = seal(&browser).await;
        assert!(result.errors.is_empty(), "{:?}", result.errors);
        assert_eq!(
            masked(&result.output),
            masked(&kubeseal_output(
                &env,
                &cert,
                &json_manifest,
                "namespace-wide"
            ))
        );
        env.apply(&result.output).await;
        assert_eq!(unsealed(&env, &env.ns, "web-json").await["k"], b"v");
        let requests = browser.requests().await;
        assert_only_the_certificate_was_fetched(&requests, &base, &[b"line one", b"leak"]);
    }

    pub async fn page_works_through_the_api_server_service_proxy(env: Env) {
        let fake = env.fake.as_ref().unwrap().addr().unwrap();
        let base = format!(
            "http://{fake}/api/v1/namespaces/{}/services/http:{}:http/proxy/",
            env.ns,
            e2e::SERVICE
        );
        let (browser, _) = open(&env, &base).await;
        let items = [("k", Item::Text("through-the-proxy"))];
        fill(&browser, &Form::new("web-proxy", &env.ns, "strict", &items)).await;
        let result = seal(&browser).await;
        assert!(result.errors.is_empty(), "{:?}", result.errors);
        env.apply(&result.output).await;
        assert_eq!(
            unsealed(&env, &env.ns, "web-proxy").await["k"],
            b"through-the-proxy"
        );
        let requests = browser.requests().await;
        assert_only_the_certificate_was_fetched(&requests, &base, &[b"through-the-proxy"]);
    }

    pub async fn keyboard_only_seal_then_download(env: Env) {
        const TAB: &str = "\u{E004}";
        const ENTER: &str = "\u{E007}";
        let base = format!("http://{}/", env.api);
        let (browser, cert) = open(&env, &base).await;
        // From the name field on, keys only: name, namespace, scope and type as they are, the
        // items radio, the first row's key, source and value, Remove, Add item, then Seal.
        browser
            .execute("document.getElementById('name').focus();", &[])
            .await;
        let keys = [
            "web-keyboard",
            TAB,
            &env.ns,
            TAB,
            TAB,
            TAB,
            TAB,
            "token",
            TAB,
            TAB,
            "typed-with-keys-only",
            TAB,
            TAB,
            TAB,
        ]
        .concat();
        browser.keys(&keys).await;
        let focused = browser
            .execute("return document.activeElement.id;", &[])
            .await;
        assert_eq!(focused, json!("seal"));
        browser
            .execute(
                "document.getElementById('seal-status').textContent = '';",
                &[],
            )
            .await;
        browser.keys(ENTER).await;
        wait_for(
            &browser,
            "the output",
            "return document.getElementById('output').value !== '';",
        )
        .await;
        let output = browser
            .execute("return document.getElementById('output').value;", &[])
            .await;
        let output = output.as_str().unwrap().to_owned();
        let items = [("token", Item::Text("typed-with-keys-only"))];
        let form = Form::new("web-keyboard", &env.ns, "strict", &items);
        assert_eq!(
            masked(&output),
            masked(&kubeseal_output(&env, &cert, &form.manifest(), "strict"))
        );

        browser.click("#download").await;
        let file = browser.download_dir().join("web-keyboard.yaml");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !file.is_file() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no download at {}",
                file.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(std::fs::read_to_string(&file).unwrap(), output);
        env.apply(&output).await;
        assert_eq!(
            unsealed(&env, &env.ns, "web-keyboard").await["token"],
            b"typed-with-keys-only"
        );
        let requests = browser.requests().await;
        assert_only_the_certificate_was_fetched(&requests, &base, &[b"typed-with-keys-only"]);
    }

    pub async fn bad_inputs_show_their_errors_next_to_the_field(env: Env) {
        let base = format!("http://{}/", env.api);
        let (browser, _) = open(&env, &base).await;
        let cases: [(Form<'_>, &str, &str); 5] = [
            (
                Form::new(
                    "s",
                    &env.ns,
                    "strict",
                    &[("k", Item::Base64("not base64!"))],
                ),
                "item-error-1",
                "the value is not valid base64 (standard alphabet, padded)",
            ),
            (
                Form::new("", &env.ns, "strict", &[("k", Item::Text("v"))]),
                "name-error",
                "a name is required (missing metadata.name)",
            ),
            (
                Form::new("s", "", "strict", &[("k", Item::Text("v"))]),
                "namespace-error",
                "a namespace is required for strict scope",
            ),
            (
                Form::new("s", &env.ns, "strict", &[]),
                "items-error",
                "there is nothing to seal: add at least one item (secret.data is empty)",
            ),
            (
                Form::new("s", &env.ns, "strict", &[("bad key", Item::Text("v"))]),
                "item-error-1",
                "a key may hold only letters, digits, '-', '_' and '.'",
            ),
        ];
        for (form, id, message) in &cases {
            fill(&browser, form).await;
            // Rows restart at whatever number comes next; the first row's error is the one shown.
            let result = seal(&browser).await;
            assert_eq!(result.output, "", "{id}");
            assert_eq!(result.errors.len(), 1, "{:?}", result.errors);
            let (shown_id, text) = &result.errors[0];
            if id.starts_with("item-error") {
                assert!(shown_id.starts_with("item-error-"), "{shown_id}");
            } else {
                assert_eq!(shown_id, id);
            }
            assert_eq!(text, message);
        }
        // A manifest that is not a Secret, and one that does not parse.
        browser.click("#mode-manifest").await;
        for (manifest, message) in [
            (
                "kind: SealedSecret\nmetadata: {name: x}\n",
                "document 1 is a SealedSecret, expected a Secret (is the input already sealed?)",
            ),
            (
                "kind: Secret\nmetadata:\n  name: x\n    bad: indent\n",
                "invalid YAML at line 4: unexpected indentation",
            ),
            (
                "{\"kind\": \"Secret\", \"data\": {\"k\": \"secret-value\"",
                "invalid JSON at line 1",
            ),
            (
                "kind: Secret\nmetadata: {name: x, namespace: y}\ndata: {k: \"%%%\"}\n",
                "data.k is not valid base64",
            ),
        ] {
            set_value(&browser, "#manifest", manifest).await;
            let result = seal(&browser).await;
            assert_eq!(
                result.errors,
                [("manifest-error".to_owned(), message.to_owned())]
            );
        }
        // A certificate that is not one.
        browser.click("#mode-items").await;
        browser.click("#cert-other summary").await;
        set_value(
            &browser,
            "#cert-pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .await;
        wait_for(
            &browser,
            "the certificate error",
            "return !document.getElementById('cert-error').hidden;",
        )
        .await;
        assert_eq!(
            page_text(&browser, "#cert-error").await,
            "the certificate is malformed (not an X.509 DER structure)"
        );
        // Keyboard only: Tab from the name field reaches the namespace field.
        browser.click("#name").await;
        browser.keys("\u{E004}").await;
        let focused = browser
            .execute("return document.activeElement.id;", &[])
            .await;
        assert_eq!(focused, json!("namespace"));
        // Every form control has a label.
        let unlabelled = browser
            .execute(
                "return Array.from(document.querySelectorAll('input, select, textarea')).filter(e => !e.hidden && e.type !== 'hidden' && e.labels.length === 0).map(e => e.id);",
                &[],
            )
            .await;
        assert_eq!(unlabelled, json!([]));
    }
}
