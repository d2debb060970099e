//! JSON → msgpack: the payload JavaScript encoded (JSON text with binary
//! placeholders) written as msgpack, each placeholder as the `bin` of its
//! attachment, in the formats notepack writes (the smallest header for each
//! value, integers as integers, other numbers as `float 64`).
//!
//! The text is read in one pass with an explicit stack, so any depth is
//! written without recursion. A container's element count is known only at
//! its end: its header is written as one byte (a `fixarray` or `fixmap`) and
//! widened in place when it has 16 elements or more.

/// The JSON text could not be written (it is not JSON, or a container or
/// string is larger than msgpack allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotJson;

type Result<T> = std::result::Result<T, NotJson>;

/// What the key of the value being written was, in a map: placeholders are
/// recognised by their `_placeholder` and `num`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Placeholder,
    Num,
    Other,
}

/// A container being written.
#[derive(Debug)]
struct Open {
    /// Where its header starts in the output.
    start: usize,
    map: bool,
    /// Elements (arrays) or entries (maps) written so far.
    count: usize,
    /// The key of the entry being written (maps).
    key: Key,
    /// Whether `_placeholder` is `true` (the last one counts).
    placeholder: bool,
    /// `num`, when it is an index.
    num: Option<u64>,
}

/// Writes `json` (one JSON value) as msgpack to `out`; placeholders
/// `{"_placeholder":true,"num":i}` become the bytes of `binaries[i]`, as the
/// JavaScript side puts attachments back (only when there are attachments).
pub(super) fn json_to_msgpack(json: &str, binaries: &[Vec<u8>], out: &mut Vec<u8>) -> Result<()> {
    let mut w = Writer {
        text: json.as_bytes(),
        pos: 0,
        binaries,
        out,
        scratch: Vec::new(),
    };
    w.run()
}

struct Writer<'a, 'o> {
    text: &'a [u8],
    pos: usize,
    binaries: &'a [Vec<u8>],
    out: &'o mut Vec<u8>,
    /// Unescaped string bytes.
    scratch: Vec<u8>,
}

/// A scalar value just read, for the placeholder check.
enum Scalar {
    True,
    Index(u64),
    Other,
}

