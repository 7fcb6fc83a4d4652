//! What people read, checked whole: `--help`, the `keys list` table and the man page. A change
//! shows as a diff (`cargo insta review`, or `INSTA_UPDATE=always` to rewrite), not as a missed
//! `contains`.

mod common;

use common::*;

fn run(args: &[&str]) -> String {
    let out = kubeseal().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn help() {
    insta::assert_snapshot!(run(&["--help"]));
}

#[test]
fn keys_help() {
    insta::assert_snapshot!(run(&["keys", "list", "--help"]));
}

#[test]
fn keys_list_table() {
    // The compat vectors' key directory is a keyring (`tls.key` + `tls.crt`).
    let keyring = compat("keys/rsa2048");
    insta::assert_snapshot!(run(&[
        "keys",
        "list",
        "--keyring",
        keyring.to_str().unwrap()
    ]));
}

#[test]
fn man_page() {
    insta::assert_snapshot!(run(&["man"]));
}
