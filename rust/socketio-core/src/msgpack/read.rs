//! msgpack → JSON: one frame read into the packet's fields, its `data` written
//! as JSON text with binary values taken out as attachments.
//!
//! Every length a frame declares is checked against the bytes that are left
//! before anything is read or reserved (an element takes at least one byte, a
//! map entry two), so a huge declared length is refused at once; nesting is
//! bounded by [`MAX_PAYLOAD_DEPTH`] before any recursion, so the stack is too.

use engineio_core::error::push_json_string;

use crate::error::ParseError;
use crate::packet::{is_reserved_event, push_decimal};
use crate::MAX_PAYLOAD_DEPTH;

/// The head of one msgpack value: scalars whole, containers by their length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Head<'a> {
    Nil,
    Bool(bool),
    Uint(u64),
    Int(i64),
    Float(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Array(usize),
    Map(usize),
    /// An extension: its type, its bytes, and whether it was a `fixext`.
    Ext(i8, &'a [u8], bool),
}

/// What a value was, as far as the packet checks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// notepack's `undefined` (`fixext 1`, type 0).
    Undefined,
    Nil,
    Bool,
    Number,
    Str {
        reserved: bool,
    },
    Binary,
    /// An array; the kind of its first element (`None` when empty).
    Array(Option<Scalar>),
    Map,
}

/// The kind of the first element of an array (enough for an event's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar {
    Number,
    Str { reserved: bool },
    Other,
}

/// A cursor over one frame.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        let end = self.pos.checked_add(n).ok_or(ParseError::InvalidMsgPack)?;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(ParseError::InvalidMsgPack)?;
        self.pos = end;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, ParseError> {
        Ok(self.take(1)?[0])
    }

    /// A big-endian unsigned integer of `n` (at most 8) bytes.
    fn uint(&mut self, n: usize) -> Result<u64, ParseError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// A length of `n` bytes, as a `usize`.
    fn len(&mut self, n: usize) -> Result<usize, ParseError> {
        usize::try_from(self.uint(n)?).map_err(|_| ParseError::InvalidMsgPack)
    }

    /// `n` elements of at least `min` bytes each must fit in what is left.
    fn count(&self, n: usize, min: usize) -> Result<usize, ParseError> {
        if n.saturating_mul(min) > self.remaining() {
            return Err(ParseError::InvalidMsgPack);
        }
        Ok(n)
    }

    fn ext(&mut self, len: usize, fixed: bool) -> Result<Head<'a>, ParseError> {
        let ty = self.byte()? as i8;
        Ok(Head::Ext(ty, self.take(len)?, fixed))
    }

    /// Reads the head of the next value.
    pub(super) fn head(&mut self) -> Result<Head<'a>, ParseError> {
        let m = self.byte()?;
        Ok(match m {
            0x00..=0x7f => Head::Uint(u64::from(m)),
            0x80..=0x8f => Head::Map(self.count(usize::from(m & 0x0f), 2)?),
            0x90..=0x9f => Head::Array(self.count(usize::from(m & 0x0f), 1)?),
            0xa0..=0xbf => Head::Str(self.take(usize::from(m & 0x1f))?),
            0xc0 => Head::Nil,
            0xc2 => Head::Bool(false),
            0xc3 => Head::Bool(true),
            0xc4..=0xc6 => {
                let n = self.len(1 << (m - 0xc4))?;
                Head::Bin(self.take(n)?)
            }
            0xc7..=0xc9 => {
                let n = self.len(1 << (m - 0xc7))?;
                self.ext(n, false)?
            }
            0xca => Head::Float(f64::from(f32::from_bits(self.uint(4)? as u32))),
            0xcb => Head::Float(f64::from_bits(self.uint(8)?)),
            0xcc..=0xcf => Head::Uint(self.uint(1 << (m - 0xcc))?),
            0xd0 => Head::Int(i64::from(self.byte()? as i8)),
            0xd1 => Head::Int(i64::from(self.uint(2)? as u16 as i16)),
            0xd2 => Head::Int(i64::from(self.uint(4)? as u32 as i32)),
            0xd3 => Head::Int(self.uint(8)? as i64),
            0xd4..=0xd8 => self.ext(1 << (m - 0xd4), true)?,
            0xd9..=0xdb => {
                let n = self.len(1 << (m - 0xd9))?;
                Head::Str(self.take(n)?)
            }
            0xdc | 0xdd => {
                let n = self.len(2 << (m - 0xdc))?;
                Head::Array(self.count(n, 1)?)
            }
            0xde | 0xdf => {
                let n = self.len(2 << (m - 0xde))?;
                Head::Map(self.count(n, 2)?)
            }
            0xe0..=0xff => Head::Int(i64::from(m as i8)),
            // 0xc1 is never used.
            _ => return Err(ParseError::InvalidMsgPack),
        })
    }

    /// Skips one value whose head was read, nested containers included.
    pub(super) fn skip(&mut self, head: Head<'a>, depth: usize) -> Result<(), ParseError> {
        let n = match head {
            Head::Array(n) => n,
            Head::Map(n) => n.saturating_mul(2),
            _ => return Ok(()),
        };
        if depth >= MAX_PAYLOAD_DEPTH {
            return Err(ParseError::TooDeep);
        }
        for _ in 0..n {
            let h = self.head()?;
            self.skip(h, depth + 1)?;
        }
        Ok(())
    }
}

