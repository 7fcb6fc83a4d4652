//! Kubeconfig handling the way kubectl (client-go) does it: `--kubeconfig`, else every file
//! in `KUBECONFIG` that exists (merged, first wins), else `~/.kube/config`, else in-cluster;
//! `--context`, `--cluster`, `--user` choose, and the usual override flags win over the file.
//!
//! Reading the namespace is synchronous and cheap, so the offline seal path needs no runtime.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use kube::config::{
    AuthInfo, Cluster, Context as KubeContext, KubeConfigOptions, Kubeconfig, NamedAuthInfo,
    NamedCluster, NamedContext,
};

use seal::go_flags;

const KUBE: &str = "Kubernetes connection (as kubectl)";

/// The kubectl connection flags (with their `SEALED_SECRETS_<FLAG>` variables), shared by
/// the sealing modes and `kubeseal keys`: one way to reach the cluster.
#[derive(Clone, Default, clap::Args)]
pub struct KubeArgs {
    /// Path to a kubeconfig. Default: $KUBECONFIG, ~/.kube/config, or in-cluster.
    #[arg(long, env = "SEALED_SECRETS_KUBECONFIG", value_name = "FILE", help_heading = KUBE)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, env = "SEALED_SECRETS_CONTEXT", value_name = "NAME", help_heading = KUBE)]
    pub context: Option<String>,
    /// The kubeconfig cluster to use.
    #[arg(long, env = "SEALED_SECRETS_CLUSTER", value_name = "NAME", help_heading = KUBE)]
    pub cluster: Option<String>,
    /// The kubeconfig user to use.
    #[arg(long, env = "SEALED_SECRETS_USER", value_name = "NAME", help_heading = KUBE)]
    pub user: Option<String>,
    /// The address and port of the Kubernetes API server.
    #[arg(short = 's', long, env = "SEALED_SECRETS_SERVER", value_name = "URL", help_heading = KUBE)]
    pub server: Option<String>,
    /// Bearer token for authentication to the API server.
    #[arg(long, env = "SEALED_SECRETS_TOKEN", value_name = "TOKEN", hide_env_values = true, help_heading = KUBE)]
    pub token: Option<String>,
    /// Username to impersonate for the operation.
    #[arg(long = "as", env = "SEALED_SECRETS_AS", value_name = "USER", help_heading = KUBE)]
    pub as_user: Option<String>,
    /// Group to impersonate for the operation; repeat for several groups.
    #[arg(long = "as-group", env = "SEALED_SECRETS_AS_GROUP", value_name = "GROUP", value_delimiter = ',', help_heading = KUBE)]
    pub as_group: Vec<String>,
    /// UID to impersonate for the operation.
    #[arg(long = "as-uid", env = "SEALED_SECRETS_AS_UID", value_name = "UID", help_heading = KUBE)]
    pub as_uid: Option<String>,
    /// Path to a certificate file for the certificate authority.
    #[arg(long = "certificate-authority", env = "SEALED_SECRETS_CERTIFICATE_AUTHORITY", value_name = "FILE", help_heading = KUBE)]
    pub certificate_authority: Option<PathBuf>,
    /// Path to a client certificate file for TLS.
    #[arg(long = "client-certificate", env = "SEALED_SECRETS_CLIENT_CERTIFICATE", value_name = "FILE", help_heading = KUBE)]
    pub client_certificate: Option<PathBuf>,
    /// Path to a client key file for TLS.
    #[arg(long = "client-key", env = "SEALED_SECRETS_CLIENT_KEY", value_name = "FILE", help_heading = KUBE)]
    pub client_key: Option<PathBuf>,
    /// Do not check the server's certificate (insecure).
    #[arg(long = "insecure-skip-tls-verify", env = "SEALED_SECRETS_INSECURE_SKIP_TLS_VERIFY", help_heading = KUBE, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub insecure_skip_tls_verify: bool,
    /// Proxy to reach the API server through (http, https or socks5 URL), instead of the
    /// kubeconfig's `proxy-url` and the HTTPS_PROXY/HTTP_PROXY/NO_PROXY variables.
    #[arg(long = "proxy-url", env = "SEALED_SECRETS_PROXY_URL", value_name = "URL", help_heading = KUBE)]
    pub proxy_url: Option<String>,
    /// Opt out of response compression (accepted as kubectl's; responses are never compressed).
    #[arg(long = "disable-compression", env = "SEALED_SECRETS_DISABLE_COMPRESSION", help_heading = KUBE, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub disable_compression: bool,
    /// Server name to use for certificate validation.
    #[arg(long = "tls-server-name", env = "SEALED_SECRETS_TLS_SERVER_NAME", value_name = "NAME", help_heading = KUBE)]
    pub tls_server_name: Option<String>,
    /// How long to wait for one server request (e.g. 1s, 2m, 3h; 0 = no limit).
    #[arg(long = "request-timeout", env = "SEALED_SECRETS_REQUEST_TIMEOUT", value_name = "DURATION", default_value = "0", value_parser = go_flags::parse_kubectl_timeout, help_heading = KUBE)]
    pub request_timeout: std::time::Duration,
    /// Username for basic authentication to the API server.
    #[arg(long, env = "SEALED_SECRETS_USERNAME", value_name = "NAME", help_heading = KUBE)]
    pub username: Option<String>,
    /// Password for basic authentication to the API server.
    #[arg(long, env = "SEALED_SECRETS_PASSWORD", value_name = "PASSWORD", hide_env_values = true, help_heading = KUBE)]
    pub password: Option<String>,
}

