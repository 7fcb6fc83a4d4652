//! Sprig's key and certificate functions (`crypto.go`): `genPrivateKey`, `genCA*`,
//! `genSelfSignedCert*`, `genSignedCert*`, `buildCustomCert`, with Go's PEM forms
//! (`pemBlockForKey`, `parsePrivateKeyPEM`) and `x509.CreateCertificate`'s certificate
//! layout. Keys and signatures come from aws-lc-rs; DER is written here.

use std::time::Duration;

use aws_lc_rs::encoding::{AsBigEndian as _, AsDer as _};
use aws_lc_rs::signature::{self as sig, KeyPair as _};
use base64::engine::general_purpose::STANDARD;
use der::Decode as _;
use rand::RngExt as _;

use super::PT::{Any, Int, Str};
use super::gotime;
#[allow(clippy::wildcard_imports)]
use super::*;
use crate::value::GoObject;

/// The rows of this family (part of Sprig's `crypto.go`).
pub(super) const FUNCS: &[Func] = &[
    Func::call("genPrivateKey", sg(&[Str], None), gen_private_key),
    Func::call("buildCustomCert", sg(&[Str, Str], None), build_custom_cert),
    Func::call("genCA", sg(&[Str, Int], None), gen_ca),
    Func::call("genCAWithKey", sg(&[Str, Int, Str], None), gen_ca),
    Func::call(
        "genSelfSignedCert",
        sg(&[Str, Any, Any, Int], None),
        gen_self_signed,
    ),
    Func::call(
        "genSelfSignedCertWithKey",
        sg(&[Str, Any, Any, Int, Str], None),
        gen_self_signed,
    ),
    Func::call(
        "genSignedCert",
        sg(&[Str, Any, Any, Int, Any], None),
        gen_signed,
    ),
    Func::call(
        "genSignedCertWithKey",
        sg(&[Str, Any, Any, Int, Any, Str], None),
        gen_signed,
    ),
];

/// Work charged per key generated: an object's work budget allows two RSA-4096 keys, ten
/// RSA-2048 keys, or two hundred elliptic-curve keys.
const RSA4096_WORK: u64 = 5_000_000;
const RSA2048_WORK: u64 = 1_000_000;
const EC_WORK: u64 = 50_000;
/// Time a key generation may take on a loaded core (RSA's prime search varies a lot): what
/// must be left before the deadline for it to start.
const RSA4096_TIME: Duration = Duration::from_secs(2);
const RSA2048_TIME: Duration = Duration::from_millis(300);
const EC_TIME: Duration = Duration::from_millis(5);
/// Work charged per certificate signed (one private-key operation).
const SIGN_WORK: u64 = 20_000;

// ---- DER writing --------------------------------------------------------------------------

/// DER bytes, wiped when dropped: some hold private keys.
type Der = zeroize::Zeroizing<Vec<u8>>;

fn tlv(tag: u8, body: &[u8]) -> Der {
    let mut out = Der::new(Vec::with_capacity(body.len() + 6));
    out.push(tag);
    let n = body.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(body);
    out
}

fn seq(parts: &[&[u8]]) -> Der {
    tlv(0x30, &Der::new(parts.concat()))
}

/// A non-negative INTEGER from big-endian magnitude bytes.
fn uint(be: &[u8]) -> Der {
    let trimmed: Vec<u8> = be.iter().copied().skip_while(|&b| b == 0).collect();
    let mut body = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|&b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend(trimmed);
    tlv(0x02, &body)
}

fn oid(arcs: &[u64]) -> Der {
    let mut body = Vec::new();
    let mut push = |mut v: u64| {
        let mut stack = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            stack.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        body.extend(stack.into_iter().rev());
    };
    push(arcs[0] * 40 + arcs[1]);
    for &a in &arcs[2..] {
        push(a);
    }
    tlv(0x06, &body)
}

fn bit_string(bytes: &[u8], unused: u8) -> Der {
    let mut body = vec![unused];
    body.extend_from_slice(bytes);
    tlv(0x03, &body)
}

fn octets(bytes: &[u8]) -> Der {
    tlv(0x04, bytes)
}

