//! Prints the SealedSecret CustomResourceDefinition as YAML:
//! `cargo run -p sealed-secrets-controller --bin crdgen > deploy/crd.yaml`.

fn main() -> anyhow::Result<()> {
    print!("{}", sealed_secrets_controller::crd::crd_yaml()?);
    Ok(())
}
