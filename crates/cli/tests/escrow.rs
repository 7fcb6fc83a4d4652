//! Escrow copies through the real binary: sealing with `--escrow-recipient` (flag,
//! environment, repository config file), recovery with no cluster key (`--recovery-unseal -i`),
//! `--merge-into` and `--re-encrypt` keeping the copy in step, `reencrypt --from-escrow` to a
//! new cluster's certificate, `lint --escrow-recipient`, and the one-line errors.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use age::secrecy::ExposeSecret;
use common::*;

const ESCROW: &str = "sealed-secrets-rs/escrow";
const ESCROW_OF: &str = "sealed-secrets-rs/escrow-of";
const ESCROW_RECIPIENTS: &str = "sealed-secrets-rs/escrow-recipients";

/// Data with bytes that are not UTF-8 and a trailing newline, and a stringData override.
const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\n  labels: {app: db}\ndata:\n  blob: AP8KBw==\n  password: aWdub3JlZA==\nstringData:\n  password: \"hunter2\\n\"\n  user: admin\n";

struct Identity {
    path: PathBuf,
    recipient: String,
}

/// A new age X25519 identity file (0600) and its recipient.
fn age_identity(dir: &Path, name: &str) -> Identity {
    let identity = age::x25519::Identity::generate();
    let path = dir.join(name);
    fs::write(&path, format!("{}\n", identity.to_string().expose_secret())).unwrap();
    set_private(&path);
    Identity {
        path,
        recipient: identity.to_public().to_string(),
    }
}

/// A new SSH key pair made by ssh-keygen (required: the test fails without it).
fn ssh_identity(dir: &Path, kind: &str) -> Identity {
    let path = dir.join(format!("id_{kind}"));
    let mut cmd = Std::new("ssh-keygen");
    cmd.args(["-q", "-t", kind, "-N", "", "-C", "escrow-test", "-f"])
        .arg(&path);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    let status = cmd
        .status()
        .expect("ssh-keygen is needed for the SSH escrow tests");
    assert!(status.success());
    let recipient = fs::read_to_string(path.with_extension("pub"))
        .unwrap_or_else(|_| fs::read_to_string(format!("{}.pub", path.display())).unwrap());
    Identity {
        path,
        recipient: recipient.trim().to_owned(),
    }
}

fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn cert(name: &str) -> String {
    compat(&format!("keys/{name}/tls.crt"))
        .display()
        .to_string()
}

fn key(name: &str) -> PathBuf {
    compat(&format!("keys/{name}/tls.key"))
}

/// `kubeseal` in `dir` (so no config file above the workspace is found by accident).
fn kubeseal_in(dir: &Path) -> assert_cmd::Command {
    let mut cmd = kubeseal();
    cmd.current_dir(dir);
    cmd
}

fn seal(dir: &Path, args: &[&str], input: &str) -> String {
    let output = kubeseal_in(dir)
        .args(["--cert", &cert("rsa2048"), "-o", "yaml"])
        .args(args)
        .write_stdin(input.to_owned())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
}

fn sealed_of(text: &str) -> seal::SealedSecret {
    let mut docs = seal::read_sealed_secrets(text).unwrap();
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

fn recover(dir: &Path, identity: &Path, sealed: &str) -> Vec<seal::Secret> {
    let output = kubeseal_in(dir)
        .args(["--recovery-unseal", "-i", s(identity)])
        .write_stdin(sealed.to_owned())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    seal::read_secrets(&stdout(&output)).unwrap()
}

fn assert_same_secrets(a: &[seal::Secret], b: &[seal::Secret]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x, y);
    }
}