const NULL: &[u8] = &[0x05, 0x00];

// ---- DER reading (keys only) ----------------------------------------------------------------

/// One TLV: (tag, contents, the rest).
fn read_tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, &x| (a << 8) | usize::from(x));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

// ---- keys -------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
    P521,
}

impl Curve {
    fn from_oid(der: &[u8]) -> Option<Curve> {
        if der[..] == oid(&[1, 2, 840, 10045, 3, 1, 7])[..] {
            Some(Curve::P256)
        } else if der[..] == oid(&[1, 3, 132, 0, 34])[..] {
            Some(Curve::P384)
        } else if der[..] == oid(&[1, 3, 132, 0, 35])[..] {
            Some(Curve::P521)
        } else {
            None
        }
    }
    fn oid(self) -> Der {
        match self {
            Curve::P256 => oid(&[1, 2, 840, 10045, 3, 1, 7]),
            Curve::P384 => oid(&[1, 3, 132, 0, 34]),
            Curve::P521 => oid(&[1, 3, 132, 0, 35]),
        }
    }
    fn signing(self) -> &'static sig::EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
            Curve::P384 => &sig::ECDSA_P384_SHA384_ASN1_SIGNING,
            Curve::P521 => &sig::ECDSA_P521_SHA512_ASN1_SIGNING,
        }
    }
    /// ecdsa-with-SHA256/384/512, as Go picks by curve.
    fn signature_oid(self) -> Der {
        match self {
            Curve::P256 => oid(&[1, 2, 840, 10045, 4, 3, 2]),
            Curve::P384 => oid(&[1, 2, 840, 10045, 4, 3, 3]),
            Curve::P521 => oid(&[1, 2, 840, 10045, 4, 3, 4]),
        }
    }
    fn scalar_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }
}

/// A private key of a kind Go's x509 can sign certificates with.
enum Key {
    Rsa(aws_lc_rs::rsa::KeyPair),
    Ec(Curve, sig::EcdsaKeyPair),
    Ed25519(sig::Ed25519KeyPair, zeroize::Zeroizing<[u8; 32]>),
}

/// Why a key or certificate cannot be made (Sprig's error; its text is never shown).
fn fail(what: &str) -> ErrKind {
    e(what)
}

