//! The sealed-secrets controller: keys, reconcile, HTTP API and metrics.
//!
//! The binary `sealed-secrets-controller` is a thin `main` over this library.

/// Makes a cache type watchable as `v1/Secret`: the controller deserializes Secrets into its
/// own shapes (a digest, wiping memory) instead of k8s-openapi's `Secret`.
macro_rules! watched_as_secret {
    ($type:ty) => {
        impl k8s_openapi::Resource for $type {
            const API_VERSION: &'static str = "v1";
            const GROUP: &'static str = "";
            const KIND: &'static str = "Secret";
            const VERSION: &'static str = "v1";
            const URL_PATH_SEGMENT: &'static str = "secrets";
            type Scope = k8s_openapi::NamespaceResourceScope;
        }

        impl k8s_openapi::Metadata for $type {
            type Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

            fn metadata(&self) -> &Self::Ty {
                &self.metadata
            }

            fn metadata_mut(&mut self) -> &mut Self::Ty {
                &mut self.metadata
            }
        }
    };
}

pub mod app;
pub mod config;
pub mod crd;
pub mod events;
pub mod http;
pub mod key_manager;
pub mod key_set;
pub mod leader;
pub mod metrics;
pub mod process_metrics;
pub mod ratelimit;
pub mod reconcile;
pub mod serve;
pub mod web;
