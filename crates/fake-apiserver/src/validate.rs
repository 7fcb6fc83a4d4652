//! What the API server's validation rejects in the objects this fake stores, besides names
//! (`store::invalid_name`): labels, annotations and ownerReferences of every object; Secret
//! data keys, total size and the keys each Secret type requires; events.k8s.io/v1 Events;
//! Lease specs. Field paths and messages follow kube-apiserver's; any cause makes a 422.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::types::{Gvr, ResourceInfo};

/// `(field, reason, message)`, as in a `Status`'s `details.causes`.
pub(crate) type Cause = (String, String, String);

/// The most label-like names and values may have.
const MAX_QUALIFIED_NAME: usize = 63;
/// All annotations of one object together, keys and values.
const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;
/// All values of one Secret together.
const MAX_SECRET_BYTES: usize = 1024 * 1024;
/// A Secret or ConfigMap key.
const MAX_CONFIG_KEY: usize = 253;
/// `reason`, `action` and `reportingInstance` of an event.
const MAX_EVENT_FIELD: usize = 128;
/// The `note` of an event.
const MAX_EVENT_NOTE: usize = 1024;

fn invalid(field: &str, value: &str, message: &str) -> Cause {
    (
        field.to_owned(),
        "FieldValueInvalid".to_owned(),
        format!("Invalid value: {value:?}: {message}"),
    )
}

fn required(field: &str) -> Cause {
    (
        field.to_owned(),
        "FieldValueRequired".to_owned(),
        "Required value".to_owned(),
    )
}

fn too_long(field: &str, limit: usize) -> Cause {
    (
        field.to_owned(),
        "FieldValueTooLong".to_owned(),
        format!("Too long: may not be more than {limit} bytes"),
    )
}

/// Every cause to reject `obj` (after defaulting, before it is stored).
pub(crate) fn causes(info: &ResourceInfo, obj: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    metadata(obj, &mut out);
    if info.gvr == Gvr::secrets() {
        secret(obj, &mut out);
    } else if info.gvr == Gvr::new("events.k8s.io", "v1", "events") {
        event(obj, &mut out);
    } else if info.gvr == Gvr::new("coordination.k8s.io", "v1", "leases") {
        lease(obj, &mut out);
    }
    out
}

/// A DNS-1123 subdomain: at most 253 characters of `[a-z0-9.-]`, dot-separated parts that
/// start and end alphanumeric (the API server limits the whole, not each part).
pub(crate) fn is_dns1123_subdomain(value: &str) -> bool {
    value.len() <= 253
        && value.split('.').all(|part| {
            let bytes = part.as_bytes();
            !bytes.is_empty()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
                && bytes[0] != b'-'
                && bytes[bytes.len() - 1] != b'-'
        })
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, at most 63 characters, empty allowed when
/// `empty_ok` (label values).
fn is_label_like(value: &str, empty_ok: bool) -> bool {
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return empty_ok;
    }
    bytes.len() <= MAX_QUALIFIED_NAME
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A label or annotation key: `[prefix/]name`, the prefix a DNS-1123 subdomain.
fn is_qualified_name(key: &str) -> bool {
    match key.split_once('/') {
        None => is_label_like(key, false),
        Some((prefix, name)) => {
            !prefix.is_empty()
                && is_dns1123_subdomain(prefix)
                && !name.contains('/')
                && is_label_like(name, false)
        }
    }
}

fn string_map<'a>(obj: &'a Value, pointer: &str) -> impl Iterator<Item = (&'a str, &'a str)> {
    obj.pointer(pointer)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default()))
}

