//! Sprig `semver.go`: semantic versions.

#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::unsupported("semver"),
    Func::unsupported("semverCompare"),
];
