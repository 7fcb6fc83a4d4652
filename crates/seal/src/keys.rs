//! RSA keys, certificates and fingerprints, in the formats the upstream controller uses.
//!
//! - [`PrivateKey::generate`] makes a keypair; [`Certificate::self_signed`] makes the
//!   certificate upstream makes for it (empty subject, critical KeyUsage=encipherOnly,
//!   CA:TRUE, SHA-256/RSA).
//! - [`PrivateKey::from_pem`] reads PKCS#1 or PKCS#8; [`PrivateKey::to_pkcs1_pem`] writes
//!   what a `kubernetes.io/tls` key Secret holds.
//! - [`Certificate::from_pem`] reads the first `CERTIFICATE` block: what `kubeseal --cert` takes.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::{Decode, Encode};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use sha2::Sha256;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;
use zeroize::Zeroizing;

use crate::backend::{RsaPrivate, RsaPublic};

/// Key sizes accepted for new keys. 2048 is our default; upstream's default is 4096.
pub const SUPPORTED_KEY_BITS: [usize; 3] = [2048, 3072, 4096];
/// Key size for new keys.
pub const DEFAULT_KEY_BITS: usize = 2048;
/// Validity of a new certificate: ten years, as upstream.
pub const DEFAULT_CERT_VALIDITY: Duration = Duration::from_secs(87_600 * 3600);

const RSA_ENCRYPTION_OID: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Problems with keys and certificates. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// No PEM block of the wanted kind.
    #[error("data does not contain any valid RSA or ECDSA certificates")]
    NoCertificate,
    /// No private key PEM block.
    #[error("no RSA private key found (expected a PEM 'RSA PRIVATE KEY' or 'PRIVATE KEY' block)")]
    NoPrivateKey,
    /// A certificate whose public key is not RSA.
    #[error("expected RSA public key but found {0}")]
    NotRsa(String),
    /// The private key is not RSA, or not a key at all.
    #[error("private key is not an RSA key")]
    PrivateKeyNotRsa,
    /// Malformed DER or PEM.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// The decoder's complaint (structure only).
        reason: String,
    },
    /// Key size outside what we support.
    #[error("unsupported RSA key size {0} bits (supported: 2048 to 8192)")]
    UnsupportedSize(usize),
    /// The certificate's validity ended.
    #[error("failed to encrypt using an expired certificate on {0}")]
    Expired(String),
    /// Key generation or signing failed.
    #[error("cannot create key: {0}")]
    Generate(String),
}

fn malformed(what: &'static str, reason: impl fmt::Display) -> KeyError {
    KeyError::Malformed {
        what,
        reason: reason.to_string(),
    }
}

/// `SHA256:` + unpadded base64 of SHA-256 over the SSH wire encoding of an RSA public key,
/// as upstream's `ssh.FingerprintSHA256`. Public, safe to log.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(String);

impl Fingerprint {
    fn of(modulus: &[u8], exponent: &[u8]) -> Self {
        use base64::Engine as _;
        let mut wire = Vec::with_capacity(modulus.len() + 32);
        ssh_string(&mut wire, b"ssh-rsa");
        ssh_mpint(&mut wire, exponent);
        ssh_mpint(&mut wire, modulus);
        let digest = crate::backend::sha256(&wire);
        Self(format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
        ))
    }

    /// The text form, `SHA256:…`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn ssh_string(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("SSH field under 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

fn ssh_mpint(out: &mut Vec<u8>, unsigned_be: &[u8]) {
    let trimmed = match unsigned_be.iter().position(|&b| b != 0) {
        Some(first) => &unsigned_be[first..],
        None => &[],
    };
    if trimmed.first().is_some_and(|&b| b & 0x80 != 0) {
        let mut padded = Vec::with_capacity(trimmed.len() + 1);
        padded.push(0);
        padded.extend_from_slice(trimmed);
        ssh_string(out, &padded);
    } else {
        ssh_string(out, trimmed);
    }
}

/// An RSA public key that can seal values.
pub struct PublicKey {
    rsa: RsaPublic,
    spki_der: Vec<u8>,
    bits: usize,
    fingerprint: Fingerprint,
}

