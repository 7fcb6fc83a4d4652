//! The parts of Go's `time` package that Sprig's date functions use: instants with a
//! location, layout formatting and parsing, durations, and locations loaded by name.
//!
//! `Local` is UTC: upstream's controller runs in a scratch image without `/etc/localtime`
//! or `TZ`, where Go's `time.Local` is UTC. Named zones come from the system's zoneinfo
//! files, looked up as Go does (same directories, exact file names); a name that is not
//! found is an error, which Sprig turns into UTC.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Seconds from 0001-01-01 to 1970-01-01 (Go's zero `Time` is year 1).
pub(crate) const ZERO_UNIX: i64 = -62_135_596_800;

const NANOS: i64 = 1_000_000_000;

/// A location: where an instant is shown.
#[derive(Clone)]
pub(crate) enum Loc {
    /// `time.UTC` (also the zero `Time`'s location).
    Utc,
    /// `time.Local`: UTC here (see the module documentation).
    Local,
    /// `time.FixedZone(name, offset)`, as parsing makes for an offset that is not Local's.
    Fixed { name: Vec<u8>, offset: i32 },
    /// A zone loaded from the system's zoneinfo.
    Zone(Arc<jiff::tz::TimeZone>),
}

impl Loc {
    /// Abbreviation and offset (seconds east of UTC) at `unix`.
    pub(crate) fn lookup(&self, unix: i64) -> (Vec<u8>, i32) {
        match self {
            Loc::Utc | Loc::Local => (b"UTC".to_vec(), 0),
            Loc::Fixed { name, offset } => (name.clone(), *offset),
            Loc::Zone(tz) => {
                let clamped = unix.clamp(
                    jiff::Timestamp::MIN.as_second(),
                    jiff::Timestamp::MAX.as_second(),
                );
                let ts =
                    jiff::Timestamp::from_second(clamped).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                let info = tz.to_offset_info(ts);
                (
                    info.abbreviation().as_bytes().to_vec(),
                    info.offset().seconds(),
                )
            }
        }
    }

