//! The object store and the API semantics of writes (create/update/patch/delete, GC).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::types::{Fault, Gvr, ProxyTarget, RequestRecord, ResourceInfo};
use crate::util::{Rng, now_rfc3339};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeType {
    Added,
    Modified,
    Deleted,
}

/// One committed change, kept for watch replay.
#[derive(Debug)]
pub(crate) struct Change {
    pub gvr: Gvr,
    pub kind: ChangeType,
    pub old: Option<Value>,
    pub obj: Value,
    pub rv: u64,
}

#[derive(Debug, Clone)]
pub(crate) enum WatchMsg {
    Change(Arc<Change>),
    CloseAll,
}

/// How a PATCH body is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchKind {
    Merge,
    Strategic,
    Json,
    Apply,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct DeleteOpts {
    pub propagation: Propagation,
    pub precondition_rv: Option<String>,
    pub precondition_uid: Option<String>,
}

type Key = (String, String);

pub(crate) struct State {
    pub resources: Vec<ResourceInfo>,
    pub objects: BTreeMap<Gvr, BTreeMap<Key, Value>>,
    pub rv: u64,
    pub history: VecDeque<Arc<Change>>,
    pub history_limit: usize,
    /// Watches may resume from any resourceVersion >= this one.
    pub compacted_rv: u64,
    pub rng: Rng,
    pub faults: Vec<Fault>,
    pub records: Vec<RequestRecord>,
    pub latency: Duration,
    pub bookmark_interval: Duration,
    pub gc_enabled: bool,
    pub proxies: HashMap<Key, ProxyTarget>,
    pub tx: broadcast::Sender<WatchMsg>,
}

/// The API server's check of `metadata.name` and `metadata.generateName` for the objects this
/// fake stores: both must be DNS-1123 subdomains, except that a `generateName` may end in `-`
/// (the server masks one trailing dash before checking, as `ValidateObjectMeta` does).
fn invalid_name(name: &str, generate_name: Option<&str>) -> Option<(String, String, String)> {
    let cause = |field: &str, value: &str| {
        (
            field.to_owned(),
            "FieldValueInvalid".to_owned(),
            format!(
                "Invalid value: {value:?}: a lowercase RFC 1123 subdomain must consist of lower \
                 case alphanumeric characters, '-' or '.', and must start and end with an \
                 alphanumeric character"
            ),
        )
    };
    if !name.is_empty() && !is_dns1123_subdomain(name) {
        return Some(cause("metadata.name", name));
    }
    if let Some(prefix) = generate_name.filter(|p| !p.is_empty()) {
        let masked = prefix.strip_suffix('-').unwrap_or(prefix);
        if !masked.is_empty() && !is_dns1123_subdomain(masked) {
            return Some(cause("metadata.generateName", prefix));
        }
    }
    None
}

/// Namespace names are DNS-1123 labels: one label of at most 63 characters.
fn invalid_label_name(name: &str) -> Option<(String, String, String)> {
    (name.len() > 63 || name.contains('.')).then(|| {
        (
            "metadata.name".to_owned(),
            "FieldValueInvalid".to_owned(),
            format!(
                "Invalid value: {name:?}: a lowercase RFC 1123 label must consist of lower case \
                 alphanumeric characters or '-', and must be no more than 63 characters"
            ),
        )
    })
}

fn is_dns1123_subdomain(value: &str) -> bool {
    value.len() <= 253
        && value.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= 63
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
                && bytes[0] != b'-'
                && bytes[bytes.len() - 1] != b'-'
        })
}

fn meta(obj: &Value, field: &str) -> Option<String> {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    match obj.get_mut("metadata") {
        Some(Value::Object(m)) => m,
        _ => unreachable!("metadata was just made an object"),
    }
}

fn finalizers_empty(obj: &Value) -> bool {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
}

fn owner_uids(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Everything but `metadata` and `status`: what bumps `metadata.generation`.
fn generation_content(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
        m.remove("apiVersion");
        m.remove("kind");
    }
    o
}

