//! --raw, --merge-into, --recovery-unseal (with every compat vector), offline --validate and
//! --re-encrypt.

mod common;

use std::fs;

use base64::Engine as _;
use common::*;
use predicates::prelude::*;

const SECRET_YAML: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: mysecret\n  namespace: myns\nstringData:\n  user: admin\n";

fn seal_yaml(extra: &[&str], input: &str) -> String {
    let out = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .args(extra)
        .write_stdin(input.to_owned())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

fn open_raw(b64: &str, label: &[u8]) -> Vec<u8> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let ring = keyring(&[dev_key()]);
    ring.open_value(label, &bytes, None)
        .unwrap()
        .0
        .expose()
        .to_vec()
}

#[test]
fn raw_values_for_each_scope() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("value");
    fs::write(&file, "s3cr3t").unwrap();
    let cases: [(&[&str], &[u8]); 3] = [
        (&["-n", "myns", "--name", "mysecret"], b"myns/mysecret"),
        (&["-n", "myns", "--scope", "namespace-wide"], b"myns"),
        (&["--scope", "cluster-wide"], b""),
    ];
    for (args, label) in cases {
        let out = kubeseal()
            .args(["--raw", "--cert"])
            .arg(dev_cert())
            .arg("--from-file")
            .arg(format!("item={}", file.display()))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let b64 = stdout(&out);
        assert!(!b64.ends_with('\n'));
        assert_eq!(open_raw(&b64, label), b"s3cr3t");
        assert_eq!(without_dev_cert_warning(&stderr(&out)), "");
    }
    // From stdin, namespace from the kubeconfig context.
    let kubeconfig = write_kubeconfig(dir.path(), "http://127.0.0.1:1", Some("ctxns"));
    let out = kubeseal()
        .args(["--raw", "--name", "n", "--cert"])
        .arg(dev_cert())
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .write_stdin("piped\n")
        .output()
        .unwrap();
    assert_eq!(open_raw(&stdout(&out), b"ctxns/n"), b"piped\n");
    // Piped stdin is taken as meant: no newline warning.
    assert_eq!(without_dev_cert_warning(&stderr(&out)), "");
}

#[test]
fn raw_errors_and_newline_warning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("value");
    fs::write(&file, "with newline\n").unwrap();
    kubeseal()
        .args(["--raw", "-n", "x", "--cert"])
        .arg(dev_cert())
        .arg("--from-file")
        .arg(&file)
        .assert()
        .code(2)
        .stderr("error: must provide the --name flag with --raw and --scope strict\n");
    kubeseal()
        .args(["--raw", "--name", "x", "-n", "x", "--cert"])
        .arg(dev_cert())
        .arg(format!("--from-file={},{}", file.display(), file.display()))
        .assert()
        .code(2)
        .stderr(
            "error: must provide only one --from-file when encrypting a single item with --raw\n",
        );
    kubeseal()
        .arg("--from-file")
        .arg(&file)
        .assert()
        .code(2)
        .stderr("error: --from-file requires --raw\n");
    let broken = dir.path().join("broken");
    fs::write(&broken, "{{{").unwrap();
    kubeseal()
        .args(["--raw", "--name", "x", "--kubeconfig"])
        .arg(&broken)
        .arg("--cert")
        .arg(dev_cert())
        .arg("--from-file")
        .arg(&file)
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: must provide the --namespace flag with --raw and --scope strict",
        ));
    let out = kubeseal()
        .args(["--raw", "-n", "myns", "--name", "mysecret", "--cert"])
        .arg(dev_cert())
        .arg("--from-file")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(stderr(&out).starts_with("warning: the value ends with a newline"));
    assert_eq!(open_raw(&stdout(&out), b"myns/mysecret"), b"with newline\n");
}

