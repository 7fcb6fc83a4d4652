//! Helpers shared by the `kubeseal keys` tests.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use seal::{
    Certificate, Keyring, PrivateKey, SealOptions, SealedSecret, UnsealOptions, read_secrets,
    seal_secret, unseal,
};

pub const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";
pub const BACKED_UP: &str = "sealedsecrets.bitnami.com/backed-up-at";

pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeseal"));
    cmd.env_remove("SEALED_SECRETS_BACKUP_PASSPHRASE")
        .env_remove("KUBECONFIG")
        .env("HOME", "/nonexistent");
    cmd
}

/// Runs kubeseal; returns (success, stdout, stderr).
pub fn run(args: &[&str]) -> (bool, String, String) {
    let out: Output = bin().args(args).output().expect("kubeseal runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn ok(args: &[&str]) -> String {
    let (ok, out, err) = run(args);
    assert!(ok, "kubeseal {args:?} failed:\n{out}\n{err}");
    out
}

/// Runs kubeseal expecting failure; returns stderr.
pub fn fails(args: &[&str]) -> String {
    let (ok, out, err) = run(args);
    assert!(!ok, "kubeseal {args:?} succeeded:\n{out}\n{err}");
    err
}

pub fn compat(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../seal/tests/fixtures/compat")
        .join(path)
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every file in `dir` with its bytes (to prove nothing changed).
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries {
            let p = e.unwrap().path();
            if p.is_file() {
                out.push((p.clone(), fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// All keys of a keyring directory (`*.key` + `*.crt`).
pub fn keyring_of(dir: &Path) -> Keyring {
    let mut keyring = Keyring::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "key") {
            let key = PrivateKey::from_pem(&fs::read(&p).unwrap()).unwrap();
            keyring.insert(key, None, SystemTime::UNIX_EPOCH);
        }
    }
    keyring
}

/// Certificates of a keyring directory.
pub fn certs_of(dir: &Path) -> Vec<Certificate> {
    let mut certs = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "crt") {
            certs.push(Certificate::from_pem(&fs::read(&p).unwrap()).unwrap());
        }
    }
    certs
}

pub fn secret_yaml(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: ns\nstringData:\n  v: {value}\n"
    )
}

pub fn seal_with(cert: &Certificate, name: &str, value: &str) -> SealedSecret {
    let secret = read_secrets(&secret_yaml(name, value)).unwrap().remove(0);
    seal_secret(&secret, cert.public_key(), &SealOptions::default()).unwrap()
}

pub fn unseal_value(sealed: &SealedSecret, keyring: &Keyring) -> Option<String> {
    let secret = unseal(sealed, keyring, &UnsealOptions::default())
        .ok()?
        .secret;
    Some(String::from_utf8(secret.data["v"].expose().to_vec()).unwrap())
}

#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The private key bodies (PEM base64 lines) of a keyring, to check they never leak.
pub fn key_lines(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "key") {
            let text = fs::read_to_string(&p).unwrap();
            lines.extend(
                text.lines()
                    .filter(|l| !l.starts_with("-----"))
                    .take(3)
                    .map(str::to_owned),
            );
        }
    }
    lines
}

pub fn assert_no_key_material(text: &str, keys: &[String]) {
    for line in keys {
        assert!(!text.contains(line.as_str()), "private key bytes leaked");
    }
    assert!(!text.contains("PRIVATE KEY"), "private key leaked:\n{text}");
}
