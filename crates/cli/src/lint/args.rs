//! The flags of `kubeseal lint`, apart from the code that runs it, so that the command line
//! (`cli.rs`) names them without depending on the checks.

use std::path::PathBuf;

use super::report::OutputFormat;

/// `kubeseal lint`.
#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools)]
pub struct LintArgs {
    /// Files, or directories searched recursively for *.yaml, *.yml and *.json (hidden
    /// entries and symbolic links skipped). Default: the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output: human (file:line: level: message [rule]), json, or github (workflow
    /// annotations).
    #[arg(
        short = 'o',
        long,
        value_enum,
        default_value = "human",
        value_name = "FORMAT"
    )]
    pub format: OutputFormat,
    /// Exit with status 1 on warnings too.
    #[arg(long)]
    pub warnings_as_errors: bool,
    /// Certificates the SealedSecrets must have been sealed with: a PEM file, a directory of
    /// *.crt/*.pem files (a keyring), or an http(s) URL; repeatable. Checks the sealed-with
    /// annotation and the size of every value's RSA part.
    #[arg(long = "cert", value_name = "FILE|DIR|URL")]
    pub certs: Vec<String>,
    /// Private keys every value must open with (PEM keys, key Secrets, backup Lists or
    /// bundles, directories of them); comma-separated or repeated.
    #[arg(
        long = "recovery-private-key",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub recovery_private_key: Vec<PathBuf>,
    /// Keyring directories to take private keys from; comma-separated or repeated.
    #[arg(long, value_name = "DIR", value_delimiter = ',')]
    pub keyring: Vec<PathBuf>,
    /// age identity or SSH private key that opens backup bundles; repeatable.
    #[arg(short = 'i', long = "identity", value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// Read the backup bundles' passphrase from the first line of FILE.
    #[arg(long = "passphrase-file", value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Also ask the controller whether each SealedSecret opens (`/v1/verify`), connecting as
    /// bare kubeseal does: give --controller-url, --kubeconfig etc. before `lint`, or as
    /// SEALED_SECRETS_* variables.
    #[arg(long)]
    pub controller: bool,
    /// Every SealedSecret must have a current escrow copy encrypted to this recipient (age1…,
    /// an SSH public key, or a file of them); repeatable or comma-separated. Without it, only
    /// stale or broken escrow copies are reported (as warnings).
    #[arg(
        long = "escrow-recipient",
        value_name = "RECIPIENT|FILE",
        value_delimiter = ','
    )]
    pub escrow_recipient: Vec<String>,
    /// Files checked in parallel (default: number of CPUs).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
}
