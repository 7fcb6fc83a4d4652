//! Go `fmt` and `encoding/json` style formatting of values.

use super::value::{SecretBytes, Value, decode_rune, is_print, runes};
use super::{ErrKind, Limit};

const MAX_FMT_DEPTH: usize = 100;
const LOWERHEX: &[u8; 16] = b"0123456789abcdef";
const UPPERHEX: &[u8; 16] = b"0123456789ABCDEF";

/// Output-size guard used while formatting.
fn check(buf: &SecretBytes, cap: usize) -> Result<(), ErrKind> {
    if buf.len() > cap {
        return Err(ErrKind::Limit(Limit::Output));
    }
    Ok(())
}

/// `fmt.Fprint(w, v)` for a single operand (`%v`).
pub(crate) fn print_value(buf: &mut SecretBytes, v: &Value, cap: usize) -> Result<(), ErrKind> {
    fmt_arg(buf, v, 'v', &Spec::default(), cap, 0)
}

/// `fmt.Sprint(args...)`: spaces between operands when neither is a string.
pub(crate) fn sprint(buf: &mut SecretBytes, args: &[Value], cap: usize) -> Result<(), ErrKind> {
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            buf.push(b' ');
        }
        print_value(buf, a, cap)?;
        prev_string = is_string;
    }
    Ok(())
}

/// `fmt.Sprintln(args...)`.
pub(crate) fn sprintln(buf: &mut SecretBytes, args: &[Value], cap: usize) -> Result<(), ErrKind> {
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            buf.push(b' ');
        }
        print_value(buf, a, cap)?;
    }
    buf.push(b'\n');
    Ok(())
}

#[derive(Default, Clone)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf(format, args...)`.
pub(crate) fn sprintf(
    buf: &mut SecretBytes,
    format: &[u8],
    args: &[Value],
    cap: usize,
) -> Result<(), ErrKind> {
    let mut argi = 0usize;
    let mut i = 0usize;
    let n = format.len();
    while i < n {
        check(buf, cap)?;
        let start = i;
        while i < n && format.get(i) != Some(&b'%') {
            i += 1;
        }
        if i > start {
            buf.extend(format.get(start..i).unwrap_or(&[]));
        }
        if i >= n {
            break;
        }
        i += 1; // skip '%'
        let mut sp = Spec::default();
        // flags
        while let Some(&c) = format.get(i) {
            match c {
                b'#' => sp.sharp = true,
                b'0' => sp.zero = !sp.minus,
                b'+' => sp.plus = true,
                b'-' => {
                    sp.minus = true;
                    sp.zero = false;
                }
                b' ' => sp.space = true,
                _ => break,
            }
            i += 1;
        }
        // width
        if format.get(i) == Some(&b'*') {
            i += 1;
            match args.get(argi) {
                Some(Value::Int(w, _)) => {
                    let w = *w;
                    if w < 0 {
                        sp.minus = true;
                        sp.zero = false;
                    }
                    let w = w.unsigned_abs();
                    if w > 1_000_000 {
                        buf.push_str("%!(BADWIDTH)");
                    } else {
                        sp.width = Some(w as usize);
                    }
                }
                _ => buf.push_str("%!(BADWIDTH)"),
            }
            argi += 1;
        } else {
            let (w, ni) = parse_num(format, i);
            if ni > i {
                if w > 1_000_000 {
                    return Err(ErrKind::Limit(Limit::FormatWidth));
                }
                sp.width = Some(w);
            }
            i = ni;
        }
        // precision
        if format.get(i) == Some(&b'.') {
            i += 1;
            if format.get(i) == Some(&b'*') {
                i += 1;
                match args.get(argi) {
                    Some(Value::Int(p, _)) if *p >= 0 && *p <= 1_000_000 => {
                        sp.prec = Some(*p as usize)
                    }
                    _ => buf.push_str("%!(BADPREC)"),
                }
                argi += 1;
            } else {
                let (p, ni) = parse_num(format, i);
                if p > 1_000_000 {
                    return Err(ErrKind::Limit(Limit::FormatWidth));
                }
                sp.prec = Some(p);
                i = ni;
            }
        }
        if !sp.minus && sp.zero {
            // ok
        }
        let Some(rest) = format.get(i..).filter(|r| !r.is_empty()) else {
            buf.push_str("%!(NOVERB)");
            break;
        };
        let (verb, size) = decode_rune(rest);
        i += size.max(1);
        if verb == '%' {
            buf.push(b'%');
            continue;
        }
        match args.get(argi) {
            None => {
                buf.push_str("%!");
                buf.push_char(verb);
                buf.push_str("(MISSING)");
            }
            Some(a) => {
                argi += 1;
                fmt_arg(buf, a, verb, &sp, cap, 0)?;
            }
        }
    }
    if argi < args.len() {
        buf.push_str("%!(EXTRA ");
        for (k, a) in args.iter().skip(argi).enumerate() {
            if k > 0 {
                buf.push_str(", ");
            }
            if a.is_nil() {
                buf.push_str("<nil>");
            } else {
                buf.push_str(&a.type_name());
                buf.push(b'=');
                fmt_arg(buf, a, 'v', &Spec::default(), cap, 0)?;
            }
        }
        buf.push(b')');
    }
    check(buf, cap)
}

