//! JSON number text → `f64`, exact for what `JSON.stringify` writes, without the
//! tables of a general correctly rounded parser (which would weigh more than the
//! whole msgpack codec in the WebAssembly build).
//!
//! `JSON.stringify` writes the shortest digits that read back as the number. A
//! number of at most 15 digits and a power of ten within ±22 is computed exactly
//! (both fit a double exactly: one rounding). Any other is approximated within a
//! few units in the last place, then the neighbours of the approximation are
//! searched for the double whose own shortest digits (formatted by `zmij`, the
//! formatter the core already has) are the text's: that double is the one the
//! text stands for. Digits that are no double's shortest form (more than 17, say)
//! keep the approximation.

/// Exact powers of ten in `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// How many doubles either side of the approximation are searched.
const SEARCH: u64 = 24;

/// A decimal number: `digits` (no leading or trailing zero; empty for zero)
/// times ten to the power `exp`.
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    exp: i64,
}

/// Reads JSON number text (an optional `+` in the exponent allowed).
fn decimal(text: &[u8]) -> Option<Decimal> {
    let mut i = 0;
    let negative = text.first() == Some(&b'-');
    if negative {
        i += 1;
    }
    let mut digits = Vec::new();
    let mut exp: i64 = 0;
    let int_start = i;
    while let Some(d @ b'0'..=b'9') = text.get(i) {
        digits.push(d - b'0');
        i += 1;
    }
    if i == int_start {
        return None;
    }
    if text.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while let Some(d @ b'0'..=b'9') = text.get(i) {
            digits.push(d - b'0');
            exp -= 1;
            i += 1;
        }
        if i == frac_start {
            return None;
        }
    }
    if let Some(b'e' | b'E') = text.get(i) {
        i += 1;
        let exp_negative = text.get(i) == Some(&b'-');
        if matches!(text.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp_start = i;
        let mut e: i64 = 0;
        while let Some(d @ b'0'..=b'9') = text.get(i) {
            e = (e * 10 + i64::from(d - b'0')).min(1_000_000);
            i += 1;
        }
        if i == exp_start {
            return None;
        }
        exp += if exp_negative { -e } else { e };
    }
    if i != text.len() {
        return None;
    }
    let first = digits.iter().position(|&d| d != 0).unwrap_or(digits.len());
    digits.drain(..first);
    while digits.last() == Some(&0) {
        digits.pop();
        exp += 1;
    }
    Some(Decimal {
        negative,
        digits,
        exp,
    })
}

/// `m` times ten to the power `e`, within a few units in the last place.
fn scale(m: f64, mut e: i64) -> f64 {
    let mut v = m;
    while e > 0 {
        let s = e.min(300);
        v *= 10f64.powi(s as i32);
        e -= s;
    }
    while e < 0 {
        let s = (-e).min(300);
        v /= 10f64.powi(s as i32);
        e += s;
    }
    v
}

/// The digits and exponent of the shortest text of a positive finite double.
fn shortest(v: f64) -> Option<Decimal> {
    decimal(zmij::Buffer::new().format_finite(v).as_bytes())
}

/// The number JSON text stands for (`None` when it is no JSON number).
pub(super) fn parse_float(text: &[u8]) -> Option<f64> {
    let d = decimal(text)?;
    let sign = if d.negative { -1.0 } else { 1.0 };
    let n = d.digits.len() as i64;
    if n == 0 {
        return Some(sign * 0.0);
    }
    // The number lies in [10^(top - 1), 10^top).
    let top = d.exp + n;
    if top > 310 {
        return Some(sign * f64::INFINITY);
    }
    if top < -325 {
        return Some(sign * 0.0);
    }
    let take = d.digits.len().min(19);
    let m = d.digits[..take]
        .iter()
        .fold(0u64, |acc, &x| acc * 10 + u64::from(x));
    let e = d.exp + (n - take as i64);
    if n <= 15 && (-22..=22).contains(&e) {
        // Exact operands, one rounding: correctly rounded.
        let p = POW10[e.unsigned_abs() as usize];
        let v = m as f64;
        return Some(sign * if e >= 0 { v * p } else { v / p });
    }
    let approx = scale(m as f64, e);
    if n <= 17 {
        let bits = approx.to_bits();
        for k in 0..=SEARCH {
            for candidate in [bits.wrapping_add(k), bits.wrapping_sub(k)] {
                let v = f64::from_bits(candidate);
                if v.is_finite() && v > 0.0 {
                    if let Some(s) = shortest(v) {
                        if s.digits == d.digits && s.exp == d.exp {
                            return Some(sign * v);
                        }
                    }
                }
            }
        }
    }
    Some(sign * approx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_texts_read_back_exactly() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            // xorshift: doubles of every magnitude, subnormals included.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if !v.is_finite() {
                continue;
            }
            let text = zmij::Buffer::new().format_finite(v).to_owned();
            let back = parse_float(text.as_bytes()).unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{text}");
        }
        for (text, v) in [
            ("0.30000000000000004", 0.1 + 0.2),
            ("5e-324", 5e-324),
            ("1.7976931348623157e308", f64::MAX),
            ("2.2250738585072014e-308", f64::MIN_POSITIVE),
            ("1e+21", 1e21),
            ("-0", -0.0),
            ("0.000001", 1e-6),
            ("123456789012345680000", 1.2345678901234568e20),
        ] {
            assert_eq!(
                parse_float(text.as_bytes()).map(f64::to_bits),
                Some(v.to_bits()),
                "{text}"
            );
        }
    }

    #[test]
    fn beyond_the_range_and_not_numbers() {
        assert_eq!(parse_float(b"1e400"), Some(f64::INFINITY));
        assert_eq!(parse_float(b"-1e400"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float(b"1e-400"), Some(0.0));
        assert_eq!(parse_float(b"1e99999999999"), Some(f64::INFINITY));
        // Not a double's shortest digits: close enough.
        let v = parse_float(b"0.1000000000000000055511151231257827021181583404541015625").unwrap();
        assert!((v - 0.1).abs() <= f64::EPSILON);
        for bad in [
            &b""[..],
            b"-",
            b"1.",
            b".5",
            b"1e",
            b"1e+",
            b"--1",
            b"1x",
            b"+1",
        ] {
            assert_eq!(parse_float(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
