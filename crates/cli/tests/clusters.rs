//! Several clusters in one run: `--cert NAME=FILE` repeated, `{cluster}` in `-w` and
//! `--merge-into`, a commented stream on stdout, one `--raw` line per cluster.

mod common;

use std::fs;
use std::path::PathBuf;

use base64::Engine as _;
use common::*;
use predicates::prelude::*;

const SECRET_YAML: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: myns\nstringData:\n  password: hunter2\n";

fn cert(name: &str) -> PathBuf {
    compat(&format!("keys/{name}/tls.crt"))
}

fn key(name: &str) -> PathBuf {
    compat(&format!("keys/{name}/tls.key"))
}

fn named(cluster: &str, key_name: &str) -> String {
    format!("{cluster}={}", cert(key_name).display())
}

/// Whether `sealed` opens with `key_name`'s private key.
fn opens_with(key_name: &str, sealed: &str) -> bool {
    kubeseal()
        .arg("--recovery-unseal")
        .arg("--recovery-private-key")
        .arg(key(key_name))
        .write_stdin(sealed.to_owned())
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn one_input_is_sealed_for_each_cluster_into_its_own_file() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("overlays/{cluster}/db.yaml");
    fs::create_dir_all(dir.path().join("overlays/prod")).unwrap();
    fs::create_dir_all(dir.path().join("overlays/staging")).unwrap();
    kubeseal()
        .args(["--cert", &named("prod", "rsa2048")])
        .args(["--cert", &named("staging", "foreign2048")])
        .arg("-w")
        .arg(&template)
        .write_stdin(SECRET_YAML)
        .assert()
        .success()
        .stdout("");
    let prod = fs::read_to_string(dir.path().join("overlays/prod/db.yaml")).unwrap();
    let staging = fs::read_to_string(dir.path().join("overlays/staging/db.yaml")).unwrap();
    assert!(prod.starts_with("---\n"), "YAML by the extension: {prod}");
    let secrets = unseal_with(&key("rsa2048"), &prod);
    assert_eq!(value(&secrets[0], "password"), "hunter2");
    assert_eq!(secrets[0].metadata.name(), "db");
    assert!(opens_with("foreign2048", &staging));
    assert!(
        !opens_with("foreign2048", &prod),
        "each file only for its cluster"
    );
    assert!(!opens_with("rsa2048", &staging));
}

#[test]
fn stdout_is_a_stream_with_each_cluster_named_in_a_comment() {
    let out = kubeseal()
        .args(["--cert", &named("prod", "rsa2048")])
        .args(["--cert", &named("staging", "foreign2048")])
        .args(["-o", "yaml"])
        .write_stdin(SECRET_YAML)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let prod_at = text.find("# cluster: prod\n").expect("prod comment");
    let staging_at = text.find("# cluster: staging\n").expect("staging comment");
    assert!(prod_at == 0 && prod_at < staging_at, "{text}");
    let (prod, staging) = text.split_at(staging_at);
    assert_eq!(seal::read_sealed_secrets(&text).unwrap().len(), 2);
    assert!(opens_with("rsa2048", prod) && !opens_with("foreign2048", prod));
    assert!(opens_with("foreign2048", staging) && !opens_with("rsa2048", staging));
}

#[test]
fn raw_prints_one_line_per_cluster() {
    let out = kubeseal()
        .args(["--raw", "-n", "myns", "--name", "db"])
        .args(["--cert", &named("prod", "rsa2048")])
        .args(["--cert", &named("staging", "foreign2048")])
        .write_stdin("hunter2")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<(&str, &str)> = text
        .lines()
        .map(|l| l.split_once(": ").expect("NAME: VALUE"))
        .collect();
    assert_eq!(
        lines.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        ["prod", "staging"]
    );
    for ((_, b64), key_name) in lines.iter().zip(["rsa2048", "foreign2048"]) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let ring = keyring(&[key(key_name)]);
        let (plain, _) = ring.open_value(b"myns/db", &bytes, None).unwrap();
        assert_eq!(plain.expose(), b"hunter2");
    }
}