    fn same(&self, other: &Loc) -> bool {
        match (self, other) {
            (Loc::Utc, Loc::Utc) | (Loc::Local, Loc::Local) => true,
            (Loc::Fixed { name: a, offset: x }, Loc::Fixed { name: b, offset: y }) => {
                a == b && x == y
            }
            (Loc::Zone(a), Loc::Zone(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Most zone names remembered: a template cannot make the cache grow without bound.
const ZONE_CACHE_MAX: usize = 256;
/// Largest zoneinfo file read (real ones are a few kilobytes).
const ZONE_FILE_MAX: u64 = 1 << 20;

/// Go's `time.LoadLocation`; `None` where Go returns an error.
pub(crate) fn load_location(name: &[u8]) -> Option<Loc> {
    match name {
        b"" | b"UTC" => return Some(Loc::Utc),
        b"Local" => return Some(Loc::Local),
        _ => {}
    }
    if name.windows(2).any(|w| w == b"..") || matches!(name.first(), Some(b'/' | b'\\')) {
        return None;
    }
    let name = std::str::from_utf8(name).ok()?;
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Arc<jiff::tz::TimeZone>>>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(c) = cache.lock()
        && let Some(hit) = c.get(name)
    {
        return hit.clone().map(Loc::Zone);
    }
    let loaded = read_zone(name).map(Arc::new);
    if let Ok(mut c) = cache.lock()
        && c.len() < ZONE_CACHE_MAX
    {
        c.insert(name.to_owned(), loaded.clone());
    }
    loaded.map(Loc::Zone)
}

/// Go's `loadLocation(name, platformZoneSources)`, after `$ZONEINFO`.
fn read_zone(name: &str) -> Option<jiff::tz::TimeZone> {
    use std::io::Read as _;
    let env = std::env::var("ZONEINFO").ok().filter(|d| !d.is_empty());
    let dirs = env.iter().map(String::as_str).chain([
        "/usr/share/zoneinfo/",
        "/usr/share/lib/zoneinfo/",
        "/usr/lib/locale/TZ/",
        "/etc/zoneinfo/",
    ]);
    for dir in dirs {
        let path = std::path::Path::new(dir).join(name);
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        let mut data = Vec::new();
        if file.take(ZONE_FILE_MAX).read_to_end(&mut data).is_err() {
            continue;
        }
        // Go tries the next directory when a file does not read or parse.
        if let Ok(tz) = jiff::tz::TimeZone::tzif(name, &data) {
            return Some(tz);
        }
    }
    None
}

/// A `time.Time`: an instant, its location, and `now`'s monotonic clock reading.
#[derive(Clone)]
pub(crate) struct Time {
    pub(crate) unix: i64,
    pub(crate) nsec: u32,
    pub(crate) loc: Loc,
    /// Nanoseconds since the process's clock origin, as Go's monotonic reading.
    pub(crate) mono: Option<i64>,
}

impl Time {
    /// `time.Time{}`.
    pub(crate) fn zero() -> Time {
        Time {
            unix: ZERO_UNIX,
            nsec: 0,
            loc: Loc::Utc,
            mono: None,
        }
    }

    /// `time.Unix(sec, 0)` (in Local).
    pub(crate) fn unix(sec: i64) -> Time {
        Time {
            unix: sec,
            nsec: 0,
            loc: Loc::Local,
            mono: None,
        }
    }

    /// `time.Now()`.
    pub(crate) fn now() -> Time {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        let origin = *ORIGIN.get_or_init(Instant::now);
        let mono = i64::try_from(origin.elapsed().as_nanos())
            .unwrap_or(i64::MAX)
            .saturating_add(1);
        let (unix, nsec) = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => (
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_nanos(),
            ),
            Err(e) => {
                let d = e.duration();
                let secs = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                match d.subsec_nanos() {
                    0 => (secs, 0),
                    n => (secs - 1, 1_000_000_000 - n),
                }
            }
        };
        Time {
            unix,
            nsec,
            loc: Loc::Local,
            mono: Some(mono),
        }
    }

    /// `t.In(loc)` (which drops the monotonic reading).
    pub(crate) fn in_loc(&self, loc: Loc) -> Time {
        Time {
            loc,
            mono: None,
            ..self.clone()
        }
    }

    /// `t.Add(d)`.
    pub(crate) fn add(&self, d: i64) -> Time {
        let total = i128::from(self.nsec) + i128::from(d % NANOS);
        let mut unix = self.unix.wrapping_add(d / NANOS);
        let mut nsec = total;
        if nsec >= i128::from(NANOS) {
            unix = unix.wrapping_add(1);
            nsec -= i128::from(NANOS);
        } else if nsec < 0 {
            unix = unix.wrapping_sub(1);
            nsec += i128::from(NANOS);
        }
        Time {
            unix,
            nsec: u32::try_from(nsec).unwrap_or(0),
            loc: self.loc.clone(),
            mono: self.mono.map(|m| m.wrapping_add(d)),
        }
    }

    /// `t.Sub(u)`, saturating as Go's does.
    pub(crate) fn sub(&self, u: &Time) -> i64 {
        if let (Some(a), Some(b)) = (self.mono, u.mono) {
            return a.saturating_sub(b);
        }
        let d = (i128::from(self.unix) - i128::from(u.unix)) * i128::from(NANOS)
            + (i128::from(self.nsec) - i128::from(u.nsec));
        i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.unix == ZERO_UNIX && self.nsec == 0
    }

    /// Same instant (`t.Equal`).
    pub(crate) fn cmp_instant(&self, o: &Time) -> std::cmp::Ordering {
        (self.unix, self.nsec).cmp(&(o.unix, o.nsec))
    }

    /// Go's `==` on `Time` values: same instant, location and monotonic reading.
    pub(crate) fn go_eq(&self, o: &Time) -> bool {
        self.unix == o.unix && self.nsec == o.nsec && self.mono == o.mono && self.loc.same(&o.loc)
    }

    /// Civil fields in the time's location.
    pub(crate) fn civil(&self) -> Civil {
        let (name, offset) = self.loc.lookup(self.unix);
        let local = self.unix.wrapping_add(i64::from(offset));
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            yday: i64::from(day) + days_before(month, is_leap(year)),
            weekday: (days + 4).rem_euclid(7) as usize,
            hour: secs / 3600,
            min: secs / 60 % 60,
            sec: secs % 60,
            nsec: self.nsec,
            zone: name,
            offset,
        }
    }

    /// `t.String()`.
    pub(crate) fn string(&self) -> Vec<u8> {
        let mut s = format(self, b"2006-01-02 15:04:05.999999999 -0700 MST");
        if let Some(m) = self.mono {
            let sign = if m < 0 { '-' } else { '+' };
            let m = m.unsigned_abs();
            s.extend(format!(" m={sign}{}.{:09}", m / 1_000_000_000, m % 1_000_000_000).bytes());
        }
        s
    }
}

/// Civil fields of an instant in a location.
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) yday: i64,
    pub(crate) weekday: usize,
    pub(crate) hour: i64,
    pub(crate) min: i64,
    pub(crate) sec: i64,
    pub(crate) nsec: u32,
    pub(crate) zone: Vec<u8>,
    pub(crate) offset: i32,
}

pub(crate) fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Days in the year before the first of `month`.
fn days_before(month: u32, leap: bool) -> i64 {
    const CUM: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
    let before = CUM
        .get(month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or(0);
    before + i64::from(leap && month > 2)
}

fn days_in(month: u32, year: i64) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// One element of a layout (Go's `std*` constants).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    Iso8601TZ,
    Iso8601SecondsTZ,
    Iso8601ShortTZ,
    Iso8601ColonTZ,
    Iso8601ColonSecondsTZ,
    NumTZ,
    NumSecondsTz,
    NumShortTZ,
    NumColonTZ,
    NumColonSecondsTZ,
    /// `.000` (digits, separator)
    FracSecond0(usize, u8),
    /// `.999`
    FracSecond9(usize, u8),
}

fn starts_lower(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_lowercase)
}

