//! Sealed Secrets controller library.

pub mod crd;
