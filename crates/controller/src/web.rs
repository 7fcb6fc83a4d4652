//! The sealing page on the API listener: `/` (HTML), `/app.js`, `/style.css`. The page seals in
//! the browser with WebCrypto and the certificate from `/v1/cert.pem`; nothing it is given is
//! ever sent back. Read-only (GET and HEAD); every API answer gets the security headers.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const INDEX_HTML: &str = include_str!("../web/index.html");
const APP_JS: &str = include_str!("../web/app.js");
const STYLE_CSS: &str = include_str!("../web/style.css");

/// No inline script or style, no third-party resources, requests only to this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page may be cached briefly; a controller upgrade shows within minutes.
const PAGE_CACHE_CONTROL: &str = "public, max-age=300";

/// The page's routes, to merge into the API router.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| asset("text/html; charset=utf-8", INDEX_HTML)))
        .route(
            "/app.js",
            get(|| asset("text/javascript; charset=utf-8", APP_JS)),
        )
        .route(
            "/style.css",
            get(|| asset("text/css; charset=utf-8", STYLE_CSS)),
        )
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, PAGE_CACHE_CONTROL),
        ],
        body,
    )
        .into_response()
}

/// Middleware for every API answer: CSP, nosniff, no referrer, no framing, and `no-store`
/// unless the handler allowed caching (only the page does: the certificate must be fresh).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::middleware;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    fn app() -> Router {
        routes()
            .route("/v1/cert.pem", get(|| async { "pem" }))
            .layer(middleware::from_fn(security_headers))
    }

    async fn call(method: &str, path: &str) -> Response {
        app()
            .oneshot(
                Request::builder()
                    .method(method)
                    .uri(path)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap()
    }

    fn header<'a>(response: &'a Response, name: &header::HeaderName) -> &'a str {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn page_and_assets_are_served_with_security_headers() {
        for (path, content_type, needle) in [
            ("/", "text/html; charset=utf-8", "<form id=\"seal-form\""),
            ("/app.js", "text/javascript; charset=utf-8", "RSA-OAEP"),
            ("/style.css", "text/css; charset=utf-8", ":root"),
        ] {
            let response = call("GET", path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(header(&response, &header::CONTENT_TYPE), content_type);
            assert_eq!(
                header(&response, &header::CONTENT_SECURITY_POLICY),
                CONTENT_SECURITY_POLICY
            );
            assert_eq!(
                header(&response, &header::X_CONTENT_TYPE_OPTIONS),
                "nosniff"
            );
            assert_eq!(header(&response, &header::REFERRER_POLICY), "no-referrer");
            assert_eq!(
                header(&response, &header::CACHE_CONTROL),
                PAGE_CACHE_CONTROL
            );
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert!(String::from_utf8_lossy(&body).contains(needle), "{path}");
        }
    }

    #[tokio::test]
    async fn the_certificate_is_not_cacheable() {
        let response = call("GET", "/v1/cert.pem").await;
        assert_eq!(header(&response, &header::CACHE_CONTROL), "no-store");
    }

    #[tokio::test]
    async fn only_get_and_head() {
        assert_eq!(call("HEAD", "/").await.status(), StatusCode::OK);
        for method in ["POST", "PUT", "DELETE", "PATCH"] {
            assert_eq!(
                call(method, "/").await.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method}"
            );
        }
    }

    #[tokio::test]
    async fn the_api_router_serves_the_page_with_the_headers() {
        let app = crate::http::api_router(
            std::sync::Arc::new(crate::key_set::SharedKeys::default()),
            std::sync::Arc::new(crate::metrics::Metrics::new()),
            crate::http::ApiConfig::default(),
        );
        let get = |path: &'static str| {
            app.clone()
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
        };
        let page = get("/").await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(
            header(&page, &header::CONTENT_SECURITY_POLICY),
            CONTENT_SECURITY_POLICY
        );
        assert_eq!(header(&page, &header::CACHE_CONTROL), PAGE_CACHE_CONTROL);
        let cert = get("/v1/cert.pem").await.unwrap();
        assert_eq!(header(&cert, &header::CACHE_CONTROL), "no-store");
        assert_eq!(header(&cert, &header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    }

    #[test]
    fn the_page_has_no_inline_script_or_style_and_no_third_party_resource() {
        let html = INDEX_HTML.to_ascii_lowercase();
        assert!(!html.contains("<script>"), "inline script");
        assert!(!html.contains("<style"), "inline style");
        assert!(!html.contains(" style="), "style attribute");
        let handler_attribute = html.split_whitespace().any(|word| {
            word.strip_prefix("on")
                .and_then(|rest| rest.split_once('='))
                .is_some_and(|(name, _)| name.chars().all(|c| c.is_ascii_alphabetic()))
        });
        assert!(!handler_attribute, "event handler attribute");
        for text in [INDEX_HTML, APP_JS, STYLE_CSS] {
            assert!(!text.contains("http://"), "absolute URL");
            assert!(!text.contains("https://"), "absolute URL");
        }
    }
}
