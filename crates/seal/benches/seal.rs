//! Seal and unseal cost, measured against the raw RSA limit in the same run.
//!
//! - `seal_*` / `unseal_*`: a 10-value Secret (32-byte values, strict scope) at 2048 and 4096
//!   bits, with the compat keys.
//! - `rsa_oaep_decrypt_*`: one RSA-OAEP-SHA256 decrypt of a 32-byte session key, calling
//!   `aws-lc-rs` directly on the PKCS#8 of the same key. An unseal does 10 of these, so
//!   `unseal / (10 × rsa_oaep_decrypt)` is the overhead of everything else.
//! - `unseal_24keys_*`: a 24-key keyring whose oldest key sealed the object, without and with
//!   a key hint.
//!
//! Benchmark ids are flat (`target/criterion/<id>/new/estimates.json`); `bench/core.sh` reads
//! them and prints the ratios.

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, criterion_group, criterion_main};
use seal::{
    Keyring, ObjectMeta, PrivateKey, SealOptions, SealedSecret, Secret, SecretBytes, UnsealOptions,
    label_of, seal_secret, unseal,
};

const RSA2048_KEY: &str = include_str!("../tests/fixtures/compat/keys/rsa2048/tls.key");
const RSA4096_KEY: &str = include_str!("../tests/fixtures/compat/keys/rsa4096/tls.key");

const VALUES: usize = 10;
const VALUE_LEN: usize = 32;
/// Keys in the big keyring, the sealing key included.
const RING_KEYS: usize = 24;

fn key(pem: &str) -> PrivateKey {
    PrivateKey::from_pem(pem.as_bytes()).expect("compat fixture key")
}

/// A strict-scope Secret of 10 random-looking 32-byte values.
fn secret() -> Secret {
    let mut secret = Secret::new(ObjectMeta {
        name: Some("mysecret".into()),
        namespace: Some("myns".into()),
        ..ObjectMeta::default()
    });
    for i in 0..VALUES {
        let value: Vec<u8> = (0..VALUE_LEN)
            .map(|j| u8::try_from((i * 131 + j * 17) % 251).expect("< 256"))
            .collect();
        secret
            .data
            .insert(format!("value-{i:02}"), SecretBytes::new(value));
    }
    secret
}

fn sealed(key: &PrivateKey) -> SealedSecret {
    seal_secret(&secret(), key.public_key(), &SealOptions::default()).expect("sealable")
}

fn ring_of(key: PrivateKey) -> Keyring {
    let mut ring = Keyring::new();
    ring.insert(key, None, SystemTime::UNIX_EPOCH);
    ring
}

/// PKCS#8 DER out of a `PRIVATE KEY` PEM.
fn pem_to_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).expect("PEM body is base64")
}

fn der_to_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(chunk).expect("ASCII"));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem
}

/// The RSA block of the first value of `sealed`: `u16_be(len) || rsa_ct || …`.
fn first_rsa_ciphertext(sealed: &SealedSecret) -> Vec<u8> {
    let encoded = sealed.spec.encrypted_data.values().next().expect("a value");
    let bytes = STANDARD.decode(encoded).expect("base64");
    let len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
    bytes[2..2 + len].to_vec()
}

fn bench_size(c: &mut Criterion, bits: usize, pem: &str) {
    let key = key(pem);
    let secret = secret();
    let sealed = sealed(&key);
    let options = SealOptions::default();

    c.bench_function(&format!("seal_10x32B_rsa{bits}"), |b| {
        b.iter(|| seal_secret(black_box(&secret), key.public_key(), &options).expect("seals"));
    });

    // Raw limit: the same key, through aws-lc-rs directly, same label and ciphertext shape.
    let raw = OaepPrivateDecryptingKey::new(
        PrivateDecryptingKey::from_pkcs8(&pem_to_der(&key.to_pkcs8_pem()))
            .expect("aws-lc-rs reads our PKCS#8"),
    )
    .expect("OAEP key");
    let label = label_of(&sealed);
    let rsa_ct = first_rsa_ciphertext(&sealed);
    let mut out = vec![0u8; raw.min_output_size()];
    assert_eq!(
        raw.decrypt(&OAEP_SHA256_MGF1SHA256, &rsa_ct, &mut out, Some(&label))
            .expect("decrypts")
            .len(),
        32
    );
    c.bench_function(&format!("rsa_oaep_decrypt_rsa{bits}"), |b| {
        b.iter(|| {
            raw.decrypt(
                &OAEP_SHA256_MGF1SHA256,
                black_box(&rsa_ct),
                &mut out,
                Some(&label),
            )
            .expect("decrypts")
            .len()
        });
    });

    let ring = ring_of(key);
    let unsealed = unseal(&sealed, &ring, &UnsealOptions::default()).expect("unseals");
    assert_eq!(unsealed.secret.data.len(), VALUES);
    c.bench_function(&format!("unseal_10x32B_rsa{bits}"), |b| {
        b.iter(|| unseal(black_box(&sealed), &ring, &UnsealOptions::default()).expect("unseals"));
    });
}

fn bench_seal_unseal(c: &mut Criterion) {
    bench_size(c, 2048, RSA2048_KEY);
    bench_size(c, 4096, RSA4096_KEY);
}

/// 24 keys: the compat key is the oldest and sealed the object; 23 newer ones did not.
fn bench_keyring(c: &mut Criterion) {
    let sealing = key(RSA2048_KEY);
    let fingerprint = sealing.fingerprint().clone();
    let sealed = sealed(&sealing);
    let mut ring = Keyring::new();
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    assert!(ring.insert(sealing, None, t0));
    for i in 1..RING_KEYS {
        // aws-lc-rs generates a key in tens of milliseconds; the `rsa` crate takes much longer.
        let der = PrivateDecryptingKey::generate(KeySize::Rsa2048)
            .expect("key generation")
            .as_der()
            .expect("PKCS#8");
        let newer = PrivateKey::from_pem(der_to_pem(der.as_ref()).as_bytes()).expect("readable");
        let secs = u64::try_from(i).expect("small");
        assert!(ring.insert(newer, None, t0 + Duration::from_secs(secs)));
    }
    assert_eq!(ring.len(), RING_KEYS);
    assert_ne!(
        ring.newest().expect("keys").key().fingerprint(),
        &fingerprint
    );

    let no_hint = UnsealOptions::default();
    let with_hint = UnsealOptions {
        key_hint: Some(&fingerprint),
        ..UnsealOptions::default()
    };
    for options in [&no_hint, &with_hint] {
        let unsealed = unseal(&sealed, &ring, options).expect("unseals");
        assert_eq!(unsealed.key.as_ref(), Some(&fingerprint));
    }
    c.bench_function("unseal_24keys_nohint_rsa2048", |b| {
        b.iter(|| unseal(black_box(&sealed), &ring, &no_hint).expect("unseals"));
    });
    c.bench_function("unseal_24keys_hint_rsa2048", |b| {
        b.iter(|| unseal(black_box(&sealed), &ring, &with_hint).expect("unseals"));
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench_seal_unseal, bench_keyring
}
criterion_main!(benches);
