//! Functions Sprig defines inline in `functions.go`: `hello`, `fail` and the `path`/`filepath` wrappers.

use super::PT::Str;
#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("hello", sg(&[], None), hello),
    Func::call("base", sg(&[Str], None), base),
    Func::call("osBase", sg(&[Str], None), base),
    Func::call("dir", sg(&[Str], None), dir),
    Func::call("osDir", sg(&[Str], None), dir),
    Func::call("clean", sg(&[Str], None), clean),
    Func::call("osClean", sg(&[Str], None), clean),
    Func::call("ext", sg(&[Str], None), ext),
    Func::call("osExt", sg(&[Str], None), ext),
    Func::call("isAbs", sg(&[Str], None), is_abs),
    Func::call("osIsAbs", sg(&[Str], None), is_abs),
    Func::call("fail", sg(&[Str], None), fail),
];

fn hello(ex: &mut dyn Runtime, _name: &str, _a: Vec<Value>) -> FR {
    mk_bytes(ex, b"Hello!")
}

fn base(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let r = path_base(s_arg(&a, 0)?);
    mk_bytes(ex, &r)
}

fn dir(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let r = path_dir(s_arg(&a, 0)?);
    mk_bytes(ex, &r)
}

fn clean(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let r = path_clean(s_arg(&a, 0)?);
    mk_bytes(ex, &r)
}

fn ext(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let r = path_ext(s_arg(&a, 0)?);
    mk_bytes(ex, &r)
}

fn is_abs(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Bool(s_arg(&a, 0)?.first() == Some(&b'/')))
}

fn fail(_ex: &mut dyn Runtime, _name: &str, _a: Vec<Value>) -> FR {
    Err(ErrKind::Fail)
}

/// Go `path.Clean`.
pub(super) fn path_clean(p: &[u8]) -> Vec<u8> {
    if p.is_empty() {
        return b".".to_vec();
    }
    let rooted = p.first() == Some(&b'/');
    let n = p.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0usize, 0usize);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    while r < n {
        let c = p.get(r).copied().unwrap_or(0);
        let next = p.get(r + 1).copied();
        if c == b'/' || (c == b'.' && (r + 1 == n || next == Some(b'/'))) {
            r += 1;
        } else if c == b'.' && next == Some(b'.') && (r + 2 == n || p.get(r + 2) == Some(&b'/')) {
            r += 2;
            if out.len() > dotdot {
                let mut w = out.len() - 1;
                while w > dotdot && out.get(w) != Some(&b'/') {
                    w -= 1;
                }
                out.truncate(w);
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && p.get(r) != Some(&b'/') {
                out.push(p.get(r).copied().unwrap_or(0));
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return b".".to_vec();
    }
    out
}

pub(super) fn path_base(p: &[u8]) -> Vec<u8> {
    if p.is_empty() {
        return b".".to_vec();
    }
    let mut p = p;
    while !p.is_empty() && p.last() == Some(&b'/') {
        p = p.get(..p.len() - 1).unwrap_or(&[]);
    }
    if let Some(i) = p.iter().rposition(|b| *b == b'/') {
        p = p.get(i + 1..).unwrap_or(&[]);
    }
    if p.is_empty() {
        return b"/".to_vec();
    }
    p.to_vec()
}

pub(super) fn path_dir(p: &[u8]) -> Vec<u8> {
    let i = p.iter().rposition(|b| *b == b'/').map_or(0, |i| i + 1);
    path_clean(p.get(..i).unwrap_or(&[]))
}

pub(super) fn path_ext(p: &[u8]) -> Vec<u8> {
    let mut i = p.len();
    while i > 0 {
        match p.get(i - 1) {
            Some(b'/') => break,
            Some(b'.') => return p.get(i - 1..).unwrap_or(&[]).to_vec(),
            _ => {}
        }
        i -= 1;
    }
    Vec::new()
}
