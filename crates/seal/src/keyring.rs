//! The private keys a cluster holds, and which one to try first.

use std::time::SystemTime;

use crate::format::{OpenError, SealedParts};
use crate::keys::{Certificate, Fingerprint, PrivateKey};
use crate::secret::SecretBytes;

/// One key of a keyring.
#[derive(Debug)]
pub struct KeyEntry {
    key: PrivateKey,
    certificate: Option<Certificate>,
    ordering_time: SystemTime,
}

impl KeyEntry {
    /// The private key.
    #[must_use]
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// The certificate, when the key came with one.
    #[must_use]
    pub fn certificate(&self) -> Option<&Certificate> {
        self.certificate.as_ref()
    }

    /// The time that orders keys: newest seals.
    #[must_use]
    pub fn ordering_time(&self) -> SystemTime {
        self.ordering_time
    }
}

/// Several private keys, newest first.
///
/// Values carry no key id (upstream's format), so opening one means trying keys. The order
/// makes the common case cost one RSA operation however many keys there are: the caller's hint
/// first (the key that opened this object last time), then newest first. Keys whose modulus
/// size differs from the ciphertext's are skipped without RSA work.
#[derive(Debug, Default)]
pub struct Keyring {
    entries: Vec<KeyEntry>,
}

impl Keyring {
    /// An empty keyring.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key ordered by `ordering_time` (upstream uses the certificate's `notBefore`).
    /// Returns `false`, and keeps the first, when a key with the same fingerprint is present.
    pub fn insert(
        &mut self,
        key: PrivateKey,
        certificate: Option<Certificate>,
        ordering_time: SystemTime,
    ) -> bool {
        if self.get(key.fingerprint()).is_some() {
            return false;
        }
        let position = self
            .entries
            .iter()
            .position(|e| e.ordering_time < ordering_time)
            .unwrap_or(self.entries.len());
        self.entries.insert(
            position,
            KeyEntry {
                key,
                certificate,
                ordering_time,
            },
        );
        true
    }

    /// Adds a key with its certificate, ordered by the certificate's `notBefore`.
    pub fn insert_with_certificate(&mut self, key: PrivateKey, certificate: Certificate) -> bool {
        let time = certificate.not_before();
        self.insert(key, Some(certificate), time)
    }

    /// Removes the key with this fingerprint; returns whether one was there.
    pub fn remove(&mut self, fingerprint: &Fingerprint) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.key.fingerprint() != fingerprint);
        before != self.entries.len()
    }

    /// The key with this fingerprint.
    #[must_use]
    pub fn get(&self, fingerprint: &Fingerprint) -> Option<&KeyEntry> {
        self.entries
            .iter()
            .find(|e| e.key.fingerprint() == fingerprint)
    }

    /// The newest key: the one that seals.
    #[must_use]
    pub fn newest(&self) -> Option<&KeyEntry> {
        self.entries.first()
    }

    /// All keys, newest first.
    pub fn iter(&self) -> impl Iterator<Item = &KeyEntry> {
        self.entries.iter()
    }

    /// Number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Opens one sealed value, trying `hint` first and then newest first.
    /// Returns the plaintext and the fingerprint of the key that opened it.
    pub fn open_value(
        &self,
        label: &[u8],
        sealed: &[u8],
        hint: Option<&Fingerprint>,
    ) -> Result<(SecretBytes, &Fingerprint), OpenError> {
        let parts = SealedParts::split(sealed)?;
        let hinted = hint.and_then(|fp| self.get(fp));
        let rest = self
            .entries
            .iter()
            .filter(|e| Some(e.key.fingerprint()) != hint);
        for entry in hinted.into_iter().chain(rest) {
            if let Some(plaintext) = parts.open_with(&entry.key, label) {
                return Ok((plaintext, entry.key.fingerprint()));
            }
        }
        Err(OpenError::NoKeyCouldDecrypt)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::format::seal_value;
    use crate::test_keys;

    fn ring() -> Keyring {
        let mut ring = Keyring::new();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        assert!(ring.insert(test_keys::rsa2048(), None, t0));
        assert!(ring.insert(test_keys::rsa4096(), None, t0 + Duration::from_secs(10)));
        ring
    }

    #[test]
    fn newest_first_and_duplicates_refused() {
        let mut ring = ring();
        assert_eq!(ring.newest().unwrap().key().public_key().bits(), 4096);
        assert!(!ring.insert(test_keys::rsa2048(), None, SystemTime::now()));
        assert_eq!(ring.len(), 2);
    }

    #[test]
    fn opens_with_any_key_and_reports_which() {
        let ring = ring();
        let old = test_keys::rsa2048();
        let sealed = seal_value(old.public_key(), b"ns/n", b"v");
        let (plain, fp) = ring.open_value(b"ns/n", &sealed, None).unwrap();
        assert_eq!(plain.expose(), b"v");
        assert_eq!(fp, old.fingerprint());
        let (_, fp) = ring
            .open_value(b"ns/n", &sealed, Some(old.fingerprint()))
            .unwrap();
        assert_eq!(fp, old.fingerprint());
    }

    #[test]
    fn foreign_key_fails_with_the_generic_error() {
        let ring = ring();
        let sealed = seal_value(test_keys::foreign2048().public_key(), b"", b"v");
        assert_eq!(
            ring.open_value(b"", &sealed, None).unwrap_err(),
            OpenError::NoKeyCouldDecrypt
        );
        assert_eq!(
            Keyring::new().open_value(b"", &sealed, None).unwrap_err(),
            OpenError::NoKeyCouldDecrypt
        );
    }
}
