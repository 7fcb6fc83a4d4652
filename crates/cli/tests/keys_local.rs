//! `kubeseal keys …` on local keyring directories: init, list, backup, restore, compromise,
//! rotate, and every bad input.

mod keys_support;

use std::fs;
use std::io::Read;
use std::path::Path;
use std::thread::sleep;
use std::time::Duration;

use age::secrecy::ExposeSecret;
use keys_support::*;
use seal::{Certificate, read_secrets};

fn init(dir: &Path) -> String {
    ok(&["keys", "init", "--keyring", s(dir)]).trim().to_owned()
}

fn list_json(dir: &Path) -> Vec<serde_json::Value> {
    serde_json::from_str(&ok(&["keys", "list", "--keyring", s(dir), "-o", "json"])).unwrap()
}

/// A keyring with three keys (one compromised) and a value sealed with each key.
fn keyring_with_sealed_values(dir: &Path) -> Vec<(seal::SealedSecret, String)> {
    init(dir);
    for _ in 0..2 {
        ok(&["keys", "rotate", "--keyring", s(dir)]);
    }
    let mut sealed = Vec::new();
    for (i, cert) in certs_of(dir).iter().enumerate() {
        let value = format!("value-{i}");
        sealed.push((seal_with(cert, &format!("s{i}"), &value), value));
    }
    let fp = list_json(dir)[2]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&["keys", "compromise", &fp, "--keyring", s(dir)]);
    sealed
}

fn age_identity(dir: &Path, name: &str) -> (String, std::path::PathBuf) {
    let identity = age::x25519::Identity::generate();
    let path = dir.join(name);
    fs::write(&path, format!("{}\n", identity.to_string().expose_secret())).unwrap();
    (identity.to_public().to_string(), path)
}

/// A passphrase file in `dir`, for `--passphrase-file`.
fn passphrase_file(dir: &Path) -> std::path::PathBuf {
    let pass = dir.join("pass");
    fs::write(&pass, "pw\n").unwrap();
    pass
}

/// `keys restore BUNDLE --passphrase-file PASS --keyring DST EXTRA…`; its standard output.
fn restore_with_passphrase(bundle: &Path, pass: &Path, dst: &Path, extra: &[&str]) -> String {
    let mut args = vec!["keys", "restore", s(bundle), "--passphrase-file", s(pass)];
    args.extend(["--keyring", s(dst)]);
    args.extend(extra);
    ok(&args)
}

#[test]
fn init_creates_private_files_and_list_reports_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let first = init(&dir);
    assert!(first.starts_with("SHA256:"));
    assert!(dir.join("tls.key").exists() && dir.join("tls.crt").exists());
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir.join("tls.key")), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
    // A second init (a setup script run again) would add, and seal with, another key.
    let err = fails(&["keys", "init", "--keyring", s(&dir)]);
    assert!(err.contains("already holds 1 key(s)"), "{err}");
    assert!(err.contains("keys rotate"), "{err}");
    // Rotated at once, in the same second as the first key: certificate times have whole
    // seconds, and the tie went to either key; the new one must seal.
    let second = ok(&["keys", "rotate", "--keyring", s(&dir)])
        .trim()
        .to_owned();
    assert_ne!(first, second);
    let rows = list_json(&dir);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["fingerprint"], second.as_str(), "newest first");
    assert_eq!(rows[0]["sealing"], true);
    assert_eq!(rows[1]["sealing"], false);
    for row in &rows {
        assert_eq!(row["bits"], 2048);
        assert_eq!(row["status"], "active");
        assert_eq!(row["backedUp"], false);
        assert!(row["notAfter"].as_str().unwrap() > row["notBefore"].as_str().unwrap());
    }
    let table = ok(&["keys", "list", "--keyring", s(&dir)]);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.contains(&first) && table.contains("never"), "{table}");
    let yaml = ok(&["keys", "list", "--keyring", s(&dir), "-o", "yaml"]);
    assert!(yaml.contains(&format!("fingerprint: {second}")), "{yaml}");
    assert_no_key_material(&(table + &yaml), &key_lines(&dir));

    let err = fails(&["keys", "list", "--keyring", s(&tmp.path().join("missing"))]);
    assert!(err.contains("keys init"), "{err}");
}

