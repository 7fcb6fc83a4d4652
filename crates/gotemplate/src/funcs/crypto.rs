//! Sprig `crypto.go`: hashes, and the random and key-generating functions.

use std::time::Duration;

use aes::cipher::{BlockCipherDecrypt as _, BlockCipherEncrypt as _, KeyInit as _};
use base64::engine::general_purpose::STANDARD;
use rand::RngExt as _;

use super::PT::{Str, Uint32};
#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("sha1sum", sg(&[Str], None), sha1sum),
    Func::call("sha256sum", sg(&[Str], None), sha256sum),
    Func::call("sha512sum", sg(&[Str], None), sha512sum),
    Func::call("adler32sum", sg(&[Str], None), adler32sum),
    Func::call("bcrypt", sg(&[Str], None), bcrypt),
    Func::call("htpasswd", sg(&[Str, Str], None), htpasswd),
    Func::call(
        "derivePassword",
        sg(&[Uint32, Str, Str, Str, Str], None),
        derive_password,
    ),
    Func::call("encryptAES", sg(&[Str, Str], None), encrypt_aes),
    Func::call("decryptAES", sg(&[Str, Str], None), decrypt_aes),
];

fn sha1sum(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let d = sha1::Sha1::digest(s_arg(&a, 0)?);
    mk_str(ex, hex(&d))
}

fn sha256sum(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let d = sha2::Sha256::digest(s_arg(&a, 0)?);
    mk_str(ex, hex(&d))
}

fn sha512sum(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let d = sha2::Sha512::digest(s_arg(&a, 0)?);
    mk_str(ex, hex(&d))
}

fn adler32sum(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
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

/// Sprig's AES key: the password's first 32 bytes, zero-padded (AES-256).
fn aes_key(password: &[u8]) -> Result<aes::Aes256, ErrKind> {
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password[..n]);
    aes::Aes256::new_from_slice(&key[..]).map_err(|_| e("crypto/aes: invalid key size"))
}

/// Sprig's `encryptAES`: PKCS#7 padding, AES-256-CBC with a random IV, base64 of IV and
/// ciphertext; the empty plaintext stays empty.
fn encrypt_aes(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let (password, plaintext) = (s_arg(&a, 0)?, s_arg(&a, 1)?);
    if plaintext.is_empty() {
        return mk_bytes(ex, b"");
    }
    ex.alloc(plaintext.len().saturating_mul(3) + 64)?;
    ex.charge_scan(plaintext.len().saturating_mul(16))?;
    let cipher = aes_key(password)?;
    let pad = 16 - plaintext.len() % 16;
    let mut out = SecretBytes::with_capacity(16 + plaintext.len() + pad);
    let mut iv = [0u8; 16];
    rand::rng().fill(&mut iv[..]);
    out.extend(&iv);
    let mut prev = aes::Block::from(iv);
    let mut padded = zeroize::Zeroizing::new(plaintext.to_vec());
    padded.resize(plaintext.len() + pad, pad as u8);
    for chunk in padded.chunks_exact(16) {
        let mut block = aes::Block::default();
        for ((b, p), c) in block.iter_mut().zip(prev.iter()).zip(chunk) {
            *b = p ^ c;
        }
        cipher.encrypt_block(&mut block);
        out.extend(&block);
        prev = block;
    }
    let encoded = STANDARD.encode(out.as_bytes());
    mk_bytes(ex, encoded.as_bytes())
}