impl PublicKey {
    /// Reads a DER `SubjectPublicKeyInfo`; only RSA keys of 2048 to 8192 bits are accepted.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki =
            spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|e| malformed("public key", e))?;
        if spki.algorithm.oid != RSA_ENCRYPTION_OID {
            return Err(KeyError::NotRsa(algorithm_name(spki.algorithm.oid)));
        }
        let raw = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| malformed("public key", "unaligned bit string"))?;
        let pkcs1 = pkcs1::RsaPublicKey::<der::asn1::UintRef<'_>>::from_der(raw)
            .map_err(|e| malformed("public key", e))?;
        let modulus = pkcs1.modulus.as_bytes();
        let bits = bit_length(modulus);
        if !(2048..=8192).contains(&bits) {
            return Err(KeyError::UnsupportedSize(bits));
        }
        let rsa =
            RsaPublic::from_spki_der(der).ok_or_else(|| malformed("public key", "rejected"))?;
        Ok(Self {
            fingerprint: Fingerprint::of(modulus, pkcs1.public_exponent.as_bytes()),
            rsa,
            spki_der: der.to_vec(),
            bits,
        })
    }

    /// Modulus size in bits.
    #[must_use]
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Upstream-style fingerprint.
    #[must_use]
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// DER `SubjectPublicKeyInfo`.
    #[must_use]
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    pub(crate) fn rsa(&self) -> &RsaPublic {
        &self.rsa
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl Clone for PublicKey {
    fn clone(&self) -> Self {
        Self::from_spki_der(&self.spki_der).expect("re-reading a key we already accepted")
    }
}

fn bit_length(unsigned_be: &[u8]) -> usize {
    match unsigned_be.iter().position(|&b| b != 0) {
        Some(first) => {
            let leading = unsigned_be[first].leading_zeros() as usize;
            (unsigned_be.len() - first) * 8 - leading
        }
        None => 0,
    }
}

fn algorithm_name(oid: der::asn1::ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.2.840.10045.2.1" => "*ecdsa.PublicKey".into(),
        "1.3.101.112" => "ed25519.PublicKey".into(),
        other => format!("a key of algorithm {other}"),
    }
}

/// An RSA private key. Its encodings are wiped on drop and `Debug` shows only the fingerprint.
pub struct PrivateKey {
    rsa: RsaPrivate,
    pkcs1_der: Zeroizing<Vec<u8>>,
    public: PublicKey,
}

impl PrivateKey {
    /// Generates a new keypair of `bits` (2048, 3072 or 4096).
    pub fn generate(bits: usize) -> Result<Self, KeyError> {
        if !SUPPORTED_KEY_BITS.contains(&bits) {
            return Err(KeyError::UnsupportedSize(bits));
        }
        let key = rsa::PrivateKey::new(&mut rand::rng(), bits)
            .map_err(|e| KeyError::Generate(e.to_string()))?;
        Self::from_rsa(&key)
    }

    /// Reads the first RSA private key in PEM text: PKCS#1 (`RSA PRIVATE KEY`) or
    /// PKCS#8 (`PRIVATE KEY`). Other blocks are skipped.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        Self::all_from_pem(pem)?
            .into_iter()
            .next()
            .ok_or(KeyError::NoPrivateKey)
    }

    /// Reads every RSA private key in PEM text (possibly none).
    pub fn all_from_pem(pem: &[u8]) -> Result<Vec<Self>, KeyError> {
        let mut keys = Vec::new();
        for block in pem_blocks(pem) {
            let key = match block.label.as_str() {
                "RSA PRIVATE KEY" => rsa::PrivateKey::from_pkcs1_der(&block.der)
                    .map_err(|e| malformed("RSA private key", e))?,
                "PRIVATE KEY" => rsa::PrivateKey::from_pkcs8_der(&block.der)
                    .map_err(|_| KeyError::PrivateKeyNotRsa)?,
                "EC PRIVATE KEY" | "OPENSSH PRIVATE KEY" => {
                    return Err(KeyError::PrivateKeyNotRsa);
                }
                _ => continue,
            };
            keys.push(Self::from_rsa(&key)?);
        }
        Ok(keys)
    }

    fn from_rsa(key: &rsa::PrivateKey) -> Result<Self, KeyError> {
        let bits = key.size() * 8;
        if !(2048..=8192).contains(&bits) {
            return Err(KeyError::UnsupportedSize(bits));
        }
        let pkcs1_der = Zeroizing::new(
            key.to_pkcs1_der()
                .map_err(|e| malformed("RSA private key", e))?
                .as_bytes()
                .to_vec(),
        );
        let pkcs8 = key
            .to_pkcs8_der()
            .map_err(|e| malformed("RSA private key", e))?;
        let rsa = RsaPrivate::from_pkcs8_der(pkcs8.as_bytes())
            .ok_or_else(|| malformed("RSA private key", "rejected by the RSA backend"))?;
        let spki = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| malformed("RSA public key", e))?;
        Ok(Self {
            rsa,
            pkcs1_der,
            public: PublicKey::from_spki_der(spki.as_bytes())?,
        })
    }

    /// The public half.
    #[must_use]
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Upstream-style fingerprint of the public half.
    #[must_use]
    pub fn fingerprint(&self) -> &Fingerprint {
        self.public.fingerprint()
    }

    /// A second copy of the key (for a keyring of its own), from its DER encoding.
    ///
    /// # Errors
    /// None in practice: the encoding is the one this key was read from.
    pub fn duplicate(&self) -> Result<Self, KeyError> {
        Self::from_rsa(&self.to_rsa())
    }

    /// PKCS#1 PEM (`RSA PRIVATE KEY`), what upstream stores in `tls.key`.
    #[must_use]
    pub fn to_pkcs1_pem(&self) -> Zeroizing<String> {
        pem_encode("RSA PRIVATE KEY", &self.pkcs1_der)
    }

    /// PKCS#8 PEM (`PRIVATE KEY`).
    #[must_use]
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        let key = self.to_rsa();
        let der = key.to_pkcs8_der().expect("encoding a valid key");
        pem_encode("PRIVATE KEY", der.as_bytes())
    }

    fn to_rsa(&self) -> rsa::PrivateKey {
        rsa::PrivateKey::from_pkcs1_der(&self.pkcs1_der).expect("re-reading our own encoding")
    }

    pub(crate) fn rsa(&self) -> &RsaPrivate {
        &self.rsa
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("bits", &self.public.bits)
            .field("fingerprint", &self.public.fingerprint)
            .finish_non_exhaustive()
    }
}