impl Key {
    fn generate(kind: &[u8]) -> Result<Key, ErrKind> {
        match kind {
            b"" | b"rsa" => aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa4096)
                .map(Key::Rsa)
                .map_err(|_| fail("failed to generate private key")),
            b"ecdsa" => sig::EcdsaKeyPair::generate(Curve::P256.signing())
                .map(|k| Key::Ec(Curve::P256, k))
                .map_err(|_| fail("failed to generate private key")),
            b"ed25519" => {
                let mut seed = zeroize::Zeroizing::new([0u8; 32]);
                rand::rng().fill(&mut seed[..]);
                Key::ed25519(seed)
            }
            _ => Err(fail("unknown key type")),
        }
    }

    fn rsa2048() -> Result<Key, ErrKind> {
        aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map(Key::Rsa)
            .map_err(|_| fail("error generating rsa key"))
    }

    fn ed25519(seed: zeroize::Zeroizing<[u8; 32]>) -> Result<Key, ErrKind> {
        let pair = sig::Ed25519KeyPair::from_seed_unchecked(&seed[..])
            .map_err(|_| fail("invalid ed25519 key"))?;
        Ok(Key::Ed25519(pair, seed))
    }

    /// Go's `pemBlockForKey`: PKCS#1 for RSA, SEC 1 for EC, PKCS#8 otherwise.
    fn to_pem(&self) -> Result<SecretBytes, ErrKind> {
        let bad = |_| fail("error pem-encoding key");
        Ok(match self {
            Key::Rsa(k) => {
                let pkcs8 = k.as_der().map_err(bad)?;
                let pkcs1 = pkcs8_private_key(pkcs8.as_ref()).ok_or_else(|| fail("pkcs8"))?;
                pem_encode("RSA PRIVATE KEY", &pkcs1)
            }
            Key::Ec(curve, k) => {
                let d = k.private_key().as_be_bytes().map_err(bad)?;
                let d = d.as_ref();
                let mut scalar = zeroize::Zeroizing::new(vec![0u8; curve.scalar_len()]);
                let n = d.len().min(scalar.len());
                let at = scalar.len() - n;
                scalar[at..].copy_from_slice(&d[d.len() - n..]);
                let body = seq(&[
                    &uint(&[1]),
                    &octets(&scalar),
                    &tlv(0xa0, &curve.oid()),
                    &tlv(0xa1, &bit_string(k.public_key().as_ref(), 0)),
                ]);
                pem_encode("EC PRIVATE KEY", &body)
            }
            Key::Ed25519(_, seed) => {
                let body = seq(&[
                    &uint(&[0]),
                    &seq(&[&oid(&[1, 3, 101, 112])]),
                    &octets(&octets(&seed[..])),
                ]);
                pem_encode("PRIVATE KEY", &body)
            }
        })
    }

    /// Go's `parsePrivateKeyPEM` (DSA keys parse in Go but cannot sign: refused here).
    fn from_pem(pem: &[u8]) -> Result<Key, ErrKind> {
        let (label, der) = pem_decode(pem).ok_or_else(|| fail("no PEM data in input"))?;
        let bad = |_| fail("parsing private key");
        match &label[..] {
            b"PRIVATE KEY" => Key::from_pkcs8(&der),
            b"RSA PRIVATE KEY" => aws_lc_rs::rsa::KeyPair::from_der(&der)
                .map(Key::Rsa)
                .map_err(bad),
            b"EC PRIVATE KEY" => {
                let curve = sec1_curve(&der).ok_or_else(|| fail("x509: unknown elliptic curve"))?;
                sig::EcdsaKeyPair::from_private_key_der(curve.signing(), &der)
                    .map(|k| Key::Ec(curve, k))
                    .map_err(bad)
            }
            _ => Err(fail("invalid private key type")),
        }
    }

    fn from_pkcs8(der: &[u8]) -> Result<Key, ErrKind> {
        let bad = |_| fail("decoding PEM as PKCS#8");
        let (_, body, _) = read_tlv(der).ok_or_else(|| fail("pkcs8"))?;
        let (_, _version, rest) = read_tlv(body).ok_or_else(|| fail("pkcs8"))?;
        let (_, alg, rest) = read_tlv(rest).ok_or_else(|| fail("pkcs8"))?;
        let (alg_tag, alg_oid, params) = read_tlv(alg).ok_or_else(|| fail("pkcs8"))?;
        let alg_oid = tlv(alg_tag, alg_oid);
        if alg_oid[..] == oid(&[1, 2, 840, 113549, 1, 1, 1])[..] {
            aws_lc_rs::rsa::KeyPair::from_pkcs8(der)
                .map(Key::Rsa)
                .map_err(bad)
        } else if alg_oid[..] == oid(&[1, 2, 840, 10045, 2, 1])[..] {
            let curve = Curve::from_oid(params).ok_or_else(|| fail("unknown elliptic curve"))?;
            sig::EcdsaKeyPair::from_pkcs8(curve.signing(), der)
                .map(|k| Key::Ec(curve, k))
                .map_err(bad)
        } else if alg_oid[..] == oid(&[1, 3, 101, 112])[..] {
            let (_, inner, _) = read_tlv(rest).ok_or_else(|| fail("pkcs8"))?;
            let (_, seed, _) = read_tlv(inner).ok_or_else(|| fail("pkcs8"))?;
            let seed: [u8; 32] = seed.try_into().map_err(|_| fail("invalid ed25519 key"))?;
            Key::ed25519(zeroize::Zeroizing::new(seed))
        } else {
            Err(fail("unsupported private key algorithm"))
        }
    }

    /// SubjectPublicKeyInfo, as Go's `marshalPublicKey` writes it.
    fn spki(&self) -> Result<Der, ErrKind> {
        let bad = |_| fail("public key");
        Ok(match self {
            Key::Rsa(k) => Der::new(k.public_key().as_der().map_err(bad)?.as_ref().to_vec()),
            Key::Ec(curve, k) => seq(&[
                &seq(&[&oid(&[1, 2, 840, 10045, 2, 1]), &curve.oid()]),
                &bit_string(k.public_key().as_ref(), 0),
            ]),
            Key::Ed25519(k, _) => seq(&[
                &seq(&[&oid(&[1, 3, 101, 112])]),
                &bit_string(k.public_key().as_ref(), 0),
            ]),
        })
    }

    /// The signature AlgorithmIdentifier Go uses for this key.
    fn signature_algorithm(&self) -> Der {
        match self {
            Key::Rsa(_) => seq(&[&oid(&[1, 2, 840, 113549, 1, 1, 11]), NULL]),
            Key::Ec(curve, _) => seq(&[&curve.signature_oid()]),
            Key::Ed25519(..) => seq(&[&oid(&[1, 3, 101, 112])]),
        }
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, ErrKind> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let bad = |_| fail("error creating certificate");
        match self {
            Key::Rsa(k) => {
                let mut out = vec![0u8; k.public_modulus_len()];
                k.sign(&sig::RSA_PKCS1_SHA256, &rng, message, &mut out)
                    .map_err(bad)?;
                Ok(out)
            }
            Key::Ec(_, k) => Ok(k.sign(&rng, message).map_err(bad)?.as_ref().to_vec()),
            Key::Ed25519(k, _) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }
}