/// Sprig's `decryptAES`: AES-256-CBC, then as many trailing bytes dropped as the last byte
/// says (unchecked, as Sprig does). Input Go would panic on (shorter than two blocks, not
/// whole blocks, a pad longer than the text) fails.
fn decrypt_aes(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let (password, crypt64) = (s_arg(&a, 0)?, s_arg(&a, 1)?);
    if crypt64.is_empty() {
        return mk_bytes(ex, b"");
    }
    ex.alloc(crypt64.len().saturating_mul(2))?;
    ex.charge_scan(crypt64.len().saturating_mul(16))?;
    let crypt = std::str::from_utf8(crypt64)
        .ok()
        .and_then(SecretBytes::decode_base64)
        .ok_or_else(|| e("illegal base64 data"))?;
    let cipher = aes_key(password)?;
    let crypt = crypt.as_bytes();
    if crypt.len() < 16 {
        return Err(e("slice bounds out of range"));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err(e("crypto/cipher: input not full blocks"));
    }
    let mut plain = SecretBytes::with_capacity(body.len());
    let mut prev = aes::Block::default();
    prev.copy_from_slice(iv);
    for chunk in body.chunks_exact(16) {
        let mut block = aes::Block::default();
        block.copy_from_slice(chunk);
        let ciphertext = block;
        cipher.decrypt_block(&mut block);
        for (b, p) in block.iter_mut().zip(prev.iter()) {
            *b ^= p;
        }
        plain.extend(&block);
        prev = ciphertext;
    }
    let bytes = plain.as_bytes();
    let pad = usize::from(*bytes.last().ok_or_else(|| e("index out of range"))?);
    let keep = bytes
        .len()
        .checked_sub(pad)
        .ok_or_else(|| e("slice bounds out of range"))?;
    mk_bytes(ex, &bytes[..keep])
}

/// The Master Password algorithm's seed (Sprig's `masterPasswordSeed`).
const MASTER_PASSWORD_SEED: &[u8] = b"com.lyndir.masterpassword";

/// Master Password templates per password type (Sprig's `passwordTypeTemplates`).
fn password_templates(kind: &[u8]) -> Option<&'static [&'static [u8]]> {
    Some(match kind {
        b"maximum" => &[b"anoxxxxxxxxxxxxxxxxx", b"axxxxxxxxxxxxxxxxxno"],
        b"long" => &[
            b"CvcvnoCvcvCvcv",
            b"CvcvCvcvnoCvcv",
            b"CvcvCvcvCvcvno",
            b"CvccnoCvcvCvcv",
            b"CvccCvcvnoCvcv",
            b"CvccCvcvCvcvno",
            b"CvcvnoCvccCvcv",
            b"CvcvCvccnoCvcv",
            b"CvcvCvccCvcvno",
            b"CvcvnoCvcvCvcc",
            b"CvcvCvcvnoCvcc",
            b"CvcvCvcvCvccno",
            b"CvccnoCvccCvcv",
            b"CvccCvccnoCvcv",
            b"CvccCvccCvcvno",
            b"CvcvnoCvccCvcc",
            b"CvcvCvccnoCvcc",
            b"CvcvCvccCvccno",
            b"CvccnoCvcvCvcc",
            b"CvccCvcvnoCvcc",
            b"CvccCvcvCvccno",
        ],
        b"medium" => &[b"CvcnoCvc", b"CvcCvcno"],
        b"short" => &[b"Cvcn"],
        b"basic" => &[b"aaanaaan", b"aannaaan", b"aaannaaa"],
        b"pin" => &[b"nnnn"],
        _ => return None,
    })
}

