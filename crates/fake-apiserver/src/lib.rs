//! A stateful, in-memory Kubernetes API server for tests.
//!
//! Use it in-process as a `tower::Service` behind a real [`kube::Client`]:
//!
//! ```no_run
//! # async fn demo() {
//! let fake = fake_apiserver::FakeApiServer::new();
//! let client = kube::Client::new(fake.service(), "default");
//! # }
//! ```
//!
//! or over plain HTTP on `127.0.0.1` ([`FakeApiServer::serve`]) with a kubeconfig
//! ([`FakeApiServer::write_kubeconfig`]) so real binaries can be pointed at it.
//!
//! Objects are stored as `serde_json::Value` per (group, version, resource, namespace, name).
//! Implemented: get, list (label/field selectors, `limit`/`continue`, all namespaces), watch
//! (resume from a resourceVersion, bookmarks, `sendInitialEvents`, 410 `Expired` as an `ERROR`
//! event), create (`generateName`), update with optimistic concurrency, merge / strategic (as
//! merge) / JSON / apply (as merge) patches, delete (finalizers, preconditions, propagation),
//! deletecollection, the `/status` subresource, `metadata.generation`, immutable Secrets and
//! ConfigMaps, owner-reference garbage collection, the service proxy, discovery and `/version`;
//! the validation kube-apiserver applies to the objects stored here (names, labels,
//! annotations, ownerReferences, Secrets, events.k8s.io/v1 Events, Leases); core/v1 Event lists
//! also show events.k8s.io/v1 Events, as the API server keeps both in one place.
//! Test hooks: fault injection, closing watches, latency, request records and direct store access.

#![forbid(unsafe_code)]

mod http;
mod proxy;
mod selector;
mod status;
mod store;
mod types;
mod util;
mod validate;
mod watch;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use serde_json::{Value, json};
use tokio::sync::broadcast;

pub use selector::{FieldSelector, LabelSelector};
pub use status::ApiError;
pub use types::{
    Fault, Gvr, ProxyHandler, ProxyRequest, ProxyResponse, RequestRecord, ResourceInfo, Verb,
};

use store::{State, WatchMsg};
use types::ProxyTarget;

/// Response body of the fake (buffered or, for watches, streamed).
pub type ResponseBody = UnsyncBoxBody<Bytes, Infallible>;

pub(crate) fn full(b: Bytes) -> ResponseBody {
    Full::new(b).boxed_unsync()
}

pub(crate) struct Inner {
    state: Mutex<State>,
    open_watches: AtomicUsize,
    addr: Mutex<Option<SocketAddr>>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The fake API server. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct FakeApiServer {
    inner: Arc<Inner>,
}

impl Default for FakeApiServer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for FakeApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeApiServer")
            .field("resource_version", &self.resource_version())
            .field("addr", &self.addr())
            .finish_non_exhaustive()
    }
}