/// The privateKey OCTET STRING of a PKCS#8 PrivateKeyInfo (for RSA: the PKCS#1 key).
fn pkcs8_private_key(der: &[u8]) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let (_, body, _) = read_tlv(der)?;
    let (_, _, rest) = read_tlv(body)?;
    let (_, _, rest) = read_tlv(rest)?;
    let (tag, key, _) = read_tlv(rest)?;
    (tag == 0x04).then(|| zeroize::Zeroizing::new(key.to_vec()))
}

/// The named curve of a SEC 1 ECPrivateKey (Go refuses one without it).
fn sec1_curve(der: &[u8]) -> Option<Curve> {
    let (_, body, _) = read_tlv(der)?;
    let (_, _, rest) = read_tlv(body)?;
    let (_, _, mut rest) = read_tlv(rest)?;
    while let Some((tag, contents, next)) = read_tlv(rest) {
        if tag == 0xa0 {
            return Curve::from_oid(contents);
        }
        rest = next;
    }
    None
}

/// Go's `pem.EncodeToMemory`: 64-column base64 between BEGIN and END lines.
fn pem_encode(label: &str, der: &[u8]) -> SecretBytes {
    let b64 = zeroize::Zeroizing::new(STANDARD.encode(der));
    let mut out = SecretBytes::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.extend(line);
        out.push(b'\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The first PEM block (label, contents), as Go's `pem.Decode` finds it (headers are not
/// supported).
fn pem_decode(text: &[u8]) -> Option<(Vec<u8>, zeroize::Zeroizing<Vec<u8>>)> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let start = text.windows(BEGIN.len()).position(|w| w == BEGIN)?;
    if start > 0 && text[start - 1] != b'\n' {
        return None;
    }
    let rest = &text[start + BEGIN.len()..];
    let line_end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
    let label = rest[..line_end]
        .strip_suffix(b"\r")
        .unwrap_or(&rest[..line_end])
        .strip_suffix(b"-----")?
        .to_vec();
    let body = rest.get(line_end + 1..)?;
    let mut end = b"-----END ".to_vec();
    end.extend(&label);
    end.extend(b"-----");
    let at = body.windows(end.len()).position(|w| w == &end[..])?;
    let b64: zeroize::Zeroizing<Vec<u8>> = zeroize::Zeroizing::new(
        body[..at]
            .iter()
            .copied()
            .filter(|c| !c.is_ascii_whitespace())
            .collect(),
    );
    let der = STANDARD.decode(&b64[..]).ok()?;
    Some((label, zeroize::Zeroizing::new(der)))
}

// ---- certificates -----------------------------------------------------------------------------

/// Sprig's `certificate`: a PEM certificate and its PEM key.
pub(crate) struct CertObject {
    cert: SecretBytes,
    key: SecretBytes,
}

impl GoObject for CertObject {
    fn type_name(&self) -> &'static str {
        "sprig.certificate"
    }
    fn kind_name(&self) -> &'static str {
        "struct"
    }
    fn string(&self) -> Option<SecretBytes> {
        None
    }
    fn fields(&self) -> Vec<Value> {
        vec![
            Value::str(self.cert.as_bytes()),
            Value::str(self.key.as_bytes()),
        ]
    }
    fn equals(&self, other: &dyn GoObject) -> bool {
        other
            .as_any()
            .downcast_ref::<CertObject>()
            .is_some_and(|o| {
                o.cert.as_bytes() == self.cert.as_bytes() && o.key.as_bytes() == self.key.as_bytes()
            })
    }
    fn json_value(&self) -> Value {
        let mut entries = BTreeMap::new();
        entries.insert(
            SecretBytes::from_slice(b"Cert"),
            Value::str(self.cert.as_bytes()),
        );
        entries.insert(
            SecretBytes::from_slice(b"Key"),
            Value::str(self.key.as_bytes()),
        );
        Value::Map(Rc::new(std::cell::RefCell::new(crate::value::MapData {
            elem: ElemTy::Str,
            entries,
        })))
    }
    fn params(&self, name: &str) -> Option<&'static [PT]> {
        matches!(name, "Cert" | "Key").then_some(&[])
    }
    fn call(&self, ex: &mut dyn Runtime, name: &str, _args: Vec<Value>) -> FR {
        mk_bytes(
            ex,
            if name == "Cert" {
                self.cert.as_bytes()
            } else {
                self.key.as_bytes()
            },
        )
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn cert_value(cert: SecretBytes, key: SecretBytes) -> Value {
    Value::Object(Rc::new(CertObject { cert, key }))
}

/// A Name with just a common name (none when empty), as `pkix.Name{CommonName: cn}`
/// marshals: PrintableString when it can be, else UTF8String.
fn name_der(cn: &[u8]) -> Result<Der, ErrKind> {
    if cn.is_empty() {
        return Ok(seq(&[]));
    }
    let printable = cn
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&c));
    let value = if printable {
        tlv(0x13, cn)
    } else if std::str::from_utf8(cn).is_ok() {
        tlv(0x0c, cn)
    } else {
        return Err(fail("asn1: string not valid UTF-8"));
    };
    let atv = seq(&[&oid(&[2, 5, 4, 3]), &value]);
    Ok(seq(&[&tlv(0x31, &atv)]))
}