#[test]
fn raw_compat_vectors_open_like_ours() {
    let ring = keyring(&[compat("keys/rsa2048/tls.key")]);
    let value = fs::read(compat("raw/value.txt")).unwrap();
    for (scope, label) in [
        ("strict", &b"myns/mysecret"[..]),
        ("namespace-wide", b"myns"),
        ("cluster-wide", b""),
    ] {
        let b64 = fs::read_to_string(compat(&format!("raw/value.{scope}.rsa2048.b64"))).unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap();
        assert_eq!(
            ring.open_value(label, &bytes, None).unwrap().0.expose(),
            value
        );
        // And ours opens with the vector key the same way.
        let out = kubeseal()
            .args([
                "--raw", "--scope", scope, "-n", "myns", "--name", "mysecret", "--cert",
            ])
            .arg(compat("keys/rsa2048/tls.crt"))
            .arg("--from-file")
            .arg(compat("raw/value.txt"))
            .output()
            .unwrap();
        let ours = base64::engine::general_purpose::STANDARD
            .decode(stdout(&out))
            .unwrap();
        assert_eq!(
            ring.open_value(label, &ours, None).unwrap().0.expose(),
            value
        );
    }
}

#[test]
fn merge_into_yaml_stays_yaml_and_keeps_identity() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sealed.yaml");
    // A file sealed as YAML, without -w extension hints: the content decides.
    fs::write(&target, seal_yaml(&[], SECRET_YAML)).unwrap();
    let before = fs::read_to_string(&target).unwrap();
    // The input has another name and no namespace: the file's identity wins.
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .arg("--merge-into")
        .arg(&target)
        .write_stdin("kind: Secret\nmetadata:\n  name: other\n  labels: {tier: db}\n  annotations: {note: x}\nstringData: {password: pw}\n")
        .assert()
        .success()
        .stdout("");
    let after = fs::read_to_string(&target).unwrap();
    assert!(after.starts_with("---\n"), "{after}");
    assert_ne!(before, after);
    let secrets = unseal_with(&dev_key(), &after);
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].metadata.name(), "mysecret");
    assert_eq!(secrets[0].metadata.namespace(), "myns");
    assert_eq!(value(&secrets[0], "user"), "admin");
    assert_eq!(value(&secrets[0], "password"), "pw");
    assert_eq!(secrets[0].metadata.labels["tier"], "db");
    assert_eq!(secrets[0].metadata.annotations["note"], "x");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn merge_into_json_and_wider_scopes() {
    let dir = tempfile::tempdir().unwrap();
    // A JSON file, namespace-wide, with no labels/annotations maps in its template.
    let target = dir.path().join("sealed.json");
    let sealed = seal_yaml(&["-o", "json", "--scope", "namespace-wide"], SECRET_YAML);
    let mut v: serde_json::Value = serde_json::from_str(&sealed).unwrap();
    v["spec"]["template"]["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("annotations");
    fs::write(&target, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .arg("--merge-into")
        .arg(&target)
        .write_stdin("kind: Secret\nmetadata: {name: x, labels: {a: b}}\nstringData: {extra: e}\n")
        .assert()
        .success();
    let after = fs::read_to_string(&target).unwrap();
    assert!(after.starts_with('{'));
    // Namespace-wide: still opens after a rename, so the merged item inherited the scope.
    let renamed = after.replace("\"name\": \"mysecret\"", "\"name\": \"renamed\"");
    let secrets = unseal_with(&dev_key(), &renamed);
    assert_eq!(value(&secrets[0], "extra"), "e");
    assert_eq!(value(&secrets[0], "user"), "admin");
    // A --scope that disagrees with the file is refused, and the file is untouched.
    kubeseal()
        .args(["--scope", "cluster-wide", "--cert"])
        .arg(dev_cert())
        .arg("--merge-into")
        .arg(&target)
        .write_stdin(SECRET_YAML)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not match the scope"));
    assert_eq!(fs::read_to_string(&target).unwrap(), after);
}

#[test]
fn merge_into_failures_leave_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sealed.yaml");
    fs::write(&target, seal_yaml(&[], SECRET_YAML)).unwrap();
    let before = fs::read_to_string(&target).unwrap();
    for input in ["", "kind: Secret\nmetadata: {name: x}\n", "[[["] {
        kubeseal()
            .arg("--cert")
            .arg(dev_cert())
            .arg("--merge-into")
            .arg(&target)
            .write_stdin(input)
            .assert()
            .code(1);
        assert_eq!(fs::read_to_string(&target).unwrap(), before);
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .args(["--merge-into", "/nonexistent.yaml"])
        .write_stdin(SECRET_YAML)
        .assert()
        .code(1)
        .stderr("error: open /nonexistent.yaml: no such file or directory\n");
}

/// `--merge-into` through a symlink replaced the link with a regular file and left the file it
/// named without the new item (kustomize overlays share one SealedSecret through links).
#[cfg(unix)]
#[test]
fn merge_into_a_symlink_edits_the_file_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.yaml");
    fs::write(&real, seal_yaml(&[], SECRET_YAML)).unwrap();
    let link = dir.path().join("link.yaml");
    std::os::unix::fs::symlink("real.yaml", &link).unwrap();
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .arg("--merge-into")
        .arg(&link)
        .write_stdin("kind: Secret\nmetadata: {name: x}\nstringData: {password: pw}\n")
        .assert()
        .success();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let secrets = unseal_with(&dev_key(), &fs::read_to_string(&real).unwrap());
    assert_eq!(value(&secrets[0], "password"), "pw");
    assert_eq!(value(&secrets[0], "user"), "admin");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
}

/// `--merge-into` rewrote a CRLF file with LF line endings.
#[test]
fn merge_into_keeps_crlf_line_endings() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sealed.yaml");
    fs::write(&target, seal_yaml(&[], SECRET_YAML).replace('\n', "\r\n")).unwrap();
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .arg("--merge-into")
        .arg(&target)
        .write_stdin("kind: Secret\nmetadata: {name: x}\nstringData: {password: pw}\n")
        .assert()
        .success();
    let after = fs::read_to_string(&target).unwrap();
    assert!(after.contains("password: "), "{after}");
    assert_eq!(after.matches('\n').count(), after.matches("\r\n").count());
}