impl State {
    pub fn new(tx: broadcast::Sender<WatchMsg>) -> Self {
        Self {
            resources: Vec::new(),
            objects: BTreeMap::new(),
            rv: 1,
            history: VecDeque::new(),
            history_limit: 10_000,
            compacted_rv: 1,
            rng: Rng::new(),
            faults: Vec::new(),
            records: Vec::new(),
            latency: Duration::ZERO,
            bookmark_interval: Duration::from_secs(1),
            gc_enabled: true,
            proxies: HashMap::new(),
            tx,
        }
    }

    pub fn register(&mut self, info: ResourceInfo) {
        self.resources.retain(|r| r.gvr != info.gvr);
        self.resources.push(info);
    }

    pub fn info(&self, gvr: &Gvr) -> Option<&ResourceInfo> {
        self.resources.iter().find(|r| &r.gvr == gvr)
    }

    pub fn take_fault(&mut self, rec: &RequestRecord) -> Option<ApiError> {
        let f = self.faults.iter_mut().find(|f| f.matches(rec))?;
        f.remaining -= 1;
        let f = f.clone();
        self.faults.retain(|f| f.remaining > 0);
        let name = rec.name.clone().unwrap_or_default();
        let mut err = match (&rec.gvr, f.code) {
            (Some(gvr), 409) if f.reason == "Conflict" => ApiError::conflict(gvr, &name),
            (Some(gvr), 404) if f.reason == "NotFound" => ApiError::not_found(gvr, &name),
            (Some(gvr), 409) if f.reason == "AlreadyExists" => ApiError::already_exists(gvr, &name),
            _ => ApiError::new(f.code, &f.reason, format!("injected fault: {}", f.reason)),
        };
        if let Some(m) = f.message {
            err.message = m;
        }
        Some(err)
    }

    // ---------- reads ----------

    pub fn get(&self, gvr: &Gvr, ns: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(gvr)
            .and_then(|m| m.get(&(ns.to_string(), name.to_string())))
    }