impl Writer<'_, '_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.text.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Result<u8> {
        self.ws();
        self.text.get(self.pos).copied().ok_or(NotJson)
    }

    fn next(&mut self) -> Result<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Ok(b)
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        let end = self.pos + word.len();
        if self.text.get(self.pos..end) != Some(word) {
            return Err(NotJson);
        }
        self.pos = end;
        Ok(())
    }

    fn run(&mut self) -> Result<()> {
        let mut stack: Vec<Open> = Vec::new();
        loop {
            // One value (an opening bracket counts as the start of one).
            match self.peek()? {
                c @ (b'[' | b'{') => {
                    self.pos += 1;
                    let map = c == b'{';
                    if let Some(parent) = stack.last_mut() {
                        // A container is neither `true` nor an index.
                        parent.set(Scalar::Other);
                    }
                    stack.push(Open {
                        start: self.out.len(),
                        map,
                        count: 0,
                        key: Key::Other,
                        placeholder: false,
                        num: None,
                    });
                    self.out.push(if map { 0x80 } else { 0x90 });
                    let close = if map { b'}' } else { b']' };
                    if self.peek()? == close {
                        self.pos += 1;
                        self.close(&mut stack)?;
                    } else {
                        if map {
                            self.key(&mut stack)?;
                        }
                        continue;
                    }
                }
                _ => {
                    let scalar = self.scalar()?;
                    if let Some(parent) = stack.last_mut() {
                        parent.set(scalar);
                    }
                }
            }
            // After a value: the separators and closings that follow it.
            loop {
                let Some(top) = stack.last_mut() else {
                    self.ws();
                    return if self.pos == self.text.len() {
                        Ok(())
                    } else {
                        Err(NotJson)
                    };
                };
                top.count += 1;
                let map = top.map;
                match (self.next()?, map) {
                    (b',', false) => break,
                    (b',', true) => {
                        self.key(&mut stack)?;
                        break;
                    }
                    (b']', false) | (b'}', true) => self.close(&mut stack)?,
                    _ => return Err(NotJson),
                }
            }
        }
    }

    /// A map's key and its `:`.
    fn key(&mut self, stack: &mut [Open]) -> Result<()> {
        if self.next()? != b'"' {
            return Err(NotJson);
        }
        let at = self.string()?;
        let s = match at {
            Some((start, end)) => self.text.get(start..end).ok_or(NotJson)?,
            None => &self.scratch,
        };
        let key = match s {
            b"_placeholder" => Key::Placeholder,
            b"num" => Key::Num,
            _ => Key::Other,
        };
        str_header(s.len(), self.out)?;
        self.out.extend_from_slice(s);
        if let Some(top) = stack.last_mut() {
            top.key = key;
        }
        if self.next()? != b':' {
            return Err(NotJson);
        }
        Ok(())
    }

    /// Ends the container on top of the stack: its header, or, for a
    /// placeholder, the attachment in its place.
    fn close(&mut self, stack: &mut Vec<Open>) -> Result<()> {
        let Some(open) = stack.pop() else {
            return Err(NotJson);
        };
        if open.map && open.placeholder {
            let bytes = open
                .num
                .and_then(|n| usize::try_from(n).ok())
                .and_then(|n| self.binaries.get(n));
            if let Some(bytes) = bytes {
                self.out.truncate(open.start);
                return bin(bytes, self.out);
            }
        }
        let n = open.count;
        let base: u8 = if open.map { 0x80 } else { 0x90 };
        if n < 16 {
            if let Some(head) = self.out.get_mut(open.start) {
                *head = base | n as u8;
            }
            return Ok(());
        }
        let (m16, m32) = if open.map { (0xde, 0xdf) } else { (0xdc, 0xdd) };
        let header: Vec<u8> = if let Ok(n) = u16::try_from(n) {
            [&[m16][..], &n.to_be_bytes()].concat()
        } else {
            let n = u32::try_from(n).map_err(|_| NotJson)?;
            [&[m32][..], &n.to_be_bytes()].concat()
        };
        self.out.splice(open.start..open.start + 1, header);
        Ok(())
    }

    /// A string, number, boolean or null.
    fn scalar(&mut self) -> Result<Scalar> {
        match self.next()? {
            b'"' => {
                let at = self.string()?;
                let s = match at {
                    Some((start, end)) => self.text.get(start..end).ok_or(NotJson)?,
                    None => &self.scratch,
                };
                str_header(s.len(), self.out)?;
                self.out.extend_from_slice(s);
                Ok(Scalar::Other)
            }
            b't' => {
                self.literal(b"rue")?;
                self.out.push(0xc3);
                Ok(Scalar::True)
            }
            b'f' => {
                self.literal(b"alse")?;
                self.out.push(0xc2);
                Ok(Scalar::Other)
            }
            b'n' => {
                self.literal(b"ull")?;
                self.out.push(0xc0);
                Ok(Scalar::Other)
            }
            b'-' | b'0'..=b'9' => {
                self.pos -= 1;
                self.number()
            }
            _ => Err(NotJson),
        }
    }

    /// Reads the string whose opening quote was read: where its bytes are in
    /// the text, or `None` when it had escapes and its bytes, resolved, are in
    /// `scratch` (a lone surrogate becomes U+FFFD, as `TextEncoder` writes it).
    fn string(&mut self) -> Result<Option<(usize, usize)>> {
        let start = self.pos;
        let mut escaped = false;
        loop {
            match self.text.get(self.pos) {
                None => return Err(NotJson),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 2;
                }
                Some(_) => self.pos += 1,
            }
        }
        let end = self.pos;
        self.pos += 1;
        let text = self.text;
        let raw = text.get(start..end).ok_or(NotJson)?;
        if !escaped {
            return Ok(Some((start, end)));
        }
        self.scratch.clear();
        let mut i = 0;
        while let Some(&b) = raw.get(i) {
            i += 1;
            if b != b'\\' {
                self.scratch.push(b);
                continue;
            }
            let e = *raw.get(i).ok_or(NotJson)?;
            i += 1;
            let c = match e {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let hi = hex4(raw, i)?;
                    i += 4;
                    let lo = (raw.get(i) == Some(&b'\\') && raw.get(i + 1) == Some(&b'u'))
                        .then(|| hex4(raw, i + 2).ok())
                        .flatten()
                        .filter(|lo| (0xdc00..0xe000).contains(lo));
                    match (hi, lo) {
                        (0xd800..=0xdbff, Some(lo)) => {
                            i += 6;
                            char::from_u32(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00))
                                .unwrap_or('\u{fffd}')
                        }
                        _ => char::from_u32(hi).unwrap_or('\u{fffd}'),
                    }
                }
                _ => return Err(NotJson),
            };
            let mut buf = [0u8; 4];
            self.scratch
                .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        Ok(None)
    }

    /// A number: an integer when its value is one (as notepack decides), else
    /// a `float 64`.
    fn number(&mut self) -> Result<Scalar> {
        let start = self.pos;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.text.get(self.pos) {
            self.pos += 1;
        }
        let token = self.text.get(start..self.pos).ok_or(NotJson)?;
        let integral = !token.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
        if integral {
            if let Some(n) = parse_int(token) {
                int(n, self.out);
                return Ok(match u64::try_from(n) {
                    Ok(i) => Scalar::Index(i),
                    Err(_) => Scalar::Other,
                });
            }
        }
        // As `JSON.parse` reads it (a magnitude beyond `f64` is an infinity).
        let f = super::float::parse_float(token).ok_or(NotJson)?;
        // Integral values within the 64-bit ranges are integers, as notepack writes them.
        if f.fract() == 0.0 && (-9.223_372_036_854_776e18..1.844_674_407_370_955_2e19).contains(&f)
        {
            let n = if f >= 0.0 {
                i128::from(f as u64)
            } else {
                i128::from(f as i64)
            };
            int(n, self.out);
            return Ok(if f >= 0.0 {
                Scalar::Index(f as u64)
            } else {
                Scalar::Other
            });
        }
        self.out.push(0xcb);
        self.out.extend_from_slice(&f.to_bits().to_be_bytes());
        Ok(Scalar::Other)
    }
}

