//! Talking to the controller: through the API server's service proxy (as upstream), or
//! directly with `--controller-url`; and fetching `--cert https://…`. Everything here runs
//! on a current-thread tokio runtime created only when one of these paths is taken, so the
//! offline paths pay nothing for it.

use anyhow::{Context, Result, anyhow, bail};
use http::{Method, Request, StatusCode, Uri};

use crate::cli::Cli;
use crate::kubeconfig;

/// A connection to the controller's HTTP API.
pub struct Controller {
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    /// Path prefix that, followed by `/v1/…`, reaches the controller.
    prefix: String,
    /// How to name the controller in messages.
    what: String,
}

/// A response: status and body.
pub struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl Reply {
    /// The API server's `Status.message` when the body is one, else the HTTP status line.
    pub fn message(&self) -> String {
        #[derive(serde::Deserialize)]
        struct Status {
            message: Option<String>,
        }
        let from_status = serde_json::from_slice::<Status>(&self.body)
            .ok()
            .and_then(|s| s.message)
            .filter(|m| !m.is_empty());
        let text = from_status.unwrap_or_else(|| {
            let body = String::from_utf8_lossy(&self.body);
            let body = body.trim();
            if body.is_empty() || body.len() > 200 || body.contains('\n') {
                self.status.to_string()
            } else {
                format!("{} ({body})", self.status)
            }
        });
        text.replace('\n', " ")
    }
}

impl Controller {
    /// Connects as the flags say: `--controller-url`, or the service proxy of
    /// `--controller-namespace`/`--controller-name` via the kubeconfig.
    pub fn connect(cli: &Cli) -> Result<Self> {
        let runtime = kubeconfig::runtime()?;
        if let Some(url) = &cli.controller_url {
            let base: Uri = url
                .trim_end_matches('/')
                .parse()
                .map_err(|e| anyhow!("invalid --controller-url {url:?}: {e}"))?;
            if !matches!(base.scheme_str(), Some("http" | "https")) {
                bail!("invalid --controller-url {url:?}: expected an http:// or https:// URL");
            }
            let config = runtime.block_on(direct_config(cli, base))?;
            let client = runtime.block_on(async { kubeconfig::client(config) })?;
            return Ok(Self {
                runtime,
                client,
                prefix: String::new(),
                what: format!("controller at {url}"),
            });
        }
        let config = runtime.block_on(kubeconfig::client_config(
            &cli.kube,
            cli.namespace.as_deref(),
        ))?;
        let server = config.cluster_url.to_string();
        let client = runtime.block_on(async { kubeconfig::client(config) })?;
        let ns = &cli.controller_namespace;
        let name = &cli.controller_name;
        let service_path = format!("/api/v1/namespaces/{ns}/services/{name}");
        let reply = runtime
            .block_on(send(
                &client,
                Method::GET,
                &service_path,
                None,
                "application/json",
            ))
            .map_err(|e| {
                let url = format!("{}{service_path}", server.trim_end_matches('/'));
                service_error(&format!("Get {url:?}: {e:#}"))
            })?;
        if !reply.status.is_success() {
            return Err(service_error(&reply.message()));
        }
        let port = port_name(&reply.body).map_err(|e| service_error(&e))?;
        Ok(Self {
            runtime,
            client,
            prefix: format!("/api/v1/namespaces/{ns}/services/http:{name}:{port}/proxy"),
            what: format!("controller service {ns}/{name}"),
        })
    }

    /// `GET /v1/cert.pem`: the certificate bytes, verbatim.
    pub fn cert(&self) -> Result<Vec<u8>> {
        let path = format!("{}/v1/cert.pem", self.prefix);
        let reply = self
            .runtime
            .block_on(send(
                &self.client,
                Method::GET,
                &path,
                None,
                "application/x-pem-file, */*",
            ))
            .map_err(|e| anyhow!("cannot fetch certificate: {e:#}"))?;
        if !reply.status.is_success() {
            bail!("cannot fetch certificate: {}", reply.message());
        }
        Ok(reply.body)
    }