/// An X.509 certificate carrying an RSA sealing key.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    public_key: PublicKey,
    not_before: SystemTime,
    not_after: SystemTime,
}

impl Certificate {
    /// Reads the first `CERTIFICATE` PEM block; blocks of other kinds are skipped.
    /// The certificate must carry an RSA key. Expiry is not checked here: see
    /// [`Certificate::check_not_expired`].
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        let block = pem_blocks(pem)
            .find(|b| b.label == "CERTIFICATE" && !b.has_headers)
            .ok_or(KeyError::NoCertificate)?;
        Self::from_der(&block.der)
    }

    /// Reads a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let cert =
            x509_cert::Certificate::from_der(der).map_err(|e| malformed("certificate", e))?;
        let tbs = cert.tbs_certificate();
        let spki = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|e| malformed("certificate", e))?;
        let validity = tbs.validity();
        Ok(Self {
            der: der.to_vec(),
            public_key: PublicKey::from_spki_der(&spki)?,
            not_before: validity.not_before.to_system_time(),
            not_after: validity.not_after.to_system_time(),
        })
    }

    /// Makes the self-signed certificate the upstream controller makes for its keys:
    /// subject and issuer `CN=<common_name>` (an empty name when `common_name` is empty),
    /// critical KeyUsage=encipherOnly, critical CA:TRUE, a subject key id, a random 128-bit
    /// serial, SHA-256 with RSA, valid from now for `validity`.
    pub fn self_signed(
        key: &PrivateKey,
        common_name: &str,
        validity: Duration,
    ) -> Result<Self, KeyError> {
        let fail = |e: &dyn fmt::Display| KeyError::Generate(e.to_string());
        let subject = if common_name.is_empty() {
            Name::default()
        } else {
            format!("CN={common_name}")
                .parse::<Name>()
                .map_err(|e| fail(&e))?
        };
        let mut serial = [0u8; 16];
        aws_lc_rs::rand::fill(&mut serial).map_err(|_| fail(&"random"))?;
        serial[0] &= 0x7f;
        let serial = SerialNumber::new(&serial).map_err(|e| fail(&e))?;
        let now = SystemTime::now();
        let validity = Validity::new(
            x509_cert::time::Time::try_from(now).map_err(|e| fail(&e))?,
            x509_cert::time::Time::try_from(now + validity).map_err(|e| fail(&e))?,
        );
        let spki = spki::SubjectPublicKeyInfoOwned::from_der(key.public_key().spki_der())
            .map_err(|e| fail(&e))?;
        let spki_ref = spki::SubjectPublicKeyInfoRef::from_der(key.public_key().spki_der())
            .map_err(|e| fail(&e))?;
        let ski = SubjectKeyIdentifier::try_from(spki_ref).map_err(|e| fail(&e))?;
        let mut builder = CertificateBuilder::new(SelfSigned(subject), serial, validity, spki)
            .map_err(|e| fail(&e))?;
        builder
            .add_extension(&KeyUsage(KeyUsages::EncipherOnly.into()))
            .map_err(|e| fail(&e))?;
        builder
            .add_extension(&BasicConstraints {
                ca: true,
                path_len_constraint: None,
            })
            .map_err(|e| fail(&e))?;
        builder.add_extension(&ski).map_err(|e| fail(&e))?;
        let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.to_rsa());
        let cert = builder.build(&signer).map_err(|e| fail(&e))?;
        let der = cert.to_der().map_err(|e| fail(&e))?;
        Self::from_der(&der)
    }

    /// Refuses a certificate whose `notAfter` is before `now`, with upstream's wording.
    pub fn check_not_expired(&self, now: SystemTime) -> Result<(), KeyError> {
        if self.not_after < now {
            return Err(KeyError::Expired(format_go_date(self.not_after)));
        }
        Ok(())
    }

    /// The sealing key.
    #[must_use]
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// Start of validity; upstream orders keys by it.
    #[must_use]
    pub fn not_before(&self) -> SystemTime {
        self.not_before
    }

    /// End of validity.
    #[must_use]
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// DER encoding.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM encoding, as served at `/v1/cert.pem` and stored in `tls.crt`.
    #[must_use]
    pub fn to_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.der).to_string()
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("public_key", &self.public_key)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish()
    }
}

