//! Sprig `list.go`: list construction and manipulation.

use super::PT::{Any, Int};
use std::collections::HashSet;

#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("tuple", sg(&[], Some(Any)), tuple),
    Func::call("list", sg(&[], Some(Any)), tuple),
    Func::call("append", sg(&[Any, Any], None), append),
    Func::call("push", sg(&[Any, Any], None), append),
    Func::call("mustAppend", sg(&[Any, Any], None), append),
    Func::call("mustPush", sg(&[Any, Any], None), append),
    Func::call("prepend", sg(&[Any, Any], None), append),
    Func::call("mustPrepend", sg(&[Any, Any], None), append),
    Func::call("first", sg(&[Any], None), first),
    Func::call("mustFirst", sg(&[Any], None), first),
    Func::call("last", sg(&[Any], None), first),
    Func::call("mustLast", sg(&[Any], None), first),
    Func::call("rest", sg(&[Any], None), rest),
    Func::call("mustRest", sg(&[Any], None), rest),
    Func::call("initial", sg(&[Any], None), rest),
    Func::call("mustInitial", sg(&[Any], None), rest),
    Func::call("reverse", sg(&[Any], None), reverse),
    Func::call("mustReverse", sg(&[Any], None), reverse),
    Func::call("uniq", sg(&[Any], None), uniq),
    Func::call("mustUniq", sg(&[Any], None), uniq),
    Func::call("without", sg(&[Any], Some(Any)), without),
    Func::call("mustWithout", sg(&[Any], Some(Any)), without),
    Func::call("has", sg(&[Any, Any], None), has),
    Func::call("mustHas", sg(&[Any, Any], None), has),
    Func::call("slice", sg(&[Any], Some(Any)), slice),
    Func::call("mustSlice", sg(&[Any], Some(Any)), slice),
    Func::call("concat", sg(&[], Some(Any)), concat),
    Func::call("chunk", sg(&[Int, Any], None), chunk),
    Func::call("mustChunk", sg(&[Int, Any], None), chunk),
];

fn tuple(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    mk_list(ex, ElemTy::Any, a)
}

fn append(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let v = arg(&a, 0)?;
    let l = as_list(v).ok_or_else(|| {
        kind_err(
            if name.contains("repend") {
                "prepend"
            } else {
                "push"
            },
            v,
        )
    })?;
    let x = arg(&a, 1)?.clone();
    let mut items = Vec::with_capacity(l.items.len() + 1);
    if name.contains("repend") {
        items.push(x);
        items.extend(l.items.iter().cloned());
    } else {
        items.extend(l.items.iter().cloned());
        items.push(x);
    }
    mk_list(ex, ElemTy::Any, items)
}

fn first(_ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let v = arg(&a, 0)?;
    let l = as_list(v).ok_or_else(|| kind_err("find first", v))?;
    let r = if name.ends_with("irst") {
        l.items.first()
    } else {
        l.items.last()
    };
    Ok(r.cloned().unwrap_or(Value::Nil))
}

fn rest(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let v = arg(&a, 0)?;
    let l = as_list(v).ok_or_else(|| kind_err("find rest", v))?;
    if l.items.is_empty() {
        return Ok(Value::list(ElemTy::Any, Vec::new()));
    }
    let items: Vec<Value> = if name.ends_with("est") {
        l.items.iter().skip(1).cloned().collect()
    } else {
        l.items.iter().take(l.items.len() - 1).cloned().collect()
    };
    mk_list(ex, ElemTy::Any, items)
}

fn reverse(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let v = arg(&a, 0)?;
    let l = as_list(v).ok_or_else(|| kind_err("find reverse", v))?;
    let items = l.items.iter().rev().cloned().collect();
    mk_list(ex, ElemTy::Any, items)
}

