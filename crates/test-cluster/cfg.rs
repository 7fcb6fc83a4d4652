// Build script shared by every crate with tests that need the real control plane (see
// crates/test-cluster): sets `cfg(control_plane)` when etcd and Go are here to run one, so those
// tests run; without them they are ignored with a reason, never passed. In CI a missing piece
// fails the build instead.

use std::env;
use std::path::{Path, PathBuf};

fn on_path(program: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(control_plane)");
    for var in [
        "PATH",
        "CI",
        "SEALED_SECRETS_ETCD",
        "SEALED_SECRETS_CONTROL_PLANE_BIN",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let etcd = env::var_os("SEALED_SECRETS_ETCD")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| on_path("etcd"));
    let prebuilt = env::var_os("SEALED_SECRETS_CONTROL_PLANE_BIN")
        .is_some_and(|dir| Path::new(&dir).join("kube-apiserver").is_file());
    let go = prebuilt || on_path("go").is_some();
    let missing: Vec<&str> = [
        (etcd.is_none(), "etcd (apt-get install etcd-server)"),
        (!go, "Go (to build kube-apiserver from tests/control-plane)"),
    ]
    .into_iter()
    .filter_map(|(missing, what)| missing.then_some(what))
    .collect();
    if missing.is_empty() {
        println!("cargo::rustc-cfg=control_plane");
    } else if env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but the control plane cannot run: missing {}",
            missing.join(", ")
        );
    } else {
        println!(
            "cargo::warning=tests that need a Kubernetes control plane are ignored: missing {}",
            missing.join(", ")
        );
    }
}
