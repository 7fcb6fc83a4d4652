//! Invariant 3: no plaintext or key byte ever reaches an error's `Display` or `Debug`.
//! One case per error type, each fed input that carries a recognisable secret.

use std::collections::BTreeMap;

use seal::{
    Certificate, Keyring, PrivateKey, SealOptions, UnsealOptions, read_private_keys,
    read_sealed_secrets, read_secrets, seal_secret, unseal,
};

const SECRET: &str = "hunter2-SECRET";
const KEY: &str = include_str!("fixtures/compat/keys/rsa2048/tls.key");
const CERT: &str = include_str!("fixtures/compat/keys/rsa2048/tls.crt");

fn assert_clean(what: &str, err: &dyn std::fmt::Debug, display: &str, needles: &[&str]) {
    let debug = format!("{err:?}");
    for needle in needles {
        assert!(
            !display.contains(needle),
            "{what}: Display leaks {needle:?}: {display}"
        );
        assert!(
            !debug.contains(needle),
            "{what}: Debug leaks {needle:?}: {debug}"
        );
    }
}

#[test]
fn manifest_errors() {
    for input in [
        format!("kind: Secret\ndata: {SECRET}\n"),
        format!("kind: Secret\ndata: {{a: \"{SECRET}!\"}}\n"),
        format!("{{\"kind\": \"Secret\", \"stringData\": \"{SECRET}\"}}"),
        format!("kind: Secret\nstringData:\n  a: {SECRET}\n b: ["),
    ] {
        let err = read_secrets(&input).unwrap_err();
        assert_clean("ManifestError", &err, &err.to_string(), &[SECRET]);
    }
}

#[test]
fn key_errors_never_show_key_material() {
    let body_lines: Vec<&str> = KEY.lines().filter(|l| !l.starts_with("-----")).collect();
    // A PEM whose body is cut in the middle: valid base64, broken DER.
    let mut cut = String::from("-----BEGIN RSA PRIVATE KEY-----\n");
    for line in &body_lines[..body_lines.len() / 2] {
        cut.push_str(line);
        cut.push('\n');
    }
    cut.push_str("-----END RSA PRIVATE KEY-----\n");
    let err = PrivateKey::from_pem(cut.as_bytes()).unwrap_err();
    assert_clean("KeyError", &err, &err.to_string(), &body_lines[1..4]);

    let secret_yaml =
        format!("kind: Secret\nmetadata: {{name: k}}\nstringData:\n  tls.key: \"{SECRET}\"\n");
    let err = read_private_keys(secret_yaml.as_bytes()).unwrap_err();
    assert_clean("KeyFileError", &err, &err.to_string(), &[SECRET]);

    let key = PrivateKey::from_pem(KEY.as_bytes()).unwrap();
    let debug = format!("{key:?}");
    for line in &body_lines[1..4] {
        assert!(!debug.contains(line));
    }
}

#[test]
fn seal_and_unseal_errors() {
    let cert = Certificate::from_pem(CERT.as_bytes()).unwrap();
    let secret = read_secrets(&format!(
        "kind: Secret\nmetadata: {{name: a, namespace: b}}\nstringData: {{password: {SECRET}}}\n"
    ))
    .unwrap()
    .remove(0);
    let mismatch = SealOptions {
        namespace: Some("other".into()),
        ..SealOptions::default()
    };
    let err = seal_secret(&secret, cert.public_key(), &mismatch).unwrap_err();
    assert_clean("SealError", &err, &err.to_string(), &[SECRET]);

    let mut sealed = seal_secret(&secret, cert.public_key(), &SealOptions::default()).unwrap();
    let mut keyring = Keyring::new();
    keyring.insert_with_certificate(PrivateKey::from_pem(KEY.as_bytes()).unwrap(), cert);
    sealed.spec.template.data = Some(BTreeMap::from([(
        "t".to_owned(),
        "{{ if ne .password \"x\" }}{{ fail .password }}{{ end }}".to_owned(),
    )]));
    let err = unseal(&sealed, &keyring, &UnsealOptions::default()).unwrap_err();
    assert_clean("UnsealError::Template", &err, &err.to_string(), &[SECRET]);

    sealed.metadata.name = Some("moved".into());
    let err = unseal(&sealed, &keyring, &UnsealOptions::default()).unwrap_err();
    assert_clean("UnsealError::Items", &err, &err.to_string(), &[SECRET]);

    let text = format!(
        "kind: SealedSecret\nmetadata: {{name: a}}\nspec: {{encryptedData: {{x: \"{SECRET}\"}}}}\n"
    );
    let sealed = read_sealed_secrets(&text).unwrap().remove(0);
    let err = unseal(&sealed, &keyring, &UnsealOptions::default()).unwrap_err();
    assert_clean("UnsealError::BadBase64", &err, &err.to_string(), &[SECRET]);
}

#[test]
fn template_errors() {
    let values = BTreeMap::from([("password".to_owned(), SECRET.as_bytes())]);
    for source in [
        "{{ fail .password }}",
        "{{ .password | int | div 0 }}",
        "{{ index .password 99 }}",
        "{{ .password.field }}",
        "{{ b64dec .password }}",
        "{{ fromJson .password | toJson }}{{ template \"x\" }}",
    ] {
        if let Err(err) = gotemplate::render(source, &values) {
            assert_clean("TemplateError", &err, &err.to_string(), &[SECRET]);
        }
    }
}
