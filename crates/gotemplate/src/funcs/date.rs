//! Sprig `date.go`: dates and durations, over [`gotime`](super::gotime).

use super::PT::{Any, Str};
use super::gotime::{self, Loc, Time};
#[allow(clippy::wildcard_imports)]
use super::*;
use crate::value::GoObject;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("ago", sg(&[Any], None), ago),
    Func::call("date", sg(&[Str, Any], None), date),
    Func::call("date_in_zone", sg(&[Str, Any, Str], None), date_in_zone),
    Func::call("date_modify", sg(&[Str, Any], None), date_modify),
    Func::call("dateInZone", sg(&[Str, Any, Str], None), date_in_zone),
    Func::call("dateModify", sg(&[Str, Any], None), date_modify),
    Func::call("duration", sg(&[Any], None), duration),
    Func::call("durationRound", sg(&[Any], None), duration_round),
    Func::call("htmlDate", sg(&[Any], None), html_date),
    Func::call("htmlDateInZone", sg(&[Any, Str], None), html_date_in_zone),
    Func::call("must_date_modify", sg(&[Str, Any], None), date_modify),
    Func::call("mustDateModify", sg(&[Str, Any], None), date_modify),
    Func::call("mustToDate", sg(&[Str, Str], None), to_date),
    Func::call("now", sg(&[], None), now),
    Func::call("toDate", sg(&[Str, Str], None), to_date),
    Func::call("unixEpoch", sg(&[Any], None), unix_epoch),
];

/// Work charged for looking up a zone by name (a file read, the first time).
const ZONE_WORK: u64 = 2_000;

/// A `time.Time` in a template.
pub(crate) struct TimeObject(pub(crate) Time);

pub(crate) fn time_value(t: Time) -> Value {
    Value::Object(Rc::new(TimeObject(t)))
}

/// The `time.Time` in `v`, if it holds one.
fn as_time(v: &Value) -> Option<&Time> {
    match v {
        Value::Object(o) => o.as_any().downcast_ref::<TimeObject>().map(|t| &t.0),
        _ => None,
    }
}

/// A `time.Time` parameter: anything else fails as Go's argument check does.
fn time_arg(a: &[Value], i: usize) -> Result<&Time, ErrKind> {
    as_time(arg(a, i)?).ok_or_else(|| e("wrong type for value; expected time.Time"))
}

/// Layouts are scanned once per element; long ones cost accordingly.
fn charge_layout(ex: &mut dyn Runtime, layout: &[u8]) -> Result<(), ErrKind> {
    ex.charge(layout.len() as u64 / 16 + 1)?;
    ex.alloc(layout.len().saturating_mul(4) + 64)
}

fn format_in(ex: &mut dyn Runtime, t: &Time, layout: &[u8]) -> FR {
    charge_layout(ex, layout)?;
    let out = gotime::format(t, layout);
    mk_bytes(ex, &out)
}

