//! Kubernetes events, written straight to `events.k8s.io/v1` (the same objects `kubectl get
//! events` shows). kube's `Recorder` keeps every event it published for six minutes to count
//! repeats, and scans that cache on every publish; this controller emits events only when an
//! outcome changes, so it needs neither the cache nor its memory.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, PostParams};

/// Severity, as `kubectl describe` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Something went as it should.
    Normal,
    /// Something needs attention.
    Warning,
}

/// Publishes events as one reporting controller instance.
#[derive(Clone)]
pub struct EventSink {
    client: Client,
    controller: String,
    instance: String,
}

/// An object name is a DNS-1123 subdomain of at most 253 characters.
const MAX_NAME: usize = 253;

/// `<object name>.<unix nanoseconds in hex>`, as client-go's recorder names events. A
/// `generateName` of `<name>.` is not an option: the API server rejects a prefix ending in `.`.
fn event_name(regarding: &str, now: Timestamp) -> String {
    let suffix = format!(".{:x}", now.as_nanosecond());
    let mut keep = regarding.len().min(MAX_NAME - suffix.len());
    while !regarding.is_char_boundary(keep) {
        keep -= 1;
    }
    // A name cut at a `.` or `-` would end its label badly.
    let stem = regarding[..keep].trim_end_matches(['.', '-']);
    format!("{stem}{suffix}")
}

/// The events API caps a note at 1 KB.
const MAX_NOTE: usize = 1024;

impl EventSink {
    /// Events from `controller` (e.g. `sealed-secrets`), replica `instance` (the pod name).
    #[must_use]
    pub fn new(client: Client, controller: &str, instance: &str) -> Self {
        Self {
            client,
            controller: controller.to_owned(),
            instance: instance.chars().take(128).collect(),
        }
    }

    /// Writes one event about `regarding`.
    pub async fn publish(
        &self,
        type_: EventType,
        reason: &str,
        note: &str,
        action: &str,
        regarding: ObjectReference,
    ) -> Result<(), kube::Error> {
        let namespace = regarding
            .namespace
            .clone()
            .filter(|ns| !ns.is_empty())
            .unwrap_or_else(|| "default".into());
        let mut note = note.to_owned();
        if note.len() > MAX_NOTE {
            let mut end = MAX_NOTE;
            while !note.is_char_boundary(end) {
                end -= 1;
            }
            note.truncate(end);
        }
        let event = Event {
            metadata: ObjectMeta {
                name: Some(event_name(
                    regarding.name.as_deref().unwrap_or("object"),
                    Timestamp::now(),
                )),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            action: Some(action.to_owned()),
            event_time: Some(MicroTime(Timestamp::now())),
            note: Some(note),
            reason: Some(reason.to_owned()),
            regarding: Some(regarding),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            type_: Some(
                match type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .to_owned(),
            ),
            ..Event::default()
        };
        Api::<Event>::namespaced(self.client.clone(), &namespace)
            .create(&PostParams::default(), &event)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_event_name_is_a_valid_subdomain_not_a_generate_name_ending_in_a_dot() {
        let now: Timestamp = "2026-12-05T10:00:00.123456789Z".parse().unwrap();
        let name = event_name("testsecret", now);
        assert_eq!(name, format!("testsecret.{:x}", now.as_nanosecond()));
        assert!(!name.ends_with('.'));
    }

    #[test]
    fn event_name_of_a_longest_object_name_fits_in_253() {
        let now = Timestamp::now();
        let long = format!("{}.{}", "a".repeat(200), "b".repeat(52));
        let name = event_name(&long, now);
        assert!(name.len() <= MAX_NAME, "{}", name.len());
        assert!(name.ends_with(&format!(".{:x}", now.as_nanosecond())));
        assert!(!name.contains(".."));
    }
}
