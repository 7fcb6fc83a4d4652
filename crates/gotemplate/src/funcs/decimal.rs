//! The exact decimal arithmetic Sprig's `addf`/`subf`/`mulf`/`divf`/`add1f` do through
//! shopspring/decimal: each float64 becomes the shortest decimal that round-trips, the
//! operation is exact (division: 16 places after the point, half away from zero), and the
//! result is the float64 nearest to the exact decimal.

use std::cmp::Ordering;

/// Places after the point that a division keeps (shopspring/decimal's `DivisionPrecision`).
const DIVISION_PRECISION: i64 = 16;

/// Why an operation has no result (Sprig panics; the template call fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalError {
    /// NaN or an infinity has no decimal.
    NotFinite,
    /// Division by zero.
    DivByZero,
    /// An exponent beyond int32, as shopspring/decimal refuses.
    Overflow,
}

/// `±digits × 10^exp`; `digits` little-endian base-10, no leading (high) zeros.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decimal {
    neg: bool,
    digits: Vec<u8>,
    exp: i64,
}

fn trim(d: &mut Vec<u8>) {
    while d.last() == Some(&0) {
        d.pop();
    }
}

fn cmp_mag(a: &[u8], b: &[u8]) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.iter().rev().cmp(b.iter().rev()))
}

fn add_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let mut carry = 0u8;
    for i in 0..a.len().max(b.len()) {
        let s = a.get(i).copied().unwrap_or(0) + b.get(i).copied().unwrap_or(0) + carry;
        out.push(s % 10);
        carry = s / 10;
    }
    if carry > 0 {
        out.push(carry);
    }
    out
}

/// `a - b` for `a >= b`.
fn sub_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0i8;
    for (i, &x) in a.iter().enumerate() {
        let mut d = x as i8 - b.get(i).copied().unwrap_or(0) as i8 - borrow;
        borrow = i8::from(d < 0);
        if d < 0 {
            d += 10;
        }
        out.push(d as u8);
    }
    trim(&mut out);
    out
}

fn mul_mag(a: &[u8], b: &[u8]) -> Vec<u8> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    // Column sums stay below 81 × min(len) (the operands are at most a few million
    // digits), then one carry pass: O(len(a) × len(b)).
    let mut acc = vec![0u64; a.len() + b.len()];
    for (i, &x) in a.iter().enumerate() {
        for (slot, &y) in acc[i..].iter_mut().zip(b) {
            *slot += u64::from(x) * u64::from(y);
        }
    }
    let mut out = Vec::with_capacity(acc.len() + 1);
    let mut carry = 0u64;
    for v in acc {
        let v = v + carry;
        out.push((v % 10) as u8);
        carry = v / 10;
    }
    while carry > 0 {
        out.push((carry % 10) as u8);
        carry /= 10;
    }
    trim(&mut out);
    out
}

/// `10^k × a`.
fn shift_up(a: &[u8], k: usize) -> Vec<u8> {
    if a.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0u8; k];
    out.extend_from_slice(a);
    out
}

/// Quotient and remainder of `a / b` for a small `b > 0`.
fn divmod_small(a: &[u8], b: u64) -> (Vec<u8>, u64) {
    let mut q = vec![0u8; a.len()];
    let mut r = 0u64;
    for i in (0..a.len()).rev() {
        let cur = r * 10 + u64::from(a.get(i).copied().unwrap_or(0));
        if let Some(slot) = q.get_mut(i) {
            *slot = (cur / b) as u8;
        }
        r = cur % b;
    }
    trim(&mut q);
    (q, r)
}

fn from_u64(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while v > 0 {
        out.push((v % 10) as u8);
        v /= 10;
    }
    out
}