fn metadata(obj: &Value, out: &mut Vec<Cause>) {
    for (key, value) in string_map(obj, "/metadata/labels") {
        if !is_qualified_name(key) {
            out.push(invalid(
                "metadata.labels",
                key,
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must \
                 start and end with an alphanumeric character",
            ));
        }
        if value.len() > MAX_QUALIFIED_NAME {
            out.push(invalid(
                "metadata.labels",
                value,
                "must be no more than 63 bytes",
            ));
        } else if !is_label_like(value, true) {
            out.push(invalid(
                "metadata.labels",
                value,
                "a valid label must be an empty string or consist of alphanumeric characters, \
                 '-', '_' or '.', and must start and end with an alphanumeric character",
            ));
        }
    }
    let mut annotation_bytes = 0;
    for (key, value) in string_map(obj, "/metadata/annotations") {
        annotation_bytes += key.len() + value.len();
        if !is_qualified_name(&key.to_ascii_lowercase()) {
            out.push(invalid(
                "metadata.annotations",
                key,
                "a valid label key must consist of alphanumeric characters, '-', '_' or '.', \
                 and must start and end with an alphanumeric character, with an optional DNS \
                 subdomain prefix and '/'",
            ));
        }
    }
    if annotation_bytes > MAX_ANNOTATIONS_BYTES {
        out.push(too_long("metadata.annotations", MAX_ANNOTATIONS_BYTES));
    }
    let owners = obj
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for owner in owners {
        for field in ["apiVersion", "kind", "name", "uid"] {
            if owner
                .get(field)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                out.push(invalid(
                    &format!("metadata.ownerReferences.{field}"),
                    "",
                    "must not be empty",
                ));
            }
        }
    }
    let controllers = owners
        .iter()
        .filter(|o| o.get("controller") == Some(&Value::Bool(true)))
        .count();
    if controllers > 1 {
        out.push(invalid(
            "metadata.ownerReferences",
            "",
            "Only one reference can have Controller set to true",
        ));
    }
}

/// A Secret or ConfigMap key: `[-._a-zA-Z0-9]+`, not `.` or `..` or starting with `..`.
fn is_config_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_CONFIG_KEY
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && key != "."
        && !key.starts_with("..")
}

fn secret(obj: &Value, out: &mut Vec<Cause>) {
    let empty = Map::new();
    let data = obj.get("data").and_then(Value::as_object).unwrap_or(&empty);
    let decoded = |key: &str| {
        data.get(key)
            .and_then(Value::as_str)
            .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
    };
    let mut total = 0;
    for key in data.keys() {
        if !is_config_key(key) {
            out.push(invalid(
                &format!("data[{key}]"),
                key,
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
            ));
        }
        total += decoded(key).map_or(0, |v| v.len());
    }
    if total > MAX_SECRET_BYTES {
        out.push(too_long("data", MAX_SECRET_BYTES));
    }
    let needs = |key: &str, out: &mut Vec<Cause>| {
        if !data.contains_key(key) {
            out.push(required(&format!("data[{key}]")));
        }
    };
    let json_in = |key: &str, out: &mut Vec<Cause>| match decoded(key) {
        None => out.push(required(&format!("data[{key}]"))),
        Some(bytes) => {
            if let Err(e) = serde_json::from_slice::<Value>(&bytes) {
                out.push(invalid(
                    &format!("data[{key}]"),
                    "<secret contents redacted>",
                    &e.to_string(),
                ));
            }
        }
    };
    match obj.get("type").and_then(Value::as_str).unwrap_or_default() {
        "kubernetes.io/tls" => {
            needs("tls.crt", out);
            needs("tls.key", out);
        }
        "kubernetes.io/dockerconfigjson" => json_in(".dockerconfigjson", out),
        "kubernetes.io/dockercfg" => json_in(".dockercfg", out),
        "kubernetes.io/ssh-auth" => needs("ssh-privatekey", out),
        "kubernetes.io/basic-auth"
            if !data.contains_key("username") && !data.contains_key("password") =>
        {
            out.push(required("data[username]"));
            out.push(required("data[password]"));
        }
        "kubernetes.io/service-account-token"
            if string_map(obj, "/metadata/annotations")
                .all(|(k, _)| k != "kubernetes.io/service-account.name") =>
        {
            out.push(required(
                "metadata.annotations[kubernetes.io/service-account.name]",
            ));
        }
        _ => {}
    }
}