/// `--merge-into` replaced a read-only file: the rename needs only the directory to be
/// writable. Upstream refuses, as `chmod a-w` means. Root may write any file, so as root the
/// run is made as `nobody`, from copies it can read.
#[cfg(target_os = "linux")]
#[test]
fn merge_into_a_read_only_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let target = dir.path().join("sealed.yaml");
    let sealed = seal_yaml(&[], SECRET_YAML);
    fs::write(&target, &sealed).unwrap();
    let cert = dir.path().join("tls.crt");
    fs::copy(dev_cert(), &cert).unwrap();
    let as_root = std::os::unix::fs::MetadataExt::uid(&fs::metadata("/proc/self").unwrap()) == 0;
    let mut cmd = if as_root {
        let bin = dir.path().join("kubeseal");
        fs::copy(env!("CARGO_BIN_EXE_kubeseal"), &bin).unwrap();
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(&target, Some(65534), None).unwrap();
        let mut runuser = assert_cmd::Command::new("runuser");
        runuser
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", "/nonexistent-kubeseal-test-home")
            .current_dir(dir.path())
            .args(["-u", "nobody", "--"])
            .arg(&bin);
        runuser
    } else {
        let mut cmd = kubeseal();
        cmd.current_dir(dir.path());
        cmd
    };
    fs::set_permissions(&target, fs::Permissions::from_mode(0o444)).unwrap();
    cmd.arg("--cert")
        .arg(&cert)
        .arg("--merge-into")
        .arg(&target)
        .write_stdin("kind: Secret\nmetadata: {name: x}\nstringData: {password: pw}\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "error: cannot write {}: permission denied",
            target.display()
        )));
    assert_eq!(fs::read_to_string(&target).unwrap(), sealed);
}

