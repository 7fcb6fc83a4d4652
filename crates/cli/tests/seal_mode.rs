//! Default sealing: formats, documents, namespaces, scopes, errors, output files.

mod common;

use std::fs;

use common::*;
use predicates::prelude::*;

const SECRET_YAML: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: mysecret\n  namespace: myns\n  labels: {app: web}\ntype: Opaque\nstringData:\n  user: admin\ndata:\n  password: aHVudGVyMg==\n";

#[test]
fn yaml_in_yaml_out_and_round_trip() {
    let out = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(SECRET_YAML)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("---\n"), "{text}");
    assert!(text.contains("kind: SealedSecret"));
    assert!(!text.contains("hunter2") && !text.contains("aHVudGVyMg"));
    let secrets = unseal_with(&dev_key(), &text);
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].metadata.name(), "mysecret");
    assert_eq!(secrets[0].metadata.namespace(), "myns");
    assert_eq!(value(&secrets[0], "password"), "hunter2");
    assert_eq!(value(&secrets[0], "user"), "admin");
}

#[test]
fn json_in_json_out_and_format_flag() {
    let json = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"a","namespace":"b"},"data":{"k":"dg=="}}"#;
    let out = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(json)
        .output()
        .unwrap();
    let text = stdout(&out);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["kind"], "SealedSecret");
    assert!(text.ends_with("}\n"));
    // -o wins over the input's format, in either case.
    kubeseal()
        .args(["-o", "YAML", "--cert"])
        .arg(dev_cert())
        .write_stdin(json)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("---\n"));
    kubeseal()
        .args(["--format", "json", "--cert"])
        .arg(dev_cert())
        .write_stdin(SECRET_YAML)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("{"));
    // SEALED_SECRETS_FORMAT counts as -o.
    kubeseal()
        .env("SEALED_SECRETS_FORMAT", "json")
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(SECRET_YAML)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("{"));
}

#[test]
fn unsupported_format_is_a_usage_error() {
    kubeseal()
        .args(["-o", "xml", "--cert"])
        .arg(dev_cert())
        .write_stdin(SECRET_YAML)
        .assert()
        .code(2)
        .stderr("error: unsupported output format: xml\n");
}

#[test]
fn multi_document_input_gives_one_sealed_secret_each_in_order() {
    let input = format!(
        "{SECRET_YAML}---\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: second, namespace: myns}}\nstringData: {{k: v2}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: third, namespace: other}}\nstringData: {{k: v3}}\n"
    );
    let out = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let sealed = seal::read_sealed_secrets(&stdout(&out)).unwrap();
    let names: Vec<_> = sealed
        .iter()
        .map(|s| s.metadata.name().to_owned())
        .collect();
    assert_eq!(names, ["mysecret", "second", "third"]);
    let secrets = unseal_with(&dev_key(), &stdout(&out));
    assert_eq!(value(&secrets[2], "k"), "v3");
    assert_eq!(secrets[2].metadata.namespace(), "other");
}

#[test]
fn json_stream_and_list_inputs() {
    let stream = r#"{"kind":"Secret","metadata":{"name":"a","namespace":"n"},"stringData":{"k":"1"}}
{"kind":"Secret","metadata":{"name":"b","namespace":"n"},"stringData":{"k":"2"}}"#;
    let out = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(stream)
        .output()
        .unwrap();
    let sealed = seal::read_sealed_secrets(&stdout(&out)).unwrap();
    assert_eq!(sealed.len(), 2);
    assert!(stdout(&out).starts_with('{'));

    let list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: a, namespace: n}\n  stringData: {k: one}\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: b, namespace: n}\n  stringData: {k: two}\n";
    let out = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(list)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let secrets = unseal_with(&dev_key(), &stdout(&out));
    assert_eq!(secrets.len(), 2);
    assert_eq!(value(&secrets[0], "k"), "one");
    assert_eq!(value(&secrets[1], "k"), "two");
}

