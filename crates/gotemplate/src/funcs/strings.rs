//! Sprig `strings.go`: string manipulation, case conversion, splitting and joining.

use super::PT::{Any, Int, Str};
#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("abbrev", sg(&[Int, Str], None), abbrev),
    Func::call("abbrevboth", sg(&[Int, Int, Str], None), abbrevboth),
    Func::call("trunc", sg(&[Int, Str], None), f_trunc),
    Func::call("trim", sg(&[Str], None), trim),
    Func::call("upper", sg(&[Str], None), upper),
    Func::call("lower", sg(&[Str], None), lower),
    Func::call("title", sg(&[Str], None), title),
    Func::call("untitle", sg(&[Str], None), f_untitle),
    Func::call("substr", sg(&[Int, Int, Str], None), f_substr),
    Func::call("repeat", sg(&[Int, Str], None), repeat),
    Func::call("trimall", sg(&[Str, Str], None), trimall),
    Func::call("trimAll", sg(&[Str, Str], None), trimall),
    Func::call("trimSuffix", sg(&[Str, Str], None), trim_suffix),
    Func::call("trimPrefix", sg(&[Str, Str], None), trim_prefix),
    Func::call("nospace", sg(&[Str], None), f_nospace),
    Func::call("initials", sg(&[Str], None), f_initials),
    Func::call("swapcase", sg(&[Str], None), f_swapcase),
    Func::call("snakecase", sg(&[Str], None), snakecase),
    Func::call("kebabcase", sg(&[Str], None), kebabcase),
    Func::call("camelcase", sg(&[Str], None), camelcase),
    Func::call("wrap", sg(&[Int, Str], None), wrap),
    Func::call("wrapWith", sg(&[Int, Str, Str], None), wrap_with),
    Func::call("contains", sg(&[Str, Str], None), contains),
    Func::call("hasPrefix", sg(&[Str, Str], None), has_prefix),
    Func::call("hasSuffix", sg(&[Str, Str], None), has_suffix),
    Func::call("quote", sg(&[], Some(Any)), quote),
    Func::call("squote", sg(&[], Some(Any)), quote),
    Func::call("cat", sg(&[], Some(Any)), cat),
    Func::call("indent", sg(&[Int, Str], None), f_indent),
    Func::call("nindent", sg(&[Int, Str], None), f_indent),
    Func::call("replace", sg(&[Str, Str, Str], None), replace),
    Func::call("plural", sg(&[Str, Str, Int], None), plural),
    Func::call("toString", sg(&[Any], None), to_string),
    Func::call("seq", sg(&[], Some(Int)), seq),
    Func::call("split", sg(&[Str, Str], None), split),
    Func::call("splitn", sg(&[Str, Int, Str], None), split),
    Func::call("splitList", sg(&[Str, Str], None), split_list),
    Func::call("toStrings", sg(&[Any], None), to_strings),
    Func::call("join", sg(&[Str, Any], None), join),
    Func::call("sortAlpha", sg(&[Any], None), sort_alpha),
];

fn abbrev(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let w = i_arg(&a, 0)?;
    let s = s_arg(&a, 1)?;
    let r = if w < 4 {
        s.to_vec()
    } else {
        abbreviate_full(s, 0, w)
    };
    let v = mk_bytes(ex, &r);
    drop(SecretBytes::new(r));
    v
}

fn abbrevboth(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let (l, r) = (i_arg(&a, 0)?, i_arg(&a, 1)?);
    let s = s_arg(&a, 2)?;
    let out = if r < 4 || (l > 0 && r < 7) {
        s.to_vec()
    } else {
        abbreviate_full(s, l, r)
    };
    let v = mk_bytes(ex, &out);
    drop(SecretBytes::new(out));
    v
}

fn f_trunc(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let c = i_arg(&a, 0)?;
    let s = s_arg(&a, 1)?;
    mk_bytes(ex, trunc(s, c))
}

fn trim(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    mk_bytes(ex, trim_space(s_arg(&a, 0)?))
}

fn upper(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let o = go_upper(s_arg(&a, 0)?);
    mk_str(ex, o)
}

