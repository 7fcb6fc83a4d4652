//! Prometheus metrics, with upstream's names and labels (prefix `sealed_secrets_controller_`)
//! plus key metrics upstream lacks. Labels never carry secret data.

use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::key_set::{KeySet, KeyStatus};

/// `reason`, `namespace` of `unseal_errors_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// One of fetch, unseal, update, unmanaged, status.
    pub reason: String,
    /// Namespace of the SealedSecret.
    pub namespace: String,
}

/// Labels of `condition_info`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Condition type.
    pub condition: String,
    /// The SealedSecret's `app.kubernetes.io/instance` label.
    pub ss_app_kubernetes_io_instance: String,
}

/// Labels of `http_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// Route.
    pub path: String,
    /// Status code.
    pub code: String,
    /// Method.
    pub method: String,
}

/// Labels of `http_request_duration_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpDurationLabels {
    /// Route.
    pub path: String,
    /// Method.
    pub method: String,
}

/// Labels of `undecodable_objects`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NamespaceLabels {
    /// Namespace of the objects.
    pub namespace: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RevisionLabels {
    revision: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyStatusLabels {
    status: String,
}

fn http_histogram() -> Histogram {
    // Prometheus' default buckets, as upstream's Go client uses.
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

fn reconcile_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Every metric the controller exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// `unseal_requests_total`.
    pub unseal_requests: Counter,
    /// `unseal_errors_total{reason,namespace}`.
    pub unseal_errors: Family<ErrorLabels, Counter>,
    /// `condition_info{namespace,name,condition,ss_app_kubernetes_io_instance}`: -1, 0 or 1.
    pub condition_info: Family<ConditionLabels, Gauge>,
    /// `http_requests_total{path,code,method}`.
    pub http_requests: Family<HttpLabels, Counter>,
    /// `http_request_duration_seconds{path,method}`.
    pub http_request_duration: Family<HttpDurationLabels, Histogram, fn() -> Histogram>,
    /// `reconcile_duration_seconds`.
    pub reconcile_duration: Histogram,
    /// `undecodable_objects{namespace}`.
    pub undecodable_objects: Family<NamespaceLabels, Gauge>,
    keys: Family<KeyStatusLabels, Gauge>,
    malformed_keys: Gauge,
    keys_not_backed_up: Gauge,
    newest_key_age: Gauge<f64, AtomicU64>,
    seconds_until_renewal: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    #[must_use]
    pub fn new() -> Self {
        // The process_* families have no prefix, as every client library exports them.
        let mut root = Registry::default();
        root.register_collector(Box::new(crate::process_metrics::ProcessCollector));
        let registry = root.sub_registry_with_prefix("sealed_secrets_controller");
        let build_info = Family::<RevisionLabels, Gauge>::default();
        build_info
            .get_or_create(&RevisionLabels {
                revision: env!("CARGO_PKG_VERSION").to_owned(),
            })
            .set(0);
        registry.register("build_info", "Build information", build_info);
        let metrics = Self {
            unseal_requests: Counter::default(),
            unseal_errors: Family::default(),
            condition_info: Family::default(),
            http_requests: Family::default(),
            http_request_duration: Family::new_with_constructor(http_histogram),
            reconcile_duration: reconcile_histogram(),
            undecodable_objects: Family::default(),
            keys: Family::default(),
            malformed_keys: Gauge::default(),
            keys_not_backed_up: Gauge::default(),
            newest_key_age: Gauge::default(),
            seconds_until_renewal: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "unseal_requests",
            "Total number of sealed secret unseal requests",
            metrics.unseal_requests.clone(),
        );
        registry.register(
            "unseal_errors",
            "Total number of sealed secret unseal errors by reason",
            metrics.unseal_errors.clone(),
        );
        registry.register(
            "condition_info",
            "Current SealedSecret condition status. Values are -1 (false), 0 (unknown or absent), 1 (true)",
            metrics.condition_info.clone(),
        );
        registry.register(
            "http_requests",
            "Total number of HTTP requests by path, code and method",
            metrics.http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by path and method",
            metrics.http_request_duration.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time to reconcile one SealedSecret",
            metrics.reconcile_duration.clone(),
        );
        registry.register(
            "undecodable_objects",
            "SealedSecrets that cannot be read as one (each has a Warning event saying why) and are skipped, by namespace",
            metrics.undecodable_objects.clone(),
        );
        registry.register(
            "keys",
            "Sealing keys loaded, by status (active seals and unseals; compromised only unseals)",
            metrics.keys.clone(),
        );
        registry.register(
            "malformed_keys",
            "Key Secrets that could not be loaded",
            metrics.malformed_keys.clone(),
        );
        registry.register(
            "keys_not_backed_up",
            "Sealing keys that `kubeseal keys backup` has not exported since they were created",
            metrics.keys_not_backed_up.clone(),
        );
        registry.register(
            "newest_key_age_seconds",
            "Age of the key that currently seals",
            metrics.newest_key_age.clone(),
        );
        registry.register(
            "seconds_until_key_renewal",
            "Seconds until the next key is generated (negative: overdue; absent when disabled)",
            metrics.seconds_until_renewal.clone(),
        );
        Self {
            registry: root,
            ..metrics
        }
    }

    /// Records the key set's figures.
    pub fn observe_keys(&self, keys: &KeySet, renew_period: Option<Duration>, now: SystemTime) {
        for status in [KeyStatus::Active, KeyStatus::Compromised] {
            let count = keys.info.iter().filter(|i| i.status == status).count();
            self.keys
                .get_or_create(&KeyStatusLabels {
                    status: status.to_string(),
                })
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        self.malformed_keys
            .set(i64::try_from(keys.malformed.len()).unwrap_or(i64::MAX));
        let not_backed_up = keys
            .info
            .iter()
            .filter(|i| i.backed_up_at.is_none_or(|at| at < i.ordering_time))
            .count();
        self.keys_not_backed_up
            .set(i64::try_from(not_backed_up).unwrap_or(i64::MAX));
        if let Some(newest) = keys.sealing_key() {
            let age = now
                .duration_since(newest.ordering_time)
                .unwrap_or_default()
                .as_secs_f64();
            self.newest_key_age.set(age);
            if let Some(period) = renew_period.filter(|p| !p.is_zero()) {
                self.seconds_until_renewal.set(period.as_secs_f64() - age);
            }
        }
    }

    /// Sets `condition_info` for one SealedSecret (1 synced, -1 failed).
    pub fn observe_condition(&self, namespace: &str, name: &str, instance: &str, synced: bool) {
        self.condition_info
            .get_or_create(&ConditionLabels {
                namespace: namespace.into(),
                name: name.into(),
                condition: "Synced".into(),
                ss_app_kubernetes_io_instance: instance.into(),
            })
            .set(if synced { 1 } else { -1 });
    }

    /// Drops the `condition_info` series of a deleted SealedSecret.
    pub fn forget_condition(&self, namespace: &str, name: &str, instance: &str) {
        self.condition_info.remove(&ConditionLabels {
            namespace: namespace.into(),
            name: name.into(),
            condition: "Synced".into(),
            ss_app_kubernetes_io_instance: instance.into(),
        });
    }

    /// Sets how many unreadable SealedSecrets `namespace` holds.
    pub fn set_undecodable(&self, namespace: &str, count: usize) {
        self.undecodable_objects
            .get_or_create(&NamespaceLabels {
                namespace: namespace.into(),
            })
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// Counts an error.
    pub fn count_error(&self, reason: &str, namespace: &str) {
        self.unseal_errors
            .get_or_create(&ErrorLabels {
                reason: reason.into(),
                namespace: namespace.into(),
            })
            .inc();
    }

    /// The text exposition format.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_upstream() {
        let metrics = Metrics::new();
        metrics.unseal_requests.inc();
        metrics.count_error("unseal", "ns");
        metrics.observe_condition("ns", "n", "", true);
        metrics
            .http_requests
            .get_or_create(&HttpLabels {
                path: "/v1/cert.pem".into(),
                code: "200".into(),
                method: "GET".into(),
            })
            .inc();
        let text = metrics.encode();
        for needle in [
            "sealed_secrets_controller_unseal_requests_total 1",
            "sealed_secrets_controller_unseal_errors_total{reason=\"unseal\",namespace=\"ns\"} 1",
            "sealed_secrets_controller_condition_info{namespace=\"ns\",name=\"n\",condition=\"Synced\",ss_app_kubernetes_io_instance=\"\"} 1",
            "sealed_secrets_controller_http_requests_total{path=\"/v1/cert.pem\",code=\"200\",method=\"GET\"} 1",
            "sealed_secrets_controller_build_info{revision=",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        metrics.forget_condition("ns", "n", "");
        assert!(!metrics.encode().contains("name=\"n\""));
    }

    /// Generic pod dashboards and alerts read `process_*`, which upstream (Go's client) has
    /// and ours lacked.
    #[cfg(target_os = "linux")]
    #[test]
    fn process_families_are_exported_without_the_prefix() {
        let text = Metrics::new().encode();
        for family in [
            "# TYPE process_cpu_seconds counter",
            "\nprocess_cpu_seconds_total ",
            "\nprocess_resident_memory_bytes ",
            "\nprocess_virtual_memory_bytes ",
            "\nprocess_open_fds ",
            "\nprocess_start_time_seconds ",
        ] {
            assert!(text.contains(family), "missing {family:?} in\n{text}");
        }
        assert_eq!(text.matches("# EOF").count(), 1, "{text}");
    }

    #[test]
    fn key_metrics_count_keys_never_backed_up() {
        use std::time::Duration;

        use crate::key_set::{KeyInfo, KeySet};
        let at = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        let key = |name: &str, created: u64, backed_up: Option<u64>| KeyInfo {
            secret_name: name.into(),
            fingerprint: seal::PrivateKey::from_pem(
                include_str!("../../seal/tests/fixtures/compat/keys/rsa2048/tls.key").as_bytes(),
            )
            .unwrap()
            .fingerprint()
            .clone(),
            bits: 2048,
            ordering_time: at(created),
            not_after: Some(at(10_000)),
            status: KeyStatus::Active,
            backed_up_at: backed_up.map(at),
        };
        let keys = KeySet {
            info: vec![
                key("new", 200, None),
                key("mid", 100, Some(50)),
                key("old", 10, Some(20)),
            ],
            ..KeySet::default()
        };
        let metrics = Metrics::new();
        metrics.observe_keys(&keys, Some(Duration::from_secs(1000)), at(300));
        let text = metrics.encode();
        assert!(
            text.contains("sealed_secrets_controller_keys_not_backed_up 2"),
            "{text}"
        );
        assert!(
            text.contains("sealed_secrets_controller_keys{status=\"active\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("sealed_secrets_controller_newest_key_age_seconds 100"),
            "{text}"
        );
        assert!(
            text.contains("sealed_secrets_controller_seconds_until_key_renewal 900"),
            "{text}"
        );
    }
}
