//! Manifest documents as trees that remember their line numbers: YAML (several documents) and
//! JSON (one value or a stream of objects). Scalars are wiped on drop: a plaintext Secret's
//! values pass through here.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use zeroize::Zeroizing;

/// A value and the 1-based line it starts on.
pub struct Node {
    /// 1-based line in the file.
    pub line: usize,
    /// The value.
    pub value: Value,
}

/// A YAML/JSON value. Numbers and booleans keep their text; strings are wiped on drop.
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// A string.
    Str(Zeroizing<String>),
    /// A number or boolean, as text.
    Other(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<Entry>),
}

/// One `key: value` of a mapping.
pub struct Entry {
    /// The key, as text.
    pub key: String,
    /// The key's line.
    pub line: usize,
    /// The value.
    pub value: Node,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Shapes and keys only: values may be plaintext.
        match &self.value {
            Value::Null => write!(f, "null@{}", self.line),
            Value::Str(_) | Value::Other(_) => write!(f, "[REDACTED]@{}", self.line),
            Value::Seq(items) => f.debug_list().entries(items).finish(),
            Value::Map(entries) => f
                .debug_map()
                .entries(entries.iter().map(|e| (&e.key, &e.value)))
                .finish(),
        }
    }
}

impl Node {
    /// The value at `key`, if this is a mapping holding it (the last one wins, as in YAML
    /// decoders that accept duplicates).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The entry at `key`, with the key's line.
    #[must_use]
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().rev().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The string at `key`, or `""` when absent or not a string.
    #[must_use]
    pub fn str_at(&self, key: &str) -> &str {
        match self.get(key).map(|n| &n.value) {
            Some(Value::Str(s)) => s.as_str(),
            _ => "",
        }
    }

    /// The string value, if this is one.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// The mapping's entries (empty for anything else).
    #[must_use]
    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// Whether this is a null, an empty string, or an empty collection.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        match &self.value {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            Value::Other(_) => false,
            Value::Seq(items) => items.is_empty(),
            Value::Map(entries) => entries.is_empty(),
        }
    }

    /// Replaces unknown lines (0: a decoder without positions) with `line`.
    fn default_lines(&mut self, line: usize) {
        if self.line == 0 {
            self.line = line;
        }
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| n.default_lines(line)),
            Value::Map(entries) => {
                for e in entries {
                    if e.line == 0 {
                        e.line = if e.value.line == 0 {
                            line
                        } else {
                            e.value.line
                        };
                    }
                    e.value.default_lines(line);
                }
            }
            _ => {}
        }
    }

    fn shift_lines(&mut self, by: usize) {
        self.line += by;
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| n.shift_lines(by)),
            Value::Map(entries) => {
                for e in entries {
                    e.line += by;
                    e.value.shift_lines(by);
                }
            }
            _ => {}
        }
    }
}

/// A file that does not parse: where, and what (never quoting the input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads every document of `text` (YAML, or JSON when it starts with `{` or `[`). Empty
/// documents are left out.
pub fn parse(text: &str) -> Result<Vec<Node>, ParseError> {
    let docs = match seal::Format::detect(text) {
        seal::Format::Json => parse_json(text)?,
        seal::Format::Yaml => parse_yaml(text, 0)?,
    };
    Ok(docs
        .into_iter()
        .filter(|d| !matches!(d.value, Value::Null))
        .collect())
}

fn parse_yaml(text: &str, line_offset: usize) -> Result<Vec<Node>, ParseError> {
    let options = serde_saphyr::options! {
        with_snippet: false,
    };
    let mut docs: Vec<Node> =
        serde_saphyr::from_multiple_with_options(text, options).map_err(|e| ParseError {
            line: e
                .location()
                .map_or(0, |l| usize::try_from(l.line()).unwrap_or(0)),
            message: unquoted_first_line(&e.to_string()),
        })?;
    for doc in &mut docs {
        doc.shift_lines(line_offset);
    }
    Ok(docs)
}

