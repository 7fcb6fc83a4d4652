//! Reading SealedSecrets one object at a time.
//!
//! A list or watch decoded as `SealedSecret`s fails as a whole when one object does not fit the
//! type (say `spec.template.metadata.creationTimestamp: 5`, stored through an older or relaxed
//! CRD): the watcher then retries for ever and nothing in the cluster is reconciled. The
//! controller watches [`Listed`] instead, which reads each object on its own and keeps what it
//! could not read as [`Unreadable`]: outer metadata plus a description of the problem that
//! names the field and never quotes a value. [`Unreadables`] remembers which objects were
//! reported, so that each version of a bad object is reported once.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::crd::{SealedSecret, SealedSecretStatus};

/// One object of a SealedSecret list or watch.
#[derive(Debug, Clone)]
pub enum Listed {
    /// Read as a SealedSecret.
    Readable(SealedSecret),
    /// Could not be read.
    Unreadable(Unreadable),
}

/// What is known of an object that could not be read as a SealedSecret.
#[derive(Debug, Clone)]
pub struct Unreadable {
    /// Its outer metadata (the API server validates that part, so it is there).
    pub metadata: ObjectMeta,
    /// Which field does not fit and why, without its value.
    pub problem: String,
}

impl Listed {
    /// Reads one object.
    #[must_use]
    pub fn read(value: &Value) -> Self {
        let problem = match SealedSecret::deserialize(value) {
            Ok(object) => match non_string_item(value) {
                None => return Self::Readable(object),
                Some(problem) => problem,
            },
            Err(e) => locate_problem(value).unwrap_or_else(|| without_values(&e.to_string())),
        };
        Self::Unreadable(Unreadable {
            metadata: outer_metadata(value),
            problem,
        })
    }

    fn metadata(&self) -> &ObjectMeta {
        match self {
            Self::Readable(object) => &object.metadata,
            Self::Unreadable(unreadable) => &unreadable.metadata,
        }
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Self::Readable(object) => &mut object.metadata,
            Self::Unreadable(unreadable) => &mut unreadable.metadata,
        }
    }
}

impl<'de> Deserialize<'de> for Listed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::read(&Value::deserialize(deserializer)?))
    }
}

impl kube::Resource for Listed {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(dt: &()) -> Cow<'_, str> {
        SealedSecret::kind(dt)
    }

    fn group(dt: &()) -> Cow<'_, str> {
        SealedSecret::group(dt)
    }

    fn version(dt: &()) -> Cow<'_, str> {
        SealedSecret::version(dt)
    }

    fn plural(dt: &()) -> Cow<'_, str> {
        SealedSecret::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        self.metadata()
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        self.metadata_mut()
    }
}

/// The longest field name quoted in a problem; longer ones are cut.
const MAX_FIELD: usize = 64;

fn field_name(name: &str) -> String {
    let mut end = name.len().min(MAX_FIELD);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    if end < name.len() {
        format!("{}...", &name[..end])
    } else {
        name.to_owned()
    }
}

/// `spec.encryptedData` values must be strings. The CRD type drops other values (as upstream
/// does, so that they cannot stall the watch), which would make a Secret silently lack items;
/// the object is reported instead.
fn non_string_item(value: &Value) -> Option<String> {
    let items = value.pointer("/spec/encryptedData")?.as_object()?;
    let (key, _) = items.iter().find(|(_, v)| !v.is_string())?;
    Some(format!(
        "spec.encryptedData.{}: not a string",
        field_name(key)
    ))
}