fn bits_of(name: &str) -> &'static str {
    if name.contains("rsa4096") {
        "rsa4096"
    } else {
        "rsa2048"
    }
}

#[test]
fn every_compat_vector_unseals_to_its_expected_secret() {
    let mut checked = 0;
    for entry in fs::read_dir(compat("sealed")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.contains("expected-secret") {
            continue;
        }
        let (stem, ext) = name.rsplit_once('.').unwrap();
        let expected_path = path.with_file_name(format!("{stem}.expected-secret.{ext}"));
        let expected = seal::read_secrets(&fs::read_to_string(&expected_path).unwrap()).unwrap();
        let key = compat(&format!("keys/{}/tls.key", bits_of(&name)));
        let out = kubeseal()
            .args(["--recovery-unseal", "--recovery-private-key"])
            .arg(&key)
            .arg("-f")
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        // The output keeps the input's format.
        assert_eq!(stdout(&out).starts_with('{'), ext == "json", "{name}");
        let got = seal::read_secrets(&stdout(&out)).unwrap();
        assert_eq!(got, expected, "{name}");
        checked += 1;
    }
    assert_eq!(checked, 26, "every vector in the folder");
}

#[test]
fn every_negative_vector_fails() {
    for entry in fs::read_dir(compat("negative")).unwrap() {
        let path = entry.unwrap().path();
        let out = kubeseal()
            .args(["--recovery-unseal", "--recovery-private-key"])
            .arg(compat("keys/rsa2048/tls.key"))
            .arg("-f")
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
        let err = stderr(&out);
        assert!(err.starts_with("error: "), "{err}");
        assert_eq!(err.lines().count(), 1);
        assert_eq!(stdout(&out), "");
    }
}

#[test]
fn recovery_key_sources() {
    let sealed = seal_yaml(&[], SECRET_YAML);
    let dir = tempfile::tempdir().unwrap();
    // A key Secret, and a v1 List of them (the shape of a controller key backup).
    let key_pem = fs::read(dev_key()).unwrap();
    let cert_pem = fs::read(dev_cert()).unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let secret = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "sealed-secrets-keyabcde", "namespace": "kube-system",
                     "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"}},
        "data": {"tls.key": b64(&key_pem), "tls.crt": b64(&cert_pem)}
    });
    let foreign_pem = fs::read(compat("keys/foreign2048/tls.key")).unwrap();
    let list = serde_json::json!({
        "apiVersion": "v1", "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "k1"}, "data": {"tls.key": b64(&foreign_pem)}},
            secret.clone()
        ]
    });
    let secret_file = dir.path().join("key-secret.json");
    fs::write(&secret_file, serde_json::to_vec(&secret).unwrap()).unwrap();
    let list_file = dir.path().join("backup.yaml");
    fs::write(&list_file, serde_json::to_vec(&list).unwrap()).unwrap();
    for key in [&secret_file, &list_file, &repo("keys")] {
        let secrets = unseal_with(key, &sealed);
        assert_eq!(value(&secrets[0], "user"), "admin", "{}", key.display());
    }
    // Comma-separated and repeated.
    for args in [
        vec![
            "--recovery-private-key".to_owned(),
            format!(
                "{},{}",
                compat("keys/rsa4096/tls.key").display(),
                dev_key().display()
            ),
        ],
        vec![
            "--recovery-private-key".to_owned(),
            compat("keys/rsa4096/tls.key").display().to_string(),
            "--recovery-private-key".to_owned(),
            dev_key().display().to_string(),
        ],
    ] {
        kubeseal()
            .arg("--recovery-unseal")
            .args(&args)
            .write_stdin(sealed.clone())
            .assert()
            .success()
            .stdout(predicate::str::contains("kind: Secret"));
    }
    // A directory with no keys, a file that is not a key, and no key at all.
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    fs::write(empty.join("README.md"), "nothing").unwrap();
    kubeseal()
        .arg("--recovery-unseal")
        .arg("--recovery-private-key")
        .arg(&empty)
        .write_stdin(sealed.clone())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no private key found"));
    kubeseal()
        .arg("--recovery-unseal")
        .arg("--recovery-private-key")
        .arg(dev_cert())
        .write_stdin(sealed.clone())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(dev_cert().display().to_string()));
    kubeseal()
        .arg("--recovery-unseal")
        .write_stdin(sealed.clone())
        .assert()
        .code(1)
        .stderr(
            predicate::str::is_match(r"^error:.*no key could decrypt secret \(user\)").unwrap(),
        );
    // A wrong key: the upstream message, the item names, no values.
    kubeseal()
        .arg("--recovery-unseal")
        .arg("--recovery-private-key")
        .arg(compat("keys/foreign2048/tls.key"))
        .write_stdin(sealed)
        .assert()
        .code(1)
        .stderr("error: stdin (mysecret): no key could decrypt secret (user)\n");
    // A directory of key directories is not empty: it says its subdirectories are not searched.
    let tree = tempfile::tempdir().unwrap();
    fs::create_dir(tree.path().join("key1")).unwrap();
    fs::copy(dev_key(), tree.path().join("key1/tls.key")).unwrap();
    kubeseal()
        .args(["--recovery-unseal", "--recovery-private-key"])
        .arg(tree.path())
        .write_stdin(seal_yaml(&[], SECRET_YAML))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no private key found (its subdirectories are not searched",
        ));
}

