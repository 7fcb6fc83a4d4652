//! `kubeseal lint` and the sealed-with annotation, through the real binary: exact output in
//! every format, exit statuses, and that nothing is ever written.

mod common;

use std::fs;
use std::path::Path;

use common::*;

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\nstringData:\n  password: hunter2\n  user: admin\n";
const SEALED_WITH: &str = "sealed-secrets-rs/sealed-with";

fn cert(name: &str) -> String {
    compat(&format!("keys/{name}/tls.crt"))
        .display()
        .to_string()
}

fn key(name: &str) -> String {
    compat(&format!("keys/{name}/tls.key"))
        .display()
        .to_string()
}

fn fingerprint(name: &str) -> String {
    let pem = fs::read(compat(&format!("keys/{name}/tls.crt"))).unwrap();
    seal::Certificate::from_pem(&pem)
        .unwrap()
        .public_key()
        .fingerprint()
        .to_string()
}

/// `secret` sealed by the binary with the compat certificate `name`, plus `extra` flags.
fn seal_with(name: &str, secret: &str, extra: &[&str]) -> String {
    let output = kubeseal()
        .args(["--cert", &cert(name), "-o", "yaml"])
        .args(extra)
        .write_stdin(secret)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
}

fn lint(dir: &Path, args: &[&str]) -> std::process::Output {
    kubeseal()
        .current_dir(dir)
        .arg("lint")
        .args(args)
        .output()
        .unwrap()
}

const BAD: &str = "\
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: web
  namespace: prod
  annotations:
    sealedsecrets.bitnami.com/cluster-wide: \"true\"
    sealedsecrets.bitnami.com/namespace-wide: \"true\"
spec:
  encryptedData:
    token: not-base64!
    short: AQA=
    prefix: AAAA
  template:
    metadata:
      name: other
    data:
      url: \"{{ .token | nosuch }}\"
      broken: \"{{ .token \"
";

/// A tree with one of every structural problem, and the files' bytes before linting.
fn messy_tree(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let sealed = seal_with("rsa2048", SECRET, &[]);
    fs::create_dir_all(dir.join("tree/sub")).unwrap();
    fs::create_dir_all(dir.join("tree/.git")).unwrap();
    let files = [
        ("tree/a.yaml", sealed.clone()),
        ("tree/sub/copy.yaml", sealed),
        ("tree/bad.yaml", BAD.to_owned()),
        ("tree/leak.yaml", SECRET.to_owned()),
        ("tree/list.json", "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [\n    {\n      \"kind\": \"Secret\",\n      \"metadata\": {\"name\": \"in-list\"},\n      \"data\": {\"k\": \"aHVudGVy\"}\n    }\n  ]\n}\n".to_owned()),
        ("tree/.git/ignored.yaml", SECRET.to_owned()),
        ("tree/notes.txt", SECRET.to_owned()),
        ("tree/helm.yaml", "key: {{ .Values.x }\n".to_owned()),
    ];
    files
        .iter()
        .map(|(path, text)| {
            fs::write(dir.join(path), text).unwrap();
            (dir.join(path), text.as_bytes().to_vec())
        })
        .collect()
}

const MESSY_HUMAN: &str = "\
tree/bad.yaml:8: error: both sealedsecrets.bitnami.com/cluster-wide and sealedsecrets.bitnami.com/namespace-wide are set: the controller takes cluster-wide [scope]
tree/bad.yaml:11: error: spec.encryptedData.token is not base64 [value]
tree/bad.yaml:12: error: spec.encryptedData.short is too short: 2 bytes, but the length prefix and the AES-GCM tag need at least 274 [value]
tree/bad.yaml:13: error: spec.encryptedData.prefix: the length prefix announces 0 bytes of RSA ciphertext, which no RSA key of 1024 to 8192 bits produces [value]
tree/bad.yaml:16: error: spec.template.metadata.name is \"other\" but metadata.name is \"web\": the Secret gets metadata.name [template-metadata]
tree/bad.yaml:18: error: spec.template.data.url: function \"nosuch\" not defined [template]
tree/bad.yaml:19: error: spec.template.data.broken: template: 1:10: unclosed action [template]
tree/helm.yaml:1: warning: does not parse, not checked: unclosed bracket '{' at line 1, column 6 [parse]
tree/leak.yaml:6: error: plaintext Secret \"db\": stringData holds 2 value(s) (not shown); seal it with kubeseal and keep only the SealedSecret [plaintext-secret]
tree/list.json:8: error: plaintext Secret \"in-list\": data holds 1 value(s) (not shown); seal it with kubeseal and keep only the SealedSecret [plaintext-secret]
tree/sub/copy.yaml:2: error: SealedSecret prod/db is also defined at tree/a.yaml:2 [duplicate]
";

