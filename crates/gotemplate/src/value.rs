//! Runtime values of the template engine, modelled on the Go types that
//! `text/template` + Sprig produce when rendering a `map[string]string`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

pub(crate) use crate::secret::SecretBytes;

/// Go integer types that can appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum IntTy {
    /// `int`
    Int,
    /// `int64`
    Int64,
    /// `uint8` (byte from indexing a string)
    Uint8,
    /// `uint64` (a version's fields); the `i64` holds the bits.
    Uint64,
    /// `time.Month` (an `int` that prints its name)
    Month,
    /// `time.Weekday` (an `int` that prints its name)
    Weekday,
}

impl IntTy {
    /// Whether the `i64` holds an unsigned value's bits.
    pub(crate) fn unsigned(self) -> bool {
        matches!(self, IntTy::Uint8 | IntTy::Uint64)
    }

    /// The name a `fmt.Stringer` integer prints (`time.Month`, `time.Weekday`).
    pub(crate) fn name_of(self, v: i64) -> Option<String> {
        const MONTHS: [&str; 12] = [
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
        const DAYS: [&str; 7] = [
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
        ];
        let name = |table: &[&str], i: i64, ty: &str| {
            usize::try_from(i)
                .ok()
                .and_then(|i| table.get(i))
                .map_or_else(|| format!("%!{ty}({v})"), |n| (*n).to_string())
        };
        match self {
            IntTy::Month => Some(name(&MONTHS, v - 1, "Month")),
            IntTy::Weekday => Some(name(&DAYS, v, "Weekday")),
            _ => None,
        }
    }

    /// The exact value, whatever the type.
    pub(crate) fn widen(self, bits: i64) -> i128 {
        if self == IntTy::Uint64 {
            i128::from(bits as u64)
        } else {
            i128::from(bits)
        }
    }
}

/// Element type of a slice or map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ElemTy {
    /// `interface {}`
    Any,
    /// `string`
    Str,
    /// `int`
    Int,
    /// `[]interface {}`
    List,
}

impl ElemTy {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ElemTy::Any => "interface {}",
            ElemTy::Str => "string",
            ElemTy::Int => "int",
            ElemTy::List => "[]interface {}",
        }
    }
    /// Go zero value of this element type.
    pub(crate) fn zero(self) -> Value {
        match self {
            ElemTy::Any => Value::Nil,
            ElemTy::Str => Value::str(b""),
            ElemTy::Int => Value::Int(0, IntTy::Int),
            ElemTy::List => Value::list(ElemTy::Any, Vec::new()),
        }
    }
}

/// Slice contents.
pub(crate) struct ListData {
    pub(crate) elem: ElemTy,
    pub(crate) items: Vec<Value>,
    /// Nesting depth of lists inside this list (1 for a flat list); bounded
    /// so that dropping a value can never recurse deeply.
    pub(crate) depth: usize,
}

/// Map contents (always keyed by string).
pub(crate) struct MapData {
    pub(crate) elem: ElemTy,
    pub(crate) entries: BTreeMap<SecretBytes, Value>,
}

pub(crate) type MapRef = Rc<RefCell<MapData>>;