/// Everything but the credentials: `--token` and `--password` show only whether they were given.
impl std::fmt::Debug for KubeArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let given = |credential: &Option<String>| credential.as_ref().map(|_| "<redacted>");
        f.debug_struct("KubeArgs")
            .field("kubeconfig", &self.kubeconfig)
            .field("context", &self.context)
            .field("cluster", &self.cluster)
            .field("user", &self.user)
            .field("server", &self.server)
            .field("token", &given(&self.token))
            .field("as_user", &self.as_user)
            .field("as_group", &self.as_group)
            .field("as_uid", &self.as_uid)
            .field("certificate_authority", &self.certificate_authority)
            .field("client_certificate", &self.client_certificate)
            .field("client_key", &self.client_key)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("proxy_url", &self.proxy_url)
            .field("disable_compression", &self.disable_compression)
            .field("tls_server_name", &self.tls_server_name)
            .field("request_timeout", &self.request_timeout)
            .field("username", &self.username)
            .field("password", &given(&self.password))
            .finish()
    }
}

const IN_CLUSTER_NAMESPACE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// The namespace kubectl would use: `-n`, else the chosen context's, else `default` (in a
/// pod: the pod's namespace). `Err`, as upstream, when there is no configuration at all, when
/// the context asked for (or the current one) is not in the kubeconfig, or when a kubeconfig
/// cannot be read: a Secret without a namespace is not quietly sealed for `default` then.
pub fn namespace(namespace: Option<&str>, kube: &KubeArgs) -> Result<String> {
    if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
        return Ok(ns.to_owned());
    }
    match load(kube)? {
        Some(config) => match chosen_context(kube, &config) {
            Some(context) => Ok(context
                .namespace
                .clone()
                .filter(|ns| !ns.is_empty())
                .unwrap_or_else(|| "default".to_owned())),
            None if kube.server.is_some() => Ok("default".to_owned()),
            None => match kube.context.as_ref() {
                Some(name) => bail!("context was not found for specified context: {name}"),
                None => bail!(
                    "invalid configuration: no configuration has been provided (the kubeconfig has no current context)"
                ),
            },
        },
        None if kube.server.is_some() => Ok("default".to_owned()),
        None if in_cluster() => Ok(std::fs::read_to_string(IN_CLUSTER_NAMESPACE)
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "default".to_owned())),
        None => bail!(
            "invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable"
        ),
    }
}

fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
        && std::env::var_os("KUBERNETES_SERVICE_PORT").is_some()
}

