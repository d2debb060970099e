//! Socket.IO v5 packets and their text encoding.
//!
//! A packet travels as one Engine.IO `message` whose text is
//!
//! ```text
//! <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//! ```
//!
//! - `<type>` is one digit, see [`PacketKind`];
//! - `<attachments>-` is present only for the binary kinds: the number of
//!   binary messages that follow the text (see [`crate::decoder`]);
//! - `<namespace>,` is omitted for the main namespace `/`;
//! - `<ack id>` is a run of digits;
//! - the payload is kept as the JSON text that arrived, never re-serialized,
//!   so it can cross to JavaScript as is.
//!
//! Decoding validates the payload like the reference parser does (an event is
//! a non-empty array starting with a name that is not reserved, and so on)
//! without building a JSON tree.

use std::fmt;

use crate::error::ParseError;
use crate::json;

/// How many attachments one binary packet may announce by default, the
/// limit of the reference decoder. Above it the packet is refused with
/// [`ParseError::TooManyAttachments`].
pub const DEFAULT_MAX_ATTACHMENTS: usize = 10;

/// Event names an application may not use: they have a meaning of their own
/// on one side or the other. An incoming event carrying one is refused.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Whether `name` is one of the [`RESERVED_EVENTS`].
pub fn is_reserved_event(name: &str) -> bool {
    RESERVED_EVENTS.contains(&name)
}

/// The type of a Socket.IO packet, with its wire digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// `0`: connection to a namespace (request, or approval with the socket id).
    Connect,
    /// `1`: disconnection from a namespace.
    Disconnect,
    /// `2`: an event: `["name", ...args]`.
    Event,
    /// `3`: the answer to an event sent with an ack id: `[...args]`.
    Ack,
    /// `4`: the connection to a namespace was refused.
    ConnectError,
    /// `5`: an event whose arguments hold binary attachments.
    BinaryEvent,
    /// `6`: an acknowledgement whose arguments hold binary attachments.
    BinaryAck,
}

impl PacketKind {
    /// Every kind, in wire order.
    pub const ALL: [PacketKind; 7] = [
        PacketKind::Connect,
        PacketKind::Disconnect,
        PacketKind::Event,
        PacketKind::Ack,
        PacketKind::ConnectError,
        PacketKind::BinaryEvent,
        PacketKind::BinaryAck,
    ];

    /// The ASCII digit that starts a packet of this kind.
    pub fn as_char(self) -> char {
        match self {
            PacketKind::Connect => '0',
            PacketKind::Disconnect => '1',
            PacketKind::Event => '2',
            PacketKind::Ack => '3',
            PacketKind::ConnectError => '4',
            PacketKind::BinaryEvent => '5',
            PacketKind::BinaryAck => '6',
        }
    }

    /// Parses the leading digit of a packet.
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            b'0' => PacketKind::Connect,
            b'1' => PacketKind::Disconnect,
            b'2' => PacketKind::Event,
            b'3' => PacketKind::Ack,
            b'4' => PacketKind::ConnectError,
            b'5' => PacketKind::BinaryEvent,
            b'6' => PacketKind::BinaryAck,
            _ => return None,
        })
    }

    /// Whether packets of this kind carry an attachment count and are
    /// followed by binary messages.
    pub fn is_binary(self) -> bool {
        matches!(self, PacketKind::BinaryEvent | PacketKind::BinaryAck)
    }

    /// The protocol's name for the kind (`EVENT`, `BINARY_ACK`, ...).
    pub fn name(self) -> &'static str {
        match self {
            PacketKind::Connect => "CONNECT",
            PacketKind::Disconnect => "DISCONNECT",
            PacketKind::Event => "EVENT",
            PacketKind::Ack => "ACK",
            PacketKind::ConnectError => "CONNECT_ERROR",
            PacketKind::BinaryEvent => "BINARY_EVENT",
            PacketKind::BinaryAck => "BINARY_ACK",
        }
    }
}

impl fmt::Display for PacketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One Socket.IO packet, without its binary attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The packet type.
    pub kind: PacketKind,
    /// The namespace, `/` for the main one. It starts with `/` and holds no `,`.
    pub nsp: String,
    /// The acknowledgement id, if the sender expects (or this is) an answer.
    pub id: Option<u64>,
    /// The payload: raw JSON text exactly as on the wire (binary data
    /// replaced by `{"_placeholder":true,"num":N}`).
    pub data: Option<String>,
    /// The number of binary messages that follow (binary kinds only, else 0).
    pub attachments: usize,
}

impl Packet {
    /// The text frame of the packet.
    ///
    /// The payload is written as is: the caller is responsible for it being
    /// the JSON the packet kind expects.
    pub fn encode(&self) -> String {
        encode_frame(
            self.kind,
            &self.nsp,
            self.id,
            self.attachments,
            self.data.as_deref(),
        )
    }

