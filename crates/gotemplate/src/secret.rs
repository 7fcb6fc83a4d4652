//! The one container for plaintext bytes: wiped on drop and when it grows, redacted in
//! `Debug`, never `Display`.

use std::cmp::Ordering;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, Zeroizing};

/// Secret bytes: a Secret's `data` value, a decrypted item, a rendered template, a private
/// key's encoding, a string inside the template engine.
///
/// The buffer is wiped when dropped, and the old allocation is wiped whenever appending makes
/// it grow; `Debug` prints `[REDACTED]`. In manifests it (de)serializes as standard padded
/// base64, the way Kubernetes encodes `[]byte`.
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

    /// An empty buffer with room for `capacity` bytes.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        Self::new(Vec::with_capacity(capacity))
    }

    /// Decodes standard padded base64, ignoring CR and LF anywhere (as Go's `StdEncoding`
    /// does). `None` when the text is not base64; nothing says where, as the text is secret.
    #[must_use]
    pub fn decode_base64(text: &str) -> Option<Self> {
        let decoded = if text.contains(['\r', '\n']) {
            let compact: Zeroizing<String> =
                Zeroizing::new(text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect());
            STANDARD.decode(compact.as_bytes())
        } else {
            STANDARD.decode(text.as_bytes())
        };
        decoded.ok().map(Self::new)
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

    /// Appends one byte.
    pub fn push(&mut self, byte: u8) {
        self.reserve_wiping(1);
        self.0.push(byte);
    }

    /// Appends `bytes`.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.reserve_wiping(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    /// Grows by copying into a new allocation and wiping the old one, so that no stale copy
    /// of the plaintext is left in freed memory (`Vec`'s own growth would not wipe it).
    fn reserve_wiping(&mut self, extra: usize) {
        let need = self.0.len().saturating_add(extra);
        if need > self.0.capacity() {
            let new_cap = need.max(self.0.capacity().saturating_mul(2)).max(16);
            let mut grown = Vec::with_capacity(new_cap);
            grown.extend_from_slice(&self.0);
            self.0.zeroize();
            *self.0 = grown;
        }
    }

    /// Appends the UTF-8 encoding of `text`.
    pub fn push_str(&mut self, text: &str) {
        self.extend(text.as_bytes());
    }

    /// Appends the UTF-8 encoding of `c`.
    pub fn push_char(&mut self, c: char) {
        let mut tmp = [0u8; 4];
        self.extend(c.encode_utf8(&mut tmp).as_bytes());
    }

    /// The bytes as text, when they are UTF-8 (wiped either way).
    #[must_use]
    pub fn into_utf8(self) -> Option<Zeroizing<String>> {
        match String::from_utf8(self.into_vec()) {
            Ok(text) => Some(Zeroizing::new(text)),
            Err(err) => {
                drop(Zeroizing::new(err.into_bytes()));
                None
            }
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Moves the bytes out; the caller wraps them in a wiping type again.
    pub(crate) fn into_vec(mut self) -> Vec<u8> {
        std::mem::take(&mut *self.0)
    }
}

impl PartialOrd for SecretBytes {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SecretBytes {
    fn cmp(&self, other: &Self) -> Ordering {
        self.expose().cmp(other.expose())
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Write for SecretBytes {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

impl std::io::Write for SecretBytes {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.extend(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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
        SecretBytes::decode_base64(v).ok_or_else(|| E::custom("value is not valid base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let secret = SecretBytes::from_slice(b"hunter2");
        assert_eq!(format!("{secret:?}"), "[REDACTED]");
    }

    #[test]
    fn base64_tolerates_line_breaks_like_go() {
        let decoded = SecretBytes::decode_base64("aHVu\r\ndGVy\nMg==").unwrap();
        assert_eq!(decoded.expose(), b"hunter2");
        assert!(
            SecretBytes::decode_base64("aHVudGVyMg").is_none(),
            "padding is required"
        );
        assert!(SecretBytes::decode_base64("aHVu dGVyMg==").is_none());
    }

    #[test]
    fn bad_base64_error_does_not_echo_the_value() {
        let err = serde_json::from_str::<SecretBytes>("\"hunter2!!\"").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn growing_keeps_the_bytes() {
        let mut buf = SecretBytes::default();
        for i in 0..1000u16 {
            buf.push(u8::try_from(i % 251).unwrap());
        }
        buf.extend(b"tail");
        assert_eq!(buf.len(), 1004);
        assert_eq!(&buf.expose()[1000..], b"tail");
        assert_eq!(buf.expose()[250], 250);
    }

    #[test]
    fn text_round_trips_and_bad_utf8_is_refused() {
        let mut buf = SecretBytes::default();
        buf.push_str("é");
        buf.push_char('x');
        assert_eq!(buf.into_utf8().unwrap().as_str(), "éx");
        assert!(SecretBytes::from_slice(b"\xff").into_utf8().is_none());
    }
}