    pub fn list(
        &self,
        gvr: &Gvr,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> Vec<Value> {
        self.objects
            .get(gvr)
            .map(|m| {
                m.iter()
                    .filter(|((ons, _), _)| ns.is_none_or(|n| n == ons))
                    .map(|(_, v)| v)
                    .filter(|v| labels.matches(v) && fields.matches(v))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn uid_exists(&self, uid: &str) -> bool {
        self.objects
            .values()
            .flat_map(BTreeMap::values)
            .any(|o| meta(o, "uid").as_deref() == Some(uid))
    }

    // ---------- commit primitives ----------

    fn emit(&mut self, gvr: &Gvr, kind: ChangeType, old: Option<Value>, obj: Value, rv: u64) {
        let change = Arc::new(Change {
            gvr: gvr.clone(),
            kind,
            old,
            obj,
            rv,
        });
        self.history.push_back(change.clone());
        while self.history.len() > self.history_limit {
            if let Some(c) = self.history.pop_front() {
                self.compacted_rv = c.rv;
            }
        }
        // No receivers is fine.
        let _ = self.tx.send(WatchMsg::Change(change));
    }

    /// Store `obj` under a fresh resourceVersion and notify watchers.
    fn commit(&mut self, gvr: &Gvr, ns: &str, name: &str, mut obj: Value) -> Value {
        self.rv += 1;
        let rv = self.rv;
        meta_mut(&mut obj).insert("resourceVersion".into(), json!(rv.to_string()));
        let old = self
            .objects
            .entry(gvr.clone())
            .or_default()
            .insert((ns.to_string(), name.to_string()), obj.clone());
        let kind = if old.is_some() {
            ChangeType::Modified
        } else {
            ChangeType::Added
        };
        self.emit(gvr, kind, old, obj.clone(), rv);
        obj
    }

    /// Remove an object now (no finalizer check), notify watchers, run GC and namespace cleanup.
    fn remove_now(
        &mut self,
        gvr: &Gvr,
        ns: &str,
        name: &str,
        propagation: Propagation,
    ) -> Option<Value> {
        let mut obj = self
            .objects
            .get_mut(gvr)?
            .remove(&(ns.to_string(), name.to_string()))?;
        self.rv += 1;
        let rv = self.rv;
        meta_mut(&mut obj).insert("resourceVersion".into(), json!(rv.to_string()));
        self.emit(gvr, ChangeType::Deleted, None, obj.clone(), rv);
        if let Some(uid) = meta(&obj, "uid") {
            self.collect_dependents(&uid, propagation);
        }
        if gvr == &Gvr::core("namespaces") {
            let victims: Vec<(Gvr, String)> = self
                .objects
                .iter()
                .flat_map(|(g, m)| {
                    m.keys()
                        .filter(|(n, _)| n == name)
                        .map(|(_, obj_name)| (g.clone(), obj_name.clone()))
                        .collect::<Vec<_>>()
                })
                .collect();
            for (g, n) in victims {
                self.remove_now(&g, name, &n, Propagation::Background);
            }
        }
        Some(obj)
    }

    /// Garbage collection of objects owned by `uid`, like kube-controller-manager's GC (synchronous).
    fn collect_dependents(&mut self, uid: &str, propagation: Propagation) {
        if !self.gc_enabled {
            return;
        }
        let dependents: Vec<(Gvr, String, String)> = self
            .objects
            .iter()
            .flat_map(|(g, m)| {
                m.iter()
                    .filter(|(_, o)| owner_uids(o).iter().any(|u| u == uid))
                    .map(|((ns, n), _)| (g.clone(), ns.clone(), n.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (g, ns, n) in dependents {
            let Some(obj) = self.get(&g, &ns, &n).cloned() else {
                continue;
            };
            let others_alive = owner_uids(&obj)
                .iter()
                .any(|u| u != uid && self.uid_exists(u));
            if propagation == Propagation::Orphan || others_alive {
                let mut new = obj.clone();
                if let Some(Value::Array(refs)) = new.pointer_mut("/metadata/ownerReferences") {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid));
                    if refs.is_empty() {
                        meta_mut(&mut new).remove("ownerReferences");
                    }
                }
                self.commit(&g, &ns, &n, new);
            } else if finalizers_empty(&obj) {
                self.remove_now(&g, &ns, &n, Propagation::Background);
            } else if obj.pointer("/metadata/deletionTimestamp").is_none() {
                let mut new = obj.clone();
                meta_mut(&mut new).insert("deletionTimestamp".into(), json!(now_rfc3339()));
                self.commit(&g, &ns, &n, new);
            }
        }
    }

    // ---------- API semantics ----------

    fn canonical_types(info: &ResourceInfo, obj: &mut Value) {
        obj["apiVersion"] = json!(info.gvr.api_version());
        obj["kind"] = json!(info.kind);
    }

    /// Secret `stringData` is folded into `data` and `type` defaults to `Opaque`, as the API server does.
    fn normalize(info: &ResourceInfo, obj: &mut Value) {
        if info.gvr != Gvr::secrets() {
            return;
        }
        let Some(o) = obj.as_object_mut() else { return };
        if let Some(Value::Object(sd)) = o.remove("stringData") {
            let data = o.entry("data").or_insert_with(|| json!({}));
            if !data.is_object() {
                *data = json!({});
            }
            for (k, v) in sd {
                let s = v.as_str().unwrap_or_default();
                data[k] = json!(base64::engine::general_purpose::STANDARD.encode(s));
            }
        }
        if o.get("type")
            .is_none_or(|t| t.as_str().is_none_or(str::is_empty))
        {
            o.insert("type".into(), json!("Opaque"));
        }
    }

    /// Secret `data` values must be standard base64, as the API server's decoder requires.
    fn validate_secret_data(info: &ResourceInfo, obj: &Value) -> Result<(), ApiError> {
        if info.gvr != Gvr::secrets() {
            return Ok(());
        }
        match obj.get("data") {
            None | Some(Value::Null) => Ok(()),
            Some(Value::Object(m)) => {
                for v in m.values() {
                    let s = v.as_str().ok_or_else(|| {
                        ApiError::bad_request("Secret in version \"v1\" cannot be handled as a Secret: data values must be strings")
                    })?;
                    base64::engine::general_purpose::STANDARD
                        .decode(s)
                        .map_err(|e| {
                            ApiError::bad_request(format!(
                                "Secret in version \"v1\" cannot be handled as a Secret: {e}"
                            ))
                        })?;
                }
                Ok(())
            }
            Some(_) => Err(ApiError::bad_request(
                "Secret in version \"v1\" cannot be handled as a Secret: data must be an object",
            )),
        }
    }

    /// Immutable Secrets/ConfigMaps and the immutable Secret type.
    fn validate_update(
        info: &ResourceInfo,
        name: &str,
        old: &Value,
        new: &Value,
    ) -> Result<(), ApiError> {
        let is_secret = info.gvr == Gvr::secrets();
        if !is_secret && info.gvr != Gvr::core("configmaps") {
            return Ok(());
        }
        const MSG: &str = "Forbidden: field is immutable when `immutable` is set";
        let mut causes = Vec::new();
        if old.get("immutable") == Some(&json!(true)) {
            if new.get("immutable") != Some(&json!(true)) {
                causes.push((
                    "immutable".to_string(),
                    "FieldValueForbidden".to_string(),
                    MSG.to_string(),
                ));
            }
            let fields: &[&str] = if is_secret {
                &["data"]
            } else {
                &["data", "binaryData"]
            };
            for f in fields {
                let empty = |v: Option<&Value>| {
                    v.is_none_or(|x| x.is_null() || x.as_object().is_some_and(Map::is_empty))
                };
                let (a, b) = (old.get(*f), new.get(*f));
                if a != b && !(empty(a) && empty(b)) {
                    causes.push((
                        (*f).to_string(),
                        "FieldValueForbidden".to_string(),
                        MSG.to_string(),
                    ));
                }
            }
        }
        if is_secret && old.get("type") != new.get("type") {
            let t = new.get("type").and_then(Value::as_str).unwrap_or_default();
            causes.push((
                "type".to_string(),
                "FieldValueInvalid".to_string(),
                format!("Invalid value: \"{t}\": field is immutable"),
            ));
        }
        if causes.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(&info.gvr, &info.kind, name, &causes))
        }
    }

    pub fn create(
        &mut self,
        info: &ResourceInfo,
        ns: &str,
        mut obj: Value,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request was not a JSON object",
            ));
        }
        Self::canonical_types(info, &mut obj);
        let ns = if info.namespaced { ns } else { "" };
        {
            let m = meta_mut(&mut obj);
            if info.namespaced {
                match m.get("namespace").and_then(Value::as_str) {
                    Some(body_ns) if !body_ns.is_empty() && body_ns != ns => {
                        return Err(ApiError::bad_request(
                            "the namespace of the provided object does not match the namespace sent on the request",
                        ));
                    }
                    _ => {
                        m.insert("namespace".into(), json!(ns));
                    }
                }
            } else {
                m.remove("namespace");
            }
        }
        let mut name = meta(&obj, "name").unwrap_or_default();
        if let Some(cause) =
            invalid_name(&name, meta(&obj, "generateName").as_deref()).or_else(|| {
                (info.kind == "Namespace")
                    .then(|| invalid_label_name(&name))
                    .flatten()
            })
        {
            return Err(ApiError::invalid(&info.gvr, &info.kind, &name, &[cause]));
        }
        if name.is_empty() {
            let Some(prefix) = meta(&obj, "generateName").filter(|p| !p.is_empty()) else {
                return Err(ApiError::invalid(
                    &info.gvr,
                    &info.kind,
                    "",
                    &[(
                        "metadata.name".into(),
                        "FieldValueRequired".into(),
                        "Required value: name or generateName is required".into(),
                    )],
                ));
            };
            loop {
                let candidate = format!("{prefix}{}", self.rng.name_suffix());
                if self.get(&info.gvr, ns, &candidate).is_none() {
                    name = candidate;
                    break;
                }
            }
        }
        if self.get(&info.gvr, ns, &name).is_some() {
            return Err(ApiError::already_exists(&info.gvr, &name));
        }
        if info.status_subresource
            && let Some(o) = obj.as_object_mut()
        {
            o.remove("status");
        }
        Self::normalize(info, &mut obj);
        Self::validate_secret_data(info, &obj)?;
        let uid = self.rng.uid();
        let m = meta_mut(&mut obj);
        m.insert("name".into(), json!(name));
        m.insert("uid".into(), json!(uid));
        m.insert("creationTimestamp".into(), json!(now_rfc3339()));
        m.remove("deletionTimestamp");
        m.remove("resourceVersion");
        m.remove("managedFields");
        if info.generation {
            m.insert("generation".into(), json!(1));
        } else {
            m.remove("generation");
        }
        if info.gvr == Gvr::core("namespaces") && obj.get("status").is_none() {
            obj["status"] = json!({"phase": "Active"});
        }
        if dry_run {
            return Ok(obj);
        }
        Ok(self.commit(&info.gvr, ns, &name, obj))
    }

    /// PUT (main resource or `/status`).
    pub fn update(
        &mut self,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
        body: Value,
        status_only: bool,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let ns = if info.namespaced { ns } else { "" };
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request was not a JSON object",
            ));
        }
        if let Some(body_name) = meta(&body, "name")
            && body_name != name
        {
            return Err(ApiError::bad_request(
                "the name of the object does not match the name on the URL",
            ));
        }
        if info.namespaced
            && let Some(body_ns) = meta(&body, "namespace")
            && !body_ns.is_empty()
            && body_ns != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let old = self
            .get(&info.gvr, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&info.gvr, name))?;
        match meta(&body, "resourceVersion").filter(|rv| !rv.is_empty()) {
            Some(want) if Some(&want) != meta(&old, "resourceVersion").as_ref() => {
                return Err(ApiError::conflict(&info.gvr, name));
            }
            None if !info.unconditional_update => {
                return Err(ApiError::invalid(
                    &info.gvr,
                    &info.kind,
                    name,
                    &[(
                        "metadata.resourceVersion".into(),
                        "FieldValueInvalid".into(),
                        "Invalid value: 0x0: must be specified for an update".into(),
                    )],
                ));
            }
            _ => {}
        }
        let mut new = if status_only {
            let mut n = old.clone();
            match body.get("status") {
                Some(s) => n["status"] = s.clone(),
                None => {
                    if let Some(o) = n.as_object_mut() {
                        o.remove("status");
                    }
                }
            }
            n
        } else {
            let mut n = body;
            if info.status_subresource {
                match old.get("status") {
                    Some(s) => n["status"] = s.clone(),
                    None => {
                        if let Some(o) = n.as_object_mut() {
                            o.remove("status");
                        }
                    }
                }
            }
            n
        };
        Self::canonical_types(info, &mut new);
        Self::normalize(info, &mut new);
        {
            let m = meta_mut(&mut new);
            m.insert("name".into(), json!(name));
            if info.namespaced {
                m.insert("namespace".into(), json!(ns));
            }
            for f in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "generation",
            ] {
                match old.get("metadata").and_then(|om| om.get(f)) {
                    Some(v) => m.insert(f.into(), v.clone()),
                    None => m.remove(f),
                };
            }
            m.remove("managedFields");
            m.insert(
                "resourceVersion".into(),
                json!(meta(&old, "resourceVersion").unwrap_or_default()),
            );
        }
        Self::validate_secret_data(info, &new)?;
        Self::validate_update(info, name, &old, &new)?;
        if info.generation && generation_content(&old) != generation_content(&new) {
            let g = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            meta_mut(&mut new).insert("generation".into(), json!(g + 1));
        }
        if new == old {
            return Ok(old);
        }
        if dry_run {
            return Ok(new);
        }
        if new.pointer("/metadata/deletionTimestamp").is_some() && finalizers_empty(&new) {
            self.objects
                .entry(info.gvr.clone())
                .or_default()
                .insert((ns.to_string(), name.to_string()), new);
            return Ok(self
                .remove_now(&info.gvr, ns, name, Propagation::Background)
                .unwrap_or_default());
        }
        Ok(self.commit(&info.gvr, ns, name, new))
    }

    /// PATCH (main resource or `/status`). Returns the object and whether it was created (apply).
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &mut self,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
        kind: PatchKind,
        patch: Value,
        status_only: bool,
        dry_run: bool,
    ) -> Result<(Value, bool), ApiError> {
        let ns = if info.namespaced { ns } else { "" };
        let Some(old) = self.get(&info.gvr, ns, name).cloned() else {
            if kind == PatchKind::Apply && !status_only {
                let mut obj = patch;
                meta_mut(&mut obj).insert("name".into(), json!(name));
                return self.create(info, ns, obj, dry_run).map(|o| (o, true));
            }
            return Err(ApiError::not_found(&info.gvr, name));
        };
        let mut doc = old.clone();
        match kind {
            PatchKind::Merge | PatchKind::Strategic | PatchKind::Apply => {
                if !patch.is_object() {
                    return Err(ApiError::bad_request("patch body must be a JSON object"));
                }
                json_patch::merge(&mut doc, &patch);
            }
            PatchKind::Json => {
                let ops: json_patch::Patch = serde_json::from_value(patch)
                    .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
                json_patch::patch(&mut doc, &ops).map_err(|e| {
                    ApiError::new(
                        422,
                        "Invalid",
                        format!(
                            "the server rejected our request due to an error in our request: {e}"
                        ),
                    )
                })?;
            }
        }
        // A resourceVersion in the patch is a precondition; otherwise the patch applies to `old`.
        if meta(&doc, "resourceVersion").is_none() {
            meta_mut(&mut doc).insert(
                "resourceVersion".into(),
                json!(meta(&old, "resourceVersion").unwrap_or_default()),
            );
        }
        self.update(info, ns, name, doc, status_only, dry_run)
            .map(|o| (o, false))
    }

    pub fn delete(
        &mut self,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
        opts: &DeleteOpts,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let ns = if info.namespaced { ns } else { "" };
        let old = self
            .get(&info.gvr, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&info.gvr, name))?;
        if let Some(rv) = &opts.precondition_rv
            && Some(rv) != meta(&old, "resourceVersion").as_ref()
        {
            return Err(ApiError::conflict(&info.gvr, name));
        }
        if let Some(uid) = &opts.precondition_uid
            && Some(uid) != meta(&old, "uid").as_ref()
        {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    info.gvr.qualified(),
                    meta(&old, "uid").unwrap_or_default()
                ),
            ));
        }
        if dry_run {
            return Ok(old);
        }
        if !finalizers_empty(&old) {
            if old.pointer("/metadata/deletionTimestamp").is_some() {
                return Ok(old);
            }
            let mut new = old;
            meta_mut(&mut new).insert("deletionTimestamp".into(), json!(now_rfc3339()));
            return Ok(self.commit(&info.gvr, ns, name, new));
        }
        Ok(self
            .remove_now(&info.gvr, ns, name, opts.propagation)
            .unwrap_or_default())
    }

    // ---------- direct access for tests ----------

    /// Create or overwrite without API checks (keeps uid/creationTimestamp of a replaced object).
    pub fn insert_raw(&mut self, info: &ResourceInfo, mut obj: Value) -> Value {
        Self::canonical_types(info, &mut obj);
        Self::normalize(info, &mut obj);
        let ns = if info.namespaced {
            meta(&obj, "namespace").unwrap_or_else(|| "default".to_string())
        } else {
            String::new()
        };
        let name = match meta(&obj, "name") {
            Some(n) if !n.is_empty() => n,
            _ => format!(
                "{}{}",
                meta(&obj, "generateName").unwrap_or_default(),
                self.rng.name_suffix()
            ),
        };
        let old = self.get(&info.gvr, &ns, &name).cloned();
        let uid = self.rng.uid();
        let m = meta_mut(&mut obj);
        m.insert("name".into(), json!(name));
        if info.namespaced {
            m.insert("namespace".into(), json!(ns));
        }
        let keep = |f: &str| {
            old.as_ref()
                .and_then(|o| o.get("metadata"))
                .and_then(|om| om.get(f))
                .cloned()
        };
        if !m.contains_key("uid") {
            m.insert("uid".into(), keep("uid").unwrap_or_else(|| json!(uid)));
        }
        if !m.contains_key("creationTimestamp") {
            m.insert(
                "creationTimestamp".into(),
                keep("creationTimestamp").unwrap_or_else(|| json!(now_rfc3339())),
            );
        }
        if info.generation && !m.contains_key("generation") {
            m.insert(
                "generation".into(),
                keep("generation").unwrap_or_else(|| json!(1)),
            );
        }
        self.commit(&info.gvr, &ns, &name, obj)
    }

    pub fn remove_raw(&mut self, gvr: &Gvr, ns: &str, name: &str) -> Option<Value> {
        self.remove_now(gvr, ns, name, Propagation::Background)
    }
}