#[test]
fn escrow_round_trip_with_an_age_identity_matches_the_cluster_key() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age_identity(tmp.path(), "escrow.key");
    let sealed = seal(tmp.path(), &["--escrow-recipient", &id.recipient], SECRET);
    let object = sealed_of(&sealed);
    let annotations = &object.metadata.annotations;
    assert!(annotations.contains_key(ESCROW));
    assert!(annotations[ESCROW_OF].starts_with("sha256:"));
    assert_eq!(annotations[ESCROW_RECIPIENTS], id.recipient);
    // Never in the template: no controller copies it into the Secret.
    assert!(
        !object
            .spec
            .template
            .metadata
            .annotations
            .keys()
            .any(|k| k.starts_with("sealed-secrets-rs/"))
    );
    let recovered = recover(tmp.path(), &id.path, &sealed);
    let with_key = unseal_with(&key("rsa2048"), &sealed);
    assert_same_secrets(&recovered, &with_key);
    assert_eq!(recovered[0].data["blob"].expose(), [0, 255, b'\n', 7]);
    assert_eq!(value(&recovered[0], "password"), "hunter2\n");
    assert_eq!(value(&recovered[0], "user"), "admin");
}

#[test]
fn escrow_round_trip_with_ssh_keys_from_a_recipients_file() {
    let tmp = tempfile::tempdir().unwrap();
    let ed = ssh_identity(tmp.path(), "ed25519");
    let rsa = ssh_identity(tmp.path(), "rsa");
    let list = tmp.path().join("escrow.txt");
    fs::write(
        &list,
        format!(
            "# the offline team keys\n{}\n\n{}\n",
            ed.recipient, rsa.recipient
        ),
    )
    .unwrap();
    let sealed = seal(tmp.path(), &["--escrow-recipient", "escrow.txt"], SECRET);
    let recorded = sealed_of(&sealed).metadata.annotations[ESCROW_RECIPIENTS].clone();
    for id in [&ed, &rsa] {
        // Recorded by the fingerprint ssh-keygen -l prints.
        let listed = Std::new("ssh-keygen")
            .arg("-lf")
            .arg(format!("{}.pub", id.path.display()))
            .output()
            .unwrap();
        let fingerprint = String::from_utf8(listed.stdout).unwrap();
        let fingerprint = fingerprint.split_whitespace().nth(1).unwrap().to_owned();
        assert!(recorded.split(',').any(|r| r == fingerprint), "{recorded}");
        let recovered = recover(tmp.path(), &id.path, &sealed);
        assert_same_secrets(&recovered, &unseal_with(&key("rsa2048"), &sealed));
    }
}

#[test]
fn recipients_from_the_environment_and_the_repository_config() {
    let tmp = tempfile::tempdir().unwrap();
    let from_env = age_identity(tmp.path(), "env.key");
    let from_config = age_identity(tmp.path(), "config.key");
    let repo = tmp.path().join("repo");
    let deep = repo.join("apps/db");
    fs::create_dir_all(&deep).unwrap();
    fs::write(
        repo.join("escrow.txt"),
        format!("{}\n", from_config.recipient),
    )
    .unwrap();
    fs::write(
        repo.join(".sealed-secrets.yaml"),
        "escrowRecipients:\n  - escrow.txt\n",
    )
    .unwrap();
    // From two directories below the config file, its relative file name still resolves.
    let sealed = seal(&deep, &[], SECRET);
    assert_eq!(
        sealed_of(&sealed).metadata.annotations[ESCROW_RECIPIENTS],
        from_config.recipient
    );
    // The environment wins over the config file.
    let output = kubeseal_in(&deep)
        .args(["--cert", &cert("rsa2048"), "-o", "yaml"])
        .env("SEALED_SECRETS_ESCROW_RECIPIENTS", &from_env.recipient)
        .write_stdin(SECRET)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        sealed_of(&stdout(&output)).metadata.annotations[ESCROW_RECIPIENTS],
        from_env.recipient
    );
    // --no-escrow turns it off.
    let plain = seal(&deep, &["--no-escrow"], SECRET);
    assert!(!plain.contains(ESCROW));
    // A typo in the config file is a one-line error naming the file.
    fs::write(repo.join(".sealed-secrets.yaml"), "escrowRecipient: [x]\n").unwrap();
    let output = kubeseal_in(&deep)
        .args(["--cert", &cert("rsa2048")])
        .write_stdin(SECRET)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = stderr(&output);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(".sealed-secrets.yaml: line 1 column 1: unknown field `escrowRecipient`"),
        "{err}"
    );
}