fn lower(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let o = go_lower(s_arg(&a, 0)?);
    mk_str(ex, o)
}

fn title(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let o = go_title(s_arg(&a, 0)?);
    mk_str(ex, o)
}

fn f_untitle(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let o = untitle(s_arg(&a, 0)?);
    mk_str(ex, o)
}

fn f_substr(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let (st, en) = (i_arg(&a, 0)?, i_arg(&a, 1)?);
    let s = s_arg(&a, 2)?;
    mk_bytes(ex, substr(s, st, en)?)
}

fn repeat(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let n = i_arg(&a, 0)?;
    let s = s_arg(&a, 1)?;
    let need = usize::try_from(n.max(0))
        .ok()
        .and_then(|n| n.checked_mul(s.len()))
        .ok_or(ErrKind::Limit(Limit::Memory))?;
    ex.alloc(need)?;
    let o = go_repeat(s, n, ex_cap(ex))?;
    Ok(Value::string(o))
}

fn trimall(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let o = trim_cutset(s_arg(&a, 1)?, s_arg(&a, 0)?);
    mk_str(ex, o)
}

fn trim_suffix(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let (suf, s) = (s_arg(&a, 0)?, s_arg(&a, 1)?);
    mk_bytes(ex, s.strip_suffix(suf).unwrap_or(s))
}

fn trim_prefix(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let (pre, s) = (s_arg(&a, 0)?, s_arg(&a, 1)?);
    mk_bytes(ex, s.strip_prefix(pre).unwrap_or(s))
}

fn f_nospace(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let o = nospace(s_arg(&a, 0)?);
    mk_str(ex, o)
}

fn f_initials(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let o = initials(s_arg(&a, 0)?);
    mk_str(ex, o)
}

fn f_swapcase(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let o = swapcase(s_arg(&a, 0)?);
    mk_str(ex, o)
}

fn snakecase(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let o = camel_to_lower(s_arg(&a, 0)?, '_');
    mk_str(ex, o)
}

fn kebabcase(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let o = camel_to_lower(s_arg(&a, 0)?, '-');
    mk_str(ex, o)
}

fn camelcase(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let o = pascal_case(s_arg(&a, 0)?);
    mk_str(ex, o)
}

fn wrap(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let o = wrap_custom(s_arg(&a, 1)?, i_arg(&a, 0)?, b"", false, ex_cap(ex))?;
    mk_str(ex, o)
}

fn wrap_with(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let o = wrap_custom(
        s_arg(&a, 2)?,
        i_arg(&a, 0)?,
        s_arg(&a, 1)?,
        true,
        ex_cap(ex),
    )?;
    mk_str(ex, o)
}

fn contains(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let haystack = s_arg(&a, 1)?;
    ex.charge_scan(haystack.len())?;
    Ok(Value::Bool(find_sub(haystack, s_arg(&a, 0)?).is_some()))
}

fn has_prefix(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Bool(s_arg(&a, 1)?.starts_with(s_arg(&a, 0)?)))
}

fn has_suffix(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Bool(s_arg(&a, 1)?.ends_with(s_arg(&a, 0)?)))
}

fn quote(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let mut out = SecretBytes::default();
    let mut first = true;
    for v in &a {
        if v.is_nil() {
            continue;
        }
        if !first {
            out.push(b' ');
        }
        first = false;
        let mut s = SecretBytes::default();
        strval(ex, v, &mut s)?;
        if name == "quote" {
            format::quote_into(&mut out, s.as_bytes(), false);
        } else {
            out.push(b'\'');
            out.extend(s.as_bytes());
            out.push(b'\'');
        }
    }
    mk_str(ex, out)
}

fn cat(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let vals: Vec<Value> = a.into_iter().filter(|v| !v.is_nil()).collect();
    let mut out = SecretBytes::default();
    for (i, v) in vals.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        format::print_value(&mut out, v, ex_cap(ex))?;
    }
    mk_str(ex, out)
}

fn f_indent(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let n = i_arg(&a, 0)?;
    let o = indent(s_arg(&a, 1)?, n, name == "nindent", ex_cap(ex))?;
    mk_str(ex, o)
}