fn parse_num(f: &[u8], mut i: usize) -> (usize, usize) {
    let mut v: usize = 0;
    while let Some(c) = f.get(i).filter(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(usize::from(c - b'0'));
        i += 1;
    }
    (v, i)
}

fn bad_verb(
    buf: &mut SecretBytes,
    v: &Value,
    verb: char,
    cap: usize,
    depth: usize,
) -> Result<(), ErrKind> {
    buf.push_str("%!");
    buf.push_char(verb);
    buf.push(b'(');
    if v.is_nil() {
        buf.push_str("<nil>");
    } else {
        buf.push_str(&v.type_name());
        buf.push(b'=');
        fmt_arg(buf, v, 'v', &Spec::default(), cap, depth + 1)?;
    }
    buf.push(b')');
    Ok(())
}

/// Pads `body` according to width/minus (with spaces, or zeros if `zero`).
fn pad(buf: &mut SecretBytes, body: &[u8], sp: &Spec, zero: bool) {
    let width = sp.width.unwrap_or(0);
    // Counting stops at the width: printing a long value without one costs a copy, not a decode.
    let count = runes(body).take(width).count();
    if count >= width {
        buf.extend(body);
        return;
    }
    let padn = width - count;
    let padc = if zero && !sp.minus { b'0' } else { b' ' };
    if sp.minus {
        buf.extend(body);
        for _ in 0..padn {
            buf.push(b' ');
        }
    } else {
        for _ in 0..padn {
            buf.push(padc);
        }
        buf.extend(body);
    }
}