#[test]
fn round_trip_with_recipients_and_with_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let sealed = keyring_with_sealed_values(&src);
    let (recipient, identity) = age_identity(tmp.path(), "id.txt");
    let (recipient2, _) = age_identity(tmp.path(), "id2.txt");
    let recipients_file = tmp.path().join("recipients.txt");
    fs::write(&recipients_file, format!("# team\n{recipient2}\n")).unwrap();
    let passfile = tmp.path().join("pass");
    fs::write(&passfile, "correct horse battery staple\n").unwrap();
    let secrets = key_lines(&src);

    let by_recipient = tmp.path().join("keys.age");
    let (ok1, out, err) = run(&[
        "keys",
        "backup",
        "--keyring",
        s(&src),
        "-o",
        s(&by_recipient),
        "-r",
        &recipient,
        "-R",
        s(&recipients_file),
    ]);
    assert!(ok1, "{err}");
    assert_no_key_material(&(out + &err), &secrets);
    let by_passphrase = tmp.path().join("keys-pass.age");
    ok(&[
        "keys",
        "backup",
        "--keyring",
        s(&src),
        "-o",
        s(&by_passphrase),
        "--passphrase-file",
        s(&passfile),
    ]);
    for bundle in [&by_recipient, &by_passphrase] {
        let text = fs::read_to_string(bundle).unwrap();
        assert!(
            text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
            "armored"
        );
        assert_no_key_material(&text, &secrets);
        #[cfg(unix)]
        assert_eq!(mode(bundle), 0o600);
    }
    // Backed up: every key now says so.
    assert!(list_json(&src).iter().all(|r| r["backedUp"] == true));

    let restores: [(&Path, Vec<&str>); 2] = [
        (&by_recipient, vec!["-i", s(&identity)]),
        (&by_passphrase, vec!["--passphrase-file", s(&passfile)]),
    ];
    for (n, (bundle, unlock)) in restores.into_iter().enumerate() {
        let dst = tmp.path().join(format!("dst{n}"));
        let mut args = vec!["keys", "restore", s(bundle), "--keyring", s(&dst)];
        args.extend(&unlock);
        let (good, out, err) = run(&args);
        assert!(good, "{err}");
        assert_eq!(out.matches("imported").count(), 3, "{out}");
        assert_no_key_material(&(out + &err), &secrets);
        let keyring = keyring_of(&dst);
        assert_eq!(keyring.len(), 3);
        for (s, value) in &sealed {
            assert_eq!(unseal_value(s, &keyring).as_deref(), Some(value.as_str()));
        }
        for e in fs::read_dir(&dst).unwrap() {
            let p = e.unwrap().path();
            #[cfg(unix)]
            if p.extension().is_some_and(|x| x == "key") {
                assert_eq!(mode(&p), 0o600, "{}", p.display());
            }
        }
        // Status and backup marks travel with the keys; the same key seals.
        let (before, after) = (list_json(&src), list_json(&dst));
        for row in &before {
            let twin = after
                .iter()
                .find(|r| r["fingerprint"] == row["fingerprint"])
                .unwrap();
            assert_eq!(twin["status"], row["status"]);
            assert_eq!(twin["sealing"], row["sealing"]);
            assert_eq!(twin["backedUp"], true);
        }
        // A second restore skips everything and writes nothing.
        let snap = snapshot(&dst);
        let out = ok(&args);
        assert_eq!(out.matches("skip").count(), 3, "{out}");
        assert_eq!(snapshot(&dst), snap);
    }
    // The second recipient opens it too.
    let (_, id2) = (0, tmp.path().join("id2.txt"));
    let dst = tmp.path().join("dst-second-recipient");
    ok(&[
        "keys",
        "restore",
        s(&by_recipient),
        "--keyring",
        s(&dst),
        "-i",
        s(&id2),
    ]);
    assert_eq!(keyring_of(&dst).len(), 3);
}

