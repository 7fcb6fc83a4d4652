//! The controller's HTTP API on `--listen-addr` (`/v1/cert.pem`, `/v1/verify`, `/v1/rotate`,
//! `/healthz`), and `/metrics` on `--listen-metrics-addr`. Same paths and codes as upstream, so
//! upstream `kubeseal` works against it. Verify and rotate never render templates, never say
//! why a value failed, are body-size-limited and rate-limited.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use seal::{Format, SealedSecret, read_sealed_secrets, write_documents};
use tokio::sync::Semaphore;
use tower_http::timeout::TimeoutLayer;

use crate::key_set::SharedKeys;
use crate::metrics::{HttpDurationLabels, HttpLabels, Metrics};
use crate::ratelimit::{self, Cidr, Quota, RateLimiter};

/// Limits of the API server.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Requests per second per client for verify and rotate (`--rate-limit`).
    pub rate_limit: NonZeroU32,
    /// Burst for verify and rotate (`--rate-limit-burst`).
    pub rate_limit_burst: NonZeroU32,
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxies`).
    pub trusted_proxies: Vec<Cidr>,
    /// Largest accepted request body.
    pub body_limit: usize,
    /// Most items (`encryptedData` entries) in one verify or rotate request
    /// (`--max-request-items`).
    pub max_items: usize,
    /// Verify and rotate requests doing RSA work at once (`--max-concurrent-unseal-requests`).
    pub max_concurrent_work: usize,
    /// Verify and rotate requests between the rate limiter and the answer (reading the body,
    /// waiting for a work slot, working); more get 503. Bounds the memory held by bodies.
    pub max_in_flight: usize,
    /// Whole-request timeout (`--read-timeout`/`--write-timeout`).
    pub timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            rate_limit: NonZeroU32::new(2).expect("non-zero"),
            rate_limit_burst: NonZeroU32::new(2).expect("non-zero"),
            trusted_proxies: Vec::new(),
            body_limit: 1024 * 1024,
            max_items: 256,
            max_concurrent_work: 1,
            max_in_flight: 32,
            timeout: Duration::from_secs(120),
        }
    }
}

/// The rate-limited endpoints: each has its own allowance per client, as upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Endpoint {
    Verify,
    Rotate,
}

#[derive(Clone)]
struct ApiState {
    keys: Arc<SharedKeys>,
    limiter: Arc<RateLimiter<(Endpoint, IpAddr)>>,
    trusted_proxies: Arc<[Cidr]>,
    work: Arc<Semaphore>,
    in_flight: Arc<Semaphore>,
    max_items: usize,
}

/// The API router: `/healthz`, `/v1/cert.pem`, `/v1/verify`, `/v1/rotate`.
pub fn api_router(keys: Arc<SharedKeys>, metrics: Arc<Metrics>, config: ApiConfig) -> Router {
    let work = Arc::new(Semaphore::new(config.max_concurrent_work.max(1)));
    api_router_with_work(keys, metrics, config, work)
}

fn api_router_with_work(
    keys: Arc<SharedKeys>,
    metrics: Arc<Metrics>,
    config: ApiConfig,
    work: Arc<Semaphore>,
) -> Router {
    let quota = Quota {
        per_second: config.rate_limit,
        burst: config.rate_limit_burst,
    };
    let state = ApiState {
        keys,
        limiter: Arc::new(RateLimiter::new(quota, ratelimit::MAX_CLIENTS)),
        trusted_proxies: config.trusted_proxies.into(),
        work,
        in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
        max_items: config.max_items,
    };
    let limited =
        |endpoint: Endpoint| middleware::from_fn_with_state((state.clone(), endpoint), rate_limit);
    Router::new()
        .route("/healthz", any(healthz))
        .route("/v1/cert.pem", get(cert_pem))
        .route("/v1/verify", any(verify).layer(limited(Endpoint::Verify)))
        .route("/v1/rotate", any(rotate).layer(limited(Endpoint::Rotate)))
        .merge(crate::web::routes())
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.timeout,
        ))
        .layer(middleware::from_fn(crate::web::security_headers))
        .layer(middleware::from_fn_with_state(metrics, record_http))
        .with_state(state)
}

/// The metrics router: `/metrics`.
pub fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new().route(
        "/metrics",
        get(|State(metrics): State<Arc<Metrics>>| async move {
            (
                [(
                    header::CONTENT_TYPE,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                )],
                metrics.encode(),
            )
        })
        .with_state(metrics),
    )
}

/// The methods served, each its own metrics label; any other method is refused with 405 and
/// counted as `other`, so that clients cannot mint label values.
fn method_label(method: &Method) -> Option<&'static str> {
    [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ]
    .into_iter()
    .zip(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
    .find_map(|(known, label)| (*method == known).then_some(label))
}

async fn record_http(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let started = Instant::now();
    let (method, response) = match method_label(request.method()) {
        Some(method) => (method, next.run(request).await),
        None => (
            "other",
            (StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n").into_response(),
        ),
    };
    metrics
        .http_requests
        .get_or_create(&HttpLabels {
            path: path.clone(),
            code: response.status().as_u16().to_string(),
            method: method.to_owned(),
        })
        .inc();
    metrics
        .http_request_duration
        .get_or_create(&HttpDurationLabels {
            path,
            method: method.to_owned(),
        })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Refuses a client over its allowance, before its body is read.
async fn rate_limit(
    State((state, endpoint)): State<(ApiState, Endpoint)>,
    request: Request,
    next: Next,
) -> Response {
    // Served without a socket (tests driving the router directly): one anonymous client.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let forwarded_for = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let client = ratelimit::client_address(peer, forwarded_for, &state.trusted_proxies);
    if !state.limiter.check(&(endpoint, client), Instant::now()) {
        return (StatusCode::TOO_MANY_REQUESTS, "too many requests\n").into_response();
    }
    // Many clients each within their allowance still must not hold a body apiece.
    let Ok(_in_flight) = Arc::clone(&state.in_flight).try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "server busy, retry later\n",
        )
            .into_response();
    };
    next.run(request).await
}

async fn healthz() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
}

async fn cert_pem(State(state): State<ApiState>) -> Response {
    match state.keys.get().sealing_certificate() {
        Some(cert) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-pem-file"),
            )],
            cert.to_pem(),
        )
            .into_response(),
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot get certificate\n",
        )
            .into_response(),
    }
}

/// Reads exactly one SealedSecret from a request body (JSON or YAML).
/// On failure, the message for a 400 answer.
fn one_sealed_secret(body: &Bytes) -> Result<SealedSecret, String> {
    let text = std::str::from_utf8(body).map_err(|_| "request body is not UTF-8".to_owned())?;
    let mut docs = read_sealed_secrets(text).map_err(|e| e.to_string())?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        0 => Err("request body holds no SealedSecret".into()),
        _ => Err("request body must hold exactly one SealedSecret".into()),
    }
}

/// The SealedSecret in `body`, or the status and message refusing it: unreadable, or more
/// items than one request may make the server open.
fn sealed_within_limits(
    state: &ApiState,
    body: &Bytes,
) -> Result<SealedSecret, (StatusCode, String)> {
    let sealed = one_sealed_secret(body)
        .map_err(|message| (StatusCode::BAD_REQUEST, format!("{message}\n")))?;
    let items = sealed.spec.encrypted_data.len();
    if items > state.max_items {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the SealedSecret has {items} items; at most {} per request\n",
                state.max_items
            ),
        ));
    }
    Ok(sealed)
}

async fn verify(State(state): State<ApiState>, body: Bytes) -> Response {
    let sealed = match sealed_within_limits(&state, &body) {
        Ok(sealed) => sealed,
        Err(refused) => return refused.into_response(),
    };
    let Ok(slot) = Arc::clone(&state.work).acquire_owned().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let keys = state.keys.get();
    let opened = tokio::task::spawn_blocking(move || {
        // Held until the RSA work ends, even when the request timed out meanwhile.
        let _slot = slot;
        seal::verify_until_first_failure(&sealed, &keys.keyring).is_ok()
    })
    .await
    .unwrap_or(false);
    if opened {
        StatusCode::OK.into_response()
    } else {
        // 409 and nothing else: why it failed would help an attacker.
        StatusCode::CONFLICT.into_response()
    }
}

async fn rotate(State(state): State<ApiState>, body: Bytes) -> Response {
    let sealed = match sealed_within_limits(&state, &body) {
        Ok(sealed) => sealed,
        Err(refused) => return refused.into_response(),
    };
    let Ok(slot) = Arc::clone(&state.work).acquire_owned().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let keys = state.keys.get();
    let result = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let cert = keys
            .sealing_certificate()
            .ok_or(StatusCode::INTERNAL_SERVER_ERROR)?;
        seal::reencrypt(&sealed, &keys.keyring, cert.public_key()).map_err(|_| StatusCode::CONFLICT)
    })
    .await
    .unwrap_or(Err(StatusCode::INTERNAL_SERVER_ERROR));
    match result {
        Ok(rotated) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                write_documents(&[rotated], Format::Json).to_string(),
            ))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Err(StatusCode::CONFLICT) => {
            (StatusCode::CONFLICT, "unable to rotate secret\n").into_response()
        }
        Err(code) => (code, "cannot rotate secret: no sealing key\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use axum::http::Request;
    use http_body_util::BodyExt;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use seal::{Certificate, SealOptions, SecretBytes, read_secrets, seal_secret};
    use tower::ServiceExt;

    use super::*;
    use crate::key_set::{KeyOrder, KeySecret, KeySet};

    const KEY: &str = include_str!("../../seal/tests/fixtures/compat/keys/rsa2048/tls.key");
    const CERT: &str = include_str!("../../seal/tests/fixtures/compat/keys/rsa2048/tls.crt");
    const FOREIGN: &str = include_str!("../../seal/tests/fixtures/compat/keys/foreign2048/tls.crt");

    fn keys() -> Arc<SharedKeys> {
        let secret = KeySecret {
            metadata: ObjectMeta {
                name: Some("sealed-secrets-keyabcde".into()),
                labels: Some(BTreeMap::from([(
                    seal::SEALING_KEY_LABEL.to_owned(),
                    "active".to_owned(),
                )])),
                ..ObjectMeta::default()
            },
            data: BTreeMap::from([
                (
                    "tls.key".to_owned(),
                    SecretBytes::from_slice(KEY.as_bytes()),
                ),
                (
                    "tls.crt".to_owned(),
                    SecretBytes::from_slice(CERT.as_bytes()),
                ),
            ]),
        };
        let shared = Arc::new(SharedKeys::default());
        shared.set(KeySet::from_secrets(
            [&secret],
            "sealed-secrets-key",
            KeyOrder::default(),
        ));
        shared
    }

    fn app(keys: Arc<SharedKeys>) -> Router {
        api_router(keys, Arc::new(Metrics::new()), ApiConfig::default())
    }

    fn sealed_json(cert: &str, name: &str) -> String {
        let secret = read_secrets(
            "kind: Secret\nmetadata: {name: s, namespace: ns}\ndata: {foo: YmFy}\ntype: Opaque\n",
        )
        .unwrap()
        .remove(0);
        let cert = Certificate::from_pem(cert.as_bytes()).unwrap();
        let mut sealed = seal_secret(&secret, cert.public_key(), &SealOptions::default()).unwrap();
        sealed.metadata.name = Some(name.into());
        write_documents(&[sealed], Format::Json).to_string()
    }

    async fn call(app: &Router, method: &str, path: &str, body: String) -> (StatusCode, String) {
        let response = app
            .clone()
            .oneshot(
                Request::builder()
                    .method(method)
                    .uri(path)
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn healthz_and_cert() {
        let app = app(keys());
        assert_eq!(
            call(&app, "GET", "/healthz", String::new()).await,
            (StatusCode::OK, "ok\n".into())
        );
        let (status, body) = call(&app, "GET", "/v1/cert.pem", String::new()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            Certificate::from_pem(body.as_bytes()).unwrap().der(),
            Certificate::from_pem(CERT.as_bytes()).unwrap().der()
        );
        let empty = app_with_no_keys();
        assert_eq!(
            call(&empty, "GET", "/v1/cert.pem", String::new()).await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    fn app_with_no_keys() -> Router {
        app(Arc::new(SharedKeys::default()))
    }

    #[tokio::test]
    async fn verify_answers_200_or_409_only() {
        let app = app(keys());
        assert_eq!(
            call(&app, "POST", "/v1/verify", sealed_json(CERT, "s"))
                .await
                .0,
            StatusCode::OK
        );
        assert_eq!(
            call(&app, "POST", "/v1/verify", sealed_json(CERT, "renamed")).await,
            (StatusCode::CONFLICT, String::new())
        );
        let app = self::app(keys());
        assert_eq!(
            call(&app, "POST", "/v1/verify", sealed_json(FOREIGN, "s"))
                .await
                .0,
            StatusCode::CONFLICT
        );
        assert_eq!(
            call(&app, "POST", "/v1/verify", "{".into()).await.0,
            StatusCode::BAD_REQUEST
        );
    }

    #[tokio::test]
    async fn verify_is_rate_limited_per_client() {
        let app = app(keys());
        let mut codes = Vec::new();
        for _ in 0..4 {
            codes.push(call(&app, "POST", "/v1/verify", "{}".into()).await.0);
        }
        assert!(codes.contains(&StatusCode::TOO_MANY_REQUESTS), "{codes:?}");
    }

    async fn call_from(app: &Router, peer: &str, forwarded_for: &str, body: String) -> StatusCode {
        let peer: SocketAddr = peer.parse().unwrap();
        let mut request = Request::builder()
            .method("POST")
            .uri("/v1/verify")
            .header("x-forwarded-for", forwarded_for)
            .body(Body::from(body))
            .unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request).await.unwrap().status()
    }

    #[tokio::test]
    async fn rate_limit_is_not_bypassed_with_x_forwarded_for() {
        let app = app(keys());
        let mut codes = Vec::new();
        // A new X-Forwarded-For value per request, from one untrusted peer (port changes too).
        for i in 0..4 {
            let peer = format!("10.1.2.3:{}", 40_000 + i);
            codes.push(call_from(&app, &peer, &format!("192.0.2.{i}"), "{}".into()).await);
        }
        assert_eq!(
            codes
                .iter()
                .filter(|c| **c == StatusCode::TOO_MANY_REQUESTS)
                .count(),
            2,
            "{codes:?}"
        );
        // Another peer has its own allowance.
        assert_ne!(
            call_from(&app, "10.1.2.4:1", "192.0.2.9", "{}".into()).await,
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[tokio::test]
    async fn x_forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
        let config = ApiConfig {
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
            ..ApiConfig::default()
        };
        let app = api_router(keys(), Arc::new(Metrics::new()), config);
        for client in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
            for _ in 0..2 {
                assert_ne!(
                    call_from(&app, "10.0.0.1:80", client, "{}".into()).await,
                    StatusCode::TOO_MANY_REQUESTS
                );
            }
        }
        assert_eq!(
            call_from(&app, "10.0.0.1:80", "192.0.2.1", "{}".into()).await,
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[tokio::test]
    async fn unknown_http_methods_get_405_and_the_metrics_label_other() {
        let metrics = Arc::new(Metrics::new());
        let app = api_router(keys(), Arc::clone(&metrics), ApiConfig::default());
        for method in ["FROBNICATE", "XYZZY", "TRACE"] {
            assert_eq!(
                call(&app, method, "/healthz", String::new()).await.0,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method}"
            );
        }
        let text = metrics.encode();
        assert!(
            text.contains("http_requests_total{path=\"/healthz\",code=\"405\",method=\"other\"} 3"),
            "{text}"
        );
        assert!(
            !text.contains("FROBNICATE") && !text.contains("XYZZY"),
            "{text}"
        );
        assert_eq!(
            call(&app, "HEAD", "/healthz", String::new()).await.0,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn verify_and_rotate_refuse_more_items_than_the_cap() {
        let config = ApiConfig {
            max_items: 2,
            rate_limit_burst: NonZeroU32::new(10).unwrap(),
            ..ApiConfig::default()
        };
        let app = api_router(keys(), Arc::new(Metrics::new()), config);
        let mut sealed = read_sealed_secrets(&sealed_json(CERT, "s"))
            .unwrap()
            .remove(0);
        for item in ["a", "b"] {
            sealed
                .spec
                .encrypted_data
                .insert(item.into(), "AAAA".into());
        }
        let body = write_documents(&[sealed], Format::Json).to_string();
        for path in ["/v1/verify", "/v1/rotate"] {
            let (status, message) = call(&app, "POST", path, body.clone()).await;
            assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
            assert!(message.contains("at most 2"), "{message}");
        }
    }

    #[tokio::test]
    async fn verify_waits_for_a_work_slot() {
        let work = Arc::new(Semaphore::new(1));
        let app = api_router_with_work(
            keys(),
            Arc::new(Metrics::new()),
            ApiConfig::default(),
            Arc::clone(&work),
        );
        let busy = Arc::clone(&work).acquire_owned().await.unwrap();
        let request = tokio::spawn({
            let app = app.clone();
            async move {
                call(&app, "POST", "/v1/verify", sealed_json(CERT, "s"))
                    .await
                    .0
            }
        });
        // Give the request every chance to run; it must still be waiting for the slot.
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!request.is_finished());
        drop(busy);
        assert_eq!(request.await.unwrap(), StatusCode::OK);
        assert_eq!(work.available_permits(), 1);
    }

    #[tokio::test]
    async fn verify_and_rotate_requests_in_flight_are_capped() {
        let work = Arc::new(Semaphore::new(1));
        let config = ApiConfig {
            max_in_flight: 1,
            ..ApiConfig::default()
        };
        let app = api_router_with_work(keys(), Arc::new(Metrics::new()), config, Arc::clone(&work));
        let busy = Arc::clone(&work).acquire_owned().await.unwrap();
        let waiting = tokio::spawn({
            let app = app.clone();
            async move { call_from(&app, "10.0.0.1:1", "", sealed_json(CERT, "s")).await }
        });
        let mut refused = StatusCode::OK;
        // Other clients, within their own allowance: refused while the first holds the only
        // place, not queued behind it.
        for i in 0..100 {
            tokio::task::yield_now().await;
            // Until the first request holds the place, this one may take it and wait for the
            // work slot: give up on it (dropping it frees the place) and try again.
            let peer = format!("10.0.1.{i}:1");
            let attempt = call_from(&app, &peer, "", sealed_json(CERT, "s"));
            if let Ok(status) = tokio::time::timeout(Duration::from_millis(50), attempt).await {
                refused = status;
                break;
            }
        }
        assert_eq!(refused, StatusCode::SERVICE_UNAVAILABLE);
        drop(busy);
        assert_eq!(waiting.await.unwrap(), StatusCode::OK);
        assert_ne!(
            call_from(&app, "10.0.0.3:1", "", sealed_json(CERT, "s")).await,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[tokio::test]
    async fn rotate_reseals_and_keeps_scope_from_outer_metadata() {
        let app = app(keys());
        let original = sealed_json(CERT, "s");
        let (status, body) = call(&app, "POST", "/v1/rotate", original.clone()).await;
        assert_eq!(status, StatusCode::OK);
        let rotated = read_sealed_secrets(&body).unwrap().remove(0);
        let before = read_sealed_secrets(&original).unwrap().remove(0);
        assert_ne!(rotated.spec.encrypted_data, before.spec.encrypted_data);
        assert_eq!(rotated.metadata.name(), "s");
        // A template claiming cluster-wide does not widen the scope (CVE-2026-22728).
        let mut tricked = before.clone();
        seal::Scope::ClusterWide.write_annotations(&mut tricked.spec.template.metadata.annotations);
        let body = write_documents(&[tricked], Format::Json).to_string();
        let (status, out) = call(&app, "POST", "/v1/rotate", body).await;
        assert_eq!(status, StatusCode::OK);
        let out = read_sealed_secrets(&out).unwrap().remove(0);
        assert!(
            out.metadata.annotations.is_empty(),
            "outer scope stays strict"
        );
        let mut moved = out;
        moved.metadata.name = Some("other".into());
        assert_eq!(
            call(
                &app,
                "POST",
                "/v1/verify",
                write_documents(&[moved], Format::Json).to_string()
            )
            .await
            .0,
            StatusCode::CONFLICT
        );
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused() {
        let app = app(keys());
        let big = "x".repeat(2 * 1024 * 1024);
        assert_eq!(
            call(&app, "POST", "/v1/verify", big).await.0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[tokio::test]
    async fn metrics_count_requests() {
        let metrics = Arc::new(Metrics::new());
        let app = api_router(keys(), Arc::clone(&metrics), ApiConfig::default());
        call(&app, "GET", "/healthz", String::new()).await;
        let text = metrics.encode();
        assert!(
            text.contains("http_requests_total{path=\"/healthz\",code=\"200\",method=\"GET\"} 1"),
            "{text}"
        );
        let (status, body) = call(&metrics_router(metrics), "GET", "/metrics", String::new()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("sealed_secrets_controller_http_requests_total"));
    }
}