#[test]
fn raw_makes_no_escrow_copy_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age_identity(tmp.path(), "escrow.key");
    let output = kubeseal_in(tmp.path())
        .args([
            "--raw",
            "--scope",
            "cluster-wide",
            "--cert",
            &cert("rsa2048"),
        ])
        .args(["--escrow-recipient", &id.recipient])
        .write_stdin("value")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("no escrow copy"));
}

#[test]
fn merge_into_keeps_the_escrow_copy_in_step() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age_identity(tmp.path(), "escrow.key");
    let file = tmp.path().join("sealed.yaml");
    fs::write(
        &file,
        seal(tmp.path(), &["--escrow-recipient", &id.recipient], SECRET),
    )
    .unwrap();
    let extra = "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData:\n  token: t0k3n\n  user: root\n";
    let output = kubeseal_in(tmp.path())
        .args(["--cert", &cert("rsa2048"), "--merge-into", s(&file)])
        .args(["--escrow-recipient", &id.recipient])
        .write_stdin(extra)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("escrow"), "{}", stderr(&output));
    let merged = fs::read_to_string(&file).unwrap();
    let recovered = recover(tmp.path(), &id.path, &merged);
    assert_same_secrets(&recovered, &unseal_with(&key("rsa2048"), &merged));
    assert_eq!(value(&recovered[0], "token"), "t0k3n");
    assert_eq!(value(&recovered[0], "user"), "root");
    assert_eq!(value(&recovered[0], "password"), "hunter2\n");
    let lint = kubeseal_in(tmp.path())
        .args(["lint", "--escrow-recipient", &id.recipient, s(&file)])
        .output()
        .unwrap();
    assert!(lint.status.success(), "{}", stdout(&lint));

    // Merging without recipients leaves the copy stale, says so, and lint reports it.
    let output = kubeseal_in(tmp.path())
        .args(["--cert", &cert("rsa2048"), "--merge-into", s(&file)])
        .write_stdin("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {more: m}\n")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("escrow copy does not cover the merged items (more)"),
        "{}",
        stderr(&output)
    );
    let lint = kubeseal_in(tmp.path())
        .args(["lint", "--escrow-recipient", &id.recipient, s(&file)])
        .output()
        .unwrap();
    assert!(!lint.status.success());
    assert!(
        stdout(&lint).contains("[stale-escrow]"),
        "{}",
        stdout(&lint)
    );
}

#[test]
fn re_encrypt_with_keys_keeps_the_copy_current() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age_identity(tmp.path(), "escrow.key");
    let file = tmp.path().join("sealed.yaml");
    fs::write(
        &file,
        seal(tmp.path(), &["--escrow-recipient", &id.recipient], SECRET),
    )
    .unwrap();
    let before = sealed_of(&fs::read_to_string(&file).unwrap());
    let output = kubeseal_in(tmp.path())
        .args(["--re-encrypt", "--recovery-private-key"])
        .arg(key("rsa2048"))
        .args(["--cert", &cert("rsa2048"), "-f", s(&file)])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let after = sealed_of(&fs::read_to_string(&file).unwrap());
    assert_ne!(before.spec.encrypted_data, after.spec.encrypted_data);
    assert_ne!(
        before.metadata.annotations[ESCROW_OF],
        after.metadata.annotations[ESCROW_OF]
    );
    let lint = kubeseal_in(tmp.path())
        .args(["lint", "--escrow-recipient", &id.recipient, s(&file)])
        .output()
        .unwrap();
    assert!(lint.status.success(), "{}", stdout(&lint));
}

