//! Sprig `reflect.go`: type and kind inspection, `deepEqual`.

use super::PT::{Any, Str};
use std::collections::HashSet;

#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("typeOf", sg(&[Any], None), type_of),
    Func::call("kindOf", sg(&[Any], None), kind_of),
    Func::call("typeIs", sg(&[Str, Any], None), type_is),
    Func::call("typeIsLike", sg(&[Str, Any], None), type_is_like),
    Func::call("kindIs", sg(&[Str, Any], None), kind_is),
    Func::call("deepEqual", sg(&[Any, Any], None), f_deep_equal),
];

fn type_of(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let t = arg(&a, 0)?.type_name();
    mk_bytes(ex, t.as_bytes())
}

fn kind_of(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let k = arg(&a, 0)?.kind_name();
    mk_bytes(ex, k.as_bytes())
}

fn type_is(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Bool(
        s_arg(&a, 0)? == arg(&a, 1)?.type_name().as_bytes(),
    ))
}

fn type_is_like(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let t = arg(&a, 1)?.type_name();
    let target = s_arg(&a, 0)?;
    let mut star = b"*".to_vec();
    star.extend_from_slice(target);
    Ok(Value::Bool(target == t.as_bytes() || star == t.as_bytes()))
}

fn kind_is(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Bool(
        s_arg(&a, 0)? == arg(&a, 1)?.kind_name().as_bytes(),
    ))
}

fn f_deep_equal(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Bool(deep_equal(ex, arg(&a, 0)?, arg(&a, 1)?)?))
}

/// Pairs of lists or maps (by address) already compared or being compared.
type Visited = HashSet<(usize, usize)>;

/// Go's `reflect.DeepEqual`, charging one work unit per node compared. As in Go, two lists or
/// maps at the same address are equal, and a pair already under comparison counts as equal;
/// together these make self-nested values (`$a = list $a $a`, repeated) linear, not
/// exponential.
pub(super) fn deep_equal(ex: &mut dyn Runtime, a: &Value, b: &Value) -> Result<bool, ErrKind> {
    deep_equal_in(ex, a, b, &mut Visited::new(), 0)
}

fn address<T>(rc: &Rc<T>) -> usize {
    Rc::as_ptr(rc).cast::<()>() as usize
}

fn deep_equal_in(
    ex: &mut dyn Runtime,
    a: &Value,
    b: &Value,
    visited: &mut Visited,
    depth: usize,
) -> Result<bool, ErrKind> {
    ex.charge(1)?;
    if depth > MAX_LIST_DEPTH {
        return Err(ErrKind::Limit(Limit::Depth));
    }
    Ok(match (a, b) {
        (Value::Nil | Value::Invalid, Value::Nil | Value::Invalid) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x, t), Value::Int(y, u)) => t == u && x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => {
            ex.charge_scan(x.len().min(y.len()))?;
            x.as_bytes() == y.as_bytes()
        }
        (Value::List(x), Value::List(y)) => {
            if Rc::ptr_eq(x, y) || !visited.insert((address(x), address(y))) {
                return Ok(true);
            }
            if x.elem != y.elem || x.items.len() != y.items.len() {
                return Ok(false);
            }
            for (p, q) in x.items.iter().zip(y.items.iter()) {
                if !deep_equal_in(ex, p, q, visited, depth + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        (Value::Map(x), Value::Map(y)) => {
            if Rc::ptr_eq(x, y) || !visited.insert((address(x), address(y))) {
                return Ok(true);
            }
            let (Ok(x), Ok(y)) = (x.try_borrow(), y.try_borrow()) else {
                return Ok(false);
            };
            if x.elem != y.elem || x.entries.len() != y.entries.len() {
                return Ok(false);
            }
            for (k, v) in &x.entries {
                let Some(w) = y.entries.get(k) else {
                    return Ok(false);
                };
                if !deep_equal_in(ex, v, w, visited, depth + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        // pointers: the same address or equal pointees; structs: equal fields
        (Value::Object(x), Value::Object(y)) => {
            x.type_name() == y.type_name() && (Rc::ptr_eq(x, y) || x.equals(y.as_ref()))
        }
        _ => false,
    })
}