#[test]
fn recovery_output_file_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("plain.yaml");
    kubeseal()
        .args(["--recovery-unseal", "--recovery-private-key"])
        .arg(dev_key())
        .arg("-w")
        .arg(&target)
        .write_stdin(seal_yaml(&[], SECRET_YAML))
        .assert()
        .success()
        .stdout("");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(
        fs::read_to_string(&target)
            .unwrap()
            .contains("kind: Secret")
    );
}

#[test]
fn validate_offline() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    let two = format!(
        "{}{}",
        seal_yaml(&[], SECRET_YAML),
        seal_yaml(&[], &SECRET_YAML.replace("mysecret", "second"))
    );
    fs::write(&good, &two).unwrap();
    kubeseal()
        .args(["--validate", "--recovery-private-key"])
        .arg(dev_key())
        .arg("-f")
        .arg(&good)
        .assert()
        .success()
        .stdout("")
        .stderr("");
    let bad = dir.path().join("bad.yaml");
    fs::write(&bad, two.replace("name: second", "name: moved")).unwrap();
    kubeseal()
        .args(["--validate", "--recovery-private-key"])
        .arg(dev_key())
        .arg("-f")
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(format!(
            "error: unable to decrypt sealed secret: {}, document 2 of 2 (moved): no key could decrypt secret (user)\n",
            bad.display()
        ));
    // Every negative vector is rejected; every positive rsa2048 vector passes.
    for entry in fs::read_dir(compat("negative")).unwrap() {
        kubeseal()
            .args(["--validate", "--recovery-private-key"])
            .arg(compat("keys/rsa2048/tls.key"))
            .arg("-f")
            .arg(entry.unwrap().path())
            .assert()
            .code(1);
    }
    kubeseal()
        .args(["--validate", "--recovery-private-key"])
        .arg(compat("keys/rsa2048/tls.key"))
        .arg("-f")
        .arg(compat("sealed/multi.rsa2048.json"))
        .assert()
        .success();
}

