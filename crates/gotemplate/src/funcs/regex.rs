//! Sprig `regex.go`: regular expressions (Go RE2 syntax).

use super::PT::{Int, Str};
#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("regexMatch", sg(&[Str, Str], None), regex_match),
    Func::call("mustRegexMatch", sg(&[Str, Str], None), regex_match),
    Func::call("regexFind", sg(&[Str, Str], None), regex_find),
    Func::call("mustRegexFind", sg(&[Str, Str], None), regex_find),
    Func::call("regexFindAll", sg(&[Str, Str, Int], None), f_regex_find_all),
    Func::call(
        "mustRegexFindAll",
        sg(&[Str, Str, Int], None),
        f_regex_find_all,
    ),
    Func::call("regexSplit", sg(&[Str, Str, Int], None), regex_split),
    Func::call("mustRegexSplit", sg(&[Str, Str, Int], None), regex_split),
    Func::call(
        "regexReplaceAll",
        sg(&[Str, Str, Str], None),
        regex_replace_all,
    ),
    Func::call(
        "mustRegexReplaceAll",
        sg(&[Str, Str, Str], None),
        regex_replace_all,
    ),
    Func::call(
        "regexReplaceAllLiteral",
        sg(&[Str, Str, Str], None),
        regex_replace_all,
    ),
    Func::call(
        "mustRegexReplaceAllLiteral",
        sg(&[Str, Str, Str], None),
        regex_replace_all,
    ),
    Func::call("regexQuoteMeta", sg(&[Str], None), regex_quote_meta),
];

fn regex_match(_ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let re = go_regex(s_arg(&a, 0)?);
    match re {
        Ok(re) => Ok(Value::Bool(re.is_match(s_arg(&a, 1)?))),
        Err(err) if name == "mustRegexMatch" => Err(err),
        Err(_) => Ok(Value::Bool(false)),
    }
}

fn regex_find(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let re = go_regex(s_arg(&a, 0)?)?;
    let s = s_arg(&a, 1)?;
    mk_bytes(ex, re.find(s).map_or(&[][..], |m| m.as_bytes()))
}

fn f_regex_find_all(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let re = go_regex(s_arg(&a, 0)?)?;
    let s = s_arg(&a, 1)?;
    let n = i_arg(&a, 2)?;
    let parts = regex_find_all(&re, s, n)
        .into_iter()
        .map(|(x, y)| s.get(x..y).unwrap_or(&[]).to_vec())
        .collect();
    str_list(ex, parts)
}

fn regex_split(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let re = go_regex(s_arg(&a, 0)?)?;
    let s = s_arg(&a, 1)?;
    let n = i_arg(&a, 2)?;
    if n == 0 {
        return Ok(Value::list(ElemTy::Str, Vec::new()));
    }
    if !s_arg(&a, 0)?.is_empty() && s.is_empty() {
        return str_list(ex, vec![Vec::new()]);
    }
    let matches = regex_find_all(&re, s, n);
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for (x, y) in matches {
        if n > 0 && parts.len() as i64 == n - 1 {
            break;
        }
        end = x;
        if y != 0 {
            parts.push(s.get(beg..end).unwrap_or(&[]).to_vec());
        }
        beg = y;
    }
    if end != s.len() {
        parts.push(s.get(beg..).unwrap_or(&[]).to_vec());
    }
    str_list(ex, parts)
}

fn regex_replace_all(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let re = go_regex(s_arg(&a, 0)?)?;
    let s = s_arg(&a, 1)?;
    let rep = s_arg(&a, 2)?;
    let est = s
        .len()
        .saturating_add(rep.len().saturating_mul(s.len().saturating_add(1)));
    if est > ex_cap(ex) {
        return Err(ErrKind::Limit(Limit::Memory));
    }
    ex.alloc(est)?;
    let r = if name.contains("Literal") {
        re.replace_all(s, ::regex::bytes::NoExpand(rep))
            .into_owned()
    } else {
        re.replace_all(s, rep).into_owned()
    };
    let v = Value::str(&r);
    drop(SecretBytes::new(r));
    Ok(v)
}

fn regex_quote_meta(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let s = s_arg(&a, 0)?;
    let mut out = SecretBytes::with_capacity(s.len() * 2);
    for &b in s {
        if b"\\.+*?()|[]{}^$".contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
    mk_str(ex, out)
}

/// Translates Go RE2 syntax into the `regex` crate's, keeping Go's ASCII
/// semantics of `\d`, `\w`, `\s` and `\b`.
pub(super) fn go_regex(pat: &[u8]) -> Result<::regex::bytes::Regex, ErrKind> {
    let bad = || e("error parsing regexp");
    let pat = std::str::from_utf8(pat).map_err(|_| bad())?;
    let mut out = String::with_capacity(pat.len() + 16);
    let mut chars = pat.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        if c == '\\' {
            let Some(n) = chars.next() else {
                return Err(bad());
            };
            if n == 'Q' {
                let mut lit = String::new();
                loop {
                    match chars.next() {
                        None => break,
                        Some('\\') if chars.peek() == Some(&'E') => {
                            chars.next();
                            break;
                        }
                        Some(x) => lit.push(x),
                    }
                }
                out.push_str(&::regex::escape(&lit));
                class_start = false;
                continue;
            }
            let rep = if in_class {
                match n {
                    'd' => Some("0-9"),
                    'w' => Some("0-9A-Za-z_"),
                    's' => Some("\\t\\n\\f\\r "),
                    _ => None,
                }
            } else {
                match n {
                    'd' => Some("[0-9]"),
                    'D' => Some("[^0-9]"),
                    'w' => Some("[0-9A-Za-z_]"),
                    'W' => Some("[^0-9A-Za-z_]"),
                    's' => Some("[\\t\\n\\f\\r ]"),
                    'S' => Some("[^\\t\\n\\f\\r ]"),
                    'b' => Some("(?-u:\\b)"),
                    'B' => Some("(?-u:\\B)"),
                    _ => None,
                }
            };
            match rep {
                Some(r) => out.push_str(r),
                None => {
                    out.push('\\');
                    out.push(n);
                }
            }
            class_start = false;
            continue;
        }
        if in_class {
            if c == ']' && !class_start {
                in_class = false;
            }
            if c == '[' && chars.peek() == Some(&':') {
                // POSIX class like [:alpha:]
                out.push(c);
                for x in chars.by_ref() {
                    out.push(x);
                    if x == ']' {
                        break;
                    }
                }
                class_start = false;
                continue;
            }
            class_start = class_start && c == '^';
            out.push(c);
            continue;
        }
        if c == '[' {
            in_class = true;
            class_start = true;
            out.push(c);
            if chars.peek() == Some(&'^') {
                chars.next();
                out.push('^');
            }
            continue;
        }
        out.push(c);
    }
    ::regex::bytes::RegexBuilder::new(&out)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .nest_limit(100)
        .build()
        .map_err(|_| bad())
}

pub(super) fn regex_find_all(re: &::regex::bytes::Regex, s: &[u8], n: i64) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    if n == 0 {
        return v;
    }
    for m in re.find_iter(s) {
        if n > 0 && v.len() as i64 >= n {
            break;
        }
        v.push((m.start(), m.end()));
    }
    v
}