/// events.k8s.io/v1: the fields a new-style event must have (`ValidateEventCreate`).
fn event(obj: &Value, out: &mut Vec<Cause>) {
    let text = |field: &str| obj.get(field).and_then(Value::as_str).unwrap_or_default();
    if text("eventTime").is_empty() {
        out.push(required("eventTime"));
    }
    let type_ = text("type");
    if type_ != "Normal" && type_ != "Warning" {
        out.push(invalid("type", "", &format!("has invalid value: {type_}")));
    }
    let controller = text("reportingController");
    if controller.is_empty() {
        out.push(required("reportingController"));
    } else if !is_qualified_name(controller) {
        out.push(invalid(
            "reportingController",
            controller,
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must \
             start and end with an alphanumeric character",
        ));
    }
    for field in ["reportingInstance", "action", "reason"] {
        let value = text(field);
        if value.is_empty() {
            out.push(required(field));
        } else if value.len() > MAX_EVENT_FIELD {
            out.push(invalid(
                field,
                "",
                &format!("can have at most {MAX_EVENT_FIELD} characters"),
            ));
        }
    }
    if text("note").len() > MAX_EVENT_NOTE {
        out.push(invalid(
            "message",
            "",
            &format!("can have at most {MAX_EVENT_NOTE} characters"),
        ));
    }
    let namespace = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let regarding_namespace = obj
        .pointer("/regarding/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if regarding_namespace.is_empty() && !matches!(namespace, "default" | "kube-system") {
        out.push(invalid(
            "involvedObject.namespace",
            "",
            "does not match event.namespace",
        ));
    }
    for field in [
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
        "deprecatedSource",
    ] {
        if obj
            .get(field)
            .is_some_and(|v| !v.is_null() && v.as_object().is_none_or(|m| !m.is_empty()))
        {
            out.push(invalid(field, "", "needs to be unset"));
        }
    }
    if obj
        .get("deprecatedCount")
        .and_then(Value::as_i64)
        .is_some_and(|c| c != 0)
    {
        out.push(invalid("deprecatedCount", "", "needs to be unset"));
    }
    if let Some(series) = obj.get("series").filter(|s| !s.is_null()) {
        if series.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
            out.push(invalid("series.count", "", "should be at least 2"));
        }
        if series
            .get("lastObservedTime")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            out.push(required("series.lastObservedTime"));
        }
    }
}

fn lease(obj: &Value, out: &mut Vec<Cause>) {
    let number = |field: &str| {
        obj.pointer(&format!("/spec/{field}"))
            .and_then(Value::as_i64)
    };
    if let Some(seconds) = number("leaseDurationSeconds").filter(|s| *s <= 0) {
        out.push((
            "spec.leaseDurationSeconds".to_owned(),
            "FieldValueInvalid".to_owned(),
            format!("Invalid value: {seconds}: must be greater than 0"),
        ));
    }
    if let Some(transitions) = number("leaseTransitions").filter(|t| *t < 0) {
        out.push((
            "spec.leaseTransitions".to_owned(),
            "FieldValueInvalid".to_owned(),
            format!("Invalid value: {transitions}: must be greater than or equal to 0"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomain_parts_may_exceed_63_characters_as_on_the_real_server() {
        assert!(is_dns1123_subdomain(&format!("{}.b", "a".repeat(200))));
        assert!(!is_dns1123_subdomain(&"a".repeat(254)));
        assert!(!is_dns1123_subdomain("a..b"));
    }

    #[test]
    fn qualified_names() {
        for good in [
            "a",
            "mylabel",
            "example.com/x",
            "A_b.c-9",
            "sealedsecrets.bitnami.com/managed",
        ] {
            assert!(is_qualified_name(good), "{good}");
        }
        for bad in [
            "",
            "my label",
            "a/b/c",
            "/x",
            "x/",
            "-a",
            &"a".repeat(64),
            "Example.com/x",
        ] {
            assert!(!is_qualified_name(bad), "{bad}");
        }
    }

    #[test]
    fn config_keys() {
        for good in ["foo", ".dockerconfigjson", "tls.crt", "a-b_c.D"] {
            assert!(is_config_key(good), "{good}");
        }
        for bad in ["", ".", "..", "..x", "foo bar", "a/b"] {
            assert!(!is_config_key(bad), "{bad}");
        }
    }
}