/// The characters a template letter stands for (Sprig's `templateCharacters`).
fn template_characters(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// HMAC-SHA-256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = zeroize::Zeroizing::new([0u8; 64]);
    if key.len() > 64 {
        block[..32].copy_from_slice(&sha2::Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |x: u8| -> zeroize::Zeroizing<Vec<u8>> {
        zeroize::Zeroizing::new(block.iter().map(|b| b ^ x).collect())
    };
    let inner = sha2::Sha256::new()
        .chain_update(&pad(0x36)[..])
        .chain_update(message)
        .finalize();
    let outer = sha2::Sha256::new()
        .chain_update(&pad(0x5c)[..])
        .chain_update(inner)
        .finalize();
    outer.into()
}

/// Memory scrypt needs for Master Password's parameters (128 · r · N bytes).
const SCRYPT_MEMORY: usize = 128 * 8 * 32_768;
/// Work charged for one scrypt derivation, on top of its memory.
const SCRYPT_WORK: u64 = 500_000;
/// Time one derivation may take on a loaded core: what must be left before the deadline.
const SCRYPT_TIME: Duration = Duration::from_millis(600);

/// Sprig's `derivePassword`: Master Password (scrypt N=32768, r=8, p=2 keyed by the user,
/// HMAC-SHA-256 over the site and counter, characters from the type's template). An
/// unknown type gives Sprig's message instead of a password.
fn derive_password(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let counter = u32::try_from(i_arg(&a, 0)?).map_err(|_| e("expected uint32"))?;
    let (kind, password, user, site) = (s_arg(&a, 1)?, s_arg(&a, 2)?, s_arg(&a, 3)?, s_arg(&a, 4)?);
    let Some(templates) = password_templates(kind) else {
        let mut msg = b"cannot find password template ".to_vec();
        msg.extend(kind);
        return mk_bytes(ex, &msg);
    };
    ex.charge_step(SCRYPT_WORK, SCRYPT_TIME)?;
    ex.alloc(SCRYPT_MEMORY)?;
    ex.charge_scan(password.len() + user.len() + site.len())?;
    let len32 = |s: &[u8]| (s.len() as u32).to_be_bytes();
    let mut salt = MASTER_PASSWORD_SEED.to_vec();
    salt.extend(len32(user));
    salt.extend(user);
    let params = scrypt::Params::new(15, 8, 2, 64).map_err(|_| e("scrypt parameters"))?;
    let mut key = zeroize::Zeroizing::new([0u8; 64]);
    scrypt::scrypt(password, &salt, &params, &mut key[..])
        .map_err(|_| e("failed to derive password"))?;
    let mut message = MASTER_PASSWORD_SEED.to_vec();
    message.extend(len32(site));
    message.extend(site);
    message.extend(counter.to_be_bytes());
    let seed = zeroize::Zeroizing::new(hmac_sha256(&key[..], &message));
    let template = templates[usize::from(seed[0]) % templates.len()];
    let mut out = SecretBytes::with_capacity(template.len());
    for (i, &c) in template.iter().enumerate() {
        let chars = template_characters(c);
        let pick = seed.get(i + 1).copied().unwrap_or(0);
        out.push(chars[usize::from(pick) % chars.len()]);
    }
    mk_str(ex, out)
}

/// bcrypt's cost in x/crypto (`bcrypt.DefaultCost`): 2^10 key expansions.
const BCRYPT_COST: u32 = 10;
/// Work charged per bcrypt hash: about what its key expansions take, so that an object's
/// work budget allows only a few (five with the defaults).
const BCRYPT_WORK: u64 = 2_000_000;
/// Time a bcrypt hash may take on a loaded core: what must be left before the deadline.
const BCRYPT_TIME: Duration = Duration::from_millis(100);

/// bcrypt's base64 (its own alphabet, no padding).
fn bcrypt_base64(b: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = Vec::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let v = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &x)| acc | (u32::from(x) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((v >> (18 - 6 * i)) & 63) as usize]);
        }
    }
    out
}

/// x/crypto's `GenerateFromPassword(password, DefaultCost)`: `$2a$10$`, a random 16-byte
/// salt and the 23-byte EksBlowfish hash, both in bcrypt's base64.
fn bcrypt_hash(password: &[u8]) -> Result<SecretBytes, &'static str> {
    if password.len() > 72 {
        return Err("bcrypt: password length exceeds 72 bytes");
    }
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt[..]);
    Ok(bcrypt_with_salt(password, &salt, BCRYPT_COST))
}

/// EksBlowfish with the key's trailing NUL, as C bcrypt (and x/crypto) use it.
pub(crate) fn bcrypt_with_salt(password: &[u8], salt: &[u8; 16], cost: u32) -> SecretBytes {
    let mut key = zeroize::Zeroizing::new(password.to_vec());
    key.push(0);
    let mut state = <blowfish::Blowfish>::bc_init_state();
    state.salted_expand_key(salt, &key);
    for _ in 0..1u64 << cost {
        state.bc_expand_key(&key);
        state.bc_expand_key(salt);
    }
    let magic = b"OrpheanBeholderScryDoubt";
    let mut words: Vec<u32> = magic
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    for pair in words.chunks_exact_mut(2) {
        let mut lr = [pair[0], pair[1]];
        for _ in 0..64 {
            lr = state.bc_encrypt(lr);
        }
        pair.copy_from_slice(&lr);
    }
    let mut hash = zeroize::Zeroizing::new(Vec::with_capacity(24));
    for w in &words {
        hash.extend(w.to_be_bytes());
    }
    let mut out = SecretBytes::with_capacity(60);
    out.push_str(&format!("$2a${cost:02}$"));
    out.extend(&bcrypt_base64(salt));
    // only 23 of the 24 bytes, as C bcrypt
    out.extend(&bcrypt_base64(&hash[..23]));
    out
}