fn kubeconfig_paths(kube: &KubeArgs) -> Result<Vec<PathBuf>> {
    if let Some(path) = &kube.kubeconfig {
        if !path.exists() {
            bail!("stat {}: no such file or directory", path.display());
        }
        return Ok(vec![path.clone()]);
    }
    if let Some(value) = std::env::var_os("KUBECONFIG") {
        let paths: Vec<PathBuf> = std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            return Ok(paths.into_iter().filter(|p| p.exists()).collect());
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    Ok(home
        .map(|h| h.join(".kube").join("config"))
        .filter(|p| p.exists())
        .into_iter()
        .collect())
}

/// The merged kubeconfig, or `None` when there is no file at all.
pub fn load(kube: &KubeArgs) -> Result<Option<Kubeconfig>> {
    let mut merged: Option<Kubeconfig> = None;
    for path in kubeconfig_paths(kube)? {
        let config = Kubeconfig::read_from(&path)
            .map_err(|e| anyhow!("cannot read kubeconfig {}: {e}", path.display()))?;
        merged = Some(match merged {
            Some(m) => m
                .merge(config)
                .map_err(|e| anyhow!("cannot merge kubeconfig {}: {e}", path.display()))?,
            None => config,
        });
    }
    Ok(merged)
}

fn chosen_context<'a>(kube: &KubeArgs, config: &'a Kubeconfig) -> Option<&'a KubeContext> {
    let name = kube.context.as_ref().or(config.current_context.as_ref())?;
    config
        .contexts
        .iter()
        .find(|c| &c.name == name)
        .and_then(|c| c.context.as_ref())
}

/// The client configuration for the API server, with every override flag applied.
pub async fn client_config(kube: &KubeArgs, namespace: Option<&str>) -> Result<kube::Config> {
    let file = load(kube)?;
    let mut explicit_proxy = false;
    let mut config = match file {
        None if kube.server.is_none() && in_cluster() => {
            let mut config = kube::Config::incluster().context("in-cluster configuration")?;
            if let Some(ns) = namespace {
                ns.clone_into(&mut config.default_namespace);
            }
            apply_auth_overrides(kube, &mut config.auth_info)?;
            if let Some(ca) = &kube.certificate_authority {
                config.root_cert = Some(read_ca(ca)?);
            }
            config.accept_invalid_certs |= kube.insecure_skip_tls_verify;
            config
        }
        None if kube.server.is_none() => bail!(
            "invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable (or use --kubeconfig, --server, --cert or --controller-url)"
        ),
        file => {
            let file = file.unwrap_or_default();
            let context = match chosen_context(kube, &file) {
                Some(c) => c.clone(),
                None => {
                    if let Some(name) = kube.context.as_ref() {
                        bail!("context was not found for specified context: {name}");
                    }
                    if kube.server.is_none() {
                        bail!(
                            "invalid configuration: no configuration has been provided (the kubeconfig has no current context)"
                        );
                    }
                    KubeContext::default()
                }
            };
            let cluster_name = kube
                .cluster
                .clone()
                .unwrap_or_else(|| context.cluster.clone());
            let mut cluster = file
                .clusters
                .iter()
                .find(|c| c.name == cluster_name)
                .and_then(|c| c.cluster.clone());
            if cluster.is_none() && kube.server.is_none() {
                bail!("invalid configuration: cluster {cluster_name:?} not found in kubeconfig");
            }
            let mut cluster: Cluster = cluster.take().unwrap_or_default();
            explicit_proxy = cluster.proxy_url.as_deref().is_some_and(|p| !p.is_empty());
            let user_name = kube.user.clone().or_else(|| context.user.clone());
            let mut user: AuthInfo = user_name
                .as_ref()
                .and_then(|u| file.auth_infos.iter().find(|a| &a.name == u))
                .and_then(|a| a.auth_info.clone())
                .unwrap_or_default();
            if let Some(server) = &kube.server {
                cluster.server = Some(server.clone());
            }
            if let Some(ca) = &kube.certificate_authority {
                cluster.certificate_authority = Some(path_string(ca)?);
                cluster.certificate_authority_data = None;
            }
            if kube.insecure_skip_tls_verify {
                cluster.insecure_skip_tls_verify = Some(true);
            }
            if let Some(name) = &kube.tls_server_name {
                cluster.tls_server_name = Some(name.clone());
            }
            apply_auth_overrides(kube, &mut user)?;
            let namespace = namespace
                .map(str::to_owned)
                .or_else(|| context.namespace.clone())
                .filter(|ns| !ns.is_empty());
            let synthetic = Kubeconfig {
                clusters: vec![NamedCluster {
                    name: "kubeseal".into(),
                    cluster: Some(cluster),
                    ..NamedCluster::default()
                }],
                auth_infos: vec![NamedAuthInfo {
                    name: "kubeseal".into(),
                    auth_info: Some(user),
                    ..NamedAuthInfo::default()
                }],
                contexts: vec![NamedContext {
                    name: "kubeseal".into(),
                    context: Some(KubeContext {
                        cluster: "kubeseal".into(),
                        user: Some("kubeseal".into()),
                        namespace,
                        ..KubeContext::default()
                    }),
                    ..NamedContext::default()
                }],
                current_context: Some("kubeseal".into()),
                ..Kubeconfig::default()
            };
            kube::Config::from_custom_kubeconfig(synthetic, &KubeConfigOptions::default())
                .await
                .map_err(|e| anyhow!("invalid kubeconfig: {e}"))?
        }
    };
    if let Some(timeout) = request_timeout(kube) {
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
    }
    if let Some(proxy) = kube.proxy_url.as_deref().filter(|p| !p.is_empty()) {
        config.proxy_url = Some(
            proxy
                .parse()
                .map_err(|e| anyhow!("invalid --proxy-url {proxy:?}: {e}"))?,
        );
    } else if !explicit_proxy {
        config.proxy_url = env_proxy(&config.cluster_url)?;
    }
    Ok(config)
}

