//! Sprig `numeric.go`: integer and float arithmetic, conversions, sequences.

use super::PT::{Any, Float, Int, Str};
use super::decimal::{Decimal, DecimalError};
#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("atoi", sg(&[Str], None), atoi),
    Func::call("int64", sg(&[Any], None), int64),
    Func::call("int", sg(&[Any], None), int),
    Func::call("float64", sg(&[Any], None), float64),
    Func::call("toDecimal", sg(&[Any], None), to_decimal),
    Func::call("until", sg(&[Int], None), until),
    Func::call("untilStep", sg(&[Int, Int, Int], None), f_until_step),
    Func::call("add1", sg(&[Any], None), add1),
    Func::call("add", sg(&[], Some(Any)), add),
    Func::call("sub", sg(&[Any, Any], None), sub),
    Func::call("div", sg(&[Any, Any], None), div),
    Func::call("mod", sg(&[Any, Any], None), div),
    Func::call("mul", sg(&[Any], Some(Any)), mul),
    Func::call("biggest", sg(&[Any], Some(Any)), biggest),
    Func::call("max", sg(&[Any], Some(Any)), biggest),
    Func::call("min", sg(&[Any], Some(Any)), min),
    Func::call("maxf", sg(&[Any], Some(Any)), maxf),
    Func::call("minf", sg(&[Any], Some(Any)), minf),
    Func::call("ceil", sg(&[Any], None), ceil),
    Func::call("floor", sg(&[Any], None), floor),
    Func::call("round", sg(&[Any, Int], Some(Float)), round),
    Func::call("add1f", sg(&[Any], None), add1f),
    Func::call("addf", sg(&[], Some(Any)), addf),
    Func::call("subf", sg(&[Any], Some(Any)), decimal_fold),
    Func::call("divf", sg(&[Any], Some(Any)), decimal_fold),
    Func::call("mulf", sg(&[Any], Some(Any)), decimal_fold),
];

fn atoi(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let s = s_arg(&a, 0)?;
    let v = std::str::from_utf8(s)
        .ok()
        .filter(|t| {
            !t.is_empty()
                && t.bytes()
                    .enumerate()
                    .all(|(i, c)| c.is_ascii_digit() || (i == 0 && (c == b'+' || c == b'-')))
        })
        .and_then(|t| t.parse::<i64>().ok())
        .unwrap_or(0);
    Ok(Value::int(v))
}

fn int64(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::int64(to_int64(arg(&a, 0)?)))
}

fn int(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::int(to_int64(arg(&a, 0)?)))
}

fn float64(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Float(to_float64(arg(&a, 0)?)))
}

fn to_decimal(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let mut s = SecretBytes::default();
    format::print_value(&mut s, &arg(&a, 0)?.clone().into_iface(), ex_cap(ex))?;
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

fn until(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let c = i_arg(&a, 0)?;
    let v = until_step(ex, 0, c, if c < 0 { -1 } else { 1 })?;
    Ok(Value::list(
        ElemTy::Int,
        v.into_iter().map(Value::int).collect(),
    ))
}

fn f_until_step(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let v = until_step(ex, i_arg(&a, 0)?, i_arg(&a, 1)?, i_arg(&a, 2)?)?;
    Ok(Value::list(
        ElemTy::Int,
        v.into_iter().map(Value::int).collect(),
    ))
}

fn add1(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::int64(to_int64(arg(&a, 0)?).wrapping_add(1)))
}

fn add(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::int64(
        a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_int64(v))),
    ))
}

fn sub(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::int64(
        to_int64(arg(&a, 0)?).wrapping_sub(to_int64(arg(&a, 1)?)),
    ))
}

fn div(_ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
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

fn mul(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::int64(
        a.iter().skip(1).fold(to_int64(arg(&a, 0)?), |acc, v| {
            acc.wrapping_mul(to_int64(v))
        }),
    ))
}

fn add1f(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    exec_decimal_op(ex, arg(&a, 0)?, &[Value::int(1)], "addf")
}