fn replace(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    ex.charge_scan(s_arg(&a, 2)?.len())?;
    let o = go_replace(s_arg(&a, 2)?, s_arg(&a, 0)?, s_arg(&a, 1)?, ex_cap(ex))?;
    mk_str(ex, o)
}

fn plural(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let c = i_arg(&a, 2)?;
    let s = if c == 1 { s_arg(&a, 0)? } else { s_arg(&a, 1)? }.to_vec();
    let v = mk_bytes(ex, &s);
    drop(SecretBytes::new(s));
    v
}

fn to_string(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let mut out = SecretBytes::default();
    strval(ex, arg(&a, 0)?, &mut out)?;
    mk_str(ex, out)
}

fn seq(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let p: Vec<i64> = a
        .iter()
        .filter_map(|v| {
            if let Value::Int(i, _) = v {
                Some(*i)
            } else {
                None
            }
        })
        .collect();
    let nums = match p.as_slice() {
        [] => Vec::new(),
        [end] => {
            let start = 1;
            let inc = if *end < start { -1 } else { 1 };
            until_step(ex, start, end.wrapping_add(inc), inc)?
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            until_step(ex, *start, end.wrapping_add(step), step)?
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if *step > 0 {
                    return mk_bytes(ex, b"");
                }
            }
            until_step(ex, *start, end.wrapping_add(inc), *step)?
        }
        _ => Vec::new(),
    };
    let mut out = SecretBytes::default();
    for (i, n) in nums.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.push_str(&n.to_string());
    }
    mk_str(ex, out)
}

fn split(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let (sep, n, s) = if name == "split" {
        (s_arg(&a, 0)?, -1, s_arg(&a, 1)?)
    } else {
        (s_arg(&a, 0)?, i_arg(&a, 1)?, s_arg(&a, 2)?)
    };
    ex.alloc(s.len())?;
    let parts = go_split(s, sep, n);
    let mut m = BTreeMap::new();
    for (i, p) in parts.into_iter().enumerate() {
        m.insert(
            SecretBytes::new(format!("_{i}").into_bytes()),
            Value::string(SecretBytes::new(p)),
        );
    }
    ex.new_map(ElemTy::Str, m)
}

fn split_list(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    ex.charge_scan(s_arg(&a, 1)?.len())?;
    let parts = go_split(s_arg(&a, 1)?, s_arg(&a, 0)?, -1);
    str_list(ex, parts)
}

fn to_strings(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let v = arg(&a, 0)?.clone();
    if let Value::List(l) = &v
        && l.elem == ElemTy::Str
    {
        return Ok(v);
    }
    let parts = strslice(ex, &v)?;
    str_list(ex, parts)
}

fn join(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let sep = s_arg(&a, 0)?.to_vec();
    let parts = strslice(ex, arg(&a, 1)?)?;
    let mut out = SecretBytes::default();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.extend(&sep);
        }
        out.extend(p);
    }
    for mut p in parts {
        zeroize::Zeroize::zeroize(&mut p);
    }
    mk_str(ex, out)
}

fn sort_alpha(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let v = arg(&a, 0)?;
    let mut parts = if matches!(v, Value::List(_)) {
        strslice(ex, v)?
    } else {
        let mut b = SecretBytes::default();
        strval(ex, &v.clone().into_iface(), &mut b)?;
        vec![b.into_vec()]
    };
    parts.sort();
    str_list(ex, parts)
}

/// strings.Map(f, s) semantics: runes mapped, invalid bytes become U+FFFD.
pub(super) fn map_runes(s: &[u8], f: impl Fn(char) -> char) -> SecretBytes {
    let mut out = SecretBytes::with_capacity(s.len());
    for (c, _, _) in runes(s) {
        out.push_char(f(c));
    }
    out
}

pub(super) fn go_upper(s: &[u8]) -> SecretBytes {
    if s.is_ascii() {
        let mut out = SecretBytes::with_capacity(s.len());
        for b in s {
            out.push(b.to_ascii_uppercase());
        }
        return out;
    }
    map_runes(s, to_upper)
}

