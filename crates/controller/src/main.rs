//! `sealed-secrets-controller`: unseals SealedSecrets into Secrets inside the cluster.

fn main() {
    if std::env::args().any(|a| a == "--version") {
        println!("controller version: {}", env!("CARGO_PKG_VERSION"));
    }
}