/// UTCTime for 1950..2050, GeneralizedTime otherwise, as Go's asn1 writes times.
fn time_der(unix: i64) -> Result<Der, ErrKind> {
    let (y, mo, d) = gotime::civil_from_days(unix.div_euclid(86_400));
    let s = unix.rem_euclid(86_400);
    let (h, mi, se) = (s / 3600, s / 60 % 60, s % 60);
    if (1950..2050).contains(&y) {
        let t = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{se:02}Z", y % 100);
        Ok(tlv(0x17, t.as_bytes()))
    } else if (0..=9999).contains(&y) {
        let t = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{se:02}Z");
        Ok(tlv(0x18, t.as_bytes()))
    } else {
        Err(fail("cannot represent time as GeneralizedTime"))
    }
}

fn extension(id: &[u64], critical: bool, value: &[u8]) -> Der {
    if critical {
        seq(&[&oid(id), &[0x01, 0x01, 0xff], &octets(value)])
    } else {
        seq(&[&oid(id), &octets(value)])
    }
}

/// The SubjectPublicKey bits of an SPKI (what Go hashes for key identifiers).
fn spki_key_bits(spki: &[u8]) -> Option<&[u8]> {
    let (_, body, _) = read_tlv(spki)?;
    let (_, _, rest) = read_tlv(body)?;
    let (tag, bits, _) = read_tlv(rest)?;
    (tag == 0x03).then(|| bits.get(1..)).flatten()
}

