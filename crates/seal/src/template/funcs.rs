//! Go template builtins and the Sprig `GenericFuncMap` (minus `env`,
//! `expandenv` and `getHostByName`, which are deliberately undefined).

use std::collections::BTreeMap;
use std::rc::Rc;

use base64::Engine as _;
use sha2::Digest as _;

use super::ErrKind;
use super::exec::Exec;
use super::format;
use super::value::{
    ElemTy, IntTy, ListData, MapRef, SBuf, SecretBytes, Value, decode_rune, is_lower, is_print,
    is_punct, is_space, is_upper, runes, to_lower, to_upper,
};

/// Parameter types, mirroring the Go signatures of the functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PT {
    /// `interface{}`
    Any,
    /// `string`
    Str,
    /// `int`
    Int,
    /// `float64`
    Float,
    /// `bool`
    Bool,
    /// `reflect.Value` (Go builtins)
    Val,
    /// `map[string]interface{}`
    Map,
}

impl PT {
    pub(crate) fn name(self) -> &'static str {
        match self {
            PT::Any => "interface {}",
            PT::Str => "string",
            PT::Int => "int",
            PT::Float => "float64",
            PT::Bool => "bool",
            PT::Val => "reflect.Value",
            PT::Map => "map[string]interface {}",
        }
    }
}

/// A function signature.
pub(crate) struct Sig {
    pub(crate) fixed: &'static [PT],
    pub(crate) variadic: Option<PT>,
}

const fn sg(fixed: &'static [PT], variadic: Option<PT>) -> Sig {
    Sig { fixed, variadic }
}

/// Functions present upstream that this implementation does not provide
/// (random, time, network, crypto or otherwise non-deterministic). They
/// parse, but calling them is an execution error.
const UNSUPPORTED: &[&str] = &[
    "ago",
    "date",
    "date_in_zone",
    "date_modify",
    "dateInZone",
    "dateModify",
    "duration",
    "durationRound",
    "htmlDate",
    "htmlDateInZone",
    "must_date_modify",
    "mustDateModify",
    "mustToDate",
    "now",
    "toDate",
    "unixEpoch",
    "randAlphaNum",
    "randAlpha",
    "randAscii",
    "randNumeric",
    "shuffle",
    "randInt",
    "add1f",
    "addf",
    "subf",
    "divf",
    "mulf",
    "bcrypt",
    "htpasswd",
    "genPrivateKey",
    "derivePassword",
    "buildCustomCert",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "encryptAES",
    "decryptAES",
    "randBytes",
    "uuidv4",
    "semver",
    "semverCompare",
    "urlParse",
    "urlJoin",
];

pub(crate) fn is_unsupported(name: &str) -> bool {
    UNSUPPORTED.contains(&name)
}

/// Whether the parser accepts `name` as a function.
pub(crate) fn is_defined(name: &str) -> bool {
    sig(name).is_some() || is_unsupported(name)
}

pub(crate) fn sig(name: &str) -> Option<Sig> {
    use PT::*;
    Some(match name {
        // Go builtins
        "and" | "or" => sg(&[Val], Some(Val)),
        "not" | "len" => sg(&[Val], None),
        "index" => sg(&[Val], Some(Val)),
        "print" | "println" | "html" | "js" | "urlquery" => sg(&[], Some(Any)),
        "printf" => sg(&[Str], Some(Any)),
        "eq" => sg(&[Val], Some(Val)),
        "ne" | "lt" | "le" | "gt" | "ge" => sg(&[Val, Val], None),
        "call" => sg(&[Val], Some(Val)),
        // Sprig strings
        "hello" => sg(&[], None),
        "abbrev" | "trunc" | "repeat" | "wrap" | "indent" | "nindent" => sg(&[Int, Str], None),
        "abbrevboth" | "substr" => sg(&[Int, Int, Str], None),
        "trim" | "upper" | "lower" | "title" | "untitle" | "nospace" | "initials" | "swapcase"
        | "snakecase" | "camelcase" | "kebabcase" | "sha1sum" | "sha256sum" | "sha512sum"
        | "adler32sum" | "atoi" | "fromJson" | "mustFromJson" | "base" | "dir" | "clean"
        | "ext" | "isAbs" | "osBase" | "osClean" | "osDir" | "osExt" | "osIsAbs" | "b64enc"
        | "b64dec" | "b32enc" | "b32dec" | "fail" | "regexQuoteMeta" => sg(&[Str], None),
        "trimall" | "trimAll" | "trimSuffix" | "trimPrefix" | "contains" | "hasPrefix"
        | "hasSuffix" | "split" | "splitList" | "regexMatch" | "mustRegexMatch" | "regexFind"
        | "mustRegexFind" => sg(&[Str, Str], None),
        "wrapWith" => sg(&[Int, Str, Str], None),
        "quote" | "squote" | "cat" | "add" | "coalesce" | "all" | "any" | "tuple" | "list"
        | "dict" | "concat" | "dig" => sg(&[], Some(Any)),
        "replace"
        | "regexReplaceAll"
        | "mustRegexReplaceAll"
        | "regexReplaceAllLiteral"
        | "mustRegexReplaceAllLiteral" => sg(&[Str, Str, Str], None),
        "plural" => sg(&[Str, Str, Int], None),
        "toString" | "int64" | "int" | "float64" | "toDecimal" | "toStrings" | "add1" | "ceil"
        | "floor" | "sortAlpha" | "empty" | "compact" | "mustCompact" | "toJson"
        | "toPrettyJson" | "toRawJson" | "mustToJson" | "mustToPrettyJson" | "mustToRawJson"
        | "deepCopy" | "mustDeepCopy" | "typeOf" | "kindOf" | "first" | "mustFirst" | "rest"
        | "mustRest" | "last" | "mustLast" | "initial" | "mustInitial" | "reverse"
        | "mustReverse" | "uniq" | "mustUniq" => sg(&[Any], None),
        "seq" => sg(&[], Some(Int)),
        "splitn" => sg(&[Str, Int, Str], None),
        "until" => sg(&[Int], None),
        "untilStep" => sg(&[Int, Int, Int], None),
        "sub" | "div" | "mod" | "deepEqual" | "append" | "push" | "mustAppend" | "mustPush"
        | "prepend" | "mustPrepend" | "has" | "mustHas" => sg(&[Any, Any], None),
        "mul" | "biggest" | "max" | "min" | "maxf" | "minf" | "default" | "without"
        | "mustWithout" | "slice" | "mustSlice" => sg(&[Any], Some(Any)),
        "round" => sg(&[Any, Int], Some(Float)),
        "join" => sg(&[Str, Any], None),
        "ternary" => sg(&[Any, Any, Bool], None),
        "typeIs" | "typeIsLike" | "kindIs" => sg(&[Str, Any], None),
        "get" | "unset" | "hasKey" => sg(&[Map, Str], None),
        "set" => sg(&[Map, Str, Any], None),
        "pluck" => sg(&[Str], Some(Map)),
        "keys" => sg(&[], Some(Map)),
        "pick" | "omit" => sg(&[Map], Some(Str)),
        "merge" | "mergeOverwrite" | "mustMerge" | "mustMergeOverwrite" => sg(&[Map], Some(Map)),
        "values" => sg(&[Map], None),
        "chunk" | "mustChunk" => sg(&[Int, Any], None),
        "regexFindAll" | "mustRegexFindAll" | "regexSplit" | "mustRegexSplit" => {
            sg(&[Str, Str, Int], None)
        }
        _ => return None,
    })
}

