//! Passphrases, age recipients and identities: read from flags, files, the environment or
//! the terminal. Passphrases live in `SecretString`s and never reach an error message.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use anyhow::{Context, Result, bail};
use seal::go_flags;
use zeroize::Zeroizing;

/// Environment variable that supplies the passphrase for automation.
pub const PASSPHRASE_ENV: &str = "SEALED_SECRETS_BACKUP_PASSPHRASE";

/// Passphrase options shared by `backup`, `restore` and the key-source flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PassphraseArgs {
    /// Use a passphrase: asked on the terminal (twice when encrypting) unless
    /// --passphrase-file or $SEALED_SECRETS_BACKUP_PASSPHRASE supplies it.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", hide_default_value = true, value_name = "BOOL", hide_possible_values = true, value_parser = go_flags::parse_bool)]
    pub passphrase: bool,
    /// Read the passphrase from the first line of FILE (implies --passphrase).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

impl PassphraseArgs {
    /// Whether a passphrase was asked for on the command line.
    pub fn requested(&self) -> bool {
        self.passphrase || self.passphrase_file.is_some()
    }

    /// The passphrase: from the file, else the environment, else the terminal (asked twice
    /// when `confirm`).
    pub fn get(&self, confirm: bool) -> Result<SecretString> {
        if let Some(path) = &self.passphrase_file {
            return read_passphrase_file(path);
        }
        if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
            let value = Zeroizing::new(value);
            if !value.is_empty() {
                return Ok(SecretString::from(value.as_str().to_owned()));
            }
        }
        let no_tty = || {
            format!(
                "cannot ask for the passphrase (no terminal): use --passphrase-file FILE or ${PASSPHRASE_ENV}"
            )
        };
        let first =
            Zeroizing::new(rpassword::prompt_password("Passphrase: ").with_context(no_tty)?);
        if first.is_empty() {
            bail!("empty passphrase");
        }
        if confirm {
            let second = Zeroizing::new(
                rpassword::prompt_password("Passphrase (again): ").with_context(no_tty)?,
            );
            if *first != *second {
                bail!("passphrases do not match");
            }
        }
        Ok(SecretString::from(first.as_str().to_owned()))
    }
}

fn read_passphrase_file(path: &Path) -> Result<SecretString> {
    let text = Zeroizing::new(
        fs::read_to_string(path)
            .with_context(|| format!("cannot read passphrase file {}", path.display()))?,
    );
    let line = text.lines().next().unwrap_or_default();
    if line.is_empty() {
        bail!("passphrase file {} is empty", path.display());
    }
    Ok(SecretString::from(line.to_owned()))
}

/// One recipient: an `age1…` X25519 key or an SSH public key (`ssh-ed25519`, `ssh-rsa`).
pub fn parse_recipient(text: &str) -> Result<Box<dyn age::Recipient + Send>> {
    let text = text.trim();
    if let Ok(r) = text.parse::<age::x25519::Recipient>() {
        return Ok(Box::new(r));
    }
    match text.parse::<age::ssh::Recipient>() {
        Ok(r) => Ok(Box::new(r)),
        Err(_) => {
            let shown: String = text.chars().take(40).collect();
            bail!(
                "invalid recipient {shown:?}: expected an age public key (age1…) or an SSH public key (ssh-ed25519, ssh-rsa)"
            )
        }
    }
}

/// Every recipient of `--recipient` and `--recipients-file` (one per line, `#` comments).
pub fn recipients(
    inline: &[String],
    files: &[PathBuf],
) -> Result<Vec<Box<dyn age::Recipient + Send>>> {
    let mut out = Vec::new();
    for r in inline {
        out.push(parse_recipient(r)?);
    }
    for path in files {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read recipients file {}", path.display()))?;
        let before = out.len();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            out.push(
                parse_recipient(line)
                    .with_context(|| format!("{} line {}", path.display(), n + 1))?,
            );
        }
        if out.len() == before {
            bail!("recipients file {} has no recipients", path.display());
        }
    }
    Ok(out)
}

/// Asks for the passphrase of an encrypted SSH identity on the terminal.
#[derive(Clone)]
struct TerminalCallbacks;

impl age::Callbacks for TerminalCallbacks {
    fn display_message(&self, message: &str) {
        eprintln!("{message}");
    }

    fn confirm(&self, _message: &str, _yes: &str, _no: Option<&str>) -> Option<bool> {
        None
    }

    fn request_public_string(&self, _description: &str) -> Option<String> {
        None
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        rpassword::prompt_password(format!("{description}: "))
            .ok()
            .map(SecretString::from)
    }
}

/// Reads identity files: age identity files (`AGE-SECRET-KEY-1…` lines) or SSH private keys.
pub fn identities(paths: &[PathBuf]) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>> {
    let mut out: Vec<Box<dyn age::Identity + Send + Sync>> = Vec::new();
    for path in paths {
        let data = Zeroizing::new(
            fs::read(path)
                .with_context(|| format!("cannot read identity file {}", path.display()))?,
        );
        if let Ok(file) = age::IdentityFile::from_buffer(BufReader::new(data.as_slice())) {
            let identities = file
                .into_identities()
                .map_err(|_| anyhow::anyhow!("identity file {} cannot be used", path.display()))?;
            if !identities.is_empty() {
                out.extend(identities);
                continue;
            }
        }
        match age::ssh::Identity::from_buffer(
            BufReader::new(data.as_slice()),
            Some(path.display().to_string()),
        ) {
            Ok(age::ssh::Identity::Unsupported(_)) => {
                bail!("identity file {}: unsupported SSH key type", path.display())
            }
            Ok(identity) => out.push(Box::new(identity.with_callbacks(TerminalCallbacks))),
            Err(_) => bail!(
                "identity file {} is neither an age identity file nor an SSH private key",
                path.display()
            ),
        }
    }
    Ok(out)
}
