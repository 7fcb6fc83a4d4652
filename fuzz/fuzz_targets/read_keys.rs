//! Arbitrary bytes as key files, private keys and certificates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seal::{Certificate, PrivateKey, read_private_keys};

fuzz_target!(|data: &[u8]| {
    if let Ok(keys) = read_private_keys(data) {
        for loaded in &keys {
            // Whatever was accepted must re-encode and re-read to the same key.
            let pem = loaded.key.to_pkcs1_pem();
            let again = PrivateKey::from_pem(pem.as_bytes()).expect("re-reading our PKCS#1");
            assert_eq!(again.fingerprint(), loaded.key.fingerprint());
        }
    }
    if let Ok(cert) = Certificate::from_pem(data) {
        let again = Certificate::from_pem(cert.to_pem().as_bytes()).expect("re-reading our PEM");
        assert_eq!(again.der(), cert.der());
        let _ = cert.check_not_expired(std::time::SystemTime::now());
    }
    if let Ok(key) = PrivateKey::from_pem(data) {
        let pkcs8 = key.to_pkcs8_pem();
        let again = PrivateKey::from_pem(pkcs8.as_bytes()).expect("re-reading our PKCS#8");
        assert_eq!(again.fingerprint(), key.fingerprint());
    }
});