#[test]
fn reencrypt_from_escrow_moves_a_repository_to_a_new_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age_identity(tmp.path(), "escrow.key");
    let tree = tmp.path().join("repo");
    fs::create_dir_all(tree.join("apps")).unwrap();
    let good = tree.join("apps/db.yaml");
    fs::write(
        &good,
        seal(tmp.path(), &["--escrow-recipient", &id.recipient], SECRET),
    )
    .unwrap();
    let missing = tree.join("apps/plain.yaml");
    let plain_text = seal(tmp.path(), &["--no-escrow"], SECRET);
    fs::write(&missing, &plain_text).unwrap();
    let output = kubeseal_in(tmp.path())
        .args(["reencrypt", "--from-escrow", "-i", s(&id.path)])
        .args(["--cert", &cert("foreign2048"), s(&tree)])
        .output()
        .unwrap();
    assert!(!output.status.success(), "the file without a copy fails");
    let err = stderr(&output);
    assert!(err.contains("1 file(s) changed"), "{err}");
    assert!(
        err.contains(&format!("FAILED {}", missing.display())) && err.contains("no escrow copy"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&missing).unwrap(), plain_text);
    let moved = fs::read_to_string(&good).unwrap();
    let object = sealed_of(&moved);
    let new_fp = seal::Certificate::from_pem(&fs::read(cert("foreign2048")).unwrap())
        .unwrap()
        .public_key()
        .fingerprint()
        .to_string();
    assert_eq!(
        object.metadata.annotations["sealed-secrets-rs/sealed-with"],
        new_fp
    );
    assert_eq!(
        object.spec.template.metadata.labels["app"], "db",
        "the template is kept"
    );
    // The new cluster's key opens it, and the escrow copy is still current.
    let with_new_key = unseal_with(&key("foreign2048"), &moved);
    assert_eq!(value(&with_new_key[0], "password"), "hunter2\n");
    assert_same_secrets(&recover(tmp.path(), &id.path, &moved), &with_new_key);
    let lint = kubeseal_in(tmp.path())
        .args(["lint", "--escrow-recipient", &id.recipient, s(&good)])
        .output()
        .unwrap();
    assert!(lint.status.success(), "{}", stdout(&lint));
}

#[test]
fn lint_reports_missing_stale_and_other_recipients() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age_identity(tmp.path(), "escrow.key");
    let other = age_identity(tmp.path(), "other.key");
    let missing = tmp.path().join("missing.yaml");
    fs::write(
        &missing,
        seal(tmp.path(), &["--no-escrow", "--name", "m"], SECRET),
    )
    .unwrap();
    let stale = tmp.path().join("stale.yaml");
    let fresh = seal(tmp.path(), &["--escrow-recipient", &id.recipient], SECRET);
    let escrowed = seal(
        tmp.path(),
        &["--escrow-recipient", &id.recipient, "--name", "s"],
        SECRET,
    );
    let again = sealed_of(&seal(tmp.path(), &["--no-escrow", "--name", "s"], SECRET));
    // Values re-sealed by hand, the escrow copy left behind.
    let mut object = sealed_of(&escrowed);
    object.spec.encrypted_data = again.spec.encrypted_data;
    fs::write(
        &stale,
        seal::write_documents(&[object], seal::Format::Yaml).as_bytes(),
    )
    .unwrap();
    let current = tmp.path().join("current.yaml");
    fs::write(&current, &fresh).unwrap();
    let before: Vec<String> = [&missing, &stale, &current]
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();

    let lint = kubeseal_in(tmp.path())
        .args(["lint", "--escrow-recipient", &id.recipient, s(tmp.path())])
        .output()
        .unwrap();
    assert!(!lint.status.success());
    let out = stdout(&lint);
    assert!(
        out.contains("missing.yaml:") && out.contains("[no-escrow]"),
        "{out}"
    );
    assert!(
        out.contains("stale.yaml:") && out.contains("[stale-escrow]"),
        "{out}"
    );
    assert!(!out.contains("current.yaml:"), "{out}");
    // Another recipient expected: the current copy is not encrypted to it.
    let lint = kubeseal_in(tmp.path())
        .args(["lint", "--escrow-recipient", &other.recipient, s(&current)])
        .output()
        .unwrap();
    assert!(!lint.status.success());
    assert!(
        stdout(&lint).contains(&format!("not encrypted to {}", other.recipient)),
        "{}",
        stdout(&lint)
    );
    // Without the flag a stale copy is a warning, a missing one nothing.
    let lint = kubeseal_in(tmp.path())
        .args(["lint", s(&stale), s(&missing)])
        .output()
        .unwrap();
    assert!(lint.status.success(), "{}", stdout(&lint));
    assert!(stdout(&lint).contains("warning: the escrow copy is stale"));
    let after: Vec<String> = [&missing, &stale, &current]
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(before, after, "lint never writes");
}

