//! Go's `text/template` with Sprig v3's `GenericFuncMap`, over byte strings: what upstream's
//! controller uses to render `spec.template.data` of a SealedSecret.
//!
//! Upstream renders each item with
//! `template.New(key).Funcs(sprig.GenericFuncMap() - {env, expandenv, getHostByName}).Parse(src)`
//! and executes it over a `map[string]string` of the decrypted values. This crate reproduces
//! that byte for byte where practical; values are bytes, not text (a Secret's values need not
//! be UTF-8). The template source is attacker-controlled input, so rendering runs under hard
//! limits on nesting depth, work, memory and output.
//!
//! Which function to use:
//!
//! | to… | use |
//! | --- | --- |
//! | render the `template.data` items of one object | [`Budget::new`] once, then [`Budget::render`] per item |
//! | set the per-object allowance (output, items, work, memory, deadline) | [`Limits`] |
//! | render one template on its own (tests, tools) | [`render`] |
//! | check a template offline, without values (`kubeseal lint`) | [`check`] |
//! | hold plaintext bytes (wiped on drop and on growth, `[REDACTED]` in `Debug`) | [`SecretBytes`] |
//! | tell a parse error from an execution error or a limit | [`TemplateError`], [`Limit`] |
//!
//! Functions live in one table, one file per Sprig source file (`funcs/strings.rs` is Sprig's
//! `strings.go`, and so on); each row holds the name, the Go signature and the implementation.
//! Functions Sprig has and this crate does not implement parse, and fail when called.
//!
//! `parity/` holds a corpus of templates, the outputs Go renders for them and the program
//! that renders them (`parity/check` regenerates and compares): the `parity` test renders the
//! same corpus here and compares byte for byte.
//!
//! Errors never carry a value: execution errors name only the function that failed, parse
//! errors the position and Go's message (both from the template source).

use std::collections::BTreeMap;

mod budget;
mod check;
mod exec;
mod format;
mod funcs;
mod lex;
mod number;
mod parse;
mod secret;
mod value;

#[cfg(test)]
mod tests;

pub use budget::{Budget, DEFAULT_DEADLINE, Limit, Limits, WORK_UNIT_BYTES};
pub use check::check;
pub use secret::SecretBytes;

/// Why a template did not render.
///
/// Execution errors name the function that failed and nothing else: no position, no type
/// name, nothing computed from a value, so that whoever can edit a template and read the
/// object's status learns nothing about the plaintext. Parse errors keep Go's position and
/// message: they depend on the template source alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template source does not parse.
    #[error("template: {line}:{col}: {msg}")]
    Parse {
        /// 1-based line in the template source.
        line: usize,
        /// 0-based byte offset within the line.
        col: usize,
        /// Description (from the source, never a value).
        msg: String,
    },
    /// The template calls a function that does not exist (a parse error in Go).
    #[error("function {name:?} not defined")]
    UnknownFunction {
        /// The name, from the template source.
        name: String,
    },
    /// Execution failed: in a call of `function`, or evaluating a field, variable or
    /// action when `None`.
    #[error("{}", match function { Some(f) => format!("error calling {f}"), None => "execution failed".to_owned() })]
    Exec {
        /// The function whose call failed.
        function: Option<String>,
    },
    /// A limit of the object's [`Budget`] was hit.
    #[error("{limit} limit exceeded")]
    Limit {
        /// Which limit.
        limit: Limit,
    },
}

/// Internal error kinds; every variant carries only non-secret data.
#[derive(Debug)]
pub(crate) enum ErrKind {
    /// Static syntax message.
    Syntax(&'static str),
    /// Unexpected token (token description, context).
    Unexpected(&'static str, &'static str),
    /// Unknown function (name from the template source).
    FuncNotDefined(String),
    /// A limit was hit.
    Limit(Limit),
    /// Execution error; the text is Go's wording, kept for reading the code, never shown.
    Exec(String),
    /// Error returned by a called function (function name, Go's wording of the error).
    Call(String, String),
    /// `fail` was called (message deliberately dropped).
    Fail,
}

impl TemplateError {
    pub(crate) fn at(src: &str, pos: usize, kind: ErrKind, parse: bool) -> TemplateError {
        match kind {
            ErrKind::Limit(limit) => return TemplateError::Limit { limit },
            ErrKind::FuncNotDefined(name) => return TemplateError::UnknownFunction { name },
            ErrKind::Call(name, _) if !parse => {
                return TemplateError::Exec {
                    function: Some(name),
                };
            }
            ErrKind::Fail if !parse => {
                return TemplateError::Exec {
                    function: Some("fail".to_owned()),
                };
            }
            _ if !parse => return TemplateError::Exec { function: None },
            _ => {}
        }
        let pos = pos.min(src.len());
        let before = src.as_bytes().get(..pos).unwrap_or(&[]);
        let line = 1 + before.iter().filter(|b| **b == b'\n').count();
        let col = match before.iter().rposition(|b| *b == b'\n') {
            Some(i) => pos - i - 1,
            None => pos,
        };
        let msg = match kind {
            ErrKind::Syntax(m) => m.to_string(),
            ErrKind::Unexpected(tok, ctx) => format!("unexpected {tok} in {ctx}"),
            ErrKind::Exec(m) | ErrKind::Call(_, m) => m,
            _ => "parse error".to_owned(),
        };
        TemplateError::Parse { line, col, msg }
    }
}

/// Renders one template with a fresh default [`Budget`] (for one-off use; the controller
/// renders all items of an object with one [`Budget`]).
///
/// # Errors
/// See [`Budget::render`].
pub fn render(
    source: &str,
    values: &BTreeMap<String, &[u8]>,
) -> Result<SecretBytes, TemplateError> {
    Budget::new(Limits::default()).render(source, values)
}
