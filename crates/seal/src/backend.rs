//! The RSA-OAEP and AES-GCM operations on sealed values: the controller's hot path.
//!
//! RSA-OAEP runs on `aws-lc-rs`, whose private-key operation is constant time, blinded and
//! faster than the `rsa` crate's. The `rsa` crate does the rare work, in `keys.rs`: key
//! generation, PKCS#1/PKCS#8 encoding and certificate signing.
//! AES-256-GCM and the key fingerprint's SHA-256 run on `aws-lc-rs` too: the RSA work has
//! already made it detect the CPU's features, which the RustCrypto crates would each detect
//! again (a `cpuid` is a trip to the hypervisor on a virtual machine), a noticeable part of
//! a `kubeseal` run. Swapping the backend that seals and opens values means editing only this
//! file.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rsa::{
    OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey, PublicEncryptingKey,
};
use zeroize::Zeroizing;

use crate::secret::SecretBytes;

/// Bytes of the per-value AES-256 session key.
pub(crate) const SESSION_KEY_LEN: usize = 32;

/// Zero nonce: safe because every session key encrypts exactly one message.
const ZERO_NONCE: [u8; 12] = [0; 12];

pub(crate) struct RsaPublic(OaepPublicEncryptingKey);

impl RsaPublic {
    pub(crate) fn from_spki_der(der: &[u8]) -> Option<Self> {
        let key = PublicEncryptingKey::from_der(der).ok()?;
        OaepPublicEncryptingKey::new(key).ok().map(Self)
    }

    pub(crate) fn encrypt(&self, label: &[u8], message: &[u8]) -> Option<Vec<u8>> {
        let mut out = vec![0; self.0.ciphertext_size()];
        let len = self
            .0
            .encrypt(&OAEP_SHA256_MGF1SHA256, message, &mut out, Some(label))
            .ok()?
            .len();
        out.truncate(len);
        Some(out)
    }
}

pub(crate) struct RsaPrivate(OaepPrivateDecryptingKey);

impl RsaPrivate {
    pub(crate) fn from_pkcs8_der(der: &[u8]) -> Option<Self> {
        let key = PrivateDecryptingKey::from_pkcs8(der).ok()?;
        OaepPrivateDecryptingKey::new(key).ok().map(Self)
    }

    pub(crate) fn ciphertext_len(&self) -> usize {
        self.0.key_size_bytes()
    }

    pub(crate) fn decrypt(&self, label: &[u8], ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let mut out = Zeroizing::new(vec![0; self.0.min_output_size()]);
        let len = self
            .0
            .decrypt(&OAEP_SHA256_MGF1SHA256, ciphertext, &mut out, Some(label))
            .ok()?
            .len();
        out.truncate(len);
        Some(out)
    }
}

pub(crate) fn random_session_key() -> Zeroizing<[u8; SESSION_KEY_LEN]> {
    let mut key = Zeroizing::new([0u8; SESSION_KEY_LEN]);
    // The system RNG failing is not recoverable and not input-dependent.
    aws_lc_rs::rand::fill(key.as_mut()).expect("system random number generator failed");
    key
}

fn gcm(key: &[u8; SESSION_KEY_LEN]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte key is an AES-256 key"))
}

pub(crate) fn aes_seal(key: &[u8; SESSION_KEY_LEN], plaintext: &[u8]) -> Vec<u8> {
    // Room for the tag up front: growing the buffer would leave a copy of the plaintext behind.
    let mut sealed = Vec::with_capacity(plaintext.len() + AES_256_GCM.tag_len());
    sealed.extend_from_slice(plaintext);
    gcm(key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(ZERO_NONCE),
            Aad::empty(),
            &mut sealed,
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    sealed
}

pub(crate) fn aes_open(key: &[u8], ciphertext: &[u8]) -> Option<SecretBytes> {
    // Upstream would also accept 16- and 24-byte session keys; no sealer makes them.
    let key: &[u8; SESSION_KEY_LEN] = key.try_into().ok()?;
    // Decrypted in place; wiped if the tag is wrong (what is left then is unspecified), handed
    // over without a copy if it is right.
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    let len = gcm(key)
        .open_in_place(
            Nonce::assume_unique_for_key(ZERO_NONCE),
            Aad::empty(),
            &mut buffer,
        )
        .ok()?
        .len();
    let mut plaintext = std::mem::take(&mut *buffer);
    plaintext.truncate(len);
    Some(SecretBytes::new(plaintext))
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    digest(&SHA256, data)
        .as_ref()
        .try_into()
        .expect("SHA-256 digests are 32 bytes")
}
