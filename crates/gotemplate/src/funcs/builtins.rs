//! Go's own `text/template` functions (`funcs.go`): comparison, printing, escaping, `index`, `len`, `call`.

use super::PT::{Any, Str, Val};
#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::short_circuit("or", sg(&[Val], Some(Val))),
    Func::short_circuit("and", sg(&[Val], Some(Val))),
    Func::call("not", sg(&[Val], None), not),
    Func::call("len", sg(&[Val], None), len),
    Func::call("index", sg(&[Val], Some(Val)), index),
    Func::call("print", sg(&[], Some(Any)), print),
    Func::call("println", sg(&[], Some(Any)), println),
    Func::call("printf", sg(&[Str], Some(Any)), printf),
    Func::call("html", sg(&[], Some(Any)), html),
    Func::call("js", sg(&[], Some(Any)), js),
    Func::call("urlquery", sg(&[], Some(Any)), urlquery),
    Func::call("eq", sg(&[Val], Some(Val)), eq),
    Func::call("ne", sg(&[Val, Val], None), ne),
    Func::call("lt", sg(&[Val, Val], None), lt),
    Func::call("le", sg(&[Val, Val], None), le),
    Func::call("gt", sg(&[Val, Val], None), gt),
    Func::call("ge", sg(&[Val, Val], None), ge),
    Func::call("call", sg(&[Val], Some(Val)), call),
];

fn not(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Bool(!arg(&a, 0)?.truth()))
}

fn len(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let n = match arg(&a, 0)? {
        Value::Str(s) => s.as_bytes().len(),
        Value::List(l) => l.items.len(),
        Value::Map(m) => m.try_borrow().map_err(|_| e("map in use"))?.entries.len(),
        Value::Invalid | Value::Nil => return Err(e("len of nil pointer")),
        other => return Err(ErrKind::Exec(format!("len of type {}", other.type_name()))),
    };
    Ok(Value::int(i64::try_from(n).unwrap_or(i64::MAX)))
}

fn index(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let mut item = arg(&a, 0)?.clone();
    if item.is_nil() {
        return Err(e("index of untyped nil"));
    }
    for idx in a.get(1..).unwrap_or(&[]) {
        item = match &item {
            Value::List(_) | Value::Str(_) => {
                let len = match &item {
                    Value::List(l) => l.items.len(),
                    Value::Str(s) => s.as_bytes().len(),
                    _ => 0,
                };
                let x = match idx {
                    Value::Int(x, _) => *x,
                    Value::Invalid | Value::Nil => {
                        return Err(e("cannot index slice/array with nil"));
                    }
                    other => {
                        return Err(ErrKind::Exec(format!(
                            "cannot index slice/array with type {}",
                            other.type_name()
                        )));
                    }
                };
                let ux = usize::try_from(x).ok().filter(|u| *u < len);
                let Some(ux) = ux else {
                    return Err(e("index out of range"));
                };
                match &item {
                    Value::List(l) => l.items.get(ux).cloned().unwrap_or(Value::Nil),
                    Value::Str(s) => Value::Int(
                        i64::from(s.as_bytes().get(ux).copied().unwrap_or(0)),
                        IntTy::Uint8,
                    ),
                    _ => Value::Nil,
                }
            }
            Value::Map(m) => {
                let key = match idx {
                    Value::Str(s) => s.clone(),
                    Value::Invalid | Value::Nil => {
                        return Err(e("value is nil; should be of type string"));
                    }
                    other => {
                        return Err(ErrKind::Exec(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        )));
                    }
                };
                let m = m.try_borrow().map_err(|_| e("map in use"))?;
                match m.entries.get(key.as_ref()) {
                    Some(v) => v.clone(),
                    None => m.elem.zero(),
                }
            }
            Value::Nil | Value::Invalid => return Err(e("index of nil pointer")),
            other => {
                return Err(ErrKind::Exec(format!(
                    "can't index item of type {}",
                    other.type_name()
                )));
            }
        };
    }
    Ok(item)
}

fn print(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let mut b = SecretBytes::default();
    format::sprint(&mut b, &a, ex_cap(ex))?;
    mk_str(ex, b)
}

fn println(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let mut b = SecretBytes::default();
    format::sprintln(&mut b, &a, ex_cap(ex))?;
    mk_str(ex, b)
}

fn printf(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let f = s_arg(&a, 0)?.to_vec();
    let mut b = SecretBytes::default();
    format::sprintf(&mut b, &f, a.get(1..).unwrap_or(&[]), ex_cap(ex))?;
    mk_str(ex, b)
}

fn html(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let s = eval_args(ex, &a)?;
    let o = html_escape(s.as_bytes());
    mk_str(ex, o)
}

fn js(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let s = eval_args(ex, &a)?;
    let o = js_escape(s.as_bytes());
    mk_str(ex, o)
}

fn urlquery(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let s = eval_args(ex, &a)?;
    let o = query_escape(s.as_bytes());
    mk_str(ex, o)
}

fn eq(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Bool(go_eq(arg(&a, 0)?, a.get(1..).unwrap_or(&[]))?))
}

fn ne(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Bool(!go_eq(
        arg(&a, 0)?,
        a.get(1..2).unwrap_or(&[]),
    )?))
}

fn lt(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Bool(go_lt(arg(&a, 0)?, arg(&a, 1)?)?))
}

fn le(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let (x, y) = (arg(&a, 0)?, arg(&a, 1)?);
    let lt = go_lt(x, y)?;
    Ok(Value::Bool(lt || go_eq(x, std::slice::from_ref(y))?))
}

