//! Sprig `semver.go`: semantic versions, with Masterminds/semver v3.3.0's `NewVersion`,
//! `NewConstraint` and `Check` (its regular expressions are RE2, as this crate's are).

use std::cmp::Ordering;
use std::sync::OnceLock;

use ::regex::bytes::Regex;

use super::PT::{Any, Str};
#[allow(clippy::wildcard_imports)]
use super::*;
use crate::value::GoObject;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("semver", sg(&[Str], None), semver),
    Func::call("semverCompare", sg(&[Str, Str], None), semver_compare),
];

/// Longest version or constraint string looked at: the regular expressions are linear, this
/// only bounds the memory of one call.
const MAX_INPUT: usize = 64 << 10;

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

struct Regexes {
    version: Regex,
    constraint: Regex,
    range: Regex,
    find: Regex,
    valid: Regex,
}

fn regexes() -> &'static Regexes {
    static R: OnceLock<Regexes> = OnceLock::new();
    R.get_or_init(|| {
        // (?-u): Go's \s is ASCII whitespace; the inputs are matched as bytes.
        let re = |p: String| Regex::new(&format!("(?-u){p}")).unwrap_or_else(|_| unreachable!());
        Regexes {
            version: re(r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$".to_string()),
            constraint: re(format!(r"^\s*({OPS})\s*({CV})\s*$")),
            range: re(format!(r"\s*({CV})\s+-\s+({CV})\s*")),
            find: re(format!(r"({OPS})\s*({CV})")),
            valid: re(format!(
                r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$"
            )),
        }
    })
}

/// Why a version or constraint does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SemverError;

/// `semver.Version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<u8>,
    metadata: Vec<u8>,
    original: Vec<u8>,
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

impl Version {
    /// `semver.NewVersion`.
    pub(crate) fn parse(v: &[u8]) -> Result<Version, SemverError> {
        let m = regexes().version.captures(v).ok_or(SemverError)?;
        let group = |i: usize| m.get(i).map_or(&b""[..], |g| g.as_bytes());
        let segment = |i: usize| -> Result<u64, SemverError> {
            match group(i).strip_prefix(b".") {
                None if group(i).is_empty() => Ok(0),
                Some(s) => parse_u64(s).ok_or(SemverError),
                None => parse_u64(group(i)).ok_or(SemverError),
            }
        };
        let pre = group(5).to_vec();
        // numeric prerelease identifiers have no leading zeros
        if pre
            .split(|&c| c == b'.')
            .any(|p| p.len() > 1 && p.first() == Some(&b'0') && p.iter().all(u8::is_ascii_digit))
        {
            return Err(SemverError);
        }
        Ok(Version {
            major: segment(1)?,
            minor: segment(2)?,
            patch: segment(3)?,
            pre,
            metadata: group(8).to_vec(),
            original: v.to_vec(),
        })
    }

    /// `Version.String`.
    fn string(&self) -> Vec<u8> {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch).into_bytes();
        if !self.pre.is_empty() {
            s.push(b'-');
            s.extend(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push(b'+');
            s.extend(&self.metadata);
        }
        s
    }

    /// `Version.Compare`.
    fn compare(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }

    fn v_prefix(&self) -> &'static [u8] {
        if self.original.first() == Some(&b'v') {
            b"v"
        } else {
            b""
        }
    }

    /// The `Inc*`/`Set*` result: `original` rewritten from the new fields.
    fn renamed(mut self, prefix: &'static [u8]) -> Version {
        let mut original = prefix.to_vec();
        original.extend(self.string());
        self.original = original;
        self
    }
}