#[test]
fn dry_run_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    init(&src);
    let plain = tmp.path().join("plain.yaml");
    ok(&[
        "keys",
        "backup",
        "--keyring",
        s(&src),
        "-o",
        s(&plain),
        "--unencrypted",
    ]);
    let dst = tmp.path().join("dst");
    let out = ok(&[
        "keys",
        "restore",
        s(&plain),
        "--keyring",
        s(&dst),
        "--dry-run",
    ]);
    assert!(out.contains("would import"), "{out}");
    assert!(!dst.exists());
    // Every switch takes a Go boolean, as upstream's flags do: `=T` is on, `=yes` an error.
    let out = ok(&[
        "keys",
        "restore",
        s(&plain),
        "--keyring",
        s(&dst),
        "--dry-run=T",
    ]);
    assert!(out.contains("would import"), "{out}");
    assert!(!dst.exists());
    let err = fails(&[
        "keys",
        "restore",
        s(&plain),
        "--keyring",
        s(&dst),
        "--dry-run=yes",
    ]);
    assert!(err.contains("strconv.ParseBool"), "{err}");
}

#[test]
fn backup_never_overwrites_and_unencrypted_is_an_upstream_list() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    init(&src);
    let out = tmp.path().join("backup.yaml");
    fs::write(&out, "precious").unwrap();
    let err = fails(&[
        "keys",
        "backup",
        "--keyring",
        s(&src),
        "-o",
        s(&out),
        "--unencrypted",
    ]);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(fs::read_to_string(&out).unwrap(), "precious");
    let no_protection = bin()
        .args(["keys", "backup", "--keyring", s(&src), "-o", s(&out)])
        .output()
        .unwrap();
    assert_eq!(no_protection.status.code(), Some(2), "a usage error");
    let err = String::from_utf8_lossy(&no_protection.stderr);
    assert!(err.contains("choose how to protect"), "{err}");
    let (good, _, err) = run(&[
        "keys",
        "backup",
        "--keyring",
        s(&src),
        "-o",
        s(&out),
        "--unencrypted",
        "--force",
    ]);
    assert!(
        good && err.contains("WARNING") && err.contains("UNENCRYPTED"),
        "{err}"
    );
    #[cfg(unix)]
    assert_eq!(mode(&out), 0o600);
    let text = fs::read_to_string(&out).unwrap();
    check_upstream_list(&text, 1);
    // No temporary files left beside it.
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 2);
}

/// What `kubectl apply` of an upstream key backup needs: a v1 List of labelled
/// kubernetes.io/tls Secrets with names, without server-side fields.
fn check_upstream_list(text: &str, keys: usize) {
    assert!(text.starts_with("apiVersion: v1\n"), "{text}");
    assert!(text.lines().any(|l| l == "kind: List"));
    assert!(!text.contains("resourceVersion") && !text.contains("uid:"));
    let secrets = read_secrets(text).unwrap();
    assert_eq!(secrets.len(), keys);
    for secret in &secrets {
        assert_eq!(secret.kind, "Secret");
        assert_eq!(secret.api_version, "v1");
        assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
        assert!(secret.metadata.name().starts_with("sealed-secrets-key"));
        assert_eq!(secret.metadata.namespace(), "kube-system");
        assert!(secret.metadata.labels.contains_key(KEY_LABEL));
        assert!(secret.metadata.annotations.contains_key(BACKED_UP));
        let key = seal::PrivateKey::from_pem(secret.data["tls.key"].expose()).unwrap();
        let cert = Certificate::from_pem(secret.data["tls.crt"].expose()).unwrap();
        assert_eq!(key.fingerprint(), cert.public_key().fingerprint());
    }
}

