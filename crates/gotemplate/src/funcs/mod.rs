//! Go's template builtins and Sprig's `GenericFuncMap`, one table of [`Func`] rows split into
//! one file per family, as Sprig's own source is. `env`, `expandenv` and `getHostByName` are
//! deliberately undefined, as upstream's controller removes them.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::OnceLock;

use base64::Engine as _;
use sha2::Digest as _;

use super::format;
use super::{ErrKind, Limit};
pub(crate) use crate::value::PT;
use crate::value::{
    ElemTy, IntTy, ListData, MapRef, Runtime, SecretBytes, Value, decode_rune, is_lower, is_print,
    is_punct, is_space, is_title, is_upper, runes, to_lower, to_title, to_upper,
};

mod builtins;
mod certs;
mod crypto;
mod date;
mod decimal;
mod defaults;
mod dicts;
mod encoding;
mod functions;
mod gotime;
mod lists;
mod numeric;
mod random;
mod reflect;
mod regex;
mod semver;
mod strings;
mod url;

#[allow(clippy::wildcard_imports)]
use self::{numeric::*, reflect::*};

/// A function signature.
pub(crate) struct Sig {
    pub(crate) fixed: &'static [PT],
    pub(crate) variadic: Option<PT>,
}

const fn sg(fixed: &'static [PT], variadic: Option<PT>) -> Sig {
    Sig { fixed, variadic }
}

/// How a function runs.
#[derive(Clone, Copy)]
pub(crate) enum Imp {
    /// A plain call with evaluated, type-checked arguments.
    Call(fn(&mut dyn Runtime, &str, Vec<Value>) -> FR),
    /// `and` / `or`: the executor evaluates arguments lazily.
    ShortCircuit,
}

/// One row of the function table: name, Go signature, implementation.
pub(crate) struct Func {
    pub(crate) name: &'static str,
    pub(crate) sig: Sig,
    pub(crate) imp: Imp,
}

impl Func {
    const fn call(
        name: &'static str,
        sig: Sig,
        imp: fn(&mut dyn Runtime, &str, Vec<Value>) -> FR,
    ) -> Func {
        Func {
            name,
            sig,
            imp: Imp::Call(imp),
        }
    }
    const fn short_circuit(name: &'static str, sig: Sig) -> Func {
        Func {
            name,
            sig,
            imp: Imp::ShortCircuit,
        }
    }
}

/// Every family's rows; together they are the function table.
const FAMILIES: &[&[Func]] = &[
    builtins::FUNCS,
    strings::FUNCS,
    encoding::FUNCS,
    functions::FUNCS,
    lists::FUNCS,
    dicts::FUNCS,
    defaults::FUNCS,
    reflect::FUNCS,
    numeric::FUNCS,
    crypto::FUNCS,
    certs::FUNCS,
    regex::FUNCS,
    date::FUNCS,
    semver::FUNCS,
    url::FUNCS,
    random::FUNCS,
];

/// Every function of the table, by name.
pub(crate) fn all() -> impl Iterator<Item = &'static Func> {
    FAMILIES.iter().flat_map(|family| family.iter())
}

/// The row for `name`, if the function is defined.
pub(crate) fn lookup(name: &str) -> Option<&'static Func> {
    static INDEX: OnceLock<HashMap<&'static str, &'static Func>> = OnceLock::new();
    INDEX
        .get_or_init(|| all().map(|f| (f.name, f)).collect())
        .get(name)
        .copied()
}

type FR = Result<Value, ErrKind>;

pub(super) fn e(msg: &str) -> ErrKind {
    ErrKind::Exec(msg.to_string())
}

pub(super) fn arg(a: &[Value], i: usize) -> Result<&Value, ErrKind> {
    a.get(i).ok_or_else(|| e("missing argument"))
}

pub(super) fn s_arg(a: &[Value], i: usize) -> Result<&[u8], ErrKind> {
    match arg(a, i)? {
        Value::Str(s) => Ok(s.as_bytes()),
        _ => Err(e("expected string")),
    }
}

pub(super) fn i_arg(a: &[Value], i: usize) -> Result<i64, ErrKind> {
    match arg(a, i)? {
        Value::Int(v, _) => Ok(*v),
        _ => Err(e("expected integer")),
    }
}

pub(super) fn map_arg(a: &[Value], i: usize) -> Result<Option<MapRef>, ErrKind> {
    match arg(a, i)? {
        Value::Map(m) => Ok(Some(m.clone())),
        Value::Nil | Value::Invalid => Ok(None),
        _ => Err(e("expected map")),
    }
}

pub(super) fn mk_str(ex: &mut dyn Runtime, b: SecretBytes) -> FR {
    ex.alloc(b.len())?;
    Ok(Value::string(b))
}

pub(super) fn mk_bytes(ex: &mut dyn Runtime, b: &[u8]) -> FR {
    ex.alloc(b.len())?;
    Ok(Value::str(b))
}

pub(super) fn mk_list(ex: &mut dyn Runtime, elem: ElemTy, items: Vec<Value>) -> FR {
    ex.alloc_list(items.len())?;
    let v = Value::list(elem, items);
    if v.list_depth() > MAX_LIST_DEPTH {
        return Err(ErrKind::Limit(Limit::Depth));
    }
    Ok(v)
}

/// Maximum nesting of lists within lists.
pub(super) const MAX_LIST_DEPTH: usize = 100;

pub(super) fn str_list(ex: &mut dyn Runtime, items: Vec<Vec<u8>>) -> FR {
    let total: usize = items.iter().map(Vec::len).sum();
    ex.alloc(total)?;
    let v = items
        .into_iter()
        .map(|s| Value::string(SecretBytes::new(s)))
        .collect();
    mk_list(ex, ElemTy::Str, v)
}

pub(super) fn as_list(v: &Value) -> Option<Rc<ListData>> {
    match v {
        Value::List(l) => Some(l.clone()),
        _ => None,
    }
}

/// Sprig's `strval`: strings as-is, everything else `fmt.Sprintf("%v")`.
pub(super) fn strval(ex: &dyn Runtime, v: &Value, out: &mut SecretBytes) -> Result<(), ErrKind> {
    match v {
        Value::Str(s) => {
            out.extend(s.as_bytes());
            Ok(())
        }
        other => format::print_value(out, other, ex_cap(ex)),
    }
}

pub(super) fn ex_cap(ex: &dyn Runtime) -> usize {
    ex.memory_left()
}

pub(super) fn kind_err(what: &str, v: &Value) -> ErrKind {
    let k = match v {
        Value::Invalid | Value::Nil => return e("nil argument"),
        other => other.kind_name(),
    };
    ErrKind::Exec(format!("Cannot {what} on type {k}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_exactly_one_row() {
        let mut seen = std::collections::HashSet::new();
        for f in all() {
            assert!(seen.insert(f.name), "{} has two rows", f.name);
        }
        for undefined in ["env", "expandenv", "getHostByName"] {
            assert!(
                lookup(undefined).is_none(),
                "{undefined} must stay undefined"
            );
        }
    }
}
