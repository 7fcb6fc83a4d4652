//! The service proxy subresource: `…/services/{[scheme:]name[:port]}/proxy/{path}`.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::status::ApiError;
use crate::types::{Gvr, ProxyRequest, ProxyTarget};
use crate::{Inner, ResponseBody, full};

/// `svcname`, `svcname:port` or `scheme:svcname:port` (k8s `SplitSchemeNamePort`).
fn split_scheme_name_port(id: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = id.split(':').collect();
    let (scheme, name, port) = match parts.as_slice() {
        [name] => ("", *name, ""),
        [name, port] => ("", *name, *port),
        [scheme, name, port] => (*scheme, *name, *port),
        _ => return None,
    };
    if name.is_empty() || !matches!(scheme, "" | "http" | "https") {
        return None;
    }
    Some((scheme.to_string(), name.to_string(), port.to_string()))
}

pub(crate) async fn forward(
    inner: &Arc<Inner>,
    ns: &str,
    id: &str,
    rest: &str,
    parts: &http::request::Parts,
    body: Bytes,
) -> Result<http::Response<ResponseBody>, ApiError> {
    let (_scheme, name, port) = split_scheme_name_port(id)
        .ok_or_else(|| ApiError::bad_request(format!("invalid service request {id:?}")))?;
    let target = {
        let st = inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let svc = st
            .get(&Gvr::core("services"), ns, &name)
            .ok_or_else(|| ApiError::not_found(&Gvr::core("services"), &name))?;
        let ports = svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let port_name_of = |p: &Value| {
            p.get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        // Like the real API server: a port number is mapped to that port's name, and the
        // (possibly empty) port name must then name one of the service's ports.
        let wanted = if let Ok(num) = port.parse::<i64>() {
            ports
                .iter()
                .find(|p| p.get("port").and_then(Value::as_i64) == Some(num))
                .map(port_name_of)
                .ok_or_else(|| {
                    ApiError::service_unavailable(format!(
                        "no service port {num} found for service {name:?}"
                    ))
                })?
        } else {
            port
        };
        if !ports.iter().any(|p| port_name_of(p) == wanted) {
            return Err(ApiError::service_unavailable(format!(
                "no endpoints available for service {id:?}"
            )));
        }
        st.proxies
            .get(&(ns.to_string(), name.clone()))
            .cloned()
            .ok_or_else(|| {
                ApiError::service_unavailable(format!(
                    "no endpoints available for service {name:?}"
                ))
            })?
    };
    let path = if rest.is_empty() {
        "/".to_string()
    } else {
        rest.to_string()
    };
    match target {
        ProxyTarget::Handler(h) => {
            let resp = h(ProxyRequest {
                method: parts.method.clone(),
                path,
                query: parts.uri.query().map(str::to_string),
                headers: parts.headers.clone(),
                body,
            });
            Ok(http::Response::builder()
                .status(resp.status)
                .header("content-type", resp.content_type)
                .body(full(resp.body))
                .unwrap_or_default())
        }
        ProxyTarget::Url(base) => {
            let mut uri = format!("{}{}", base.trim_end_matches('/'), path);
            if let Some(q) = parts.uri.query() {
                uri.push('?');
                uri.push_str(q);
            }
            let mut req = http::Request::builder()
                .method(parts.method.clone())
                .uri(&uri);
            for h in ["content-type", "accept", "x-forwarded-for"] {
                if let Some(v) = parts.headers.get(h) {
                    req = req.header(h, v);
                }
            }
            let req = req
                .body(Full::new(body))
                .map_err(|e| ApiError::bad_request(format!("bad proxy request: {e}")))?;
            let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
            let resp = client.request(req).await.map_err(|e| {
                ApiError::service_unavailable(format!("error trying to reach service: {e}"))
            })?;
            let (rparts, rbody) = resp.into_parts();
            let bytes = rbody
                .collect()
                .await
                .map_err(|e| {
                    ApiError::service_unavailable(format!("error reading from service: {e}"))
                })?
                .to_bytes();
            let mut out = http::Response::builder().status(rparts.status);
            if let Some(ct) = rparts.headers.get("content-type") {
                out = out.header("content-type", ct);
            }
            Ok(out.body(full(bytes)).unwrap_or_default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split_scheme_name_port as s;

    #[test]
    fn ids() {
        let t = |a: &str, b: &str, c: &str| Some((a.to_string(), b.to_string(), c.to_string()));
        assert_eq!(s("svc"), t("", "svc", ""));
        assert_eq!(s("svc:8080"), t("", "svc", "8080"));
        assert_eq!(s("http:svc:"), t("http", "svc", ""));
        assert_eq!(s("http:svc:http"), t("http", "svc", "http"));
        assert_eq!(s("ftp:svc:x"), None);
    }
}