/// Sprig's `bcrypt`: a failure is returned as text, not as an error.
fn bcrypt_text(ex: &mut dyn Runtime, password: &[u8]) -> Result<SecretBytes, ErrKind> {
    ex.charge_step(BCRYPT_WORK, BCRYPT_TIME)?;
    Ok(match bcrypt_hash(password) {
        Ok(h) => h,
        Err(msg) => {
            let mut out = SecretBytes::default();
            out.push_str("failed to encrypt string with bcrypt: ");
            out.push_str(msg);
            out
        }
    })
}

fn bcrypt(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let h = bcrypt_text(ex, s_arg(&a, 0)?)?;
    mk_str(ex, h)
}

/// Sprig's `htpasswd`: `user:bcrypt`, or a message for a user name with a colon.
fn htpasswd(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let (user, password) = (s_arg(&a, 0)?, s_arg(&a, 1)?);
    let mut out = SecretBytes::default();
    if user.contains(&b':') {
        out.push_str("invalid username: ");
        out.extend(user);
        return mk_str(ex, out);
    }
    out.extend(user);
    out.push(b':');
    out.extend(bcrypt_text(ex, password)?.as_bytes());
    mk_str(ex, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bcrypt_base64_decode(s: &[u8]) -> Vec<u8> {
        const ALPHABET: &[u8; 64] =
            b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let vals: Vec<u32> = s
            .iter()
            .map(|c| ALPHABET.iter().position(|a| a == c).expect("alphabet") as u32)
            .collect();
        let mut out = Vec::new();
        for chunk in vals.chunks(4) {
            let v = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &x)| acc | (x << (18 - 6 * i)));
            for i in 0..chunk.len() - 1 {
                out.push((v >> (16 - 8 * i)) as u8);
            }
        }
        out
    }

    /// Recomputes a `$2a$` hash from its salt and cost, as `CompareHashAndPassword` does.
    fn verifies(hash: &[u8], password: &[u8]) -> bool {
        let cost: u32 = std::str::from_utf8(&hash[4..6])
            .expect("utf8")
            .parse()
            .expect("cost");
        let salt: [u8; 16] = bcrypt_base64_decode(&hash[7..29])
            .try_into()
            .expect("16 bytes");
        bcrypt_with_salt(password, &salt, cost).as_bytes() == hash
    }

    #[test]
    fn bcrypt_matches_x_crypto_known_answer() {
        let known = b"$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga";
        assert!(verifies(known, b"allmine"));
        assert!(!verifies(known, b"allmine!"));
        let known = b"$2a$10$LK9XRuhNxHHCvjX3tdkRKei1QiCDUKrJRhZv7WWZPuQGRUM92rOUa";
        assert!(verifies(known, b"passw0rd"));
    }

    #[test]
    fn bcrypt_hashes_verify_and_are_salted() {
        let a = bcrypt_hash(b"pw").expect("hash");
        let b = bcrypt_hash(b"pw").expect("hash");
        assert_eq!(a.len(), 60);
        assert!(a.as_bytes().starts_with(b"$2a$10$"));
        assert!(verifies(a.as_bytes(), b"pw") && verifies(b.as_bytes(), b"pw"));
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert!(bcrypt_hash(&[b'x'; 73]).is_err());
        assert!(bcrypt_hash(&[b'x'; 72]).is_ok());
    }

    #[test]
    fn bcrypt_in_templates_is_limited_by_the_work_budget() {
        let limits = crate::Limits {
            deadline: std::time::Duration::from_secs(3600),
            ..crate::Limits::default()
        };
        let data = BTreeMap::new();
        let err = crate::Budget::new(limits)
            .render("{{ range until 100 }}{{ bcrypt \"pw\" }}{{ end }}", &data)
            .expect_err("the budget stops the loop");
        assert!(
            matches!(err, crate::TemplateError::Limit { limit: Limit::Work }),
            "{err}"
        );
    }
}