pub(super) fn go_lower(s: &[u8]) -> SecretBytes {
    if s.is_ascii() {
        let mut out = SecretBytes::with_capacity(s.len());
        for b in s {
            out.push(b.to_ascii_lowercase());
        }
        return out;
    }
    map_runes(s, to_lower)
}

pub(super) fn is_separator(r: char) -> bool {
    if r.is_ascii() {
        return !(r.is_ascii_alphanumeric() || r == '_');
    }
    if crate::value::is_letter(r) || crate::value::is_digit(r) {
        return false;
    }
    is_space(r)
}

pub(super) fn go_title(s: &[u8]) -> SecretBytes {
    let mut prev = ' ';
    let mut out = SecretBytes::with_capacity(s.len());
    for (r, _, _) in runes(s) {
        if is_separator(prev) {
            out.push_char(to_title(r));
        } else {
            out.push_char(r);
        }
        prev = r;
    }
    out
}

/// strings.TrimSpace.
pub(super) fn trim_space(s: &[u8]) -> &[u8] {
    let mut start = 0;
    for (c, st, _) in runes(s) {
        if !is_space(c) {
            start = st;
            break;
        }
        start = s.len();
    }
    let s2 = s.get(start..).unwrap_or(&[]);
    let mut end = s2.len();
    // scan backwards rune by rune
    loop {
        if end == 0 {
            break;
        }
        let mut b = end - 1;
        while b > 0 && s2.get(b).is_some_and(|x| x & 0xC0 == 0x80) && end - b < 4 {
            b -= 1;
        }
        let (c, n) = decode_rune(s2.get(b..end).unwrap_or(&[]));
        let (c, n) = if b + n != end {
            // invalid sequence: treat last byte alone
            (decode_rune(s2.get(end - 1..end).unwrap_or(&[])).0, 1)
        } else {
            (c, n)
        };
        if !is_space(c) {
            break;
        }
        end -= n;
    }
    s2.get(..end).unwrap_or(&[])
}

/// strings.Trim(s, cutset).
pub(super) fn trim_cutset(s: &[u8], cutset: &[u8]) -> SecretBytes {
    let set: Vec<char> = runes(cutset).map(|(c, _, _)| c).collect();
    let toks: Vec<(char, usize, usize)> = runes(s).collect();
    let mut lo = 0;
    while lo < toks.len() && toks.get(lo).is_some_and(|t| set.contains(&t.0)) {
        lo += 1;
    }
    let mut hi = toks.len();
    while hi > lo && toks.get(hi - 1).is_some_and(|t| set.contains(&t.0)) {
        hi -= 1;
    }
    let mut out = SecretBytes::default();
    if lo < hi {
        let a = toks.get(lo).map_or(0, |t| t.1);
        let b = toks.get(hi - 1).map_or(0, |t| t.1 + t.2);
        out.extend(s.get(a..b).unwrap_or(&[]));
    }
    out
}

/// `strings.Index`, in linear time.
pub(super) fn find_sub(h: &[u8], n: &[u8]) -> Option<usize> {
    memchr::memmem::find(h, n)
}

/// strings.Split / SplitN (n < 0 means all).
pub(super) fn go_split(s: &[u8], sep: &[u8], n: i64) -> Vec<Vec<u8>> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        // explode into UTF-8 sequences
        let mut out = Vec::new();
        let mut rest_start = 0;
        for (_, st, len) in runes(s) {
            if n > 0 && out.len() as i64 == n - 1 {
                break;
            }
            out.push(s.get(st..st + len).unwrap_or(&[]).to_vec());
            rest_start = st + len;
        }
        if rest_start < s.len() {
            out.push(s.get(rest_start..).unwrap_or(&[]).to_vec());
        }
        return out;
    }
    let mut out = Vec::new();
    let mut rest = s;
    while n < 0 || (out.len() as i64) < n - 1 {
        match find_sub(rest, sep) {
            Some(i) => {
                out.push(rest.get(..i).unwrap_or(&[]).to_vec());
                rest = rest.get(i + sep.len()..).unwrap_or(&[]);
            }
            None => break,
        }
    }
    out.push(rest.to_vec());
    out
}