/// Outer metadata, read leniently: the API server has validated it, but if even that does not
/// fit, the identifying fields are picked out one by one.
fn outer_metadata(value: &Value) -> ObjectMeta {
    let metadata = value.get("metadata").unwrap_or(&Value::Null);
    ObjectMeta::deserialize(metadata).unwrap_or_else(|_| {
        let text = |field: &str| {
            metadata
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        ObjectMeta {
            name: text("name"),
            namespace: text("namespace"),
            uid: text("uid"),
            resource_version: text("resourceVersion"),
            ..ObjectMeta::default()
        }
    })
}

/// Whether `value` reads as a `T`; the error without values if not.
fn misfit<T: DeserializeOwned>(value: &Value) -> Option<String> {
    T::deserialize(value)
        .err()
        .map(|e| without_values(&e.to_string()))
}

/// `path: problem` for the first field of the object at `path` that does not read as part of
/// a `T` (each field is tried on its own), or for the object itself.
fn first_misfit<T: DeserializeOwned>(path: &str, value: &Value) -> Option<String> {
    let whole = misfit::<T>(value)?;
    if let Some(fields) = value.as_object() {
        for (name, field) in fields {
            let alone = Value::Object(Map::from_iter([(name.clone(), field.clone())]));
            if let Some(problem) = misfit::<T>(&alone) {
                return Some(format!("{path}.{}: {problem}", field_name(name)));
            }
        }
    }
    Some(format!("{path}: {whole}"))
}

/// Describes what does not fit at a path (`path: problem`).
type Check = fn(&str, &Value) -> Option<String>;

/// The part of a SealedSecret that does not fit its type, as `field.path: problem`.
fn locate_problem(value: &Value) -> Option<String> {
    let at = |pointer: &str| value.pointer(pointer).filter(|v| !v.is_null());
    if !value.is_object() {
        return Some("not an object".into());
    }
    if let Some(problem) = at("/metadata").and_then(|m| first_misfit::<ObjectMeta>("metadata", m)) {
        return Some(problem);
    }
    let Some(spec) = at("/spec") else {
        return Some("spec: missing".into());
    };
    if !spec.is_object() {
        return Some("spec: not an object".into());
    }
    match at("/spec/encryptedData") {
        None => return Some("spec.encryptedData: missing".into()),
        Some(items) if !items.is_object() => {
            return Some("spec.encryptedData: not an object".into());
        }
        Some(_) => {}
    }
    let typed: [(&str, &str, Check); 6] = [
        ("/spec/data", "spec.data", |p, v| {
            misfit::<String>(v).map(|e| format!("{p}: {e}"))
        }),
        ("/spec/template", "spec.template", |p, v| {
            (!v.is_object()).then(|| format!("{p}: not an object"))
        }),
        (
            "/spec/template/metadata",
            "spec.template.metadata",
            first_misfit::<ObjectMeta>,
        ),
        ("/spec/template/type", "spec.template.type", |p, v| {
            misfit::<String>(v).map(|e| format!("{p}: {e}"))
        }),
        (
            "/spec/template/immutable",
            "spec.template.immutable",
            |p, v| misfit::<bool>(v).map(|e| format!("{p}: {e}")),
        ),
        ("/spec/template/data", "spec.template.data", |p, v| {
            first_misfit::<BTreeMap<String, String>>(p, v)
        }),
    ];
    for (pointer, path, check) in typed {
        if let Some(problem) = at(pointer).and_then(|v| check(path, v)) {
            return Some(problem);
        }
    }
    at("/status").and_then(|status| first_misfit::<SealedSecretStatus>("status", status))
}

/// A deserializer's message without the values it quotes (`invalid type: string "…"` quotes
/// the value, and a SealedSecret's template may hold text its owner considers private); field
/// names after `field` are kept. At most 200 characters.
#[must_use]
pub fn without_values(message: &str) -> String {
    let mut out = String::new();
    let mut rest = message;
    loop {
        let Some(start) = rest.find(['"', '`']) else {
            out.push_str(rest);
            break;
        };
        let before = &rest[..start];
        out.push_str(before.trim_end_matches(' '));
        let quote = &rest[start..=start];
        let Some(len) = rest[start + 1..].find(quote) else {
            break;
        };
        if before.ends_with("field ") {
            let quoted = &rest[start + 1..start + 1 + len];
            out.push_str(&format!(" `{}`", field_name(quoted)));
        }
        rest = &rest[start + len + 2..];
    }
    let mut end = out.len().min(200);
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out
}

/// Objects that could not be read, by uid: each version is reported once, and the count per
/// namespace is what the `undecodable_objects` metric shows.
#[derive(Debug, Default)]
pub struct Unreadables {
    /// uid → (namespace, resourceVersion last reported).
    known: HashMap<String, (String, Option<String>)>,
    /// Uids seen since a relist began; `None` outside relists.
    relisted: Option<HashSet<String>>,
}

impl Unreadables {
    /// Records an unreadable object; true when this version was not reported before.
    pub fn observe(&mut self, metadata: &ObjectMeta) -> bool {
        let uid = metadata.uid.clone().unwrap_or_default();
        if let Some(seen) = self.relisted.as_mut() {
            seen.insert(uid.clone());
        }
        let entry = (
            metadata.namespace.clone().unwrap_or_default(),
            metadata.resource_version.clone(),
        );
        self.known.insert(uid, entry.clone()) != Some(entry)
    }

    /// The object can be read now, or has gone; its namespace if it was unreadable.
    pub fn forget(&mut self, uid: &str) -> Option<String> {
        self.known.remove(uid).map(|(namespace, _)| namespace)
    }

    /// Whether the object with this uid is known to be unreadable.
    #[must_use]
    pub fn contains(&self, uid: &str) -> bool {
        self.known.contains_key(uid)
    }

    /// A relist begins: what it does not show again has gone.
    pub fn relist_started(&mut self) {
        self.relisted = Some(HashSet::new());
    }

    /// A relist ended; returns the namespaces of the objects that were not in it.
    pub fn relist_done(&mut self) -> Vec<String> {
        let Some(seen) = self.relisted.take() else {
            return Vec::new();
        };
        let gone: Vec<String> = self
            .known
            .keys()
            .filter(|uid| !seen.contains(*uid))
            .cloned()
            .collect();
        gone.iter().filter_map(|uid| self.forget(uid)).collect()
    }

    /// How many unreadable objects `namespace` holds.
    #[must_use]
    pub fn count_in(&self, namespace: &str) -> usize {
        self.known
            .values()
            .filter(|(ns, _)| ns == namespace)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn good() -> Value {
        json!({
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "metadata": {"name": "s", "namespace": "ns", "uid": "u1", "resourceVersion": "7"},
            "spec": {
                "encryptedData": {"a": "AgA="},
                "template": {"metadata": {"creationTimestamp": null, "labels": {"l": "v"}}}
            }
        })
    }

    fn problem(mut value: Value, pointer: &str, bad: Value) -> String {
        let (parent, field) = pointer.rsplit_once('/').unwrap();
        value
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .unwrap()
            .insert(field.to_owned(), bad);
        match Listed::read(&value) {
            Listed::Unreadable(u) => {
                assert_eq!(u.metadata.name.as_deref(), Some("s"));
                assert_eq!(u.metadata.namespace.as_deref(), Some("ns"));
                assert_eq!(u.metadata.uid.as_deref(), Some("u1"));
                assert_eq!(u.metadata.resource_version.as_deref(), Some("7"));
                u.problem
            }
            Listed::Readable(_) => panic!("{pointer} was read"),
        }
    }

    #[test]
    fn good_objects_are_readable() {
        assert!(matches!(Listed::read(&good()), Listed::Readable(_)));
    }

    #[test]
    fn each_bad_field_is_named_without_its_value() {
        let cases = [
            (
                "/spec/template/metadata/creationTimestamp",
                json!(5),
                "spec.template.metadata.creationTimestamp: ",
            ),
            (
                "/spec/template/metadata/ownerReferences",
                json!([{"name": 1}]),
                "spec.template.metadata.ownerReferences: ",
            ),
            (
                "/spec/template/metadata/labels",
                json!({"a": 1}),
                "spec.template.metadata.labels: ",
            ),
            (
                "/spec/template/metadata/annotations",
                json!({"a": "private-value", "b": ["x"]}),
                "spec.template.metadata.annotations: ",
            ),
            (
                "/spec/encryptedData/b",
                json!(1),
                "spec.encryptedData.b: not a string",
            ),
            (
                "/spec/template/type",
                json!(["private-value"]),
                "spec.template.type: ",
            ),
            (
                "/spec/template/immutable",
                json!("private-value"),
                "spec.template.immutable: ",
            ),
            (
                "/spec/template/data",
                json!({"k": 1}),
                "spec.template.data.k: ",
            ),
            (
                "/spec/encryptedData",
                json!("private-value"),
                "spec.encryptedData: not an object",
            ),
            ("/spec/template", json!(3), "spec.template: not an object"),
        ];
        for (pointer, bad, expected) in cases {
            let problem = problem(good(), pointer, bad.clone());
            assert!(
                problem.starts_with(expected),
                "{pointer} = {bad}: {problem:?}"
            );
            assert!(!problem.contains("private-value"), "{problem:?}");
        }
    }

    #[test]
    fn a_missing_spec_or_items_is_named() {
        let mut value = good();
        value["spec"]
            .as_object_mut()
            .unwrap()
            .remove("encryptedData");
        let Listed::Unreadable(u) = Listed::read(&value) else {
            panic!("read without encryptedData");
        };
        assert_eq!(u.problem, "spec.encryptedData: missing");
        value.as_object_mut().unwrap().remove("spec");
        let Listed::Unreadable(u) = Listed::read(&value) else {
            panic!("read without spec");
        };
        assert_eq!(u.problem, "spec: missing");
    }

    #[test]
    fn without_values_drops_quoted_values_but_keeps_field_names() {
        assert_eq!(
            without_values(r#"invalid type: string "s3cr3t", expected a boolean"#),
            "invalid type: string, expected a boolean"
        );
        assert_eq!(
            without_values("invalid type: integer `5`, expected a string"),
            "invalid type: integer, expected a string"
        );
        assert_eq!(
            without_values("missing field `apiVersion`"),
            "missing field `apiVersion`"
        );
        assert_eq!(without_values("unbalanced \"quote"), "unbalanced");
        assert!(without_values(&"x".repeat(1000)).len() <= 200);
    }

    fn meta(uid: &str, namespace: &str, version: &str) -> ObjectMeta {
        ObjectMeta {
            uid: Some(uid.into()),
            namespace: Some(namespace.into()),
            resource_version: Some(version.into()),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn each_version_is_reported_once_and_relists_forget_what_went() {
        let mut unreadables = Unreadables::default();
        assert!(unreadables.observe(&meta("a", "ns", "1")));
        assert!(!unreadables.observe(&meta("a", "ns", "1")));
        assert!(unreadables.observe(&meta("a", "ns", "2")));
        assert!(unreadables.observe(&meta("b", "ns", "1")));
        assert!(unreadables.observe(&meta("c", "other", "1")));
        assert_eq!(unreadables.count_in("ns"), 2);

        unreadables.relist_started();
        assert!(!unreadables.observe(&meta("a", "ns", "2")));
        let mut gone = unreadables.relist_done();
        gone.sort();
        assert_eq!(gone, ["ns", "other"]);
        assert!(unreadables.contains("a"));
        assert!(!unreadables.contains("b"));
        assert_eq!(unreadables.count_in("ns"), 1);
        assert_eq!(unreadables.count_in("other"), 0);
        // Outside a relist nothing is forgotten.
        assert!(unreadables.relist_done().is_empty());
        assert_eq!(unreadables.forget("a").as_deref(), Some("ns"));
        assert!(unreadables.forget("a").is_none());
    }
}
