//! `kubeseal`: seal Kubernetes Secrets into SealedSecrets, flag-compatible with upstream.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use seal::{
    Certificate, Format, Keyring, Scope, SealOptions, UnsealOptions, read_private_keys,
    read_sealed_secrets, read_secrets, seal_secret, unseal, write_documents,
};
use zeroize::Zeroizing;

mod keys;

#[derive(Debug, Parser)]
#[command(name = "kubeseal", disable_version_flag = true)]
struct Cli {
    /// Certificate / public key file or URL to use for encryption.
    #[arg(long, env = "SEALED_SECRETS_CERT")]
    cert: Option<PathBuf>,
    /// Output format for sealed secret: json or yaml.
    #[arg(short = 'o', long = "format", env = "SEALED_SECRETS_FORMAT")]
    format: Option<String>,
    /// Sealed-secret (output) file.
    #[arg(
        short = 'w',
        long = "sealed-secret-file",
        env = "SEALED_SECRETS_SEALED_SECRET_FILE"
    )]
    output: Option<PathBuf>,
    /// Secret (input) file; standard input when absent.
    #[arg(short = 'f', long = "secret-file", env = "SEALED_SECRETS_SECRET_FILE")]
    input: Option<PathBuf>,
    /// Set the scope of the sealed secret: strict, namespace-wide, cluster-wide.
    #[arg(long, env = "SEALED_SECRETS_SCOPE", default_value = "strict")]
    scope: Scope,
    /// Name of the sealed secret (overrides the input's).
    #[arg(long, env = "SEALED_SECRETS_NAME")]
    name: Option<String>,
    /// Namespace scope for this request.
    #[arg(short = 'n', long, env = "SEALED_SECRETS_NAMESPACE")]
    namespace: Option<String>,
    /// Allow empty data in the secret object.
    #[arg(long, env = "SEALED_SECRETS_ALLOW_EMPTY_DATA")]
    allow_empty_data: bool,
    /// Decrypt a sealed secret file offline with a private key.
    #[arg(long, env = "SEALED_SECRETS_RECOVERY_UNSEAL")]
    recovery_unseal: bool,
    /// Private key file(s) for --recovery-unseal (PEM, key Secret or List).
    #[arg(
        long,
        value_delimiter = ',',
        env = "SEALED_SECRETS_RECOVERY_PRIVATE_KEY"
    )]
    recovery_private_key: Vec<PathBuf>,
    /// Print version information and exit.
    #[arg(long)]
    version: bool,
}

fn main() -> ExitCode {
    // `kubeseal keys …` / `kubeseal reencrypt …`: to be folded into the final clap tree.
    if let Some(code) = keys::dispatch() {
        return code;
    }
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<()> {
    if cli.version {
        println!("kubeseal version: {}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    let input = read_input(cli.input.as_deref())?;
    let input_format = Format::detect(&input);
    let output_format = output_format(cli, input_format)?;
    let output = if cli.recovery_unseal {
        recovery_unseal(cli, &input, output_format)?
    } else {
        seal(cli, &input, output_format)?
    };
    match &cli.output {
        Some(path) => write_atomically(path, output.as_bytes()),
        None => io::stdout()
            .write_all(output.as_bytes())
            .context("cannot write to standard output"),
    }
}

fn read_input(path: Option<&Path>) -> Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(Vec::new());
    match path {
        Some(path) => {
            *bytes = fs::read(path).with_context(|| {
                format!(
                    "Could not read file specified with --secret-file {}",
                    path.display()
                )
            })?;
        }
        None => {
            io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read standard input")?;
        }
    }
    let text = std::str::from_utf8(&bytes).context("input is not UTF-8")?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn output_format(cli: &Cli, input: Format) -> Result<Format> {
    if let Some(name) = &cli.format {
        return match name.to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "yaml" => Ok(Format::Yaml),
            _ => bail!("unsupported output format: {name}"),
        };
    }
    let by_extension = cli
        .output
        .as_deref()
        .and_then(Path::extension)
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    Ok(match by_extension.as_deref() {
        Some("yaml" | "yml") => Format::Yaml,
        Some("json") => Format::Json,
        _ => input,
    })
}

fn seal(cli: &Cli, input: &str, format: Format) -> Result<Zeroizing<String>> {
    let Some(cert_path) = &cli.cert else {
        bail!("no certificate: pass --cert FILE (fetching from the cluster is not built yet)");
    };
    let pem = fs::read(cert_path).with_context(|| format!("{}", cert_path.display()))?;
    let cert = Certificate::from_pem(&pem).with_context(|| format!("{}", cert_path.display()))?;
    cert.check_not_expired(std::time::SystemTime::now())?;
    let secrets = read_secrets(input)?;
    if secrets.is_empty() {
        bail!("no secrets found. Ensure the input is valid and UTF-8 encoded");
    }
    let options = SealOptions {
        scope: (cli.scope != Scope::Strict).then_some(cli.scope),
        name: cli.name.clone(),
        namespace: cli.namespace.clone(),
        default_namespace: None,
        allow_empty_data: cli.allow_empty_data,
    };
    let sealed = secrets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            seal_secret(s, cert.public_key(), &options)
                .with_context(|| format!("document {}", i + 1))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(write_documents(&sealed, format))
}

fn recovery_unseal(cli: &Cli, input: &str, format: Format) -> Result<Zeroizing<String>> {
    if cli.recovery_private_key.is_empty() {
        bail!("--recovery-unseal requires --recovery-private-key");
    }
    let mut keyring = Keyring::new();
    for path in &cli.recovery_private_key {
        let data = Zeroizing::new(fs::read(path).with_context(|| format!("{}", path.display()))?);
        for loaded in read_private_keys(&data).with_context(|| format!("{}", path.display()))? {
            let time = loaded
                .certificate
                .as_ref()
                .map_or(std::time::UNIX_EPOCH, Certificate::not_before);
            keyring.insert(loaded.key, loaded.certificate, time);
        }
    }
    let sealed = read_sealed_secrets(input)?;
    if sealed.is_empty() {
        bail!("no sealed secrets found in the input");
    }
    let secrets = sealed
        .iter()
        .map(|s| {
            unseal(s, &keyring, &UnsealOptions::default())
                .map(|u| u.secret)
                .with_context(|| format!("{}/{}", s.metadata.namespace(), s.metadata.name()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(write_documents(&secrets, format))
}

/// Writes to a temporary file beside `path` and renames it over `path`, so a failure never
/// leaves a truncated file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().context("output path has no file name")?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}