/// strings.Replace(s, old, new, -1), refused as soon as the result would exceed `cap` bytes.
pub(super) fn go_replace(
    s: &[u8],
    old: &[u8],
    new: &[u8],
    cap: usize,
) -> Result<SecretBytes, ErrKind> {
    let mut out = SecretBytes::default();
    if old.is_empty() {
        let count = runes(s).count() + 1;
        let need = s.len().saturating_add(count.saturating_mul(new.len()));
        if need > cap {
            return Err(ErrKind::Limit(Limit::Memory));
        }
        out.extend(new);
        for (_, st, n) in runes(s) {
            out.extend(s.get(st..st + n).unwrap_or(&[]));
            out.extend(new);
        }
        return Ok(out);
    }
    let mut rest = s;
    while let Some(i) = find_sub(rest, old) {
        out.extend(rest.get(..i).unwrap_or(&[]));
        out.extend(new);
        if out.len() > cap {
            return Err(ErrKind::Limit(Limit::Memory));
        }
        rest = rest.get(i + old.len()..).unwrap_or(&[]);
    }
    out.extend(rest);
    Ok(out)
}

pub(super) fn go_repeat(s: &[u8], count: i64, cap: usize) -> Result<SecretBytes, ErrKind> {
    if count < 0 {
        return Err(e("strings: negative Repeat count"));
    }
    if s.is_empty() {
        return Ok(SecretBytes::default());
    }
    let total = usize::try_from(count)
        .ok()
        .and_then(|c| c.checked_mul(s.len()))
        .ok_or(ErrKind::Limit(Limit::Memory))?;
    if total > cap {
        return Err(ErrKind::Limit(Limit::Memory));
    }
    // `repeat` allocates once and copies by doubling.
    Ok(SecretBytes::new(s.repeat(total / s.len())))
}

pub(super) fn indent(s: &[u8], n: i64, lead_nl: bool, cap: usize) -> Result<SecretBytes, ErrKind> {
    let pad = go_repeat(b" ", n, cap)?;
    let lines = s.iter().filter(|b| **b == b'\n').count() + 1;
    let need = lines.saturating_mul(pad.len()).saturating_add(s.len());
    if need > cap {
        return Err(ErrKind::Limit(Limit::Memory));
    }
    let mut out = SecretBytes::with_capacity(need + 1);
    if lead_nl {
        out.push(b'\n');
    }
    out.extend(pad.as_bytes());
    for &b in s {
        out.push(b);
        if b == b'\n' {
            out.extend(pad.as_bytes());
        }
    }
    Ok(out)
}

pub(super) fn substr(s: &[u8], start: i64, end: i64) -> Result<&[u8], ErrKind> {
    let oob = || e("runtime error: slice bounds out of range");
    let len = s.len() as i64;
    if start < 0 {
        if end < 0 || end > len {
            return Err(oob());
        }
        return Ok(s.get(..end as usize).unwrap_or(&[]));
    }
    if end < 0 || end > len {
        if start > len {
            return Err(oob());
        }
        return Ok(s.get(start as usize..).unwrap_or(&[]));
    }
    if start > end {
        return Err(oob());
    }
    s.get(start as usize..end as usize).ok_or_else(oob)
}

pub(super) fn trunc(s: &[u8], c: i64) -> &[u8] {
    let len = s.len() as i64;
    if c < 0 && len + c > 0 {
        return s.get((len + c) as usize..).unwrap_or(s);
    }
    if c >= 0 && len > c {
        return s.get(..c as usize).unwrap_or(s);
    }
    s
}

