//! --help, --version, shell completions and the man page, all from the same clap definitions.

mod common;

use common::*;
use predicates::prelude::*;

/// Every upstream kubeseal flag (cmd/kubeseal/main.go and kubectl's override flags we keep).
const UPSTREAM_FLAGS: &[&str] = &[
    "--cert",
    "--controller-namespace",
    "--controller-name",
    "--format",
    "--sealed-secret-file",
    "--secret-file",
    "--fetch-cert",
    "--allow-empty-data",
    "--validate",
    "--merge-into",
    "--raw",
    "--name",
    "--from-file",
    "--kubeconfig",
    "--scope",
    "--re-encrypt",
    "--recovery-unseal",
    "--recovery-private-key",
    "--help",
    "--version",
    "--namespace",
    "--context",
    "--cluster",
    "--user",
    "--server",
    "--token",
    "--as",
    "--as-group",
    "--as-uid",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "--insecure-skip-tls-verify",
    "--tls-server-name",
    "--request-timeout",
    "--username",
    "--password",
];

const NEW_FLAGS: &[&str] = &["--controller-url", "--allow-expired-cert"];

#[test]
fn help_lists_every_flag_grouped() {
    let out = kubeseal().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = stdout(&out);
    for flag in UPSTREAM_FLAGS.iter().chain(NEW_FLAGS) {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    for short in [
        "-o, --format",
        "-w, --sealed-secret-file",
        "-f, --secret-file",
        "-n, --namespace",
        "-s, --server",
    ] {
        assert!(help.contains(short), "--help lacks {short}");
    }
    for heading in [
        "Input and output:",
        "Sealing:",
        "Certificate and controller:",
        "Other modes:",
        "Offline recovery and checks:",
        "Kubernetes connection (as kubectl):",
    ] {
        assert!(help.contains(heading), "--help lacks {heading}");
    }
    assert!(help.contains("SEALED_SECRETS_CONTROLLER_NAMESPACE"));
    assert!(help.contains("[default: kube-system]"));
    assert!(help.contains("[default: sealed-secrets-controller]"));
    assert!(help.contains("rotate"));
}

#[test]
fn version() {
    kubeseal().arg("--version").assert().success().stdout(
        predicate::str::is_match(r"^kubeseal version: v[0-9]+\.[0-9]+\.[0-9]+\n$").unwrap(),
    );
}

#[test]
fn usage_errors_exit_2() {
    kubeseal()
        .arg("--no-such-flag")
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error:"));
    kubeseal()
        .env("SEALED_SECRETS_RAW", "maybe")
        .assert()
        .code(2);
}

#[test]
fn boolean_flags_take_values_like_pflag() {
    // `--raw=false` and SEALED_SECRETS_ALLOW_EMPTY_DATA=true, as pflag accepts.
    kubeseal()
        .args(["--raw=false", "--allow-empty-data=true", "--cert"])
        .arg(dev_cert())
        .write_stdin("kind: Secret\nmetadata: {name: a, namespace: b}\n")
        .assert()
        .success();
    kubeseal()
        .env("SEALED_SECRETS_ALLOW_EMPTY_DATA", "true")
        .arg("--cert")
        .arg(dev_cert())
        .write_stdin("kind: Secret\nmetadata: {name: a, namespace: b}\n")
        .assert()
        .success();
}

#[test]
fn completions_cover_the_flags() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = kubeseal().args(["completion", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = stdout(&out);
        for flag in [
            "recovery-unseal",
            "controller-url",
            "merge-into",
            "re-encrypt",
        ] {
            assert!(script.contains(flag), "{shell} completion lacks {flag}");
        }
    }
    kubeseal().args(["completion", "tcsh"]).assert().code(2);
}

/// Subcommands' arguments are built only when they run; clap copies the tree of `kubeseal
/// help …` before that, so completions lost `kubeseal help keys backup` and the like.
#[test]
fn completions_keep_the_help_tree_of_subcommands_built_late() {
    let out = kubeseal().args(["completion", "bash"]).output().unwrap();
    let script = stdout(&out);
    for sub in ["list", "backup", "restore", "rotate", "compromise", "init"] {
        let help_of = format!("kubeseal__subcmd__help__subcmd__keys__subcmd__{sub}");
        assert!(script.contains(&help_of), "bash completion lacks {help_of}");
    }
}

#[test]
fn subcommands_are_in_the_one_clap_tree() {
    for shell in ["bash", "zsh", "fish"] {
        let out = kubeseal().args(["completion", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = stdout(&out);
        for word in ["keys", "reencrypt", "backup", "restore", "keyring"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let out = kubeseal().args(["keys", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = stdout(&out);
    for word in ["list", "backup", "restore", "rotate", "compromise", "init"] {
        assert!(help.contains(word), "keys --help lacks {word}: {help}");
    }
    let help = stdout(&kubeseal().arg("--help").output().unwrap());
    assert!(
        help.contains("keys") && help.contains("reencrypt"),
        "{help}"
    );
    let page = stdout(&kubeseal().arg("man").output().unwrap());
    assert!(
        page.contains("kubeseal\\-keys") || page.contains("keys"),
        "man page"
    );
    // A bad subcommand argument is a usage error, as everywhere else.
    kubeseal()
        .args(["keys", "list", "--bogus"])
        .assert()
        .code(2);
    // The bare form still seals.
    kubeseal()
        .args(["--cert", repo("keys/tls.crt").to_str().unwrap()])
        .write_stdin(
            "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b}\ndata: {k: dg==}\n",
        )
        .assert()
        .success()
        .stdout(predicate::str::contains("SealedSecret"));
}

#[test]
fn man_page() {
    let out = kubeseal().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = stdout(&out);
    assert!(page.contains(".TH kubeseal"), "{}", &page[..200]);
    assert!(page.contains(env!("CARGO_PKG_VERSION")));
    for flag in [
        "recovery\\-unseal",
        "controller\\-url",
        "SEALED_SECRETS_CERT",
    ] {
        assert!(page.contains(flag), "man page lacks {flag}");
    }
}