type FR = Result<Value, ErrKind>;

fn e(msg: &str) -> ErrKind {
    ErrKind::Exec(msg.to_string())
}

fn arg(a: &[Value], i: usize) -> Result<&Value, ErrKind> {
    a.get(i).ok_or_else(|| e("missing argument"))
}

fn s_arg(a: &[Value], i: usize) -> Result<&[u8], ErrKind> {
    match arg(a, i)? {
        Value::Str(s) => Ok(s.as_bytes()),
        _ => Err(e("expected string")),
    }
}

fn i_arg(a: &[Value], i: usize) -> Result<i64, ErrKind> {
    match arg(a, i)? {
        Value::Int(v, _) => Ok(*v),
        _ => Err(e("expected integer")),
    }
}

fn map_arg(a: &[Value], i: usize) -> Result<Option<MapRef>, ErrKind> {
    match arg(a, i)? {
        Value::Map(m) => Ok(Some(m.clone())),
        Value::Nil | Value::Invalid => Ok(None),
        _ => Err(e("expected map")),
    }
}

fn mk_str(ex: &mut Exec<'_>, b: SBuf) -> FR {
    ex.alloc(b.len())?;
    Ok(Value::sbuf(b))
}

fn mk_bytes(ex: &mut Exec<'_>, b: &[u8]) -> FR {
    ex.alloc(b.len())?;
    Ok(Value::str(b))
}

fn mk_list(ex: &mut Exec<'_>, elem: ElemTy, items: Vec<Value>) -> FR {
    ex.alloc_list(items.len())?;
    let v = Value::list(elem, items);
    if v.list_depth() > MAX_LIST_DEPTH {
        return Err(ErrKind::Limit("nesting depth"));
    }
    Ok(v)
}

/// Maximum nesting of lists within lists.
const MAX_LIST_DEPTH: usize = 100;

fn str_list(ex: &mut Exec<'_>, items: Vec<Vec<u8>>) -> FR {
    let total: usize = items.iter().map(Vec::len).sum();
    ex.alloc(total)?;
    let v = items
        .into_iter()
        .map(|s| Value::string(SecretBytes::new(s)))
        .collect();
    mk_list(ex, ElemTy::Str, v)
}

fn as_list(v: &Value) -> Option<Rc<ListData>> {
    match v {
        Value::List(l) => Some(l.clone()),
        _ => None,
    }
}

/// Sprig's `strval`: strings as-is, everything else `fmt.Sprintf("%v")`.
fn strval(ex: &Exec<'_>, v: &Value, out: &mut SBuf) -> Result<(), ErrKind> {
    match v {
        Value::Str(s) => {
            out.extend(s.as_bytes());
            Ok(())
        }
        other => format::print_value(out, other, ex_cap(ex)),
    }
}

fn ex_cap(_ex: &Exec<'_>) -> usize {
    64 << 20
}

fn kind_err(what: &str, v: &Value) -> ErrKind {
    let k = match v {
        Value::Invalid | Value::Nil => return e("nil argument"),
        other => other.kind_name(),
    };
    ErrKind::Exec(format!("Cannot {what} on type {k}"))
}

/// spf13/cast `trimZeroDecimal`.
fn trim_zero_decimal(s: &[u8]) -> &[u8] {
    let mut found_zero = false;
    let mut i = s.len();
    while i > 0 {
        match s.get(i - 1) {
            Some(b'.') => {
                if found_zero {
                    return s.get(..i - 1).unwrap_or(s);
                }
            }
            Some(b'0') => found_zero = true,
            _ => return s,
        }
        i -= 1;
    }
    s
}

/// Go `strconv.ParseInt(s, 0, 64)`.
fn parse_int0(s: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(s).ok()?;
    if s.is_empty() {
        return None;
    }
    let n = super::parse::parse_number(s)?;
    if n.float_syntax || !n.is_int {
        return None;
    }
    // parse_number accepts floats; require an integer literal
    if s.contains(['.', 'e', 'E', 'p', 'P']) && !s.to_ascii_lowercase().starts_with("0x") {
        return None;
    }
    Some(n.int)
}

/// Go `strconv.ParseFloat(s, 64)` (decimal forms, inf, nan).
fn parse_float(s: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(s).ok()?;
    let l = s.to_ascii_lowercase();
    let body = l.trim_start_matches(['+', '-']);
    if matches!(body, "inf" | "infinity" | "nan") {
        let neg = l.starts_with('-');
        return Some(match body {
            "nan" => f64::NAN,
            _ if neg => f64::NEG_INFINITY,
            _ => f64::INFINITY,
        });
    }
    if s.contains('_') || s.contains(['x', 'X']) {
        return parse_int0(s.as_bytes()).map(|i| i as f64);
    }
    if s.is_empty()
        || !s
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

/// spf13/cast `ToInt64`.
fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i, _) => *i,
        Value::Float(f) => {
            if f.is_nan() {
                i64::MIN
            } else {
                *f as i64
            }
        }
        Value::Str(s) => parse_int0(trim_zero_decimal(s.as_bytes())).unwrap_or(0),
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// spf13/cast `ToFloat64`.
fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i, _) => *i as f64,
        Value::Float(f) => *f,
        Value::Str(s) => parse_float(s.as_bytes()).unwrap_or(0.0),
        Value::Bool(b) if *b => 1.0,
        _ => 0.0,
    }
}

/// Go `reflect.DeepEqual` on template values.
pub(crate) fn deep_equal(a: &Value, b: &Value, depth: usize) -> bool {
    if depth > 100 {
        return false;
    }
    match (a, b) {
        (Value::Nil | Value::Invalid, Value::Nil | Value::Invalid) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x, t), Value::Int(y, u)) => t == u && x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x.as_bytes() == y.as_bytes(),
        (Value::List(x), Value::List(y)) => {
            x.elem == y.elem
                && x.items.len() == y.items.len()
                && x.items
                    .iter()
                    .zip(y.items.iter())
                    .all(|(p, q)| deep_equal(p, q, depth + 1))
        }
        (Value::Map(x), Value::Map(y)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (Ok(x), Ok(y)) = (x.try_borrow(), y.try_borrow()) else {
                return false;
            };
            x.elem == y.elem
                && x.entries.len() == y.entries.len()
                && x.entries.iter().all(|(k, v)| {
                    y.entries
                        .get(k)
                        .is_some_and(|w| deep_equal(v, w, depth + 1))
                })
        }
        _ => false,
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum BK {
    Bool,
    Int,
    Uint,
    Float,
    Str,
    Invalid,
}

fn basic_kind(v: &Value) -> BK {
    match v {
        Value::Bool(_) => BK::Bool,
        Value::Int(_, IntTy::Uint8) => BK::Uint,
        Value::Int(..) => BK::Int,
        Value::Float(_) => BK::Float,
        Value::Str(_) => BK::Str,
        _ => BK::Invalid,
    }
}

fn valid(v: &Value) -> bool {
    !matches!(v, Value::Invalid | Value::Nil)
}

