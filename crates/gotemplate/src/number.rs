//! Go's number literals, as the template parser reads constants and as functions that parse
//! numbers from strings read them.

/// A parsed number literal (Go's NumberNode).
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub(crate) is_int: bool,
    pub(crate) is_float: bool,
    pub(crate) int: i64,
    pub(crate) float: f64,
    /// Literal looks like a float (contains . e E p P, not hex int, not rune).
    pub(crate) float_syntax: bool,
    /// Fits uint64 but not int64.
    pub(crate) uint_only: bool,
}

fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let b = match b.first() {
        Some(b'+' | b'-') => b.get(1..).unwrap_or(&[]),
        _ => b,
    };
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1] | 0x20 == b'x';
    }
    while let Some(&c) = b.get(i) {
        i += 1;
        if c.is_ascii_digit() || hex && (c | 0x20).is_ascii_hexdigit() {
            saw = b'0';
            continue;
        }
        if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

/// Go's `strconv.ParseInt(s, 0, 64)` / `ParseUint`: returns the magnitude
/// as i128 with sign applied.
fn parse_int_base0(s: &str) -> Option<i128> {
    if !underscore_ok(s) {
        return None;
    }
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower.get(1..)?)
    } else {
        (10, lower.as_str())
    };
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() {
        return None;
    }
    let mag = u64::from_str_radix(&digits, radix).ok()?;
    let v = i128::from(mag);
    Some(if neg { -v } else { v })
}

pub(crate) fn parse_number(text: &str) -> Option<Number> {
    let mut n = Number {
        is_int: false,
        is_float: false,
        int: 0,
        float: 0.0,
        float_syntax: false,
        uint_only: false,
    };
    let is_hex_int = text.len() > 2
        && text.starts_with('0')
        && matches!(text.as_bytes().get(1), Some(b'x' | b'X'))
        && !text.contains(['p', 'P']);
    n.float_syntax = !is_hex_int && text.contains(['.', 'e', 'E', 'p', 'P']);
    if let Some(v) = parse_int_base0(text) {
        if let Ok(i) = i64::try_from(v) {
            n.is_int = true;
            n.int = i;
            n.is_float = true;
            n.float = i as f64;
        } else if v >= 0 {
            n.uint_only = true;
            n.is_float = true;
            n.float = v as f64;
        }
        return Some(n);
    }
    // float
    if text.contains(['x', 'X']) {
        // hex floats are not supported
        return None;
    }
    if text.contains('_') {
        return None;
    }
    let f: f64 = text.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    if !text.contains(['.', 'e', 'E', 'p', 'P']) {
        return None; // integer overflow
    }
    n.is_float = true;
    n.float = f;
    if f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
        n.is_int = true;
        n.int = f as i64;
    }
    Some(n)
}
