//! The compat vectors from an independent implementation, every file of them, table-driven.

use std::fs;
use std::path::{Path, PathBuf};

use seal::{
    Certificate, ItemError, Keyring, OpenError, PrivateKey, Scope, SealOptions, Secret,
    UnsealError, UnsealOptions, read_sealed_secrets, read_secrets, seal_secret, unseal,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compat")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn key(name: &str) -> (PrivateKey, Certificate) {
    let dir = fixtures().join("keys").join(name);
    let key = PrivateKey::from_pem(read(&dir.join("tls.key")).as_bytes()).unwrap();
    let cert = Certificate::from_pem(read(&dir.join("tls.crt")).as_bytes()).unwrap();
    (key, cert)
}

fn keyring() -> Keyring {
    let mut ring = Keyring::new();
    for name in ["rsa2048", "rsa4096"] {
        let (key, cert) = key(name);
        ring.insert_with_certificate(key, cert);
    }
    ring
}

fn files(dir: &str, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(fixtures().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| keep(p.file_name().unwrap().to_str().unwrap()))
        .collect();
    out.sort();
    out
}

fn expected_path(sealed: &Path) -> PathBuf {
    let name = sealed.file_name().unwrap().to_str().unwrap();
    let (stem, ext) = name.rsplit_once('.').unwrap();
    sealed.with_file_name(format!("{stem}.expected-secret.{ext}"))
}

#[test]
fn every_sealed_vector_unseals_to_its_expected_secret() {
    let ring = keyring();
    let cases = files("sealed", |n| !n.contains("expected-secret"));
    assert_eq!(cases.len(), 26, "vector count changed");
    for path in cases {
        let sealed = read_sealed_secrets(&read(&path)).unwrap();
        let expected = read_secrets(&read(&expected_path(&path))).unwrap();
        assert_eq!(sealed.len(), expected.len(), "{}", path.display());
        for (sealed, expected) in sealed.iter().zip(&expected) {
            let got = unseal(sealed, &ring, &UnsealOptions::default())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(&got.secret, expected, "{}", path.display());
        }
    }
}

#[test]
fn every_raw_vector_opens_to_value_txt() {
    let ring = keyring();
    let value = fs::read(fixtures().join("raw/value.txt")).unwrap();
    let cases = files("raw", |n| n.ends_with(".b64"));
    assert_eq!(cases.len(), 3);
    for path in cases {
        let name = path.file_name().unwrap().to_str().unwrap();
        let scope: Scope = name.split('.').nth(1).unwrap().parse().unwrap();
        let bytes = base64_decode(read(&path).trim());
        let (plain, _) = ring
            .open_value(&scope.label("myns", "mysecret"), &bytes, None)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(plain.expose(), value.as_slice(), "{name}");
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    // Through the library's own reader: a one-item SealedSecret would be overkill here.
    let doc = format!("kind: Secret\nmetadata: {{name: x}}\ndata: {{v: \"{text}\"}}\n");
    read_secrets(&doc).unwrap()[0].data["v"].expose().to_vec()
}

#[test]
fn every_negative_vector_fails_with_the_right_error_class() {
    let mut ring = Keyring::new();
    let (key, cert) = key("rsa2048");
    ring.insert_with_certificate(key, cert);
    let cases = files("negative", |n| n.ends_with(".yaml"));
    assert_eq!(cases.len(), 9);
    for path in cases {
        let name = path.file_stem().unwrap().to_str().unwrap();
        let expected = match name {
            "bad-base64" => ItemError::BadBase64,
            "truncated-1-byte" | "truncated-inside-rsa" => ItemError::Open(OpenError::TooShort),
            "renamed-strict"
            | "moved-namespace-strict"
            | "flipped-rsa-byte"
            | "flipped-gcm-tag"
            | "added-cluster-wide-annotation"
            | "foreign-key" => ItemError::Open(OpenError::NoKeyCouldDecrypt),
            other => panic!("unclassified negative vector {other}"),
        };
        let sealed = read_sealed_secrets(&read(&path)).unwrap();
        let err = unseal(&sealed[0], &ring, &UnsealOptions::default()).unwrap_err();
        assert!(matches!(err, UnsealError::Items(_)), "{name}: {err}");
        assert!(
            err.items().iter().any(|(_, e)| *e == expected),
            "{name}: expected {expected:?}, got {err}"
        );
    }
}

/// Sealing every plaintext input with the vector certificates and unsealing it again gives the
/// same Secret the independent implementation's sealed files give.
#[test]
fn our_sealing_of_each_input_matches_the_expected_secrets() {
    let ring = keyring();
    for bits in ["rsa2048", "rsa4096"] {
        let (_, cert) = key(bits);
        for input in [
            "basic.yaml",
            "stringdata.yaml",
            "binary.json",
            "dockerconfig.json",
        ] {
            let secrets: Vec<Secret> =
                read_secrets(&read(&fixtures().join("secrets").join(input))).unwrap();
            let stem = input.split('.').next().unwrap();
            for scope in [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide] {
                let options = SealOptions {
                    scope: (scope != Scope::Strict).then_some(scope),
                    ..SealOptions::default()
                };
                let sealed = seal_secret(&secrets[0], cert.public_key(), &options).unwrap();
                let got = unseal(&sealed, &ring, &UnsealOptions::default()).unwrap();
                let expected_file =
                    fixtures().join(format!("sealed/{stem}.{scope}.{bits}.expected-secret.yaml"));
                if let Ok(text) = fs::read_to_string(&expected_file) {
                    assert_eq!(
                        got.secret,
                        read_secrets(&text).unwrap()[0],
                        "{input} {scope} {bits}"
                    );
                }
                assert_eq!(
                    got.key.as_ref(),
                    Some(cert.public_key().fingerprint()),
                    "{input} {scope} {bits}"
                );
            }
        }
    }
}

#[test]
fn fingerprint_matches_ssh_keygen() {
    // `ssh-keygen -l` over the rsa2048 vector key's public half.
    let (key, _) = key("rsa2048");
    assert_eq!(
        key.fingerprint().as_str(),
        "SHA256:mW15KIQzGWES7SnQgZvLxnqKKWYxDQzUImhV+/Ca9YA"
    );
}