/// The JSON text being written, and the attachments taken out of it.
pub(super) struct Json {
    pub(super) text: String,
    pub(super) binaries: Vec<Vec<u8>>,
}

impl Json {
    pub(super) fn new(capacity: usize) -> Self {
        Json {
            text: String::with_capacity(capacity),
            binaries: Vec::new(),
        }
    }

    /// Writes the value whose head was read, nested `depth` containers deep
    /// (0 for the packet's `data`), and tells what it was.
    pub(super) fn value<'a>(
        &mut self,
        r: &mut Reader<'a>,
        head: Head<'a>,
        depth: usize,
    ) -> Result<Kind, ParseError> {
        Ok(match head {
            Head::Nil => {
                self.text.push_str("null");
                Kind::Nil
            }
            Head::Bool(b) => {
                self.text.push_str(if b { "true" } else { "false" });
                Kind::Bool
            }
            Head::Uint(n) => {
                push_decimal(n, &mut self.text);
                Kind::Number
            }
            Head::Int(n) => {
                push_int(n, &mut self.text);
                Kind::Number
            }
            Head::Float(f) => {
                push_float(f, &mut self.text);
                Kind::Number
            }
            Head::Str(bytes) => {
                let s = String::from_utf8_lossy(bytes);
                push_json_string(&s, &mut self.text);
                Kind::Str {
                    reserved: is_reserved_event(&s),
                }
            }
            Head::Bin(bytes) => {
                self.binary(bytes, depth)?;
                Kind::Binary
            }
            Head::Array(n) => {
                open(depth)?;
                self.text.push('[');
                let mut first = None;
                for i in 0..n {
                    if i > 0 {
                        self.text.push(',');
                    }
                    let h = r.head()?;
                    let kind = self.value(r, h, depth + 1)?;
                    if i == 0 {
                        first = Some(match kind {
                            Kind::Number => Scalar::Number,
                            Kind::Str { reserved } => Scalar::Str { reserved },
                            _ => Scalar::Other,
                        });
                    }
                }
                self.text.push(']');
                Kind::Array(first)
            }
            Head::Map(n) => {
                open(depth)?;
                self.text.push('{');
                for i in 0..n {
                    if i > 0 {
                        self.text.push(',');
                    }
                    let key = r.head()?;
                    self.key(key)?;
                    self.text.push(':');
                    let h = r.head()?;
                    self.value(r, h, depth + 1)?;
                }
                self.text.push('}');
                Kind::Map
            }
            Head::Ext(ty, bytes, fixed) => self.ext(ty, bytes, fixed, depth)?,
        })
    }

    /// A map key, as JavaScript turns it into a property name.
    fn key(&mut self, key: Head<'_>) -> Result<(), ParseError> {
        match key {
            Head::Str(bytes) => push_json_string(&String::from_utf8_lossy(bytes), &mut self.text),
            Head::Uint(n) => {
                self.text.push('"');
                push_decimal(n, &mut self.text);
                self.text.push('"');
            }
            Head::Int(n) => {
                self.text.push('"');
                push_int(n, &mut self.text);
                self.text.push('"');
            }
            Head::Bool(b) => self.text.push_str(if b { "\"true\"" } else { "\"false\"" }),
            Head::Nil => self.text.push_str("\"null\""),
            Head::Ext(0, [0], true) => self.text.push_str("\"undefined\""),
            _ => return Err(ParseError::InvalidMsgPack),
        }
        Ok(())
    }

    /// notepack's extensions: `undefined`, `Date` and `ArrayBuffer` (type 0 as
    /// `fixext 1`, `fixext 8` and `ext`); any other extension is what notepack
    /// makes of it, `[type, bytes]`.
    fn ext(&mut self, ty: i8, bytes: &[u8], fixed: bool, depth: usize) -> Result<Kind, ParseError> {
        match (ty, fixed, bytes.len()) {
            (0, true, 1) => {
                self.text.push_str("null");
                Ok(Kind::Undefined)
            }
            (0, true, 8) => {
                let ms = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)) as i64;
                Ok(if push_date(ms, &mut self.text) {
                    Kind::Str { reserved: false }
                } else {
                    Kind::Nil
                })
            }
            (0, false, _) => {
                self.binary(bytes, depth)?;
                Ok(Kind::Binary)
            }
            _ => {
                open(depth)?;
                self.text.push('[');
                push_int(i64::from(ty), &mut self.text);
                self.text.push(',');
                self.binary(bytes, depth + 1)?;
                self.text.push(']');
                Ok(Kind::Array(Some(Scalar::Number)))
            }
        }
    }

    /// A binary value: a placeholder naming the next attachment (an object, so a
    /// level of nesting, as with the default parser).
    fn binary(&mut self, bytes: &[u8], depth: usize) -> Result<(), ParseError> {
        open(depth)?;
        self.text.push_str("{\"_placeholder\":true,\"num\":");
        push_decimal(self.binaries.len() as u64, &mut self.text);
        self.text.push('}');
        self.binaries.push(bytes.to_vec());
        Ok(())
    }
}