/// JSON values one after another. Each is read with the YAML decoder for its line numbers
/// (JSON is YAML); one that YAML refuses is read as JSON, every line then its first.
fn parse_json(text: &str) -> Result<Vec<Node>, ParseError> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<de::IgnoredAny>();
    let mut docs = Vec::new();
    let mut start = 0;
    // Lines before `start`, counted as `start` moves (a stream may hold many documents).
    let mut before = 0;
    loop {
        match stream.next() {
            None => break,
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                return Err(ParseError {
                    line: e.line(),
                    message: unquoted_first_line(&strip_json_location(&e.to_string())),
                });
            }
        }
        let end = stream.byte_offset();
        let slice = &text[start..end];
        match parse_yaml(slice, before) {
            Ok(mut nodes) => docs.append(&mut nodes),
            Err(_) => {
                let mut node: Node = serde_json::from_str(slice).map_err(|e| ParseError {
                    line: before + e.line(),
                    message: unquoted_first_line(&strip_json_location(&e.to_string())),
                })?;
                let leading = slice.len() - slice.trim_start().len();
                node.default_lines(before + 1 + slice[..leading].matches('\n').count());
                docs.push(node);
            }
        }
        before += slice.matches('\n').count();
        start = end;
    }
    Ok(docs)
}

fn strip_json_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The first line of a decoder message with anything it quotes from the input cut out.
fn unquoted_first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    let mut out = String::with_capacity(line.len());
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => {
                out.push('…');
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if matches!(c, '"' | '`') => {
                out.push(c);
                quote = Some(c);
            }
            None => out.push(c),
        }
    }
    if quote.is_some() {
        out.push('…');
    }
    out.chars().take(200).collect()
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        Ok(Node {
            line: usize::try_from(spanned.referenced.line()).unwrap_or(0),
            value: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML or JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Value::deserialize(deserializer)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Other(v.to_string()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Other(v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Other(v.to_string()))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Other(v.to_string()))
    }

    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(Value::Other(v.to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Other(v.to_string()))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(Zeroizing::new(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(Zeroizing::new(v)))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(Zeroizing::new(
            String::from_utf8_lossy(v).into_owned(),
        )))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value: Node = map.next_value()?;
            let text = match key.value {
                Value::Str(s) => s.to_string(),
                Value::Other(s) => s,
                Value::Null => "null".to_owned(),
                Value::Seq(_) | Value::Map(_) => "?".to_owned(),
            };
            entries.push(Entry {
                key: text,
                line: if key.line == 0 { value.line } else { key.line },
                value,
            });
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(node: &Node, path: &[&str]) -> usize {
        let mut at = node;
        let mut line = node.line;
        for key in path {
            let e = at.entry(key).expect(key);
            line = e.line;
            at = &e.value;
        }
        line
    }

    #[test]
    fn yaml_documents_know_their_lines() {
        let text = "# c\nkind: A\nspec:\n  encryptedData:\n    a: x\n    b: y\n---\n---\nkind: B\nmeta: {x: 1}\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].line, 2);
        assert_eq!(lines(&docs[0], &["spec", "encryptedData", "b"]), 6);
        assert_eq!(docs[1].str_at("kind"), "B");
        assert_eq!(lines(&docs[1], &["meta", "x"]), 10);
    }

    #[test]
    fn json_streams_know_their_lines() {
        let text = "{\n  \"kind\": \"A\"\n}\n{\n  \"kind\": \"B\",\n  \"x\": {\"y\": 1}\n}\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(lines(&docs[0], &["kind"]), 2);
        assert_eq!(lines(&docs[1], &["x", "y"]), 6);
    }

    #[test]
    fn errors_do_not_quote_the_input() {
        let e = parse("a: \"hunter2\nb: [").unwrap_err();
        assert!(!e.message.contains("hunter2"), "{e:?}");
        let e = parse("{\"a\": hunter2}").unwrap_err();
        assert!(!e.message.contains("hunter2"), "{e:?}");
        assert_eq!(e.line, 1);
    }

    #[test]
    fn debug_never_shows_values() {
        let docs = parse("data: {password: hunter2}\n").unwrap();
        assert!(!format!("{docs:?}").contains("hunter2"));
    }
}