#[test]
fn decrypted_bundle_is_a_valid_upstream_list() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    init(&src);
    ok(&["keys", "rotate", "--keyring", s(&src)]);
    let (recipient, identity_path) = age_identity(tmp.path(), "id.txt");
    let bundle = tmp.path().join("b.age");
    ok(&[
        "keys",
        "backup",
        "--keyring",
        s(&src),
        "-o",
        s(&bundle),
        "-r",
        &recipient,
        "--binary",
    ]);
    let data = fs::read(&bundle).unwrap();
    assert!(data.starts_with(b"age-encryption.org/v1\n"));
    let identity: age::x25519::Identity = fs::read_to_string(&identity_path)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut plain = String::new();
    age::Decryptor::new(&data[..])
        .unwrap()
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .unwrap()
        .read_to_string(&mut plain)
        .unwrap();
    check_upstream_list(&plain, 2);
}

#[test]
fn migration_from_an_upstream_plaintext_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let item = |name: &str, bits: &str| {
        let b64 = |f: &str| {
            use base64_helper::encode;
            encode(&fs::read(compat(&format!("keys/rsa{bits}/{f}"))).unwrap())
        };
        format!(
            "- apiVersion: v1\n  data:\n    tls.crt: {}\n    tls.key: {}\n  kind: Secret\n  metadata:\n    creationTimestamp: \"2023-05-01T10:00:00Z\"\n    generateName: sealed-secrets-key\n    labels:\n      sealedsecrets.bitnami.com/sealed-secrets-key: active\n    name: {name}\n    namespace: kube-system\n    resourceVersion: \"1234\"\n    uid: 0b8c2f9e-5e0b-4a43-a8f6-6b0f1f0c1a2b\n  type: kubernetes.io/tls\n",
            b64("tls.crt"),
            b64("tls.key")
        )
    };
    let list = format!(
        "apiVersion: v1\nitems:\n{}{}kind: List\nmetadata:\n  resourceVersion: \"\"\n",
        item("sealed-secrets-keyabcde", "4096"),
        item("sealed-secrets-keyfghij", "2048")
    );
    let file = tmp.path().join("main.key");
    fs::write(&file, list).unwrap();
    let dst = tmp.path().join("keys");
    ok(&["keys", "restore", s(&file), "--keyring", s(&dst)]);
    let rows = list_json(&dst);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().any(|r| r["bits"] == 4096));
    let keyring = keyring_of(&dst);
    for name in [
        "basic.strict.rsa4096",
        "basic.cluster-wide.rsa2048",
        "stringdata.namespace-wide.rsa4096",
    ] {
        let sealed = seal::read_sealed_secrets(
            &fs::read_to_string(compat(&format!("sealed/{name}.yaml"))).unwrap(),
        )
        .unwrap()
        .remove(0);
        let expected = read_secrets(
            &fs::read_to_string(compat(&format!("sealed/{name}.expected-secret.yaml"))).unwrap(),
        )
        .unwrap()
        .remove(0);
        let got = seal::unseal(&sealed, &keyring, &seal::UnsealOptions::default())
            .unwrap()
            .secret;
        assert_eq!(got.data, expected.data, "{name}");
    }
    // A single upstream PEM key restores too.
    let pem_dst = tmp.path().join("pem");
    let out = ok(&[
        "keys",
        "restore",
        s(&compat("keys/rsa4096/tls.key")),
        "--keyring",
        s(&pem_dst),
    ]);
    assert!(out.contains("new self-signed certificate"), "{out}");
    assert_eq!(keyring_of(&pem_dst).len(), 1);
}

fn key_secret_item(name: &str, type_: &str, label: Option<&str>, crt_bits: &str) -> String {
    let b64 = |bits: &str, f: &str| {
        base64_helper::encode(&fs::read(compat(&format!("keys/rsa{bits}/{f}"))).unwrap())
    };
    let labels = label.map_or(String::new(), |l| {
        format!("    labels:\n      sealedsecrets.bitnami.com/sealed-secrets-key: {l}\n")
    });
    format!(
        "- apiVersion: v1\n  kind: Secret\n  type: {type_}\n  metadata:\n    name: {name}\n{labels}  data:\n    tls.crt: {}\n    tls.key: {}\n",
        b64(crt_bits, "tls.crt"),
        b64("2048", "tls.key")
    )
}