/// Go's `nextStdChunk`: (prefix, element, suffix).
fn next_std_chunk(layout: &[u8]) -> (&[u8], Option<Std>, &[u8]) {
    let at = |i: usize, s: &[u8]| layout.get(i..).is_some_and(|r| r.starts_with(s));
    for i in 0..layout.len() {
        let found = |std: Std, len: usize| Some((&layout[..i], Some(std), &layout[i + len..]));
        let hit = match layout[i] {
            b'J' if at(i, b"Jan") => {
                if at(i, b"January") {
                    found(Std::LongMonth, 7)
                } else if !starts_lower(&layout[i + 3..]) {
                    found(Std::Month, 3)
                } else {
                    None
                }
            }
            b'M' if layout.len() >= i + 3 => {
                if at(i, b"Monday") {
                    found(Std::LongWeekDay, 6)
                } else if at(i, b"Mon") && !starts_lower(&layout[i + 3..]) {
                    found(Std::WeekDay, 3)
                } else if at(i, b"MST") {
                    found(Std::TZ, 3)
                } else {
                    None
                }
            }
            b'0' => match layout.get(i + 1) {
                Some(c @ b'1'..=b'6') => found(
                    [
                        Std::ZeroMonth,
                        Std::ZeroDay,
                        Std::ZeroHour12,
                        Std::ZeroMinute,
                        Std::ZeroSecond,
                        Std::Year,
                    ][usize::from(c - b'1')],
                    2,
                ),
                _ if at(i, b"002") => found(Std::ZeroYearDay, 3),
                _ => None,
            },
            b'1' if at(i, b"15") => found(Std::Hour, 2),
            b'1' => found(Std::NumMonth, 1),
            b'2' if at(i, b"2006") => found(Std::LongYear, 4),
            b'2' => found(Std::Day, 1),
            b'_' if at(i, b"_2") => {
                if at(i, b"_2006") {
                    // "_" stays literal, then the year
                    Some((&layout[..i + 1], Some(Std::LongYear), &layout[i + 5..]))
                } else {
                    found(Std::UnderDay, 2)
                }
            }
            b'_' if at(i, b"__2") => found(Std::UnderYearDay, 3),
            b'3' => found(Std::Hour12, 1),
            b'4' => found(Std::Minute, 1),
            b'5' => found(Std::Second, 1),
            b'P' if at(i, b"PM") => found(Std::PM, 2),
            b'p' if at(i, b"pm") => found(Std::Pm, 2),
            b'-' => {
                if at(i, b"-070000") {
                    found(Std::NumSecondsTz, 7)
                } else if at(i, b"-07:00:00") {
                    found(Std::NumColonSecondsTZ, 9)
                } else if at(i, b"-0700") {
                    found(Std::NumTZ, 5)
                } else if at(i, b"-07:00") {
                    found(Std::NumColonTZ, 6)
                } else if at(i, b"-07") {
                    found(Std::NumShortTZ, 3)
                } else {
                    None
                }
            }
            b'Z' => {
                if at(i, b"Z070000") {
                    found(Std::Iso8601SecondsTZ, 7)
                } else if at(i, b"Z07:00:00") {
                    found(Std::Iso8601ColonSecondsTZ, 9)
                } else if at(i, b"Z0700") {
                    found(Std::Iso8601TZ, 5)
                } else if at(i, b"Z07:00") {
                    found(Std::Iso8601ColonTZ, 6)
                } else if at(i, b"Z07") {
                    found(Std::Iso8601ShortTZ, 3)
                } else {
                    None
                }
            }
            sep @ (b'.' | b',') => match layout.get(i + 1) {
                Some(&ch @ (b'0' | b'9')) => {
                    let mut j = i + 1;
                    while layout.get(j) == Some(&ch) {
                        j += 1;
                    }
                    if layout.get(j).is_some_and(u8::is_ascii_digit) {
                        None
                    } else {
                        let n = (j - (i + 1)) & 0xfff;
                        let std = if ch == b'0' {
                            Std::FracSecond0(n, sep)
                        } else {
                            Std::FracSecond9(n, sep)
                        };
                        Some((&layout[..i], Some(std), &layout[j..]))
                    }
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(hit) = hit {
            return hit;
        }
    }
    (layout, None, b"")
}

/// Go's `appendInt(b, x, width)`.
fn append_int(b: &mut Vec<u8>, x: i64, width: usize) {
    if x < 0 {
        b.push(b'-');
    }
    let digits = x.unsigned_abs().to_string();
    for _ in digits.len()..width {
        b.push(b'0');
    }
    b.extend(digits.bytes());
}

/// Go's `appendNano`.
fn append_nano(b: &mut Vec<u8>, nsec: u32, digits: usize, sep: u8, trim: bool) {
    if trim && (digits == 0 || nsec == 0) {
        return;
    }
    let mut frac = format!("{nsec:09}").into_bytes();
    frac.truncate(digits.min(9));
    if trim {
        while frac.last() == Some(&b'0') {
            frac.pop();
        }
        if frac.is_empty() {
            return;
        }
    }
    b.push(sep);
    b.extend(frac);
}

/// `t.Format(layout)`.
pub(crate) fn format(t: &Time, layout: &[u8]) -> Vec<u8> {
    let c = t.civil();
    let mut b = Vec::with_capacity(layout.len() + 10);
    let mut layout = layout;
    loop {
        let (prefix, std, suffix) = next_std_chunk(layout);
        b.extend(prefix);
        let Some(std) = std else {
            break;
        };
        layout = suffix;
        let hr12 = match c.hour % 12 {
            0 => 12,
            h => h,
        };
        match std {
            Std::Year => append_int(&mut b, c.year.abs() % 100, 2),
            Std::LongYear => append_int(&mut b, c.year, 4),
            Std::Month => b.extend(&LONG_MONTHS[(c.month - 1) as usize].as_bytes()[..3]),
            Std::LongMonth => b.extend(LONG_MONTHS[(c.month - 1) as usize].bytes()),
            Std::NumMonth => append_int(&mut b, i64::from(c.month), 0),
            Std::ZeroMonth => append_int(&mut b, i64::from(c.month), 2),
            Std::WeekDay => b.extend(&LONG_DAYS[c.weekday].as_bytes()[..3]),
            Std::LongWeekDay => b.extend(LONG_DAYS[c.weekday].bytes()),
            Std::Day => append_int(&mut b, i64::from(c.day), 0),
            Std::UnderDay => {
                if c.day < 10 {
                    b.push(b' ');
                }
                append_int(&mut b, i64::from(c.day), 0);
            }
            Std::ZeroDay => append_int(&mut b, i64::from(c.day), 2),
            Std::UnderYearDay => {
                if c.yday < 100 {
                    b.push(b' ');
                    if c.yday < 10 {
                        b.push(b' ');
                    }
                }
                append_int(&mut b, c.yday, 0);
            }
            Std::ZeroYearDay => append_int(&mut b, c.yday, 3),
            Std::Hour => append_int(&mut b, c.hour, 2),
            Std::Hour12 => append_int(&mut b, hr12, 0),
            Std::ZeroHour12 => append_int(&mut b, hr12, 2),
            Std::Minute => append_int(&mut b, c.min, 0),
            Std::ZeroMinute => append_int(&mut b, c.min, 2),
            Std::Second => append_int(&mut b, c.sec, 0),
            Std::ZeroSecond => append_int(&mut b, c.sec, 2),
            Std::PM => b.extend(if c.hour >= 12 { b"PM" } else { b"AM" }),
            Std::Pm => b.extend(if c.hour >= 12 { b"pm" } else { b"am" }),
            Std::TZ => {
                if c.zone.is_empty() {
                    let zone = c.offset / 60;
                    b.push(if zone < 0 { b'-' } else { b'+' });
                    let zone = i64::from(zone.abs());
                    append_int(&mut b, zone / 60, 2);
                    append_int(&mut b, zone % 60, 2);
                } else {
                    b.extend(&c.zone);
                }
            }
            Std::FracSecond0(n, sep) => append_nano(&mut b, c.nsec, n, sep, false),
            Std::FracSecond9(n, sep) => append_nano(&mut b, c.nsec, n, sep, true),
            zone_std => {
                let iso = matches!(
                    zone_std,
                    Std::Iso8601TZ
                        | Std::Iso8601ColonTZ
                        | Std::Iso8601SecondsTZ
                        | Std::Iso8601ShortTZ
                        | Std::Iso8601ColonSecondsTZ
                );
                if c.offset == 0 && iso {
                    b.push(b'Z');
                    continue;
                }
                let zone = c.offset / 60;
                b.push(if zone < 0 { b'-' } else { b'+' });
                let (zone, abs) = (i64::from(zone.abs()), i64::from(c.offset.abs()));
                append_int(&mut b, zone / 60, 2);
                let colon = matches!(
                    zone_std,
                    Std::Iso8601ColonTZ
                        | Std::NumColonTZ
                        | Std::Iso8601ColonSecondsTZ
                        | Std::NumColonSecondsTZ
                );
                if colon {
                    b.push(b':');
                }
                if !matches!(zone_std, Std::NumShortTZ | Std::Iso8601ShortTZ) {
                    append_int(&mut b, zone % 60, 2);
                }
                let seconds = matches!(
                    zone_std,
                    Std::Iso8601SecondsTZ
                        | Std::NumSecondsTz
                        | Std::NumColonSecondsTZ
                        | Std::Iso8601ColonSecondsTZ
                );
                if seconds {
                    if colon {
                        b.push(b':');
                    }
                    append_int(&mut b, abs % 60, 2);
                }
            }
        }
    }
    b
}

/// Why a value does not parse (Go's `*time.ParseError`; its text is never shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParseError;

/// Go's `leadingInt`.
fn leading_int(s: &[u8]) -> Result<(u64, &[u8]), ParseError> {
    let mut x: u64 = 0;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        if x > (1 << 63) / 10 {
            return Err(ParseError);
        }
        x = x * 10 + u64::from(c - b'0');
        if x > 1 << 63 {
            return Err(ParseError);
        }
        i += 1;
    }
    Ok((x, &s[i..]))
}

/// Go's `atoi` (sign allowed, nothing after the digits).
fn atoi(s: &[u8]) -> Result<i64, ParseError> {
    let (neg, s) = match s.first() {
        Some(&c @ (b'-' | b'+')) => (c == b'-', &s[1..]),
        _ => (false, s),
    };
    let (q, rem) = leading_int(s)?;
    if !rem.is_empty() {
        return Err(ParseError);
    }
    let x = q as i64;
    Ok(if neg { x.wrapping_neg() } else { x })
}

fn getnum(s: &[u8], fixed: bool) -> Result<(i64, &[u8]), ParseError> {
    let d = |i: usize| {
        s.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| i64::from(c - b'0'))
    };
    match (d(0), d(1)) {
        (None, _) => Err(ParseError),
        (Some(_), None) if fixed => Err(ParseError),
        (Some(a), None) => Ok((a, &s[1..])),
        (Some(a), Some(b)) => Ok((a * 10 + b, &s[2..])),
    }
}

fn getnum3(s: &[u8], fixed: bool) -> Result<(i64, &[u8]), ParseError> {
    let mut n = 0;
    let mut i = 0;
    while i < 3 && s.get(i).is_some_and(u8::is_ascii_digit) {
        n = n * 10 + i64::from(s[i] - b'0');
        i += 1;
    }
    if i == 0 || (fixed && i != 3) {
        return Err(ParseError);
    }
    Ok((n, &s[i..]))
}

fn cutspace(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b' ').count();
    &s[n..]
}

