//! Flag and `SEALED_SECRETS_*` values read exactly as upstream's Go binaries read them: pflag
//! (and the environment-variable layer over it) parses booleans with `strconv.ParseBool` and
//! durations with `time.ParseDuration`, so a value one of upstream's binaries accepts is
//! accepted here with the same meaning, and a value it refuses is refused.
//!
//! Both `kubeseal` and the controller take their boolean and duration flags from here.

use std::time::Duration;

/// A flag value that Go would refuse; the message is Go's where Go has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoFlagError {
    /// Not one of `strconv.ParseBool`'s twelve spellings.
    #[error("strconv.ParseBool: parsing {0:?}: invalid syntax")]
    Bool(String),
    /// Not a duration, or one outside Go's `time.Duration` (signed 64-bit nanoseconds).
    #[error("time: invalid duration {}", go_quote(.0))]
    Duration(String),
    /// A number without a unit (`30`).
    #[error("time: missing unit in duration {}", go_quote(.0))]
    MissingUnit(String),
    /// A unit Go does not know (`1d`).
    #[error("time: unknown unit {} in duration {}", go_quote(.unit), go_quote(.text))]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole value.
        text: String,
    },
    /// A valid Go duration below zero where only zero or more makes sense.
    #[error("duration {} is negative", go_quote(.0))]
    Negative(String),
    /// Zero where only a duration longer than zero makes sense.
    #[error("duration {} must be longer than zero", go_quote(.0))]
    Zero(String),
    /// `client-go`'s request timeout: neither whole seconds nor a duration.
    #[error(
        "invalid timeout {}: expected whole seconds or a number with a unit (e.g. 1s, 2m, 3h)",
        go_quote(.0)
    )]
    Timeout(String),
}

/// Go's `strconv.ParseBool`: `1 t T TRUE true True` and `0 f F FALSE false False`, nothing
/// else (not `yes`, `on`, ` true` or `tRuE`).
///
/// # Errors
/// Any other text.
pub fn parse_bool(text: &str) -> Result<bool, GoFlagError> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(GoFlagError::Bool(text.to_owned())),
    }
}

const NANOS_PER_UNIT: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