    /// Decodes and validates a text frame, accepting up to
    /// [`DEFAULT_MAX_ATTACHMENTS`] attachments.
    pub fn decode(text: &str) -> Result<Packet, ParseError> {
        Packet::decode_with_max_attachments(text, DEFAULT_MAX_ATTACHMENTS)
    }

    /// Decodes and validates a text frame, accepting up to `max_attachments`
    /// attachments on a binary packet.
    pub fn decode_with_max_attachments(
        text: &str,
        max_attachments: usize,
    ) -> Result<Packet, ParseError> {
        let bytes = text.as_bytes();
        let first = *bytes.first().ok_or(ParseError::Empty)?;
        let kind = PacketKind::from_byte(first).ok_or(ParseError::UnknownType)?;
        // Every index below sits next to an ASCII byte (the type digit, a
        // digit, `-`, `/` or `,`), hence on a char boundary of `text`.
        let mut pos = 1;

        let mut attachments = 0;
        if kind.is_binary() {
            let end = digits_end(bytes, pos);
            if end == pos || bytes.get(end) != Some(&b'-') {
                return Err(ParseError::BadAttachments);
            }
            attachments = parse_count(&bytes[pos..end], max_attachments)?;
            pos = end + 1;
        }

        let nsp = if bytes.get(pos) == Some(&b'/') {
            let end = bytes[pos..]
                .iter()
                .position(|&b| b == b',')
                .map_or(bytes.len(), |i| pos + i);
            let nsp = &text[pos..end];
            pos = (end + 1).min(bytes.len());
            nsp
        } else {
            "/"
        };

        let end = digits_end(bytes, pos);
        let id = if end > pos {
            Some(parse_u64(&bytes[pos..end]).ok_or(ParseError::BadAckId)?)
        } else {
            None
        };

        let rest = &text[end..];
        let data = (!rest.is_empty()).then_some(rest);
        json::check_payload(kind, data)?;

        Ok(Packet {
            kind,
            nsp: nsp.to_owned(),
            id,
            data: data.map(str::to_owned),
            attachments,
        })
    }
}

/// The length in bytes of the header [`encode_header`] writes.
pub fn header_len(kind: PacketKind, nsp: &str, id: Option<u64>, attachments: usize) -> usize {
    let mut len = 1;
    if kind.is_binary() {
        len += decimal_len(attachments as u64) + 1;
    }
    if !is_main_nsp(nsp) {
        len += nsp.len() + 1;
    }
    if let Some(id) = id {
        len += decimal_len(id);
    }
    len
}

/// Appends the header of a packet to `out`: everything before the JSON
/// payload, which the caller appends next.
///
/// The attachment count is written for the binary kinds only; the namespace
/// is omitted when it is `/` (or empty).
pub fn encode_header(
    kind: PacketKind,
    nsp: &str,
    id: Option<u64>,
    attachments: usize,
    out: &mut String,
) {
    out.push(kind.as_char());
    if kind.is_binary() {
        push_decimal(attachments as u64, out);
        out.push('-');
    }
    if !is_main_nsp(nsp) {
        out.push_str(nsp);
        out.push(',');
    }
    if let Some(id) = id {
        push_decimal(id, out);
    }
}

/// Builds the complete text frame of a packet in one allocation of the exact
/// size. Meant for broadcasts: encode once, send the same frame to everyone.
pub fn encode_frame(
    kind: PacketKind,
    nsp: &str,
    id: Option<u64>,
    attachments: usize,
    payload: Option<&str>,
) -> String {
    let payload = payload.unwrap_or("");
    let mut out = String::with_capacity(header_len(kind, nsp, id, attachments) + payload.len());
    encode_header(kind, nsp, id, attachments, &mut out);
    out.push_str(payload);
    out
}

fn is_main_nsp(nsp: &str) -> bool {
    nsp.is_empty() || nsp == "/"
}

/// The index of the first non-digit byte at or after `from`.
fn digits_end(bytes: &[u8], from: usize) -> usize {
    bytes
        .get(from..)
        .unwrap_or_default()
        .iter()
        .position(|b| !b.is_ascii_digit())
        .map_or(bytes.len(), |i| from + i)
}

/// Parses ASCII digits; `None` on overflow.
fn parse_u64(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Parses an attachment count: at least 1, at most `max`.
fn parse_count(digits: &[u8], max: usize) -> Result<usize, ParseError> {
    let mut n: usize = 0;
    for &d in digits {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(usize::from(d - b'0')))
            .filter(|&n| n <= max)
            .ok_or(ParseError::TooManyAttachments)?;
    }
    if n == 0 {
        return Err(ParseError::BadAttachments);
    }
    Ok(n)
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// Appends `n` in decimal to `out`, without the formatting machinery (small code).
pub fn push_decimal(mut n: u64, out: &mut String) {
    // u64::MAX has 20 digits.
    let mut buf = [0u8; 20];
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(buf[start..].iter().map(|&d| char::from(d)));
}

#[cfg(test)]
mod tests;
