//! Sprig `dict.go`: dictionary construction and manipulation.

use super::PT::{Any, Map, Str};
#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("dict", sg(&[], Some(Any)), dict),
    Func::call("get", sg(&[Map, Str], None), get),
    Func::call("set", sg(&[Map, Str, Any], None), set),
    Func::call("unset", sg(&[Map, Str], None), unset),
    Func::call("hasKey", sg(&[Map, Str], None), has_key),
    Func::call("pluck", sg(&[Str], Some(Map)), pluck),
    Func::call("keys", sg(&[], Some(Map)), keys),
    Func::call("values", sg(&[Map], None), values),
    Func::call("pick", sg(&[Map], Some(Str)), pick),
    Func::call("omit", sg(&[Map], Some(Str)), pick),
    Func::call("merge", sg(&[Map], Some(Map)), merge),
    Func::call("mergeOverwrite", sg(&[Map], Some(Map)), merge),
    Func::call("mustMerge", sg(&[Map], Some(Map)), merge),
    Func::call("mustMergeOverwrite", sg(&[Map], Some(Map)), merge),
    Func::call("dig", sg(&[], Some(Any)), dig),
];

fn dict(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let mut m = BTreeMap::new();
    let mut i = 0;
    while i < a.len() {
        let mut k = SecretBytes::default();
        strval(ex, arg(&a, i)?, &mut k)?;
        let v = a.get(i + 1).cloned().unwrap_or_else(|| Value::str(b""));
        m.insert(k, v);
        i += 2;
    }
    ex.new_map(ElemTy::Any, m)
}

fn get(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let key = s_arg(&a, 1)?;
    let r = match map_arg(&a, 0)? {
        Some(m) => m
            .try_borrow()
            .map_err(|_| e("map in use"))?
            .entries
            .get(&SecretBytes::from_slice(key))
            .cloned(),
        None => None,
    };
    Ok(r.unwrap_or_else(|| Value::str(b"")))
}

fn set(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let Some(m) = map_arg(&a, 0)? else {
        return Err(e("assignment to entry in nil map"));
    };
    let key = SecretBytes::from_slice(s_arg(&a, 1)?);
    let v = arg(&a, 2)?.clone();
    ex.alloc(64)?;
    m.try_borrow_mut()
        .map_err(|_| e("map in use"))?
        .entries
        .insert(key, v);
    Ok(Value::Map(m))
}

fn unset(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let key = SecretBytes::from_slice(s_arg(&a, 1)?);
    match map_arg(&a, 0)? {
        Some(m) => {
            m.try_borrow_mut()
                .map_err(|_| e("map in use"))?
                .entries
                .remove(&key);
            Ok(Value::Map(m))
        }
        None => Ok(Value::Nil),
    }
}

fn has_key(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let key = SecretBytes::from_slice(s_arg(&a, 1)?);
    Ok(Value::Bool(match map_arg(&a, 0)? {
        Some(m) => m
            .try_borrow()
            .map_err(|_| e("map in use"))?
            .entries
            .contains_key(&key),
        None => false,
    }))
}

fn pluck(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let key = SecretBytes::from_slice(s_arg(&a, 0)?);
    let mut res = Vec::new();
    for i in 1..a.len() {
        if let Some(m) = map_arg(&a, i)?
            && let Some(v) = m
                .try_borrow()
                .map_err(|_| e("map in use"))?
                .entries
                .get(&key)
        {
            res.push(v.clone());
        }
    }
    mk_list(ex, ElemTy::Any, res)
}

fn keys(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let mut res = Vec::new();
    for i in 0..a.len() {
        if let Some(m) = map_arg(&a, i)? {
            for k in m.try_borrow().map_err(|_| e("map in use"))?.entries.keys() {
                res.push(k.as_bytes().to_vec());
            }
        }
    }
    str_list(ex, res)
}

fn values(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let mut res = Vec::new();
    if let Some(m) = map_arg(&a, 0)? {
        res.extend(
            m.try_borrow()
                .map_err(|_| e("map in use"))?
                .entries
                .values()
                .cloned(),
        );
    }
    mk_list(ex, ElemTy::Any, res)
}