/// `keys restore` took only `kubernetes.io/tls` Secrets while `--recovery-private-key` and
/// the controller take a key Secret of any type: one rule now, any type.
#[test]
fn restore_accepts_a_key_secret_of_any_type_like_recovery() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("opaque.yaml");
    let list = format!(
        "apiVersion: v1\nkind: List\nitems:\n{}",
        key_secret_item("k", "Opaque", Some("active"), "2048")
    );
    fs::write(&file, list).unwrap();
    let dst = tmp.path().join("keys");
    ok(&["keys", "restore", s(&file), "--keyring", s(&dst)]);
    let rows = list_json(&dst);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "active");
    assert_eq!(rows[0]["sealing"], true);
}

/// An unlabelled key Secret (upstream's legacy `sealed-secrets-key`) was "active" when
/// restored from a bundle and "compromised" when listed in the cluster; the controller only
/// unseals with it, so it is compromised everywhere.
#[test]
fn unlabelled_legacy_key_in_a_bundle_is_compromised_like_the_controller() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("legacy.yaml");
    let list = format!(
        "apiVersion: v1\nkind: List\nitems:\n{}",
        key_secret_item("sealed-secrets-key", "kubernetes.io/tls", None, "2048")
    );
    fs::write(&file, list).unwrap();
    let dst = tmp.path().join("keys");
    ok(&["keys", "restore", s(&file), "--keyring", s(&dst)]);
    let rows = list_json(&dst);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "compromised");
    assert_eq!(rows[0]["sealing"], false);
}

/// A `tls.crt` of another key was dropped silently by `--recovery-private-key` (and the key
/// kept) while `keys restore` and the controller refused the Secret: refused everywhere.
#[test]
fn a_foreign_certificate_in_a_key_secret_is_refused_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("mismatch.yaml");
    let list = format!(
        "apiVersion: v1\nkind: List\nitems:\n{}",
        key_secret_item("k", "kubernetes.io/tls", Some("active"), "4096")
    );
    fs::write(&file, list).unwrap();
    let err = fails(&[
        "keys",
        "restore",
        s(&file),
        "--keyring",
        s(&tmp.path().join("keys")),
    ]);
    assert!(err.contains("tls.crt does not belong to tls.key"), "{err}");
    let sealed = tmp.path().join("sealed.yaml");
    fs::write(
        &sealed,
        fs::read(compat("sealed/basic.cluster-wide.rsa2048.yaml")).unwrap(),
    )
    .unwrap();
    let err = fails(&[
        "--recovery-unseal",
        "--recovery-private-key",
        s(&file),
        "-f",
        s(&sealed),
    ]);
    assert!(err.contains("tls.crt does not belong to tls.key"), "{err}");
}

mod base64_helper {
    pub fn encode(data: &[u8]) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

#[test]
fn every_bad_input_fails_in_one_line_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    init(&src);
    let passfile = tmp.path().join("pass");
    fs::write(&passfile, "right\n").unwrap();
    let wrong = tmp.path().join("wrong");
    fs::write(&wrong, "wrong\n").unwrap();
    let (recipient, identity) = age_identity(tmp.path(), "id.txt");
    let (_, other_identity) = age_identity(tmp.path(), "other.txt");
    let pass_bundle = tmp.path().join("p.age");
    ok(&[
        "keys",
        "backup",
        "--keyring",
        s(&src),
        "-o",
        s(&pass_bundle),
        "--passphrase-file",
        s(&passfile),
        "--binary",
    ]);
    let rcpt_bundle = tmp.path().join("r.age");
    ok(&[
        "keys",
        "backup",
        "--keyring",
        s(&src),
        "-o",
        s(&rcpt_bundle),
        "-r",
        &recipient,
    ]);
    let data = fs::read(&pass_bundle).unwrap();