fn uniq(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let v = arg(&a, 0)?;
    let l = as_list(v).ok_or_else(|| kind_err("find uniq", v))?;
    // Strings, integers and booleans are found by hash; only other values are compared
    // one by one (deepEqual, charged), so a long list of scalars is linear.
    let mut seen: HashSet<ScalarKey<'_>> = HashSet::new();
    let mut others: Vec<Value> = Vec::new();
    let mut dest: Vec<Value> = Vec::new();
    for item in &l.items {
        ex.step()?;
        let x = item.clone().into_iface();
        let new = match scalar_key(item) {
            // NaN equals nothing, not even itself.
            _ if matches!(item, Value::Float(f) if f.is_nan()) => true,
            Some(key) => seen.insert(key),
            None => {
                let mut found = false;
                for o in &others {
                    if deep_equal(ex, &x, o)? {
                        found = true;
                        break;
                    }
                }
                if !found {
                    others.push(x.clone());
                }
                !found
            }
        };
        if new {
            dest.push(x);
        }
    }
    mk_list(ex, ElemTy::Any, dest)
}

/// A value that `deepEqual` compares by content alone, borrowed from the list.
#[derive(PartialEq, Eq, Hash)]
enum ScalarKey<'a> {
    Str(&'a [u8]),
    Int(i64, IntTy),
    Bool(bool),
    /// Bits of a float other than NaN, with -0 folded into 0.
    Float(u64),
    Nil,
}

fn scalar_key(v: &Value) -> Option<ScalarKey<'_>> {
    Some(match v {
        Value::Str(s) => ScalarKey::Str(s.as_bytes()),
        Value::Int(i, t) => ScalarKey::Int(*i, *t),
        Value::Bool(b) => ScalarKey::Bool(*b),
        Value::Float(f) if !f.is_nan() => ScalarKey::Float(if *f == 0.0 { 0 } else { f.to_bits() }),
        Value::Nil | Value::Invalid => ScalarKey::Nil,
        _ => return None,
    })
}

/// Whether `x` deep-equals any of `candidates`.
fn any_deep_equal(ex: &mut dyn Runtime, x: &Value, candidates: &[Value]) -> Result<bool, ErrKind> {
    for c in candidates {
        if deep_equal(ex, x, c)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn without(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let v = arg(&a, 0)?;
    let l = as_list(v).ok_or_else(|| kind_err("find without", v))?;
    let omit = a.get(1..).unwrap_or(&[]);
    let mut res = Vec::new();
    for x in &l.items {
        ex.step()?;
        if !any_deep_equal(ex, x, omit)? {
            res.push(x.clone());
        }
    }
    mk_list(ex, ElemTy::Any, res)
}

fn has(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let hay = arg(&a, 1)?;
    if hay.is_nil() {
        return Ok(Value::Bool(false));
    }
    let l = as_list(hay).ok_or_else(|| kind_err("find has", hay))?;
    let needle = arg(&a, 0)?;
    Ok(Value::Bool(any_deep_equal(ex, needle, &l.items)?))
}

fn slice(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let v = arg(&a, 0)?;
    let Some(l) = as_list(v) else {
        return Err(match v {
            Value::Nil | Value::Invalid => e("nil argument"),
            other => ErrKind::Exec(format!(
                "list should be type of slice or array but {}",
                other.kind_name()
            )),
        });
    };
    let len = l.items.len();
    if len == 0 {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map_or(0, to_int64);
    let end = a.get(2).map_or(len as i64, to_int64);
    let (Ok(s), Ok(en)) = (usize::try_from(start), usize::try_from(end)) else {
        return Err(e("reflect: slice index out of range"));
    };
    if s > en || en > len {
        return Err(e("reflect: slice index out of range"));
    }
    let items = l.items.get(s..en).unwrap_or(&[]).to_vec();
    mk_list(ex, l.elem, items)
}

fn concat(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let mut res = Vec::new();
    for v in &a {
        let l = as_list(v).ok_or_else(|| kind_err("concat", v))?;
        ex.alloc_list(res.len() + l.items.len())?;
        res.extend(l.items.iter().cloned());
    }
    mk_list(ex, ElemTy::Any, res)
}

fn chunk(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let size = i_arg(&a, 0)?;
    let v = arg(&a, 1)?;
    let l = as_list(v).ok_or_else(|| kind_err("chunk", v))?;
    if size <= 0 {
        return Err(e("runtime error: invalid chunk size"));
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let mut chunks = Vec::new();
    if l.items.is_empty() {
        chunks.push(Value::list(ElemTy::Any, Vec::new()));
    }
    for c in l.items.chunks(size) {
        chunks.push(Value::list(ElemTy::Any, c.to_vec()));
    }
    ex.alloc_list(l.items.len())?;
    mk_list(ex, ElemTy::List, chunks)
}
