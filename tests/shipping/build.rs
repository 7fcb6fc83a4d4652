//! Decides which shipping checks can run, as `cfg`s the tests are gated on:
//! - `helm`: the pinned helm is installed (`deploy/tools.sh helm`);
//! - `static_binaries`: `deploy/build-static` has built both binaries;
//! - `images`: `deploy/image/build-and-check` has built and unpacked the images;
//! - and, from the shared probe, `control_plane` and `browser`.
//!
//! Under CI (`CI=true`) both are always set, so a missing tool or binary fails the tests
//! instead of leaving them ignored.

include!("../../crates/test-cluster/probe.rs");

fn main() {
    probe_test_environment();
    println!("cargo::rustc-check-cfg=cfg(helm)");
    println!("cargo::rustc-check-cfg=cfg(static_binaries)");
    println!("cargo::rustc-check-cfg=cfg(images)");
    for var in [
        "CI",
        "HOME",
        "XDG_CACHE_HOME",
        "SEALED_SECRETS_TOOLS",
        "CARGO_TARGET_DIR",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let ci = env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    let root = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("../..");

    let tools_sh = root.join("deploy/tools.sh");
    println!("cargo::rerun-if-changed={}", tools_sh.display());
    let tools = std::fs::read_to_string(&tools_sh).expect("deploy/tools.sh");
    let helm_version = tools
        .lines()
        .find_map(|l| l.strip_prefix("HELM_VERSION="))
        .expect("HELM_VERSION= in deploy/tools.sh")
        .trim();
    let cache = env::var_os("SEALED_SECRETS_TOOLS").map_or_else(
        || {
            env::var_os("XDG_CACHE_HOME")
                .map_or_else(
                    || PathBuf::from(env::var_os("HOME").unwrap_or_default()).join(".cache"),
                    PathBuf::from,
                )
                .join("sealed-secrets-rs/tools")
        },
        PathBuf::from,
    );
    let helm = cache.join(format!("helm-{helm_version}")).join("helm");
    println!("cargo::rerun-if-changed={}", helm.display());
    println!("cargo::rustc-env=SHIPPING_HELM={}", helm.display());
    if ci || helm.exists() {
        println!("cargo::rustc-cfg=helm");
    }

    // OUT_DIR is <target>/<profile>/build/<package>-<hash>/out.
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .expect("target directory")
        .to_path_buf();
    let triple = ["x86_64-unknown-linux-musl", "x86_64-unknown-linux-gnu"]
        .into_iter()
        .find(|t| target_dir.join(t).join("release/kubeseal").exists())
        .unwrap_or("x86_64-unknown-linux-gnu");
    let release = target_dir.join(triple).join("release");
    let binaries = ["kubeseal", "sealed-secrets-controller"].map(|b| release.join(b));
    for binary in &binaries {
        println!("cargo::rerun-if-changed={}", binary.display());
    }
    println!("cargo::rustc-env=SHIPPING_STATIC_DIR={}", release.display());
    if ci || binaries.iter().all(|b| b.exists()) {
        println!("cargo::rustc-cfg=static_binaries");
    }

    // deploy/image/build-and-check leaves the unpacked images here.
    let images = target_dir.join("images");
    let rootfs = images.join("controller.bundle/rootfs");
    println!("cargo::rerun-if-changed={}", rootfs.display());
    println!("cargo::rustc-env=SHIPPING_IMAGES_DIR={}", images.display());
    if ci || rootfs.is_dir() {
        println!("cargo::rustc-cfg=images");
    }
}
