//! Sprig `url.go`: URL parsing and joining.

#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[Func::unsupported("urlParse"), Func::unsupported("urlJoin")];