#[test]
fn empty_and_invalid_input_fail() {
    for input in ["", "\n", "---\n"] {
        kubeseal()
            .arg("--cert")
            .arg(dev_cert())
            .write_stdin(input)
            .assert()
            .code(1)
            .stderr("error: no secrets found. Ensure the input is valid and UTF-8 encoded\n");
    }
    // Invalid YAML: one line, exit 1, and no value from the input in the message.
    let out = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin("kind: Secret\nmetadata: {name: x\nstringData:\n  password: hunter2\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("error: stdin: invalid YAML"), "{err}");
    assert_eq!(err.lines().count(), 1);
    assert!(!err.contains("hunter2"));
    // A wrongly typed value is reported without quoting it.
    let out = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(
            "kind: Secret\nmetadata: {name: x, namespace: y}\ndata:\n  password: [hunter2]\n",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
    // Not UTF-8.
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(vec![0xff, 0xfe, 0x00])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not valid UTF-8"));
    // A SealedSecret is not a Secret.
    let sealed = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(SECRET_YAML)
        .output()
        .unwrap();
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(sealed.stdout)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already sealed"));
}

#[test]
fn upstream_secret_errors() {
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin("kind: Secret\nmetadata: {name: x, namespace: y}\n")
        .assert()
        .code(1)
        .stderr("error: stdin (x): secret.data is empty in input Secret, assuming this is an error and aborting. To work with empty data, --allow-empty-data can be used\n");
    kubeseal()
        .args(["--allow-empty-data", "--cert"])
        .arg(dev_cert())
        .write_stdin("kind: Secret\nmetadata: {name: x, namespace: y}\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("kind: SealedSecret"));
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin("kind: Secret\nmetadata: {namespace: y}\nstringData: {k: v}\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "missing metadata.name in input Secret",
        ));
    // --name supplies or overrides the name.
    let out = kubeseal()
        .args(["--name", "renamed", "--cert"])
        .arg(dev_cert())
        .write_stdin("kind: Secret\nmetadata: {namespace: y}\nstringData: {k: v}\n")
        .output()
        .unwrap();
    let secrets = unseal_with(&dev_key(), &stdout(&out));
    assert_eq!(secrets[0].metadata.name(), "renamed");
}

#[test]
fn errors_name_the_file_and_document() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.yaml");
    fs::write(
        &input,
        format!("{SECRET_YAML}---\nkind: Secret\nmetadata: {{name: bad, namespace: n}}\n"),
    )
    .unwrap();
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .arg("-f")
        .arg(&input)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(format!(
            "error: {}, document 2 of 2 (bad): secret.data is empty",
            input.display()
        )));
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .args(["-f", "/nonexistent/secret.yaml"])
        .assert()
        .code(1)
        .stderr("error: Could not read file specified with --secret-file: open /nonexistent/secret.yaml: no such file or directory\n");
}

#[test]
fn namespace_rules() {
    let no_ns = "kind: Secret\nmetadata: {name: a}\nstringData: {k: v}\n";
    // No kubeconfig at all: an error, as upstream (it was sealed for "default", which the
    // controller in the intended namespace cannot open).
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(no_ns)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "secret must declare a namespace (invalid configuration: no configuration has been provided",
        ));
    // The kubeconfig context's namespace, via --kubeconfig, KUBECONFIG, ~/.kube/config, --context.
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), "http://127.0.0.1:1", Some("ctxns"));
    let ns_of = |cmd: &mut assert_cmd::Command| {
        let out = cmd
            .arg("--cert")
            .arg(dev_cert())
            .write_stdin(no_ns)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        unseal_with(&dev_key(), &stdout(&out))[0]
            .metadata
            .namespace()
            .to_owned()
    };
    assert_eq!(
        ns_of(kubeseal().arg("--kubeconfig").arg(&kubeconfig)),
        "ctxns"
    );
    assert_eq!(ns_of(kubeseal().env("KUBECONFIG", &kubeconfig)), "ctxns");
    let home = tempfile::tempdir().unwrap();
    fs::create_dir(home.path().join(".kube")).unwrap();
    fs::copy(&kubeconfig, home.path().join(".kube/config")).unwrap();
    assert_eq!(ns_of(kubeseal().env("HOME", home.path())), "ctxns");
    assert_eq!(
        ns_of(
            kubeseal()
                .env("KUBECONFIG", &kubeconfig)
                .args(["--context", "other"])
        ),
        "otherns"
    );
    // A context that is not in the kubeconfig (a typo) is an error, not "default".
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .env("KUBECONFIG", &kubeconfig)
        .args(["--context", "nosuch"])
        .write_stdin(no_ns)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "secret must declare a namespace (context was not found for specified context: nosuch)",
        ));
    // A context without a namespace: "default", as kubectl.
    let bare = dir.path().join("bare");
    fs::write(
        &bare,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"http://127.0.0.1:1\"}\ncontexts:\n- name: bare\n  context: {cluster: c}\ncurrent-context: bare\n",
    )
    .unwrap();
    assert_eq!(ns_of(kubeseal().arg("--kubeconfig").arg(&bare)), "default");
    // -n fills it (and SEALED_SECRETS_NAMESPACE does too).
    assert_eq!(
        ns_of(
            kubeseal()
                .env("KUBECONFIG", &kubeconfig)
                .args(["-n", "argns"])
        ),
        "argns"
    );
    assert_eq!(
        ns_of(kubeseal().env("SEALED_SECRETS_NAMESPACE", "envns")),
        "envns"
    );
    // -n disagreeing with the input is upstream's mismatch error.
    kubeseal()
        .args(["-n", "other", "--cert"])
        .arg(dev_cert())
        .write_stdin(SECRET_YAML)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            r#"namespace mismatch: input secret is in namespace "myns" but "other" was specified"#,
        ));
    // The same -n is fine.
    kubeseal()
        .args(["-n", "myns", "--cert"])
        .arg(dev_cert())
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
    // An unreadable kubeconfig leaves the namespace unknown, with the reason.
    let broken = dir.path().join("broken");
    fs::write(&broken, "clusters: [[[").unwrap();
    kubeseal()
        .arg("--kubeconfig")
        .arg(&broken)
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(no_ns)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("secret must declare a namespace"));
}

