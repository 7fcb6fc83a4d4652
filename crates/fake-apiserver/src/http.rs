//! Request routing, verb dispatch and discovery documents.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::{DeleteOpts, PatchKind, Propagation};
use crate::types::{Gvr, RequestRecord, ResourceInfo, Verb};
use crate::util::{parse_query, percent_decode};
use crate::watch::{WatchFilter, WatchParams};
use crate::{Inner, ResponseBody, full};

enum Route {
    Version,
    Health,
    Root,
    ApiVersions,
    ApiGroupList,
    ApiGroup(String),
    ResourceList(String, String),
    Resource {
        info: ResourceInfo,
        namespace: Option<String>,
        name: Option<String>,
        sub: Option<String>,
        /// Path after `…/proxy` for the service proxy.
        rest: String,
    },
}

struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
    }
    fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("true" | "1"))
    }
}

pub(crate) fn json_response(code: u16, v: &Value) -> http::Response<ResponseBody> {
    http::Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(full(Bytes::from(v.to_string())))
        .unwrap_or_default()
}

pub(crate) fn error_response(e: &ApiError) -> http::Response<ResponseBody> {
    json_response(e.code, &e.to_status())
}

fn route(inner: &Inner, path: &str) -> Result<Route, ApiError> {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (group, version, rest) = match s.as_slice() {
        [] => return Ok(Route::Root),
        ["version"] => return Ok(Route::Version),
        ["healthz" | "livez" | "readyz", ..] => return Ok(Route::Health),
        ["api"] => return Ok(Route::ApiVersions),
        ["apis"] => return Ok(Route::ApiGroupList),
        ["apis", g] => return Ok(Route::ApiGroup((*g).to_string())),
        ["api", v] => return Ok(Route::ResourceList(String::new(), (*v).to_string())),
        ["apis", g, v] => return Ok(Route::ResourceList((*g).to_string(), (*v).to_string())),
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::path_not_found()),
    };
    let st = inner
        .state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let lookup = |r: &str| st.info(&Gvr::new(group, version, r)).cloned();
    let (info, namespace, tail) = match rest {
        ["namespaces", ns, r, tail @ ..] if lookup(r).is_some_and(|i| i.namespaced) => (
            lookup(r).unwrap_or_else(|| unreachable!()),
            Some((*ns).to_string()),
            tail,
        ),
        [r, tail @ ..] => match lookup(r) {
            Some(i) if i.namespaced && !tail.is_empty() => return Err(ApiError::path_not_found()),
            Some(i) => (i, None, tail),
            None => return Err(ApiError::path_not_found()),
        },
        [] => return Err(ApiError::path_not_found()),
    };
    let (name, sub, rest) = match tail {
        [] => (None, None, String::new()),
        [name] => (Some((*name).to_string()), None, String::new()),
        [name, sub, more @ ..] => {
            let rest = if more.is_empty() {
                String::new()
            } else {
                format!("/{}", more.join("/"))
            };
            (Some((*name).to_string()), Some((*sub).to_string()), rest)
        }
    };
    // Keep a trailing slash of a proxied path (`…/proxy/` → `/`).
    let rest = if sub.as_deref() == Some("proxy") && path.ends_with('/') && !rest.ends_with('/') {
        format!("{rest}/")
    } else {
        rest
    };
    Ok(Route::Resource {
        info,
        namespace,
        name,
        sub,
        rest,
    })
}

fn verb_of(method: &http::Method, q: &Query, name: Option<&str>, sub: Option<&str>) -> Verb {
    use http::Method as M;
    if sub == Some("proxy") {
        return Verb::Proxy;
    }
    match (name, method) {
        (None, &M::GET) if q.flag("watch") => Verb::Watch,
        (None, &M::GET) => Verb::List,
        (None, &M::POST) => Verb::Create,
        (None, &M::DELETE) => Verb::DeleteCollection,
        (Some(_), &M::GET) => Verb::Get,
        (Some(_), &M::PUT) => Verb::Update,
        (Some(_), &M::PATCH) => Verb::Patch,
        (Some(_), &M::DELETE) => Verb::Delete,
        _ => Verb::Other,
    }
}