/// A Go value of a named type that Sprig functions return (a version, a time, a
/// certificate): its type, how it prints, and its fields and methods.
pub(crate) trait GoObject {
    /// Go's `%T`, e.g. `*semver.Version`.
    fn type_name(&self) -> &'static str;
    /// Go's `reflect.Kind` name: `ptr` or `struct`.
    fn kind_name(&self) -> &'static str;
    /// `fmt.Stringer`'s `String()`, when the type has one.
    fn string(&self) -> Option<SecretBytes>;
    /// The fields, in order, for printing `{a b}` when there is no `String()`.
    fn fields(&self) -> Vec<Value> {
        Vec::new()
    }
    /// Go's `==` between two values of this type (pointers compare by identity, which the
    /// caller checks first).
    fn equals(&self, _other: &dyn GoObject) -> bool {
        false
    }
    /// What Sprig's `deepCopy` (copystructure) makes of it, when not the same value:
    /// copystructure copies exported fields only.
    fn deep_copy(&self) -> Option<Value> {
        None
    }
    /// What `encoding/json` writes for it, as a value this crate serialises.
    fn json_value(&self) -> Value;
    /// The parameter types of the field (empty) or method `name`, if it has one.
    fn params(&self, name: &str) -> Option<&'static [PT]>;
    /// Reads field `name` or calls method `name` with arguments checked against
    /// [`GoObject::params`].
    fn call(
        &self,
        ex: &mut dyn Runtime,
        name: &str,
        args: Vec<Value>,
    ) -> Result<Value, crate::ErrKind>;
    /// For functions that take this type.
    fn as_any(&self) -> &dyn std::any::Any;
}

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
    /// `uint32` (only constants can be passed: no template value has this type)
    Uint32,
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
            PT::Uint32 => "uint32",
            PT::Bool => "bool",
            PT::Val => "reflect.Value",
            PT::Map => "map[string]interface {}",
        }
    }
}

/// What functions and methods may ask of the running template: the budget of the object
/// being rendered, and maps registered for cycle breaking. The executor implements it;
/// functions see only this, so they do not depend on the executor.
pub(crate) trait Runtime {
    /// Creates a new map value and registers it for cycle breaking.
    fn new_map(
        &mut self,
        elem: ElemTy,
        entries: BTreeMap<SecretBytes, Value>,
    ) -> Result<Value, crate::ErrKind>;
    /// Charges `n` bytes of allocation (memory, and the work of filling them).
    fn alloc(&mut self, n: usize) -> Result<(), crate::ErrKind>;
    /// The largest intermediate value still affordable.
    fn memory_left(&self) -> usize;
    /// Charges for a list of `n` elements.
    fn alloc_list(&mut self, n: usize) -> Result<(), crate::ErrKind>;
    /// Counts one evaluation step.
    fn step(&mut self) -> Result<(), crate::ErrKind>;
    /// Charges `units` of work done inside a function's loop.
    fn charge(&mut self, units: u64) -> Result<(), crate::ErrKind>;
    /// Charges a scan over `bytes` bytes.
    fn charge_scan(&mut self, bytes: usize) -> Result<(), crate::ErrKind>;
    /// Charges an operation that runs in one step, refused unless `expected` time is left.
    fn charge_step(
        &mut self,
        units: u64,
        expected: std::time::Duration,
    ) -> Result<(), crate::ErrKind>;
}

/// A template value.
#[derive(Clone)]
pub(crate) enum Value {
    /// Go's invalid `reflect.Value` ("no value").
    Invalid,
    /// An untyped nil interface.
    Nil,
    Bool(bool),
    Int(i64, IntTy),
    Float(f64),
    Str(Rc<SecretBytes>),
    List(Rc<ListData>),
    Map(MapRef),
    Object(Rc<dyn GoObject>),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Invalid => f.write_str("Invalid"),
            Value::Nil => f.write_str("Nil"),
            Value::Bool(_) => f.write_str("Bool([REDACTED])"),
            Value::Int(_, t) => write!(f, "Int([REDACTED], {t:?})"),
            Value::Float(_) => f.write_str("Float([REDACTED])"),
            Value::Str(_) => f.write_str("Str([REDACTED])"),
            Value::List(l) => write!(f, "List({}, len={})", l.elem.name(), l.items.len()),
            Value::Object(o) => write!(f, "Object({})", o.type_name()),
            Value::Map(m) => match m.try_borrow() {
                Ok(m) => write!(f, "Map({}, len={})", m.elem.name(), m.entries.len()),
                Err(_) => f.write_str("Map(..)"),
            },
        }
    }
}