fn to_u64(a: &[u8]) -> Option<u64> {
    a.iter().rev().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

impl Decimal {
    fn zero() -> Decimal {
        Decimal {
            neg: false,
            digits: Vec::new(),
            exp: 0,
        }
    }

    /// Number of digits held: what an operation on this value costs.
    pub(crate) fn len(&self) -> usize {
        self.digits.len()
    }

    /// shopspring/decimal `NewFromFloat`: the shortest decimal that round-trips.
    pub(crate) fn from_f64(f: f64) -> Result<Decimal, DecimalError> {
        if !f.is_finite() {
            return Err(DecimalError::NotFinite);
        }
        if f == 0.0 {
            return Ok(Decimal::zero());
        }
        // `{:e}` is the shortest round-trip form, e.g. "-1.25e-3".
        let s = format!("{:e}", f.abs());
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i64 = e.parse().unwrap_or(0);
        let frac_len = mant.split_once('.').map_or(0, |(_, f)| f.len());
        let mut digits: Vec<u8> = mant
            .bytes()
            .filter(u8::is_ascii_digit)
            .rev()
            .map(|c| c - b'0')
            .collect();
        trim(&mut digits);
        Ok(Decimal {
            neg: f < 0.0,
            digits,
            exp: e - frac_len as i64,
        })
    }

    /// shopspring/decimal `Float64`: the float64 nearest to the exact value.
    pub(crate) fn to_f64(&self) -> f64 {
        if self.digits.is_empty() {
            return 0.0;
        }
        let mut s = String::with_capacity(self.digits.len() + 24);
        if self.neg {
            s.push('-');
        }
        s.extend(self.digits.iter().rev().map(|d| char::from(b'0' + d)));
        s.push('e');
        s.push_str(&self.exp.to_string());
        s.parse().unwrap_or(0.0)
    }

    /// Both magnitudes at the smaller exponent.
    fn aligned(&self, other: &Decimal) -> (Vec<u8>, Vec<u8>, i64) {
        let exp = self.exp.min(other.exp);
        let up = |d: &Decimal| shift_up(&d.digits, usize::try_from(d.exp - exp).unwrap_or(0));
        (up(self), up(other), exp)
    }

    fn signed(neg: bool, mut digits: Vec<u8>, exp: i64) -> Decimal {
        trim(&mut digits);
        if digits.is_empty() {
            return Decimal::zero();
        }
        Decimal { neg, digits, exp }
    }

    pub(crate) fn add(&self, other: &Decimal) -> Decimal {
        let (a, b, exp) = self.aligned(other);
        if self.neg == other.neg {
            return Decimal::signed(self.neg, add_mag(&a, &b), exp);
        }
        match cmp_mag(&a, &b) {
            Ordering::Less => Decimal::signed(other.neg, sub_mag(&b, &a), exp),
            _ => Decimal::signed(self.neg, sub_mag(&a, &b), exp),
        }
    }

    pub(crate) fn sub(&self, other: &Decimal) -> Decimal {
        let mut neg = other.clone();
        neg.neg = !neg.neg && !neg.digits.is_empty();
        self.add(&neg)
    }

    pub(crate) fn mul(&self, other: &Decimal) -> Result<Decimal, DecimalError> {
        let exp = self.exp + other.exp;
        if i32::try_from(exp).is_err() {
            return Err(DecimalError::Overflow);
        }
        Ok(Decimal::signed(
            self.neg != other.neg,
            mul_mag(&self.digits, &other.digits),
            exp,
        ))
    }

    /// shopspring/decimal `Div`: `DivRound(other, 16)`, where `other` came from a float64
    /// (its digits fit a u64).
    pub(crate) fn div(&self, other: &Decimal) -> Result<Decimal, DecimalError> {
        let b = to_u64(&other.digits).ok_or(DecimalError::Overflow)?;
        if b == 0 {
            return Err(DecimalError::DivByZero);
        }
        // QuoRem: the quotient is an integer multiple of 10^-16, truncated toward zero.
        let e = self.exp - other.exp + DIVISION_PRECISION;
        if i32::try_from(e).is_err() {
            return Err(DecimalError::Overflow);
        }
        let k = usize::try_from(e.unsigned_abs()).map_err(|_| DecimalError::Overflow)?;
        // q = trunc(A / B); round away from zero when 2R >= B.
        let (q, round_up) = if e >= 0 {
            let (q, r) = divmod_small(&shift_up(&self.digits, k), b);
            (q, u128::from(r) * 2 >= u128::from(b))
        } else {
            // B = b × 10^k: divide by b, then drop k digits.
            let (q1, r1) = divmod_small(&self.digits, b);
            let split = k.min(q1.len());
            let low: Vec<u8> = q1.get(..split).unwrap_or(&[]).to_vec();
            let mut q: Vec<u8> = q1.get(split..).unwrap_or(&[]).to_vec();
            trim(&mut q);
            // R = low × b + r1 compared with B = b × 10^k, doubled.
            let mut low = low;
            trim(&mut low);
            let r = add_mag(&mul_mag(&low, &from_u64(b)), &from_u64(r1));
            let r2 = add_mag(&r, &r);
            let big_b = shift_up(&from_u64(b), k);
            (q, cmp_mag(&r2, &big_b) != Ordering::Less)
        };
        let q = if round_up { add_mag(&q, &[1]) } else { q };
        Ok(Decimal::signed(
            self.neg != other.neg,
            q,
            -DIVISION_PRECISION,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(f: f64) -> Decimal {
        Decimal::from_f64(f).expect("finite")
    }

    #[test]
    fn decimal_sums_are_exact_before_rounding_to_float() {
        // 0.1 + 0.2 as decimals is exactly 0.3, unlike float addition.
        assert_eq!(d(0.1).add(&d(0.2)).to_f64(), 0.3);
        assert_eq!(d(5.0).sub(&d(1.25)).to_f64(), 3.75);
        assert_eq!(d(1.1).mul(&d(1.1)).expect("mul").to_f64(), 1.21);
        assert_eq!(d(1e300).add(&d(1e-300)).to_f64(), 1e300);
    }

    #[test]
    fn division_keeps_sixteen_places_rounding_half_away_from_zero() {
        assert_eq!(
            d(1.0).div(&d(3.0)).expect("div").to_f64(),
            0.3333333333333333
        );
        assert_eq!(
            d(2.0).div(&d(3.0)).expect("div").to_f64(),
            0.6666666666666667
        );
        assert_eq!(
            d(-2.0).div(&d(3.0)).expect("div").to_f64(),
            -0.6666666666666667
        );
        // beyond 16 places the quotient is 0 (rounded), and 5e-17 rounds up to 1e-16
        assert_eq!(d(1e-20).div(&d(1.0)).expect("div").to_f64(), 0.0);
        assert_eq!(d(5e-17).div(&d(1.0)).expect("div").to_f64(), 1e-16);
        assert_eq!(d(1.0).div(&d(0.0)), Err(DecimalError::DivByZero));
        assert_eq!(d(7.0).div(&d(2e20)).expect("div").to_f64(), 0.0);
        assert_eq!(d(7.0).div(&d(2e15)).expect("div").to_f64(), 3.5e-15);
    }

    #[test]
    fn zero_results_are_positive_zero() {
        let z = d(1.5).sub(&d(1.5)).to_f64();
        assert!(z == 0.0 && z.is_sign_positive());
        assert_eq!(Decimal::from_f64(f64::NAN), Err(DecimalError::NotFinite));
    }
}
