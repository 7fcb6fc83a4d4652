//! Byte-compatible Bitnami Sealed Secrets: the pure core.
//!
//! No Kubernetes client, no async, no I/O beyond what the caller passes in. Which function
//! to use:
//!
//! | to… | use |
//! | --- | --- |
//! | seal a Secret manifest | [`read_secrets`] → [`seal_secret`] → [`write_documents`] |
//! | unseal offline or in the controller | [`read_sealed_secrets`] → [`unseal`] with a [`Keyring`] |
//! | check or re-seal without templates (`/v1/verify`, `/v1/rotate`) | [`verify`], [`reencrypt`] |
//! | seal or open one raw value (`kubeseal --raw`) | [`Scope::label`] + [`seal_value`] / [`Keyring::open_value`] |
//! | make, read and write keys and certificates | [`PrivateKey`], [`Certificate`] |
//! | read keys from PEM files, key Secrets or backup Lists | [`read_private_keys`] |
//! | read one key Secret, its status, the newest key | [`KeyRecord`], [`key_record::sort_newest_first`], [`key_record::sealing_key`] |
//!
//! Plaintext lives in [`SecretBytes`] / [`SecretString`] (wiped on drop, `[REDACTED]` in
//! `Debug`); no error type carries a secret byte.
#![deny(missing_docs)]

mod backend;
pub mod format;
pub mod go_flags;
pub mod key_record;
mod keyfile;
pub mod keyring;
pub mod keys;
pub mod manifest;
pub mod scope;
mod sealing;
mod secret;
mod yaml;

#[cfg(test)]
pub(crate) mod test_keys;

pub use format::{OpenError, open_value, seal_value};
pub use key_record::{
    KeyOrder, KeyRecord, KeyRecordError, KeySecretFields, KeyStatus, SEALING_KEY_LABEL,
    TLS_SECRET_TYPE,
};
pub use keyfile::{KeyFileError, LoadedKey, key_record_of, read_private_keys, tls_key_secret};
pub use keyring::{KeyEntry, Keyring};
pub use keys::{Certificate, Fingerprint, KeyError, PrivateKey, PublicKey};
pub use manifest::{
    Format, ManifestError, ObjectMeta, OwnerReference, SealedSecret, Secret, read_sealed_secrets,
    read_secrets, write_documents,
};
pub use scope::Scope;
pub use sealing::{
    ItemError, SKIP_SET_OWNER_REFERENCES_ANNOTATION, SealError, SealOptions, UnsealError,
    UnsealOptions, Unsealed, label_of, owner_reference, reencrypt, seal_secret, secret_from_values,
    unseal, verify, verify_until_first_failure,
};
pub use secret::{SecretBytes, SecretString};
