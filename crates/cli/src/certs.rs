//! Where the sealing certificate comes from: `--cert FILE|URL|file://…`, else the
//! controller (`--controller-url`, or the service proxy).

use std::path::Path;
use std::time::SystemTime;

use anyhow::{Result, anyhow};
use seal::Certificate;

use crate::cli::Cli;
use crate::files::read_file;
use crate::online::{self, Controller};

/// The certificate bytes, verbatim (what `--fetch-cert` prints), and where they came from.
pub fn cert_bytes(cli: &Cli) -> Result<(Vec<u8>, String)> {
    cert_bytes_at(cli, cli.cert())
}

/// The certificate bytes at `location` (a `--cert` value), else the controller's.
fn cert_bytes_at(cli: &Cli, location: Option<&str>) -> Result<(Vec<u8>, String)> {
    match location {
        Some(location) => {
            let bytes = match classify(location) {
                Location::File(path) => read_file(Path::new(path))?.to_vec(),
                Location::Http => online::fetch_url(cli, location)?,
                Location::Other(scheme) => {
                    return Err(anyhow!(
                        "cannot fetch {location:?}: unsupported protocol scheme {scheme:?}"
                    ));
                }
            };
            Ok((bytes, location.to_owned()))
        }
        None => {
            let controller = Controller::connect(cli)?;
            Ok((
                controller.cert()?,
                "the controller's certificate".to_owned(),
            ))
        }
    }
}

/// Reads and checks the certificate. An expired one is refused with upstream's wording
/// unless `--allow-expired-cert`, which turns it into a warning.
pub fn certificate(cli: &Cli) -> Result<Certificate> {
    certificate_at(cli, cli.cert())
}

/// [`certificate`] from `location` (a `--cert` value), else the controller's.
pub fn certificate_at(cli: &Cli, location: Option<&str>) -> Result<Certificate> {
    let (bytes, source) = cert_bytes_at(cli, location)?;
    let cert = parse(&bytes, &source)?;
    check_expiry(&cert, &source, Expired::from_flag(cli.allow_expired_cert))?;
    Ok(cert)
}

/// What to do with an expired certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// Refuse it (a command without `--allow-expired-cert`).
    Refuse,
    /// Refuse it, naming `--allow-expired-cert`.
    RefuseUnlessAllowed,
    /// Warn and seal with it (`--allow-expired-cert`).
    Allow,
}

impl Expired {
    /// The rule for a command with `--allow-expired-cert`.
    #[must_use]
    pub fn from_flag(allow_expired_cert: bool) -> Self {
        if allow_expired_cert {
            Self::Allow
        } else {
            Self::RefuseUnlessAllowed
        }
    }
}

/// Reads a certificate file (`--cert` of `kubeseal reencrypt`), refusing an expired one.
pub fn certificate_file(path: &Path) -> Result<Certificate> {
    let source = path.display().to_string();
    let cert = parse(&read_file(path)?, &source)?;
    check_expiry(&cert, &source, Expired::Refuse)?;
    Ok(cert)
}

/// Fingerprint of the development key in the project's `keys/` folder, whose private key is
/// published. Matched by key, so that a copy under any name is recognised.
const DEVELOPMENT_KEY_FINGERPRINT: &str = "SHA256:bYtPf0NaKCl/aWBqEBjTc5/m9SrKPB1y+9w1oqxHtOg";

/// The warning for output sealed with `cert`, when it holds the published development key.
#[must_use]
pub fn development_key_warning(cert: &Certificate) -> Option<String> {
    (cert.public_key().fingerprint().as_str() == DEVELOPMENT_KEY_FINGERPRINT).then(|| {
        format!(
            "warning: sealed with the development certificate keys/tls.crt \
             ({DEVELOPMENT_KEY_FINGERPRINT}): its private key is public, so anyone can unseal \
             this; seal with your controller's certificate"
        )
    })
}

/// Prints [`development_key_warning`] once the output has been written: a run that fails
/// says only why.
pub fn warn_after<T>(cert: &Certificate, result: Result<T>) -> Result<T> {
    if result.is_ok()
        && let Some(warning) = development_key_warning(cert)
    {
        eprintln!("{warning}");
    }
    result
}

/// Parses certificate bytes read from `source`.
pub fn parse(bytes: &[u8], source: &str) -> Result<Certificate> {
    Certificate::from_pem(bytes).map_err(|e| anyhow!("{source}: {e}"))
}

/// Refuses an expired certificate with upstream's wording, or (`--allow-expired-cert`) warns
/// and lets it seal.
pub fn check_expiry(cert: &Certificate, source: &str, expired: Expired) -> Result<()> {
    if let Err(e) = cert.check_not_expired(SystemTime::now()) {
        match expired {
            Expired::Refuse => return Err(anyhow!("{source}: {e}")),
            Expired::RefuseUnlessAllowed => {
                return Err(anyhow!(
                    "{e} (pass --allow-expired-cert to seal with it anyway)"
                ));
            }
            Expired::Allow => {}
        }
        eprintln!("warning: {source}: {e}; sealing anyway because of --allow-expired-cert");
    }
    Ok(())
}

pub(crate) enum Location<'a> {
    File(&'a str),
    Http,
    Other(String),
}

/// Like upstream: no scheme, or a one-letter (Windows drive) scheme, is a file;
/// `file://` is a file path; http and https are fetched.
pub(crate) fn classify(location: &str) -> Location<'_> {
    if let Some(path) = location.strip_prefix("file://") {
        return Location::File(path);
    }
    let Some((scheme, _)) = location
        .split_once("://")
        .or_else(|| location.split_once(':'))
    else {
        return Location::File(location);
    };
    let is_scheme = !scheme.is_empty()
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme || scheme.len() == 1 || !location.contains("://") {
        return Location::File(location);
    }
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" => Location::Http,
        other => Location::Other(other.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert!(matches!(
            classify("keys/tls.crt"),
            Location::File("keys/tls.crt")
        ));
        assert!(matches!(classify("/a/b.pem"), Location::File("/a/b.pem")));
        assert!(matches!(classify("C:\\certs\\a.pem"), Location::File(_)));
        assert!(matches!(
            classify("file:///etc/x.pem"),
            Location::File("/etc/x.pem")
        ));
        assert!(matches!(
            classify("https://example.com/c.pem"),
            Location::Http
        ));
        assert!(matches!(
            classify("HTTP://example.com/c.pem"),
            Location::Http
        ));
        assert!(matches!(
            classify("ftp://example.com/c.pem"),
            Location::Other(_)
        ));
    }
}