/// The resources every fake knows about.
pub fn default_resources() -> Vec<ResourceInfo> {
    let core = |r: &str, k: &str, ns: bool| ResourceInfo::new(Gvr::core(r), k, ns);
    vec![
        core("namespaces", "Namespace", false)
            .with_status()
            .with_short_names(&["ns"]),
        core("secrets", "Secret", true),
        core("configmaps", "ConfigMap", true).with_short_names(&["cm"]),
        core("events", "Event", true).with_short_names(&["ev"]),
        core("services", "Service", true)
            .with_status()
            .with_short_names(&["svc"]),
        core("serviceaccounts", "ServiceAccount", true).with_short_names(&["sa"]),
        core("endpoints", "Endpoints", true).with_short_names(&["ep"]),
        ResourceInfo::new(Gvr::new("events.k8s.io", "v1", "events"), "Event", true)
            .with_short_names(&["ev"]),
        ResourceInfo::new(
            Gvr::new("coordination.k8s.io", "v1", "leases"),
            "Lease",
            true,
        ),
        ResourceInfo::new(
            Gvr::new("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
            "CustomResourceDefinition",
            false,
        )
        .with_short_names(&["crd", "crds"])
        .with_status()
        .with_generation(),
        ResourceInfo::new(Gvr::sealed_secrets(), "SealedSecret", true).custom_resource(),
    ]
}

impl FakeApiServer {
    /// A fake with [`default_resources`] and the namespaces `default`, `kube-system`, `kube-public`.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel::<WatchMsg>(4096);
        let mut state = State::new(tx);
        for r in default_resources() {
            state.register(r);
        }
        let fake = Self {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                open_watches: AtomicUsize::new(0),
                addr: Mutex::new(None),
            }),
        };
        for ns in ["default", "kube-system", "kube-public"] {
            fake.create_namespace(ns);
        }
        fake
    }

    /// Teach the fake another resource type (or change how a known one behaves).
    pub fn register_resource(&self, info: ResourceInfo) {
        self.inner.lock().register(info);
    }

    // ----- transports -----

    /// An in-process `tower::Service` for `kube::Client::new(fake.service(), "default")`.
    pub fn service(&self) -> FakeService {
        FakeService {
            inner: self.inner.clone(),
        }
    }

    /// A `kube::Client` on [`Self::service`].
    pub fn client(&self, default_namespace: &str) -> kube::Client {
        kube::Client::new(self.service(), default_namespace)
    }

    /// Serve plain HTTP/1.1 on `127.0.0.1:<random port>` from a dedicated thread (so blocking
    /// test code, e.g. `std::process::Command`, cannot starve it). Serves until the process exits.
    /// Calling it again returns the same address.
    pub fn serve_in_background(&self) -> io::Result<SocketAddr> {
        let mut slot = self
            .inner
            .addr
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(a) = *slot {
            return Ok(a);
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let service = self.service();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name(format!("fake-apiserver-{}", addr.port()))
            .spawn(move || {
                rt.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        let svc = service.clone();
                        tokio::spawn(async move {
                            let hsvc = hyper::service::service_fn(move |req| {
                                let mut s = svc.clone();
                                tower::Service::call(&mut s, req)
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(hyper_util::rt::TokioIo::new(stream), hsvc)
                                .await;
                        });
                    }
                });
            })?;
        *slot = Some(addr);
        Ok(addr)
    }

    /// Async form of [`Self::serve_in_background`].
    pub async fn serve(&self) -> io::Result<SocketAddr> {
        self.serve_in_background()
    }

    /// The address if [`Self::serve`] was called.
    pub fn addr(&self) -> Option<SocketAddr> {
        *self
            .inner
            .addr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A kubeconfig (YAML) for `http://<addr>` with context `fake`, current namespace `namespace`.
    pub fn kubeconfig_yaml(addr: SocketAddr, namespace: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{addr}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: {namespace}\n\
             current-context: fake\nusers:\n- name: fake\n  user:\n    token: fake-token\npreferences: {{}}\n"
        )
    }

    /// Serve (if not yet) and write a kubeconfig pointing at this fake to `path`.
    pub fn write_kubeconfig(&self, path: &Path, namespace: &str) -> io::Result<SocketAddr> {
        let addr = self.serve_in_background()?;
        std::fs::write(path, Self::kubeconfig_yaml(addr, namespace))?;
        Ok(addr)
    }

    // ----- direct store access (no faults, not recorded) -----

    fn info(&self, gvr: &Gvr) -> ResourceInfo {
        self.inner
            .lock()
            .info(gvr)
            .cloned()
            .unwrap_or_else(|| panic!("fake-apiserver: resource {gvr} is not registered"))
    }

    /// One object; `namespace` is ignored for cluster-scoped resources.
    pub fn get(&self, gvr: &Gvr, namespace: &str, name: &str) -> Option<Value> {
        let info = self.info(gvr);
        let ns = if info.namespaced { namespace } else { "" };
        self.inner.lock().get(gvr, ns, name).cloned()
    }

    /// All objects of a resource (in `namespace`, or everywhere for `None`), sorted by namespace/name.
    pub fn list(&self, gvr: &Gvr, namespace: Option<&str>) -> Vec<Value> {
        self.inner.lock().list(
            gvr,
            namespace,
            &LabelSelector::default(),
            &FieldSelector::default(),
        )
    }

    /// Create or replace an object, bypassing API validation (apiVersion/kind are set from `gvr`,
    /// uid/creationTimestamp/resourceVersion filled in; namespace defaults to `default`).
    /// Watchers see ADDED/MODIFIED. Returns the stored object.
    pub fn insert(&self, gvr: &Gvr, obj: Value) -> Value {
        let info = self.info(gvr);
        self.inner.lock().insert_raw(&info, obj)
    }

    /// Delete an object now (ignoring finalizers), with garbage collection of its dependents.
    pub fn remove(&self, gvr: &Gvr, namespace: &str, name: &str) -> Option<Value> {
        let info = self.info(gvr);
        let ns = if info.namespaced { namespace } else { "" };
        self.inner.lock().remove_raw(gvr, ns, name)
    }

    /// Typed [`Self::get`].
    pub fn get_as<K>(&self, namespace: &str, name: &str) -> Option<K>
    where
        K: kube::Resource<DynamicType = ()> + serde::de::DeserializeOwned,
    {
        self.get(&Gvr::of::<K>(), namespace, name)
            .map(|v| serde_json::from_value(v).expect("stored object deserializes"))
    }

    /// Typed [`Self::list`].
    pub fn list_as<K>(&self, namespace: Option<&str>) -> Vec<K>
    where
        K: kube::Resource<DynamicType = ()> + serde::de::DeserializeOwned,
    {
        self.list(&Gvr::of::<K>(), namespace)
            .into_iter()
            .map(|v| serde_json::from_value(v).expect("stored object deserializes"))
            .collect()
    }

    /// Typed [`Self::insert`].
    pub fn insert_as<K>(&self, obj: &K) -> K
    where
        K: kube::Resource<DynamicType = ()> + serde::Serialize + serde::de::DeserializeOwned,
    {
        let v = serde_json::to_value(obj).expect("object serializes");
        serde_json::from_value(self.insert(&Gvr::of::<K>(), v)).expect("stored object deserializes")
    }

    pub fn create_namespace(&self, name: &str) -> Value {
        self.insert(
            &Gvr::core("namespaces"),
            json!({"metadata": {"name": name}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        )
    }

    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.inner.lock().rv
    }

    // ----- watches -----

    /// Forget the watch history, like an etcd compaction: every resourceVersion handed out so far
    /// becomes too old, so a watch resuming from one gets a 410 `Expired` ERROR event and
    /// `kube::runtime::watcher` relists. (The global resourceVersion advances by one, so a fresh
    /// list is immediately watchable.)
    pub fn compact(&self) {
        let mut st = self.inner.lock();
        st.history.clear();
        st.rv += 1;
        st.compacted_rv = st.rv;
    }

    /// Keep at most `n` past changes for watch resumption (default 10 000).
    pub fn set_history_limit(&self, n: usize) {
        self.inner.lock().history_limit = n;
    }

    /// End every open watch stream (clients must re-watch).
    pub fn close_watches(&self) {
        let _ = self.inner.lock().tx.send(WatchMsg::CloseAll);
    }

    /// Number of watch streams currently open.
    pub fn open_watches(&self) -> usize {
        self.inner.open_watches.load(Ordering::SeqCst)
    }

    /// How often BOOKMARK events are sent to watches that allow them (default 1 s).
    pub fn set_bookmark_interval(&self, d: Duration) {
        self.inner.lock().bookmark_interval = d;
    }

    // ----- faults and behaviour -----

    /// Fail requests matching `fault` (see [`Fault`]).
    pub fn fail(&self, fault: Fault) {
        self.inner.lock().faults.push(fault);
    }

    /// Fail the next `times` requests of `verb` on `resource` (optionally one `name`) with
    /// `code`/`reason`.
    pub fn fail_next(
        &self,
        times: usize,
        verb: Verb,
        resource: &str,
        name: Option<&str>,
        code: u16,
        reason: &str,
    ) {
        let mut f = Fault::new(code, reason)
            .verb(verb)
            .resource(resource)
            .times(times);
        if let Some(n) = name {
            f = f.name(n);
        }
        self.fail(f);
    }

    /// Answer the next `times` `verb` requests on `resource` (optionally one `name`) with a
    /// 409 Conflict ("the object has been modified").
    pub fn inject_conflicts(&self, times: usize, verb: Verb, resource: &str, name: Option<&str>) {
        self.fail_next(times, verb, resource, name, 409, "Conflict");
    }

    /// Remove all pending faults.
    pub fn clear_faults(&self) {
        self.inner.lock().faults.clear();
    }

    /// Delay every request by `d`.
    pub fn set_latency(&self, d: Duration) {
        self.inner.lock().latency = d;
    }

    /// Turn owner-reference garbage collection on or off (default on).
    pub fn set_garbage_collection(&self, enabled: bool) {
        self.inner.lock().gc_enabled = enabled;
    }

    // ----- request records -----

    /// Every request answered so far (including failed and faulted ones).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.inner.lock().records.clone()
    }

    /// How many `verb` requests were made on `resource` (plural; `"secrets/status"` counts a subresource).
    pub fn count(&self, verb: Verb, resource: &str) -> usize {
        let probe = Fault::new(0, "").verb(verb).resource(resource);
        let has_sub = resource.contains('/');
        self.inner
            .lock()
            .records
            .iter()
            .filter(|r| probe.matches(r) && (has_sub || r.subresource.is_none()))
            .count()
    }

    /// Number of write requests (create/update/patch/delete/deletecollection) on `resource`,
    /// including its subresources.
    pub fn writes(&self, resource: &str) -> usize {
        self.inner
            .lock()
            .records
            .iter()
            .filter(|r| r.verb.is_write() && r.gvr.as_ref().is_some_and(|g| g.resource == resource))
            .count()
    }

    pub fn reset_requests(&self) {
        self.inner.lock().records.clear();
    }

    // ----- service proxy -----

    /// Forward `…/namespaces/{ns}/services/{name}/proxy/{path}` to `target_base_url` + `/{path}`
    /// (e.g. `http://127.0.0.1:8080`). Creates Service `{ns}/{name}` with port 8080 named `http`
    /// if it does not exist yet.
    pub fn set_service_proxy(&self, namespace: &str, name: &str, target_base_url: &str) {
        self.set_proxy_target(
            namespace,
            name,
            ProxyTarget::Url(target_base_url.to_string()),
        );
    }

    /// Like [`Self::set_service_proxy`] but answer with an in-process handler.
    pub fn set_service_proxy_handler<F>(&self, namespace: &str, name: &str, handler: F)
    where
        F: Fn(ProxyRequest) -> ProxyResponse + Send + Sync + 'static,
    {
        self.set_proxy_target(namespace, name, ProxyTarget::Handler(Arc::new(handler)));
    }

    fn set_proxy_target(&self, namespace: &str, name: &str, target: ProxyTarget) {
        let svc = Gvr::core("services");
        if self.get(&svc, namespace, name).is_none() {
            self.insert(
                &svc,
                json!({"metadata": {"name": name, "namespace": namespace},
                       "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10",
                                "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "targetPort": 8080}]}}),
            );
        }
        self.inner
            .lock()
            .proxies
            .insert((namespace.to_string(), name.to_string()), target);
    }

    /// Stop proxying to a service (requests then get 503 "no endpoints available").
    pub fn clear_service_proxy(&self, namespace: &str, name: &str) {
        self.inner
            .lock()
            .proxies
            .remove(&(namespace.to_string(), name.to_string()));
    }
}

/// The in-process transport: a `tower::Service` answering like an API server.
#[derive(Clone)]
pub struct FakeService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FakeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeService")
    }
}

impl<B> tower::Service<::http::Request<B>> for FakeService
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: std::fmt::Display,
{
    type Response = ::http::Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: ::http::Request<B>) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let bytes = match body.collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) => {
                    return Ok(http::error_response(&ApiError::bad_request(format!(
                        "error reading request body: {e}"
                    ))));
                }
            };
            Ok(http::handle(inner, parts, bytes).await)
        })
    }
}