/// Go's `skip`: the layout's literal text must be in the value.
fn skip<'v>(mut value: &'v [u8], mut prefix: &[u8]) -> Result<&'v [u8], ParseError> {
    while let Some(&p) = prefix.first() {
        if p == b' ' {
            if value.first().is_some_and(|&c| c != b' ') {
                return Err(ParseError);
            }
            prefix = cutspace(prefix);
            value = cutspace(value);
            continue;
        }
        if value.first() != Some(&p) {
            return Err(ParseError);
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Ok(value)
}

/// Go's `lookup` over month or day names (ASCII case-insensitive prefix).
fn lookup_name<'v>(
    tab: &[&str],
    val: &'v [u8],
    short: bool,
) -> Result<(usize, &'v [u8]), ParseError> {
    for (i, name) in tab.iter().enumerate() {
        let name = if short {
            &name.as_bytes()[..3]
        } else {
            name.as_bytes()
        };
        if val.len() >= name.len() && val[..name.len()].eq_ignore_ascii_case(name) {
            return Ok((i, &val[name.len()..]));
        }
    }
    Err(ParseError)
}

/// Go's `parseTimeZone`: the length of a zone abbreviation at the start of `value`.
fn parse_time_zone(value: &[u8]) -> Option<usize> {
    if value.len() < 3 {
        return None;
    }
    if value.starts_with(b"ChST") || value.starts_with(b"MeST") {
        return Some(4);
    }
    if value.starts_with(b"GMT") {
        return Some(3 + parse_signed_offset(&value[3..]));
    }
    if matches!(value.first(), Some(b'+' | b'-')) {
        return Some(parse_signed_offset(value)).filter(|&n| n > 0);
    }
    let upper = value
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        5 if value.get(4) == Some(&b'T') => Some(5),
        4 if value.get(3) == Some(&b'T') || value.starts_with(b"WITA") => Some(4),
        3 => Some(3),
        _ => None,
    }
}