#[test]
fn merge_into_a_path_per_cluster_updates_each_file() {
    let dir = tempfile::tempdir().unwrap();
    for (cluster, key_name) in [("prod", "rsa2048"), ("staging", "foreign2048")] {
        let path = dir.path().join(format!("{cluster}.yaml"));
        kubeseal()
            .args(["--cert", &cert(key_name).display().to_string()])
            .arg("-w")
            .arg(&path)
            .write_stdin(SECRET_YAML)
            .assert()
            .success();
    }
    kubeseal()
        .args(["--cert", &named("prod", "rsa2048")])
        .args(["--cert", &named("staging", "foreign2048")])
        .arg("--merge-into")
        .arg(dir.path().join("{cluster}.yaml"))
        .write_stdin("kind: Secret\nmetadata: {name: x}\nstringData: {token: t0k}\n")
        .assert()
        .success();
    for (cluster, key_name) in [("prod", "rsa2048"), ("staging", "foreign2048")] {
        let text = fs::read_to_string(dir.path().join(format!("{cluster}.yaml"))).unwrap();
        let secrets = unseal_with(&key(key_name), &text);
        assert_eq!(value(&secrets[0], "password"), "hunter2", "{cluster}");
        assert_eq!(value(&secrets[0], "token"), "t0k", "{cluster}");
    }
}

#[test]
fn several_unnamed_certificates_are_refused() {
    kubeseal()
        .args(["--cert", &cert("rsa2048").display().to_string()])
        .args(["--cert", &cert("foreign2048").display().to_string()])
        .write_stdin(SECRET_YAML)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "--cert is given several times: name each certificate",
        ));
}

#[test]
fn a_path_without_the_placeholder_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("db.yaml");
    kubeseal()
        .args(["--cert", &named("prod", "rsa2048")])
        .args(["--cert", &named("staging", "foreign2048")])
        .arg("-w")
        .arg(&target)
        .write_stdin(SECRET_YAML)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "put {cluster} in the path to write one file per cluster",
        ));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn one_unreadable_certificate_writes_nothing_and_names_its_cluster() {
    let dir = tempfile::tempdir().unwrap();
    kubeseal()
        .args(["--cert", &named("prod", "rsa2048")])
        .args(["--cert", "staging=/nonexistent/staging.pem"])
        .arg("-w")
        .arg(dir.path().join("{cluster}.yaml"))
        .write_stdin(SECRET_YAML)
        .assert()
        .failure()
        .stderr(predicate::str::contains("cluster staging"))
        .stderr(predicate::str::contains("/nonexistent/staging.pem"));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn named_certificates_are_for_sealing_only() {
    kubeseal()
        .arg("--validate")
        .args(["--cert", &named("prod", "rsa2048")])
        .write_stdin(SECRET_YAML)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "is for sealing, --raw and --merge-into only",
        ));
}

#[test]
fn each_cluster_gets_its_own_escrow_copy() {
    use age::secrecy::ExposeSecret;
    let dir = tempfile::tempdir().unwrap();
    let identity = age::x25519::Identity::generate();
    let identity_file = dir.path().join("escrow.key");
    fs::write(
        &identity_file,
        format!("{}\n", identity.to_string().expose_secret()),
    )
    .unwrap();
    kubeseal()
        .args(["--cert", &named("prod", "rsa2048")])
        .args(["--cert", &named("staging", "foreign2048")])
        .args(["--escrow-recipient", &identity.to_public().to_string()])
        .arg("-w")
        .arg(dir.path().join("{cluster}.yaml"))
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
    for cluster in ["prod", "staging"] {
        let text = fs::read_to_string(dir.path().join(format!("{cluster}.yaml"))).unwrap();
        let out = kubeseal()
            .arg("--recovery-unseal")
            .arg("-i")
            .arg(&identity_file)
            .write_stdin(text)
            .output()
            .unwrap();
        assert!(out.status.success(), "{cluster}: {}", stderr(&out));
        let secrets = seal::read_secrets(&stdout(&out)).unwrap();
        assert_eq!(value(&secrets[0], "password"), "hunter2", "{cluster}");
    }
}

#[test]
fn merge_into_leaves_every_file_as_it_was_when_one_cannot_take_the_items() {
    let dir = tempfile::tempdir().unwrap();
    let prod = dir.path().join("prod.yaml");
    kubeseal()
        .args(["--cert", &cert("rsa2048").display().to_string()])
        .arg("-w")
        .arg(&prod)
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
    // Two documents: not a file --merge-into can rewrite.
    let staging = dir.path().join("staging.yaml");
    let two = format!(
        "{}{}",
        fs::read_to_string(&prod).unwrap(),
        fs::read_to_string(&prod).unwrap()
    );
    fs::write(&staging, &two).unwrap();
    let before = fs::read_to_string(&prod).unwrap();
    kubeseal()
        .args(["--cert", &named("prod", "rsa2048")])
        .args(["--cert", &named("staging", "foreign2048")])
        .arg("--merge-into")
        .arg(dir.path().join("{cluster}.yaml"))
        .write_stdin("kind: Secret\nmetadata: {name: x}\nstringData: {token: t0k}\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains("cluster staging"));
    assert_eq!(fs::read_to_string(&prod).unwrap(), before);
    assert_eq!(fs::read_to_string(&staging).unwrap(), two);
}