/// Wrappers put default flags first and overrides after them: pflag keeps the last value, and
/// clap refused a flag given twice.
#[test]
fn a_flag_given_again_replaces_its_value() {
    let out = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .args([
            "-o",
            "yaml",
            "-o",
            "json",
            "--scope",
            "cluster-wide",
            "--scope",
            "strict",
        ])
        .args(["-n", "other", "-n", "myns"])
        .write_stdin(SECRET_YAML)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with('{'), "{text}");
    let sealed = seal::read_sealed_secrets(&text).unwrap();
    let annotations = &sealed[0].metadata.annotations;
    assert!(
        !annotations.contains_key("sealedsecrets.bitnami.com/cluster-wide"),
        "{annotations:?}"
    );
    assert_eq!(sealed[0].metadata.namespace(), "myns");
}

/// CI systems export `SEALED_SECRETS_SCOPE=${SCOPE:-}`: upstream reads a variable that is set
/// but empty as unset, and clap took "" as the value (an error for every flag with choices).
#[test]
fn an_empty_environment_variable_counts_as_unset() {
    for variable in [
        "SEALED_SECRETS_SCOPE",
        "SEALED_SECRETS_FORMAT",
        "SEALED_SECRETS_RAW",
        "SEALED_SECRETS_ALLOW_EMPTY_DATA",
        "SEALED_SECRETS_NAMESPACE",
    ] {
        kubeseal()
            .arg("--cert")
            .arg(dev_cert())
            .env(variable, "")
            .write_stdin(SECRET_YAML)
            .assert()
            .success();
    }
    // A value that is set is still checked.
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .env("SEALED_SECRETS_SCOPE", "bogus")
        .write_stdin(SECRET_YAML)
        .assert()
        .code(2);
}

#[test]
fn scopes() {
    let out = kubeseal()
        .args(["--scope", "cluster-wide", "--cert"])
        .arg(dev_cert())
        .write_stdin(SECRET_YAML)
        .output()
        .unwrap();
    let sealed = seal::read_sealed_secrets(&stdout(&out)).unwrap();
    assert_eq!(
        sealed[0].metadata.annotations["sealedsecrets.bitnami.com/cluster-wide"],
        "true"
    );
    // Cluster-wide opens under another name and namespace.
    let moved = stdout(&out)
        .replace("name: mysecret", "name: elsewhere")
        .replace("namespace: myns", "namespace: otherns");
    assert_eq!(value(&unseal_with(&dev_key(), &moved)[0], "user"), "admin");
    // Strict does not.
    let strict = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(SECRET_YAML)
        .output()
        .unwrap();
    let renamed = stdout(&strict).replace("name: mysecret", "name: elsewhere");
    kubeseal()
        .args(["--recovery-unseal", "--recovery-private-key"])
        .arg(dev_key())
        .write_stdin(renamed)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no key could decrypt secret (password, user)",
        ));
    kubeseal()
        .args(["--scope", "global", "--cert"])
        .arg(dev_cert())
        .write_stdin(SECRET_YAML)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "must be one of: strict, namespace-wide, cluster-wide",
        ));
}