#[test]
fn every_structural_problem_is_reported_at_its_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let before = messy_tree(dir.path());
    let output = lint(dir.path(), &["tree"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout(&output), MESSY_HUMAN);
    assert_eq!(
        stderr(&output),
        "kubeseal lint: 6 file(s), 5 document(s): 10 error(s), 1 warning(s)\n"
    );
    // The values are never shown, whatever the format.
    for format in ["human", "json", "github"] {
        let output = lint(dir.path(), &["--format", format, "tree"]);
        let all = stdout(&output) + &stderr(&output);
        for value in ["hunter2", "admin", "aHVudGVy"] {
            assert!(!all.contains(value), "{format} shows {value}: {all}");
        }
    }
    for (path, bytes) in before {
        assert_eq!(
            fs::read(&path).unwrap(),
            bytes,
            "{} changed",
            path.display()
        );
    }
    assert_eq!(
        fs::read_dir(dir.path().join("tree")).unwrap().count(),
        8,
        "no file was added"
    );
}

#[test]
fn github_format_is_workflow_annotations() {
    let dir = tempfile::tempdir().unwrap();
    messy_tree(dir.path());
    let output = lint(
        dir.path(),
        &["--format", "github", "tree/leak.yaml", "tree/bad.yaml"],
    );
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    assert_eq!(
        lines[0],
        "::error file=tree/leak.yaml,line=6,title=kubeseal lint%3A plaintext-secret::plaintext Secret \"db\": stringData holds 2 value(s) (not shown); seal it with kubeseal and keep only the SealedSecret"
    );
    assert_eq!(
        lines[1],
        "::error file=tree/bad.yaml,line=8,title=kubeseal lint%3A scope::both sealedsecrets.bitnami.com/cluster-wide and sealedsecrets.bitnami.com/namespace-wide are set: the controller takes cluster-wide"
    );
}