#[test]
fn re_encrypt_offline() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sealed.yaml");
    fs::copy(compat("sealed/basic.namespace-wide.rsa2048.yaml"), &file).unwrap();
    // Old key in, new certificate out; in place because of -f without -w.
    kubeseal()
        .args(["--re-encrypt", "--recovery-private-key"])
        .arg(compat("keys/rsa2048/tls.key"))
        .arg("--cert")
        .arg(compat("keys/rsa4096/tls.crt"))
        .arg("-f")
        .arg(&file)
        .assert()
        .success()
        .stdout("");
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("---\n"));
    let expected = seal::read_secrets(
        &fs::read_to_string(compat(
            "sealed/basic.namespace-wide.rsa2048.expected-secret.yaml",
        ))
        .unwrap(),
    )
    .unwrap();
    let got = unseal_with(&compat("keys/rsa4096/tls.key"), &text);
    assert_eq!(got, expected);
    // The old key no longer opens it.
    kubeseal()
        .args(["--recovery-unseal", "--recovery-private-key"])
        .arg(compat("keys/rsa2048/tls.key"))
        .arg("-f")
        .arg(&file)
        .assert()
        .code(1);
    // Wrong old key: error, file untouched; stdout mode with -w elsewhere.
    kubeseal()
        .args(["--re-encrypt", "--recovery-private-key"])
        .arg(compat("keys/rsa2048/tls.key"))
        .arg("--cert")
        .arg(dev_cert())
        .arg("-f")
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "error: unable to rotate secret",
        ));
    assert_eq!(fs::read_to_string(&file).unwrap(), text);
    let out_file = dir.path().join("out.json");
    kubeseal()
        .args(["--re-encrypt", "--recovery-private-key"])
        .arg(compat("keys/rsa4096/tls.key"))
        .arg("--cert")
        .arg(dev_cert())
        .arg("-f")
        .arg(&file)
        .arg("-w")
        .arg(&out_file)
        .assert()
        .success();
    assert_eq!(fs::read_to_string(&file).unwrap(), text);
    let rotated = fs::read_to_string(&out_file).unwrap();
    assert!(rotated.starts_with('{'));
    assert_eq!(unseal_with(&dev_key(), &rotated), expected);
}