pub(super) fn abbreviate_full(s: &[u8], offset: i64, max_width: i64) -> Vec<u8> {
    if s.is_empty() || max_width < 4 {
        return Vec::new();
    }
    let len = s.len() as i64;
    if len <= max_width {
        return s.to_vec();
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    if offset <= 4 {
        let mut v = s.get(..(max_width - 3) as usize).unwrap_or(&[]).to_vec();
        v.extend_from_slice(b"...");
        return v;
    }
    if max_width < 7 {
        return Vec::new();
    }
    if offset + max_width - 3 < len {
        let inner = abbreviate_full(s.get(offset as usize..).unwrap_or(&[]), 0, max_width - 3);
        let mut v = b"...".to_vec();
        v.extend_from_slice(&inner);
        return v;
    }
    let mut v = b"...".to_vec();
    v.extend_from_slice(s.get((len - (max_width - 3)) as usize..).unwrap_or(&[]));
    v
}

pub(super) fn latin1_push(out: &mut SecretBytes, b: u8) {
    out.push_char(char::from(b));
}

pub(super) fn initials(s: &[u8]) -> SecretBytes {
    let mut out = SecretBytes::default();
    let mut gap = true;
    for &b in s {
        let ch = char::from(b);
        if is_space(ch) {
            gap = true;
        } else if gap {
            latin1_push(&mut out, b);
            gap = false;
        }
    }
    out
}

pub(super) fn nospace(s: &[u8]) -> SecretBytes {
    let mut out = SecretBytes::default();
    let mut count = 0;
    for &b in s {
        if !is_space(char::from(b)) {
            latin1_push(&mut out, b);
            count += 1;
        }
    }
    if count == s.len() {
        let mut o = SecretBytes::default();
        o.extend(s);
        return o;
    }
    out
}

pub(super) fn swapcase(s: &[u8]) -> SecretBytes {
    let mut out = SecretBytes::default();
    let mut ws = true;
    for (c, _, _) in runes(s) {
        // goutils.SwapCase: upper and title case go lower; lower goes to title case after
        // white space, upper case elsewhere.
        let r = if is_upper(c) || is_title(c) {
            ws = false;
            to_lower(c)
        } else if is_lower(c) {
            let r = if ws { to_title(c) } else { to_upper(c) };
            ws = false;
            r
        } else {
            ws = is_space(c);
            c
        };
        out.push_char(r);
    }
    out
}

pub(super) fn untitle(s: &[u8]) -> SecretBytes {
    let mut out = SecretBytes::default();
    let mut next = true;
    for (c, _, _) in runes(s) {
        if is_space(c) {
            next = true;
            out.push_char(c);
        } else if next {
            out.push_char(to_lower(c));
            next = false;
        } else {
            out.push_char(c);
        }
    }
    out
}

pub(super) fn wrap_custom(
    s: &[u8],
    wrap_len: i64,
    nl: &[u8],
    long_words: bool,
    cap: usize,
) -> Result<SecretBytes, ErrKind> {
    let mut out = SecretBytes::default();
    if s.is_empty() {
        return Ok(out);
    }
    let nl: &[u8] = if nl.is_empty() { b"\n" } else { nl };
    let wl = usize::try_from(wrap_len.max(1)).unwrap_or(usize::MAX);
    let len = s.len();
    let mut offset = 0usize;
    while len - offset > wl {
        if out.len() > cap {
            return Err(ErrKind::Limit(Limit::Memory));
        }
        if s.get(offset) == Some(&b' ') {
            offset += 1;
            continue;
        }
        let end = wl + offset + 1;
        let seg = s.get(offset..end).unwrap_or(&[]);
        let space = seg.iter().rposition(|b| *b == b' ');
        if let Some(sp) = space {
            let at = sp + offset;
            out.extend(s.get(offset..at).unwrap_or(&[]));
            out.extend(nl);
            offset = at + 1;
        } else if long_words {
            let end = wl + offset;
            out.extend(s.get(offset..end).unwrap_or(&[]));
            out.extend(nl);
            offset += wl;
        } else {
            let end = wl + offset;
            match s.get(end..).and_then(|r| r.iter().position(|b| *b == b' ')) {
                None => {
                    out.extend(s.get(offset..).unwrap_or(&[]));
                    offset = len;
                }
                Some(idx) => {
                    let at = idx + end;
                    out.extend(s.get(offset..at).unwrap_or(&[]));
                    out.extend(nl);
                    offset = at + 1;
                }
            }
        }
    }
    out.extend(s.get(offset..).unwrap_or(&[]));
    Ok(out)
}

pub(super) fn is_connector(r: char) -> bool {
    r == '-' || r == '_' || is_space(r)
}

/// xstrings.ToPascalCase (sprig's `camelcase`).
pub(super) fn pascal_case(s: &[u8]) -> SecretBytes {
    let mut out = SecretBytes::default();
    if s.is_empty() {
        return out;
    }
    let toks: Vec<char> = runes(s).map(|(c, _, _)| c).collect();
    let mut i = 0;
    let mut r0 = '\0';
    let mut found = false;
    while let Some(&c) = toks.get(i) {
        i += 1;
        if !is_connector(c) {
            r0 = to_upper(c);
            found = true;
            break;
        }
        out.push_char(c);
    }
    if i >= toks.len() {
        if found {
            out.push_char(r0);
        }
        return out;
    }
    while let Some(&c) = toks.get(i) {
        i += 1;
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push_char(r1);
            continue;
        }
        if is_connector(r1) {
            r0 = to_upper(r0);
        } else {
            out.push_char(r1);
        }
    }
    out.push_char(r0);
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum WT {
    Invalid,
    Number,
    Upper,
    Alpha,
    Connector,
    Punct,
    Other,
}

pub(super) fn is_alphabet(r: char) -> bool {
    r.is_ascii_alphabetic()
}

pub(super) fn next_valid_rune(s: &[u8], prev: char) -> (char, usize) {
    let mut size = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let (r, sz) = decode_rune(rest);
        size += sz;
        if !(r == '\u{FFFD}' && sz == 1) {
            return (r, size);
        }
        rest = rest.get(sz..).unwrap_or(&[]);
    }
    (prev, size)
}