fn go_eq(a: &Value, rest: &[Value]) -> Result<bool, ErrKind> {
    if rest.is_empty() {
        return Err(e("missing argument for comparison"));
    }
    let k1 = basic_kind(a);
    for b in rest {
        let k2 = basic_kind(b);
        let truth = if k1 != k2 {
            match (a, b, k1, k2) {
                (Value::Int(x, _), Value::Int(y, _), BK::Int | BK::Uint, BK::Int | BK::Uint) => {
                    x == y
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
                (Value::Int(x, _), Value::Int(y, _)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Str(x), Value::Str(y)) => x.as_bytes() == y.as_bytes(),
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

fn go_lt(a: &Value, b: &Value) -> Result<bool, ErrKind> {
    let (k1, k2) = (basic_kind(a), basic_kind(b));
    if k1 == BK::Invalid || k2 == BK::Invalid {
        return Err(e("invalid type for comparison"));
    }
    if k1 != k2 {
        return match (a, b, k1, k2) {
            (Value::Int(x, _), Value::Int(y, _), BK::Int | BK::Uint, BK::Int | BK::Uint) => {
                Ok(x < y)
            }
            _ => Err(e("incompatible types for comparison")),
        };
    }
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => Ok(x < y),
        (Value::Int(x, _), Value::Int(y, _)) => Ok(x < y),
        (Value::Str(x), Value::Str(y)) => Ok(x.as_bytes() < y.as_bytes()),
        _ => Err(e("invalid type for comparison")),
    }
}

/// Go's `evalArgs` used by html/js/urlquery.
fn eval_args(ex: &Exec<'_>, a: &[Value]) -> Result<SBuf, ErrKind> {
    let mut out = SBuf::new();
    if let [Value::Str(s)] = a {
        out.extend(s.as_bytes());
        return Ok(out);
    }
    format::sprint(&mut out, a, ex_cap(ex))?;
    Ok(out)
}

fn html_escape(s: &[u8]) -> SBuf {
    let mut out = SBuf::with_capacity(s.len());
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

fn js_escape(s: &[u8]) -> SBuf {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = SBuf::with_capacity(s.len());
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

fn query_escape(s: &[u8]) -> SBuf {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = SBuf::with_capacity(s.len());
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

/// strings.Map(f, s) semantics: runes mapped, invalid bytes become U+FFFD.
fn map_runes(s: &[u8], f: impl Fn(char) -> char) -> SBuf {
    let mut out = SBuf::with_capacity(s.len());
    for (c, _, _) in runes(s) {
        out.push_char(f(c));
    }
    out
}

fn go_upper(s: &[u8]) -> SBuf {
    if s.is_ascii() {
        let mut out = SBuf::with_capacity(s.len());
        for b in s {
            out.push(b.to_ascii_uppercase());
        }
        return out;
    }
    map_runes(s, to_upper)
}

fn go_lower(s: &[u8]) -> SBuf {
    if s.is_ascii() {
        let mut out = SBuf::with_capacity(s.len());
        for b in s {
            out.push(b.to_ascii_lowercase());
        }
        return out;
    }
    map_runes(s, to_lower)
}

fn is_separator(r: char) -> bool {
    if r.is_ascii() {
        return !(r.is_ascii_alphanumeric() || r == '_');
    }
    if super::value::is_letter(r) || super::value::is_digit(r) {
        return false;
    }
    is_space(r)
}

fn go_title(s: &[u8]) -> SBuf {
    let mut prev = ' ';
    let mut out = SBuf::with_capacity(s.len());
    for (r, _, _) in runes(s) {
        if is_separator(prev) {
            out.push_char(to_upper(r));
        } else {
            out.push_char(r);
        }
        prev = r;
    }
    out
}

/// strings.TrimSpace.
fn trim_space(s: &[u8]) -> &[u8] {
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
fn trim_cutset(s: &[u8], cutset: &[u8]) -> SBuf {
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
    let mut out = SBuf::new();
    if lo < hi {
        let a = toks.get(lo).map_or(0, |t| t.1);
        let b = toks.get(hi - 1).map_or(0, |t| t.1 + t.2);
        out.extend(s.get(a..b).unwrap_or(&[]));
    }
    out
}

fn find_sub(h: &[u8], n: &[u8]) -> Option<usize> {
    if n.is_empty() {
        return Some(0);
    }
    if n.len() > h.len() {
        return None;
    }
    h.windows(n.len()).position(|w| w == n)
}

/// strings.Split / SplitN (n < 0 means all).
fn go_split(s: &[u8], sep: &[u8], n: i64) -> Vec<Vec<u8>> {
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

/// strings.Replace(s, old, new, -1).
fn go_replace(s: &[u8], old: &[u8], new: &[u8]) -> Result<SBuf, ErrKind> {
    let mut out = SBuf::new();
    if old.is_empty() {
        let count = runes(s).count() + 1;
        let need = s.len().saturating_add(count.saturating_mul(new.len()));
        if need > 64 << 20 {
            return Err(ErrKind::Limit("memory"));
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
        if out.len() > 64 << 20 {
            return Err(ErrKind::Limit("memory"));
        }
        rest = rest.get(i + old.len()..).unwrap_or(&[]);
    }
    out.extend(rest);
    Ok(out)
}

fn go_repeat(s: &[u8], count: i64) -> Result<SBuf, ErrKind> {
    if count < 0 {
        return Err(e("strings: negative Repeat count"));
    }
    if s.is_empty() {
        return Ok(SBuf::new());
    }
    let total = usize::try_from(count)
        .ok()
        .and_then(|c| c.checked_mul(s.len()))
        .ok_or(ErrKind::Limit("memory"))?;
    if total > 64 << 20 {
        return Err(ErrKind::Limit("memory"));
    }
    let mut out = SBuf::with_capacity(total);
    for _ in 0..count {
        out.extend(s);
    }
    Ok(out)
}

fn indent(s: &[u8], n: i64, lead_nl: bool) -> Result<SBuf, ErrKind> {
    let pad = go_repeat(b" ", n)?;
    let lines = s.iter().filter(|b| **b == b'\n').count() + 1;
    let need = lines.saturating_mul(pad.len()).saturating_add(s.len());
    if need > 64 << 20 {
        return Err(ErrKind::Limit("memory"));
    }
    let mut out = SBuf::with_capacity(need + 1);
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

fn substr(s: &[u8], start: i64, end: i64) -> Result<&[u8], ErrKind> {
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

fn trunc(s: &[u8], c: i64) -> &[u8] {
    let len = s.len() as i64;
    if c < 0 && len + c > 0 {
        return s.get((len + c) as usize..).unwrap_or(s);
    }
    if c >= 0 && len > c {
        return s.get(..c as usize).unwrap_or(s);
    }
    s
}

fn abbreviate_full(s: &[u8], offset: i64, max_width: i64) -> Vec<u8> {
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

fn latin1_push(out: &mut SBuf, b: u8) {
    out.push_char(char::from(b));
}

fn initials(s: &[u8]) -> SBuf {
    let mut out = SBuf::new();
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

fn nospace(s: &[u8]) -> SBuf {
    let mut out = SBuf::new();
    let mut count = 0;
    for &b in s {
        if !is_space(char::from(b)) {
            latin1_push(&mut out, b);
            count += 1;
        }
    }
    if count == s.len() {
        let mut o = SBuf::new();
        o.extend(s);
        return o;
    }
    out
}

fn swapcase(s: &[u8]) -> SBuf {
    let mut out = SBuf::new();
    let mut ws = true;
    for (c, _, _) in runes(s) {
        let r = if is_upper(c) {
            ws = false;
            to_lower(c)
        } else if is_lower(c) {
            if ws {
                ws = false;
                to_upper(c)
            } else {
                to_upper(c)
            }
        } else {
            ws = is_space(c);
            c
        };
        out.push_char(r);
    }
    out
}

fn untitle(s: &[u8]) -> SBuf {
    let mut out = SBuf::new();
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

fn wrap_custom(s: &[u8], wrap_len: i64, nl: &[u8], long_words: bool) -> Result<SBuf, ErrKind> {
    let mut out = SBuf::new();
    if s.is_empty() {
        return Ok(out);
    }
    let nl: &[u8] = if nl.is_empty() { b"\n" } else { nl };
    let wl = usize::try_from(wrap_len.max(1)).unwrap_or(usize::MAX);
    let len = s.len();
    let mut offset = 0usize;
    while len - offset > wl {
        if out.len() > 64 << 20 {
            return Err(ErrKind::Limit("memory"));
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

fn is_connector(r: char) -> bool {
    r == '-' || r == '_' || is_space(r)
}

/// xstrings.ToPascalCase (sprig's `camelcase`).
fn pascal_case(s: &[u8]) -> SBuf {
    let mut out = SBuf::new();
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
enum WT {
    Invalid,
    Number,
    Upper,
    Alpha,
    Connector,
    Punct,
    Other,
}

fn is_alphabet(r: char) -> bool {
    r.is_ascii_alphabetic()
}

fn next_valid_rune(s: &[u8], prev: char) -> (char, usize) {
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
fn next_word(s: &[u8]) -> (WT, &[u8], &[u8]) {
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
    } else if super::value::is_digit(r) {
        wt = WT::Number;
        remaining = adv(remaining, size);
        while !remaining.is_empty() {
            (r, size) = next_valid_rune(remaining, r);
            if !super::value::is_digit(r) {
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
                || super::value::is_digit(r)
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

fn to_lower_word(out: &mut SBuf, wt: WT, s: &[u8], conn: char) {
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
fn camel_to_lower(s: &[u8], conn: char) -> SBuf {
    let mut out = SBuf::new();
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

/// Go `path.Clean`.
fn path_clean(p: &[u8]) -> Vec<u8> {
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

fn path_base(p: &[u8]) -> Vec<u8> {
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

fn path_dir(p: &[u8]) -> Vec<u8> {
    let i = p.iter().rposition(|b| *b == b'/').map_or(0, |i| i + 1);
    path_clean(p.get(..i).unwrap_or(&[]))
}

fn path_ext(p: &[u8]) -> Vec<u8> {
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

/// encoding/base64 StdEncoding.DecodeString (non-strict), error offset as Go.
fn b64_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    fn val(c: u8) -> Option<u8> {
        match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(src.len() / 4 * 3 + 3);
    let mut si = 0usize;
    loop {
        let mut dbuf = [0u8; 4];
        let mut dlen = 4;
        let mut j = 0usize;
        let mut trailing_err: Option<usize> = None;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            }
            let c = src.get(si).copied().unwrap_or(0);
            si += 1;
            if let Some(v) = val(c) {
                if let Some(d) = dbuf.get_mut(j) {
                    *d = v;
                }
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while si < src.len() && matches!(src.get(si), Some(b'\n' | b'\r')) {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(src.len());
                    }
                    if src.get(si) != Some(&b'=') {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && matches!(src.get(si), Some(b'\n' | b'\r')) {
                si += 1;
            }
            if si < src.len() {
                trailing_err = Some(si);
            }
            dlen = j;
            break;
        }
        let v = (u32::from(dbuf[0]) << 18)
            | (u32::from(dbuf[1]) << 12)
            | (u32::from(dbuf[2]) << 6)
            | u32::from(dbuf[3]);
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        let n = dlen.saturating_sub(1);
        out.extend_from_slice(bytes.get(..n).unwrap_or(&[]));
        if let Some(p) = trailing_err {
            return Err(p);
        }
        if dlen < 4 {
            return Ok(out);
        }
    }
}

fn b32_encode(src: &[u8]) -> Vec<u8> {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::with_capacity(src.len().div_ceil(5) * 8);
    for chunk in src.chunks(5) {
        let mut b = [0u8; 5];
        for (i, c) in chunk.iter().enumerate() {
            if let Some(x) = b.get_mut(i) {
                *x = *c;
            }
        }
        let v = b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
        let nchars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < nchars {
                let idx = ((v >> (35 - 5 * i)) & 31) as usize;
                out.push(A[idx]);
            } else {
                out.push(b'=');
            }
        }
    }
    out
}

fn b32_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    let buf: Vec<u8> = src
        .iter()
        .copied()
        .filter(|c| *c != b'\n' && *c != b'\r')
        .collect();
    let val = |c: u8| -> u8 {
        match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => 0xFF,
        }
    };
    let olen = buf.len();
    let mut src = buf.as_slice();
    let mut out = Vec::new();
    let mut end = false;
    while !src.is_empty() && !end {
        let mut dbuf = [0u8; 8];
        let mut dlen = 8;
        let mut j = 0usize;
        while j < 8 {
            if src.is_empty() {
                return Err(olen - src.len() - j);
            }
            let c = src.first().copied().unwrap_or(0);
            src = src.get(1..).unwrap_or(&[]);
            if c == b'=' && j >= 2 && src.len() < 8 {
                if src.len() + j < 7 {
                    return Err(olen);
                }
                for k in 0..(7 - j) {
                    if src.len() > k && src.get(k) != Some(&b'=') {
                        return Err(olen - src.len() + k - 1);
                    }
                }
                dlen = j;
                end = true;
                if matches!(dlen, 1 | 3 | 6) {
                    return Err(olen - src.len() - 1);
                }
                break;
            }
            let v = val(c);
            if v == 0xFF {
                return Err(olen - src.len() - 1);
            }
            if let Some(d) = dbuf.get_mut(j) {
                *d = v;
            }
            j += 1;
        }
        let d = dbuf;
        let bytes = [
            (d[0] << 3) | (d[1] >> 2),
            (d[1] << 6) | (d[2] << 1) | (d[3] >> 4),
            (d[3] << 4) | (d[4] >> 1),
            (d[4] << 7) | (d[5] << 2) | (d[6] >> 3),
            (d[6] << 5) | d[7],
        ];
        let n = match dlen {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(bytes.get(..n).unwrap_or(&[]));
    }
    Ok(out)
}

fn adler32(b: &[u8]) -> u32 {
    let (mut a, mut s) = (1u32, 0u32);
    for chunk in b.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            s += a;
        }
        a %= 65521;
        s %= 65521;
    }
    (s << 16) | a
}

fn hex(b: &[u8]) -> SBuf {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut out = SBuf::with_capacity(b.len() * 2);
    for x in b {
        out.push(H[usize::from(x >> 4)]);
        out.push(H[usize::from(x & 15)]);
    }
    out
}

/// Translates Go RE2 syntax into the `regex` crate's, keeping Go's ASCII
/// semantics of `\d`, `\w`, `\s` and `\b`.
fn go_regex(pat: &[u8]) -> Result<regex::bytes::Regex, ErrKind> {
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
                out.push_str(&regex::escape(&lit));
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
    regex::bytes::RegexBuilder::new(&out)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .nest_limit(100)
        .build()
        .map_err(|_| bad())
}

fn regex_find_all(re: &regex::bytes::Regex, s: &[u8], n: i64) -> Vec<(usize, usize)> {
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

/// JSON -> Value conversion (numbers become float64 as in Go).
fn from_json(ex: &mut Exec<'_>, j: serde_json::Value, depth: usize) -> FR {
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

fn deep_copy(ex: &mut Exec<'_>, v: &Value, depth: usize) -> FR {
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
        other => other.clone(),
    })
}

/// mergo.Merge / MergeWithOverwrite (simplified for maps of interfaces).
fn merge_into(dst: &MapRef, src: &MapRef, overwrite: bool, depth: usize) -> Result<(), ErrKind> {
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

fn strslice(ex: &Exec<'_>, v: &Value) -> Result<Vec<Vec<u8>>, ErrKind> {
    match v {
        Value::List(l) => {
            let mut out = Vec::with_capacity(l.items.len());
            for x in &l.items {
                if x.is_nil() {
                    continue;
                }
                let mut b = SBuf::new();
                strval(ex, x, &mut b)?;
                out.push(b.into_vec());
            }
            Ok(out)
        }
        Value::Nil | Value::Invalid => Ok(Vec::new()),
        other => {
            let mut b = SBuf::new();
            strval(ex, other, &mut b)?;
            Ok(vec![b.into_vec()])
        }
    }
}

fn until_step(ex: &mut Exec<'_>, start: i64, stop: i64, step: i64) -> Result<Vec<i64>, ErrKind> {
    let count: i128 = if stop < start {
        if step >= 0 {
            0
        } else {
            (i128::from(start) - i128::from(stop) + i128::from(-step) - 1) / i128::from(-step)
        }
    } else if step <= 0 {
        0
    } else {
        (i128::from(stop) - i128::from(start) + i128::from(step) - 1) / i128::from(step)
    };
    let count = usize::try_from(count).map_err(|_| ErrKind::Limit("list size"))?;
    ex.alloc_list(count)?;
    let mut v = Vec::with_capacity(count);
    let mut i = i128::from(start);
    for _ in 0..count {
        v.push(i64::try_from(i).unwrap_or(0));
        i += i128::from(step);
    }
    Ok(v)
}

fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// Calls function `name` with already type-checked arguments.
pub(crate) fn call(ex: &mut Exec<'_>, name: &str, a: Vec<Value>) -> FR {
    let cap = ex_cap(ex);
    match name {
        // ---- Go builtins ----
        "not" => Ok(Value::Bool(!arg(&a, 0)?.truth())),
        "len" => {
            let n = match arg(&a, 0)? {
                Value::Str(s) => s.as_bytes().len(),
                Value::List(l) => l.items.len(),
                Value::Map(m) => m.try_borrow().map_err(|_| e("map in use"))?.entries.len(),
                Value::Invalid | Value::Nil => return Err(e("len of nil pointer")),
                other => return Err(ErrKind::Exec(format!("len of type {}", other.type_name()))),
            };
            Ok(Value::int(i64::try_from(n).unwrap_or(i64::MAX)))
        }
        "index" => {
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
        "print" => {
            let mut b = SBuf::new();
            format::sprint(&mut b, &a, cap)?;
            mk_str(ex, b)
        }
        "println" => {
            let mut b = SBuf::new();
            format::sprintln(&mut b, &a, cap)?;
            mk_str(ex, b)
        }
        "printf" => {
            let f = s_arg(&a, 0)?.to_vec();
            let mut b = SBuf::new();
            format::sprintf(&mut b, &f, a.get(1..).unwrap_or(&[]), cap)?;
            mk_str(ex, b)
        }
        "html" => {
            let s = eval_args(ex, &a)?;
            let o = html_escape(s.as_bytes());
            mk_str(ex, o)
        }
        "js" => {
            let s = eval_args(ex, &a)?;
            let o = js_escape(s.as_bytes());
            mk_str(ex, o)
        }
        "urlquery" => {
            let s = eval_args(ex, &a)?;
            let o = query_escape(s.as_bytes());
            mk_str(ex, o)
        }
        "eq" => Ok(Value::Bool(go_eq(arg(&a, 0)?, a.get(1..).unwrap_or(&[]))?)),
        "ne" => Ok(Value::Bool(!go_eq(
            arg(&a, 0)?,
            a.get(1..2).unwrap_or(&[]),
        )?)),
        "lt" => Ok(Value::Bool(go_lt(arg(&a, 0)?, arg(&a, 1)?)?)),
        "le" => {
            let (x, y) = (arg(&a, 0)?, arg(&a, 1)?);
            let lt = go_lt(x, y)?;
            Ok(Value::Bool(lt || go_eq(x, std::slice::from_ref(y))?))
        }
        "gt" => {
            let (x, y) = (arg(&a, 0)?, arg(&a, 1)?);
            let lt = go_lt(x, y)?;
            Ok(Value::Bool(!(lt || go_eq(x, std::slice::from_ref(y))?)))
        }
        "ge" => Ok(Value::Bool(!go_lt(arg(&a, 0)?, arg(&a, 1)?)?)),
        "call" => match arg(&a, 0)? {
            Value::Invalid | Value::Nil => Err(e("call of nil")),
            other => Err(ErrKind::Exec(format!(
                "non-function of type {}",
                other.type_name()
            ))),
        },

        // ---- Sprig: strings ----
        "hello" => mk_bytes(ex, b"Hello!"),
        "abbrev" => {
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
        "abbrevboth" => {
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
        "trunc" => {
            let c = i_arg(&a, 0)?;
            let s = s_arg(&a, 1)?;
            let t = trunc(s, c).to_vec();
            let v = mk_bytes(ex, &t);
            drop(SecretBytes::new(t));
            v
        }
        "trim" => {
            let t = trim_space(s_arg(&a, 0)?).to_vec();
            let v = mk_bytes(ex, &t);
            drop(SecretBytes::new(t));
            v
        }
        "upper" => {
            let o = go_upper(s_arg(&a, 0)?);
            mk_str(ex, o)
        }
        "lower" => {
            let o = go_lower(s_arg(&a, 0)?);
            mk_str(ex, o)
        }
        "title" => {
            let o = go_title(s_arg(&a, 0)?);
            mk_str(ex, o)
        }
        "untitle" => {
            let o = untitle(s_arg(&a, 0)?);
            mk_str(ex, o)
        }
        "substr" => {
            let (st, en) = (i_arg(&a, 0)?, i_arg(&a, 1)?);
            let s = s_arg(&a, 2)?;
            let r = substr(s, st, en)?.to_vec();
            let v = mk_bytes(ex, &r);
            drop(SecretBytes::new(r));
            v
        }
        "repeat" => {
            let n = i_arg(&a, 0)?;
            let s = s_arg(&a, 1)?;
            let need = usize::try_from(n.max(0))
                .ok()
                .and_then(|n| n.checked_mul(s.len()))
                .ok_or(ErrKind::Limit("memory"))?;
            ex.alloc(need)?;
            let o = go_repeat(s, n)?;
            Ok(Value::sbuf(o))
        }
        "trimall" | "trimAll" => {
            let o = trim_cutset(s_arg(&a, 1)?, s_arg(&a, 0)?);
            mk_str(ex, o)
        }
        "trimSuffix" => {
            let (suf, s) = (s_arg(&a, 0)?, s_arg(&a, 1)?);
            let r = s.strip_suffix(suf).unwrap_or(s).to_vec();
            let v = mk_bytes(ex, &r);
            drop(SecretBytes::new(r));
            v
        }
        "trimPrefix" => {
            let (pre, s) = (s_arg(&a, 0)?, s_arg(&a, 1)?);
            let r = s.strip_prefix(pre).unwrap_or(s).to_vec();
            let v = mk_bytes(ex, &r);
            drop(SecretBytes::new(r));
            v
        }
        "nospace" => {
            let o = nospace(s_arg(&a, 0)?);
            mk_str(ex, o)
        }
        "initials" => {
            let o = initials(s_arg(&a, 0)?);
            mk_str(ex, o)
        }
        "swapcase" => {
            let o = swapcase(s_arg(&a, 0)?);
            mk_str(ex, o)
        }
        "snakecase" => {
            let o = camel_to_lower(s_arg(&a, 0)?, '_');
            mk_str(ex, o)
        }
        "kebabcase" => {
            let o = camel_to_lower(s_arg(&a, 0)?, '-');
            mk_str(ex, o)
        }
        "camelcase" => {
            let o = pascal_case(s_arg(&a, 0)?);
            mk_str(ex, o)
        }
        "wrap" => {
            let o = wrap_custom(s_arg(&a, 1)?, i_arg(&a, 0)?, b"", false)?;
            mk_str(ex, o)
        }
        "wrapWith" => {
            let o = wrap_custom(s_arg(&a, 2)?, i_arg(&a, 0)?, s_arg(&a, 1)?, true)?;
            mk_str(ex, o)
        }
        "contains" => Ok(Value::Bool(
            find_sub(s_arg(&a, 1)?, s_arg(&a, 0)?).is_some(),
        )),
        "hasPrefix" => Ok(Value::Bool(s_arg(&a, 1)?.starts_with(s_arg(&a, 0)?))),
        "hasSuffix" => Ok(Value::Bool(s_arg(&a, 1)?.ends_with(s_arg(&a, 0)?))),
        "quote" | "squote" => {
            let mut out = SBuf::new();
            let mut first = true;
            for v in &a {
                if v.is_nil() {
                    continue;
                }
                if !first {
                    out.push(b' ');
                }
                first = false;
                let mut s = SBuf::new();
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
        "cat" => {
            let vals: Vec<Value> = a.into_iter().filter(|v| !v.is_nil()).collect();
            let mut out = SBuf::new();
            for (i, v) in vals.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                format::print_value(&mut out, v, cap)?;
            }
            mk_str(ex, out)
        }
        "indent" | "nindent" => {
            let n = i_arg(&a, 0)?;
            let o = indent(s_arg(&a, 1)?, n, name == "nindent")?;
            mk_str(ex, o)
        }
        "replace" => {
            let o = go_replace(s_arg(&a, 2)?, s_arg(&a, 0)?, s_arg(&a, 1)?)?;
            mk_str(ex, o)
        }
        "plural" => {
            let c = i_arg(&a, 2)?;
            let s = if c == 1 { s_arg(&a, 0)? } else { s_arg(&a, 1)? }.to_vec();
            let v = mk_bytes(ex, &s);
            drop(SecretBytes::new(s));
            v
        }
        "sha1sum" => {
            let d = sha1::Sha1::digest(s_arg(&a, 0)?);
            mk_str(ex, hex(&d))
        }
        "sha256sum" => {
            let d = sha2::Sha256::digest(s_arg(&a, 0)?);
            mk_str(ex, hex(&d))
        }
        "sha512sum" => {
            let d = sha2::Sha512::digest(s_arg(&a, 0)?);
            mk_str(ex, hex(&d))
        }
        "adler32sum" => {
            let d = adler32(s_arg(&a, 0)?);
            mk_bytes(ex, d.to_string().as_bytes())
        }
        "toString" => {
            let mut out = SBuf::new();
            strval(ex, arg(&a, 0)?, &mut out)?;
            mk_str(ex, out)
        }
        "atoi" => {
            let s = s_arg(&a, 0)?;
            let v = std::str::from_utf8(s)
                .ok()
                .filter(|t| {
                    !t.is_empty()
                        && t.bytes().enumerate().all(|(i, c)| {
                            c.is_ascii_digit() || (i == 0 && (c == b'+' || c == b'-'))
                        })
                })
                .and_then(|t| t.parse::<i64>().ok())
                .unwrap_or(0);
            Ok(Value::int(v))
        }
        "int64" => Ok(Value::int64(to_int64(arg(&a, 0)?))),
        "int" => Ok(Value::int(to_int64(arg(&a, 0)?))),
        "float64" => Ok(Value::Float(to_float64(arg(&a, 0)?))),
        "toDecimal" => {
            let mut s = SBuf::new();
            format::print_value(&mut s, &arg(&a, 0)?.clone().into_iface(), cap)?;
            let t = std::str::from_utf8(s.as_bytes()).unwrap_or("");
            let (neg, body) = match t.as_bytes().first() {
                Some(b'-') => (true, t.get(1..).unwrap_or("")),
                Some(b'+') => (false, t.get(1..).unwrap_or("")),
                _ => (false, t),
            };
            let v = if body.is_empty() || !body.bytes().all(|c| (b'0'..=b'7').contains(&c)) {
                0
            } else {
                i64::from_str_radix(body, 8)
                    .map(|v| if neg { -v } else { v })
                    .unwrap_or(0)
            };
            Ok(Value::int64(v))
        }
        "seq" => {
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
            let mut out = SBuf::new();
            for (i, n) in nums.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                out.push_str(&n.to_string());
            }
            mk_str(ex, out)
        }
        "split" | "splitn" => {
            let (sep, n, s) = if name == "split" {
                (s_arg(&a, 0)?, -1, s_arg(&a, 1)?)
            } else {
                (s_arg(&a, 0)?, i_arg(&a, 1)?, s_arg(&a, 2)?)
            };
            let parts = go_split(s, sep, n);
            ex.alloc(s.len())?;
            let mut m = BTreeMap::new();
            for (i, p) in parts.into_iter().enumerate() {
                m.insert(
                    SecretBytes::new(format!("_{i}").into_bytes()),
                    Value::string(SecretBytes::new(p)),
                );
            }
            ex.new_map(ElemTy::Str, m)
        }
        "splitList" => {
            let parts = go_split(s_arg(&a, 1)?, s_arg(&a, 0)?, -1);
            str_list(ex, parts)
        }
        "toStrings" => {
            let v = arg(&a, 0)?.clone();
            if let Value::List(l) = &v
                && l.elem == ElemTy::Str
            {
                return Ok(v);
            }
            let parts = strslice(ex, &v)?;
            str_list(ex, parts)
        }
        "until" => {
            let c = i_arg(&a, 0)?;
            let v = until_step(ex, 0, c, if c < 0 { -1 } else { 1 })?;
            Ok(Value::list(
                ElemTy::Int,
                v.into_iter().map(Value::int).collect(),
            ))
        }
        "untilStep" => {
            let v = until_step(ex, i_arg(&a, 0)?, i_arg(&a, 1)?, i_arg(&a, 2)?)?;
            Ok(Value::list(
                ElemTy::Int,
                v.into_iter().map(Value::int).collect(),
            ))
        }

        // ---- math ----
        "add1" => Ok(Value::int64(to_int64(arg(&a, 0)?).wrapping_add(1))),
        "add" => Ok(Value::int64(
            a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_int64(v))),
        )),
        "sub" => Ok(Value::int64(
            to_int64(arg(&a, 0)?).wrapping_sub(to_int64(arg(&a, 1)?)),
        )),
        "div" | "mod" => {
            let (x, y) = (to_int64(arg(&a, 0)?), to_int64(arg(&a, 1)?));
            if y == 0 {
                return Err(e("runtime error: integer divide by zero"));
            }
            Ok(Value::int64(if name == "div" {
                x.wrapping_div(y)
            } else {
                x.wrapping_rem(y)
            }))
        }
        "mul" => Ok(Value::int64(
            a.iter().skip(1).fold(to_int64(arg(&a, 0)?), |acc, v| {
                acc.wrapping_mul(to_int64(v))
            }),
        )),
        "biggest" | "max" => Ok(Value::int64(a.iter().map(to_int64).max().unwrap_or(0))),
        "min" => Ok(Value::int64(a.iter().map(to_int64).min().unwrap_or(0))),
        "maxf" => Ok(Value::Float(
            a.iter().skip(1).fold(to_float64(arg(&a, 0)?), |acc, v| {
                nan_max(acc, to_float64(v))
            }),
        )),
        "minf" => Ok(Value::Float(
            a.iter().skip(1).fold(to_float64(arg(&a, 0)?), |acc, v| {
                nan_min(acc, to_float64(v))
            }),
        )),
        "ceil" => Ok(Value::Float(to_float64(arg(&a, 0)?).ceil())),
        "floor" => Ok(Value::Float(to_float64(arg(&a, 0)?).floor())),
        "round" => {
            let val = to_float64(arg(&a, 0)?);
            let places = i_arg(&a, 1)? as f64;
            let round_on = match a.get(2) {
                Some(Value::Float(f)) => *f,
                _ => 0.5,
            };
            let pow = 10f64.powf(places);
            let digit = pow * val;
            let div = digit.fract();
            let r = if div >= round_on {
                digit.ceil()
            } else {
                digit.floor()
            };
            Ok(Value::Float(r / pow))
        }

        // ---- string slices ----
        "join" => {
            let sep = s_arg(&a, 0)?.to_vec();
            let parts = strslice(ex, arg(&a, 1)?)?;
            let mut out = SBuf::new();
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
        "sortAlpha" => {
            let v = arg(&a, 0)?;
            let mut parts = if matches!(v, Value::List(_)) {
                strslice(ex, v)?
            } else {
                let mut b = SBuf::new();
                strval(ex, &v.clone().into_iface(), &mut b)?;
                vec![b.into_vec()]
            };
            parts.sort();
            str_list(ex, parts)
        }

        // ---- defaults ----
        "default" => {
            let d = arg(&a, 0)?.clone();
            match a.get(1) {
                Some(g) if !g.is_empty() => Ok(g.clone()),
                _ => Ok(d),
            }
        }
        "empty" => Ok(Value::Bool(arg(&a, 0)?.is_empty())),
        "coalesce" => Ok(a
            .iter()
            .find(|v| !v.is_empty())
            .cloned()
            .unwrap_or(Value::Nil)),
        "all" => Ok(Value::Bool(a.iter().all(|v| !v.is_empty()))),
        "any" => Ok(Value::Bool(a.iter().any(|v| !v.is_empty()))),
        "compact" | "mustCompact" => {
            let v = arg(&a, 0)?;
            let l = as_list(v).ok_or_else(|| kind_err("compact", v))?;
            let items = l.items.iter().filter(|x| !x.is_empty()).cloned().collect();
            mk_list(ex, ElemTy::Any, items)
        }
        "fromJson" | "mustFromJson" => {
            let s = s_arg(&a, 0)?;
            match serde_json::from_slice::<serde_json::Value>(s) {
                Ok(j) => from_json(ex, j, 0),
                Err(_) if name == "fromJson" => Ok(Value::Nil),
                Err(_) => Err(e("invalid JSON")),
            }
        }
        "toJson" | "toPrettyJson" | "toRawJson" | "mustToJson" | "mustToPrettyJson"
        | "mustToRawJson" => {
            let v = arg(&a, 0)?;
            let pretty = name.contains("Pretty");
            let raw = name.contains("Raw");
            let mut out = SBuf::new();
            match format::to_json(&mut out, v, !raw, pretty, 0, cap) {
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
        "ternary" => {
            let b = matches!(arg(&a, 2)?, Value::Bool(true));
            Ok(if b {
                arg(&a, 0)?.clone()
            } else {
                arg(&a, 1)?.clone()
            })
        }
        "deepCopy" | "mustDeepCopy" => {
            let v = arg(&a, 0)?.clone();
            deep_copy(ex, &v, 0)
        }

        // ---- reflection ----
        "typeOf" => {
            let t = arg(&a, 0)?.type_name();
            mk_bytes(ex, t.as_bytes())
        }
        "kindOf" => {
            let k = arg(&a, 0)?.kind_name();
            mk_bytes(ex, k.as_bytes())
        }
        "typeIs" => Ok(Value::Bool(
            s_arg(&a, 0)? == arg(&a, 1)?.type_name().as_bytes(),
        )),
        "typeIsLike" => {
            let t = arg(&a, 1)?.type_name();
            let target = s_arg(&a, 0)?;
            let mut star = b"*".to_vec();
            star.extend_from_slice(target);
            Ok(Value::Bool(target == t.as_bytes() || star == t.as_bytes()))
        }
        "kindIs" => Ok(Value::Bool(
            s_arg(&a, 0)? == arg(&a, 1)?.kind_name().as_bytes(),
        )),
        "deepEqual" => Ok(Value::Bool(deep_equal(arg(&a, 0)?, arg(&a, 1)?, 0))),

        // ---- paths ----
        "base" | "osBase" => {
            let r = path_base(s_arg(&a, 0)?);
            mk_bytes(ex, &r)
        }
        "dir" | "osDir" => {
            let r = path_dir(s_arg(&a, 0)?);
            mk_bytes(ex, &r)
        }
        "clean" | "osClean" => {
            let r = path_clean(s_arg(&a, 0)?);
            mk_bytes(ex, &r)
        }
        "ext" | "osExt" => {
            let r = path_ext(s_arg(&a, 0)?);
            mk_bytes(ex, &r)
        }
        "isAbs" | "osIsAbs" => Ok(Value::Bool(s_arg(&a, 0)?.first() == Some(&b'/'))),

        // ---- encoding ----
        "b64enc" => {
            let s = base64::engine::general_purpose::STANDARD.encode(s_arg(&a, 0)?);
            let v = mk_bytes(ex, s.as_bytes());
            drop(SecretBytes::new(s.into_bytes()));
            v
        }
        "b64dec" => match b64_decode(s_arg(&a, 0)?) {
            Ok(d) => {
                let v = mk_bytes(ex, &d);
                drop(SecretBytes::new(d));
                v
            }
            Err(pos) => mk_bytes(
                ex,
                format!("illegal base64 data at input byte {pos}").as_bytes(),
            ),
        },
        "b32enc" => {
            let s = b32_encode(s_arg(&a, 0)?);
            let v = mk_bytes(ex, &s);
            drop(SecretBytes::new(s));
            v
        }
        "b32dec" => match b32_decode(s_arg(&a, 0)?) {
            Ok(d) => {
                let v = mk_bytes(ex, &d);
                drop(SecretBytes::new(d));
                v
            }
            Err(pos) => mk_bytes(
                ex,
                format!("illegal base32 data at input byte {pos}").as_bytes(),
            ),
        },

        // ---- lists ----
        "tuple" | "list" => mk_list(ex, ElemTy::Any, a),
        "append" | "push" | "mustAppend" | "mustPush" | "prepend" | "mustPrepend" => {
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
        "first" | "mustFirst" | "last" | "mustLast" => {
            let v = arg(&a, 0)?;
            let l = as_list(v).ok_or_else(|| kind_err("find first", v))?;
            let r = if name.ends_with("irst") {
                l.items.first()
            } else {
                l.items.last()
            };
            Ok(r.cloned().unwrap_or(Value::Nil))
        }
        "rest" | "mustRest" | "initial" | "mustInitial" => {
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
        "reverse" | "mustReverse" => {
            let v = arg(&a, 0)?;
            let l = as_list(v).ok_or_else(|| kind_err("find reverse", v))?;
            let items = l.items.iter().rev().cloned().collect();
            mk_list(ex, ElemTy::Any, items)
        }
        "uniq" | "mustUniq" => {
            let v = arg(&a, 0)?;
            let l = as_list(v).ok_or_else(|| kind_err("find uniq", v))?;
            let mut dest: Vec<Value> = Vec::new();
            for x in &l.items {
                ex.step()?;
                let x = x.clone().into_iface();
                if !dest.iter().any(|d| deep_equal(&x, d, 0)) {
                    dest.push(x);
                }
            }
            mk_list(ex, ElemTy::Any, dest)
        }
        "without" | "mustWithout" => {
            let v = arg(&a, 0)?;
            let l = as_list(v).ok_or_else(|| kind_err("find without", v))?;
            let omit = a.get(1..).unwrap_or(&[]);
            let mut res = Vec::new();
            for x in &l.items {
                ex.step()?;
                if !omit.iter().any(|o| deep_equal(x, o, 0)) {
                    res.push(x.clone());
                }
            }
            mk_list(ex, ElemTy::Any, res)
        }
        "has" | "mustHas" => {
            let hay = arg(&a, 1)?;
            if hay.is_nil() {
                return Ok(Value::Bool(false));
            }
            let l = as_list(hay).ok_or_else(|| kind_err("find has", hay))?;
            let needle = arg(&a, 0)?;
            Ok(Value::Bool(
                l.items.iter().any(|x| deep_equal(needle, x, 0)),
            ))
        }
        "slice" | "mustSlice" => {
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
        "concat" => {
            let mut res = Vec::new();
            for v in &a {
                let l = as_list(v).ok_or_else(|| kind_err("concat", v))?;
                ex.alloc_list(res.len() + l.items.len())?;
                res.extend(l.items.iter().cloned());
            }
            mk_list(ex, ElemTy::Any, res)
        }
        "chunk" | "mustChunk" => {
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

        // ---- dicts ----
        "dict" => {
            let mut m = BTreeMap::new();
            let mut i = 0;
            while i < a.len() {
                let mut k = SBuf::new();
                strval(ex, arg(&a, i)?, &mut k)?;
                let v = a.get(i + 1).cloned().unwrap_or_else(|| Value::str(b""));
                m.insert(k.into_secret(), v);
                i += 2;
            }
            ex.new_map(ElemTy::Any, m)
        }
        "get" => {
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
        "set" => {
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
        "unset" => {
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
        "hasKey" => {
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
        "pluck" => {
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
        "keys" => {
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
        "values" => {
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
        "pick" | "omit" => {
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
        "merge" | "mergeOverwrite" | "mustMerge" | "mustMergeOverwrite" => {
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
        "dig" => {
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

        // ---- flow control ----
        "fail" => Err(ErrKind::Fail),

        // ---- regex ----
        "regexMatch" | "mustRegexMatch" => {
            let re = go_regex(s_arg(&a, 0)?);
            match re {
                Ok(re) => Ok(Value::Bool(re.is_match(s_arg(&a, 1)?))),
                Err(err) if name == "mustRegexMatch" => Err(err),
                Err(_) => Ok(Value::Bool(false)),
            }
        }
        "regexFind" | "mustRegexFind" => {
            let re = go_regex(s_arg(&a, 0)?)?;
            let s = s_arg(&a, 1)?;
            let r = re
                .find(s)
                .map(|m| m.as_bytes().to_vec())
                .unwrap_or_default();
            let v = mk_bytes(ex, &r);
            drop(SecretBytes::new(r));
            v
        }
        "regexFindAll" | "mustRegexFindAll" => {
            let re = go_regex(s_arg(&a, 0)?)?;
            let s = s_arg(&a, 1)?;
            let n = i_arg(&a, 2)?;
            let parts = regex_find_all(&re, s, n)
                .into_iter()
                .map(|(x, y)| s.get(x..y).unwrap_or(&[]).to_vec())
                .collect();
            str_list(ex, parts)
        }
        "regexSplit" | "mustRegexSplit" => {
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
        "regexReplaceAll"
        | "mustRegexReplaceAll"
        | "regexReplaceAllLiteral"
        | "mustRegexReplaceAllLiteral" => {
            let re = go_regex(s_arg(&a, 0)?)?;
            let s = s_arg(&a, 1)?;
            let rep = s_arg(&a, 2)?;
            let est = s
                .len()
                .saturating_add(rep.len().saturating_mul(s.len().saturating_add(1)));
            ex.alloc(est.min(64 << 20))?;
            if est > 64 << 20 {
                return Err(ErrKind::Limit("memory"));
            }
            let r = if name.contains("Literal") {
                re.replace_all(s, regex::bytes::NoExpand(rep)).into_owned()
            } else {
                re.replace_all(s, rep).into_owned()
            };
            let v = Value::str(&r);
            drop(SecretBytes::new(r));
            Ok(v)
        }
        "regexQuoteMeta" => {
            let s = s_arg(&a, 0)?;
            let mut out = SBuf::with_capacity(s.len() * 2);
            for &b in s {
                if b"\\.+*?()|[]{}^$".contains(&b) {
                    out.push(b'\\');
                }
                out.push(b);
            }
            mk_str(ex, out)
        }
        _ => Err(ErrKind::FuncNotDefined(name.to_string())),
    }
}
