//! One sealed value, byte-compatible with upstream Sealed Secrets.
//!
//! Layout before base64:
//! `u16_be(len(rsa_ct)) || rsa_ct || aes_gcm_ct || tag`, where `rsa_ct` is
//! RSA-OAEP(SHA-256, MGF1-SHA-256, label) of a fresh 32-byte AES-256-GCM key, and the AES part
//! uses a 12-byte zero nonce and no associated data. The label binds the value to its scope
//! (see [`crate::Scope::label`]); nothing else does.

use crate::backend::{self, SESSION_KEY_LEN};
use crate::keys::{PrivateKey, PublicKey};
use crate::secret::SecretBytes;

/// Why a value could not be opened. Deliberately coarse: it never says which key or why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Fewer bytes than the length prefix announces.
    #[error("SealedSecret data is too short")]
    TooShort,
    /// No key opened it (wrong key, wrong scope label, or tampered bytes).
    #[error("no key could decrypt secret")]
    NoKeyCouldDecrypt,
}

/// Seals `plaintext` for `label` with the public key. The output is random each time.
#[must_use]
pub fn seal_value(public_key: &PublicKey, label: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let session_key = backend::random_session_key();
    let rsa_ct = public_key
        .rsa()
        .encrypt(label, session_key.as_ref())
        .expect("RSA-OAEP of a 32-byte key fits every supported modulus");
    let aes_ct = backend::aes_seal(&session_key, plaintext);
    let rsa_len = u16::try_from(rsa_ct.len()).expect("RSA ciphertext of at most 8192 bits");
    let mut out = Vec::with_capacity(2 + rsa_ct.len() + aes_ct.len());
    out.extend_from_slice(&rsa_len.to_be_bytes());
    out.extend_from_slice(&rsa_ct);
    out.extend_from_slice(&aes_ct);
    out
}

/// A sealed value split into its parts, without any key work done yet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SealedParts<'a> {
    pub(crate) rsa_ct: &'a [u8],
    pub(crate) aes_ct: &'a [u8],
}

impl<'a> SealedParts<'a> {
    pub(crate) fn split(sealed: &'a [u8]) -> Result<Self, OpenError> {
        let (prefix, rest) = sealed.split_at_checked(2).ok_or(OpenError::TooShort)?;
        let rsa_len = usize::from(u16::from_be_bytes([prefix[0], prefix[1]]));
        let (rsa_ct, aes_ct) = rest.split_at_checked(rsa_len).ok_or(OpenError::TooShort)?;
        Ok(Self { rsa_ct, aes_ct })
    }

    /// Tries one key. `None` for any failure, so callers cannot tell why.
    pub(crate) fn open_with(&self, key: &PrivateKey, label: &[u8]) -> Option<SecretBytes> {
        let rsa = key.rsa();
        // A ciphertext of another length cannot be this key's: skip the RSA work.
        if self.rsa_ct.len() != rsa.ciphertext_len() {
            return None;
        }
        let session_key = rsa.decrypt(label, self.rsa_ct)?;
        if session_key.len() != SESSION_KEY_LEN {
            return None;
        }
        backend::aes_open(&session_key, self.aes_ct)
    }
}

/// Opens a value sealed for `label` with one private key.
///
/// To try several keys, use [`crate::Keyring::open_value`].
pub fn open_value(
    private_key: &PrivateKey,
    label: &[u8],
    sealed: &[u8],
) -> Result<SecretBytes, OpenError> {
    SealedParts::split(sealed)?
        .open_with(private_key, label)
        .ok_or(OpenError::NoKeyCouldDecrypt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys;

    #[test]
    fn layout_matches_upstream() {
        let key = test_keys::rsa2048();
        let sealed = seal_value(key.public_key(), b"myns/mysecret", b"bar");
        // 2-byte prefix, 256-byte RSA block, 3 bytes of ciphertext and a 16-byte tag.
        assert_eq!(sealed.len(), 2 + 256 + 3 + 16);
        assert_eq!(&sealed[..2], &[0x01, 0x00]);
        assert_eq!(
            open_value(&key, b"myns/mysecret", &sealed)
                .unwrap()
                .expose(),
            b"bar"
        );
    }

    #[test]
    fn wrong_label_is_rejected() {
        let key = test_keys::rsa2048();
        let sealed = seal_value(key.public_key(), b"myns/mysecret", b"bar");
        assert_eq!(
            open_value(&key, b"myns/other", &sealed).unwrap_err(),
            OpenError::NoKeyCouldDecrypt
        );
        assert_eq!(
            open_value(&key, b"myns", &sealed).unwrap_err(),
            OpenError::NoKeyCouldDecrypt
        );
    }

    #[test]
    fn short_inputs_are_too_short() {
        let key = test_keys::rsa2048();
        for bytes in [&[][..], &[1][..], &[1, 0, 5][..]] {
            assert_eq!(
                open_value(&key, b"", bytes).unwrap_err(),
                OpenError::TooShort
            );
        }
    }

    #[test]
    fn empty_plaintext_round_trips() {
        let key = test_keys::rsa2048();
        let sealed = seal_value(key.public_key(), b"", b"");
        assert_eq!(sealed.len(), 2 + 256 + 16);
        assert!(open_value(&key, b"", &sealed).unwrap().is_empty());
    }
}