    /// `POST /v1/<endpoint>` with a JSON body.
    pub fn post(&self, endpoint: &str, body: Vec<u8>) -> Result<Reply> {
        let path = format!("{}/v1/{endpoint}", self.prefix);
        self.runtime
            .block_on(send(
                &self.client,
                Method::POST,
                &path,
                Some(body),
                "application/json",
            ))
            .map_err(|e| anyhow!("{}: {e:#}", self.what))
    }
}

fn service_error(cause: &str) -> anyhow::Error {
    anyhow!(
        "cannot get sealed secret service: {cause}. Please, use the flag --controller-name and --controller-namespace to set up the name and namespace of the sealed secrets controller, or --controller-url to reach it directly"
    )
}

fn port_name(service: &[u8]) -> std::result::Result<String, String> {
    let service: k8s_openapi::api::core::v1::Service =
        serde_json::from_slice(service).map_err(|e| format!("unexpected reply: {e}"))?;
    let ports = service.spec.and_then(|s| s.ports).unwrap_or_default();
    let first = ports
        .into_iter()
        .next()
        .ok_or_else(|| "the service has no ports".to_owned())?;
    Ok(first.name.unwrap_or_default())
}

async fn direct_config(cli: &Cli, base: Uri) -> Result<kube::Config> {
    let proxy = kubeconfig::env_proxy(&base)?;
    let mut config = kube::Config::new(base);
    config.proxy_url = proxy;
    config.accept_invalid_certs = cli.kube.insecure_skip_tls_verify;
    config.tls_server_name.clone_from(&cli.kube.tls_server_name);
    config.default_retry = false;
    if let Some(ca) = &cli.kube.certificate_authority {
        config.root_cert_file = Some(ca.clone());
    }
    if let Some(timeout) = kubeconfig::request_timeout(&cli.kube) {
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
    }
    Ok(config)
}

async fn send(
    client: &kube::Client,
    method: Method,
    path: &str,
    body: Option<Vec<u8>>,
    accept: &str,
) -> Result<Reply> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::ACCEPT, accept);
    if body.is_some() {
        request = request.header(http::header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(kube::client::Body::from(body.unwrap_or_default()))
        .context("cannot build the request")?;
    let response = client
        .send(request)
        .await
        .map_err(|e| anyhow!("{}", kubeconfig::describe(&e)))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect_bytes()
        .await
        .map_err(|e| anyhow!("cannot read the reply: {e}"))?
        .to_vec();
    Ok(Reply { status, body })
}

/// `--cert http(s)://…`: a plain GET, outside any cluster configuration.
pub fn fetch_url(cli: &Cli, url: &str) -> Result<Vec<u8>> {
    let uri: Uri = url
        .parse()
        .map_err(|e| anyhow!("cannot fetch {url:?}: invalid URL: {e}"))?;
    let path = uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    let authority = uri
        .authority()
        .ok_or_else(|| anyhow!("cannot fetch {url:?}: the URL has no host"))?;
    let scheme = uri.scheme_str().unwrap_or("https");
    // An explicit port: hyper-util's CONNECT tunnel would otherwise assume 443 for http too.
    let authority = match authority.port_u16() {
        Some(_) => authority.to_string(),
        None if scheme == "http" => format!("{authority}:80"),
        None => format!("{authority}:443"),
    };
    let base: Uri = format!("{scheme}://{authority}")
        .parse()
        .map_err(|e| anyhow!("cannot fetch {url:?}: invalid URL: {e}"))?;
    let runtime = kubeconfig::runtime()?;
    let config = runtime.block_on(direct_config(cli, base))?;
    let client = runtime.block_on(async { kubeconfig::client(config) })?;
    let reply = runtime
        .block_on(send(&client, Method::GET, &path, None, "*/*"))
        .map_err(|e| anyhow!("cannot fetch {url:?}: {e:#}"))?;
    if reply.status != StatusCode::OK {
        bail!("cannot fetch {url:?}: {}", reply.status);
    }
    Ok(reply.body)
}