fn parse_body(headers: &http::HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ct.contains("protobuf") || ct.contains("cbor") {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("the fake API server only accepts JSON and YAML bodies, not {ct}"),
        ));
    }
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Ok(v);
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the request body is not valid UTF-8"))?;
    if ct.contains("yaml") {
        serde_saphyr::from_str::<Value>(text)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
    } else {
        Err(ApiError::bad_request(
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
        ))
    }
}

fn list_kind(info: &ResourceInfo) -> String {
    format!("{}List", info.kind)
}

pub(crate) async fn handle(
    inner: Arc<Inner>,
    parts: http::request::Parts,
    body: Bytes,
) -> http::Response<ResponseBody> {
    let latency = inner.lock().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match dispatch(&inner, &parts, body).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

async fn dispatch(
    inner: &Arc<Inner>,
    parts: &http::request::Parts,
    body: Bytes,
) -> Result<http::Response<ResponseBody>, ApiError> {
    let path = parts.uri.path();
    let q = Query(parse_query(parts.uri.query()));
    let route = route(inner, path);
    let (verb, gvr, namespace, name, sub) = match &route {
        Ok(Route::Resource {
            info,
            namespace,
            name,
            sub,
            ..
        }) => (
            verb_of(&parts.method, &q, name.as_deref(), sub.as_deref()),
            Some(info.gvr.clone()),
            namespace.clone(),
            name.clone(),
            sub.clone(),
        ),
        _ => (Verb::Other, None, None, None, None),
    };
    let record = RequestRecord {
        method: parts.method.to_string(),
        path: path.to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        verb,
        gvr,
        namespace,
        name,
        subresource: sub,
        patch_type: (parts.method == http::Method::PATCH).then(|| {
            parts
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        }),
    };
    {
        let mut st = inner.lock();
        st.records.push(record.clone());
        if let Some(e) = st.take_fault(&record) {
            return Err(e);
        }
    }
    match route? {
        Route::Version => Ok(json_response(
            200,
            &json!({
                "major": "1", "minor": "33", "gitVersion": "v1.33.0-fake",
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc",
                "platform": "linux/amd64"
            }),
        )),
        Route::Health => Ok(http::Response::builder()
            .status(200)
            .header("content-type", "text/plain")
            .body(full(Bytes::from_static(b"ok")))
            .unwrap_or_default()),
        Route::Root => Ok(json_response(
            200,
            &json!({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/version"]}),
        )),
        Route::ApiVersions => Ok(json_response(
            200,
            &json!({"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}),
        )),
        Route::ApiGroupList => {
            let st = inner.lock();
            let mut groups: Vec<(String, Vec<String>)> = Vec::new();
            for r in st.resources.iter().filter(|r| !r.gvr.group.is_empty()) {
                match groups.iter_mut().find(|(g, _)| *g == r.gvr.group) {
                    Some((_, vs)) if !vs.contains(&r.gvr.version) => vs.push(r.gvr.version.clone()),
                    Some(_) => {}
                    None => groups.push((r.gvr.group.clone(), vec![r.gvr.version.clone()])),
                }
            }
            let groups: Vec<Value> = groups.iter().map(|(g, vs)| group_doc(g, vs)).collect();
            Ok(json_response(
                200,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            ))
        }
        Route::ApiGroup(g) => {
            let st = inner.lock();
            let mut vs: Vec<String> = Vec::new();
            for r in st.resources.iter().filter(|r| r.gvr.group == g) {
                if !vs.contains(&r.gvr.version) {
                    vs.push(r.gvr.version.clone());
                }
            }
            if vs.is_empty() {
                return Err(ApiError::path_not_found());
            }
            let mut doc = group_doc(&g, &vs);
            doc["kind"] = json!("APIGroup");
            doc["apiVersion"] = json!("v1");
            Ok(json_response(200, &doc))
        }
        Route::ResourceList(g, v) => {
            let st = inner.lock();
            let mut resources = Vec::new();
            for r in st
                .resources
                .iter()
                .filter(|r| r.gvr.group == g && r.gvr.version == v)
            {
                resources.push(json!({
                    "name": r.gvr.resource, "singularName": r.kind.to_lowercase(),
                    "namespaced": r.namespaced, "kind": r.kind,
                    "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                    "shortNames": r.short_names,
                }));
                if r.status_subresource {
                    resources.push(json!({
                        "name": format!("{}/status", r.gvr.resource), "singularName": "",
                        "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"],
                    }));
                }
                if r.gvr == Gvr::core("services") {
                    resources.push(json!({
                        "name": "services/proxy", "singularName": "", "namespaced": true,
                        "kind": "ServiceProxyOptions",
                        "verbs": ["create", "delete", "get", "patch", "update"],
                    }));
                }
            }
            if resources.is_empty() {
                return Err(ApiError::path_not_found());
            }
            let gv = Gvr::new(&g, &v, "").api_version();
            Ok(json_response(
                200,
                &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
            ))
        }
        Route::Resource {
            info,
            namespace,
            name,
            sub,
            rest,
        } => {
            resource(
                inner, parts, &q, verb, info, namespace, name, sub, rest, body,
            )
            .await
        }
    }
}

fn group_doc(g: &str, vs: &[String]) -> Value {
    let versions: Vec<Value> = vs
        .iter()
        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    json!({"name": g, "versions": versions, "preferredVersion": versions[0]})
}

#[allow(clippy::too_many_arguments)]
async fn resource(
    inner: &Arc<Inner>,
    parts: &http::request::Parts,
    q: &Query,
    verb: Verb,
    info: ResourceInfo,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
    rest: String,
    body: Bytes,
) -> Result<http::Response<ResponseBody>, ApiError> {
    let dry_run = q.get("dryRun").is_some_and(|v| v == "All");
    let ns = namespace.clone().unwrap_or_default();
    if info.namespaced && namespace.is_none() && !matches!(verb, Verb::List | Verb::Watch) {
        return Err(ApiError::method_not_allowed());
    }
    let status_only = match sub.as_deref() {
        None => false,
        Some("status") if info.status_subresource => true,
        Some("proxy") if info.gvr == Gvr::core("services") => {
            return crate::proxy::forward(
                inner,
                &ns,
                name.as_deref().unwrap_or_default(),
                &rest,
                parts,
                body,
            )
            .await;
        }
        Some(_) => return Err(ApiError::path_not_found()),
    };
    let labels = LabelSelector::parse(q.get("labelSelector").unwrap_or_default())
        .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
    let fields = FieldSelector::parse(q.get("fieldSelector").unwrap_or_default())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let name = name.unwrap_or_default();
    match verb {
        Verb::Get => {
            let st = inner.lock();
            st.get(&info.gvr, if info.namespaced { &ns } else { "" }, &name)
                .map(|o| json_response(200, o))
                .ok_or_else(|| ApiError::not_found(&info.gvr, &name))
        }
        Verb::List => {
            let st = inner.lock();
            let items = st.list_with_views(&info.gvr, namespace.as_deref(), &labels, &fields);
            let offset: usize = match q.get("continue").filter(|c| !c.is_empty()) {
                Some(c) => c
                    .parse()
                    .map_err(|_| ApiError::bad_request("invalid continue token"))?,
                None => 0,
            };
            let limit = q
                .get("limit")
                .and_then(|l| l.parse::<usize>().ok())
                .filter(|l| *l > 0);
            let total = items.len();
            let end = limit.map_or(total, |l| (offset + l).min(total));
            let page: Vec<Value> = items
                .into_iter()
                .skip(offset)
                .take(end.saturating_sub(offset))
                .collect();
            let mut metadata = json!({"resourceVersion": st.rv.to_string()});
            if end < total {
                metadata["continue"] = json!(end.to_string());
                metadata["remainingItemCount"] = json!(total - end);
            }
            Ok(json_response(
                200,
                &json!({"kind": list_kind(&info), "apiVersion": info.gvr.api_version(), "metadata": metadata, "items": page}),
            ))
        }
        Verb::Watch => {
            let timeout = q
                .get("timeoutSeconds")
                .and_then(|t| t.parse::<u64>().ok())
                .map_or(Duration::from_secs(1800), Duration::from_secs);
            crate::watch::start(
                inner,
                WatchFilter {
                    info,
                    namespace,
                    labels,
                    fields,
                },
                WatchParams {
                    resource_version: q.get("resourceVersion").map(str::to_string),
                    bookmarks: q.flag("allowWatchBookmarks"),
                    send_initial_events: q.flag("sendInitialEvents"),
                    timeout,
                },
            )
        }
        Verb::Create => {
            let obj = parse_body(&parts.headers, &body)?;
            let created = inner.lock().create(&info, &ns, obj, dry_run)?;
            Ok(json_response(201, &created))
        }
        Verb::Update => {
            let obj = parse_body(&parts.headers, &body)?;
            let updated = inner
                .lock()
                .update(&info, &ns, &name, obj, status_only, dry_run)?;
            Ok(json_response(200, &updated))
        }
        Verb::Patch => {
            let ct = parts
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let kind = match ct.split(';').next().unwrap_or_default().trim() {
                "application/merge-patch+json" => PatchKind::Merge,
                "application/strategic-merge-patch+json" => PatchKind::Strategic,
                "application/json-patch+json" => PatchKind::Json,
                "application/apply-patch+yaml" => PatchKind::Apply,
                other => {
                    return Err(ApiError::new(
                        415,
                        "UnsupportedMediaType",
                        format!(
                            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, got {other:?}"
                        ),
                    ));
                }
            };
            if kind == PatchKind::Apply && q.get("fieldManager").is_none_or(str::is_empty) {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                ));
            }
            let patch = parse_body(&parts.headers, &body)?;
            let (obj, created) =
                inner
                    .lock()
                    .patch(&info, &ns, &name, kind, patch, status_only, dry_run)?;
            Ok(json_response(if created { 201 } else { 200 }, &obj))
        }
        Verb::Delete => {
            let opts = delete_opts(q, &body)?;
            let deleted = inner.lock().delete(&info, &ns, &name, &opts, dry_run)?;
            Ok(json_response(200, &deleted))
        }
        Verb::DeleteCollection => {
            let opts = delete_opts(q, &body)?;
            let mut st = inner.lock();
            let items = st.list(&info.gvr, namespace.as_deref(), &labels, &fields);
            let mut deleted = Vec::new();
            for o in items {
                let n = o
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let ons = o
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if let Ok(d) = st.delete(&info, &ons, &n, &opts, dry_run) {
                    deleted.push(d);
                }
            }
            Ok(json_response(
                200,
                &json!({"kind": list_kind(&info), "apiVersion": info.gvr.api_version(),
                        "metadata": {"resourceVersion": st.rv.to_string()}, "items": deleted}),
            ))
        }
        Verb::Proxy | Verb::Other => Err(ApiError::method_not_allowed()),
    }
}

fn delete_opts(q: &Query, body: &Bytes) -> Result<DeleteOpts, ApiError> {
    let b: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("invalid DeleteOptions: {e}")))?
    };
    let policy = b
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or_else(|| q.get("propagationPolicy"));
    let propagation = match policy {
        None | Some("Background") => Propagation::Background,
        Some("Foreground") => Propagation::Foreground,
        Some("Orphan") => Propagation::Orphan,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid propagationPolicy {other:?}"
            )));
        }
    };
    let propagation = if b.get("orphanDependents") == Some(&json!(true)) {
        Propagation::Orphan
    } else {
        propagation
    };
    Ok(DeleteOpts {
        propagation,
        precondition_rv: b
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
        precondition_uid: b
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}