#[test]
fn keyring_and_bundles_as_key_sources() {
    let dir = tempfile::tempdir().unwrap();
    let sealed = seal_yaml(&[], SECRET_YAML);
    let file = dir.path().join("sealed.yaml");
    fs::write(&file, &sealed).unwrap();
    let unsealed = |args: &[&std::ffi::OsStr], envs: &[(&str, &str)]| {
        let out = kubeseal()
            .arg("--recovery-unseal")
            .args(args)
            .envs(envs.iter().copied())
            .arg("-f")
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let secrets = seal::read_secrets(&stdout(&out)).unwrap();
        assert_eq!(value(&secrets[0], "user"), "admin");
    };
    // The repository's development keyring.
    let dev_keyring = repo("keys");
    unsealed(&["--keyring".as_ref(), dev_keyring.as_os_str()], &[]);
    // --validate with a keyring: ok, and a renamed copy fails.
    kubeseal()
        .args(["--validate", "--keyring"])
        .arg(&dev_keyring)
        .arg("-f")
        .arg(&file)
        .assert()
        .success()
        .stdout("")
        .stderr("");
    let moved = dir.path().join("moved.yaml");
    fs::write(&moved, sealed.replace("name: mysecret", "name: moved")).unwrap();
    kubeseal()
        .args(["--validate", "--keyring"])
        .arg(&dev_keyring)
        .arg("-f")
        .arg(&moved)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no key could decrypt secret (user)",
        ));
    // A passphrase bundle made by `kubeseal keys backup` (from a copy: backup marks keys).
    let copy = dir.path().join("keyring");
    fs::create_dir(&copy).unwrap();
    for name in ["tls.key", "tls.crt"] {
        fs::copy(dev_keyring.join(name), copy.join(name)).unwrap();
    }
    let pass = dir.path().join("pass");
    fs::write(&pass, "correct horse battery staple\n").unwrap();
    let bundle = dir.path().join("backup.age");
    kubeseal()
        .args(["keys", "backup", "--keyring"])
        .arg(&copy)
        .arg("-o")
        .arg(&bundle)
        .arg("--passphrase-file")
        .arg(&pass)
        .assert()
        .success();
    unsealed(
        &[
            "--recovery-private-key".as_ref(),
            bundle.as_os_str(),
            "--passphrase-file".as_ref(),
            pass.as_os_str(),
        ],
        &[],
    );
    unsealed(
        &["--recovery-private-key".as_ref(), bundle.as_os_str()],
        &[(
            "SEALED_SECRETS_BACKUP_PASSPHRASE",
            "correct horse battery staple",
        )],
    );
    // A wrong passphrase: one line, no secret in it.
    let wrong = dir.path().join("wrong");
    fs::write(&wrong, "not it\n").unwrap();
    let out = kubeseal()
        .args(["--recovery-unseal", "--recovery-private-key"])
        .arg(&bundle)
        .arg("--passphrase-file")
        .arg(&wrong)
        .arg("-f")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: ") && err.contains("wrong passphrase") && err.lines().count() == 1,
        "{err}"
    );
    assert!(!err.contains("not it") && !err.contains("BEGIN"), "{err}");
    // Offline --re-encrypt with keyrings and no --cert seals with the newest active key.
    let new = dir.path().join("new");
    kubeseal()
        .args(["keys", "init", "--keyring"])
        .arg(&new)
        .assert()
        .success();
    let keyrings = format!("{},{}", dev_keyring.display(), new.display());
    kubeseal()
        .args(["--re-encrypt", "--keyring", &keyrings, "-f"])
        .arg(&file)
        .assert()
        .success();
    let rotated = fs::read_to_string(&file).unwrap();
    kubeseal()
        .args(["--validate", "--keyring"])
        .arg(&new)
        .arg("-f")
        .arg(&file)
        .assert()
        .success();
    kubeseal()
        .args(["--validate", "--keyring"])
        .arg(&dev_keyring)
        .arg("-f")
        .arg(&file)
        .assert()
        .code(1);
    assert!(rotated.contains("mysecret"));
    // No key source at all: upstream's message and a hint, in one line.
    kubeseal()
        .arg("--recovery-unseal")
        .arg("-f")
        .arg(&moved)
        .assert()
        .code(1)
        .stderr(predicate::str::is_match(
            r"^error: no key could decrypt secret \(user\); .*--recovery-private-key.*--keyring.*\n$",
        )
        .unwrap());
}

#[cfg(unix)]
#[test]
fn recovery_unseal_output_is_0600_and_never_follows_a_symlink_at_the_target() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("sealed.yaml");
    fs::write(&input, seal_yaml(&[], SECRET_YAML)).unwrap();
    let unseal_to = |target: &std::path::Path| {
        kubeseal()
            .args(["--recovery-unseal", "--recovery-private-key"])
            .arg(dev_key())
            .arg("-f")
            .arg(&input)
            .arg("-w")
            .arg(target)
            .assert()
            .success();
    };

    // An existing world-readable target does not lend its mode to the plaintext.
    let target = dir.path().join("plain.yaml");
    fs::write(&target, "old").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
    unseal_to(&target);
    assert_eq!(mode(&target), 0o600);
    assert!(fs::read_to_string(&target).unwrap().contains("YWRtaW4="));

    // A symlink at the target is replaced, not followed: what it points to keeps its content
    // and mode, and the plaintext is a new 0600 file.
    let elsewhere = dir.path().join("shared.txt");
    fs::write(&elsewhere, "keep").unwrap();
    fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.path().join("link.yaml");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    unseal_to(&link);
    assert_eq!(fs::read_to_string(&elsewhere).unwrap(), "keep");
    assert_eq!(mode(&elsewhere), 0o644);
    assert!(
        !fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(mode(&link), 0o600);
}
