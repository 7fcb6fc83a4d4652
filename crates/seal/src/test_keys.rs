//! The compat vectors' test keys (public, never for production).

use crate::keys::{Certificate, PrivateKey};

const RSA2048_KEY: &str = include_str!("../tests/fixtures/compat/keys/rsa2048/tls.key");
const RSA2048_CERT: &str = include_str!("../tests/fixtures/compat/keys/rsa2048/tls.crt");
const RSA4096_KEY: &str = include_str!("../tests/fixtures/compat/keys/rsa4096/tls.key");
const RSA4096_CERT: &str = include_str!("../tests/fixtures/compat/keys/rsa4096/tls.crt");
const FOREIGN2048_KEY: &str = include_str!("../tests/fixtures/compat/keys/foreign2048/tls.key");

pub(crate) fn rsa2048() -> PrivateKey {
    PrivateKey::from_pem(RSA2048_KEY.as_bytes()).unwrap()
}

pub(crate) fn rsa2048_cert() -> Certificate {
    Certificate::from_pem(RSA2048_CERT.as_bytes()).unwrap()
}

pub(crate) fn rsa4096() -> PrivateKey {
    PrivateKey::from_pem(RSA4096_KEY.as_bytes()).unwrap()
}

pub(crate) fn rsa4096_cert() -> Certificate {
    Certificate::from_pem(RSA4096_CERT.as_bytes()).unwrap()
}

pub(crate) fn foreign2048() -> PrivateKey {
    PrivateKey::from_pem(FOREIGN2048_KEY.as_bytes()).unwrap()
}