impl Open {
    /// A scalar was written as the value of the current entry.
    fn set(&mut self, v: Scalar) {
        if !self.map {
            return;
        }
        match self.key {
            Key::Placeholder => self.placeholder = matches!(v, Scalar::True),
            Key::Num => {
                self.num = match v {
                    Scalar::Index(n) => Some(n),
                    _ => None,
                }
            }
            Key::Other => {}
        }
    }
}

fn hex4(raw: &[u8], at: usize) -> Result<u32> {
    let digits = raw.get(at..at + 4).ok_or(NotJson)?;
    digits.iter().try_fold(0u32, |acc, &d| {
        let v = (d as char).to_digit(16).ok_or(NotJson)?;
        Ok(acc * 16 + v)
    })
}

/// An integer literal in the range of `i64` or `u64`.
fn parse_int(token: &[u8]) -> Option<i128> {
    let (neg, digits) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, token),
    };
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut n: i128 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i128::from(d - b'0');
    }
    let n = if neg { -n } else { n };
    (i128::from(i64::MIN)..=i128::from(u64::MAX))
        .contains(&n)
        .then_some(n)
}

/// An integer (within `i64::MIN..=u64::MAX`) in its smallest format.
pub(super) fn int(n: i128, out: &mut Vec<u8>) {
    if n >= 0 {
        let u = n as u64;
        if u < 0x80 {
            out.push(u as u8);
        } else if let Ok(v) = u8::try_from(u) {
            out.extend_from_slice(&[0xcc, v]);
        } else if let Ok(v) = u16::try_from(u) {
            out.push(0xcd);
            out.extend_from_slice(&v.to_be_bytes());
        } else if let Ok(v) = u32::try_from(u) {
            out.push(0xce);
            out.extend_from_slice(&v.to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&u.to_be_bytes());
        }
    } else {
        let i = n as i64;
        if i >= -32 {
            out.push(i as u8);
        } else if let Ok(v) = i8::try_from(i) {
            out.extend_from_slice(&[0xd0, v as u8]);
        } else if let Ok(v) = i16::try_from(i) {
            out.push(0xd1);
            out.extend_from_slice(&v.to_be_bytes());
        } else if let Ok(v) = i32::try_from(i) {
            out.push(0xd2);
            out.extend_from_slice(&v.to_be_bytes());
        } else {
            out.push(0xd3);
            out.extend_from_slice(&i.to_be_bytes());
        }
    }
}

/// The header of a string of `len` bytes.
pub(super) fn str_header(len: usize, out: &mut Vec<u8>) -> Result<()> {
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if let Ok(n) = u8::try_from(len) {
        out.extend_from_slice(&[0xd9, n]);
    } else if let Ok(n) = u16::try_from(len) {
        out.push(0xda);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        let n = u32::try_from(len).map_err(|_| NotJson)?;
        out.push(0xdb);
        out.extend_from_slice(&n.to_be_bytes());
    }
    Ok(())
}

/// A string value.
pub(super) fn str(s: &str, out: &mut Vec<u8>) -> Result<()> {
    str_header(s.len(), out)?;
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Binary data.
pub(super) fn bin(bytes: &[u8], out: &mut Vec<u8>) -> Result<()> {
    if let Ok(n) = u8::try_from(bytes.len()) {
        out.extend_from_slice(&[0xc4, n]);
    } else if let Ok(n) = u16::try_from(bytes.len()) {
        out.push(0xc5);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        let n = u32::try_from(bytes.len()).map_err(|_| NotJson)?;
        out.push(0xc6);
        out.extend_from_slice(&n.to_be_bytes());
    }
    out.extend_from_slice(bytes);
    Ok(())
}
