//! The controller's HTTP API on `--listen-addr` (`/v1/cert.pem`, `/v1/verify`, `/v1/rotate`,
//! `/healthz`), and `/metrics` on `--listen-metrics-addr`. Same paths and codes as upstream, so
//! upstream `kubeseal` works against it. Verify and rotate never render templates, never say
//! why a value failed, are body-size-limited and rate-limited.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use seal::{Format, SealedSecret, read_sealed_secrets, write_documents};
use tower_http::timeout::TimeoutLayer;

use crate::keys::SharedKeys;
use crate::metrics::{HttpDurationLabels, HttpLabels, Metrics};

/// Limits of the API server.
#[derive(Debug, Clone, Copy)]
pub struct ApiConfig {
    /// Requests per second per client for verify and rotate (`--rate-limit`).
    pub rate_limit: NonZeroU32,
    /// Burst for verify and rotate (`--rate-limit-burst`).
    pub rate_limit_burst: NonZeroU32,
    /// Largest accepted request body.
    pub body_limit: usize,
    /// Whole-request timeout (`--read-timeout`/`--write-timeout`).
    pub timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            rate_limit: NonZeroU32::new(2).expect("non-zero"),
            rate_limit_burst: NonZeroU32::new(2).expect("non-zero"),
            body_limit: 1024 * 1024,
            timeout: Duration::from_secs(120),
        }
    }
}

#[derive(Clone)]
struct ApiState {
    keys: Arc<SharedKeys>,
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
}

/// The API router: `/healthz`, `/v1/cert.pem`, `/v1/verify`, `/v1/rotate`.
pub fn api_router(keys: Arc<SharedKeys>, metrics: Arc<Metrics>, config: ApiConfig) -> Router {
    let quota = Quota::per_second(config.rate_limit).allow_burst(config.rate_limit_burst);
    let state = ApiState {
        keys,
        limiter: Arc::new(RateLimiter::keyed(quota)),
    };
    Router::new()
        .route("/healthz", any(healthz))
        .route("/v1/cert.pem", get(cert_pem))
        .route("/v1/verify", any(verify))
        .route("/v1/rotate", any(rotate))
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
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics
        .http_requests
        .get_or_create(&HttpLabels {
            path: path.clone(),
            code: response.status().as_u16().to_string(),
            method: method.clone(),
        })
        .inc();
    metrics
        .http_request_duration
        .get_or_create(&HttpDurationLabels { path, method })
        .observe(started.elapsed().as_secs_f64());
    response
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

fn limited(state: &ApiState, path: &str, headers: &HeaderMap) -> bool {
    let client = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    state
        .limiter
        .check_key(&format!("{path} {client}"))
        .is_err()
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

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response()
}

async fn verify(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    if limited(&state, "/v1/verify", &headers) {
        return (StatusCode::TOO_MANY_REQUESTS, "too many requests\n").into_response();
    }
    let sealed = match one_sealed_secret(&body) {
        Ok(sealed) => sealed,
        Err(message) => return bad_request(&message),
    };
    let keys = state.keys.get();
    let opened = tokio::task::spawn_blocking(move || seal::verify(&sealed, &keys.keyring).is_ok())
        .await
        .unwrap_or(false);
    if opened {
        StatusCode::OK.into_response()
    } else {
        // 409 and nothing else: why it failed would help an attacker.
        StatusCode::CONFLICT.into_response()
    }
}

async fn rotate(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    if limited(&state, "/v1/rotate", &headers) {
        return (StatusCode::TOO_MANY_REQUESTS, "too many requests\n").into_response();
    }
    let sealed = match one_sealed_secret(&body) {
        Ok(sealed) => sealed,
        Err(message) => return bad_request(&message),
    };
    let keys = state.keys.get();
    let result = tokio::task::spawn_blocking(move || {
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
    use crate::keys::{KeyOrder, KeySecret, KeySet};

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