    let file = |name: &str, bytes: &[u8]| {
        let p = tmp.path().join(name);
        fs::write(&p, bytes).unwrap();
        p
    };
    let truncated = file("truncated.age", &data[..data.len() - 20]);
    let header_only = file("header.age", &data[..60]);
    let mut flipped = data.clone();
    let last = flipped.len() - 5;
    flipped[last] ^= 1;
    let tampered = file("tampered.age", &flipped);
    let armored = fs::read_to_string(&rcpt_bundle).unwrap();
    let armored_cut = file("cut.age", &armored.as_bytes()[..armored.len() / 2]);
    let not_age = file("random.bin", &[0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 0xff]);
    let opaque = file(
        "opaque.yaml",
        b"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: x}\n  type: Opaque\n  data:\n    tls.key: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpBQUFBCi0tLS0tRU5EIFJTQSBQUklWQVRFIEtFWS0tLS0tCg==\n",
    );
    let malformed = file(
        "malformed.yaml",
        b"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: broken}\n  type: kubernetes.io/tls\n  data:\n    tls.key: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpBQUFBCi0tLS0tRU5EIFJTQSBQUklWQVRFIEtFWS0tLS0tCg==\n",
    );
    let bad_pem = file(
        "bad.pem",
        b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
    );

    let p = |x: &Path| x.to_str().unwrap().to_owned();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![p(&pass_bundle), "--passphrase-file".into(), p(&wrong)],
            "wrong passphrase",
        ),
        (
            vec![p(&rcpt_bundle), "-i".into(), p(&other_identity)],
            "wrong identity",
        ),
        (vec![p(&rcpt_bundle)], "identity file with -i"),
        (
            vec![p(&truncated), "--passphrase-file".into(), p(&passfile)],
            "truncated",
        ),
        (
            vec![p(&header_only), "--passphrase-file".into(), p(&passfile)],
            "truncated",
        ),
        (
            vec![p(&tampered), "--passphrase-file".into(), p(&passfile)],
            "tampered",
        ),
        (
            vec![p(&armored_cut), "-i".into(), p(&identity)],
            "truncated",
        ),
        (vec![p(&not_age)], "not an age bundle"),
        (vec![p(&opaque)], "Secret \"x\" has a malformed tls.key"),
        (vec![p(&malformed)], "malformed tls.key"),
        (vec![p(&bad_pem)], "malformed PEM private key"),
    ];
    let existing = tmp.path().join("existing");
    init(&existing);
    let before = snapshot(&existing);
    for (args, expected) in cases {
        for target in [tmp.path().join("fresh"), existing.clone()] {
            let mut full = vec!["keys".to_owned(), "restore".into()];
            full.extend(args.iter().cloned());
            full.extend(["--keyring".into(), p(&target)]);
            let full: Vec<&str> = full.iter().map(String::as_str).collect();
            let err = fails(&full);
            assert!(
                err.contains(expected),
                "{args:?}: expected {expected:?} in {err}"
            );
            assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
            assert_no_key_material(&err, &key_lines(&src));
            assert!(
                !tmp.path().join("fresh").exists(),
                "{args:?} wrote a keyring"
            );
            assert_eq!(snapshot(&existing), before, "{args:?} changed a keyring");
        }
    }
}

