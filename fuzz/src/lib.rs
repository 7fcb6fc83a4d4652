//! Shared fixtures for the fuzz targets: the compat test keys (public, never for production).

use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use seal::{Keyring, PrivateKey, Scope};

const RSA2048_KEY: &str =
    include_str!("../../crates/seal/tests/fixtures/compat/keys/rsa2048/tls.key");
const RSA4096_KEY: &str =
    include_str!("../../crates/seal/tests/fixtures/compat/keys/rsa4096/tls.key");

/// The fixed 2048-bit key every compat vector is sealed with.
pub static RSA2048: LazyLock<PrivateKey> =
    LazyLock::new(|| PrivateKey::from_pem(RSA2048_KEY.as_bytes()).expect("fixture key"));

/// A keyring of the 2048-bit key (older) and the 4096-bit key (newest), so that both the
/// size-mismatch skip and a real decrypt attempt are exercised.
pub static KEYRING: LazyLock<Keyring> = LazyLock::new(|| {
    let mut ring = Keyring::new();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    ring.insert(
        PrivateKey::from_pem(RSA2048_KEY.as_bytes()).expect("fixture key"),
        None,
        t0,
    );
    ring.insert(
        PrivateKey::from_pem(RSA4096_KEY.as_bytes()).expect("fixture key"),
        None,
        t0 + Duration::from_secs(1),
    );
    ring
});

/// The three labels of `myns/mysecret`, chosen by one selector byte.
#[must_use]
pub fn label(selector: u8) -> Vec<u8> {
    let scope = match selector % 3 {
        0 => Scope::Strict,
        1 => Scope::NamespaceWide,
        _ => Scope::ClusterWide,
    };
    scope.label("myns", "mysecret")
}