/// Subject = issuer, no profile-driven extensions: we add exactly what upstream has.
struct SelfSigned(Name);

impl BuilderProfile for SelfSigned {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.0.clone()
    }

    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<x509_cert::ext::Extension>> {
        Ok(Vec::new())
    }
}

/// Go's `January 2, 2006` layout, in UTC.
fn format_go_date(time: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let (year, month, day) = civil_from_unix(time);
    format!("{} {day}, {year}", MONTHS[(month - 1) as usize])
}

/// (year, month 1-12, day 1-31) of a time, proleptic Gregorian, UTC.
pub(crate) fn civil_from_unix(time: SystemTime) -> (i64, u32, u32) {
    let secs = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    // Howard Hinnant's days-to-civil algorithm.
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

struct PemBlock {
    label: String,
    has_headers: bool,
    der: Zeroizing<Vec<u8>>,
}

/// PEM blocks in `text`, like Go's `pem.Decode` loop: junk between blocks is skipped,
/// and a block that does not decode is skipped too.
fn pem_blocks(text: &[u8]) -> impl Iterator<Item = PemBlock> + '_ {
    let text = String::from_utf8_lossy(text);
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(label) = line
            .trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = Zeroizing::new(String::new());
        let mut has_headers = false;
        let mut closed = false;
        for line in lines.by_ref() {
            let line = line.trim();
            if line == end {
                closed = true;
                break;
            }
            if line.contains(':') {
                has_headers = true;
            } else {
                body.push_str(line);
            }
        }
        if !closed {
            break;
        }
        if let Some(der) = crate::SecretBytes::decode_base64(&body) {
            blocks.push(PemBlock {
                label: label.to_owned(),
                has_headers,
                der: Zeroizing::new(der.expose().to_vec()),
            });
        }
    }
    blocks.into_iter()
}