/// Go's `parseSignedOffset` (0 when there is none).
fn parse_signed_offset(value: &[u8]) -> usize {
    if !matches!(value.first(), Some(b'+' | b'-')) {
        return 0;
    }
    match leading_int(&value[1..]) {
        Ok((x, rem)) if rem.len() != value.len() - 1 && x <= 23 => value.len() - rem.len(),
        _ => 0,
    }
}

fn parse_nanoseconds(value: &[u8], nbytes: usize) -> Result<u32, ParseError> {
    if !matches!(value.first(), Some(b'.' | b',')) {
        return Err(ParseError);
    }
    let nbytes = nbytes.min(10);
    let ns = atoi(value.get(1..nbytes).ok_or(ParseError)?)?;
    if ns < 0 {
        return Err(ParseError);
    }
    let mut ns = ns;
    for _ in nbytes..10 {
        ns = ns.saturating_mul(10);
    }
    u32::try_from(ns).map_err(|_| ParseError)
}

/// `time.ParseInLocation(layout, value, time.Local)`.
pub(crate) fn parse_in_local(layout: &[u8], value: &[u8]) -> Result<Time, ParseError> {
    let mut layout = layout;
    let mut value = value;
    let (mut am, mut pm) = (false, false);
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0u32);
    let mut utc = false;
    let mut zone_offset: Option<i64> = None;
    let mut zone_name: &[u8] = b"";
    loop {
        let (prefix, std, suffix) = next_std_chunk(layout);
        value = skip(value, prefix)?;
        let Some(std) = std else {
            if !value.is_empty() {
                return Err(ParseError);
            }
            break;
        };
        layout = suffix;
        match std {
            Std::Year => {
                let p = value.get(..2).ok_or(ParseError)?;
                value = &value[2..];
                year = atoi(p)?;
                year += if year >= 69 { 1900 } else { 2000 };
            }
            Std::LongYear => {
                if value.len() < 4 || !value[0].is_ascii_digit() {
                    return Err(ParseError);
                }
                year = atoi(&value[..4])?;
                value = &value[4..];
            }
            Std::Month | Std::LongMonth => {
                let (m, rest) = lookup_name(&LONG_MONTHS, value, std == Std::Month)?;
                month = m as i64 + 1;
                value = rest;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (m, rest) = getnum(value, std == Std::ZeroMonth)?;
                if !(1..=12).contains(&m) {
                    return Err(ParseError);
                }
                month = m;
                value = rest;
            }
            Std::WeekDay | Std::LongWeekDay => {
                value = lookup_name(&LONG_DAYS, value, std == Std::WeekDay)?.1;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay && value.first() == Some(&b' ') {
                    value = &value[1..];
                }
                let (d, rest) = getnum(value, std == Std::ZeroDay)?;
                day = d;
                value = rest;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                for _ in 0..2 {
                    if std == Std::UnderYearDay && value.first() == Some(&b' ') {
                        value = &value[1..];
                    }
                }
                let (d, rest) = getnum3(value, std == Std::ZeroYearDay)?;
                yday = d;
                value = rest;
            }
            Std::Hour => {
                let (h, rest) = getnum(value, false)?;
                if h >= 24 {
                    return Err(ParseError);
                }
                hour = h;
                value = rest;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (h, rest) = getnum(value, std == Std::ZeroHour12)?;
                if h > 12 {
                    return Err(ParseError);
                }
                hour = h;
                value = rest;
            }
            Std::Minute | Std::ZeroMinute => {
                let (m, rest) = getnum(value, std == Std::ZeroMinute)?;
                if m >= 60 {
                    return Err(ParseError);
                }
                min = m;
                value = rest;
            }
            Std::Second | Std::ZeroSecond => {
                let (s, rest) = getnum(value, std == Std::ZeroSecond)?;
                if s >= 60 {
                    return Err(ParseError);
                }
                sec = s;
                value = rest;
                // a fractional second after the seconds, unless the layout has one next
                if value.len() >= 2
                    && matches!(value[0], b'.' | b',')
                    && value[1].is_ascii_digit()
                    && !matches!(
                        next_std_chunk(layout).1,
                        Some(Std::FracSecond0(..) | Std::FracSecond9(..))
                    )
                {
                    let mut n = 2;
                    while value.get(n).is_some_and(u8::is_ascii_digit) {
                        n += 1;
                    }
                    nsec = parse_nanoseconds(value, n)?;
                    value = &value[n..];
                }
            }
            Std::PM | Std::Pm => {
                let p = value.get(..2).ok_or(ParseError)?;
                value = &value[2..];
                let (am_s, pm_s): (&[u8], &[u8]) = if std == Std::PM {
                    (b"AM", b"PM")
                } else {
                    (b"am", b"pm")
                };
                if p == pm_s {
                    pm = true;
                } else if p == am_s {
                    am = true;
                } else {
                    return Err(ParseError);
                }
            }
            Std::TZ => {
                if value.starts_with(b"UTC") {
                    utc = true;
                    value = &value[3..];
                } else {
                    let n = parse_time_zone(value).ok_or(ParseError)?;
                    zone_name = &value[..n];
                    value = &value[n..];
                }
            }
            Std::FracSecond0(n, _) => {
                let ndigit = 1 + n;
                if value.len() < ndigit {
                    return Err(ParseError);
                }
                nsec = parse_nanoseconds(value, ndigit)?;
                value = &value[ndigit..];
            }
            Std::FracSecond9(..) => {
                if value.len() >= 2 && matches!(value[0], b'.' | b',') && value[1].is_ascii_digit()
                {
                    let mut i = 0;
                    while value.get(i + 1).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                    nsec = parse_nanoseconds(value, 1 + i)?;
                    value = &value[1 + i..];
                }
            }
            zone_std => {
                let iso = matches!(
                    zone_std,
                    Std::Iso8601TZ
                        | Std::Iso8601ShortTZ
                        | Std::Iso8601ColonTZ
                        | Std::Iso8601SecondsTZ
                        | Std::Iso8601ColonSecondsTZ
                );
                if iso && value.first() == Some(&b'Z') {
                    value = &value[1..];
                    utc = true;
                    continue;
                }
                let (sign, hh, mm, ss, rest): (u8, &[u8], &[u8], &[u8], &[u8]) = match zone_std {
                    Std::Iso8601ColonTZ | Std::NumColonTZ => {
                        if value.len() < 6 || value[3] != b':' {
                            return Err(ParseError);
                        }
                        (value[0], &value[1..3], &value[4..6], b"00", &value[6..])
                    }
                    Std::NumShortTZ | Std::Iso8601ShortTZ => {
                        if value.len() < 3 {
                            return Err(ParseError);
                        }
                        (value[0], &value[1..3], b"00", b"00", &value[3..])
                    }
                    Std::Iso8601ColonSecondsTZ | Std::NumColonSecondsTZ => {
                        if value.len() < 9 || value[3] != b':' || value[6] != b':' {
                            return Err(ParseError);
                        }
                        (
                            value[0],
                            &value[1..3],
                            &value[4..6],
                            &value[7..9],
                            &value[9..],
                        )
                    }
                    Std::Iso8601SecondsTZ | Std::NumSecondsTz => {
                        if value.len() < 7 {
                            return Err(ParseError);
                        }
                        (
                            value[0],
                            &value[1..3],
                            &value[3..5],
                            &value[5..7],
                            &value[7..],
                        )
                    }
                    _ => {
                        if value.len() < 5 {
                            return Err(ParseError);
                        }
                        (value[0], &value[1..3], &value[3..5], b"00", &value[5..])
                    }
                };
                value = rest;
                let hr = getnum(hh, true)?.0;
                let mi = getnum(mm, true)?.0;
                let se = getnum(ss, true)?.0;
                if hr > 24 || mi > 60 || se > 60 {
                    return Err(ParseError);
                }
                let off = (hr * 60 + mi) * 60 + se;
                zone_offset = Some(match sign {
                    b'+' => off,
                    b'-' => -off,
                    _ => return Err(ParseError),
                });
            }
        }
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    if yday >= 0 {
        let mut m = 0i64;
        let mut d = 0i64;
        if is_leap(year) {
            if yday == 31 + 29 {
                m = 2;
                d = 29;
            } else if yday > 31 + 29 {
                yday -= 1;
            }
        }
        if !(1..=365).contains(&yday) {
            return Err(ParseError);
        }
        if m == 0 {
            m = (yday - 1) / 31 + 1;
            if days_before(m as u32 + 1, false) < yday {
                m += 1;
            }
            d = yday - days_before(m as u32, false);
        }
        if (month >= 0 && month != m) || (day >= 0 && day != d) {
            return Err(ParseError);
        }
        month = m;
        day = d;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > i64::from(days_in(month as u32, year)) {
        return Err(ParseError);
    }
    let days = days_from_civil(year, month as u32, day as u32);
    let civil_unix = days
        .wrapping_mul(86_400)
        .wrapping_add(hour * 3600 + min * 60 + sec);
    let at = |unix: i64, loc: Loc| Time {
        unix,
        nsec,
        loc,
        mono: None,
    };
    if utc {
        return Ok(at(civil_unix, Loc::Utc));
    }
    if let Some(off) = zone_offset {
        let unix = civil_unix.wrapping_sub(off);
        // Local (UTC) is kept when the offset and name are its own
        if off == 0 && (zone_name.is_empty() || zone_name == b"UTC") {
            return Ok(at(unix, Loc::Local));
        }
        return Ok(at(
            unix,
            Loc::Fixed {
                name: zone_name.to_vec(),
                offset: off as i32,
            },
        ));
    }
    if !zone_name.is_empty() {
        let mut offset = 0i64;
        if zone_name.len() > 3 && zone_name.starts_with(b"GMT") {
            offset = atoi(&zone_name[3..]).unwrap_or(0) * 3600;
        }
        return Ok(at(
            civil_unix,
            Loc::Fixed {
                name: zone_name.to_vec(),
                offset: offset as i32,
            },
        ));
    }
    Ok(at(civil_unix, Loc::Local))
}

const NS: u64 = 1;
const US: u64 = 1_000;
const MS: u64 = 1_000_000;
const SEC: u64 = 1_000_000_000;

/// `time.ParseDuration`, in nanoseconds.
pub(crate) fn parse_duration(s: &[u8]) -> Result<i64, ParseError> {
    let mut s = s;
    let mut neg = false;
    if let Some(&c @ (b'-' | b'+')) = s.first() {
        neg = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(ParseError);
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(ParseError);
        }
        let pl = s.len();
        let (mut v, rest) = leading_int(s)?;
        s = rest;
        let pre = pl != s.len();
        let (mut f, mut scale, mut post) = (0u64, 1f64, false);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let pl = s.len();
            let mut overflow = false;
            let mut i = 0;
            while let Some(&c) = s.get(i) {
                if !c.is_ascii_digit() {
                    break;
                }
                i += 1;
                if overflow {
                    continue;
                }
                if f > ((1u64 << 63) - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let y = f * 10 + u64::from(c - b'0');
                if y > 1 << 63 {
                    overflow = true;
                    continue;
                }
                f = y;
                scale *= 10.0;
            }
            s = &s[i..];
            post = pl != s.len();
        }
        if !pre && !post {
            return Err(ParseError);
        }
        let i = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if i == 0 {
            return Err(ParseError);
        }
        let unit = match &s[..i] {
            b"ns" => NS,
            // "us", "µs" (micro sign), "μs" (Greek mu)
            b"us" | [0xC2, 0xB5, b's'] | [0xCE, 0xBC, b's'] => US,
            b"ms" => MS,
            b"s" => SEC,
            b"m" => 60 * SEC,
            b"h" => 3600 * SEC,
            _ => return Err(ParseError),
        };
        s = &s[i..];
        if v > (1u64 << 63) / unit {
            return Err(ParseError);
        }
        v *= unit;
        if f > 0 {
            v = v.wrapping_add((f as f64 * (unit as f64 / scale)) as u64);
            if v > 1 << 63 {
                return Err(ParseError);
            }
        }
        d = d.wrapping_add(v);
        if d > 1 << 63 {
            return Err(ParseError);
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    i64::try_from(d).map_err(|_| ParseError)
}

/// `Duration.String()`.
pub(crate) fn duration_string(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    // fraction digits (without trailing zeros), then the integer part
    let frac = |u: u64, prec: u32| -> (String, u64) {
        let p = 10u64.pow(prec);
        let digits = format!("{:0width$}", u % p, width = prec as usize);
        let digits = digits.trim_end_matches('0');
        let s = if digits.is_empty() {
            String::new()
        } else {
            format!(".{digits}")
        };
        (s, u / p)
    };
    let mut out = String::new();
    if u < SEC {
        let (prec, unit) = match u {
            0 => return "0s".into(),
            u if u < US => (0, "ns"),
            u if u < MS => (3, "µs"),
            _ => (6, "ms"),
        };
        let (f, int) = frac(u, prec);
        out.push_str(&format!("{int}{f}{unit}"));
    } else {
        let (f, rest) = frac(u, 9);
        u = rest;
        let secs = format!("{}{f}s", u % 60);
        u /= 60;
        if u > 0 {
            let mins = u % 60;
            u /= 60;
            if u > 0 {
                out.push_str(&format!("{u}h"));
            }
            out.push_str(&format!("{mins}m"));
        }
        out.push_str(&secs);
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// `Duration.Round(m)` for `m > 0`.
pub(crate) fn duration_round(d: i64, m: i64) -> i64 {
    let r = d % m;
    let less_than_half = |x: i64| (x as u64).wrapping_add(x as u64) < m as u64;
    if d < 0 {
        let r = -r;
        if less_than_half(r) {
            return d + r;
        }
        return match d.checked_sub(m).map(|x| x + r) {
            Some(d1) if d1 < d => d1,
            _ => i64::MIN,
        };
    }
    if less_than_half(r) {
        return d - r;
    }
    match d.checked_add(m - r) {
        Some(d1) if d1 > d => d1,
        _ => i64::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> Time {
        parse_in_local(b"2006-01-02T15:04:05Z07:00", s.as_bytes()).expect("parses")
    }

    #[test]
    fn civil_days_round_trip() {
        for days in [-719_468, -1, 0, 1, 11_016, 19_782, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(days_from_civil(1, 1, 1) * 86_400, ZERO_UNIX);
    }

    #[test]
    fn formats_go_layouts() {
        let t = utc("2024-02-29T12:34:56Z");
        let f = |l: &str| String::from_utf8(format(&t, l.as_bytes())).expect("utf8");
        assert_eq!(
            f("Mon Jan _2 15:04:05 MST 2006"),
            "Thu Feb 29 12:34:56 UTC 2024"
        );
        assert_eq!(f("3:04PM __2 002 Z07:00 -0700"), "12:34PM  60 060 Z +0000");
        assert_eq!(
            String::from_utf8(t.string()).expect("utf8"),
            "2024-02-29 12:34:56 +0000 UTC"
        );
        let t = utc("2024-02-29T12:34:56.120+05:30");
        let f = |l: &str| String::from_utf8(format(&t, l.as_bytes())).expect("utf8");
        assert_eq!(f("15:04:05.000 .999 MST Z07"), "12:34:56.120 .12 +0530 +05");
    }

    #[test]
    fn durations_parse_and_print_as_go() {
        assert_eq!(parse_duration(b"-1h30m"), Ok(-5_400_000_000_000));
        assert_eq!(parse_duration(b"1.5s"), Ok(1_500_000_000));
        assert!(parse_duration(b"bad").is_err());
        assert!(parse_duration(b"1").is_err());
        assert_eq!(duration_string(3_661_000_000_000), "1h1m1s");
        assert_eq!(duration_string(1_500), "1.5µs");
        assert_eq!(duration_string(-90_000_000_000), "-1m30s");
        assert_eq!(duration_round(1_499_999_999, SEC as i64), 1_000_000_000);
        assert_eq!(duration_round(-1_500_000_000, SEC as i64), -2_000_000_000);
    }
}