fn gt(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let (x, y) = (arg(&a, 0)?, arg(&a, 1)?);
    let lt = go_lt(x, y)?;
    Ok(Value::Bool(!(lt || go_eq(x, std::slice::from_ref(y))?)))
}

fn ge(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Bool(!go_lt(arg(&a, 0)?, arg(&a, 1)?)?))
}

fn call(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    match arg(&a, 0)? {
        Value::Invalid | Value::Nil => Err(e("call of nil")),
        other => Err(ErrKind::Exec(format!(
            "non-function of type {}",
            other.type_name()
        ))),
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
pub(super) enum BK {
    Bool,
    Int,
    Uint,
    Float,
    Str,
    Invalid,
}

pub(super) fn basic_kind(v: &Value) -> BK {
    match v {
        Value::Bool(_) => BK::Bool,
        Value::Int(_, t) if t.unsigned() => BK::Uint,
        Value::Int(..) => BK::Int,
        Value::Float(_) => BK::Float,
        Value::Str(_) => BK::Str,
        _ => BK::Invalid,
    }
}

pub(super) fn valid(v: &Value) -> bool {
    !matches!(v, Value::Invalid | Value::Nil)
}

pub(super) fn go_eq(a: &Value, rest: &[Value]) -> Result<bool, ErrKind> {
    if rest.is_empty() {
        return Err(e("missing argument for comparison"));
    }
    let k1 = basic_kind(a);
    for b in rest {
        let k2 = basic_kind(b);
        let truth = if k1 != k2 {
            match (a, b, k1, k2) {
                (Value::Int(x, tx), Value::Int(y, ty), BK::Int | BK::Uint, BK::Int | BK::Uint) => {
                    tx.widen(*x) == ty.widen(*y)
                }
                _ => {
                    if valid(a) && valid(b) {
                        return Err(e("incompatible types for comparison"));
                    }
                    false
                }
            }
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x, tx), Value::Int(y, ty)) => tx.widen(*x) == ty.widen(*y),
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Str(x), Value::Str(y)) => x.as_bytes() == y.as_bytes(),
                (Value::Object(x), Value::Object(y)) if x.type_name() == y.type_name() => {
                    Rc::ptr_eq(x, y) || (x.kind_name() == "struct" && x.equals(y.as_ref()))
                }
                _ => {
                    if !valid(a) || !valid(b) {
                        !valid(a) && !valid(b)
                    } else {
                        return Err(ErrKind::Exec(format!(
                            "non-comparable type {}",
                            b.type_name()
                        )));
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

pub(super) fn go_lt(a: &Value, b: &Value) -> Result<bool, ErrKind> {
    let (k1, k2) = (basic_kind(a), basic_kind(b));
    if k1 == BK::Invalid || k2 == BK::Invalid {
        return Err(e("invalid type for comparison"));
    }
    if k1 != k2 {
        return match (a, b, k1, k2) {
            (Value::Int(x, tx), Value::Int(y, ty), BK::Int | BK::Uint, BK::Int | BK::Uint) => {
                Ok(tx.widen(*x) < ty.widen(*y))
            }
            _ => Err(e("incompatible types for comparison")),
        };
    }
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => Ok(x < y),
        (Value::Int(x, tx), Value::Int(y, ty)) => Ok(tx.widen(*x) < ty.widen(*y)),
        (Value::Str(x), Value::Str(y)) => Ok(x.as_bytes() < y.as_bytes()),
        _ => Err(e("invalid type for comparison")),
    }
}

/// Go's `evalArgs` used by html/js/urlquery.
pub(super) fn eval_args(ex: &dyn Runtime, a: &[Value]) -> Result<SecretBytes, ErrKind> {
    let mut out = SecretBytes::default();
    if let [Value::Str(s)] = a {
        out.extend(s.as_bytes());
        return Ok(out);
    }
    format::sprint(&mut out, a, ex_cap(ex))?;
    Ok(out)
}

pub(super) fn html_escape(s: &[u8]) -> SecretBytes {
    let mut out = SecretBytes::with_capacity(s.len());
    for &b in s {
        match b {
            0 => out.push_str("\u{FFFD}"),
            b'"' => out.push_str("&#34;"),
            b'\'' => out.push_str("&#39;"),
            b'&' => out.push_str("&amp;"),
            b'<' => out.push_str("&lt;"),
            b'>' => out.push_str("&gt;"),
            _ => out.push(b),
        }
    }
    out
}

pub(super) fn js_escape(s: &[u8]) -> SecretBytes {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = SecretBytes::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c < 0x80 {
            match c {
                b'\\' => out.push_str("\\\\"),
                b'\'' => out.push_str("\\'"),
                b'"' => out.push_str("\\\""),
                b'<' => out.push_str("\\u003C"),
                b'>' => out.push_str("\\u003E"),
                b'&' => out.push_str("\\u0026"),
                b'=' => out.push_str("\\u003D"),
                c if c < b' ' => {
                    out.push_str("\\u00");
                    out.push(HEX[usize::from(c >> 4)]);
                    out.push(HEX[usize::from(c & 15)]);
                }
                c => out.push(c),
            }
            i += 1;
            continue;
        }
        let (r, n) = decode_rune(s.get(i..).unwrap_or(&[]));
        let n = n.max(1);
        if is_print(r) {
            out.extend(s.get(i..i + n).unwrap_or(&[]));
        } else {
            out.push_str(&format!("\\u{:04X}", u32::from(r)));
        }
        i += n;
    }
    out
}

pub(super) fn query_escape(s: &[u8]) -> SecretBytes {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = SecretBytes::with_capacity(s.len());
    for &b in s {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b),
            b' ' => out.push(b'+'),
            _ => {
                out.push(b'%');
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
            }
        }
    }
    out
}