fn apply_auth_overrides(kube: &KubeArgs, user: &mut AuthInfo) -> Result<()> {
    if let Some(token) = &kube.token {
        user.token = Some(token.clone().into());
        user.token_file = None;
        user.exec = None;
        user.auth_provider = None;
    }
    if let Some(path) = &kube.client_certificate {
        user.client_certificate = Some(path_string(path)?);
        user.client_certificate_data = None;
    }
    if let Some(path) = &kube.client_key {
        user.client_key = Some(path_string(path)?);
        user.client_key_data = None;
    }
    if let Some(name) = &kube.username {
        user.username = Some(name.clone());
    }
    if let Some(password) = &kube.password {
        user.password = Some(password.clone().into());
    }
    if let Some(name) = &kube.as_user {
        user.impersonate = Some(name.clone());
    }
    if !kube.as_group.is_empty() {
        user.impersonate_groups = Some(kube.as_group.clone());
    }
    if let Some(uid) = &kube.as_uid {
        user.impersonate_uid = Some(uid.clone());
    }
    Ok(())
}

fn path_string(path: &Path) -> Result<String> {
    let absolute =
        std::path::absolute(path).with_context(|| format!("{}: invalid path", path.display()))?;
    absolute
        .to_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("{}: path is not UTF-8", path.display()))
}

fn read_ca(path: &Path) -> Result<Vec<Vec<u8>>> {
    use base64::Engine as _;
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("open {}: {}", path.display(), crate::files::describe_io(&e)))?;
    let mut certs = Vec::new();
    let mut body: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            body = Some(String::new());
        } else if line == "-----END CERTIFICATE-----" {
            if let Some(b64) = body.take() {
                certs.push(
                    base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|_| anyhow!("{}: malformed certificate", path.display()))?,
                );
            }
        } else if let Some(b) = body.as_mut() {
            b.push_str(line);
        }
    }
    if certs.is_empty() {
        bail!("{}: no certificates found", path.display());
    }
    Ok(certs)
}

