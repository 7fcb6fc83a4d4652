//! Containers for plaintext: zeroized on drop, redacted in `Debug`, never `Display`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// Secret bytes: a Secret's `data` value, a decrypted item, a private key's encoding.
///
/// The buffer is wiped when dropped and `Debug` prints `[REDACTED]`. In manifests it
/// (de)serializes as standard padded base64, the way Kubernetes encodes `[]byte`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes`; they are wiped when the value is dropped.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Copies `bytes` into a new zeroizing buffer.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }

    /// The plaintext. Named so that every use is visible in review.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes (not secret).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl Serialize for SecretBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let encoded = Zeroizing::new(STANDARD.encode(self.expose()));
        serializer.serialize_str(&encoded)
    }
}

impl<'de> Deserialize<'de> for SecretBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `null` means empty, as the API server reads it.
        Ok(Option::<Base64>::deserialize(deserializer)?.map_or_else(SecretBytes::default, |b| b.0))
    }
}

struct Base64(SecretBytes);

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(Base64Visitor).map(Base64)
    }
}

struct Base64Visitor;

impl Visitor<'_> for Base64Visitor {
    type Value = SecretBytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a base64 string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretBytes, E> {
        // The message must not echo `v`: it is the secret.
        decode_base64(v).ok_or_else(|| E::custom("value is not valid base64"))
    }
}

/// `stringData` value: plaintext given as text, sealed as its UTF-8 bytes.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Takes ownership of `text`; it is wiped when the value is dropped.
    #[must_use]
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The plaintext.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<Text>::deserialize(deserializer)?.map_or_else(SecretString::default, |t| t.0))
    }
}

struct Text(SecretString);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(StringVisitor).map(Text)
    }
}

struct StringVisitor;

impl Visitor<'_> for StringVisitor {
    type Value = SecretString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretString, E> {
        Ok(SecretString::new(v.to_owned()))
    }
}

/// Decodes standard padded base64, ignoring CR and LF anywhere (as Go's `StdEncoding` does).
pub(crate) fn decode_base64(text: &str) -> Option<SecretBytes> {
    let decoded = if text.contains(['\r', '\n']) {
        let compact: Zeroizing<String> =
            Zeroizing::new(text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect());
        STANDARD.decode(compact.as_bytes())
    } else {
        STANDARD.decode(text.as_bytes())
    };
    decoded.ok().map(SecretBytes::new)
}

/// Encodes with standard padded base64 on one line.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let secret = SecretBytes::from_slice(b"hunter2");
        assert_eq!(format!("{secret:?}"), "[REDACTED]");
        let text = SecretString::new("hunter2".into());
        assert_eq!(format!("{text:?}"), "[REDACTED]");
    }

    #[test]
    fn base64_tolerates_line_breaks_like_go() {
        let decoded = decode_base64("aHVu\r\ndGVy\nMg==").unwrap();
        assert_eq!(decoded.expose(), b"hunter2");
        assert!(decode_base64("aHVudGVyMg").is_none(), "padding is required");
        assert!(decode_base64("aHVu dGVyMg==").is_none());
    }

    #[test]
    fn bad_base64_error_does_not_echo_the_value() {
        let err = serde_json::from_str::<SecretBytes>("\"hunter2!!\"").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}

/// An output buffer for text that carries secrets: when it grows, the old allocation is wiped
/// before it is freed (a `Zeroizing<String>` only wipes the last one), and it is wiped when
/// dropped.
#[derive(Default)]
pub(crate) struct WipingBuffer(Zeroizing<Vec<u8>>);

impl WipingBuffer {
    fn reserve(&mut self, more: usize) {
        let needed = self.0.len() + more;
        if needed > self.0.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(
                needed.max(2 * self.0.capacity()).max(256),
            ));
            bigger.extend_from_slice(&self.0);
            self.0 = bigger;
        }
    }

    pub(crate) fn push_str(&mut self, s: &str) {
        self.reserve(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }

    pub(crate) fn push(&mut self, c: char) {
        self.push_str(c.encode_utf8(&mut [0; 4]));
    }

    pub(crate) fn ends_with(&self, suffix: &str) -> bool {
        self.0.ends_with(suffix.as_bytes())
    }

    /// The text. Only `push`/`push_str` and JSON's writer fill the buffer, all with whole
    /// UTF-8 strings.
    pub(crate) fn into_string(mut self) -> Zeroizing<String> {
        let bytes = std::mem::take(&mut *self.0);
        Zeroizing::new(String::from_utf8(bytes).expect("the buffer holds whole UTF-8 strings"))
    }
}

impl fmt::Write for WipingBuffer {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

impl std::io::Write for WipingBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.reserve(bytes.len());
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Wipes every string in `value` (values, not keys: keys are names), before it is dropped.
pub(crate) fn wipe_strings(value: &mut serde_json::Value) {
    use zeroize::Zeroize as _;
    match value {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(wipe_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(wipe_strings),
        _ => {}
    }
}

#[cfg(test)]
mod wiping_buffer_tests {
    use super::*;

    #[test]
    fn grows_and_keeps_text() {
        let mut buffer = WipingBuffer::default();
        let mut expected = String::new();
        for i in 0..1000 {
            let piece = format!("{i}é\n");
            buffer.push_str(&piece);
            buffer.push('x');
            expected.push_str(&piece);
            expected.push('x');
        }
        assert!(buffer.ends_with("999é\nx"));
        assert_eq!(buffer.into_string().as_str(), expected);
    }

    #[test]
    fn wipes_every_string_value() {
        let mut value = serde_json::json!({"data": {"k": "c2VjcmV0"}, "list": ["a", 1]});
        wipe_strings(&mut value);
        assert_eq!(
            value,
            serde_json::json!({"data": {"k": ""}, "list": ["", 1]})
        );
    }
}