fn pem_encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let b64 = Zeroizing::new(crate::secret::encode_base64(der));
    let mut out = Zeroizing::new(String::with_capacity(b64.len() + b64.len() / 64 + 64));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys;

    #[test]
    fn a_duplicate_is_the_same_key() {
        let key = test_keys::rsa2048();
        let copy = key.duplicate().unwrap();
        assert_eq!(copy.fingerprint(), key.fingerprint());
        assert_eq!(*copy.to_pkcs1_pem(), *key.to_pkcs1_pem());
    }

    #[test]
    fn reads_compat_keys_and_matches_their_certificates() {
        for (key, cert) in [
            (test_keys::rsa2048(), test_keys::rsa2048_cert()),
            (test_keys::rsa4096(), test_keys::rsa4096_cert()),
        ] {
            assert_eq!(key.fingerprint(), cert.public_key().fingerprint());
            assert_eq!(key.public_key().bits(), cert.public_key().bits());
        }
        assert_eq!(test_keys::rsa4096().public_key().bits(), 4096);
    }

    #[test]
    fn pkcs1_and_pkcs8_round_trip() {
        let key = test_keys::rsa2048();
        let again = PrivateKey::from_pem(key.to_pkcs1_pem().as_bytes()).unwrap();
        assert_eq!(again.fingerprint(), key.fingerprint());
        let pkcs8 = key.to_pkcs8_pem();
        assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let again = PrivateKey::from_pem(pkcs8.as_bytes()).unwrap();
        assert_eq!(again.fingerprint(), key.fingerprint());
    }

    #[test]
    fn self_signed_certificate_matches_upstream_shape() {
        let key = test_keys::rsa2048();
        let cert = Certificate::self_signed(&key, "", DEFAULT_CERT_VALIDITY).unwrap();
        assert_eq!(cert.public_key().fingerprint(), key.fingerprint());
        let parsed = x509_cert::Certificate::from_der(cert.der()).unwrap();
        let tbs = parsed.tbs_certificate();
        assert_eq!(tbs.subject().to_der().unwrap(), vec![0x30, 0x00]);
        assert_eq!(tbs.issuer().to_der().unwrap(), vec![0x30, 0x00]);
        let exts = tbs.extensions().unwrap();
        let ku = exts
            .iter()
            .find(|e| e.extn_id.to_string() == "2.5.29.15")
            .unwrap();
        assert!(ku.critical);
        let bc = exts
            .iter()
            .find(|e| e.extn_id.to_string() == "2.5.29.19")
            .unwrap();
        assert!(bc.critical);
        let years = cert
            .not_after()
            .duration_since(cert.not_before())
            .unwrap()
            .as_secs()
            / (365 * 86_400);
        assert_eq!(years, 10);
        // And it parses back through the PEM path kubeseal uses.
        let again = Certificate::from_pem(cert.to_pem().as_bytes()).unwrap();
        assert_eq!(again.der(), cert.der());
    }

    #[test]
    fn certificate_parsing_rules() {
        assert_eq!(
            Certificate::from_pem(b"nothing here").unwrap_err(),
            KeyError::NoCertificate
        );
        let key_pem = test_keys::rsa2048().to_pkcs1_pem();
        assert_eq!(
            Certificate::from_pem(key_pem.as_bytes()).unwrap_err(),
            KeyError::NoCertificate
        );
        // The first CERTIFICATE block wins, junk around it is ignored.
        let mut text = b"junk\n".to_vec();
        text.extend_from_slice(test_keys::rsa4096_cert().to_pem().as_bytes());
        text.extend_from_slice(test_keys::rsa2048_cert().to_pem().as_bytes());
        let cert = Certificate::from_pem(&text).unwrap();
        assert_eq!(cert.public_key().bits(), 4096);
    }

    #[test]
    fn expired_certificate_is_refused_with_upstream_wording() {
        let cert = test_keys::rsa2048_cert();
        assert!(cert.check_not_expired(SystemTime::now()).is_ok());
        let later = cert.not_after() + Duration::from_secs(1);
        let err = cert.check_not_expired(later).unwrap_err().to_string();
        assert!(
            err.starts_with("failed to encrypt using an expired certificate on "),
            "{err}"
        );
    }

    #[test]
    fn go_date_format() {
        assert_eq!(format_go_date(UNIX_EPOCH), "January 1, 1970");
        assert_eq!(
            format_go_date(UNIX_EPOCH + Duration::from_secs(1_136_214_245)),
            "January 2, 2006"
        );
        assert_eq!(
            format_go_date(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "February 29, 2000"
        );
    }

    #[test]
    fn fingerprint_is_ssh_style() {
        let fp = test_keys::rsa2048().fingerprint().to_string();
        assert!(fp.starts_with("SHA256:"));
        assert_eq!(fp.len(), 7 + 43);
    }

    #[test]
    fn generated_keys_have_the_requested_size() {
        let key = PrivateKey::generate(2048).unwrap();
        assert_eq!(key.public_key().bits(), 2048);
        assert_eq!(
            PrivateKey::generate(1024).unwrap_err(),
            KeyError::UnsupportedSize(1024)
        );
    }

    #[test]
    fn debug_never_shows_key_material() {
        let key = test_keys::rsa2048();
        let debug = format!("{key:?}");
        assert!(debug.contains("SHA256:"));
        let pem = key.to_pkcs1_pem();
        let body_line = pem.lines().nth(1).unwrap();
        assert!(!debug.contains(body_line));
    }
}