/// The one runtime for talking to the cluster: current-thread, created only on the paths that
/// need the network, so callers stay synchronous.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the network runtime")
}

/// A client for a configuration from [`client_config`] (call inside [`runtime`]).
pub fn client(config: kube::Config) -> Result<kube::Client> {
    kube::Client::try_from(config)
        .map_err(|e| anyhow!("cannot create a Kubernetes client: {}", describe(&e)))
}

/// A one-line description of a client error (API status message and code when there is one).
pub fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => {
            let message: String = status.message.chars().take(300).collect();
            if status.code == 0 {
                message
            } else {
                format!("{message} (HTTP {})", status.code)
            }
        }
        // Connection failures: the client's own words ("client error (Connect)") say nothing
        // of why; the reason (refused, no such host, a TLS failure) is further down the chain.
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(cause) = source {
                let cause_text = cause.to_string();
                let cause_text = match cause_text.find(" (os error ") {
                    Some(end) => &cause_text[..end],
                    None => &cause_text[..],
                };
                if !text.contains(cause_text) {
                    text.push_str(": ");
                    text.push_str(cause_text);
                }
                source = cause.source();
            }
            text
        }
    }
}

/// `--request-timeout`: `0` means none.
#[must_use]
pub fn request_timeout(kube: &KubeArgs) -> Option<Duration> {
    (!kube.request_timeout.is_zero()).then_some(kube.request_timeout)
}

/// The proxy Go's `http.ProxyFromEnvironment` (and so upstream kubeseal) would use for
/// `target`: `HTTPS_PROXY` for https, `HTTP_PROXY` for http (either case), unless the host
/// is a loopback address or matches `NO_PROXY`.
pub fn env_proxy(target: &http::Uri) -> Result<Option<http::Uri>> {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .or_else(|| std::env::var(name.to_ascii_lowercase()).ok())
            .filter(|v| !v.trim().is_empty())
    };
    let proxy = match target.scheme_str() {
        Some("https") => var("HTTPS_PROXY"),
        Some("http") => var("HTTP_PROXY"),
        _ => None,
    };
    let Some(proxy) = proxy else { return Ok(None) };
    let host = target
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback || no_proxy_matches(&host, var("NO_PROXY").as_deref().unwrap_or("")) {
        return Ok(None);
    }
    let proxy = if proxy.contains("://") {
        proxy
    } else {
        format!("http://{proxy}")
    };
    proxy
        .parse()
        .map(Some)
        .map_err(|e| anyhow!("invalid proxy URL in the environment: {e}"))
}

fn no_proxy_matches(host: &str, no_proxy: &str) -> bool {
    no_proxy.split(',').map(str::trim).any(|entry| {
        let entry = entry.split(':').next().unwrap_or("").to_ascii_lowercase();
        let entry = entry.strip_prefix("*.").unwrap_or(&entry);
        let entry = entry.strip_prefix('.').unwrap_or(entry);
        !entry.is_empty() && (entry == "*" || host == entry || host.ends_with(&format!(".{entry}")))
    })
}

#[cfg(test)]
mod proxy_tests {
    use super::no_proxy_matches;

    #[test]
    fn no_proxy() {
        assert!(no_proxy_matches("api.example.com", "example.com"));
        assert!(no_proxy_matches("api.example.com", "foo, .example.com"));
        assert!(no_proxy_matches("anything", "*"));
        assert!(!no_proxy_matches("example.org", "example.com"));
        assert!(!no_proxy_matches("badexample.com", "example.com"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_token_and_the_password() {
        let args = KubeArgs {
            token: Some("bearer-hunter2".to_owned()),
            password: Some("pass-hunter2".to_owned()),
            username: Some("admin".to_owned()),
            ..KubeArgs::default()
        };
        let shown = format!("{args:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains(r#"token: Some("<redacted>")"#), "{shown}");
        assert!(shown.contains(r#"username: Some("admin")"#), "{shown}");
        assert!(format!("{:?}", KubeArgs::default()).contains("token: None"));
    }
}
