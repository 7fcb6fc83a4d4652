//! Sprig `defaults.go`: `default`, `empty`, `coalesce`, `ternary`, JSON.

use super::PT::{Any, Bool, Str};
#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("default", sg(&[Any], Some(Any)), default),
    Func::call("empty", sg(&[Any], None), empty),
    Func::call("coalesce", sg(&[], Some(Any)), coalesce),
    Func::call("all", sg(&[], Some(Any)), all),
    Func::call("any", sg(&[], Some(Any)), any),
    Func::call("compact", sg(&[Any], None), compact),
    Func::call("mustCompact", sg(&[Any], None), compact),
    Func::call("fromJson", sg(&[Str], None), f_from_json),
    Func::call("mustFromJson", sg(&[Str], None), f_from_json),
    Func::call("toJson", sg(&[Any], None), to_json),
    Func::call("toPrettyJson", sg(&[Any], None), to_json),
    Func::call("toRawJson", sg(&[Any], None), to_json),
    Func::call("mustToJson", sg(&[Any], None), to_json),
    Func::call("mustToPrettyJson", sg(&[Any], None), to_json),
    Func::call("mustToRawJson", sg(&[Any], None), to_json),
    Func::call("ternary", sg(&[Any, Any, Bool], None), ternary),
    Func::call("deepCopy", sg(&[Any], None), f_deep_copy),
    Func::call("mustDeepCopy", sg(&[Any], None), f_deep_copy),
];

fn default(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let d = arg(&a, 0)?.clone();
    match a.get(1) {
        Some(g) if !g.is_empty() => Ok(g.clone()),
        _ => Ok(d),
    }
}

fn empty(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Bool(arg(&a, 0)?.is_empty()))
}

fn coalesce(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(a.iter()
        .find(|v| !v.is_empty())
        .cloned()
        .unwrap_or(Value::Nil))
}

fn all(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Bool(a.iter().all(|v| !v.is_empty())))
}

fn any(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Bool(a.iter().any(|v| !v.is_empty())))
}

fn compact(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let v = arg(&a, 0)?;
    let l = as_list(v).ok_or_else(|| kind_err("compact", v))?;
    let items = l.items.iter().filter(|x| !x.is_empty()).cloned().collect();
    mk_list(ex, ElemTy::Any, items)
}

fn f_from_json(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let s = s_arg(&a, 0)?;
    match serde_json::from_slice::<serde_json::Value>(s) {
        Ok(j) => from_json(ex, j, 0),
        Err(_) if name == "fromJson" => Ok(Value::Nil),
        Err(_) => Err(e("invalid JSON")),
    }
}

fn to_json(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let v = arg(&a, 0)?;
    let pretty = name.contains("Pretty");
    let raw = name.contains("Raw");
    let mut out = SecretBytes::default();
    match format::to_json(&mut out, v, !raw, pretty, 0, ex_cap(ex)) {
        Ok(()) => mk_str(ex, out),
        Err(ErrKind::Limit(l)) => Err(ErrKind::Limit(l)),
        Err(err) => {
            if name.starts_with("must") {
                Err(err)
            } else if raw {
                // toRawJson panics on error
                Err(err)
            } else {
                mk_bytes(ex, b"")
            }
        }
    }
}

fn ternary(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let b = matches!(arg(&a, 2)?, Value::Bool(true));
    Ok(if b {
        arg(&a, 0)?.clone()
    } else {
        arg(&a, 1)?.clone()
    })
}

fn f_deep_copy(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let v = arg(&a, 0)?.clone();
    deep_copy(ex, &v, 0)
}

/// JSON -> Value conversion (numbers become float64 as in Go).
pub(super) fn from_json(ex: &mut dyn Runtime, j: serde_json::Value, depth: usize) -> FR {
    if depth > 100 {
        return Err(e("json nesting too deep"));
    }
    Ok(match j {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(mut s) => {
            let v = mk_bytes(ex, s.as_bytes())?;
            zeroize::Zeroize::zeroize(&mut s);
            v
        }
        serde_json::Value::Array(a) => {
            let mut items = Vec::with_capacity(a.len());
            for x in a {
                items.push(from_json(ex, x, depth + 1)?);
            }
            mk_list(ex, ElemTy::Any, items)?
        }
        serde_json::Value::Object(o) => {
            let mut m = BTreeMap::new();
            for (k, v) in o {
                let val = from_json(ex, v, depth + 1)?;
                m.insert(SecretBytes::from_slice(k.as_bytes()), val);
            }
            ex.new_map(ElemTy::Any, m)?
        }
    })
}

pub(super) fn deep_copy(ex: &mut dyn Runtime, v: &Value, depth: usize) -> FR {
    if depth > 100 {
        return Err(e("deepCopy nesting too deep"));
    }
    Ok(match v {
        Value::List(l) => {
            let mut items = Vec::with_capacity(l.items.len());
            for x in &l.items {
                items.push(deep_copy(ex, x, depth + 1)?);
            }
            mk_list(ex, l.elem, items)?
        }
        Value::Map(m) => {
            let (elem, entries): (ElemTy, Vec<(SecretBytes, Value)>) = {
                let b = m.try_borrow().map_err(|_| e("map in use"))?;
                (
                    b.elem,
                    b.entries
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                )
            };
            let mut out = BTreeMap::new();
            for (k, x) in entries {
                out.insert(k, deep_copy(ex, &x, depth + 1)?);
            }
            ex.new_map(elem, out)?
        }
        Value::Object(o) => o.deep_copy().unwrap_or_else(|| v.clone()),
        other => other.clone(),
    })
}
