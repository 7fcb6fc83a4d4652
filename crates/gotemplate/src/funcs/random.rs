//! The random functions, which Sprig spreads over `strings.go` (`randAlphaNum`, ...,
//! `shuffle`), `numeric.go` (`randInt`) and `crypto.go` (`randBytes`, `uuidv4`). All draw
//! from the thread's cryptographically secure generator (Sprig uses `crypto/rand` for the
//! strings and bytes, `math/rand` for `randInt` and `shuffle`).

use rand::RngExt as _;

use super::PT::{Int, Str};
#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("randAlphaNum", sg(&[Int], None), rand_string),
    Func::call("randAlpha", sg(&[Int], None), rand_string),
    Func::call("randAscii", sg(&[Int], None), rand_string),
    Func::call("randNumeric", sg(&[Int], None), rand_string),
    Func::call("shuffle", sg(&[Str], None), shuffle),
    Func::call("randInt", sg(&[Int, Int], None), rand_int),
    Func::call("randBytes", sg(&[Int], None), rand_bytes),
    Func::call("uuidv4", sg(&[], None), uuidv4),
];

const DIGITS: &[u8] = b"0123456789";
const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ALPHANUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The characters goutils' `CryptoRandom*` keeps: uniform over each alphabet (it draws from
/// `' '..='z'` or `' '..='~'` and rejects what is not a letter or digit as asked).
fn alphabet(name: &str) -> Option<&'static [u8]> {
    match name {
        "randAlphaNum" => Some(ALPHANUM),
        "randAlpha" => Some(LETTERS),
        "randNumeric" => Some(DIGITS),
        // randAscii: every printable ASCII character, space included
        _ => None,
    }
}

/// A negative count is goutils' error, which Sprig drops: the empty string.
fn rand_string(ex: &mut dyn Runtime, name: &str, a: Vec<Value>) -> FR {
    let Ok(count) = usize::try_from(i_arg(&a, 0)?) else {
        return mk_bytes(ex, b"");
    };
    ex.alloc(count)?;
    let mut rng = rand::rng();
    let mut out = SecretBytes::with_capacity(count);
    for chunk in 0..count.div_ceil(256) {
        ex.charge(1)?;
        for _ in 0..(count - chunk * 256).min(256) {
            let c = match alphabet(name) {
                Some(set) => set[rng.random_range(0..set.len())],
                None => rng.random_range(b' '..=b'~'),
            };
            out.push(c);
        }
    }
    Ok(Value::string(out))
}

/// xstrings' `Shuffle`: the runes (invalid UTF-8 becomes U+FFFD) in a random order.
fn shuffle(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let s = s_arg(&a, 0)?;
    ex.charge_scan(s.len().saturating_mul(8))?;
    let mut chars: Vec<char> = runes(s).map(|(c, _, _)| c).collect();
    ex.alloc(chars.len().saturating_mul(4))?;
    let mut rng = rand::rng();
    for i in (1..chars.len()).rev() {
        let j = rng.random_range(0..=i);
        chars.swap(i, j);
    }
    let mut out = SecretBytes::with_capacity(s.len());
    for c in chars {
        out.push_char(c);
    }
    Ok(Value::string(out))
}

/// `rand.Intn(max-min) + min`: fails (Go panics) unless `max > min`.
fn rand_int(_ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let (min, max) = (i_arg(&a, 0)?, i_arg(&a, 1)?);
    let n = max.wrapping_sub(min);
    if n <= 0 {
        return Err(e("invalid argument to Intn"));
    }
    Ok(Value::int(rand::rng().random_range(0..n).wrapping_add(min)))
}

/// `count` random bytes, base64 (standard, padded).
fn rand_bytes(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let count = usize::try_from(i_arg(&a, 0)?).map_err(|_| e("makeslice: len out of range"))?;
    ex.alloc(count.saturating_mul(3))?;
    let mut buf = zeroize::Zeroizing::new(vec![0u8; count]);
    rand::rng().fill(&mut buf[..]);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&buf[..]);
    Ok(Value::string(SecretBytes::new(encoded.into_bytes())))
}

/// A random (version 4, RFC 4122 variant) UUID, lower-case and hyphenated.
fn uuidv4(ex: &mut dyn Runtime, _name: &str, _a: Vec<Value>) -> FR {
    let mut b = [0u8; 16];
    rand::rng().fill(&mut b[..]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = super::crypto::hex(&b);
    let h = h.as_bytes();
    let mut out = Vec::with_capacity(36);
    for (i, range) in [0..8, 8..12, 12..16, 16..20, 20..32]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push(b'-');
        }
        out.extend_from_slice(&h[range]);
    }
    mk_bytes(ex, &out)
}