#[test]
fn compromise_and_rotate_a_keyring() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let first = init(&dir);
    sleep(Duration::from_millis(1100));
    let cert_out = tmp.path().join("new.crt");
    let second = ok(&[
        "keys",
        "rotate",
        "--keyring",
        s(&dir),
        "--cert-out",
        s(&cert_out),
    ])
    .trim()
    .to_owned();
    let cert = Certificate::from_pem(&fs::read(&cert_out).unwrap()).unwrap();
    assert_eq!(cert.public_key().fingerprint().as_str(), second);
    let rows = list_json(&dir);
    assert_eq!(rows[0]["fingerprint"], second.as_str());
    assert_eq!(rows[0]["sealing"], true);

    let (good, out, err) = run(&["keys", "compromise", &second[7..20], "--keyring", s(&dir)]);
    assert!(good, "{err}");
    assert!(out.contains("no longer seals"), "{out}");
    assert!(err.contains("rotate the real secrets"), "{err}");
    assert!(
        err.contains(&format!("sealing key is now {first}")),
        "{err}"
    );
    let rows = list_json(&dir);
    assert_eq!(rows[0]["status"], "compromised");
    assert_eq!(rows[0]["sealing"], false);
    assert_eq!(rows[1]["sealing"], true);
    // Still unseals: it stays in the keyring.
    assert_eq!(keyring_of(&dir).len(), 2);
    let err = fails(&["keys", "compromise", "SHA256:nope", "--keyring", s(&dir)]);
    assert!(err.contains("no key with fingerprint"), "{err}");
}

/// Restore named the bundle's first key `tls`, even a compromised one, so `--cert
/// keyring/tls.crt` sealed with it; and `--dry-run` showed other names than the real run.
#[test]
fn restore_into_an_empty_keyring_names_the_sealing_key_tls_as_its_dry_run_says() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let old = init(&src);
    let new = ok(&["keys", "rotate", "--keyring", s(&src)])
        .trim()
        .to_owned();
    let third = ok(&["keys", "rotate", "--keyring", s(&src)])
        .trim()
        .to_owned();
    ok(&["keys", "compromise", &third, "--keyring", s(&src)]);
    let pass = passphrase_file(tmp.path());
    let bundle = tmp.path().join("b.age");
    ok(&[
        "keys",
        "backup",
        "--keyring",
        s(&src),
        "-o",
        s(&bundle),
        "--passphrase-file",
        s(&pass),
    ]);
    let dst = tmp.path().join("dst");
    let planned = restore_with_passphrase(&bundle, &pass, &dst, &["--dry-run"])
        .replace("would import", "imported");
    let done = restore_with_passphrase(&bundle, &pass, &dst, &[]);
    assert_eq!(planned, done);
    assert!(done.contains(&format!("imported {new} as tls\n")), "{done}");
    let tls = Certificate::from_pem(&fs::read(dst.join("tls.crt")).unwrap()).unwrap();
    assert_eq!(tls.public_key().fingerprint().as_str(), new);
    assert_ne!(tls.public_key().fingerprint().as_str(), old);
}

/// `keys backup -o -` wrote the bundle to a file named `-` and nothing to the pipe.
#[test]
fn backup_to_standard_output() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    init(&src);
    let pass = passphrase_file(tmp.path());
    let out = bin()
        .current_dir(tmp.path())
        .args([
            "keys",
            "backup",
            "--keyring",
            s(&src),
            "-o",
            "-",
            "--passphrase-file",
            s(&pass),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout
            .starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
    );
    assert!(!tmp.path().join("-").exists());
    let bundle = tmp.path().join("b.age");
    fs::write(&bundle, &out.stdout).unwrap();
    let dst = tmp.path().join("dst");
    restore_with_passphrase(&bundle, &pass, &dst, &[]);
    assert_eq!(certs_of(&dst).len(), 1);
}

/// `keys rotate --cert-out` into a missing directory made the key, then failed: every retry
/// made one more.
#[test]
fn rotate_with_an_unwritable_cert_out_makes_no_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    init(&dir);
    let before = snapshot(&dir);
    let missing = tmp.path().join("no/such/dir/new.crt");
    let err = fails(&[
        "keys",
        "rotate",
        "--keyring",
        s(&dir),
        "--cert-out",
        s(&missing),
    ]);
    assert!(err.contains("no such directory"), "{err}");
    assert_eq!(snapshot(&dir), before);
}