/// xstrings nextWord.
pub(super) fn next_word(s: &[u8]) -> (WT, &[u8], &[u8]) {
    if s.is_empty() {
        return (WT::Invalid, &[], &[]);
    }
    let (mut r, mut size) = next_valid_rune(s, '\u{FFFD}');
    let mut offset = size;
    let mut remaining = s;
    if r == '\u{FFFD}'
        && s.get(..offset)
            .is_some_and(|w| decode_rune(w).1 == 1 && w != "\u{FFFD}".as_bytes())
    {
        return (
            WT::Invalid,
            s.get(..offset).unwrap_or(&[]),
            s.get(offset..).unwrap_or(&[]),
        );
    }
    fn adv(rem: &[u8], n: usize) -> &[u8] {
        rem.get(n..).unwrap_or(&[])
    }
    let wt;
    if is_connector(r) {
        wt = WT::Connector;
        remaining = adv(remaining, size);
        while !remaining.is_empty() {
            (r, size) = next_valid_rune(remaining, r);
            if !is_connector(r) {
                break;
            }
            offset += size;
            remaining = adv(remaining, size);
        }
    } else if is_punct(r) {
        wt = WT::Punct;
        remaining = adv(remaining, size);
        while !remaining.is_empty() {
            (r, size) = next_valid_rune(remaining, r);
            if !is_punct(r) {
                break;
            }
            offset += size;
            remaining = adv(remaining, size);
        }
    } else if is_upper(r) {
        wt = WT::Upper;
        remaining = adv(remaining, size);
        if !remaining.is_empty() {
            (r, size) = next_valid_rune(remaining, r);
            if is_upper(r) {
                let mut prev_size = size;
                offset += size;
                remaining = adv(remaining, size);
                while !remaining.is_empty() {
                    (r, size) = next_valid_rune(remaining, r);
                    if !is_upper(r) {
                        break;
                    }
                    prev_size = size;
                    offset += size;
                    remaining = adv(remaining, size);
                }
                if !remaining.is_empty() && is_alphabet(r) {
                    offset -= prev_size;
                    remaining = s.get(offset..).unwrap_or(&[]);
                }
            } else if is_alphabet(r) {
                offset += size;
                remaining = adv(remaining, size);
                while !remaining.is_empty() {
                    (r, size) = next_valid_rune(remaining, r);
                    if !is_alphabet(r) || is_upper(r) {
                        break;
                    }
                    offset += size;
                    remaining = adv(remaining, size);
                }
            }
        }
    } else if is_alphabet(r) {
        wt = WT::Alpha;
        remaining = adv(remaining, size);
        while !remaining.is_empty() {
            (r, size) = next_valid_rune(remaining, r);
            if !is_alphabet(r) || is_upper(r) {
                break;
            }
            offset += size;
            remaining = adv(remaining, size);
        }
    } else if crate::value::is_digit(r) {
        wt = WT::Number;
        remaining = adv(remaining, size);
        while !remaining.is_empty() {
            (r, size) = next_valid_rune(remaining, r);
            if !crate::value::is_digit(r) {
                break;
            }
            offset += size;
            remaining = adv(remaining, size);
        }
    } else {
        wt = WT::Other;
        remaining = adv(remaining, size);
        while !remaining.is_empty() {
            (r, size) = next_valid_rune(remaining, r);
            if size == 0
                || is_connector(r)
                || is_alphabet(r)
                || crate::value::is_digit(r)
                || is_punct(r)
            {
                break;
            }
            offset += size;
            remaining = adv(remaining, size);
        }
    }
    (wt, s.get(..offset).unwrap_or(&[]), remaining)
}