fn pick(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let src = map_arg(&a, 0)?;
    let keys: Vec<SecretBytes> = a
        .get(1..)
        .unwrap_or(&[])
        .iter()
        .filter_map(|v| {
            if let Value::Str(s) = v {
                Some((**s).clone())
            } else {
                None
            }
        })
        .collect();
    let mut out = BTreeMap::new();
    if let Some(m) = src {
        let m = m.try_borrow().map_err(|_| e("map in use"))?;
        for (k, v) in &m.entries {
            if keys.contains(k) == (name == "pick") {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    ex.new_map(ElemTy::Any, out)
}

fn merge(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let overwrite = name.contains("Overwrite");
    let dst = match map_arg(&a, 0)? {
        Some(m) => m,
        None => match ex.new_map(ElemTy::Any, BTreeMap::new())? {
            Value::Map(m) => m,
            _ => return Err(e("internal")),
        },
    };
    for i in 1..a.len() {
        if let Some(src) = map_arg(&a, i)? {
            ex.step()?;
            merge_into(&dst, &src, overwrite, 0)?;
        }
    }
    Ok(Value::Map(dst))
}

fn dig(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    if a.len() < 3 {
        return Err(e("dig needs at least three arguments"));
    }
    let Some(Value::Map(mut cur)) = a.last().cloned() else {
        return Err(e(
            "interface conversion: last argument is not map[string]interface {}",
        ));
    };
    let def = a.get(a.len() - 2).cloned().unwrap_or(Value::Nil);
    let keys = a.get(..a.len() - 2).unwrap_or(&[]);
    for (i, k) in keys.iter().enumerate() {
        let Value::Str(k) = k else {
            return Err(e("interface conversion: key is not string"));
        };
        let step = cur
            .try_borrow()
            .map_err(|_| e("map in use"))?
            .entries
            .get(k.as_ref())
            .cloned();
        let Some(step) = step else {
            return Ok(def);
        };
        if i + 1 == keys.len() {
            return Ok(step);
        }
        match step {
            Value::Map(m) => cur = m,
            _ => {
                return Err(e(
                    "interface conversion: value is not map[string]interface {}",
                ));
            }
        }
    }
    Ok(def)
}

/// mergo.Merge / MergeWithOverwrite (simplified for maps of interfaces).
pub(super) fn merge_into(
    dst: &MapRef,
    src: &MapRef,
    overwrite: bool,
    depth: usize,
) -> Result<(), ErrKind> {
    if depth > 100 {
        return Err(e("merge nesting too deep"));
    }
    if Rc::ptr_eq(dst, src) {
        return Ok(());
    }
    let src_entries: Vec<(SecretBytes, Value)> = {
        let s = src.try_borrow().map_err(|_| e("map in use"))?;
        s.entries
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    for (k, sv) in src_entries {
        if sv.is_nil() {
            if overwrite {
                dst.try_borrow_mut()
                    .map_err(|_| e("map in use"))?
                    .entries
                    .insert(k, Value::Nil);
            }
            continue;
        }
        let dv = dst
            .try_borrow()
            .map_err(|_| e("map in use"))?
            .entries
            .get(&k)
            .cloned();
        if let (Some(Value::Map(dm)), Value::Map(sm)) = (&dv, &sv) {
            merge_into(dm, sm, overwrite, depth + 1)?;
        }
        if let Some(d) = &dv
            && !d.is_empty()
        {
            if matches!(sv, Value::List(_)) && !overwrite {
                continue;
            }
            if matches!(sv, Value::Map(_)) && matches!(d, Value::Map(_)) {
                continue;
            }
        }
        let dst_empty = dv.as_ref().is_none_or(Value::is_empty);
        if overwrite || dst_empty {
            dst.try_borrow_mut()
                .map_err(|_| e("map in use"))?
                .entries
                .insert(k, sv);
        }
    }
    Ok(())
}