/// Sprig's certificate template plus what `x509.CreateCertificate` adds.
struct Template {
    cn: Vec<u8>,
    ips: Vec<std::net::IpAddr>,
    dns: Vec<Vec<u8>>,
    days: i64,
    is_ca: bool,
}

/// The signer: its key, and the issuer name and key identifier (for signed certificates,
/// the CA certificate's; for self-signed ones, the subject's own).
struct Issuer<'k> {
    key: &'k Key,
    name: Option<Der>,
    key_id: Option<Vec<u8>>,
}

/// Go's `x509.CreateCertificate` for Sprig's template: v3, a random serial below 2^128,
/// KeyUsage, ExtKeyUsage (server and client auth), BasicConstraints, a key identifier for
/// CAs (truncated SHA-256), the issuer's key identifier, SANs.
fn create_certificate(
    ex: &mut dyn Runtime,
    t: &Template,
    subject_key: &Key,
    issuer: &Issuer<'_>,
) -> Result<SecretBytes, ErrKind> {
    ex.charge(SIGN_WORK)?;
    let mut serial = [0u8; 16];
    rand::rng().fill(&mut serial[..]);
    let subject = name_der(&t.cn)?;
    let issuer_name = issuer.name.clone().unwrap_or_else(|| subject.clone());
    let now = gotime::Time::now();
    let not_after = now.add((86_400_000_000_000i64).wrapping_mul(t.days));
    let validity = seq(&[&time_der(now.unix)?, &time_der(not_after.unix)?]);
    let spki = subject_key.spki()?;
    let mut exts = Vec::new();
    let usage: &[u8] = if t.is_ca {
        &[0x03, 0x02, 0x02, 0xa4]
    } else {
        &[0x03, 0x02, 0x05, 0xa0]
    };
    exts.push(extension(&[2, 5, 29, 15], true, usage));
    exts.push(extension(
        &[2, 5, 29, 37],
        false,
        &seq(&[
            &oid(&[1, 3, 6, 1, 5, 5, 7, 3, 1]),
            &oid(&[1, 3, 6, 1, 5, 5, 7, 3, 2]),
        ]),
    ));
    let basic = if t.is_ca {
        seq(&[&[0x01, 0x01, 0xff]])
    } else {
        seq(&[])
    };
    exts.push(extension(&[2, 5, 29, 19], true, &basic));
    if t.is_ca {
        let bits = spki_key_bits(&spki).ok_or_else(|| fail("public key"))?;
        let digest = sha2::Sha256::digest(bits);
        exts.push(extension(&[2, 5, 29, 14], false, &octets(&digest[..20])));
    }
    if issuer_name != subject
        && let Some(id) = &issuer.key_id
    {
        exts.push(extension(&[2, 5, 29, 35], false, &seq(&[&tlv(0x80, id)])));
    }
    if !t.ips.is_empty() || !t.dns.is_empty() {
        let mut names = Vec::new();
        for d in &t.dns {
            if !d.is_ascii() {
                return Err(fail("cannot be encoded as an IA5String"));
            }
            names.extend_from_slice(&tlv(0x82, d));
        }
        for ip in &t.ips {
            match ip {
                std::net::IpAddr::V4(v4) => names.extend_from_slice(&tlv(0x87, &v4.octets())),
                std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                    Some(v4) => names.extend_from_slice(&tlv(0x87, &v4.octets())),
                    None => names.extend_from_slice(&tlv(0x87, &v6.octets())),
                },
            }
        }
        exts.push(extension(
            &[2, 5, 29, 17],
            t.cn.is_empty(),
            &tlv(0x30, &names),
        ));
    }
    let alg = issuer.key.signature_algorithm();
    let tbs = seq(&[
        &tlv(0xa0, &uint(&[2])),
        &uint(&serial),
        &alg,
        &issuer_name,
        &validity,
        &subject,
        &spki,
        &tlv(
            0xa3,
            &seq(&exts.iter().map(|x| x.as_slice()).collect::<Vec<_>>()),
        ),
    ]);
    let signature = issuer.key.sign(&tbs)?;
    let cert = seq(&[&tbs, &alg, &bit_string(&signature, 0)]);
    ex.alloc(cert.len() * 3)?;
    Ok(pem_encode("CERTIFICATE", &cert))
}