#[test]
fn certificate_errors() {
    kubeseal()
        .args(["--cert", "/nonexistent"])
        .write_stdin(SECRET_YAML)
        .assert()
        .code(1)
        .stderr("error: open /nonexistent: no such file or directory\n");
    kubeseal()
        .arg("--cert")
        .arg(dev_key())
        .write_stdin(SECRET_YAML)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "data does not contain any valid RSA or ECDSA certificates",
        ));
    // file:// URLs and SEALED_SECRETS_CERT work; the command line wins over the environment.
    kubeseal()
        .arg("--cert")
        .arg(format!(
            "file://{}",
            dev_cert().canonicalize().unwrap().display()
        ))
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
    kubeseal()
        .env("SEALED_SECRETS_CERT", dev_cert())
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
    kubeseal()
        .env("SEALED_SECRETS_CERT", "/nonexistent")
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
}

#[test]
fn expired_certificate_needs_opt_in() {
    kubeseal()
        .arg("--cert")
        .arg(fixture("expired.crt"))
        .write_stdin(SECRET_YAML)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "failed to encrypt using an expired certificate on January 2, 2020",
        ));
    let out = kubeseal()
        .args(["--allow-expired-cert", "--cert"])
        .arg(fixture("expired.crt"))
        .write_stdin(SECRET_YAML)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(stderr(&out).starts_with("warning:"));
    assert_eq!(
        value(&unseal_with(&dev_key(), &stdout(&out))[0], "user"),
        "admin"
    );
}

#[test]
fn output_file_is_atomic_and_untouched_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sealed.yaml");
    fs::write(&target, "precious\n").unwrap();
    for bad_input in [
        "",
        "kind: Secret\nmetadata: {name: x, namespace: y}\n",
        "{{{",
    ] {
        kubeseal()
            .arg("--cert")
            .arg(dev_cert())
            .arg("-w")
            .arg(&target)
            .write_stdin(bad_input)
            .assert()
            .code(1);
        assert_eq!(fs::read_to_string(&target).unwrap(), "precious\n");
    }
    // A bad certificate also leaves it alone.
    kubeseal()
        .args(["--cert", "/nonexistent", "-w"])
        .arg(&target)
        .write_stdin(SECRET_YAML)
        .assert()
        .code(1);
    assert_eq!(fs::read_to_string(&target).unwrap(), "precious\n");
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
    // Success replaces it; the .yaml extension picks YAML even for JSON input.
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .arg("-w")
        .arg(&target)
        .write_stdin(
            r#"{"kind":"Secret","metadata":{"name":"a","namespace":"b"},"stringData":{"k":"v"}}"#,
        )
        .assert()
        .success()
        .stdout("");
    let text = fs::read_to_string(&target).unwrap();
    assert!(text.starts_with("---\n"), "{text}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    // .json picks JSON.
    let json_target = dir.path().join("sealed.json");
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .arg("-w")
        .arg(&json_target)
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
    assert!(fs::read_to_string(&json_target).unwrap().starts_with('{'));
}

