//! The sealed-secrets controller: keys, reconcile, HTTP API and metrics.
//!
//! The binary `sealed-secrets-controller` is a thin `main` over this library.

pub mod config;
pub mod crd;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod reconcile;
