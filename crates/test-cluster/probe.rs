// Included by the build scripts of every crate whose tests need something outside Cargo
// (`cfg.rs`, or a crate's own build.rs that adds more): `probe_test_environment` sets
// - `cfg(control_plane)` when etcd and Go are here to run the real control plane
//   (crates/test-cluster);
// - `cfg(browser)` when Chromium and chromedriver are installed (the sealing page's tests).
// Tests that need one carry `#[cfg_attr(not(...), ignore = "...")]`, so without it they are
// ignored with the reason, never passed. In CI (`CI=true`) a missing piece fails the build.

use std::env;
use std::path::{Path, PathBuf};

fn on_path(program: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// An explicit path from `var` if it names a file, else `program` on `PATH`.
fn tool(var: &str, program: &str) -> Option<PathBuf> {
    println!("cargo::rerun-if-env-changed={var}");
    env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| on_path(program))
}

/// Sets `cfg(name)` when nothing is missing; otherwise warns, or fails the build in CI.
fn probe(name: &str, missing: &[&str]) {
    println!("cargo::rustc-check-cfg=cfg({name})");
    if missing.is_empty() {
        println!("cargo::rustc-cfg={name}");
    } else if env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but the tests behind cfg({name}) cannot run: missing {}",
            missing.join(", ")
        );
    } else {
        println!(
            "cargo::warning=tests behind cfg({name}) are ignored: missing {}",
            missing.join(", ")
        );
    }
}

/// Sets `cfg(control_plane)` and `cfg(browser)`.
fn probe_test_environment() {
    for var in ["PATH", "CI", "SEALED_SECRETS_CONTROL_PLANE_BIN"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let prebuilt = env::var_os("SEALED_SECRETS_CONTROL_PLANE_BIN")
        .is_some_and(|dir| Path::new(&dir).join("kube-apiserver").is_file());
    let mut missing = Vec::new();
    if tool("SEALED_SECRETS_ETCD", "etcd").is_none() {
        missing.push("etcd (apt-get install etcd-server)");
    }
    if !prebuilt && on_path("go").is_none() {
        missing.push("Go (to build kube-apiserver from tests/control-plane)");
    }
    probe("control_plane", &missing);

    let mut missing = Vec::new();
    if tool("CHROMIUM", "chromium").is_none() {
        missing.push("chromium (apt-get install chromium)");
    }
    if tool("CHROMEDRIVER", "chromedriver").is_none() {
        missing.push("chromedriver (apt-get install chromium-driver)");
    }
    probe("browser", &missing);
}
