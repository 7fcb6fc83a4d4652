//! Public value types: resource identities, verbs, faults, request records, proxy targets.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

/// Group, version and plural resource name, e.g. `("", "v1", "secrets")`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gvr {
    pub group: String,
    pub version: String,
    pub resource: String,
}

impl Gvr {
    pub fn new(group: &str, version: &str, resource: &str) -> Self {
        Self {
            group: group.to_string(),
            version: version.to_string(),
            resource: resource.to_string(),
        }
    }

    /// A core (`/api/v1`) resource.
    pub fn core(resource: &str) -> Self {
        Self::new("", "v1", resource)
    }

    /// The resource of a `kube::Resource` type with a static type (k8s-openapi types, derived CRDs).
    pub fn of<K: kube::Resource<DynamicType = ()>>() -> Self {
        Self::new(&K::group(&()), &K::version(&()), &K::plural(&()))
    }

    pub fn secrets() -> Self {
        Self::core("secrets")
    }

    pub fn sealed_secrets() -> Self {
        Self::new("bitnami.com", "v1alpha1", "sealedsecrets")
    }

    /// `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `resource` or `resource.group`, as used in API server messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }
}

impl fmt::Display for Gvr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.api_version(), self.resource)
    }
}

/// How the fake treats one resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    pub gvr: Gvr,
    pub kind: String,
    pub namespaced: bool,
    /// Has a `/status` subresource: main-resource writes keep the stored `.status`,
    /// `/status` writes change only `.status`.
    pub status_subresource: bool,
    /// Maintains `metadata.generation` (starts at 1, bumped when anything outside
    /// `metadata` and `status` changes), as for custom resources.
    pub generation: bool,
    /// PUT without `metadata.resourceVersion` is allowed (true for built-in types; custom
    /// resources require it, like the real API server).
    pub unconditional_update: bool,
    /// Discovery short names (`ns`, `cm`, ...), so `kubectl get ns` works against the fake.
    pub short_names: Vec<String>,
}

impl ResourceInfo {
    pub fn new(gvr: Gvr, kind: &str, namespaced: bool) -> Self {
        Self {
            gvr,
            kind: kind.to_string(),
            namespaced,
            status_subresource: false,
            generation: false,
            unconditional_update: true,
            short_names: Vec::new(),
        }
    }

    /// Behave like a custom resource: `/status` subresource, `metadata.generation`, and
    /// updates must carry `metadata.resourceVersion`.
    #[must_use]
    pub fn custom_resource(mut self) -> Self {
        self.status_subresource = true;
        self.generation = true;
        self.unconditional_update = false;
        self
    }

    #[must_use]
    pub fn with_short_names(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|n| (*n).to_string()).collect();
        self
    }

    #[must_use]
    pub fn with_status(mut self) -> Self {
        self.status_subresource = true;
        self
    }

    #[must_use]
    pub fn with_generation(mut self) -> Self {
        self.generation = true;
        self
    }
}

/// The API verb of a request (RBAC vocabulary, plus `Proxy` for the service proxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
    Proxy,
    /// Discovery, `/version` and anything that is not a resource request.
    Other,
}

impl Verb {
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Self::Create | Self::Update | Self::Patch | Self::Delete | Self::DeleteCollection
        )
    }
}

/// One request the fake answered (recorded before faults are applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: String,
    pub verb: Verb,
    pub gvr: Option<Gvr>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// `Content-Type` of a PATCH (`application/merge-patch+json`, …).
    pub patch_type: Option<String>,
}

/// Fail requests matching all the given criteria with an HTTP status.
///
/// ```
/// # use fake_apiserver::{Fault, Verb};
/// let f = Fault::new(500, "InternalError").verb(Verb::Update).resource("secrets").name("a").times(2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub(crate) verb: Option<Verb>,
    pub(crate) resource: Option<String>,
    pub(crate) subresource: Option<String>,
    pub(crate) namespace: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) remaining: usize,
    pub(crate) code: u16,
    pub(crate) reason: String,
    pub(crate) message: Option<String>,
}

impl Fault {
    /// Fail the next matching request (once) with `code` and `reason` (e.g. 500 `InternalError`,
    /// 403 `Forbidden`, 429 `TooManyRequests`, 409 `Conflict`).
    pub fn new(code: u16, reason: &str) -> Self {
        Self {
            verb: None,
            resource: None,
            subresource: None,
            namespace: None,
            name: None,
            remaining: 1,
            code,
            reason: reason.to_string(),
            message: None,
        }
    }

    /// 409 Conflict with the real "the object has been modified" message.
    pub fn conflict() -> Self {
        Self::new(409, "Conflict")
    }

    #[must_use]
    pub fn verb(mut self, verb: Verb) -> Self {
        self.verb = Some(verb);
        self
    }

    /// Plural resource name; `"sealedsecrets/status"` also restricts the subresource.
    #[must_use]
    pub fn resource(mut self, resource: &str) -> Self {
        match resource.split_once('/') {
            Some((r, s)) => {
                self.resource = Some(r.to_string());
                self.subresource = Some(s.to_string());
            }
            None => self.resource = Some(resource.to_string()),
        }
        self
    }

    #[must_use]
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_string());
        self
    }

    #[must_use]
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    #[must_use]
    pub fn times(mut self, n: usize) -> Self {
        self.remaining = n;
        self
    }

    #[must_use]
    pub fn message(mut self, message: &str) -> Self {
        self.message = Some(message.to_string());
        self
    }

    pub(crate) fn matches(&self, r: &RequestRecord) -> bool {
        self.remaining > 0
            && self.verb.is_none_or(|v| v == r.verb)
            && self
                .resource
                .as_ref()
                .is_none_or(|x| r.gvr.as_ref().is_some_and(|g| &g.resource == x))
            && self
                .subresource
                .as_ref()
                .is_none_or(|x| r.subresource.as_ref() == Some(x))
            && self
                .namespace
                .as_ref()
                .is_none_or(|x| r.namespace.as_ref() == Some(x))
            && self
                .name
                .as_ref()
                .is_none_or(|x| r.name.as_ref() == Some(x))
    }
}

/// A request forwarded through the service proxy to a test handler.
#[derive(Debug, Clone)]
pub struct ProxyRequest {
    pub method: http::Method,
    /// Path below `…/proxy`, starting with `/` (e.g. `/v1/cert.pem`).
    pub path: String,
    pub query: Option<String>,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// What a test proxy handler answers.
#[derive(Debug, Clone)]
pub struct ProxyResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Bytes,
}

impl ProxyResponse {
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            content_type: content_type.to_string(),
            body: body.into(),
        }
    }
}

pub type ProxyHandler = Arc<dyn Fn(ProxyRequest) -> ProxyResponse + Send + Sync>;

#[derive(Clone)]
pub(crate) enum ProxyTarget {
    Url(String),
    Handler(ProxyHandler),
}