pub(super) fn to_lower_word(out: &mut SecretBytes, wt: WT, s: &[u8], conn: char) {
    if wt != WT::Upper && wt != WT::Connector {
        out.extend(s);
        return;
    }
    for (r, _, _) in runes(s) {
        if is_connector(r) {
            out.push_char(conn);
        } else if is_upper(r) {
            out.push_char(to_lower(r));
        } else {
            out.push_char(r);
        }
    }
}

/// xstrings camelCaseToLowerCase (snakecase / kebabcase).
pub(super) fn camel_to_lower(s: &[u8], conn: char) -> SecretBytes {
    let mut out = SecretBytes::default();
    if s.is_empty() {
        return out;
    }
    let (mut wt, mut word, mut remaining) = next_word(s);
    let mut guard = 0usize;
    while !remaining.is_empty() {
        guard += 1;
        if guard > s.len() * 4 + 16 {
            break;
        }
        if wt != WT::Connector {
            to_lower_word(&mut out, wt, word, conn);
        }
        let prev = wt;
        let last = word;
        (wt, word, remaining) = next_word(remaining);
        match prev {
            WT::Number => {
                while wt == WT::Alpha || wt == WT::Number {
                    to_lower_word(&mut out, wt, word, conn);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != WT::Invalid && wt != WT::Punct && wt != WT::Connector {
                    out.push_char(conn);
                }
            }
            WT::Connector => to_lower_word(&mut out, prev, last, conn),
            WT::Punct => {}
            _ => {
                if wt != WT::Number {
                    if wt != WT::Connector && wt != WT::Punct {
                        out.push_char(conn);
                    }
                    continue;
                }
                if remaining.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, remaining) = next_word(remaining);
                if wt != WT::Alpha {
                    to_lower_word(&mut out, WT::Number, last, conn);
                    if wt != WT::Connector && wt != WT::Punct {
                        out.push_char(conn);
                    }
                    continue;
                }
                out.push_char(conn);
                to_lower_word(&mut out, WT::Number, last, conn);
                while wt == WT::Alpha || wt == WT::Number {
                    to_lower_word(&mut out, wt, word, conn);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != WT::Invalid && wt != WT::Connector && wt != WT::Punct {
                    out.push_char(conn);
                }
            }
        }
    }
    to_lower_word(&mut out, wt, word, conn);
    out
}

pub(super) fn strslice(ex: &dyn Runtime, v: &Value) -> Result<Vec<Vec<u8>>, ErrKind> {
    match v {
        Value::List(l) => {
            let mut out = Vec::with_capacity(l.items.len());
            for x in &l.items {
                if x.is_nil() {
                    continue;
                }
                let mut b = SecretBytes::default();
                strval(ex, x, &mut b)?;
                out.push(b.into_vec());
            }
            Ok(out)
        }
        Value::Nil | Value::Invalid => Ok(Vec::new()),
        other => {
            let mut b = SecretBytes::default();
            strval(ex, other, &mut b)?;
            Ok(vec![b.into_vec()])
        }
    }
}
