//! Decides which shipping checks can run, as `cfg`s the tests are gated on:
//! - `helm`: the pinned helm is installed (`deploy/tools.sh helm`);
//! - `static_binaries`: `deploy/build-static` has built both binaries;
//! - `images`: `deploy/image/build-and-check` has built and unpacked the images;
//! - and, from the shared probe, `control_plane` and `browser`.
//!
//! Each is decided by the shared probe's rule: without it the tests are ignored with the reason;
//! under CI (`CI=true`) the build fails instead.

include!("../../crates/test-cluster/probe.rs");

fn main() {
    probe_test_environment();
    for var in [
        "CI",
        "HOME",
        "XDG_CACHE_HOME",
        "SEALED_SECRETS_TOOLS",
        "CARGO_TARGET_DIR",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
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
    let helm_missing = ["helm (deploy/tools.sh helm)"];
    probe("helm", if helm.exists() { &[] } else { &helm_missing });

    // OUT_DIR is <target>/<profile>/build/<package>-<hash>/out.
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .expect("target directory")
        .to_path_buf();
    let release = target_dir.join("x86_64-unknown-linux-gnu/release");
    let binaries = ["kubeseal", "sealed-secrets-controller"].map(|b| release.join(b));
    for binary in &binaries {
        println!("cargo::rerun-if-changed={}", binary.display());
    }
    println!("cargo::rustc-env=SHIPPING_STATIC_DIR={}", release.display());
    let binaries_missing = ["the static binaries (deploy/build-static)"];
    probe(
        "static_binaries",
        if binaries.iter().all(|b| b.exists()) {
            &[]
        } else {
            &binaries_missing
        },
    );

    // deploy/image/build-and-check leaves the unpacked images here.
    let images = target_dir.join("images");
    let rootfs = images.join("controller.bundle/rootfs");
    println!("cargo::rerun-if-changed={}", rootfs.display());
    println!("cargo::rustc-env=SHIPPING_IMAGES_DIR={}", images.display());
    let images_missing = ["the unpacked images (deploy/image/build-and-check)"];
    probe(
        "images",
        if rootfs.is_dir() {
            &[]
        } else {
            &images_missing
        },
    );
}