/// Sprig's `getNetIPs`: a list of strings that parse as IP addresses (nil: none).
fn ip_list(v: &Value) -> Result<Vec<std::net::IpAddr>, ErrKind> {
    string_list(v)?
        .iter()
        .map(|s| {
            std::str::from_utf8(s)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| fail("error parsing ip"))
        })
        .collect()
}

/// A `[]interface{}` argument of strings (nil: empty).
fn string_list(v: &Value) -> Result<Vec<Vec<u8>>, ErrKind> {
    match v {
        Value::Nil | Value::Invalid => Ok(Vec::new()),
        Value::List(l) if l.elem == ElemTy::Any => l
            .items
            .iter()
            .map(|x| match x {
                Value::Str(s) => Ok(s.as_bytes().to_vec()),
                _ => Err(fail("is not a string")),
            })
            .collect(),
        _ => Err(fail("wrong type for value; expected []interface {}")),
    }
}

fn gen_private_key(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let kind = s_arg(&a, 0)?;
    match kind {
        b"" | b"rsa" => ex.charge_step(RSA4096_WORK, RSA4096_TIME)?,
        _ => ex.charge_step(EC_WORK, EC_TIME)?,
    }
    match kind {
        b"" | b"rsa" | b"ecdsa" | b"ed25519" => {}
        b"dsa" => return Err(fail("dsa keys are not supported")),
        other => {
            let mut msg = b"Unknown type ".to_vec();
            msg.extend(other);
            return mk_bytes(ex, &msg);
        }
    }
    let pem = Key::generate(kind)?.to_pem()?;
    mk_str(ex, pem)
}

/// The key a `*WithKey` function was given, or a new RSA-2048 key.
fn key_or_new(ex: &mut dyn Runtime, pem: Option<&[u8]>) -> Result<Key, ErrKind> {
    match pem {
        Some(p) => {
            ex.charge_scan(p.len())?;
            Key::from_pem(p)
        }
        None => {
            ex.charge_step(RSA2048_WORK, RSA2048_TIME)?;
            Key::rsa2048()
        }
    }
}

fn gen_ca(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let (cn, days) = (s_arg(&a, 0)?.to_vec(), i_arg(&a, 1)?);
    let pem = if name == "genCAWithKey" {
        Some(s_arg(&a, 2)?)
    } else {
        None
    };
    let key = key_or_new(ex, pem)?;
    let t = Template {
        cn,
        ips: Vec::new(),
        dns: Vec::new(),
        days,
        is_ca: true,
    };
    let cert = create_certificate(
        ex,
        &t,
        &key,
        &Issuer {
            key: &key,
            name: None,
            key_id: None,
        },
    )?;
    Ok(cert_value(cert, key.to_pem()?))
}

fn gen_self_signed(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let cn = s_arg(&a, 0)?.to_vec();
    let ips = ip_list(arg(&a, 1)?)?;
    let dns = string_list(arg(&a, 2)?)?;
    let days = i_arg(&a, 3)?;
    let pem = if name.ends_with("WithKey") {
        Some(s_arg(&a, 4)?)
    } else {
        None
    };
    let key = key_or_new(ex, pem)?;
    let t = Template {
        cn,
        ips,
        dns,
        days,
        is_ca: false,
    };
    let cert = create_certificate(
        ex,
        &t,
        &key,
        &Issuer {
            key: &key,
            name: None,
            key_id: None,
        },
    )?;
    Ok(cert_value(cert, key.to_pem()?))
}