fn one_line_error(output: &std::process::Output) -> String {
    assert!(!output.status.success());
    let err = stderr(output);
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn bad_input_is_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age_identity(tmp.path(), "escrow.key");
    let other = age_identity(tmp.path(), "other.key");
    // A bad recipient.
    let output = kubeseal_in(tmp.path())
        .args(["--cert", &cert("rsa2048"), "--escrow-recipient", "age1nope"])
        .write_stdin(SECRET)
        .output()
        .unwrap();
    assert!(one_line_error(&output).contains("invalid escrow recipient \"age1nope\""));
    let output = kubeseal_in(tmp.path())
        .args([
            "--cert",
            &cert("rsa2048"),
            "--escrow-recipient",
            "no-such.txt",
        ])
        .write_stdin(SECRET)
        .output()
        .unwrap();
    assert!(
        one_line_error(&output)
            .contains("\"no-such.txt\" is neither a recipient nor a readable file")
    );
    let sealed = seal(tmp.path(), &["--escrow-recipient", &id.recipient], SECRET);
    // A missing identity file.
    let output = kubeseal_in(tmp.path())
        .args(["--recovery-unseal", "-i", "missing.key"])
        .write_stdin(sealed.clone())
        .output()
        .unwrap();
    assert!(one_line_error(&output).contains("cannot read identity file missing.key"));
    // The wrong identity.
    let output = kubeseal_in(tmp.path())
        .args(["--recovery-unseal", "-i", s(&other.path)])
        .write_stdin(sealed.clone())
        .output()
        .unwrap();
    let err = one_line_error(&output);
    assert!(err.contains("no identity matches"), "{err}");
    assert!(stdout(&output).is_empty());
    // No escrow copy at all.
    let output = kubeseal_in(tmp.path())
        .args(["--recovery-unseal", "-i", s(&id.path)])
        .write_stdin(seal(tmp.path(), &["--no-escrow"], SECRET))
        .output()
        .unwrap();
    assert!(one_line_error(&output).contains("has no escrow copy"));
    // --from-escrow without -i.
    let output = kubeseal_in(tmp.path())
        .args([
            "reencrypt",
            "--from-escrow",
            "--cert",
            &cert("rsa2048"),
            ".",
        ])
        .output()
        .unwrap();
    assert!(one_line_error(&output).contains("--from-escrow needs -i IDENTITY"));
}

#[test]
fn a_copy_over_the_annotation_limit_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age_identity(tmp.path(), "escrow.key");
    // 200 KiB of value: sealed it fits in a Secret, escrowed (base64 of age) it cannot fit
    // in 256 KiB of annotations.
    let big = "A".repeat(200 * 1024);
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: big, namespace: prod}}\nstringData:\n  v: {big}\n"
    );
    let output = kubeseal_in(tmp.path())
        .args([
            "--cert",
            &cert("rsa2048"),
            "--escrow-recipient",
            &id.recipient,
        ])
        .write_stdin(secret)
        .output()
        .unwrap();
    assert!(
        one_line_error(&output).contains("over the API server's limit of 262144 bytes (256 KiB)")
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn recovered_files_are_private_and_shared_identities_are_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age_identity(tmp.path(), "escrow.key");
    let sealed = seal(tmp.path(), &["--escrow-recipient", &id.recipient], SECRET);
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&id.path, fs::Permissions::from_mode(0o644)).unwrap();
    }
    let output = kubeseal_in(tmp.path())
        .args(["--recovery-unseal", "-i", s(&id.path)])
        .write_stdin(sealed.clone())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("is readable by others (mode 644)"),
        "{}",
        stderr(&output)
    );
    set_private(&id.path);
    let out = tmp.path().join("recovered.yaml");
    // An existing world-readable file does not lend its mode to the plaintext.
    fs::write(&out, "old").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&out, fs::Permissions::from_mode(0o644)).unwrap();
    }
    let output = kubeseal_in(tmp.path())
        .args(["--recovery-unseal", "-i", s(&id.path), "-w", s(&out)])
        .write_stdin(sealed)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    assert_eq!(mode(&out), 0o600);
    let secrets = seal::read_secrets(&fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(value(&secrets[0], "user"), "admin");
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        2,
        "no temporary file left"
    );
}

