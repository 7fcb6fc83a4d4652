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