/// A container opens below `depth` others: refused past [`MAX_PAYLOAD_DEPTH`].
fn open(depth: usize) -> Result<(), ParseError> {
    if depth >= MAX_PAYLOAD_DEPTH {
        Err(ParseError::TooDeep)
    } else {
        Ok(())
    }
}

fn push_int(n: i64, out: &mut String) {
    if n < 0 {
        out.push('-');
    }
    push_decimal(n.unsigned_abs(), out);
}

/// A number as JSON: the shortest text that reads back as the same `f64`;
/// `null` for NaN and the infinities (what `JSON.stringify` writes).
fn push_float(f: f64, out: &mut String) {
    if f.is_finite() {
        out.push_str(zmij::Buffer::new().format_finite(f));
    } else {
        out.push_str("null");
    }
}

/// The largest time a JavaScript `Date` holds, in ms either side of the epoch.
const MAX_DATE_MS: i64 = 8_640_000_000_000_000;

/// A `Date` (ms since the epoch) as `JSON.stringify` writes it: its ISO text,
/// `null` beyond the range of `Date` (then false).
fn push_date(ms: i64, out: &mut String) -> bool {
    if !(-MAX_DATE_MS..=MAX_DATE_MS).contains(&ms) {
        out.push_str("null");
        return false;
    }
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    out.push('"');
    if (0..=9999).contains(&year) {
        pad(year.unsigned_abs(), 4, out);
    } else {
        out.push(if year < 0 { '-' } else { '+' });
        pad(year.unsigned_abs(), 6, out);
    }
    out.push('-');
    pad(month, 2, out);
    out.push('-');
    pad(day, 2, out);
    out.push('T');
    pad((in_day / 3_600_000) as u64, 2, out);
    out.push(':');
    pad((in_day / 60_000 % 60) as u64, 2, out);
    out.push(':');
    pad((in_day / 1000 % 60) as u64, 2, out);
    out.push('.');
    pad((in_day % 1000) as u64, 3, out);
    out.push_str("Z\"");
    true
}

fn pad(n: u64, width: usize, out: &mut String) {
    let mut digits = String::with_capacity(width);
    push_decimal(n, &mut digits);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

/// The proleptic Gregorian date of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(ms: i64) -> String {
        let mut s = String::new();
        push_date(ms, &mut s);
        s
    }

    #[test]
    fn dates_as_json_stringify_writes_them() {
        assert_eq!(date(0), r#""1970-01-01T00:00:00.000Z""#);
        assert_eq!(date(1_700_000_000_123), r#""2023-11-14T22:13:20.123Z""#);
        assert_eq!(date(-1), r#""1969-12-31T23:59:59.999Z""#);
        assert_eq!(date(951_782_400_000), r#""2000-02-29T00:00:00.000Z""#);
        assert_eq!(date(MAX_DATE_MS), r#""+275760-09-13T00:00:00.000Z""#);
        assert_eq!(
            date(-62_198_755_200_000),
            r#""-000001-01-01T00:00:00.000Z""#
        );
        assert_eq!(date(MAX_DATE_MS + 1), "null");
    }
}