fn compare_prerelease(v: &[u8], o: &[u8]) -> Ordering {
    let sparts: Vec<&[u8]> = v.split(|&c| c == b'.').collect();
    let oparts: Vec<&[u8]> = o.split(|&c| c == b'.').collect();
    for i in 0..sparts.len().max(oparts.len()) {
        let s = sparts.get(i).copied().unwrap_or(b"");
        let o = oparts.get(i).copied().unwrap_or(b"");
        let d = compare_pre_part(s, o);
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

/// Masterminds' `comparePrePart` (never equal for different parts).
fn compare_pre_part(s: &[u8], o: &[u8]) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (parse_u64(s), parse_u64(o)) {
        (None, None) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(si), Some(oi)) => {
            if si > oi {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

/// One parsed constraint: an operator and a version with wildcard flags.
struct Constraint {
    op: Vec<u8>,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

fn is_x(s: &[u8]) -> bool {
    matches!(s, b"x" | b"*" | b"X")
}

/// Masterminds' `rewriteRange`: `a - b` becomes `>= a, <= b `.
fn rewrite_range(input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for m in regexes().range.captures_iter(input) {
        let whole = m.get(0).map_or(&b""[..], |g| g.as_bytes());
        let (lo, hi) = (
            m.get(1).map_or(&b""[..], |g| g.as_bytes()),
            m.get(11).map_or(&b""[..], |g| g.as_bytes()),
        );
        let mut t = b">= ".to_vec();
        t.extend(lo);
        t.extend(b", <= ");
        t.extend(hi);
        t.push(b' ');
        if let Some(at) = memchr::memmem::find(&out, whole) {
            out.splice(at..at + whole.len(), t);
        }
    }
    out
}

fn parse_constraint(c: &[u8]) -> Result<Constraint, SemverError> {
    let m = regexes().constraint.captures(c).ok_or(SemverError)?;
    let group = |i: usize| m.get(i).map_or(&b""[..], |g| g.as_bytes());
    let (major, minor, patch, pre) = (group(3), group(4), group(5), group(6));
    let strip = |s: &'_ [u8]| -> Vec<u8> { s.strip_prefix(b".").unwrap_or(s).to_vec() };
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let ver: Vec<u8> = if is_x(major) || major.is_empty() {
        dirty = true;
        [&b"0.0.0"[..], pre].concat()
    } else if is_x(&strip(minor)) || minor.is_empty() {
        dirty = true;
        minor_dirty = true;
        [major, b".0.0", pre].concat()
    } else if is_x(&strip(patch)) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        [major, minor, b".0", pre].concat()
    } else {
        group(2).to_vec()
    };
    Ok(Constraint {
        op: group(1).to_vec(),
        con: Version::parse(&ver)?,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

/// `semver.NewConstraint`: OR-groups of AND-ed constraints.
fn parse_constraints(c: &[u8]) -> Result<Vec<Vec<Constraint>>, SemverError> {
    let c = rewrite_range(c);
    let mut groups = Vec::new();
    let mut rest = &c[..];
    loop {
        let (part, next) = match rest.windows(2).position(|w| w == b"||") {
            Some(i) => (&rest[..i], Some(&rest[i + 2..])),
            None => (rest, None),
        };
        if !regexes().valid.is_match(part) {
            return Err(SemverError);
        }
        let mut all = Vec::new();
        for m in regexes().find.find_iter(part) {
            all.push(parse_constraint(m.as_bytes())?);
        }
        if all.is_empty() {
            all.push(parse_constraint(part)?);
        }
        groups.push(all);
        match next {
            Some(n) => rest = n,
            None => return Ok(groups),
        }
    }
}

/// `Constraints.Check`.
fn check(groups: &[Vec<Constraint>], v: &Version) -> bool {
    groups.iter().any(|g| g.iter().all(|c| c.check(v)))
}

impl Constraint {
    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        let release_only = !v.pre.is_empty() && c.pre.is_empty();
        match &self.op[..] {
            b"" | b"=" => {
                if release_only {
                    false
                } else if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(c) == Ordering::Equal
                }
            }
            b"!=" => self.not_equal(v),
            b">" => !release_only && self.greater_than(v),
            b"<" => !release_only && v.compare(c) == Ordering::Less,
            b">=" | b"=>" => !release_only && v.compare(c) != Ordering::Less,
            b"<=" | b"=<" => !release_only && self.less_than_equal(v),
            b"~" | b"~>" => self.tilde(v),
            _ => self.caret(v),
        }
    }

    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if self.dirty {
            if !v.pre.is_empty() && c.pre.is_empty() {
                return false;
            }
            if c.major != v.major {
                return true;
            }
            if c.minor != v.minor && !self.minor_dirty {
                return true;
            } else if self.minor_dirty {
                return false;
            } else if c.patch != v.patch && !self.patch_dirty {
                return true;
            } else if self.patch_dirty {
                if !v.pre.is_empty() || !c.pre.is_empty() {
                    return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                }
                return false;
            }
        }
        v.compare(c) != Ordering::Equal
    }

    fn greater_than(&self, v: &Version) -> bool {
        let c = &self.con;
        if !self.dirty {
            return v.compare(c) == Ordering::Greater;
        }
        if v.major != c.major {
            return v.major > c.major;
        }
        if self.minor_dirty {
            return false;
        }
        if self.patch_dirty {
            return v.minor > c.minor;
        }
        v.compare(c) == Ordering::Greater
    }

    fn less_than_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if !self.dirty {
            return v.compare(c) != Ordering::Greater;
        }
        !(v.major > c.major || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        v.major == c.major && (v.minor == c.minor || self.minor_dirty)
    }

    fn caret(&self, v: &Version) -> bool {
        let c = &self.con;
        if !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major > 0 || self.minor_dirty {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_dirty {
            return v.minor == c.minor;
        }
        if v.minor > 0 {
            return false;
        }
        c.patch == v.patch
    }
}

/// A version in a template: `*semver.Version` from `semver`, `semver.Version` from its
/// `Inc*`/`Set*` methods.
pub(crate) struct VersionObject {
    version: Version,
    pointer: bool,
}

impl VersionObject {
    fn value(version: Version, pointer: bool) -> Value {
        Value::Object(Rc::new(VersionObject { version, pointer }))
    }
}

fn version_arg(v: &Value) -> Result<&Version, ErrKind> {
    match v {
        Value::Object(o) => o
            .as_any()
            .downcast_ref::<VersionObject>()
            .filter(|o| o.pointer)
            .map(|o| &o.version)
            .ok_or_else(|| e("expected *semver.Version")),
        _ => Err(e("expected *semver.Version")),
    }
}

impl GoObject for VersionObject {
    fn type_name(&self) -> &'static str {
        if self.pointer {
            "*semver.Version"
        } else {
            "semver.Version"
        }
    }
    fn kind_name(&self) -> &'static str {
        if self.pointer { "ptr" } else { "struct" }
    }
    fn string(&self) -> Option<SecretBytes> {
        Some(SecretBytes::new(self.version.string()))
    }
    fn json_value(&self) -> Value {
        Value::str(&self.version.string())
    }
    fn deep_copy(&self) -> Option<Value> {
        // all of Version's fields are unexported: the copy is the zero version
        let zero = Version {
            major: 0,
            minor: 0,
            patch: 0,
            pre: Vec::new(),
            metadata: Vec::new(),
            original: Vec::new(),
        };
        Some(VersionObject::value(zero, self.pointer))
    }
    fn equals(&self, other: &dyn GoObject) -> bool {
        other
            .as_any()
            .downcast_ref::<VersionObject>()
            .is_some_and(|o| o.version == self.version && o.pointer == self.pointer)
    }
    fn params(&self, name: &str) -> Option<&'static [PT]> {
        match name {
            "String" | "Major" | "Minor" | "Patch" | "Prerelease" | "Metadata" | "IncPatch"
            | "IncMinor" | "IncMajor" => Some(&[]),
            "SetPrerelease" | "SetMetadata" => Some(&[Str]),
            // pointer receivers: not in a value's method set
            "Original" if self.pointer => Some(&[]),
            "LessThan" | "LessThanEqual" | "GreaterThan" | "GreaterThanEqual" | "Equal"
            | "Compare"
                if self.pointer =>
            {
                Some(&[Any])
            }
            _ => None,
        }
    }
    fn call(&self, ex: &mut dyn Runtime, name: &str, args: Vec<Value>) -> FR {
        let v = &self.version;
        let prefix = v.v_prefix();
        let set = |field: fn(&mut Version) -> &mut Vec<u8>, value: &[u8], pre: bool| {
            let valid = value.is_empty()
                || value.split(|&c| c == b'.').all(|p| {
                    p.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
                        && !(pre
                            && p.len() > 1
                            && p.first() == Some(&b'0')
                            && p.iter().all(u8::is_ascii_digit))
                });
            if !valid {
                return Err(e("invalid prerelease or metadata"));
            }
            let mut next = v.clone();
            *field(&mut next) = value.to_vec();
            Ok(VersionObject::value(next.renamed(prefix), false))
        };
        match name {
            "String" => mk_bytes(ex, &v.string()),
            "Original" => mk_bytes(ex, &v.original),
            "Major" => Ok(Value::Int(v.major as i64, IntTy::Uint64)),
            "Minor" => Ok(Value::Int(v.minor as i64, IntTy::Uint64)),
            "Patch" => Ok(Value::Int(v.patch as i64, IntTy::Uint64)),
            "Prerelease" => mk_bytes(ex, &v.pre),
            "Metadata" => mk_bytes(ex, &v.metadata),
            "IncPatch" | "IncMinor" | "IncMajor" => {
                let mut next = v.clone();
                next.metadata.clear();
                match name {
                    "IncPatch" if !v.pre.is_empty() => {}
                    "IncPatch" => next.patch = v.patch.wrapping_add(1),
                    "IncMinor" => {
                        next.patch = 0;
                        next.minor = v.minor.wrapping_add(1);
                    }
                    _ => {
                        next.patch = 0;
                        next.minor = 0;
                        next.major = v.major.wrapping_add(1);
                    }
                }
                next.pre.clear();
                Ok(VersionObject::value(next.renamed(prefix), false))
            }
            "SetPrerelease" => set(|v| &mut v.pre, s_arg(&args, 0)?, true),
            "SetMetadata" => set(|v| &mut v.metadata, s_arg(&args, 0)?, false),
            _ => {
                let o = version_arg(arg(&args, 0)?)?;
                let ord = v.compare(o);
                Ok(match name {
                    "LessThan" => Value::Bool(ord == Ordering::Less),
                    "LessThanEqual" => Value::Bool(ord != Ordering::Greater),
                    "GreaterThan" => Value::Bool(ord == Ordering::Greater),
                    "GreaterThanEqual" => Value::Bool(ord != Ordering::Less),
                    "Equal" => Value::Bool(ord == Ordering::Equal),
                    _ => Value::int(ord as i64),
                })
            }
        }
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn semver(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let s = s_arg(&a, 0)?;
    ex.charge_scan(s.len().saturating_mul(4))?;
    if s.len() > MAX_INPUT {
        return Err(e("Invalid Semantic Version"));
    }
    ex.alloc(s.len().saturating_mul(2))?;
    let v = Version::parse(s).map_err(|_| e("Invalid Semantic Version"))?;
    Ok(VersionObject::value(v, true))
}

fn semver_compare(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let (c, v) = (s_arg(&a, 0)?, s_arg(&a, 1)?);
    // Regex matching is linear; the range rewrite (one search per `a - b`) and the `||`
    // splits rescan the constraint, charged as such.
    let groups_bound = c.iter().filter(|&&b| b == b'|' || b == b'-').count() as u64 + 1;
    ex.charge_scan((c.len() + v.len()).saturating_mul(16))?;
    ex.charge(groups_bound.saturating_mul(c.len() as u64) / 256)?;
    if c.len() > MAX_INPUT || v.len() > MAX_INPUT {
        return Err(e("improper constraint"));
    }
    ex.alloc((c.len() + v.len()).saturating_mul(4))?;
    let groups = parse_constraints(c).map_err(|_| e("improper constraint"))?;
    let v = Version::parse(v).map_err(|_| e("Invalid Semantic Version"))?;
    Ok(Value::Bool(check(&groups, &v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s.as_bytes()).expect("version")
    }

    fn ok(c: &str, ver: &str) -> bool {
        check(
            &parse_constraints(c.as_bytes()).expect("constraint"),
            &v(ver),
        )
    }

    #[test]
    fn versions_parse_and_order_as_masterminds_semver() {
        assert_eq!(v("v1.2").string(), b"1.2.0");
        assert!(Version::parse(b"1.2.3-01").is_err());
        assert!(Version::parse(b"18446744073709551616.0.0").is_err());
        assert!(Version::parse(b"1.2.3.4").is_err());
        assert_eq!(v("1.0.0-alpha").compare(&v("1.0.0")), Ordering::Less);
        assert_eq!(v("1.0.0-2").compare(&v("1.0.0-10")), Ordering::Less);
        assert_eq!(v("1.0.0-a.1").compare(&v("1.0.0-a")), Ordering::Greater);
        assert_eq!(v("1.0.0+x").compare(&v("1.0.0+y")), Ordering::Equal);
    }

    #[test]
    fn constraints_check_as_masterminds_semver() {
        assert!(ok(">=1.2.0", "1.2.3"));
        assert!(!ok("~1.3", "1.2.3"));
        assert!(!ok("^1", "2.0.0"));
        assert!(ok("1.2 - 1.4", "1.3.9"));
        assert!(ok("<1 || >=2.1", "2.1.0"));
        assert!(!ok(">=1.0.0", "1.1.0-beta"));
        assert!(ok("^0.2.3", "0.2.9"));
        assert!(!ok("^0.2.3", "0.3.0"));
        assert!(ok("!=1.x", "2.0.0"));
        assert!(ok("1.x", "1.9.0"));
        assert!(ok("*", "3.0.0"));
        assert!(parse_constraints(b">= 1.x, < 3").is_ok());
        assert!(parse_constraints(b"nope").is_err());
    }
}