fn fmt_arg(
    buf: &mut SecretBytes,
    v: &Value,
    verb: char,
    sp: &Spec,
    cap: usize,
    depth: usize,
) -> Result<(), ErrKind> {
    if depth > MAX_FMT_DEPTH {
        return Err(ErrKind::Limit(Limit::Depth));
    }
    check(buf, cap)?;
    if verb == 'T' {
        let t = v.type_name();
        pad(buf, t.as_bytes(), sp, false);
        return Ok(());
    }
    match v {
        Value::Invalid | Value::Nil => {
            if verb == 'v' {
                pad(buf, b"<nil>", sp, false);
                Ok(())
            } else {
                bad_verb(buf, v, verb, cap, depth)
            }
        }
        Value::Bool(b) => match verb {
            't' | 'v' => {
                pad(buf, if *b { b"true" } else { b"false" }, sp, false);
                Ok(())
            }
            _ => bad_verb(buf, v, verb, cap, depth),
        },
        Value::Int(i, t) => {
            // fmt's handleMethods: a Stringer prints its String() under the string verbs
            if let Some(name) = t.name_of(*i)
                && matches!(verb, 'v' | 's' | 'q' | 'x' | 'X')
            {
                return fmt_arg(buf, &Value::str(name.as_bytes()), verb, sp, cap, depth + 1);
            }
            let unsigned = t.unsigned();
            match verb {
                'v' | 'd' => fmt_int(buf, *i, 10, false, verb, sp, unsigned),
                'b' => fmt_int(buf, *i, 2, false, verb, sp, unsigned),
                'o' | 'O' => fmt_int(buf, *i, 8, false, verb, sp, unsigned),
                'x' => fmt_int(buf, *i, 16, false, verb, sp, unsigned),
                'X' => fmt_int(buf, *i, 16, true, verb, sp, unsigned),
                'c' => {
                    let c = u32::try_from(*i)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\u{FFFD}');
                    let mut tmp = [0u8; 4];
                    pad(buf, c.encode_utf8(&mut tmp).as_bytes(), sp, false);
                }
                'q' => {
                    let c = u32::try_from(*i)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\u{FFFD}');
                    let mut tmp = SecretBytes::default();
                    tmp.push(b'\'');
                    if c == '\'' || c == '\\' {
                        tmp.push(b'\\');
                        tmp.push_char(c);
                    } else {
                        escape_rune(&mut tmp, c, b'\'', sp.plus);
                    }
                    tmp.push(b'\'');
                    pad(buf, tmp.as_bytes(), sp, false);
                }
                'U' => {
                    let s = format!("U+{:04X}", *i);
                    pad(buf, s.as_bytes(), sp, false);
                }
                _ => {
                    return bad_verb(buf, v, verb, cap, depth);
                }
            }
            Ok(())
        }
        Value::Float(f) => match verb {
            'v' | 'g' | 'G' | 'e' | 'E' | 'f' | 'F' => {
                fmt_float(buf, *f, verb, sp);
                Ok(())
            }
            _ => bad_verb(buf, v, verb, cap, depth),
        },
        Value::Str(s) => {
            let s = s.as_bytes();
            match verb {
                // Go's %#v of a string is its double-quoted form (never backquoted).
                'v' if sp.sharp => {
                    let quoted = Spec {
                        sharp: false,
                        ..sp.clone()
                    };
                    fmt_arg(buf, v, 'q', &quoted, cap, depth)
                }
                'v' | 's' => {
                    let body = truncate_runes(s, sp.prec);
                    pad(buf, body, sp, sp.zero);
                    Ok(())
                }
                'x' | 'X' => {
                    let upper = verb == 'X';
                    let body = match sp.prec {
                        Some(p) => s.get(..p.min(s.len())).unwrap_or(s),
                        None => s,
                    };
                    let mut tmp = SecretBytes::with_capacity(body.len() * 2);
                    let digits = if upper { UPPERHEX } else { LOWERHEX };
                    for (k, b) in body.iter().enumerate() {
                        if sp.space && k > 0 {
                            tmp.push(b' ');
                        }
                        if sp.sharp && (sp.space || k == 0) {
                            tmp.push_str(if upper { "0X" } else { "0x" });
                        }
                        tmp.push(digits[usize::from(b >> 4)]);
                        tmp.push(digits[usize::from(b & 15)]);
                    }
                    pad(buf, tmp.as_bytes(), sp, false);
                    Ok(())
                }
                'q' => {
                    let body = truncate_runes(s, sp.prec);
                    let mut tmp = SecretBytes::default();
                    if sp.sharp && can_backquote(body) {
                        tmp.push(b'`');
                        tmp.extend(body);
                        tmp.push(b'`');
                    } else {
                        quote_into(&mut tmp, body, sp.plus);
                    }
                    pad(buf, tmp.as_bytes(), sp, false);
                    Ok(())
                }
                _ => bad_verb(buf, v, verb, cap, depth),
            }
        }
        Value::List(l) => {
            buf.push(b'[');
            for (k, e) in l.items.iter().enumerate() {
                if k > 0 {
                    buf.push(b' ');
                }
                fmt_arg(buf, e, verb, sp, cap, depth + 1)?;
            }
            buf.push(b']');
            Ok(())
        }
        Value::Object(o) => {
            // fmt's handleMethods: a Stringer prints its String() under the string verbs.
            if let Some(s) = o.string()
                && matches!(verb, 'v' | 's' | 'q' | 'x' | 'X')
            {
                return fmt_arg(buf, &Value::string(s), verb, sp, cap, depth + 1);
            }
            if o.kind_name() != "struct" {
                return bad_verb(buf, v, verb, cap, depth);
            }
            buf.push(b'{');
            for (k, field) in o.fields().iter().enumerate() {
                if k > 0 {
                    buf.push(b' ');
                }
                fmt_arg(buf, field, verb, sp, cap, depth + 1)?;
            }
            buf.push(b'}');
            Ok(())
        }
        Value::Map(m) => {
            let m = m
                .try_borrow()
                .map_err(|_| ErrKind::Exec("map in use".into()))?;
            buf.push_str("map[");
            for (k, (key, val)) in m.entries.iter().enumerate() {
                if k > 0 {
                    buf.push(b' ');
                }
                let kv = Value::str(key.as_bytes());
                fmt_arg(buf, &kv, verb, sp, cap, depth + 1)?;
                buf.push(b':');
                fmt_arg(buf, val, verb, sp, cap, depth + 1)?;
            }
            buf.push(b']');
            Ok(())
        }
    }
}

