//! Sets `cfg(browser)` when Chromium and chromedriver are installed, so the browser tests run;
//! without them they are ignored with the reason, except in CI (`CI=true`), where missing
//! browsers fail the build instead of letting the tests pass by not running.

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(browser)");
    for var in ["CHROMIUM", "CHROMEDRIVER", "CI"] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let driver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    println!("cargo::rerun-if-changed={chromium}");
    println!("cargo::rerun-if-changed={driver}");
    let missing: Vec<&str> = [&chromium, &driver]
        .into_iter()
        .filter(|path| !Path::new(path).is_file())
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        println!("cargo::rustc-cfg=browser");
    } else if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "the browser tests need {} (apt-get install chromium chromium-driver, or set CHROMIUM and CHROMEDRIVER)",
            missing.join(" and ")
        );
    }
}
