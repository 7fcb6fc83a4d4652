//! Upstream's `TestRaw` matrix: a value sealed for (namespace, name, scope) opens in
//! `myns/mysecret` exactly when upstream says it does.

use seal::{Certificate, Keyring, PrivateKey, Scope, seal_value};

const KEY: &str = include_str!("fixtures/compat/keys/rsa2048/tls.key");
const CERT: &str = include_str!("fixtures/compat/keys/rsa2048/tls.crt");

#[test]
fn raw_scope_matrix() {
    let cert = Certificate::from_pem(CERT.as_bytes()).unwrap();
    let mut ring = Keyring::new();
    ring.insert_with_certificate(PrivateKey::from_pem(KEY.as_bytes()).unwrap(), cert.clone());
    // (seal namespace, seal name, scope, opens when read as myns/mysecret with that scope)
    let cases = [
        ("myns", "mysecret", Scope::Strict, true),
        ("myns", "other", Scope::Strict, false),
        ("otherns", "mysecret", Scope::Strict, false),
        ("", "mysecret", Scope::Strict, false),
        ("myns", "", Scope::Strict, false),
        ("myns", "mysecret", Scope::NamespaceWide, true),
        ("myns", "other", Scope::NamespaceWide, true),
        ("myns", "", Scope::NamespaceWide, true),
        ("otherns", "mysecret", Scope::NamespaceWide, false),
        ("", "", Scope::NamespaceWide, false),
        ("myns", "mysecret", Scope::ClusterWide, true),
        ("otherns", "other", Scope::ClusterWide, true),
        ("", "", Scope::ClusterWide, true),
        ("myns", "", Scope::ClusterWide, true),
    ];
    for (namespace, name, scope, opens) in cases {
        let sealed = seal_value(cert.public_key(), &scope.label(namespace, name), b"value");
        let result = ring.open_value(&scope.label("myns", "mysecret"), &sealed, None);
        assert_eq!(result.is_ok(), opens, "{namespace}/{name} {scope}");
        if let Ok((plain, _)) = result {
            assert_eq!(plain.expose(), b"value");
        }
    }
}
