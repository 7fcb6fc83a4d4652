//! Sprig `crypto.go`: hashes, and the random and key-generating functions.

use super::PT::Str;
#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("sha1sum", sg(&[Str], None), sha1sum),
    Func::call("sha256sum", sg(&[Str], None), sha256sum),
    Func::call("sha512sum", sg(&[Str], None), sha512sum),
    Func::call("adler32sum", sg(&[Str], None), adler32sum),
    Func::unsupported("bcrypt"),
    Func::unsupported("htpasswd"),
    Func::unsupported("genPrivateKey"),
    Func::unsupported("derivePassword"),
    Func::unsupported("buildCustomCert"),
    Func::unsupported("genCA"),
    Func::unsupported("genCAWithKey"),
    Func::unsupported("genSelfSignedCert"),
    Func::unsupported("genSelfSignedCertWithKey"),
    Func::unsupported("genSignedCert"),
    Func::unsupported("genSignedCertWithKey"),
    Func::unsupported("encryptAES"),
    Func::unsupported("decryptAES"),
];

fn sha1sum(ex: &mut Exec<'_>, _name: &str, a: Vec<Value>) -> FR {
    let d = sha1::Sha1::digest(s_arg(&a, 0)?);
    mk_str(ex, hex(&d))
}

fn sha256sum(ex: &mut Exec<'_>, _name: &str, a: Vec<Value>) -> FR {
    let d = sha2::Sha256::digest(s_arg(&a, 0)?);
    mk_str(ex, hex(&d))
}

fn sha512sum(ex: &mut Exec<'_>, _name: &str, a: Vec<Value>) -> FR {
    let d = sha2::Sha512::digest(s_arg(&a, 0)?);
    mk_str(ex, hex(&d))
}

fn adler32sum(ex: &mut Exec<'_>, _name: &str, a: Vec<Value>) -> FR {
    let d = adler32(s_arg(&a, 0)?);
    mk_bytes(ex, d.to_string().as_bytes())
}

pub(super) fn adler32(b: &[u8]) -> u32 {
    let (mut a, mut s) = (1u32, 0u32);
    for chunk in b.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            s += a;
        }
        a %= 65521;
        s %= 65521;
    }
    (s << 16) | a
}

pub(super) fn hex(b: &[u8]) -> SecretBytes {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut out = SecretBytes::with_capacity(b.len() * 2);
    for x in b {
        out.push(H[usize::from(x >> 4)]);
        out.push(H[usize::from(x & 15)]);
    }
    out
}