#[test]
fn reencrypt_with_escrow_recipients_adopts_and_renews_escrow() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age_identity(tmp.path(), "escrow.key");
    let next = age_identity(tmp.path(), "next.key");
    let tree = tmp.path().join("repo");
    fs::create_dir_all(&tree).unwrap();
    let file = tree.join("db.yaml");
    fs::write(&file, seal(tmp.path(), &["--no-escrow"], SECRET)).unwrap();
    // Already sealed with the current key, but without a copy: re-sealed to get one.
    let adopt = |expect_changed: bool| {
        let output = kubeseal_in(tmp.path())
            .args(["reencrypt", "--key"])
            .arg(key("rsa2048"))
            .args([
                "--cert",
                &cert("rsa2048"),
                "--escrow-recipient",
                &id.recipient,
            ])
            .arg(&tree)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        let changed = if expect_changed {
            "1 file(s) changed"
        } else {
            "0 file(s) changed"
        };
        assert!(stderr(&output).contains(changed), "{}", stderr(&output));
    };
    adopt(true);
    let adopted = fs::read_to_string(&file).unwrap();
    assert_same_secrets(
        &recover(tmp.path(), &id.path, &adopted),
        &unseal_with(&key("rsa2048"), &adopted),
    );
    // The second time there is nothing to do: the file is left byte-identical.
    adopt(false);
    assert_eq!(fs::read_to_string(&file).unwrap(), adopted);
    // From the escrow copy to a new cluster and a new escrow recipient at once.
    let output = kubeseal_in(tmp.path())
        .args(["reencrypt", "--from-escrow", "-i", s(&id.path)])
        .args([
            "--cert",
            &cert("foreign2048"),
            "--escrow-recipient",
            &next.recipient,
        ])
        .arg(&tree)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let moved = fs::read_to_string(&file).unwrap();
    assert_same_secrets(
        &recover(tmp.path(), &next.path, &moved),
        &unseal_with(&key("foreign2048"), &moved),
    );
    let old = kubeseal_in(tmp.path())
        .args(["--recovery-unseal", "-i", s(&id.path)])
        .write_stdin(moved)
        .output()
        .unwrap();
    assert!(one_line_error(&old).contains("no identity matches"));
}

#[test]
fn re_encrypt_by_the_controller_keeps_the_copy_current() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age_identity(tmp.path(), "escrow.key");
    let mut controller = Controller::dev();
    controller.rotate_cert =
        seal::Certificate::from_pem(&fs::read(cert("rsa4096")).unwrap()).unwrap();
    let server = Server::start(controller);
    let output = kubeseal_in(tmp.path())
        .args(["--cert", s(&dev_cert()), "-o", "yaml"])
        .args(["--escrow-recipient", &id.recipient])
        .write_stdin(SECRET)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let file = tmp.path().join("sealed.yaml");
    fs::write(&file, stdout(&output)).unwrap();
    let output = kubeseal_in(tmp.path())
        .args([
            "--re-encrypt",
            "--controller-url",
            &server.url,
            "-f",
            s(&file),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let rotated = fs::read_to_string(&file).unwrap();
    assert_same_secrets(
        &recover(tmp.path(), &id.path, &rotated),
        &unseal_with(&key("rsa4096"), &rotated),
    );
    let lint = kubeseal_in(tmp.path())
        .args(["lint", "--escrow-recipient", &id.recipient, s(&file)])
        .output()
        .unwrap();
    assert!(lint.status.success(), "{}", stdout(&lint));
}
