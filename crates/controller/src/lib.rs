//! The sealed-secrets controller: keys, reconcile, HTTP API and metrics.
//!
//! The binary `sealed-secrets-controller` is a thin `main` over this library.

pub mod app;
pub mod config;
pub mod crd;
pub mod events;
pub mod http;
pub mod key_manager;
pub mod keys;
pub mod leader;
pub mod metrics;
pub mod reconcile;