fn gen_signed(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let cn = s_arg(&a, 0)?.to_vec();
    let ips = ip_list(arg(&a, 1)?)?;
    let dns = string_list(arg(&a, 2)?)?;
    let days = i_arg(&a, 3)?;
    let ca = match arg(&a, 4)? {
        Value::Object(o) => o.clone(),
        _ => return Err(fail("wrong type for value; expected sprig.certificate")),
    };
    let ca = ca
        .as_any()
        .downcast_ref::<CertObject>()
        .ok_or_else(|| fail("wrong type for value; expected sprig.certificate"))?;
    let pem = if name.ends_with("WithKey") {
        Some(s_arg(&a, 5)?)
    } else {
        None
    };
    // the CA first, as Sprig: its certificate and key must parse
    ex.charge_scan(ca.cert.len() + ca.key.len())?;
    let (_, ca_der) =
        pem_decode(ca.cert.as_bytes()).ok_or_else(|| fail("unable to decode certificate"))?;
    let ca_cert =
        x509_cert::Certificate::from_der(&ca_der).map_err(|_| fail("error parsing certificate"))?;
    let signer = Key::from_pem(ca.key.as_bytes())?;
    let key = key_or_new(ex, pem)?;
    let tbs = ca_cert.tbs_certificate();
    let ca_name = der::Encode::to_der(tbs.subject()).map_err(|_| fail("certificate subject"))?;
    let ca_spki =
        der::Encode::to_der(tbs.subject_public_key_info()).map_err(|_| fail("certificate key"))?;
    if ca_spki != *signer.spki()? {
        return Err(fail(
            "x509: provided PrivateKey doesn't match parent's PublicKey",
        ));
    }
    let ski_oid = der::asn1::ObjectIdentifier::new_unwrap("2.5.29.14");
    let key_id = tbs
        .extensions()
        .into_iter()
        .flatten()
        .find(|x| x.extn_id == ski_oid)
        .and_then(|x| {
            let (tag, id, _) = read_tlv(x.extn_value.as_bytes())?;
            (tag == 0x04).then(|| id.to_vec())
        });
    let t = Template {
        cn,
        ips,
        dns,
        days,
        is_ca: false,
    };
    let issuer = Issuer {
        key: &signer,
        name: Some(Der::new(ca_name)),
        key_id,
    };
    let cert = create_certificate(ex, &t, &key, &issuer)?;
    Ok(cert_value(cert, key.to_pem()?))
}

/// Sprig's `buildCustomCertificate`: base64 of a PEM certificate and of a PEM key, kept as
/// given once both parse.
fn build_custom_cert(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let (c64, k64) = (s_arg(&a, 0)?, s_arg(&a, 1)?);
    ex.charge_scan(c64.len() + k64.len())?;
    ex.alloc((c64.len() + k64.len()) * 2)?;
    let decode = |b: &[u8], what: &str| -> Result<SecretBytes, ErrKind> {
        // Go's StdEncoding skips line breaks
        let clean: zeroize::Zeroizing<Vec<u8>> = zeroize::Zeroizing::new(
            b.iter()
                .copied()
                .filter(|&c| c != b'\n' && c != b'\r')
                .collect(),
        );
        STANDARD
            .decode(&clean[..])
            .map(SecretBytes::new)
            .map_err(|_| fail(what))
    };
    let cert = decode(c64, "unable to decode base64 certificate")?;
    let key = decode(k64, "unable to decode base64 private key")?;
    let (_, der) =
        pem_decode(cert.as_bytes()).ok_or_else(|| fail("unable to decode certificate"))?;
    x509_cert::Certificate::from_der(&der).map_err(|_| fail("error parsing certificate"))?;
    // Go parses DSA keys too (it cannot sign certificates with them)
    if !is_dsa_key(key.as_bytes()) {
        Key::from_pem(key.as_bytes())?;
    }
    Ok(cert_value(cert, key))
}

/// A "DSA PRIVATE KEY" block that Go's `asn1.Unmarshal` takes as its six-integer form.
fn is_dsa_key(pem: &[u8]) -> bool {
    let Some((label, der)) = pem_decode(pem) else {
        return false;
    };
    if label != b"DSA PRIVATE KEY" {
        return false;
    }
    let Some((0x30, mut body, _)) = read_tlv(&der) else {
        return false;
    };
    for _ in 0..6 {
        match read_tlv(body) {
            Some((0x02, _, rest)) => body = rest,
            _ => return false,
        }
    }
    true
}