#[test]
fn json_format_lists_findings_and_totals() {
    let dir = tempfile::tempdir().unwrap();
    messy_tree(dir.path());
    let output = lint(dir.path(), &["-o", "json", "tree/leak.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), "", "json keeps standard error quiet");
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        report,
        serde_json::json!({
            "findings": [{
                "file": "tree/leak.yaml",
                "line": 6,
                "level": "error",
                "rule": "plaintext-secret",
                "message": "plaintext Secret \"db\": stringData holds 2 value(s) (not shown); seal it with kubeseal and keep only the SealedSecret",
            }],
            "summary": {"files": 1, "documents": 1, "errors": 1, "warnings": 0},
        })
    );
}

#[test]
fn a_clean_tree_exits_zero_and_warnings_fail_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.yaml"), seal_with("rsa2048", SECRET, &[])).unwrap();
    let output = lint(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "kubeseal lint: 1 file(s), 1 document(s): 0 error(s), 0 warning(s)\n"
    );
    // Strict scope with no namespace (kustomize sets it later): a warning.
    let no_namespace = seal_with("rsa2048", SECRET, &[]).replace("  namespace: prod\n", "");
    fs::write(dir.path().join("a.yaml"), no_namespace).unwrap();
    let output = lint(dir.path(), &["a.yaml"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        "a.yaml:4: warning: strict scope without metadata.namespace: the values open only in the namespace they were sealed for [scope]\n"
    );
    let output = lint(dir.path(), &["--warnings-as-errors", "a.yaml"]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn missing_paths_are_errors_and_bad_flags_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = lint(dir.path(), &["nope.yaml"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        "nope.yaml: error: cannot read: no such file or directory [read]\n"
    );
    let output = lint(dir.path(), &["--cert", "missing.crt", "."]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: open missing.crt: no such file or directory\n"
    );
    fs::write(dir.path().join("junk.crt"), "not a certificate").unwrap();
    let output = lint(dir.path(), &["--cert", "junk.crt", "."]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("error: --cert junk.crt: "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn cert_checks_use_the_sealed_with_annotation_and_the_key_size() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.yaml"), seal_with("rsa2048", SECRET, &[])).unwrap();
    fs::write(
        dir.path().join("upstream.yaml"),
        seal_with("rsa2048", SECRET, &["--no-sealed-with"]).replace("name: db", "name: db2"),
    )
    .unwrap();
    let output = lint(dir.path(), &["--cert", &cert("rsa2048"), "a.yaml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));

    let output = lint(dir.path(), &["--cert", &cert("rsa4096"), "."]);
    assert_eq!(output.status.code(), Some(1));
    let fp = fingerprint("rsa2048");
    assert_eq!(
        stdout(&output),
        format!(
            "a.yaml:6: error: sealed with {fp}, which is not one of the given certificates [unknown-cert]\n\
             a.yaml:11: error: spec.encryptedData.password was sealed with a 2048-bit key; the given certificates have 4096-bit keys [key-size]\n\
             a.yaml:12: error: spec.encryptedData.user was sealed with a 2048-bit key; the given certificates have 4096-bit keys [key-size]\n\
             upstream.yaml:4: warning: no {SEALED_WITH} annotation: cannot tell which certificate sealed it (re-seal or `kubeseal reencrypt` to record it) [no-sealed-with]\n\
             upstream.yaml:9: error: spec.encryptedData.password was sealed with a 2048-bit key; the given certificates have 4096-bit keys [key-size]\n\
             upstream.yaml:10: error: spec.encryptedData.user was sealed with a 2048-bit key; the given certificates have 4096-bit keys [key-size]\n"
        )
    );
    // A directory of certificates (a keyring's) counts them all; its private keys are skipped.
    let output = lint(
        dir.path(),
        &[
            "--cert",
            &compat("keys/rsa2048").display().to_string(),
            "--cert",
            &cert("rsa4096"),
            "a.yaml",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

#[test]
fn an_expired_sealing_certificate_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let sealed = kubeseal()
        .args(["--cert", &dev_cert().display().to_string(), "-o", "yaml"])
        .write_stdin(SECRET)
        .output()
        .unwrap();
    assert!(sealed.status.success());
    fs::write(dir.path().join("a.yaml"), stdout(&sealed)).unwrap();
    let expired = fixture("expired.crt").display().to_string();
    let output = lint(dir.path(), &["--cert", &expired, "a.yaml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(
        stdout(&output),
        format!(
            "a.yaml:6: warning: sealed with SHA256:bYtPf0NaKCl/aWBqEBjTc5/m9SrKPB1y+9w1oqxHtOg, whose certificate {expired} expired on 2020-01-02 [expired-cert]\n"
        )
    );
}

#[test]
fn values_that_do_not_open_with_the_given_keys_are_errors_per_value() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.yaml"), seal_with("rsa2048", SECRET, &[])).unwrap();
    let output = lint(
        dir.path(),
        &["--recovery-private-key", &key("rsa2048"), "a.yaml"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let output = lint(
        dir.path(),
        &["--recovery-private-key", &key("rsa4096"), "a.yaml"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        "a.yaml:11: error: spec.encryptedData.password does not open with the given keys: no key could decrypt secret [does-not-open]\n\
         a.yaml:12: error: spec.encryptedData.user does not open with the given keys: no key could decrypt secret [does-not-open]\n"
    );
    // Moved to another namespace: the scope label no longer matches.
    let moved = seal_with("rsa2048", SECRET, &[]).replace("namespace: prod", "namespace: dev");
    fs::write(dir.path().join("a.yaml"), moved).unwrap();
    let output = lint(
        dir.path(),
        &[
            "--keyring",
            &compat("keys/rsa2048").display().to_string(),
            "a.yaml",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output).lines().count(), 2, "{}", stdout(&output));
}

fn annotation(sealed_yaml: &str) -> Option<String> {
    let sealed = seal::read_sealed_secrets(sealed_yaml).unwrap().remove(0);
    sealed.metadata.annotations.get(SEALED_WITH).cloned()
}

#[test]
fn sealing_records_the_key_and_no_sealed_with_gives_upstream_output() {
    let sealed = seal_with("rsa2048", SECRET, &[]);
    assert_eq!(annotation(&sealed), Some(fingerprint("rsa2048")));
    let sealed = seal::read_sealed_secrets(&sealed).unwrap().remove(0);
    assert!(
        !sealed
            .spec
            .template
            .metadata
            .annotations
            .contains_key(SEALED_WITH),
        "only on the SealedSecret's own metadata, never the template the Secret is made from"
    );
    let upstream_like = seal_with("rsa2048", SECRET, &["--no-sealed-with"]);
    assert_eq!(annotation(&upstream_like), None);
    assert!(!upstream_like.contains("sealed-with"));
    let from_env = kubeseal()
        .env("SEALED_SECRETS_NO_SEALED_WITH", "true")
        .args(["--cert", &cert("rsa2048"), "-o", "yaml"])
        .write_stdin(SECRET)
        .output()
        .unwrap();
    assert_eq!(annotation(&stdout(&from_env)), None);
}

#[test]
fn merge_into_keeps_the_annotation_true() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("s.yaml");
    let (a, b) = (fingerprint("rsa2048"), fingerprint("rsa4096"));
    let merge = |name: &str, secret: &str| {
        let output = kubeseal()
            .args([
                "--cert",
                &cert(name),
                "--merge-into",
                &target.display().to_string(),
            ])
            .write_stdin(secret)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        annotation(&fs::read_to_string(&target).unwrap())
    };
    fs::write(&target, seal_with("rsa2048", SECRET, &[])).unwrap();
    let extra = "kind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {extra: x}\n";
    // Old items stay sealed with the old key: both are named.
    let mut both = [a.clone(), b.clone()];
    both.sort();
    assert_eq!(merge("rsa4096", extra), Some(both.join(",")));
    // Every item replaced: only the new key.
    let all = "kind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {extra: x, password: p, user: u}\n";
    assert_eq!(merge("rsa4096", all), Some(b.clone()));
    // A file sealed by upstream's kubeseal: what sealed its other items is unknown.
    fs::write(&target, seal_with("rsa2048", SECRET, &["--no-sealed-with"])).unwrap();
    assert_eq!(merge("rsa4096", extra), None);
}

#[test]
fn reencrypt_offline_online_and_in_bulk_record_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    fs::write(&file, seal_with("rsa2048", SECRET, &[])).unwrap();
    let output = kubeseal()
        .args([
            "--re-encrypt",
            "--recovery-private-key",
            &key("rsa2048"),
            "--cert",
            &cert("rsa4096"),
        ])
        .args(["-f", &file.display().to_string()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        annotation(&fs::read_to_string(&file).unwrap()),
        Some(fingerprint("rsa4096"))
    );

    // Through the controller's /v1/rotate, which keeps the old annotation: kubeseal rewrites it.
    fs::write(&file, seal_with("rsa2048", SECRET, &[])).unwrap();
    let mut controller = Controller::dev();
    controller.keyring = keyring(&[compat("keys/rsa2048/tls.key"), dev_key()]);
    let server = Server::start(controller);
    let output = kubeseal()
        .args(["--re-encrypt", "--controller-url", &server.url])
        .args(["-f", &file.display().to_string()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let dev_fp = "SHA256:bYtPf0NaKCl/aWBqEBjTc5/m9SrKPB1y+9w1oqxHtOg";
    assert_eq!(
        annotation(&fs::read_to_string(&file).unwrap()).as_deref(),
        Some(dev_fp)
    );

    // `kubeseal reencrypt` over a tree.
    fs::write(&file, seal_with("rsa2048", SECRET, &[])).unwrap();
    let output = kubeseal()
        .args([
            "reencrypt",
            "--key",
            &key("rsa2048"),
            "--cert",
            &cert("rsa4096"),
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        annotation(&fs::read_to_string(&file).unwrap()),
        Some(fingerprint("rsa4096"))
    );
}

#[test]
fn keys_list_usage_counts_sealed_secrets_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    fs::create_dir_all(&tree).unwrap();
    fs::write(tree.join("a.yaml"), seal_with("rsa2048", SECRET, &[])).unwrap();
    fs::write(
        tree.join("b.yaml"),
        seal_with("rsa4096", &SECRET.replace("name: db", "name: db2"), &[]),
    )
    .unwrap();
    fs::write(
        tree.join("c.yaml"),
        seal_with(
            "rsa2048",
            &SECRET.replace("name: db", "name: db3"),
            &["--no-sealed-with"],
        ),
    )
    .unwrap();
    let keyring = compat("keys/rsa2048").display().to_string();
    let output = kubeseal()
        .current_dir(dir.path())
        .args([
            "keys",
            "list",
            "--keyring",
            &keyring,
            "-o",
            "json",
            "--usage",
            "tree",
            "tree/a.yaml",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        rows[0]["usedBy"],
        serde_json::json!(["tree/a.yaml:2"]),
        "overlapping paths count once"
    );

    let output = kubeseal()
        .current_dir(dir.path())
        .args(["keys", "list", "--keyring", &keyring, "--usage", "tree"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let usage = &text[text.find("SEALED SECRETS BY KEY").expect(&text)..];
    assert_eq!(
        usage,
        format!(
            "SEALED SECRETS BY KEY\n\
             tls           {}  1\n\
             (not listed)  {}  1\n  tree/b.yaml:2\n\
             1 SealedSecret(s) without the sealed-with annotation: their key is unknown\n",
            fingerprint("rsa2048"),
            fingerprint("rsa4096")
        )
    );
}

#[test]
fn controller_mode_asks_v1_verify_about_each_sealed_secret() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.yaml"), seal_with("rsa2048", SECRET, &[])).unwrap();
    let sealed_dev = kubeseal()
        .args(["--cert", &dev_cert().display().to_string(), "-o", "yaml"])
        .write_stdin(SECRET.replace("name: db", "name: dev"))
        .output()
        .unwrap();
    fs::write(dir.path().join("b.yaml"), stdout(&sealed_dev)).unwrap();
    // The fake controller holds the development key only.
    let server = Server::start(Controller::dev());
    let output = kubeseal()
        .current_dir(dir.path())
        .args(["--controller-url", &server.url, "lint", "--controller"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "a.yaml:2: error: the controller cannot open its values (/v1/verify) [does-not-open]\n"
    );
    let verified = server
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.path == "/v1/verify")
        .count();
    assert_eq!(verified, 2);
    // No controller to ask: the checks cannot run.
    let output = kubeseal()
        .current_dir(dir.path())
        .args([
            "--controller-url",
            "http://127.0.0.1:1",
            "lint",
            "--controller",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("error: cannot verify with the controller: "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn cert_from_a_url_is_fetched() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.yaml"), seal_with("rsa2048", SECRET, &[])).unwrap();
    let server = Server::start(Controller::dev());
    let url = format!("{}/v1/cert.pem", server.url);
    let output = lint(dir.path(), &["--cert", &url, "a.yaml"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with(&format!(
            "a.yaml:6: error: sealed with {}, which is not one of the given certificates [unknown-cert]\n",
            fingerprint("rsa2048")
        )),
        "{}",
        stdout(&output)
    );
    assert!(
        server
            .seen
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.path == "/v1/cert.pem"),
        "the certificate was fetched"
    );
}