impl Value {
    pub(crate) fn str(b: &[u8]) -> Value {
        Value::Str(Rc::new(SecretBytes::from_slice(b)))
    }
    pub(crate) fn string(s: SecretBytes) -> Value {
        Value::Str(Rc::new(s))
    }
    pub(crate) fn list(elem: ElemTy, items: Vec<Value>) -> Value {
        let depth = 1 + items
            .iter()
            .map(|v| if let Value::List(l) = v { l.depth } else { 0 })
            .max()
            .unwrap_or(0);
        Value::List(Rc::new(ListData { elem, items, depth }))
    }
    pub(crate) fn int(i: i64) -> Value {
        Value::Int(i, IntTy::Int)
    }
    pub(crate) fn int64(i: i64) -> Value {
        Value::Int(i, IntTy::Int64)
    }

    /// Go's `%T`.
    pub(crate) fn type_name(&self) -> String {
        match self {
            Value::Invalid | Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_, IntTy::Int) => "int".into(),
            Value::Int(_, IntTy::Int64) => "int64".into(),
            Value::Int(_, IntTy::Uint8) => "uint8".into(),
            Value::Int(_, IntTy::Uint64) => "uint64".into(),
            Value::Int(_, IntTy::Month) => "time.Month".into(),
            Value::Int(_, IntTy::Weekday) => "time.Weekday".into(),
            Value::Object(o) => o.type_name().into(),
            Value::Float(_) => "float64".into(),
            Value::Str(_) => "string".into(),
            Value::List(l) => format!("[]{}", l.elem.name()),
            Value::Map(m) => match m.try_borrow() {
                Ok(m) => format!("map[string]{}", m.elem.name()),
                Err(_) => "map".into(),
            },
        }
    }

    /// Go's `reflect.Kind` name.
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Value::Invalid | Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_, IntTy::Int) => "int",
            Value::Int(_, IntTy::Int64) => "int64",
            Value::Int(_, IntTy::Uint8) => "uint8",
            Value::Int(_, IntTy::Uint64) => "uint64",
            Value::Int(_, IntTy::Month | IntTy::Weekday) => "int",
            Value::Object(o) => o.kind_name(),
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
        }
    }

    /// Go's `isTrue` (text/template truthiness).
    pub(crate) fn truth(&self) -> bool {
        match self {
            Value::Invalid | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i, _) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.as_bytes().is_empty(),
            Value::List(l) => !l.items.is_empty(),
            // a non-nil pointer, or a struct (always true in Go templates)
            Value::Object(_) => true,
            Value::Map(m) => m
                .try_borrow()
                .map(|m| !m.entries.is_empty())
                .unwrap_or(true),
        }
    }

    /// Sprig's `empty`.
    pub(crate) fn is_empty(&self) -> bool {
        !self.truth()
    }

    /// The value an `interface{}` parameter receives.
    pub(crate) fn into_iface(self) -> Value {
        match self {
            Value::Invalid => Value::Nil,
            v => v,
        }
    }

    /// What a pipeline stage yields (nil interfaces become "no value").
    pub(crate) fn unwrap_iface(self) -> Value {
        match self {
            Value::Nil => Value::Invalid,
            v => v,
        }
    }

    /// List nesting depth (0 for non-lists).
    pub(crate) fn list_depth(&self) -> usize {
        match self {
            Value::List(l) => l.depth,
            _ => 0,
        }
    }

    pub(crate) fn is_nil(&self) -> bool {
        matches!(self, Value::Nil | Value::Invalid)
    }
}

/// Go's `utf8.DecodeRune`: invalid sequences decode as (U+FFFD, 1).
pub(crate) fn decode_rune(b: &[u8]) -> (char, usize) {
    let Some(&b0) = b.first() else {
        return ('\u{FFFD}', 0);
    };
    if b0 < 0x80 {
        return (b0 as char, 1);
    }
    let n = match b0 {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return ('\u{FFFD}', 1),
    };
    match b.get(..n).map(std::str::from_utf8) {
        Some(Ok(s)) => match s.chars().next() {
            Some(c) => (c, n),
            None => ('\u{FFFD}', 1),
        },
        _ => ('\u{FFFD}', 1),
    }
}

