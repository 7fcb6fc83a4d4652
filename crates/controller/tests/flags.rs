//! `SEALED_SECRETS_<FLAG>` variables read as upstream's controller reads them (its
//! environment layer hands them to pflag, which calls Go's `strconv.ParseBool` and
//! `time.ParseDuration`). `--version` exits once the flags parse, so no API server is needed.

use std::process::{Command, Output};

fn controller_version_with(variable: &str, value: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sealed-secrets-controller"))
        .arg("--version")
        .env(variable, value)
        .output()
        .expect("run the controller binary")
}

/// clap's boolean refused `SEALED_SECRETS_UPDATE_STATUS=1`, which upstream's controller takes.
#[test]
fn update_status_env_accepts_1_like_pflag() {
    for value in ["1", "0", "t", "F", "TRUE", "False"] {
        let out = controller_version_with("SEALED_SECRETS_UPDATE_STATUS", value);
        assert!(
            out.status.success(),
            "{value}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn yes_is_not_a_boolean_in_the_environment() {
    let out = controller_version_with("SEALED_SECRETS_SKIP_RECREATE", "yes");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r#"strconv.ParseBool: parsing "yes": invalid syntax"#),
        "{stderr}"
    );
}

#[test]
fn durations_in_the_environment_are_gos() {
    let out = controller_version_with("SEALED_SECRETS_KEY_RENEW_PERIOD", "1.5h");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = controller_version_with("SEALED_SECRETS_KEY_RENEW_PERIOD", "1d");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r#"time: unknown unit "d" in duration "1d""#),
        "{stderr}"
    );
}

#[test]
fn version_is_a_go_boolean_too() {
    for arg in ["--version", "--version=true", "--version=1"] {
        let out = Command::new(env!("CARGO_BIN_EXE_sealed-secrets-controller"))
            .arg(arg)
            .output()
            .expect("run the controller binary");
        assert!(out.status.success(), "{arg}");
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("controller version: "));
    }
}