fn truncate_runes(s: &[u8], prec: Option<usize>) -> &[u8] {
    match prec {
        None => s,
        Some(p) => {
            let mut end = s.len();
            for (k, (_, start, _)) in runes(s).enumerate() {
                if k == p {
                    end = start;
                    break;
                }
            }
            s.get(..end).unwrap_or(s)
        }
    }
}

fn fmt_int(
    buf: &mut SecretBytes,
    i: i64,
    base: u32,
    upper: bool,
    verb: char,
    sp: &Spec,
    unsigned: bool,
) {
    let neg = i < 0 && !unsigned;
    let mag: u64 = if unsigned { i as u64 } else { i.unsigned_abs() };
    let mut digits = match base {
        2 => format!("{mag:b}"),
        8 => format!("{mag:o}"),
        16 if upper => format!("{mag:X}"),
        16 => format!("{mag:x}"),
        _ => format!("{mag}"),
    };
    if let Some(p) = sp.prec {
        if p == 0 && mag == 0 {
            digits.clear();
        }
        if digits.len() < p {
            digits = format!("{}{digits}", "0".repeat(p - digits.len()));
        }
    }
    let mut prefix = String::new();
    if neg {
        prefix.push('-');
    } else if sp.plus {
        prefix.push('+');
    } else if sp.space {
        prefix.push(' ');
    }
    if sp.sharp {
        match base {
            2 => prefix.push_str("0b"),
            8 if !digits.starts_with('0') => prefix.push('0'),
            16 => prefix.push_str(if upper { "0X" } else { "0x" }),
            _ => {}
        }
    }
    if verb == 'O' {
        prefix.push_str("0o");
    }
    let zero = sp.zero && sp.prec.is_none() && !sp.minus;
    if zero && let Some(w) = sp.width {
        while prefix.len() + digits.len() < w {
            digits.insert(0, '0');
        }
    }
    let body = format!("{prefix}{digits}");
    pad(buf, body.as_bytes(), sp, false);
}