impl GoObject for TimeObject {
    fn type_name(&self) -> &'static str {
        "time.Time"
    }
    fn kind_name(&self) -> &'static str {
        "struct"
    }
    fn string(&self) -> Option<SecretBytes> {
        Some(SecretBytes::new(self.0.string()))
    }
    fn json_value(&self) -> Value {
        Value::str(&gotime::format(
            &self.0,
            b"2006-01-02T15:04:05.999999999Z07:00",
        ))
    }
    fn equals(&self, other: &dyn GoObject) -> bool {
        other
            .as_any()
            .downcast_ref::<TimeObject>()
            .is_some_and(|o| o.0.go_eq(&self.0))
    }
    fn params(&self, name: &str) -> Option<&'static [PT]> {
        match name {
            "Unix" | "UnixMilli" | "UnixMicro" | "UnixNano" | "Year" | "Month" | "Weekday"
            | "Day" | "Hour" | "Minute" | "Second" | "Nanosecond" | "YearDay" | "UTC" | "Local"
            | "String" | "IsZero" => Some(&[]),
            "Format" => Some(&[Str]),
            "Before" | "After" | "Equal" => Some(&[Any]),
            _ => None,
        }
    }
    fn call(&self, ex: &mut dyn Runtime, name: &str, args: Vec<Value>) -> FR {
        let t = &self.0;
        let c = || t.civil();
        let scaled = |per_sec: i64| {
            Value::int64(
                t.unix
                    .wrapping_mul(per_sec)
                    .wrapping_add(i64::from(t.nsec) / (1_000_000_000 / per_sec)),
            )
        };
        Ok(match name {
            "Unix" => Value::int64(t.unix),
            "UnixMilli" => scaled(1_000),
            "UnixMicro" => scaled(1_000_000),
            "UnixNano" => scaled(1_000_000_000),
            "Year" => Value::int(c().year),
            "Month" => Value::Int(i64::from(c().month), IntTy::Month),
            "Weekday" => Value::Int(c().weekday as i64, IntTy::Weekday),
            "Day" => Value::int(i64::from(c().day)),
            "Hour" => Value::int(c().hour),
            "Minute" => Value::int(c().min),
            "Second" => Value::int(c().sec),
            "Nanosecond" => Value::int(i64::from(t.nsec)),
            "YearDay" => Value::int(c().yday),
            "UTC" => time_value(t.in_loc(Loc::Utc)),
            "Local" => time_value(t.in_loc(Loc::Local)),
            "String" => return mk_bytes(ex, &t.string()),
            "IsZero" => Value::Bool(t.is_zero()),
            "Format" => return format_in(ex, t, s_arg(&args, 0)?),
            _ => {
                let o = time_arg(&args, 0)?;
                let ord = t.cmp_instant(o);
                Value::Bool(match name {
                    "Before" => ord.is_lt(),
                    "After" => ord.is_gt(),
                    _ => ord.is_eq(),
                })
            }
        })
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The instant `date`/`dateInZone`/`htmlDate` show: a time, or Unix seconds as `int`/
/// `int64`; anything else is now.
fn date_of(v: &Value) -> Time {
    match v {
        Value::Int(i, IntTy::Int | IntTy::Int64) => Time::unix(*i),
        other => as_time(other).cloned().unwrap_or_else(Time::now),
    }
}

/// Sprig's `dateInZone`: an unknown zone is UTC.
fn date_in(ex: &mut dyn Runtime, layout: &[u8], when: &Value, zone: &[u8]) -> FR {
    ex.charge(ZONE_WORK)?;
    let loc = gotime::load_location(zone).unwrap_or(Loc::Utc);
    let t = date_of(when).in_loc(loc);
    format_in(ex, &t, layout)
}

fn date(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    date_in(ex, s_arg(&a, 0)?, arg(&a, 1)?, b"Local")
}

fn date_in_zone(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    date_in(ex, s_arg(&a, 0)?, arg(&a, 1)?, s_arg(&a, 2)?)
}

fn html_date(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    date_in(ex, b"2006-01-02", arg(&a, 0)?, b"Local")
}

fn html_date_in_zone(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    date_in(ex, b"2006-01-02", arg(&a, 0)?, s_arg(&a, 1)?)
}

/// `dateModify` keeps the date when the duration does not parse; `mustDateModify` fails.
fn date_modify(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let d = s_arg(&a, 0)?;
    ex.charge_scan(d.len())?;
    let t = time_arg(&a, 1)?;
    match gotime::parse_duration(d) {
        Ok(d) => Ok(time_value(t.add(d))),
        Err(_) if name.starts_with("must") => Err(e("time: invalid duration")),
        Err(_) => Ok(time_value(t.clone())),
    }
}

/// `toDate` is the zero time when the value does not parse; `mustToDate` fails.
fn to_date(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let (layout, value) = (s_arg(&a, 0)?, s_arg(&a, 1)?);
    charge_layout(ex, layout)?;
    ex.charge_scan(value.len())?;
    match gotime::parse_in_local(layout, value) {
        Ok(t) => Ok(time_value(t)),
        Err(_) if name == "mustToDate" => Err(e("parsing time")),
        Err(_) => Ok(time_value(Time::zero())),
    }
}

fn now(_ex: &mut dyn Runtime, _name: &str, _a: Vec<Value>) -> FR {
    Ok(time_value(Time::now()))
}

fn unix_epoch(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let t = time_arg(&a, 0)?;
    mk_bytes(ex, t.unix.to_string().as_bytes())
}

/// Sprig's `dateAgo`: time since a time, or Unix seconds as `int`/`int64`, to the second.
fn ago(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let now = Time::now();
    let then = date_of(arg(&a, 0)?);
    let since = gotime::duration_round(now.sub(&then), 1_000_000_000);
    mk_bytes(ex, gotime::duration_string(since).as_bytes())
}

/// Sprig's `duration`: seconds as a decimal string or an `int64` (any other type is 0).
fn duration(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let n = match arg(&a, 0)? {
        Value::Str(s) => parse_int10(s.as_bytes()).unwrap_or(0),
        Value::Int(i, IntTy::Int64) => *i,
        _ => 0,
    };
    let d = n.wrapping_mul(1_000_000_000);
    mk_bytes(ex, gotime::duration_string(d).as_bytes())
}

/// Go's `strconv.ParseInt(s, 10, 64)`.
fn parse_int10(s: &[u8]) -> Option<i64> {
    let digits = match s.first() {
        Some(b'+' | b'-') => &s[1..],
        _ => s,
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // out of range: Go returns the nearest bound along with the error
    let bound = if s.first() == Some(&b'-') {
        i64::MIN
    } else {
        i64::MAX
    };
    Some(std::str::from_utf8(s).ok()?.parse().unwrap_or(bound))
}

/// Sprig's `durationRound`: the largest whole unit of a duration (string, `int64`
/// nanoseconds, or the time since a `time.Time`).
fn duration_round(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let v = arg(&a, 0)?;
    let d = match v {
        Value::Str(s) => {
            ex.charge_scan(s.len())?;
            gotime::parse_duration(s.as_bytes()).unwrap_or(0)
        }
        Value::Int(i, IntTy::Int64) => *i,
        other => as_time(other).map_or(0, |t| Time::now().sub(t)),
    };
    let u = d.unsigned_abs();
    const HOUR: u64 = 3_600_000_000_000;
    let units: [(u64, &str); 6] = [
        (HOUR * 24 * 365, "y"),
        (HOUR * 24 * 30, "mo"),
        (HOUR * 24, "d"),
        (HOUR, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
    ];
    let out = units.iter().find(|(size, _)| u > *size).map_or_else(
        || "0s".to_string(),
        |(size, unit)| format!("{}{unit}", u / size),
    );
    mk_bytes(ex, out.as_bytes())
}
