//! Property tests: seal→unseal is the identity, any flipped bit is rejected, and no input
//! makes the readers panic.

use std::sync::OnceLock;

use proptest::prelude::*;
use seal::{
    Certificate, Keyring, PrivateKey, Scope, open_value, read_private_keys, read_sealed_secrets,
    read_secrets, seal_value,
};

const KEY: &str = include_str!("fixtures/compat/keys/rsa2048/tls.key");
const CERT: &str = include_str!("fixtures/compat/keys/rsa2048/tls.crt");

fn key() -> &'static PrivateKey {
    static KEY_CELL: OnceLock<PrivateKey> = OnceLock::new();
    KEY_CELL.get_or_init(|| PrivateKey::from_pem(KEY.as_bytes()).unwrap())
}

fn cert() -> &'static Certificate {
    static CERT_CELL: OnceLock<Certificate> = OnceLock::new();
    CERT_CELL.get_or_init(|| Certificate::from_pem(CERT.as_bytes()).unwrap())
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![
        Just(Scope::Strict),
        Just(Scope::NamespaceWide),
        Just(Scope::ClusterWide)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn seal_then_open_is_identity(
        value in proptest::collection::vec(any::<u8>(), 0..2048),
        namespace in "[a-z0-9-]{0,20}",
        name in "[a-z0-9.-]{0,20}",
        scope in scope(),
    ) {
        let label = scope.label(&namespace, &name);
        let sealed = seal_value(cert().public_key(), &label, &value);
        prop_assert_eq!(sealed.len(), 2 + 256 + value.len() + 16);
        let opened = open_value(key(), &label, &sealed).unwrap();
        prop_assert_eq!(opened.expose(), value.as_slice());
    }

    #[test]
    fn any_flipped_bit_is_rejected(
        value in proptest::collection::vec(any::<u8>(), 0..64),
        bit in any::<proptest::sample::Index>(),
    ) {
        let mut sealed = seal_value(cert().public_key(), b"ns/name", &value);
        let bit = bit.index(sealed.len() * 8);
        sealed[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(open_value(key(), b"ns/name", &sealed).is_err());
        let mut ring = Keyring::new();
        ring.insert_with_certificate(PrivateKey::from_pem(KEY.as_bytes()).unwrap(), cert().clone());
        prop_assert!(ring.open_value(b"ns/name", &sealed, None).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_value_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = open_value(key(), b"", &bytes);
    }

    #[test]
    fn arbitrary_text_never_panics_the_readers(text in "\\PC{0,300}") {
        let _ = read_secrets(&text);
        let _ = read_sealed_secrets(&text);
        let _ = read_private_keys(text.as_bytes());
        let _ = Certificate::from_pem(text.as_bytes());
    }

    #[test]
    fn manifest_like_text_never_panics_the_readers(
        text in "(kind: (Secret|List|SealedSecret)\n)?(metadata: \\{name: [a-z]{1,5}\\}\n)?(data:|stringData:|items:|spec:)( \\{[a-z]: [A-Za-z0-9+/=~]{0,8}\\}| \\[\\]| null| \"x\")?\n(---\n)?"
    ) {
        let _ = read_secrets(&text);
        let _ = read_sealed_secrets(&text);
    }
}
