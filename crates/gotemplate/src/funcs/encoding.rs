//! Sprig's base64 and base32 functions (`strings.go`).

use super::PT::Str;
#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::call("b64enc", sg(&[Str], None), b64enc),
    Func::call("b64dec", sg(&[Str], None), b64dec),
    Func::call("b32enc", sg(&[Str], None), b32enc),
    Func::call("b32dec", sg(&[Str], None), b32dec),
];

fn b64enc(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let s = base64::engine::general_purpose::STANDARD.encode(s_arg(&a, 0)?);
    let v = mk_bytes(ex, s.as_bytes());
    drop(SecretBytes::new(s.into_bytes()));
    v
}

fn b64dec(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    match b64_decode(s_arg(&a, 0)?) {
        Ok(d) => {
            let v = mk_bytes(ex, &d);
            drop(SecretBytes::new(d));
            v
        }
        Err(pos) => mk_bytes(
            ex,
            format!("illegal base64 data at input byte {pos}").as_bytes(),
        ),
    }
}

fn b32enc(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    let s = b32_encode(s_arg(&a, 0)?);
    let v = mk_bytes(ex, &s);
    drop(SecretBytes::new(s));
    v
}

fn b32dec(ex: &mut dyn Runtime, _name: &str, a: Vec<Value>) -> FR {
    match b32_decode(s_arg(&a, 0)?) {
        Ok(d) => {
            let v = mk_bytes(ex, &d);
            drop(SecretBytes::new(d));
            v
        }
        Err(pos) => mk_bytes(
            ex,
            format!("illegal base32 data at input byte {pos}").as_bytes(),
        ),
    }
}

/// encoding/base64 StdEncoding.DecodeString (non-strict), error offset as Go.
pub(super) fn b64_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    fn val(c: u8) -> Option<u8> {
        match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(src.len() / 4 * 3 + 3);
    let mut si = 0usize;
    loop {
        let mut dbuf = [0u8; 4];
        let mut dlen = 4;
        let mut j = 0usize;
        let mut trailing_err: Option<usize> = None;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            }
            let c = src.get(si).copied().unwrap_or(0);
            si += 1;
            if let Some(v) = val(c) {
                if let Some(d) = dbuf.get_mut(j) {
                    *d = v;
                }
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while si < src.len() && matches!(src.get(si), Some(b'\n' | b'\r')) {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(src.len());
                    }
                    if src.get(si) != Some(&b'=') {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && matches!(src.get(si), Some(b'\n' | b'\r')) {
                si += 1;
            }
            if si < src.len() {
                trailing_err = Some(si);
            }
            dlen = j;
            break;
        }
        let v = (u32::from(dbuf[0]) << 18)
            | (u32::from(dbuf[1]) << 12)
            | (u32::from(dbuf[2]) << 6)
            | u32::from(dbuf[3]);
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        let n = dlen.saturating_sub(1);
        out.extend_from_slice(bytes.get(..n).unwrap_or(&[]));
        if let Some(p) = trailing_err {
            return Err(p);
        }
        if dlen < 4 {
            return Ok(out);
        }
    }
}

pub(super) fn b32_encode(src: &[u8]) -> Vec<u8> {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::with_capacity(src.len().div_ceil(5) * 8);
    for chunk in src.chunks(5) {
        let mut b = [0u8; 5];
        for (i, c) in chunk.iter().enumerate() {
            if let Some(x) = b.get_mut(i) {
                *x = *c;
            }
        }
        let v = b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
        let nchars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < nchars {
                let idx = ((v >> (35 - 5 * i)) & 31) as usize;
                out.push(A[idx]);
            } else {
                out.push(b'=');
            }
        }
    }
    out
}

pub(super) fn b32_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    let buf: Vec<u8> = src
        .iter()
        .copied()
        .filter(|c| *c != b'\n' && *c != b'\r')
        .collect();
    let val = |c: u8| -> u8 {
        match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => 0xFF,
        }
    };
    let olen = buf.len();
    let mut src = buf.as_slice();
    let mut out = Vec::new();
    let mut end = false;
    while !src.is_empty() && !end {
        let mut dbuf = [0u8; 8];
        let mut dlen = 8;
        let mut j = 0usize;
        while j < 8 {
            if src.is_empty() {
                return Err(olen - src.len() - j);
            }
            let c = src.first().copied().unwrap_or(0);
            src = src.get(1..).unwrap_or(&[]);
            if c == b'=' && j >= 2 && src.len() < 8 {
                if src.len() + j < 7 {
                    return Err(olen);
                }
                for k in 0..(7 - j) {
                    if src.len() > k && src.get(k) != Some(&b'=') {
                        return Err(olen - src.len() + k - 1);
                    }
                }
                dlen = j;
                end = true;
                if matches!(dlen, 1 | 3 | 6) {
                    return Err(olen - src.len() - 1);
                }
                break;
            }
            let v = val(c);
            if v == 0xFF {
                return Err(olen - src.len() - 1);
            }
            if let Some(d) = dbuf.get_mut(j) {
                *d = v;
            }
            j += 1;
        }
        let d = dbuf;
        let bytes = [
            (d[0] << 3) | (d[1] >> 2),
            (d[1] << 6) | (d[2] << 1) | (d[3] >> 4),
            (d[3] << 4) | (d[4] >> 1),
            (d[4] << 7) | (d[5] << 2) | (d[6] >> 3),
            (d[6] << 5) | d[7],
        ];
        let n = match dlen {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(bytes.get(..n).unwrap_or(&[]));
    }
    Ok(out)
}