/// Iterate Go-style over the runes of a byte string: (rune, start, size).
pub(crate) fn runes(b: &[u8]) -> impl Iterator<Item = (char, usize, usize)> + '_ {
    let mut i = 0usize;
    std::iter::from_fn(move || {
        let rest = b.get(i..)?;
        if rest.is_empty() {
            return None;
        }
        let (c, n) = decode_rune(rest);
        let start = i;
        i += n.max(1);
        Some((c, start, n.max(1)))
    })
}

/// Go `unicode.IsSpace`.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// Go `unicode.ToUpper` (simple mapping).
pub(crate) fn to_upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go `unicode.ToLower` (simple mapping).
pub(crate) fn to_lower(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go `unicode.IsTitle`: the title-case letters (category Lt).
pub(crate) fn is_title(c: char) -> bool {
    matches!(c,
        '\u{1C5}' | '\u{1C8}' | '\u{1CB}' | '\u{1F2}' | '\u{1F88}'..='\u{1F8F}'
        | '\u{1F98}'..='\u{1F9F}' | '\u{1FA8}'..='\u{1FAF}' | '\u{1FBC}' | '\u{1FCC}'
        | '\u{1FFC}')
}

/// Go `unicode.ToTitle`: upper case, except the digraphs, whose title case is their own
/// letter (Rust has no title-case mapping).
pub(crate) fn to_title(c: char) -> char {
    match c {
        '\u{1C4}'..='\u{1C6}' => '\u{1C5}',
        '\u{1C7}'..='\u{1C9}' => '\u{1C8}',
        '\u{1CA}'..='\u{1CC}' => '\u{1CB}',
        '\u{1F1}'..='\u{1F3}' => '\u{1F2}',
        c if is_title(c) => c,
        c => to_upper(c),
    }
}

/// Go `unicode.IsUpper`.
pub(crate) fn is_upper(c: char) -> bool {
    c.is_uppercase()
}

/// Go `unicode.IsLower`.
pub(crate) fn is_lower(c: char) -> bool {
    c.is_lowercase()
}

/// Go `unicode.IsPunct` (exact for ASCII, approximate elsewhere).
pub(crate) fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        return matches!(
            c,
            '!' | '"'
                | '#'
                | '%'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | ','
                | '-'
                | '.'
                | '/'
                | ':'
                | ';'
                | '?'
                | '@'
                | '['
                | '\\'
                | ']'
                | '_'
                | '{'
                | '}'
        );
    }
    matches!(c,
        '\u{A1}' | '\u{A7}' | '\u{AB}' | '\u{B6}' | '\u{B7}' | '\u{BB}' | '\u{BF}'
        | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{2043}' | '\u{2045}'..='\u{2051}'
        | '\u{2053}'..='\u{205E}' | '\u{3001}'..='\u{3003}' | '\u{3008}'..='\u{3011}'
        | '\u{3014}'..='\u{301F}' | '\u{FF01}'..='\u{FF03}' | '\u{FF05}'..='\u{FF0A}'
        | '\u{FF0C}'..='\u{FF0F}' | '\u{FF1A}' | '\u{FF1B}' | '\u{FF1F}' | '\u{FF20}'
        | '\u{FF3B}'..='\u{FF3D}' | '\u{FF3F}' | '\u{FF5B}' | '\u{FF5D}')
}

/// Go `unicode.IsPrint` (approximate outside ASCII/Latin-1).
pub(crate) fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c,
        '\u{AD}' | '\u{600}'..='\u{605}' | '\u{61C}' | '\u{6DD}' | '\u{70F}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{E000}'..='\u{F8FF}' | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}' | '\u{FFFE}' | '\u{FFFF}' | '\u{F0000}'..='\u{10FFFF}')
}

/// Go `unicode.IsLetter`.
pub(crate) fn is_letter(c: char) -> bool {
    c.is_alphabetic()
}

/// Go `unicode.IsDigit` / `IsNumber` (approximate).
pub(crate) fn is_digit(c: char) -> bool {
    c.is_numeric()
}