const TWO_POW_63: u64 = 1 << 63;

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` or a bare `0`, summed in
/// integer nanoseconds with Go's overflow rules; the result is Go's `time.Duration`.
///
/// # Errors
/// As Go: no digits, a missing or unknown unit, or a total outside `i64` nanoseconds.
pub fn parse_duration_nanos(text: &str) -> Result<i64, GoFlagError> {
    let invalid = || GoFlagError::Duration(text.to_owned());
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        if !(rest.starts_with('.') || rest.starts_with(|c: char| c.is_ascii_digit())) {
            return Err(invalid());
        }
        let (whole, after_whole) = leading_int(rest).ok_or_else(invalid)?;
        let had_whole = after_whole.len() != rest.len();
        rest = after_whole;
        let (mut fraction, mut scale, mut had_fraction) = (0u64, 1f64, false);
        if let Some(after_dot) = rest.strip_prefix('.') {
            let (f, s, after_fraction) = leading_fraction(after_dot);
            had_fraction = after_fraction.len() != after_dot.len();
            (fraction, scale, rest) = (f, s, after_fraction);
        }
        if !had_whole && !had_fraction {
            return Err(invalid());
        }
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        if unit_len == 0 {
            return Err(GoFlagError::MissingUnit(text.to_owned()));
        }
        let (unit, after_unit) = rest.split_at(unit_len);
        rest = after_unit;
        let nanos_per_unit = NANOS_PER_UNIT
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|&(_, nanos)| nanos)
            .ok_or_else(|| GoFlagError::UnknownUnit {
                unit: unit.to_owned(),
                text: text.to_owned(),
            })?;
        if whole > TWO_POW_63 / nanos_per_unit {
            return Err(invalid());
        }
        let mut value = whole * nanos_per_unit;
        if fraction > 0 {
            // As Go: the fraction goes through float64 (exact to the nanosecond for every unit
            // up to hours) and is truncated.
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss
            )]
            let fraction_nanos = (fraction as f64 * (nanos_per_unit as f64 / scale)) as u64;
            value += fraction_nanos;
            if value > TWO_POW_63 {
                return Err(invalid());
            }
        }
        total += value;
        if total > TWO_POW_63 {
            return Err(invalid());
        }
    }
    if negative {
        // total ≤ 2^63, so its negation fits (2^63 itself is i64::MIN).
        Ok(0i64.wrapping_sub_unsigned(total))
    } else {
        i64::try_from(total).map_err(|_| invalid())
    }
}

/// Go's `leadingInt`: the leading digits, or `None` past 2^63.
fn leading_int(text: &str) -> Option<(u64, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let mut value: u64 = 0;
    for digit in text[..digits].bytes() {
        if value > TWO_POW_63 / 10 {
            return None;
        }
        value = value * 10 + u64::from(digit - b'0');
        if value > TWO_POW_63 {
            return None;
        }
    }
    Some((value, &text[digits..]))
}

/// Go's `leadingFraction`: the leading digits and 10^(digits kept); digits past what fits in
/// 63 bits are consumed but no longer add precision.
fn leading_fraction(text: &str) -> (u64, f64, &str) {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (mut value, mut scale, mut overflow) = (0u64, 1f64, false);
    for digit in text[..digits].bytes() {
        if overflow {
            continue;
        }
        if value > (TWO_POW_63 - 1) / 10 {
            overflow = true;
            continue;
        }
        let next = value * 10 + u64::from(digit - b'0');
        if next > TWO_POW_63 {
            overflow = true;
            continue;
        }
        value = next;
        scale *= 10.0;
    }
    (value, scale, &text[digits..])
}

/// A Go duration that is zero or more, for flags where a negative value has no meaning.
///
/// # Errors
/// What [`parse_duration_nanos`] refuses, and negative durations.
pub fn parse_duration(text: &str) -> Result<Duration, GoFlagError> {
    let nanos = parse_duration_nanos(text)?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| GoFlagError::Negative(text.to_owned()))
}

/// A Go duration longer than zero, for timeouts and deadlines.
///
/// # Errors
/// What [`parse_duration`] refuses, and zero.
pub fn parse_positive_duration(text: &str) -> Result<Duration, GoFlagError> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err(GoFlagError::Zero(text.to_owned()));
    }
    Ok(duration)
}

/// `client-go`'s `--request-timeout` (`clientcmd.ParseTimeout`): whole seconds (`30`), else a
/// Go duration zero or more (`1m30s`); `0` means no timeout, which is left to the caller.
///
/// # Errors
/// Anything else, negative values included.
pub fn parse_kubectl_timeout(text: &str) -> Result<Duration, GoFlagError> {
    if let Ok(seconds) = text.parse::<i64>()
        && let Ok(seconds) = u64::try_from(seconds)
    {
        return Ok(Duration::from_secs(seconds));
    }
    match parse_duration_nanos(text) {
        Ok(nanos) => u64::try_from(nanos)
            .map(Duration::from_nanos)
            .map_err(|_| GoFlagError::Timeout(text.to_owned())),
        Err(_) => Err(GoFlagError::Timeout(text.to_owned())),
    }
}

/// Go's `time` package quoting: ASCII printable as is (`"` and `\` escaped), every byte of
/// anything else as `\xNN`.
fn go_quote(text: &str) -> String {
    use std::fmt::Write as _;
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        if c.is_ascii() && c >= ' ' {
            if c == '"' || c == '\\' {
                quoted.push('\\');
            }
            quoted.push(c);
        } else {
            let mut utf8 = [0u8; 4];
            for byte in c.encode_utf8(&mut utf8).bytes() {
                let _ = write!(quoted, "\\x{byte:02x}");
            }
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;
    const MILLI: i64 = 1_000_000;
    const MICRO: i64 = 1_000;
    const MINUTE: i64 = 60 * SECOND;
    const HOUR: i64 = 60 * MINUTE;

    /// Go's own table (`time_test.go`, `parseDurationTests`).
    #[test]
    fn durations_go_accepts() {
        let table: &[(&str, i64)] = &[
            ("0", 0),
            ("5s", 5 * SECOND),
            ("30s", 30 * SECOND),
            ("1478s", 1478 * SECOND),
            ("-5s", -5 * SECOND),
            ("+5s", 5 * SECOND),
            ("-0", 0),
            ("+0", 0),
            ("5.0s", 5 * SECOND),
            ("5.6s", 5 * SECOND + 600 * MILLI),
            ("5.s", 5 * SECOND),
            (".5s", 500 * MILLI),
            ("1.0s", SECOND),
            ("1.00s", SECOND),
            ("1.004s", SECOND + 4 * MILLI),
            ("1.0040s", SECOND + 4 * MILLI),
            ("100.00100s", 100 * SECOND + MILLI),
            ("10ns", 10),
            ("11us", 11 * MICRO),
            ("12\u{b5}s", 12 * MICRO),
            ("12\u{3bc}s", 12 * MICRO),
            ("13ms", 13 * MILLI),
            ("14s", 14 * SECOND),
            ("15m", 15 * MINUTE),
            ("16h", 16 * HOUR),
            ("3h30m", 3 * HOUR + 30 * MINUTE),
            ("10.5s4m", 4 * MINUTE + 10 * SECOND + 500 * MILLI),
            ("-2m3.4s", -(2 * MINUTE + 3 * SECOND + 400 * MILLI)),
            (
                "1h2m3s4ms5us6ns",
                HOUR + 2 * MINUTE + 3 * SECOND + 4 * MILLI + 5 * MICRO + 6,
            ),
            (
                "39h9m14.425s",
                39 * HOUR + 9 * MINUTE + 14 * SECOND + 425 * MILLI,
            ),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 20 * MINUTE),
            ("9007199254740993ns", (1 << 53) + 1),
            ("9223372036854775807ns", i64::MAX),
            ("9223372036854775.807us", i64::MAX),
            ("9223372036s854ms775us807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("-9223372036854775.808us", i64::MIN),
            ("-9223372036s854ms775us808ns", i64::MIN),
            ("-2562047h47m16.854775808s", i64::MIN),
            ("0.100000000000000000000h", 6 * MINUTE),
            (
                "0.830103483285477580700h",
                49 * MINUTE + 48 * SECOND + 372_539_827,
            ),
        ];
        for &(text, nanos) in table {
            assert_eq!(parse_duration_nanos(text), Ok(nanos), "{text}");
        }
    }

    /// Go's own table (`parseDurationErrorTests`), with Go's messages.
    #[test]
    fn durations_go_refuses_with_gos_messages() {
        let table: &[(&str, &str)] = &[
            ("", r#"time: invalid duration """#),
            ("3", r#"time: missing unit in duration "3""#),
            ("-", r#"time: invalid duration "-""#),
            ("s", r#"time: invalid duration "s""#),
            (".", r#"time: invalid duration ".""#),
            ("-.", r#"time: invalid duration "-.""#),
            (".s", r#"time: invalid duration ".s""#),
            ("+.s", r#"time: invalid duration "+.s""#),
            ("1d", r#"time: unknown unit "d" in duration "1d""#),
            ("\u{fffd}", r#"time: invalid duration "\xef\xbf\xbd""#),
            (
                "\u{fffd} hello \u{fffd} world",
                r#"time: invalid duration "\xef\xbf\xbd hello \xef\xbf\xbd world""#,
            ),
            (
                "9223372036854775810ns",
                r#"time: invalid duration "9223372036854775810ns""#,
            ),
            (
                "9223372036854775808ns",
                r#"time: invalid duration "9223372036854775808ns""#,
            ),
            (
                "-9223372036854775809ns",
                r#"time: invalid duration "-9223372036854775809ns""#,
            ),
            (
                "9223372036854776us",
                r#"time: invalid duration "9223372036854776us""#,
            ),
            ("3000000h", r#"time: invalid duration "3000000h""#),
            (
                "9223372036854775.808us",
                r#"time: invalid duration "9223372036854775.808us""#,
            ),
            (
                "9223372036854ms775us808ns",
                r#"time: invalid duration "9223372036854ms775us808ns""#,
            ),
            (
                "1\u{b5}",
                r#"time: unknown unit "\xc2\xb5" in duration "1\xc2\xb5""#,
            ),
            (" 1s", r#"time: invalid duration " 1s""#),
        ];
        for &(text, message) in table {
            let error = parse_duration_nanos(text).expect_err(text);
            assert_eq!(error.to_string(), message, "{text:?}");
        }
    }

    /// The old parser summed seconds in `f64`, so a value past 2^53 nanoseconds lost its last
    /// nanoseconds and an overflowing one was accepted.
    #[test]
    fn durations_are_integer_nanoseconds_not_float_seconds() {
        assert_eq!(
            parse_duration("9007199254740993ns"),
            Ok(Duration::from_nanos((1 << 53) + 1))
        );
        assert_eq!(
            parse_duration("2562047h47m16.854775807s"),
            Ok(Duration::from_nanos(i64::MAX.unsigned_abs()))
        );
        assert!(parse_duration("2562047h47m16.854775808s").is_err());
        assert!(parse_duration("3000000h").is_err());
    }

    #[test]
    fn sign_and_range_of_unsigned_durations() {
        assert_eq!(parse_duration("+5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("-0"), Ok(Duration::ZERO));
        assert_eq!(
            parse_duration("-5s").unwrap_err().to_string(),
            r#"duration "-5s" is negative"#
        );
        assert_eq!(
            parse_positive_duration("0").unwrap_err().to_string(),
            r#"duration "0" must be longer than zero"#
        );
        assert_eq!(parse_positive_duration("1ns"), Ok(Duration::from_nanos(1)));
    }

    /// Go's documented spellings (`strconv.ParseBool`), and what it refuses.
    #[test]
    fn booleans_go_accepts() {
        for text in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(text), Ok(true), "{text}");
        }
        for text in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(text), Ok(false), "{text}");
        }
    }

    #[test]
    fn yes_is_not_a_boolean() {
        for text in [
            "yes", "y", "on", "no", "n", "off", "tRuE", "TRue", " true", "true ", "", "2", "+1",
        ] {
            assert_eq!(
                parse_bool(text),
                Err(GoFlagError::Bool(text.to_owned())),
                "{text:?}"
            );
        }
        assert_eq!(
            parse_bool("yes").unwrap_err().to_string(),
            r#"strconv.ParseBool: parsing "yes": invalid syntax"#
        );
    }

    #[test]
    fn kubectl_timeouts_are_whole_seconds_or_durations() {
        assert_eq!(parse_kubectl_timeout("0"), Ok(Duration::ZERO));
        assert_eq!(parse_kubectl_timeout("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_kubectl_timeout("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(
            parse_kubectl_timeout("250ms"),
            Ok(Duration::from_millis(250))
        );
        for bad in ["soon", "", "-5", "-1s", "1.5"] {
            assert_eq!(
                parse_kubectl_timeout(bad),
                Err(GoFlagError::Timeout(bad.to_owned())),
                "{bad}"
            );
        }
    }
}