fn addf(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    exec_decimal_op(ex, &Value::Float(0.0), &a, "addf")
}

/// `subf`, `divf`, `mulf`: the first argument, then each further one applied in turn.
fn decimal_fold(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let (first, rest) = a.split_first().ok_or_else(|| e("missing argument"))?;
    exec_decimal_op(ex, first, rest, name)
}

/// Sprig's `execDecimalOp`: every operand through `toFloat64` and then shopspring/decimal,
/// exact arithmetic, then the nearest float64.
fn exec_decimal_op(ex: &mut dyn Runtime, first: &Value, rest: &[Value], op: &str) -> FR {
    let fail = |err: DecimalError| {
        e(match err {
            DecimalError::NotFinite => "Cannot create a Decimal from a non-finite float",
            DecimalError::DivByZero => "decimal division by 0",
            DecimalError::Overflow => "decimal exponent overflows an int32",
        })
    };
    let mut acc = Decimal::from_f64(to_float64(first)).map_err(fail)?;
    for v in rest {
        let x = Decimal::from_f64(to_float64(v)).map_err(fail)?;
        // Digit-by-digit work: quadratic for products, linear otherwise (plus the
        // exponent gap that aligning or scaling spans).
        let span = acc.len() as u64 + x.len() as u64 + 700;
        let cost = if op == "mulf" {
            span.saturating_mul(x.len() as u64 + 1)
        } else {
            span.saturating_mul(if op == "divf" { 4 } else { 1 })
        };
        ex.charge(cost / 64 + 1)?;
        ex.alloc(acc.len() + x.len() + 700)?;
        acc = match op {
            "addf" => acc.add(&x),
            "subf" => acc.sub(&x),
            "mulf" => acc.mul(&x).map_err(fail)?,
            _ => acc.div(&x).map_err(fail)?,
        };
    }
    Ok(Value::Float(acc.to_f64()))
}

fn biggest(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::int64(a.iter().map(to_int64).max().unwrap_or(0)))
}

fn min(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::int64(a.iter().map(to_int64).min().unwrap_or(0)))
}

fn maxf(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Float(
        a.iter().skip(1).fold(to_float64(arg(&a, 0)?), |acc, v| {
            nan_max(acc, to_float64(v))
        }),
    ))
}

fn minf(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Float(
        a.iter().skip(1).fold(to_float64(arg(&a, 0)?), |acc, v| {
            nan_min(acc, to_float64(v))
        }),
    ))
}

fn ceil(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Float(to_float64(arg(&a, 0)?).ceil()))
}

fn floor(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    Ok(Value::Float(to_float64(arg(&a, 0)?).floor()))
}

fn round(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
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

/// spf13/cast `trimZeroDecimal`.
pub(super) fn trim_zero_decimal(s: &[u8]) -> &[u8] {
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
pub(super) fn parse_int0(s: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(s).ok()?;
    if s.is_empty() {
        return None;
    }
    let n = crate::number::parse_number(s)?;
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
pub(super) fn parse_float(s: &[u8]) -> Option<f64> {
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
pub(super) fn to_int64(v: &Value) -> i64 {
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
pub(super) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i, t) => t.widen(*i) as f64,
        Value::Float(f) => *f,
        Value::Str(s) => parse_float(s.as_bytes()).unwrap_or(0.0),
        Value::Bool(b) if *b => 1.0,
        _ => 0.0,
    }
}

pub(super) fn until_step(
    ex: &mut dyn Runtime,
    start: i64,
    stop: i64,
    step: i64,
) -> Result<Vec<i64>, ErrKind> {
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
    let count = usize::try_from(count).map_err(|_| ErrKind::Limit(Limit::ListSize))?;
    ex.alloc_list(count)?;
    let mut v = Vec::with_capacity(count);
    let mut i = i128::from(start);
    for _ in 0..count {
        v.push(i64::try_from(i).unwrap_or(0));
        i += i128::from(step);
    }
    Ok(v)
}

pub(super) fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

pub(super) fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}