/// `kubeseal -w /dev/stdout` renamed a regular file over the `/dev/stdout` symlink instead of
/// writing to standard output, as upstream's kubeseal and a shell's `>` do.
#[cfg(target_os = "linux")]
#[test]
fn writing_to_dev_stdout_writes_to_standard_output() {
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .args(["-w", "/dev/stdout"])
        .write_stdin(SECRET_YAML)
        .assert()
        .success()
        .stdout(predicate::str::contains("kind: SealedSecret"));
    assert!(
        fs::symlink_metadata("/dev/stdout")
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn input_file_flag_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("secret.yaml");
    fs::write(&input, SECRET_YAML).unwrap();
    let out = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .env("SEALED_SECRETS_SECRET_FILE", &input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        value(&unseal_with(&dev_key(), &stdout(&out))[0], "password"),
        "hunter2"
    );
}

#[test]
fn broken_pipe_exits_quietly() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let big: String = (0..300)
        .map(|i| {
            format!(
                "---\nkind: Secret\nmetadata: {{name: s{i}, namespace: n}}\nstringData: {{k: v}}\n"
            )
        })
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubeseal"))
        .env_clear()
        .arg("--cert")
        .arg(dev_cert())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child
        .stdin
        .take()
        .unwrap()
        .write_all(big.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(without_dev_cert_warning(&stderr(&out)), "");
    assert!(out.status.success());
}

#[test]
fn compat_vector_certificates_seal_for_their_keys() {
    for bits in ["rsa2048", "rsa4096"] {
        let out = kubeseal()
            .arg("--cert")
            .arg(compat(&format!("keys/{bits}/tls.crt")))
            .arg("-f")
            .arg(compat("secrets/basic.yaml"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(!text.contains("last-applied-configuration"));
        let secrets = unseal_with(&compat(&format!("keys/{bits}/tls.key")), &text);
        let original =
            seal::read_secrets(&fs::read_to_string(compat("secrets/basic.yaml")).unwrap()).unwrap();
        assert_eq!(
            secrets[0].data.len(),
            original[0].data.len() + original[0].string_data.len()
        );
        for (k, v) in &original[0].data {
            assert_eq!(secrets[0].data[k].expose(), v.expose(), "{bits} {k}");
        }
    }
}

#[cfg(unix)]
#[test]
fn output_file_keeps_an_existing_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sealed.yaml");
    fs::write(&target, "old").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
    kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .arg("-w")
        .arg(&target)
        .write_stdin(SECRET_YAML)
        .assert()
        .success();
    let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    assert!(
        fs::read_to_string(&target)
            .unwrap()
            .contains("SealedSecret")
    );
}

#[test]
fn sealing_with_the_development_certificate_warns_whatever_its_file_is_called() {
    let dir = tempfile::tempdir().unwrap();
    // Matched by key, not by path: a copy under another name still warns.
    let copy = dir.path().join("prod-cert.pem");
    std::fs::copy(dev_cert(), &copy).unwrap();
    let out = kubeseal()
        .arg("--cert")
        .arg(&copy)
        .write_stdin(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\ndata: {k: dg==}\n",
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with("warning: "), "{err}");
    assert!(
        err.contains("development certificate keys/tls.crt"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // Any other certificate: no warning.
    let out = kubeseal()
        .arg("--cert")
        .arg(repo(
            "crates/seal/tests/fixtures/compat/keys/rsa2048/tls.crt",
        ))
        .write_stdin(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\ndata: {k: dg==}\n",
        )
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
}

/// Boolean flags and `SEALED_SECRETS_*` variables are Go's `strconv.ParseBool`, as upstream's
/// pflag reads them: clap's "boolish" parser also took `y`, `yes` and `on`.
#[test]
fn yes_is_not_a_boolean() {
    for args in [["--allow-empty-data=yes"], ["--raw=on"], ["--validate=y"]] {
        let out = kubeseal()
            .arg("--cert")
            .arg(dev_cert())
            .args(args)
            .write_stdin(SECRET_YAML)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("strconv.ParseBool: parsing"),
            "{}",
            stderr(&out)
        );
    }
    let out = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .env("SEALED_SECRETS_RAW", "yes")
        .write_stdin(SECRET_YAML)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn go_booleans_in_flags_and_environment() {
    // `T` and `1` turn --allow-empty-data on; `F`/`0` leave the empty Secret refused.
    let empty = "apiVersion: v1\nkind: Secret\nmetadata: {name: e, namespace: n}\n";
    let run = |flag: Option<&str>, env: Option<&str>| {
        let mut cmd = kubeseal();
        cmd.arg("--cert").arg(dev_cert()).write_stdin(empty);
        if let Some(flag) = flag {
            cmd.arg(flag);
        }
        if let Some(env) = env {
            cmd.env("SEALED_SECRETS_ALLOW_EMPTY_DATA", env);
        }
        cmd.output().unwrap().status.success()
    };
    assert!(run(Some("--allow-empty-data=T"), None));
    assert!(run(None, Some("1")));
    assert!(run(None, Some("True")));
    assert!(!run(None, Some("0")));
    assert!(!run(Some("--allow-empty-data=F"), None));
    assert!(!run(Some("--allow-empty-data=0"), Some("1")));
}

/// `SEALED_SECRETS_ROTATE` (upstream's deprecated `--rotate`) was read by a list of its own
/// that took `yes`/`on`; upstream ignores a variable it cannot parse, so `yes` seals as usual.
#[test]
fn rotate_env_yes_is_not_a_boolean() {
    let out = kubeseal()
        .arg("--cert")
        .arg(dev_cert())
        .env("SEALED_SECRETS_ROTATE", "yes")
        .write_stdin(SECRET_YAML)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("kind: SealedSecret"));
}

/// `--request-timeout` is client-go's: whole seconds or a Go duration, nothing negative.
#[test]
fn request_timeout_is_client_gos() {
    for bad in ["-1s", "1d", "soon"] {
        let out = kubeseal()
            .arg("--cert")
            .arg(dev_cert())
            .arg(format!("--request-timeout={bad}"))
            .write_stdin(SECRET_YAML)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
    }
    for good in ["30", "1m30s", "0"] {
        let out = kubeseal()
            .arg("--cert")
            .arg(dev_cert())
            .arg(format!("--request-timeout={good}"))
            .write_stdin(SECRET_YAML)
            .output()
            .unwrap();
        assert!(out.status.success(), "{good}: {}", stderr(&out));
    }
}
