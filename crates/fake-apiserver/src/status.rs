//! `metav1.Status` errors with the real API server's reasons and message texts.

use serde_json::{Value, json};

use crate::Gvr;

/// An API error, rendered as a `Status` object.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: String,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.to_string(),
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, gvr: &Gvr, name: &str, kind: Option<&str>) -> Self {
        let mut d = json!({"name": name, "kind": kind.unwrap_or(&gvr.resource)});
        if !gvr.group.is_empty() {
            d["group"] = json!(gvr.group);
        }
        self.details = Some(d);
        self
    }

    pub fn not_found(gvr: &Gvr, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", gvr.qualified()),
        )
        .with_details(gvr, name, None)
    }

    pub fn already_exists(gvr: &Gvr, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", gvr.qualified()),
        )
        .with_details(gvr, name, None)
    }

    pub fn conflict(gvr: &Gvr, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                gvr.qualified()
            ),
        )
        .with_details(gvr, name, None)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    pub fn path_not_found() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    /// 422 Invalid; `causes` are `(field, "Forbidden: …")`-style pairs, formatted like
    /// `field.ErrorList.ToAggregate()`.
    pub fn invalid(gvr: &Gvr, kind: &str, name: &str, causes: &[(String, String, String)]) -> Self {
        let texts: Vec<String> = causes
            .iter()
            .map(|(field, _, msg)| format!("{field}: {msg}"))
            .collect();
        let joined = if texts.len() == 1 {
            texts[0].clone()
        } else {
            format!("[{}]", texts.join(", "))
        };
        let mut e = Self::new(
            422,
            "Invalid",
            format!("{kind} \"{name}\" is invalid: {joined}"),
        )
        .with_details(gvr, name, Some(kind));
        if let Some(d) = e.details.as_mut() {
            d["causes"] = causes
                .iter()
                .map(|(field, reason, msg)| json!({"reason": reason, "message": msg, "field": field}))
                .collect();
        }
        e
    }

    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}
