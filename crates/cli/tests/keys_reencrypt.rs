//! `kubeseal reencrypt DIR…`: bulk offline re-sealing with the current key.

mod keys_support;

use std::fs;
use std::path::Path;
use std::thread::sleep;
use std::time::Duration;

use keys_support::*;
use seal::{Format, Keyring, PrivateKey, read_sealed_secrets, write_documents};

#[test]
fn reencrypt_200_files_with_the_new_key_only() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    ok(&["keys", "init", "--keyring", s(&keys)]);
    let old_cert = certs_of(&keys).remove(0);
    let tree = tmp.path().join("repo");
    let mut expected = Vec::new();
    for i in 0..200 {
        let dir = tree.join(format!("app{}", i % 7)).join("secrets");
        fs::create_dir_all(&dir).unwrap();
        let sealed = seal_with(&old_cert, &format!("s{i}"), &format!("value-{i}"));
        let (name, format) = if i % 5 == 0 {
            (format!("s{i}.json"), Format::Json)
        } else {
            (format!("s{i}.yaml"), Format::Yaml)
        };
        let mut text = write_documents(&[sealed], format).to_string();
        if format == Format::Yaml {
            text = text.trim_start_matches("---\n").to_owned();
        }
        fs::write(dir.join(&name), text).unwrap();
        expected.push((dir.join(name), format!("value-{i}"), format));
    }
    // Files that are not SealedSecrets stay byte-identical.
    let untouched = [
        (
            tree.join("app0/deployment.yaml"),
            "apiVersion: apps/v1\nkind: Deployment\n".to_owned(),
        ),
        (tree.join("README.md"), "# SealedSecret docs\n".to_owned()),
        (
            tree.join(".git/config.yaml"),
            "kind: SealedSecret\ngarbage: [\n".to_owned(),
        ),
    ];
    for (path, text) in &untouched {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    // One file the keys cannot open: reported, left as it was, the others still done.
    let foreign = seal_with(
        &seal::Certificate::from_pem(&fs::read(compat("keys/foreign2048/tls.crt")).unwrap())
            .unwrap(),
        "foreign",
        "x",
    );
    let foreign_path = tree.join("app1/foreign.yaml");
    let foreign_text = write_documents(&[foreign], Format::Yaml).to_string();
    fs::write(&foreign_path, &foreign_text).unwrap();

    sleep(Duration::from_millis(1100));
    let new_fp = ok(&["keys", "rotate", "--keyring", s(&keys)])
        .trim()
        .to_owned();
    let (good, out, err) = run(&["reencrypt", s(&tree), "--keyring", s(&keys), "-j", "2"]);
    assert!(!good, "a failed file makes the run fail");
    assert!(err.contains("200 file(s) changed"), "{err}");
    assert!(err.contains("1 failed"), "{err}");
    assert!(
        err.contains(&format!("FAILED {}", foreign_path.display())),
        "{err}"
    );
    assert_eq!(out.lines().count(), 200);
    assert_eq!(fs::read_to_string(&foreign_path).unwrap(), foreign_text);
    for (path, text) in &untouched {
        assert_eq!(&fs::read_to_string(path).unwrap(), text);
    }

    // Every file now opens with the new key alone, in its original format.
    let new_only = {
        let mut k = Keyring::new();
        let stem = fs::read_dir(&keys)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.extension().is_some_and(|x| x == "crt")
                    && seal::Certificate::from_pem(&fs::read(p).unwrap())
                        .unwrap()
                        .public_key()
                        .fingerprint()
                        .as_str()
                        == new_fp
            })
            .unwrap();
        let key = PrivateKey::from_pem(&fs::read(stem.with_extension("key")).unwrap()).unwrap();
        k.insert(key, None, std::time::SystemTime::UNIX_EPOCH);
        k
    };
    for (path, value, format) in &expected {
        let text = fs::read_to_string(path).unwrap();
        assert_eq!(Format::detect(&text), *format, "{}", path.display());
        if *format == Format::Yaml {
            assert!(!text.starts_with("---"), "{}", path.display());
        }
        let sealed = read_sealed_secrets(&text).unwrap().remove(0);
        assert_eq!(
            unseal_value(&sealed, &new_only).as_deref(),
            Some(value.as_str())
        );
    }

    // A second run changes nothing: everything is already sealed with the current key.
    fs::remove_file(&foreign_path).unwrap();
    let before: Vec<_> = expected
        .iter()
        .map(|(p, _, _)| fs::read(p).unwrap())
        .collect();
    let (good, _, err) = run(&["reencrypt", s(&tree), "--keyring", s(&keys)]);
    assert!(good, "{err}");
    assert!(
        err.contains("0 file(s) changed") && err.contains("200 already sealed"),
        "{err}"
    );
    let after: Vec<_> = expected
        .iter()
        .map(|(p, _, _)| fs::read(p).unwrap())
        .collect();
    assert_eq!(before, after);
}

#[test]
fn reencrypt_takes_keys_from_a_bundle_and_a_cert() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    ok(&["keys", "init", "--keyring", s(&old)]);
    let sealed = seal_with(&certs_of(&old)[0], "a", "secret-a");
    let file = tmp.path().join("a.yaml");
    fs::write(&file, write_documents(&[sealed], Format::Yaml).as_bytes()).unwrap();
    let pass = tmp.path().join("pass");
    fs::write(&pass, "pw\n").unwrap();
    let bundle = tmp.path().join("old.age");
    ok(&[
        "keys",
        "backup",
        "--keyring",
        s(&old),
        "-o",
        s(&bundle),
        "--passphrase-file",
        s(&pass),
    ]);
    let new = tmp.path().join("new");
    ok(&["keys", "init", "--keyring", s(&new)]);
    ok(&[
        "reencrypt",
        s(&file),
        "--key",
        s(&bundle),
        "--passphrase-file",
        s(&pass),
        "--cert",
        s(&new.join("tls.crt")),
    ]);
    let text = fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("---\n"),
        "kept the leading document marker"
    );
    let sealed = read_sealed_secrets(&text).unwrap().remove(0);
    assert_eq!(
        unseal_value(&sealed, &keyring_of(&new)).as_deref(),
        Some("secret-a")
    );
    assert_eq!(unseal_value(&sealed, &keyring_of(&old)), None);
    let err = fails(&[
        "reencrypt",
        s(&file),
        "--keyring",
        s(Path::new("/nonexistent")),
    ]);
    assert!(err.contains("cannot read keyring directory"), "{err}");
}

/// A CRLF file came back with LF line endings: every line showed up in the diff.
#[test]
fn reencrypt_keeps_crlf_line_endings() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    ok(&["keys", "init", "--keyring", s(&keys)]);
    let sealed = seal_with(&certs_of(&keys).remove(0), "crlf", "value");
    let text = write_documents(&[sealed], Format::Yaml).replace('\n', "\r\n");
    let tree = tmp.path().join("repo");
    fs::create_dir(&tree).unwrap();
    let file = tree.join("crlf.yaml");
    fs::write(&file, &text).unwrap();
    ok(&["keys", "rotate", "--keyring", s(&keys)]);
    ok(&["reencrypt", "--keyring", s(&keys), s(&tree)]);
    let after = fs::read_to_string(&file).unwrap();
    assert_ne!(after, text, "re-sealed");
    assert_eq!(after.matches('\n').count(), after.matches("\r\n").count());
    assert!(
        after.matches("\r\n").count() >= text.matches("\r\n").count(),
        "{after}"
    );
}
