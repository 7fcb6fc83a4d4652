//! Containers for plaintext: zeroized on drop, redacted in `Debug`, never `Display`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

pub use gotemplate::SecretBytes;

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

/// Encodes with standard padded base64 on one line.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let text = SecretString::new("hunter2".into());
        assert_eq!(format!("{text:?}"), "[REDACTED]");
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
    fn wipes_every_string_value() {
        let mut value = serde_json::json!({"data": {"k": "c2VjcmV0"}, "list": ["a", 1]});
        wipe_strings(&mut value);
        assert_eq!(
            value,
            serde_json::json!({"data": {"k": ""}, "list": ["", 1]})
        );
    }
}
