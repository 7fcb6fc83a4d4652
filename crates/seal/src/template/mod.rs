//! A Go `text/template` engine with the Sprig function set, used to render
//! `spec.template.data` of a SealedSecret.
//!
//! Upstream renders each template with
//! `template.New(key).Funcs(sprig.GenericFuncMap() - {env, expandenv, getHostByName}).Parse(src)`
//! and executes it over a `map[string]string` of the decrypted values. This
//! module reproduces that behaviour byte for byte where practical, with hard
//! limits on nesting depth, evaluation steps, allocations and output size,
//! because the template source is attacker-controlled input.
//!
//! Error messages only ever contain template positions, function names,
//! static text and Go type names — never a value.

use std::collections::BTreeMap;
use std::rc::Rc;

use zeroize::Zeroizing;

mod exec;
mod format;
mod funcs;
mod lex;
mod parse;
mod value;

#[cfg(test)]
mod tests;

use value::{ElemTy, MapData, SecretBytes, Value};

/// Resource limits applied while parsing and rendering.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// Maximum nesting of actions, parentheses and template calls.
    pub(crate) max_depth: usize,
    /// Maximum evaluation steps (nodes, commands, calls, loop iterations).
    pub(crate) max_steps: u64,
    /// Maximum output size in bytes.
    pub(crate) max_output: usize,
    /// Maximum cumulative bytes allocated for intermediate values.
    pub(crate) max_alloc: usize,
    /// Maximum number of elements of a single list.
    pub(crate) max_list: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 100,
            max_steps: 1_000_000,
            max_output: 1 << 20,
            max_alloc: 64 << 20,
            max_list: 1_000_000,
        }
    }
}

/// Errors from parsing or executing a template.
///
/// The message never contains any byte of any value: only positions
/// (1-based line, 0-based byte column as in Go), function names, static
/// text and Go type names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template source could not be parsed.
    #[error("template: {line}:{col}: {msg}")]
    Parse {
        /// 1-based line in the template source.
        line: usize,
        /// 0-based byte offset within the line.
        col: usize,
        /// Description (no values).
        msg: String,
    },
    /// Execution of the template failed.
    #[error("template: {line}:{col}: {msg}")]
    Exec {
        /// 1-based line in the template source.
        line: usize,
        /// 0-based byte offset within the line.
        col: usize,
        /// Description (no values).
        msg: String,
    },
    /// A resource limit (depth, steps, memory, output) was exceeded.
    #[error("template: {line}:{col}: {what} limit exceeded")]
    Limit {
        /// 1-based line in the template source.
        line: usize,
        /// 0-based byte offset within the line.
        col: usize,
        /// Which limit.
        what: &'static str,
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
    /// Function exists upstream but is not available here.
    FuncNotSupported(String),
    /// A limit was hit.
    Limit(&'static str),
    /// Execution error; message built from static text and type names only.
    Exec(String),
    /// Error returned by a called function (function name, message).
    Call(String, String),
    /// `fail` was called (message deliberately dropped).
    Fail,
}

impl TemplateError {
    pub(crate) fn at(src: &str, pos: usize, kind: ErrKind, parse: bool) -> TemplateError {
        let pos = pos.min(src.len());
        let before = src.as_bytes().get(..pos).unwrap_or(&[]);
        let line = 1 + before.iter().filter(|b| **b == b'\n').count();
        let col = match before.iter().rposition(|b| *b == b'\n') {
            Some(i) => pos - i - 1,
            None => pos,
        };
        let msg = match kind {
            ErrKind::Limit(what) => return TemplateError::Limit { line, col, what },
            ErrKind::Syntax(m) => m.to_string(),
            ErrKind::Unexpected(tok, ctx) => format!("unexpected {tok} in {ctx}"),
            ErrKind::FuncNotDefined(name) => format!("function {name:?} not defined"),
            ErrKind::FuncNotSupported(name) => format!("function {name:?} is not supported"),
            ErrKind::Exec(m) => m,
            ErrKind::Call(name, m) => format!("error calling {name}: {m}"),
            ErrKind::Fail => "error calling fail: template called fail".to_string(),
        };
        if parse {
            TemplateError::Parse { line, col, msg }
        } else {
            TemplateError::Exec { line, col, msg }
        }
    }
}

/// Renders one Go text/template over the decrypted values of a SealedSecret.
///
/// `values` becomes the template's data `.`, a Go `map[string]string` whose
/// values are the raw plaintext bytes. The result is the exact output bytes.
pub fn render(
    source: &str,
    values: &BTreeMap<String, &[u8]>,
) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
    render_with_limits(source, values, &Limits::default())
}

pub(crate) fn render_with_limits(
    source: &str,
    values: &BTreeMap<String, &[u8]>,
    limits: &Limits,
) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
    let parsed = parse::parse(source, limits)?;
    let mut entries = BTreeMap::new();
    for (k, v) in values {
        entries.insert(SecretBytes::from_slice(k.as_bytes()), Value::str(v));
    }
    let data = Value::Map(Rc::new(std::cell::RefCell::new(MapData {
        elem: ElemTy::Str,
        entries,
    })));
    let mut ex = exec::Exec::new(&parsed, source, limits);
    ex.run(data)?;
    let out = std::mem::take(&mut ex.out);
    Ok(Zeroizing::new(out.into_vec()))
}