/// Decimal digits and decimal point position of |f| (digits trimmed of
/// trailing zeros), rounded to `sig` significant digits or shortest.
fn digits_of(f: f64, sig: Option<usize>) -> (Vec<u8>, i32) {
    let s = match sig {
        Some(n) => format!("{:.*e}", n.saturating_sub(1), f.abs()),
        None => format!("{:e}", f.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.len() > 1 && d.last() == Some(&b'0') {
        d.pop();
    }
    if d.iter().all(|c| *c == b'0') {
        return (Vec::new(), 0);
    }
    (d, exp + 1)
}

fn fmt_e(out: &mut String, d: &[u8], dp: i32, prec: usize, e: char) {
    out.push(char::from(*d.first().unwrap_or(&b'0')));
    if prec > 0 {
        out.push('.');
        for k in 1..=prec {
            out.push(char::from(*d.get(k).unwrap_or(&b'0')));
        }
    }
    out.push(e);
    let exp = if d.is_empty() { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
}

fn fmt_f(out: &mut String, d: &[u8], dp: i32, prec: usize) {
    if dp > 0 {
        let dpu = dp as usize;
        for k in 0..dpu {
            out.push(char::from(*d.get(k).unwrap_or(&b'0')));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for k in 1..=prec {
            let idx = i64::from(dp) + k as i64 - 1;
            let c = if idx >= 0 {
                usize::try_from(idx)
                    .ok()
                    .and_then(|i| d.get(i))
                    .copied()
                    .unwrap_or(b'0')
            } else {
                b'0'
            };
            out.push(char::from(c));
        }
    }
}

/// strconv.FormatFloat(f, fmt, prec, 64) for 'e','f','g' (magnitude only).
pub(crate) fn format_float_abs(f: f64, verb: char, prec: Option<usize>) -> String {
    let mut out = String::new();
    let lower = verb.to_ascii_lowercase();
    let e_char = if verb.is_ascii_uppercase() { 'E' } else { 'e' };
    match lower {
        'f' => {
            let p = prec.unwrap_or(6);
            if p > 1000 {
                out.push_str(&format!("{:.1000}", f.abs()));
            } else {
                out.push_str(&format!("{:.*}", p, f.abs()));
            }
        }
        'e' => {
            let p = prec.unwrap_or(6);
            let (d, dp) = digits_of(f, Some(p.min(800) + 1));
            fmt_e(&mut out, &d, dp, p, e_char);
        }
        _ => {
            // 'g' / 'v'
            let shortest = prec.is_none();
            let (d, dp) = match prec {
                None => digits_of(f, None),
                Some(p) => digits_of(f, Some(p.clamp(1, 800))),
            };
            let nd = d.len() as i32;
            let mut p: i32 = match prec {
                None => nd,
                Some(p) => p.clamp(1, 800) as i32,
            };
            let mut eprec = p;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if d.is_empty() {
                // zero
                out.push('0');
                return out;
            }
            if exp < -4 || exp >= eprec {
                if p > nd {
                    p = nd;
                }
                fmt_e(&mut out, &d, dp, (p - 1).max(0) as usize, e_char);
            } else {
                if p > dp {
                    p = nd;
                }
                fmt_f(&mut out, &d, dp, (p - dp).max(0) as usize);
            }
        }
    }
    out
}

fn fmt_float(buf: &mut SecretBytes, f: f64, verb: char, sp: &Spec) {
    let verb = if verb == 'v' { 'g' } else { verb };
    let mut body = String::new();
    if f.is_nan() {
        if sp.plus {
            body.push('+');
        } else if sp.space {
            body.push(' ');
        }
        body.push_str("NaN");
        pad(buf, body.as_bytes(), sp, false);
        return;
    }
    if f.is_sign_negative() {
        body.push('-');
    } else if sp.plus {
        body.push('+');
    } else if sp.space {
        body.push(' ');
    }
    if f.is_infinite() {
        // Go keeps the sign of an infinity even unasked: "+Inf".
        if body.is_empty() {
            body.push('+');
        }
        body.push_str("Inf");
        pad(buf, body.as_bytes(), sp, false);
        return;
    }
    let num = format_float_abs(f, verb, sp.prec);
    let zero = sp.zero && !sp.minus;
    if zero && let Some(w) = sp.width {
        let sign_len = body.len();
        let mut z = String::new();
        while sign_len + z.len() + num.len() < w {
            z.push('0');
        }
        body.push_str(&z);
    }
    body.push_str(&num);
    pad(buf, body.as_bytes(), sp, false);
}

fn can_backquote(s: &[u8]) -> bool {
    for (c, _, n) in runes(s) {
        if c == '\u{FFFD}' && n == 1 {
            return false;
        }
        if c == '`' || c == '\u{FEFF}' {
            return false;
        }
        if (c as u32) < 0x20 && c != '\t' || c == '\u{7F}' {
            return false;
        }
    }
    true
}

fn escape_rune(out: &mut SecretBytes, r: char, quote: u8, ascii_only: bool) {
    if u32::from(r) == u32::from(quote) || r == '\\' {
        out.push(b'\\');
        out.push_char(r);
        return;
    }
    if ascii_only {
        if r.is_ascii() && is_print(r) {
            out.push_char(r);
            return;
        }
    } else if is_print(r) {
        out.push_char(r);
        return;
    }
    match r {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{C}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{B}' => out.push_str("\\v"),
        _ => {
            let v = u32::from(r);
            if v < 0x20 || v == 0x7f {
                out.push_str("\\x");
                out.push(LOWERHEX[(v >> 4) as usize & 15]);
                out.push(LOWERHEX[v as usize & 15]);
            } else if v < 0x10000 {
                out.push_str("\\u");
                for s in [12u32, 8, 4, 0] {
                    out.push(LOWERHEX[((v >> s) & 15) as usize]);
                }
            } else {
                out.push_str("\\U");
                for s in [28u32, 24, 20, 16, 12, 8, 4, 0] {
                    out.push(LOWERHEX[((v >> s) & 15) as usize]);
                }
            }
        }
    }
}

/// strconv.Quote (or QuoteToASCII when `ascii_only`).
pub(crate) fn quote_into(out: &mut SecretBytes, s: &[u8], ascii_only: bool) {
    out.push(b'"');
    for (c, start, n) in runes(s) {
        if c == '\u{FFFD}' && n == 1 {
            let b = s.get(start).copied().unwrap_or(0);
            out.push_str("\\x");
            out.push(LOWERHEX[usize::from(b >> 4)]);
            out.push(LOWERHEX[usize::from(b & 15)]);
            continue;
        }
        escape_rune(out, c, b'"', ascii_only);
    }
    out.push(b'"');
}

/// encoding/json string encoding.
fn json_string(out: &mut SecretBytes, s: &[u8], escape_html: bool) {
    out.push(b'"');
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b < 0x80 {
            let safe = b >= 0x20
                && b != b'"'
                && b != b'\\'
                && !(escape_html && matches!(b, b'<' | b'>' | b'&'));
            if safe {
                out.push(b);
            } else {
                match b {
                    b'\\' | b'"' => {
                        out.push(b'\\');
                        out.push(b);
                    }
                    8 => out.push_str("\\b"),
                    12 => out.push_str("\\f"),
                    b'\n' => out.push_str("\\n"),
                    b'\r' => out.push_str("\\r"),
                    b'\t' => out.push_str("\\t"),
                    _ => {
                        out.push_str("\\u00");
                        out.push(LOWERHEX[usize::from(b >> 4)]);
                        out.push(LOWERHEX[usize::from(b & 15)]);
                    }
                }
            }
            i += 1;
            continue;
        }
        let (c, n) = decode_rune(s.get(i..).unwrap_or(&[]));
        if c == '\u{FFFD}' && n == 1 {
            out.push_str("\\ufffd");
            i += 1;
            continue;
        }
        if c == '\u{2028}' || c == '\u{2029}' {
            out.push_str(if c == '\u{2028}' {
                "\\u2028"
            } else {
                "\\u2029"
            });
        } else {
            out.extend(s.get(i..i + n).unwrap_or(&[]));
        }
        i += n.max(1);
    }
    out.push(b'"');
}

/// encoding/json float encoding.
fn json_float(out: &mut SecretBytes, f: f64) -> Result<(), ErrKind> {
    if !f.is_finite() {
        return Err(ErrKind::Exec("json: unsupported value".into()));
    }
    let abs = f.abs();
    let use_e = abs != 0.0 && !(1e-6..1e21).contains(&abs);
    if f.is_sign_negative() {
        out.push(b'-');
    }
    if use_e {
        let (d, dp) = digits_of(f, None);
        let mut s = String::new();
        fmt_e(&mut s, &d, dp, d.len().saturating_sub(1), 'e');
        // clean up e-09 to e-9
        let b = s.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            let last = b[n - 1];
            s.truncate(n - 2);
            s.push(char::from(last));
        }
        out.push_str(&s);
    } else {
        let (d, dp) = digits_of(f, None);
        let mut s = String::new();
        fmt_f(&mut s, &d, dp, (d.len() as i32 - dp).max(0) as usize);
        out.push_str(&s);
    }
    Ok(())
}

/// JSON encoding like Go's `json.Marshal` / `MarshalIndent(v, "", "  ")`.
pub(crate) fn to_json(
    out: &mut SecretBytes,
    v: &Value,
    escape_html: bool,
    indent: bool,
    level: usize,
    cap: usize,
) -> Result<(), ErrKind> {
    if level > MAX_FMT_DEPTH {
        return Err(ErrKind::Exec("json: nesting too deep".into()));
    }
    check(out, cap)?;
    let nl = |out: &mut SecretBytes, lvl: usize| {
        if indent {
            out.push(b'\n');
            for _ in 0..lvl {
                out.push_str("  ");
            }
        }
    };
    match v {
        Value::Invalid | Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i, t) => out.push_str(&t.widen(*i).to_string()),
        Value::Object(o) => to_json(out, &o.json_value(), escape_html, indent, level, cap)?,
        Value::Float(f) => json_float(out, *f)?,
        Value::Str(s) => json_string(out, s.as_bytes(), escape_html),
        Value::List(l) => {
            out.push(b'[');
            for (k, e) in l.items.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                nl(out, level + 1);
                to_json(out, e, escape_html, indent, level + 1, cap)?;
            }
            if !l.items.is_empty() {
                nl(out, level);
            }
            out.push(b']');
        }
        Value::Map(m) => {
            let m = m
                .try_borrow()
                .map_err(|_| ErrKind::Exec("json: cycle".into()))?;
            out.push(b'{');
            for (k, (key, val)) in m.entries.iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                nl(out, level + 1);
                json_string(out, key.as_bytes(), escape_html);
                out.push(b':');
                if indent {
                    out.push(b' ');
                }
                to_json(out, val, escape_html, indent, level + 1, cap)?;
            }
            if !m.entries.is_empty() {
                nl(out, level);
            }
            out.push(b'}');
        }
    }
    Ok(())
}
